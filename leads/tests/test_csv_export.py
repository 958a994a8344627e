from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leads.pages import csv_export
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(db):
    user = UserFactory(username="exporter")
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def _rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_export_streams_the_filtered_leads(web):
    company = CompanyFactory(user=web.user, name="Acme", domain="acme.com")
    make_lead(user=web.user, company=company, email="a@acme.com", status="qualified", score=80)
    make_lead(user=web.user, company=company, email="b@acme.com", status="new", score=10)
    make_lead(user=UserFactory(username="other"), email="secret@x.com", status="qualified")
    response = web.get("/leads/export.csv", {"status": "qualified"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _rows(response)
    assert rows[0][:3] == ["id", "email", "first_name"]
    assert [row[1] for row in rows[1:]] == ["a@acme.com"]
    assert rows[1][4:8] == ["Acme", "acme.com", "qualified", "80"]


def test_formulas_in_cells_are_defused(web):
    make_lead(user=web.user, first_name='=HYPERLINK("http://evil")', notes="+1 555",
              last_name="@x", position="+cmd|' /C calc'!A0")  # fmt: skip
    rows = _rows(web.get("/leads/export.csv"))
    first, last, position, notes = rows[1][2], rows[1][3], rows[1][8], rows[1][12]
    assert first.startswith("'=")
    assert last == "'@x"
    assert position == "'+cmd|' /C calc'!A0"
    assert notes == "+1 555"  # a phone number computes nothing: left as it is


def test_bad_filters_are_400_and_sign_in_is_needed(web):
    assert web.get("/leads/export.csv", {"min_score": "abc"}).status_code == 400
    assert Client().get("/leads/export.csv").status_code == 302


def test_export_reads_in_constant_size_batches(web, monkeypatch):
    monkeypatch.setattr(csv_export, "BATCH", 10)
    company = CompanyFactory(user=web.user)
    for index in range(35):
        make_lead(user=web.user, company=company, email=f"e{index}@x.com")
    with CaptureQueriesContext(connection) as ctx:
        rows = _rows(web.get("/leads/export.csv"))
    assert len(rows) == 36
    batch_queries = [q for q in ctx.captured_queries if "LIMIT 10" in q["sql"]]
    # 4 batches with rows, 1 that finds the end, and 1 of the pass that collects the custom
    # attribute names (none here).
    assert len(batch_queries) == 6


def test_custom_attributes_are_columns_of_their_own(web):
    company = CompanyFactory(user=web.user)
    make_lead(user=web.user, company=company, email="a@x.com",
              custom_attributes={"Region": "EU", "Tier": "=1+1"})  # fmt: skip
    make_lead(user=web.user, company=company, email="b@x.com", custom_attributes={"Plan": "Pro"})
    rows = _rows(web.get("/leads/export.csv"))
    header = rows[0]
    assert header[-3:] == ["custom:Plan", "custom:Region", "custom:Tier"]
    by_email = {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert by_email["a@x.com"]["custom:Region"] == "EU"
    assert by_email["a@x.com"]["custom:Tier"] == "'=1+1"
    assert by_email["a@x.com"]["custom:Plan"] == ""
    assert by_email["b@x.com"]["custom:Plan"] == "Pro"
