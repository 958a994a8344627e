"""A lead as every endpoint and page returns it, declared once.

``LEAD_FIELDS`` lists the representation's keys in order, where each value is read from and
what kind of value it is. From it come:

- ``VALUE_LOOKUPS``: the ``QuerySet.values()`` names (``selectors.lead_queryset`` pages, the
  detail view, ``lead_to_dict``), and ``from_values`` that turns such a row into the lead;
- ``SQL_COLUMNS`` and ``FROM_SQL_ROW``: the hand-written page statement's column list and its
  row reader (``list_sql``), one of each per database, which read timestamps as text and
  parse them themselves;
- ``schema_fields``: the documentation fields of ``serializers.LeadSerializer``.

The row readers are plain functions written from the declaration when this module is
imported (as ``dataclasses`` writes ``__init__``): a page of 50 rows is read per request, and
a generic loop over the declaration costs 15 % more per row than a dict literal does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import orjson
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leads.models import EmailStatus, Status

# value: stored as returned; flag: a boolean (SQLite returns 0/1); attributes: a JSON object,
# {} when empty (the driver may return text); moment: a timestamp, aware and in UTC;
# company: the lead's company as {"id", "name", "domain"}; money: a decimal as a string with
# two decimals ("1250.00"), as api.md writes deal_value (SQLite returns a float or an
# integer); day: a date as "YYYY-MM-DD" (SQLite returns the text already).
Kind = Literal["value", "flag", "attributes", "moment", "company", "money", "day"]


@dataclass(frozen=True)
class LeadField:
    name: str
    lookup: str  # the ORM's name (values()); the column of leads_lead unless it has "__"
    schema: Callable[[], serializers.Field]
    kind: Kind = "value"


def _text() -> serializers.Field:
    return serializers.CharField(allow_blank=True)


def _integer() -> serializers.Field:
    return serializers.IntegerField()


def _moment() -> serializers.Field:
    return serializers.DateTimeField()


MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": MONEY_PATTERN,
        "nullable": True,
        "example": "12500.00",
        "description": "What the deal is worth: at least 0, at most two decimals, in the "
        "CRM's currency (the CURRENCY setting).",
    }
)
class MoneyField(serializers.DecimalField):
    """An amount ≥ 0 with two decimals ("12500.00"); the schema says so with a pattern,
    as a string's minimum cannot be written in OpenAPI."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=14, decimal_places=2, min_value=Decimal(0), **kwargs)


class CompanyRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    domain = serializers.CharField()


LEAD_FIELDS: tuple[LeadField, ...] = (
    LeadField("id", "id", _integer),
    LeadField("user_id", "user_id", _integer),
    LeadField("company_id", "company_id", _integer),
    LeadField("company", "company", CompanyRefSerializer, "company"),
    LeadField("status", "status", lambda: serializers.ChoiceField(choices=Status.choices)),
    LeadField("score", "score", lambda: serializers.IntegerField(min_value=0, max_value=100)),
    LeadField("notes", "notes", _text),
    LeadField("email", "email", _text),
    LeadField("first_name", "first_name", _text),
    LeadField("last_name", "last_name", _text),
    LeadField("position", "position", _text),
    LeadField("phone", "phone", _text),
    LeadField("linkedin_url", "linkedin_url", _text),
    LeadField("source", "source", _text),
    LeadField(
        "custom_attributes",
        "custom_attributes",
        lambda: serializers.DictField(child=serializers.CharField(allow_blank=True)),
        "attributes",
    ),
    LeadField(
        "deal_value",
        "deal_value",
        lambda: MoneyField(allow_null=True),
        "money",
    ),
    LeadField(
        "expected_close_date",
        "expected_close_date",
        lambda: serializers.DateField(allow_null=True),
        "day",
    ),
    LeadField("status_changed_at", "status_changed_at", _moment, "moment"),
    LeadField("created_at", "created_at", _moment, "moment"),
    LeadField("updated_at", "updated_at", _moment, "moment"),
    LeadField(
        "do_not_contact",
        "do_not_contact",
        lambda: serializers.BooleanField(
            help_text="Never exported to any provider while true (an unsubscribe, or a "
            "person's decision); exports count such leads as skipped."
        ),
        "flag",
    ),
    LeadField("do_not_contact_reason", "do_not_contact_reason", _text),
    LeadField(
        "email_status",
        "email_status",
        lambda: serializers.ChoiceField(
            choices=EmailStatus.choices,
            help_text="The last verification of the email; back to unknown when the email changes.",
        ),
    ),
    LeadField(
        "email_verified_at",
        "email_verified_at",
        lambda: serializers.DateTimeField(allow_null=True),
        "moment",
    ),
    LeadField(
        "email_verified_by",
        "email_verified_by",
        lambda: serializers.CharField(allow_null=True, help_text="The provider."),
    ),
)

# The company's columns a lead carries, after its own ("company" reads these two and the id).
_COMPANY_LOOKUPS = ("company__name", "company__domain")


def schema_fields() -> dict[str, serializers.Field]:
    return {field.name: field.schema() for field in LEAD_FIELDS}


# --- values() rows ------------------------------------------------------------------------

VALUE_LOOKUPS: tuple[str, ...] = tuple(
    lookup
    for field in LEAD_FIELDS
    for lookup in (_COMPANY_LOOKUPS if field.kind == "company" else (field.lookup,))
)


def _values_expression(field: LeadField) -> str:
    # values() rows already hold booleans, aware datetimes and decoded JSON.
    if field.kind == "company":
        return (
            '{"id": row["company_id"], "name": row["company__name"], '
            '"domain": row["company__domain"]}'
        )
    if field.kind == "attributes":
        return f"row[{field.lookup!r}] or {{}}"
    if field.kind == "money":
        return f"_money(row[{field.lookup!r}])"
    if field.kind == "day":
        return f"_day(row[{field.lookup!r}])"
    return f"row[{field.lookup!r}]"


# --- The hand-written statement's rows ------------------------------------------------------


def _sql_columns(vendor: str) -> tuple[list[str], dict[str, int]]:
    """The select list (lead table ``l``, company ``c``) and each field's first position."""
    columns: list[str] = []
    position: dict[str, int] = {}
    for field in LEAD_FIELDS:
        position[field.name] = len(columns)
        if field.kind == "company":
            columns += ['c."name"', 'c."domain"']
        elif field.kind in ("moment", "day") or (field.kind == "money" and vendor == "postgresql"):
            # Read as text: the drivers' own converters are Python, and with three moments a
            # row they were the largest single cost of a page on PostgreSQL. A moment is
            # parsed by datetime.fromisoformat (C); a day stays as read ("2026-03-31" on both
            # databases), and so does an amount on PostgreSQL, whose numeric(14, 2) writes
            # two decimals ("1250.00").
            columns.append(f'CAST(l."{field.lookup}" AS TEXT)')
        else:
            columns.append(f'l."{field.lookup}"')
    return columns, position


_VENDORS = ("sqlite", "postgresql")
_COLUMNS_AND_POSITIONS = {vendor: _sql_columns(vendor) for vendor in _VENDORS}
# The positions are the same on both databases: only the casts differ.
_POSITION = _COLUMNS_AND_POSITIONS["sqlite"][1]
SQL_COLUMNS: dict[str, str] = {
    vendor: ", ".join(columns) for vendor, (columns, _) in _COLUMNS_AND_POSITIONS.items()
}


def _sql_expression(vendor: str) -> Callable[[LeadField], str]:
    def expression(field: LeadField) -> str:
        at = _POSITION[field.name]
        value = f"r[{at}]"
        if field.kind == "company":
            company_id = _POSITION["company_id"]
            return f'{{"id": r[{company_id}], "name": {value}, "domain": r[{at + 1}]}}'
        if field.kind == "flag":
            return f"bool({value})"
        if field.kind == "moment":
            if vendor == "postgresql":
                # The session writes UTC as "+00", which fromisoformat reads as dt.UTC itself.
                return f"(None if {value} is None else _parse_moment({value}))"
            return f"_moment_utc({value})"
        if field.kind == "attributes":  # text on both: Django has the driver leave JSON alone
            return f"_attributes({value})"
        if field.kind == "money" and vendor == "sqlite":
            return f"(None if {value} is None else _money({value}))"
        # A day (and an amount on PostgreSQL) is read as text; any other value as stored.
        return value

    return expression


_UTC = dt.UTC


def _moment_utc(value: Any) -> dt.datetime | None:
    """A stored timestamp, read as text, as a datetime in UTC. SQLite keeps naive UTC;
    PostgreSQL writes the offset of the session's time zone (UTC under Django)."""
    if value is None:
        return None
    if isinstance(value, str):
        # Naive text (SQLite) is read with its offset appended: one parse (0.24 us), where
        # parsing and then ``replace(tzinfo=…)`` cost 1.3 us, four times a row.
        clock = value[10:]
        if "+" in clock or "-" in clock or "Z" in clock:
            value = dt.datetime.fromisoformat(value)
        else:
            value = dt.datetime.fromisoformat(value + "+00:00")
    if value.tzinfo is None:
        return value.replace(tzinfo=_UTC)
    return value if value.tzinfo is _UTC else value.astimezone(_UTC)


def _money(value: Any) -> str | None:
    """A stored amount as "1250.00". SQLite keeps a decimal column as a float or an integer,
    PostgreSQL's driver gives a Decimal. A float is formatted as it is: 0.2 us, where going
    through ``Decimal(str(value))`` cost 0.7 us, on every row and card. The column holds at
    most 14 digits, two after the point: below 10**12 a float is within 0.0002 of the amount
    written, far inside the half cent that rounding to two places could get wrong."""
    if value is None:
        return None
    return f"{value:.2f}"


def _day(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def _attributes(value: Any) -> dict[str, Any]:
    if isinstance(value, str | bytes):
        value = orjson.loads(value)
    return value or {}


def _reader(name: str, argument: str, expression: Callable[[LeadField], str]) -> Callable:
    """A function ``name(argument) -> dict`` returning the lead as one dict literal."""
    items = ",\n        ".join(f"{f.name!r}: {expression(f)}" for f in LEAD_FIELDS)
    source = f"def {name}({argument}):\n    return {{\n        {items},\n    }}\n"
    namespace: dict[str, Any] = {
        "_attributes": _attributes,
        "_moment_utc": _moment_utc,
        "_money": _money,
        "_day": _day,
        "_parse_moment": dt.datetime.fromisoformat,
    }
    # The source is built from the constant declaration above, never from data.
    exec(compile(source, f"<leads.fields.{name}>", "exec"), namespace)  # noqa: S102
    return namespace[name]


from_values: Callable[[dict[str, Any]], dict[str, Any]] = _reader(
    "from_values", "row", _values_expression
)
# One reader per database: each reads its own driver's values with as few calls as it can.
FROM_SQL_ROW: dict[str, Callable[[tuple], dict[str, Any]]] = {
    vendor: _reader(f"from_{vendor}_row", "r", _sql_expression(vendor)) for vendor in _VENDORS
}
