"""Defensive parsing shared by the vendor clients: vendors send nulls, numbers where strings
belong, and nested values where flat ones were promised."""

from __future__ import annotations

import json
import math
from typing import Any


def text(value: Any) -> str:
    """A stripped string from a string or a number; "" for anything else (None, objects)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return ""
    if isinstance(value, int | float):
        return str(value)
    return ""


def attribute_value(value: Any) -> str | None:
    """A custom attribute value as a string, or None when there is nothing to keep.

    Booleans become "true"/"false", numbers their text, lists and objects compact JSON
    (sorted keys), so nothing a vendor sent is lost and every value is a string.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | dict) and not value:
        return None
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    except (TypeError, ValueError):
        return None


def integer(value: Any) -> int | None:
    """An integer field, the same in every client: ints, integral floats and strings that
    spell an integer ("42", " 42 ", "42.0"); None for anything else, 1.7 included (a count or
    an id with a fraction is not one we can trust, and rounding would invent a value)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = value.strip()
        try:
            return int(value)
        except ValueError:
            try:
                value = float(value)
            except ValueError:
                return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None
