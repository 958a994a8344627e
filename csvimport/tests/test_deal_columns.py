"""Deal value and expected close date columns in a CSV import: read in the usual spellings,
rejected by name when unreadable, and merged under the import's policy."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from csvimport import parsing
from csvimport.models import CsvRejection
from csvimport.tasks import run_csv_import
from csvimport.tests.conftest import make_import
from leads.models import Lead, LeadEvent
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("cell", "amount"),
    [
        ("12500", "12500.00"),
        ("12,500.50", "12500.50"),
        ("$12,500", "12500.00"),
        ("12.500,50 €", "12500.50"),
        ("USD 900", "900.00"),
        ("1 250,5", "1250.50"),
        ("0", "0.00"),
    ],
)
def test_amounts_in_the_usual_spellings(cell, amount):
    assert parsing.parse_money(cell) == Decimal(amount)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("-5", "is negative"),
        ("ten", "is not an amount"),
        ("1.234", "more than two decimals"),
        ("1000000000000", "is larger than"),
    ],
)
def test_bad_amounts_say_why(cell, message):
    with pytest.raises(ValueError, match=message):
        parsing.parse_money(cell)


def test_headers_are_guessed():
    mapping = parsing.guess_mapping(["Email", "Amount", "Close Date"])
    assert mapping == {"0": "email", "1": "deal_value", "2": "expected_close_date"}


def test_import_creates_fills_and_rejects_by_name():
    user = UserFactory()
    company = CompanyFactory(user=user, name="Acme")
    kept = make_lead(user=user, company=company, email="kept@x.com", deal_value="50")
    make_lead(user=user, company=company, email="empty@x.com")
    text = (
        "Email,Deal value,Expected close date\n"
        'new@x.com,"$1,200.50",2027-02-28\n'
        "kept@x.com,999,2027-03-01\n"
        "empty@x.com,300,\n"
        "bad@x.com,-3,\n"
        "late@x.com,,31st of never\n"
    )
    csv_import = make_import(user, text, mode="upsert")
    assert run_csv_import(csv_import.pk) == "partial"
    leads = {lead.email: lead for lead in Lead.objects.filter(user=user)}
    assert leads["new@x.com"].deal_value == Decimal("1200.50")
    assert leads["new@x.com"].expected_close_date == dt.date(2027, 2, 28)
    # "Fill empty fields only": a value a person typed stays; an empty one is filled.
    assert leads["kept@x.com"].deal_value == Decimal("50")
    assert leads["kept@x.com"].expected_close_date == dt.date(2027, 3, 1)
    assert leads["empty@x.com"].deal_value == Decimal("300")
    reasons = sorted(
        CsvRejection.objects.filter(csv_import=csv_import).values_list("reason", flat=True)
    )
    assert reasons[0].startswith("Deal value “-3” is negative")
    assert reasons[1].startswith("Expected close date “31st of never” is not a date")
    change = LeadEvent.objects.filter(lead=kept, kind="update", source="csv").get().changes
    assert change == {"expected_close_date": [None, "2027-03-01"]}


def test_overwrite_replaces_the_value_and_keeps_it_in_the_history():
    user = UserFactory()
    lead = make_lead(user=user, company=CompanyFactory(user=user), email="a@x.com", deal_value="50")
    csv_import = make_import(user, "Email,Amount\na@x.com,75.25\n", mode="overwrite")
    assert run_csv_import(csv_import.pk) == "succeeded"
    lead.refresh_from_db()
    assert lead.deal_value == Decimal("75.25")
    change = LeadEvent.objects.filter(lead=lead, kind="update", source="csv").get().changes
    assert change == {"deal_value": ["50.00", "75.25"]}
