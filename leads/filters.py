"""Query parameters of the list endpoints, parsed and validated by django-filter forms.

The FilterSets only validate; the selectors apply the values, so the same filters serve the
API, the web UI and CSV export.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms

from crm.api import MAX_ID, IntegerFilter, id_filter  # noqa: F401  (MAX_ID for the pages)
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


class LeadFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Status.choices)
    company_id = id_filter()
    min_score = _score_filter()
    max_score = _score_filter()
    created_after = _date_filter(unbounded=dt.date.min)
    created_before = _date_filter(unbounded=dt.date.max)
    q = SearchFilter(max_length=200)
    email = django_filters.CharFilter(max_length=254)
    do_not_contact = StrictBooleanFilter()
    email_status = django_filters.ChoiceFilter(choices=EmailStatus.choices)

    class Meta:
        model = Lead
        fields: list[str] = []

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


class CompanyFilterSet(django_filters.FilterSet):
    q = SearchFilter(max_length=200)
    domain = django_filters.CharFilter(max_length=253)

    class Meta:
        model = Company
        fields: list[str] = []


class EmptyFilterSet(django_filters.FilterSet):
    class Meta:
        model = Lead
        fields: list[str] = []
