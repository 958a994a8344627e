"""A lead's deal value and expected close date (api.md): writes, reads, history and stats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Lead, LeadEvent
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = pytest.mark.django_db


def test_create_and_read_back_as_decimal_string_and_date(api, company):
    response = api.post(
        "/v1/leads",
        {"company_id": company.pk, "deal_value": "12500.5", "expected_close_date": "2027-01-31"},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["deal_value"] == "12500.50"
    assert body["expected_close_date"] == "2027-01-31"
    # The fast page path (hand-written SQL) and the detail path (values()) agree.
    listed = api.get("/v1/leads").json()["data"][0]
    assert listed["deal_value"] == "12500.50"
    assert listed["expected_close_date"] == "2027-01-31"
    assert api.get(f"/v1/leads/{body['id']}").json() == body


@pytest.mark.parametrize(
    "amount",
    ["0.01", "0.05", "0.10", "0.15", "0.29", "1.00", "2.67", "1234567.89", "999999999999.99"],
)
def test_the_list_writes_every_amount_to_the_cent_as_the_detail_does(api, company, amount):
    """The list's rows read the column as SQLite stores it (a float, or an integer for a
    whole amount) and format it without Decimal: to the cent as the detail's Decimal."""
    body = api.post("/v1/leads", {"company_id": company.pk, "deal_value": amount}).json()
    listed = api.get("/v1/leads").json()["data"][0]
    assert listed["id"] == body["id"]
    assert (
        listed["deal_value"]
        == body["deal_value"]
        == api.get(f"/v1/leads/{body['id']}").json()["deal_value"]
    )
    assert body["deal_value"] == f"{Decimal(amount):.2f}"


def test_defaults_are_null(api, company):
    body = api.post("/v1/leads", {"company_id": company.pk}).json()
    assert body["deal_value"] is None
    assert body["expected_close_date"] is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "greater than or equal to 0"),
        ("12.345", "2 decimal places"),
        ("1000000000000.00", "no more than 14 digits"),
        ("ten", "valid number"),
    ],
)
def test_bad_deal_values_are_400_naming_the_field(api, company, value, message):
    lead = make_lead(user=api.user, company=company, deal_value="10.00")
    response = api.patch(f"/v1/leads/{lead.pk}", {"deal_value": value})
    assert response.status_code == 400
    assert message in " ".join(response.json()["deal_value"])
    lead.refresh_from_db()
    assert str(lead.deal_value) == "10.00"


def test_bad_close_date_is_400(api, company):
    lead = make_lead(user=api.user, company=company)
    response = api.patch(f"/v1/leads/{lead.pk}", {"expected_close_date": "31/01/2027"})
    assert response.status_code == 400
    assert "expected_close_date" in response.json()


def test_changes_and_clearing_are_in_the_history(api, company):
    lead = make_lead(user=api.user, company=company)
    api.patch(f"/v1/leads/{lead.pk}", {"deal_value": "900", "expected_close_date": "2027-02-01"})
    response = api.patch(f"/v1/leads/{lead.pk}", {"deal_value": None})
    assert response.status_code == 200
    assert response.json()["deal_value"] is None
    changes = [e.changes for e in LeadEvent.objects.filter(lead=lead, kind="update").order_by("id")]
    assert changes == [
        {"deal_value": [None, "900.00"], "expected_close_date": [None, "2027-02-01"]},
        {"deal_value": ["900.00", None]},
    ]
    # The same value written again is not a change.
    api.patch(f"/v1/leads/{lead.pk}", {"expected_close_date": "2027-02-01"})
    assert LeadEvent.objects.filter(lead=lead, kind="update").count() == 2


def test_stats_sum_values_per_status_with_the_list_filters(api, company):
    other = CompanyFactory(user=api.user, name="Globex")
    make_lead(user=api.user, company=company, status="new", deal_value="100.10")
    make_lead(user=api.user, company=company, status="new", deal_value="0.20")
    make_lead(user=api.user, company=other, status="qualified", deal_value="5000", score=80)
    make_lead(user=api.user, company=other, status="qualified")  # no value
    body = api.get("/v1/leads/stats").json()
    assert body["value_by_status"] == {
        "new": "100.30",
        "contacted": "0.00",
        "qualified": "5000.00",
        "converted": "0.00",
        "lost": "0.00",
    }
    filtered = api.get("/v1/leads/stats", {"company_id": other.pk, "min_score": 50}).json()
    assert filtered["value_by_status"]["qualified"] == "5000.00"
    assert filtered["value_by_status"]["new"] == "0.00"
    assert api.get("/v1/leads/stats", {"q": "nobody"}).json()["value_by_status"]["new"] == "0.00"


def test_stats_values_are_exact_to_the_cent_on_many_leads(api, company):
    Lead.objects.bulk_create(
        [
            Lead(
                user=api.user,
                company=company,
                deal_value="0.10",
                created_at=company.created_at,
                updated_at=company.created_at,
                status_changed_at=company.created_at,
            )
            for _ in range(1000)
        ]
    )
    assert api.get("/v1/leads/stats").json()["value_by_status"]["new"] == "100.00"


def test_another_users_values_are_not_summed(api, other_api):
    theirs = CompanyFactory(user=other_api.user)
    make_lead(user=other_api.user, company=theirs, deal_value="999")
    assert api.get("/v1/leads/stats").json()["value_by_status"]["new"] == "0.00"


def test_stats_cost_one_more_query_for_values(api, company):
    make_lead(user=api.user, company=company, deal_value="1")
    with CaptureQueriesContext(connection) as ctx:
        assert api.get("/v1/leads/stats?min_score=0").status_code == 200
    sums = [q["sql"] for q in ctx.captured_queries if "deal_value" in q["sql"]]
    assert len(sums) == 1
    # Unfiltered, counts and values are one read of the tally and no sum over the leads.
    with CaptureQueriesContext(connection) as ctx:
        response = api.get("/v1/leads/stats")
    assert response.json()["value_by_status"]["new"] == "1.00"
    assert not [q for q in ctx.captured_queries if "deal_value" in q["sql"]]
    assert len([q for q in ctx.captured_queries if "leads_leadtally" in q["sql"]]) == 1
