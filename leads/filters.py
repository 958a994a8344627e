"""The list filters of leads, declared once, and the query parameters of the list endpoints.

Each ``ListFilter`` says everything the product needs to know about one filter: how a query
string spells and validates it (django-filter), how a JSON body does (exports and other
actions that take ``{"filters": {...}}``), how the API documents it, and what it tests on
which column. The FilterSet, the JSON body fields, the OpenAPI parameters, the ORM filter
(``selectors.filter_leads``), the hand-written list statement (``list_sql.lead_where``) and the
per-status counts all read ``LEAD_FILTERS``; adding a filter is one entry here and one field of
``selectors.LeadFilters``.

The FilterSets only validate; the selectors apply the values, so the same filters serve the
API, the web UI and CSV export.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from crm.api import MAX_ID, IntegerFilter, id_filter, int_param, text_param
from leads.models import Company, EmailStatus, Lead, Status


def _score_filter() -> IntegerFilter:
    return IntegerFilter(min_value=0, max_value=100)


class DayField(forms.DateField):
    """A day that bounds a range; the day at the far end of the calendar bounds nothing.

    0001-01-01 and 9999-12-31 are valid dates, but midnight of the first one east of UTC and
    the day after the last one cannot be computed (a 500); and no lead lies beyond them.
    """

    def __init__(self, *, unbounded: dt.date, **kwargs) -> None:
        self.unbounded = unbounded
        super().__init__(**kwargs)

    def clean(self, value):
        day = super().clean(value)
        return None if day == self.unbounded else day


class DayFilter(django_filters.DateFilter):
    field_class = DayField


def _date_filter(unbounded: dt.date) -> DayFilter:
    # YYYY-MM-DD only: Django would otherwise also accept forms like 11/22/2026.
    return DayFilter(input_formats=["%Y-%m-%d"], unbounded=unbounded)


class SearchField(forms.CharField):
    def validate(self, value):
        super().validate(value)
        if any(ord(ch) < 32 for ch in value):
            raise forms.ValidationError("Must not contain control characters.")


class SearchFilter(django_filters.CharFilter):
    field_class = SearchField


class StrictBooleanField(forms.Field):
    """``true`` or ``false`` (``1``/``0`` too); anything else is an error, never ignored."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in {"true", "1"}:
            return True
        if text in {"false", "0"}:
            return False
        raise forms.ValidationError("Must be true or false.")


class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


# What a filter tests on its column: equal to the value, at least / at most the value, from
# the start of the value's day / up to the end of it (calendar days in the CRM's time zone),
# the email (lower-cased, never the empty one), or a substring of the search text.
Test = Literal["equal", "at_least", "at_most", "from_day", "through_day", "email", "contains"]


@dataclass(frozen=True)
class ListFilter:
    name: str
    column: str
    test: Test
    description: str
    query: Callable[[], django_filters.Filter]
    body: Callable[[], serializers.Field]
    parameter: Callable[[str, str], OpenApiParameter]
    # Served by the lead_counts index (migration 0003) with the owner: per-status counts
    # under these filters alone read that index and nothing else.
    counted: bool = False
    # An index with the owner serves this filter, so the leads a page reads are only those
    # that pass it: an equality walked in id order (``…, id``) or the creation window read
    # from (user, created_at, id). Every other filter is tested on each lead read (the
    # PostgreSQL search's probe reads a fixed number of leads, list_sql).
    indexed: bool = False
    # The values an equality may take, when they are a fixed set. The hand-written
    # statements write such a value as a literal, not a bound parameter: SQLite re-prepares,
    # on every execution, a statement whose bound value it compared with a partial index's
    # condition (lead_won: status = 'converted'), which cost the status listing 0.1 ms
    # (0.05 of 0.16 ms for the statement alone) at 10,000 leads. A handful of texts, each
    # prepared once, instead.
    choices: tuple[str, ...] = ()

    @property
    def window(self) -> bool:
        """A bound of the creation window (calendar days)."""
        return self.test in ("from_day", "through_day")

    @property
    def ranged(self) -> bool:
        return self.window or self.test in ("at_least", "at_most")

    def openapi(self) -> OpenApiParameter:
        return self.parameter(self.name, self.description)


def _choice_parameter(choices: list[str]) -> Callable[[str, str], OpenApiParameter]:
    return lambda name, description: OpenApiParameter(
        name, str, enum=choices, description=description
    )


def _score_parameter(name: str, description: str) -> OpenApiParameter:
    return int_param(name, description, minimum=0, maximum=100)


def _day_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.DATE, description=description)


def _boolean_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.BOOL, description=description)


def _score_body() -> serializers.Field:
    return serializers.IntegerField(min_value=0, max_value=100, required=False)


def _day_body() -> serializers.Field:
    return serializers.DateField(input_formats=["%Y-%m-%d"], required=False)


# The owner (api.md "Teams, roles and assignment"). The value must name someone in the
# caller's scope: ``selectors.owner_filter_check`` refuses anyone else with one message,
# whether or not that user exists; the lists apply it within the scope anyway.
OWNER_FILTER = ListFilter(
    "user_id",
    "user_id",
    "equal",
    "Only what this user owns: yourself or, for a team's manager, a member of the team "
    "(anyone else is a 400 on user_id).",
    query=id_filter,
    body=lambda: serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False),
    parameter=int_param,
    # The per-status counts read the owner from the lead_counts index (selectors).
    counted=True,
    indexed=True,
)

LEAD_FILTERS: tuple[ListFilter, ...] = (
    ListFilter(
        "status",
        "status",
        "equal",
        "One pipeline status.",
        query=lambda: django_filters.ChoiceFilter(choices=Status.choices),
        body=lambda: serializers.ChoiceField(choices=Status.choices, required=False),
        parameter=_choice_parameter(Status.values),
        choices=tuple(Status.values),
        counted=True,
        indexed=True,  # lead_user_status_id
    ),
    ListFilter(
        "company_id",
        "company_id",
        "equal",
        "Leads of this company.",
        query=id_filter,
        body=lambda: serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False),
        parameter=int_param,
        indexed=True,  # lead_company_id
    ),
    ListFilter(
        "min_score",
        "score",
        "at_least",
        "Score at least this (0-100, inclusive).",
        query=_score_filter,
        body=_score_body,
        parameter=_score_parameter,
        counted=True,
    ),
    ListFilter(
        "max_score",
        "score",
        "at_most",
        "Score at most this (0-100, inclusive).",
        query=_score_filter,
        body=_score_body,
        parameter=_score_parameter,
        counted=True,
    ),
    ListFilter(
        "created_after",
        "created_at",
        "from_day",
        "Created on or after this day (YYYY-MM-DD).",
        query=lambda: _date_filter(unbounded=dt.date.min),
        body=_day_body,
        parameter=_day_parameter,
        counted=True,
        indexed=True,  # lead_user_created
    ),
    ListFilter(
        "created_before",
        "created_at",
        "through_day",
        "Created on or before this day (YYYY-MM-DD).",
        query=lambda: _date_filter(unbounded=dt.date.max),
        body=_day_body,
        parameter=_day_parameter,
        counted=True,
        indexed=True,  # lead_user_created
    ),
    ListFilter(
        "q",
        "search_text",
        "contains",
        "Substring of the full name (first last), email or company name; ignores case and accents.",
        query=lambda: SearchFilter(max_length=200),
        body=lambda: serializers.CharField(required=False, allow_blank=True, max_length=200),
        parameter=lambda name, description: text_param(
            name, description, max_length=200, blank=True
        ),
    ),
    ListFilter(
        "email",
        "email",
        "email",
        "Exact email, case-insensitive.",
        query=lambda: django_filters.CharFilter(max_length=254),
        body=lambda: serializers.CharField(required=False, max_length=254),
        parameter=lambda name, description: text_param(name, description, max_length=254),
        indexed=True,  # the unique (user, email) index: one lead at most
    ),
    ListFilter(
        "do_not_contact",
        "do_not_contact",
        "equal",
        "Only leads marked do-not-contact (true) or only the others (false).",
        query=StrictBooleanFilter,
        body=lambda: serializers.BooleanField(required=False),
        parameter=_boolean_parameter,
    ),
    ListFilter(
        "email_status",
        "email_status",
        "equal",
        "The last verification of the email.",
        query=lambda: django_filters.ChoiceFilter(choices=EmailStatus.choices),
        body=lambda: serializers.ChoiceField(choices=EmailStatus.choices, required=False),
        parameter=_choice_parameter(EmailStatus.values),
        choices=tuple(EmailStatus.values),
    ),
    OWNER_FILTER,
)
LEAD_FILTER_NAMES = tuple(f.name for f in LEAD_FILTERS)
# ``GET /v1/leads/stats?group_by=user``: the figures per owner too.
GROUP_BY_USER = "user"


def lead_filter_body_fields() -> dict[str, serializers.Field]:
    """The filters as fields of a JSON body: the list's names and rules, JSON's types."""
    return {f.name: f.body() for f in LEAD_FILTERS}


class LeadFilterSet(django_filters.FilterSet):
    class Meta:
        model = Lead
        fields: list[str] = []

    @classmethod
    def get_filters(cls):
        filters = super().get_filters()
        filters.update({f.name: f.query() for f in LEAD_FILTERS})
        return filters

    @staticmethod
    def cross_field_errors(cleaned: dict) -> dict[str, list[str]]:
        """Errors between valid fields (crm.api.parse_query calls this too)."""
        low, high = cleaned.get("min_score"), cleaned.get("max_score")
        if low is not None and high is not None and low > high:
            return {"min_score": ["min_score must not be greater than max_score."]}
        return {}

    @property
    def errors(self):
        errors = dict(super().errors)
        data = self.form.cleaned_data if hasattr(self.form, "cleaned_data") else {}
        for name, messages in self.cross_field_errors(data).items():
            errors.setdefault(name, messages)
        return errors

    def is_valid(self) -> bool:
        return super().is_valid() and not self.errors


class LeadStatsFilterSet(LeadFilterSet):
    """The list's filters, and how the figures are grouped besides by status."""

    group_by = django_filters.ChoiceFilter(choices=[(GROUP_BY_USER, GROUP_BY_USER)])


class CompanyFilterSet(django_filters.FilterSet):
    q = SearchFilter(max_length=200)
    domain = django_filters.CharFilter(max_length=253)
    user_id = OWNER_FILTER.query()

    class Meta:
        model = Company
        fields: list[str] = []


class EmptyFilterSet(django_filters.FilterSet):
    class Meta:
        model = Lead
        fields: list[str] = []
