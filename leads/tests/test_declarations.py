"""Fields and filters are declared once (leads.fields, leads.filters) and every door reads
the declaration: a filter added there is parsed, documented, applied and exported without
another edit, and the two row readers return the same lead."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

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
        value = {"from_day": None, "through_day": None}.get(spec.test, (*spec.choices, "x")[0])
        if value is not None:
            term, _ = list_sql.filter_term(spec, value, f'"{spec.column}"')
            assert spec.column in term


def _page_and_values_rows(user, lead: Lead) -> tuple[dict, dict]:
    """The newest lead as the list's statement reads it, and ``lead`` as values() reads it."""
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
    return page_row, values_row


def test_the_representation_is_the_declared_fields_in_order(user):
    lead = make_lead(user=user, email="ann@acme.com", custom_attributes={"a": "b"})
    page_row, values_row = _page_and_values_rows(user, lead)
    names = [f.name for f in fields.LEAD_FIELDS]
    assert list(page_row) == names
    assert list(values_row) == names
    assert page_row == values_row
    assert list(LeadSerializer().fields) == names
    assert page_row["custom_attributes"] == {"a": "b"}
    assert page_row["company"]["id"] == lead.company_id


@pytest.mark.parametrize(
    ("microsecond", "amount", "written"),
    [(0, Decimal("1250.50"), "1250.50"), (120000, Decimal("1200"), "1200.00"), (5, None, None)],
)
def test_a_page_row_reads_moments_days_and_amounts_as_the_orm_does(
    user, microsecond, amount, written
):
    # The page statement reads moments and days as text, amounts too on PostgreSQL
    # (fields._sql_columns), and each database has its own reader.
    lead = make_lead(user=user, deal_value=amount, expected_close_date=dt.date(2027, 3, 31))
    moment = dt.datetime(2026, 5, 6, 7, 8, 9, microsecond, tzinfo=dt.UTC)
    Lead.objects.filter(pk=lead.pk).update(
        created_at=moment, status_changed_at=moment, email_verified_at=moment
    )
    page_row, values_row = _page_and_values_rows(user, lead)
    assert page_row == values_row
    for name in ("created_at", "status_changed_at", "email_verified_at"):
        assert page_row[name] == moment
        assert page_row[name].tzinfo is dt.UTC
    assert page_row["expected_close_date"] == "2027-03-31"
    assert page_row["deal_value"] == written


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # SQLite: naive UTC, with and without a fraction.
        ("2026-05-06 07:08:09", dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.UTC)),
        ("2026-05-06 07:08:09.120000", dt.datetime(2026, 5, 6, 7, 8, 9, 120000, tzinfo=dt.UTC)),
        # PostgreSQL: the session's offset, UTC under Django, or another one.
        ("2026-05-06 07:08:09.12+00", dt.datetime(2026, 5, 6, 7, 8, 9, 120000, tzinfo=dt.UTC)),
        ("2026-05-06 07:08:09-05", dt.datetime(2026, 5, 6, 12, 8, 9, tzinfo=dt.UTC)),
        ("2026-05-06T07:08:09Z", dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.UTC)),
        (None, None),
    ],
)
def test_a_moment_read_as_text_is_that_moment_in_utc(text, expected):
    moment = fields._moment_utc(text)
    assert moment == expected
    if expected is not None:
        assert moment.tzinfo is dt.UTC


def test_a_value_from_a_fixed_set_is_written_as_a_literal():
    # SQLite re-prepares a statement on every run when a bound status meets the partial
    # index lead_won's condition; a literal is prepared once per status.
    for name, value in (("status", "qualified"), ("email_status", "valid")):
        spec = next(f for f in LEAD_FILTERS if f.name == name)
        assert list_sql.filter_term(spec, value, f'"{name}"') == (f"\"{name}\" = '{value}'", [])
    status = next(f for f in LEAD_FILTERS if f.name == "status")
    with pytest.raises(ValueError, match="status"):
        list_sql.filter_term(status, "new' OR '1' = '1", '"status"')
    score = next(f for f in LEAD_FILTERS if f.name == "min_score")
    assert list_sql.filter_term(score, 40, '"score"') == ('"score" >= %s', [40])
