"""The missile catalog, ``data/missiles.toml``: open-literature estimates with their sources."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

from pydantic import ValidationError

from bmdsim.errors import BmdsimInputError, UnknownNameError
from bmdsim.threats.spec import Missile


@functools.cache
def catalog() -> dict[str, Missile]:
    """All catalog missiles by lower-case id."""
    text = resources.files("bmdsim.data").joinpath("missiles.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    out = {}
    for key, entry in raw.items():
        try:
            out[key.lower()] = Missile(id=key.lower(), **entry)
        except ValidationError as exc:  # a broken catalog is a bug in the package, say where
            raise RuntimeError(f"data/missiles.toml [{key}]: {exc}") from exc
    return out


def get_missile(name: str, field: str = "missile") -> Missile:
    """A catalog missile by id or name, case-insensitive (``Hwasong-15``, ``hwasong-15``, ``hwasong15``)."""
    if not isinstance(name, str) or not name.strip():
        raise BmdsimInputError(field, name, "give a missile id from the catalog")
    cat = catalog()
    key = name.strip().lower()
    if key in cat:
        return cat[key]
    squash = key.replace("-", "").replace(" ", "").replace("_", "")
    for k, m in cat.items():
        if squash in (k.replace("-", ""), m.name.lower().replace("-", "").replace(" ", "")):
            return m
    raise UnknownNameError(field, name, list(cat))
