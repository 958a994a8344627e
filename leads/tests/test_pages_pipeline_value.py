"""Pipeline value in the UI: the lead page and create form, the board's columns, the
dashboard's figures, and the reason asked when a lead is lost."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from leads import dashboard
from leads.models import Lead, LeadEvent, Source, Status
from leads.selectors import LeadFilters
from leads.services import lead_set_status, lead_update
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_deal_value_and_close_date_are_edited_inline_with_history(web, user, company):
    lead = make_lead(user=user, company=company, first_name="Ada")
    page = web.get(f"/leads/{lead.pk}/").content.decode()
    assert "add deal value (usd)" in page.lower()
    response = web.post(
        f"/leads/{lead.pk}/field/deal_value/", {"deal_value": "12500.5"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "$12,500.50" in response.content.decode()
    web.post(f"/leads/{lead.pk}/field/expected_close_date/", {"expected_close_date": "2027-03-31"})
    lead.refresh_from_db()
    assert lead.deal_value == Decimal("12500.50")
    assert lead.expected_close_date == dt.date(2027, 3, 31)
    page = web.get(f"/leads/{lead.pk}/").content.decode()
    assert "31 Mar 2027" in page
    history = page[page.index('id="timeline"') :]
    # The history names the field with its currency, and the amount as people write it.
    assert "<strong>Deal value (USD)</strong>:" in history and "$12,500.50" in history
    assert "<strong>Expected close date</strong>: 2027-03-31" in history


@pytest.mark.parametrize(
    ("value", "message"),
    [("-5", "greater than or equal to 0"), ("abc", "Enter an amount"), ("1.234", "2 decimal")],
)
def test_bad_deal_value_is_named_and_changes_nothing(web, user, company, value, message):
    lead = make_lead(user=user, company=company, deal_value="10")
    response = web.post(
        f"/leads/{lead.pk}/field/deal_value/", {"deal_value": value}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    lead.refresh_from_db()
    assert lead.deal_value == Decimal("10")


def test_create_form_takes_deal_value_and_close_date(web, user, company):
    response = web.post(
        "/leads/new/",
        {
            "first_name": "Grace",
            "company": company.pk,
            "status": "new",
            "deal_value": "900",
            "expected_close_date": "2027-01-15",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    lead = Lead.objects.get(first_name="Grace")
    assert lead.deal_value == Decimal("900")
    assert lead.expected_close_date == dt.date(2027, 1, 15)


def test_lost_asks_for_a_reason_then_keeps_it_in_the_history(web, user, company):
    lead = make_lead(user=user, company=company, first_name="Ada")
    # First click: the question, nothing changed yet.
    asked = web.post(f"/leads/{lead.pk}/status/", {"status": "lost"}, HTTP_HX_REQUEST="true")
    assert asked.status_code == 200
    assert 'data-testid="lost-reason-form"' in asked.content.decode()
    lead.refresh_from_db()
    assert lead.status == Status.NEW
    # Without JavaScript the whole page asks the same question.
    page = web.post(f"/leads/{lead.pk}/status/", {"status": "lost"})
    assert 'data-testid="lost-reason-form"' in page.content.decode()
    answered = web.post(
        f"/leads/{lead.pk}/status/",
        {"status": "lost", "confirm": "1", "reason": "  Chose a competitor "},
        HTTP_HX_REQUEST="true",
    )
    assert answered.status_code == 200
    lead.refresh_from_db()
    assert lead.status == Status.LOST
    event = LeadEvent.objects.filter(lead=lead, kind="status").latest("id")
    assert event.changes == {"reason": "Chose a competitor"}
    assert "Reason: Chose a competitor" in web.get(f"/leads/{lead.pk}/").content.decode()


def test_lost_without_a_reason_and_other_statuses_ask_nothing(web, user, company):
    lead = make_lead(user=user, company=company)
    web.post(f"/leads/{lead.pk}/status/", {"status": "lost", "confirm": "1"})
    lead.refresh_from_db()
    assert lead.status == Status.LOST
    assert LeadEvent.objects.filter(lead=lead, kind="status").latest("id").changes == {}
    web.post(f"/leads/{lead.pk}/status/", {"status": "qualified"})
    lead.refresh_from_db()
    assert lead.status == Status.QUALIFIED


def test_a_too_long_reason_is_refused_by_name(web, user, company):
    lead = make_lead(user=user, company=company)
    response = web.post(
        f"/leads/{lead.pk}/status/",
        {"status": "lost", "confirm": "1", "reason": "x" * 501},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert "at most 500 characters" in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == Status.NEW


def test_board_columns_show_count_and_value_and_the_move_answers_both(web, user, company):
    make_lead(user=user, company=company, status="qualified", deal_value="12000")
    make_lead(user=user, company=company, status="qualified", deal_value="500.50")
    moving = make_lead(user=user, company=company, status="new", deal_value="1000")
    page = web.get("/board/").content.decode()
    assert 'data-testid="value-qualified"' in page
    assert "$12.5K" in page and 'title="$12,500.50"' in page
    answer = web.post(
        "/board/move/",
        {"lead": moving.pk, "status": "lost", "reason": "No budget"},
        HTTP_ACCEPT="application/json",
    ).json()
    assert answer["values"]["lost"] == "$1K"
    assert answer["amounts"]["new"] == "$0.00"
    event = LeadEvent.objects.filter(lead=moving, kind="status").latest("id")
    assert event.changes == {"reason": "No budget"}


def test_dashboard_pipeline_value_won_this_month_and_expected_closes(web, user, company):
    today = timezone.localdate()
    first = today.replace(day=1)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    make_lead(user=user, company=company, status="qualified", deal_value="1000",
              expected_close_date=next_month)  # fmt: skip
    make_lead(user=user, company=company, status="new", deal_value="250.25",
              expected_close_date=first - dt.timedelta(days=3))  # fmt: skip
    make_lead(user=user, company=company, status="contacted", expected_close_date=today)
    won = make_lead(user=user, company=company, status="qualified", deal_value="5000")
    lead_set_status(lead=won, status=Status.CONVERTED, source=Source.UI)
    # Converted before this month: not "won this month".
    old = make_lead(user=user, company=company, deal_value="777")
    lead_set_status(lead=old, status=Status.CONVERTED, source=Source.UI)
    Lead.objects.filter(pk=old.pk).update(status_changed_at=timezone.now() - dt.timedelta(days=40))
    # Lost leads are not expected to close.
    lost = make_lead(user=user, company=company, deal_value="9", expected_close_date=today)
    lead_update(lead=lost, data={"status": "lost"}, source=Source.UI)
    # Someone else's figures never count.
    other = CompanyFactory()
    make_lead(user=other.user, company=other, status="qualified", deal_value="99999")

    context = web.get("/dashboard/").context
    assert context["open_value"] == Decimal("1250.25")
    assert context["won"]["value"] == Decimal("5000") and context["won"]["count"] == 1
    closes = {c["key"]: c for c in context["closes"]}
    assert (closes["overdue"]["count"], closes["overdue"]["value"]) == (1, Decimal("250.25"))
    assert (closes["m0"]["count"], closes["m0"]["value"]) == (1, Decimal("0"))
    assert (closes["m1"]["count"], closes["m1"]["value"]) == (1, Decimal("1000"))
    page = web.get("/dashboard/").content.decode()
    assert "$1,250.25" in page and "$5K" in page
    # The same filters as every other figure.
    filtered = web.get("/dashboard/", {"min_score": 50}).context
    assert filtered["open_value"] == 0 and filtered["won"]["count"] == 0


def test_expected_closes_span_year_ends(user, company):
    make_lead(user=user, company=company, expected_close_date=dt.date(2027, 1, 10), deal_value="1")
    rows = dashboard.lead_expected_closes(
        user=user, filters=LeadFilters(), today=dt.date(2026, 12, 5)
    )
    assert [r["label"] for r in rows] == [
        "Overdue", "Dec 2026", "Jan 2027", "Feb 2027", "Mar 2027", "Apr 2027", "May 2027",
    ]  # fmt: skip
    assert rows[2]["count"] == 1
