"""Shared fixtures: the public reference data in ../shared/reference (next to the repository)."""

from pathlib import Path

import pytest

_REF = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not _REF.is_dir():
        pytest.skip(f"reference data not found at {_REF}")
    return _REF
