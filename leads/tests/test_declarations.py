"""Fields and filters are declared once (leads.fields, leads.filters) and every door reads
the declaration: a filter added there is parsed, documented, applied and exported without
another edit, and the two row readers return the same lead."""

from __future__ import annotations

import dataclasses

import pytest

from integrations.serializers import ExportRequestSerializer
from leads import fields, list_sql
from leads.api import LEAD_FILTER_PARAMETERS
from leads.filters import LEAD_FILTER_NAMES, LEAD_FILTERS, LeadFilterSet
from leads.models import Lead
from leads.scope import Scope
from leads.selectors import LEAD_VALUE_FIELDS, LeadFilters, lead_row_to_dict
from leads.serializers import LeadSerializer
from leads.tests.factories import make_lead

pytestmark = pytest.mark.django_db


def test_every_door_offers_exactly_the_declared_filters():
    assert tuple(f.name for f in dataclasses.fields(LeadFilters)) == LEAD_FILTER_NAMES
    assert set(LeadFilterSet.base_filters) == set(LEAD_FILTER_NAMES)
    assert [p.name for p in LEAD_FILTER_PARAMETERS] == list(LEAD_FILTER_NAMES)
    body = set(ExportRequestSerializer().fields)
    assert body == {"lead_ids", *LEAD_FILTER_NAMES}


def test_every_declared_filter_has_an_orm_and_an_sql_test():
    from leads.selectors import _ORM_TESTS

    for spec in LEAD_FILTERS:
        assert spec.test in _ORM_TESTS, spec.name
        value = {"from_day": None, "through_day": None}.get(spec.test, "x")
        if value is not None:
            term, _ = list_sql.filter_term(spec, value, f'"{spec.column}"')
            assert spec.column in term


def test_the_representation_is_the_declared_fields_in_order(user):
    lead = make_lead(user=user, email="ann@acme.com", custom_attributes={"a": "b"})
    page_row = list_sql.lead_page_rows(
        LeadFilters(),
        scope=Scope.of(user),
        cursor=None,
        limit=1,
        oldest_first=False,
        trigram=False,
    )[0]
    values_row = lead_row_to_dict(
        Lead.objects.select_related("company").values(*LEAD_VALUE_FIELDS).get(pk=lead.pk)
    )
    names = [f.name for f in fields.LEAD_FIELDS]
    assert list(page_row) == names
    assert list(values_row) == names
    assert page_row == values_row
    assert list(LeadSerializer().fields) == names
    assert page_row["custom_attributes"] == {"a": "b"}
    assert page_row["company"]["id"] == lead.company_id
