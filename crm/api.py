"""Shared pieces of the /v1 API: strict query parameters and keyset pagination."""

from __future__ import annotations

import functools
from typing import Any

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
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
    cleaned: dict[str, Any] = {}
    errors = {}
    absent = _absent_values(filterset_class)
    for name, field in _form_fields(filterset_class).items():
        if name not in data and name in absent:
            cleaned[name] = absent[name]
            continue
        try:
            cleaned[name] = field.clean(field.widget.value_from_datadict(data, None, name))
        except DjangoValidationError as error:
            errors[name] = list(error.messages)
    check = getattr(filterset_class, "cross_field_errors", None)
    for name, messages in (check(cleaned) if check else {}).items():
        errors.setdefault(name, messages)
    if errors:
        raise ValidationError(errors)
    return cleaned, cursor, limit


@functools.cache
def _form_fields(filterset_class) -> dict[str, forms.Field]:
    """The fields of the FilterSet's validating form, built once and used as they are.

    django-filter builds a new form class (and copies every filter) for each FilterSet it
    makes, and a Django form deep-copies its fields each time it is made: together half of
    the API's own time on a selective list request. Cleaning a value with a field changes
    nothing in the field, so the API cleans each parameter with the form class's own fields,
    exactly as the form would (``Form._clean_fields``); the values and errors are the same,
    and a test holds the two to each other.
    """
    form_class = type(filterset_class().form)
    own_clean = [name for name in dir(form_class) if name.startswith("clean_")]
    own_clean += [
        name
        for name in ("clean", "_post_clean")
        if getattr(form_class, name) is not getattr(forms.Form, name)
    ]
    if own_clean:  # the form would run these too; this shortcut does not
        raise TypeError(f"{form_class.__name__} defines {own_clean}; validate with the form")
    return dict(form_class.base_fields)


@functools.cache
def _absent_values(filterset_class) -> dict[str, Any]:
    """What each field cleans a missing parameter to, worked out once (most requests give
    one or two of the parameters). A field that refuses a missing value, or cleans it to
    something a caller could change (a list), is left out and cleaned on every request."""
    values = {}
    for name, field in _form_fields(filterset_class).items():
        try:
            value = field.clean(field.widget.value_from_datadict({}, None, name))
        except DjangoValidationError:
            continue
        if value is None or isinstance(value, str | int | bool):
            values[name] = value
    return values
