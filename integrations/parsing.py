"""Defensive parsing shared by the vendor clients: vendors send nulls, numbers where strings
belong, and nested values where flat ones were promised."""

from __future__ import annotations

import json
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
