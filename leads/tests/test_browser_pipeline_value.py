"""Pipeline value in a real browser: a card dragged to Lost asks why, the columns show their
value, the lead page edits the deal, and the dashboard adds it up (issue 15 item 8)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leads.models import Lead, LeadEvent, Status
from leads.tests.factories import CompanyFactory, make_lead
from leads.tests.test_browser_board import _column, _count, _drag

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def rep(signed_in):
    session = signed_in("vera")
    company = CompanyFactory(user=session.user, name="Initech")
    return session, company


def test_drag_to_lost_asks_why_and_the_column_values_follow(rep):
    session, company = rep
    user = session.user
    ada = make_lead(user=user, company=company, first_name="Ada", last_name="King",
                    status=Status.QUALIFIED, deal_value="12000")  # fmt: skip
    make_lead(user=user, company=company, first_name="Bo", status=Status.QUALIFIED,
              deal_value="500")  # fmt: skip
    page = session.go("/board/")
    expect(page.get_by_test_id("value-qualified")).to_contain_text("$12.5K")
    expect(page.get_by_test_id(f"card-value-{ada.pk}")).to_have_text(re.compile(r"\$12,000\.00"))
    _drag(
        page, page.get_by_test_id(f"card-{ada.pk}"), _column(page, "lost").locator(".board-cards")
    )
    dialog = page.get_by_test_id("lost-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Ada King")
    # Cancel puts the card back and saves nothing.
    dialog.get_by_role("button", name="Cancel").click()
    expect(_column(page, "qualified").get_by_test_id(f"card-{ada.pk}")).to_be_visible()
    assert Lead.objects.get(pk=ada.pk).status == Status.QUALIFIED
    _drag(
        page, page.get_by_test_id(f"card-{ada.pk}"), _column(page, "lost").locator(".board-cards")
    )
    page.get_by_label("Why was it lost?").fill("Chose a competitor")
    with page.expect_response(re.compile(r"/board/move/")) as answer:
        page.get_by_role("button", name="Mark as lost").click()
    assert answer.value.status == 200
    expect(_column(page, "lost").get_by_test_id(f"card-{ada.pk}")).to_be_visible()
    expect(_count(page, "lost")).to_have_text("1")
    expect(page.get_by_test_id("value-lost")).to_contain_text("$12K")
    expect(page.get_by_test_id("value-qualified")).to_contain_text("$500")
    event = LeadEvent.objects.filter(lead=ada, kind="status").latest("id")
    assert (event.to_status, event.changes) == ("lost", {"reason": "Chose a competitor"})
    assert session.console_errors == []


def test_lead_page_edits_the_deal_and_asks_why_when_lost(rep):
    session, company = rep
    lead = make_lead(user=session.user, company=company, first_name="Cy", last_name="Young")
    page = session.go(f"/leads/{lead.pk}/")
    page.get_by_test_id("edit-deal_value").click()
    page.get_by_label("Deal value (USD)").fill("-4")
    page.get_by_test_id("save-deal_value").click()
    expect(page.locator("#field-deal_value")).to_contain_text("greater than or equal to 0")
    page.get_by_label("Deal value (USD)").fill("4200.5")
    page.get_by_test_id("save-deal_value").click()
    expect(page.locator("#field-deal_value")).to_contain_text("$4,200.50")
    page.get_by_test_id("edit-expected_close_date").click()
    page.get_by_label("Expected close date").fill("2027-04-30")
    page.get_by_test_id("save-expected_close_date").click()
    expect(page.locator("#field-expected_close_date")).to_contain_text("30 Apr 2027")
    page.get_by_test_id("status-lost").click()
    page.get_by_test_id("lost-reason").fill("No budget this year")
    page.get_by_test_id("confirm-lost").click()
    expect(page.locator("#head-status")).to_have_text("Lost")
    expect(page.get_by_test_id("history-reason").first).to_have_text("Reason: No budget this year")
    lead.refresh_from_db()
    assert (lead.status, lead.deal_value) == (Status.LOST, Decimal("4200.50"))
    assert lead.expected_close_date == dt.date(2027, 4, 30)
    assert session.console_errors == []


def test_dashboard_shows_pipeline_value_won_and_expected_closes(rep):
    session, company = rep
    user = session.user
    first = timezone.localdate().replace(day=1)
    make_lead(user=user, company=company, status=Status.QUALIFIED, deal_value="3000",
              expected_close_date=first + dt.timedelta(days=40))  # fmt: skip
    make_lead(user=user, company=company, status=Status.CONTACTED, deal_value="1000.50",
              expected_close_date=first - dt.timedelta(days=1))  # fmt: skip
    won = make_lead(user=user, company=company, status=Status.QUALIFIED, deal_value="8000")
    lead_page = session.go(f"/leads/{won.pk}/")
    lead_page.get_by_test_id("status-converted").click()
    # The status is saved once the page says so (htmx): only then open the dashboard.
    expect(lead_page.locator("#head-status")).to_have_text("Converted")
    page = session.go("/dashboard/")
    expect(page.get_by_test_id("kpi-pipeline")).to_contain_text("$4K")
    expect(page.get_by_test_id("kpi-pipeline")).to_contain_text("2 open leads")
    expect(page.get_by_test_id("kpi-won")).to_contain_text("$8K")
    expect(page.get_by_test_id("kpi-won")).to_contain_text("1 converted")
    expect(page.get_by_test_id("close-overdue")).to_contain_text("$1,000.50")
    expect(page.get_by_test_id("close-m1")).to_contain_text("$3,000.00")
    assert session.console_errors == []
