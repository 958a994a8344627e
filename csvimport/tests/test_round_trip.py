"""Export then re-import changes no value (issue 15 item 3): phone numbers and signed numbers
leave intact, formulas leave defused and come back as they were."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from csvimport.tasks import run_csv_import
from csvimport.tests.conftest import make_import
from leads.models import Lead
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db

PHONES = ["+1 (415) 555-0199", "+44 20 7946 0958", "-12.5", "+33-1-23-45-67-89",
          "+49 (0)30 123456 ext 12", "555-0199", "+1.415.555.0199"]  # fmt: skip
FORMULAS = ['=HYPERLINK("http://evil")', "@SUM(A1)", "+SUM(A1:A2)", "-2+3+cmd|' /C calc'!A0",
            "'=already quoted", "\tTabbed", "+", "-"]  # fmt: skip
# created_at too: the export's created_at column is the imported leads' creation date.
ROUND_TRIP_FIELDS = (
    "email", "first_name", "last_name", "position", "phone", "notes", "custom_attributes",
    "created_at", "deal_value", "expected_close_date",
)  # fmt: skip


def _export(user) -> str:
    client = Client()
    client.force_login(user)
    response = client.get("/leads/export.csv")
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode("utf-8-sig")


def test_phones_and_signed_numbers_leave_intact_and_formulas_defused():
    user = UserFactory()
    company = CompanyFactory(user=user)
    for i, phone in enumerate(PHONES):
        make_lead(user=user, company=company, email=f"p{i}@x.com", phone=phone)
    for i, formula in enumerate(FORMULAS):
        make_lead(user=user, company=company, email=f"f{i}@x.com", notes=formula)
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(_export(user)))}
    assert [rows[f"p{i}@x.com"]["phone"] for i in range(len(PHONES))] == PHONES
    for i, formula in enumerate(FORMULAS):
        cell = rows[f"f{i}@x.com"]["notes"]
        # Nothing a spreadsheet would compute: every one starts with the apostrophe.
        assert cell == "'" + formula, (formula, cell)


def test_an_export_imported_again_changes_no_value():
    source = UserFactory()
    company = CompanyFactory(user=source, name="Acme", domain="acme.com")
    for i, phone in enumerate(PHONES):
        make_lead(user=source, company=company, email=f"p{i}@x.com", phone=phone,
                  first_name=f"P{i}", notes=FORMULAS[i % len(FORMULAS)].strip(),
                  deal_value=f"{i * 1234}.5{i}" if i % 3 else None,
                  expected_close_date=f"2027-0{i + 1}-1{i}" if i % 2 else None)  # fmt: skip
    for i, formula in enumerate(FORMULAS):
        make_lead(user=source, company=company, email=f"f{i}@x.com", first_name=formula.strip(),
                  position="-VP", last_name="'Quote",
                  custom_attributes={"Region": "EU", "Formula": formula.strip()})  # fmt: skip
    # (The import trims each cell, as it always has: a leading tab is not kept either way.)
    text = _export(source)

    target = UserFactory()
    csv_import = make_import(target, text)
    assert run_csv_import(csv_import.pk) == "succeeded"
    before = {
        lead["email"]: lead for lead in Lead.objects.filter(user=source).values(*ROUND_TRIP_FIELDS)
    }
    after = {
        lead["email"]: lead for lead in Lead.objects.filter(user=target).values(*ROUND_TRIP_FIELDS)
    }
    assert after == before
