"""Object ids as they arrive in query strings and forms.

``str.isdigit()`` is true for '²' and other digits ``int()`` refuses, and an id past 2**63 - 1
overflows SQLite's and PostgreSQL's integers: both were 500s. ``parse_id`` is the one test.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1  # beyond this a database integer overflows


def ascii_digits(raw: object) -> bool:
    """Only 0-9: what ``int()`` reads the same way everywhere."""
    return isinstance(raw, str) and raw.isascii() and raw.isdigit()


def parse_id(raw: object, *, minimum: int = 1) -> int | None:
    """An id written in ASCII digits between ``minimum`` and MAX_ID; None for anything else."""
    if not ascii_digits(raw) or len(str(raw)) > 19:
        return None
    value = int(str(raw))
    return value if minimum <= value <= MAX_ID else None
