"""crm.api.parse_query cleans with the FilterSet form's fields directly; it must agree with it.

The shortcut skips building a form (and deep-copying its fields) on every request. These
tests hold its values and its error messages to what the django-filter form itself gives,
for every FilterSet the API validates with, on valid, invalid and odd input.
"""

from __future__ import annotations

import pytest
from django.http import QueryDict
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from crm.api import _form_fields, parse_query
from integrations.filters import SyncRunFilterSet
from leads.filters import CompanyFilterSet, EmptyFilterSet, LeadFilterSet, LeadStatsFilterSet

FILTERSETS = [LeadFilterSet, LeadStatsFilterSet, CompanyFilterSet, SyncRunFilterSet, EmptyFilterSet]

# Per parameter: values that pass, values that fail, edge values.
SAMPLES = {
    "status": ["new", "qualified", "lost", "NEW", "bogus", " new", "x" * 300],
    "company_id": ["1", "42", "0", "-3", "9223372036854775807", "9223372036854775808", "1.5", "a"],
    "integration_id": ["7", "0", "x"],
    "min_score": ["0", "50", "100", "101", "-1", " 7 ", "1e2", "٣"],
    "max_score": ["0", "100", "5", "abc"],
    "created_after": ["2026-01-31", "2026-02-30", "0001-01-01", "11/22/2026", "2026-1-5"],
    "created_before": ["9999-12-31", "2026-11-22", "yesterday"],
    "q": ["", "smith", "  padded  ", "a\x01b", "é" * 201, "x" * 200, "quote\"'"],
    "email": ["a@example.com", "x" * 255, ""],
    "domain": ["example.com", "x" * 254],
    "state": ["succeeded", "failed", "nope"],
    "do_not_contact": ["true", "false", "1", "0", "True", "yes", "", "x" * 20],
    "email_status": ["valid", "invalid", "accept_all", "unknown", "VALID", "bogus", ""],
    "user_id": ["1", "0", "-1", "9223372036854775808", "abc", " 5 "],
    "group_by": ["user", "USER", "status", ""],
}


def _by_form(filterset_class, data: dict[str, str]) -> tuple[dict, dict]:
    """What the django-filter form makes of the same parameters (values, errors)."""
    form = filterset_class(data=QueryDict(mutable=True) | data).form
    errors = {name: list(messages) for name, messages in form.errors.items()}
    cleaned = form.cleaned_data
    check = getattr(filterset_class, "cross_field_errors", None)
    for name, messages in (check(cleaned) if check else {}).items():
        errors.setdefault(name, messages)
    return cleaned, errors


def _by_shortcut(filterset_class, data: dict[str, str]) -> tuple[dict, dict]:
    query = QueryDict(mutable=True)
    query.update(data)
    # Blank values are refused before the fields see them; let the fields see them here.
    allowed = tuple(filterset_class.base_filters)
    try:
        cleaned, _, _ = parse_query(query, filterset_class, paginated=False, blank_allowed=allowed)
    except ValidationError as error:
        return None, {name: [str(m) for m in messages] for name, messages in error.detail.items()}
    return cleaned, {}


def _compare(filterset_class, data: dict[str, str]) -> None:
    form_cleaned, form_errors = _by_form(filterset_class, data)
    cleaned, errors = _by_shortcut(filterset_class, data)
    assert errors == form_errors, data
    if not errors:
        assert cleaned == form_cleaned, data


@pytest.mark.parametrize("filterset_class", FILTERSETS, ids=lambda f: f.__name__)
def test_each_value_alone_is_cleaned_as_the_form_cleans_it(filterset_class):
    names = list(filterset_class.base_filters)
    _compare(filterset_class, {})
    for name in names:
        for value in SAMPLES[name]:
            _compare(filterset_class, {name: value})


def test_cross_field_errors_come_after_the_fields_as_with_the_form():
    _compare(LeadFilterSet, {"min_score": "80", "max_score": "20"})
    _compare(LeadFilterSet, {"min_score": "80", "max_score": "x"})
    _compare(LeadFilterSet, {"min_score": "80", "max_score": "80", "status": "nope"})


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(sorted(LeadFilterSet.base_filters)),
        st.one_of(
            st.sampled_from([v for values in SAMPLES.values() for v in values]),
            st.text(max_size=12),
        ),
    )
)
def test_any_mix_of_lead_parameters_agrees_with_the_form(data):
    _compare(LeadFilterSet, data)


@pytest.mark.parametrize("method", ["clean_status", "clean"])
def test_a_form_with_its_own_clean_methods_is_refused(method):
    import django_filters
    from django import forms

    from leads.models import Lead

    class Odd(django_filters.FilterSet):
        status = django_filters.CharFilter()

        class Meta:
            model = Lead
            fields: list[str] = []
            form = type(
                "OddForm",
                (forms.Form,),
                {method: lambda self: {"status": "changed"}},
            )

    with pytest.raises(TypeError, match=method):
        _form_fields(Odd)
