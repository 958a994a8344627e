"""Shared pieces of the /v1 API: strict query parameters and keyset pagination."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from rest_framework.exceptions import ValidationError

MAX_ID = 2**63 - 1
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
PAGINATION_PARAMS = ("cursor", "limit")


def _parse_int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValidationError({name: ["A whole number is required."]}) from None
    if not low <= value <= high:
        raise ValidationError({name: [f"Must be between {low} and {high}."]})
    return value


def parse_query(
    query: QueryDict,
    filterset_class,
    *,
    paginated: bool,
    blank_allowed: tuple[str, ...] = ("q",),
) -> tuple[dict[str, Any], int | None, int]:
    """Validate a list endpoint's query string; return (filters, cursor, limit).

    Unknown, repeated and blank parameters are errors: a typo must never quietly widen a
    result to unfiltered data.
    """
    allowed = set(filterset_class.base_filters)
    if paginated:
        allowed.update(PAGINATION_PARAMS)
    errors: dict[str, list[str]] = {}
    for name in query:
        values = query.getlist(name)
        if name not in allowed:
            hint = f" Allowed: {', '.join(sorted(allowed))}." if allowed else ""
            errors[name] = [f"Unknown query parameter.{hint}"]
        elif len(values) > 1:
            errors[name] = ["Give this parameter once."]
        elif values[0].strip() == "" and name not in blank_allowed:
            errors[name] = ["This parameter may not be blank."]
    if errors:
        raise ValidationError(errors)

    cursor = None
    limit = DEFAULT_LIMIT
    if paginated:
        if "cursor" in query:
            cursor = _parse_int("cursor", query["cursor"], 1, MAX_ID)
        if "limit" in query:
            limit = _parse_int("limit", query["limit"], 1, MAX_LIMIT)

    data = {k: v for k, v in query.items() if k not in PAGINATION_PARAMS}
    filterset = filterset_class(data=data)
    if not filterset.is_valid():
        raise ValidationError({k: list(v) for k, v in filterset.errors.items()})
    return filterset.form.cleaned_data, cursor, limit
