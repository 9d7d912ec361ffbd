"""Errors for bad input: each names the field, the value and what is allowed."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class BmdsimInputError(ValueError):
    """Bad input from a user: the CLI prints the message and exits with status 2."""

    def __init__(self, field: str, value: object, allowed: str, suggestions: Iterable[str] = ()):
        self.field = field
        self.value = value
        self.allowed = allowed
        self.suggestions = list(suggestions)
        msg = f"{field}: {value!r} is not valid; {allowed}"
        if self.suggestions:
            msg += f" (did you mean {', '.join(repr(s) for s in self.suggestions)}?)"
        super().__init__(msg)


class UnknownNameError(BmdsimInputError):
    """A name (missile, place, sensor...) that is not in its catalog."""

    def __init__(self, field: str, value: str, known: Iterable[str]):
        known = list(known)
        lower = {k.lower(): k for k in known}
        close = difflib.get_close_matches(value.lower(), list(lower), n=3, cutoff=0.5)
        # A prefix or substring match is a better hint than edit distance for short inputs.
        close += [k for k in lower if value.lower() in k and k not in close][:3]
        names = sorted(known)
        allowed = f"known: {', '.join(names)}" if len(names) <= 20 else f"not among the {len(names)} known names"
        super().__init__(field, value, allowed, suggestions=[lower[c] for c in close[:3]])


class UnreachableError(BmdsimInputError):
    """An aim point beyond a missile's reach, or a trajectory shape it cannot fly."""
