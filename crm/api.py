"""The /v1 API toolkit that every app's API imports: strict bodies and query parameters,
keyset pagination, the base view, and the OpenAPI descriptions of errors and parameters.

No app imports another app's API module; what two of them share lives here.
"""

from __future__ import annotations

import functools
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.views import APIView

from crm.ids import MAX_ID
from crm.schema import NOT_BLANK, SEARCH, ApiAutoSchema, string_schema

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
            cursor = _parse_int("cursor", str(query["cursor"]), 1, MAX_ID)
        if "limit" in query:
            limit = _parse_int("limit", str(query["limit"]), 1, MAX_LIMIT)

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


# --- Filters ----------------------------------------------------------------------------------


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


def id_filter() -> IntegerFilter:
    """An object id in a query string: 1 up to the largest id a database can hold."""
    return IntegerFilter(min_value=1, max_value=MAX_ID)


# --- Bodies -----------------------------------------------------------------------------------


def _json_type_error(field: serializers.Field, value: Any) -> str | None:
    """DRF turns 5 into "5" and "5" into 5; the schema says string or integer, so must we."""
    if value is None:
        return None
    if isinstance(field, serializers.CharField) and not isinstance(value, str):
        return "Not a valid string."
    if isinstance(field, serializers.IntegerField) and (
        isinstance(value, bool) or not isinstance(value, int)
    ):
        return "A valid integer is required."
    if isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
        return "Must be true or false."
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        for item in value:
            error = _json_type_error(field.child, item)
            if error:
                return error
    return None


class StrictFieldsMixin:
    """Unknown body fields are a 400 naming them; read-only fields sent back are ignored.

    Ignoring the read-only ones lets a client GET an object, change it and send it back.
    Values must have the JSON type the schema gives: no quiet conversion between strings and
    numbers.
    """

    read_only_names: set[str] = set()
    fields: Any  # the serializer's, which this mixes into

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = set(data) - set(self.fields) - self.read_only_names
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field."] for name in sorted(unknown)}
                )
            wrong = {
                name: [error]
                for name, value in data.items()
                if name in self.fields
                and (error := _json_type_error(self.fields[name], value)) is not None
            }
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)  # type: ignore[misc]


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


# --- OpenAPI descriptions of errors and parameters ----------------------------------------------

E400 = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description='Validation error: {"<field or parameter>": ["message", ...]}',
)
E401 = OpenApiResponse(
    ErrorSerializer, description="Missing, invalid, expired or revoked credentials."
)
E404 = OpenApiResponse(ErrorSerializer, description="No such object among the user's own.")
E429 = OpenApiResponse(ErrorSerializer, description="Rate limit exceeded; see Retry-After.")
COMMON = {401: E401, 429: E429}


def int_param(
    name: str, description: str, minimum: int = 1, maximum: int = MAX_ID
) -> OpenApiParameter:
    schema = {"type": "integer", "format": "int64", "minimum": minimum, "maximum": maximum}
    return OpenApiParameter(name, schema, description=description)


def text_param(name: str, description: str, max_length: int, blank: bool = False):
    if blank:
        schema = string_schema(max_length=max_length, pattern=SEARCH)
    else:
        schema = string_schema(min_length=1, max_length=max_length, pattern=NOT_BLANK)
    return OpenApiParameter(name, schema, description=description)


PAGINATION_PARAMETERS = [
    int_param("cursor", "The next_cursor of the previous page (objects with id < cursor)."),
    int_param("limit", "Page size, 1 to 200 (default 50).", maximum=MAX_LIMIT),
]
ID_PATH = [OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)]


class PipelineAPIView(APIView):
    """The base of every /v1 view: the API's schema generator, and ids read from the path."""

    schema = ApiAutoSchema()

    @staticmethod
    def object_id(raw: str) -> int:
        """The id from the path; one too large for the database is simply not found."""
        value = int(raw)
        if value > MAX_ID:
            raise Http404
        return value
