"""Cells that a spreadsheet program would run as a formula, defused on export and restored on
import, so that a CSV round trip changes no value.

A cell is defused with a leading apostrophe when it starts with ``=``, ``@``, a tab or a
carriage return, or with ``+``/``-`` followed by something that is not a number or a phone
number (``+1 (415) 555-0199``, ``-12.5`` and ``+44 20 7946 0958 ext 12`` stay as they are: they
compute nothing and are how people write phones and signed figures). A cell that already starts
with an apostrophe before such a start gets one more, so that restoring takes exactly one away.
"""

from __future__ import annotations

import re

ALWAYS = ("=", "@", "\t", "\r")
SIGNS = ("+", "-")
_NUMBER_OR_PHONE = re.compile(
    r"[+-]\s*\(?\d[\d\s().,/-]*(?:\s*(?:ext\.?|x|#)\s*\d+)?", re.IGNORECASE
)


def needs_guard(text: str) -> bool:
    if text.startswith(ALWAYS):
        return True
    if text.startswith(SIGNS):
        return _NUMBER_OR_PHONE.fullmatch(text) is None
    return text.startswith("'") and needs_guard(text[1:])


def defuse(text: str) -> str:
    """The cell as a spreadsheet must show it: text, never a formula."""
    return "'" + text if needs_guard(text) else text


def restore(text: str) -> str:
    """The value ``defuse`` was given (what an export wrote comes back as it was)."""
    if text.startswith("'") and needs_guard(text[1:]):
        return text[1:]
    return text


class CsvLine:
    """A file for ``csv.writer`` that hands each row back as a string instead of storing it:
    the CSV downloads stream rows without holding the file."""

    def write(self, value: str) -> str:
        return value
