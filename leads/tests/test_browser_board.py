"""The pipeline board and the dashboard in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from leads.models import Lead, LeadEvent, Source, Status
from leads.services import lead_set_status
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _column(page, status: str):
    return page.get_by_test_id(f"column-{status}")


def _count(page, status: str):
    return page.get_by_test_id(f"count-{status}")


def _drag(page, card, target_list) -> None:
    """Drag with real mouse moves, in small steps, as a person would."""
    card.scroll_into_view_if_needed()
    box = card.bounding_box()
    target = target_list.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 12)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 10, box["y"] + 20, steps=5)
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + 30, steps=15)
    page.mouse.up()


@pytest.fixture
def rep(signed_in):
    session = signed_in("rita")
    company = CompanyFactory(user=session.user, name="Initech")
    return session, company


def test_drag_a_card_from_new_to_qualified(rep):
    session, company = rep
    user = session.user
    ada = make_lead(user=user, company=company, first_name="Ada", last_name="King", score=81)
    make_lead(user=user, company=company, first_name="Bea", last_name="Stone")
    make_lead(user=user, company=company, first_name="Cal", status=Status.QUALIFIED)
    page = session.go("/board/")
    expect(_count(page, "new")).to_have_text("2")
    expect(_count(page, "qualified")).to_have_text("1")
    card = page.get_by_test_id(f"card-{ada.pk}")
    with page.expect_response(re.compile(r"/board/move/")) as answer:
        _drag(page, card, _column(page, "qualified").locator(".board-cards"))
    assert answer.value.status == 200
    expect(_column(page, "qualified").get_by_test_id(f"card-{ada.pk}")).to_be_visible()
    expect(_count(page, "new")).to_have_text("1")
    expect(_count(page, "qualified")).to_have_text("2")
    page.reload()
    expect(_column(page, "qualified").get_by_test_id(f"card-{ada.pk}")).to_be_visible()
    expect(_count(page, "qualified")).to_have_text("2")
    session.screenshot("board")
    event = LeadEvent.objects.filter(lead=ada).latest("id")
    assert (event.from_status, event.to_status, event.source) == ("new", "qualified", Source.UI)
    assert session.console_errors == []


def test_move_with_the_keyboard_menu(rep):
    session, company = rep
    lead = make_lead(user=session.user, company=company, first_name="Kim", last_name="Key")
    page = session.go("/board/")
    menu = page.get_by_label("Move Kim Key to…")
    menu.focus()
    menu.select_option("contacted")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Move Kim Key")).to_be_focused()
    with page.expect_response(re.compile(r"/board/move/")):
        page.keyboard.press("Enter")
    expect(_column(page, "contacted").get_by_test_id(f"card-{lead.pk}")).to_be_visible()
    expect(_count(page, "contacted")).to_have_text("1")
    expect(_count(page, "new")).to_have_text("0")
    expect(page.locator("#toast")).to_contain_text("moved to Contacted")
    lead.refresh_from_db()
    assert lead.status == Status.CONTACTED
    assert LeadEvent.objects.filter(lead=lead).latest("id").source == Source.UI


def test_a_failed_move_puts_the_card_back_and_says_so(rep):
    session, company = rep
    lead = make_lead(user=session.user, company=company, first_name="Fay", last_name="Fail")
    page = session.go("/board/")
    page.route(re.compile(r".*/board/move/.*"), lambda route: route.fulfill(status=500, body="no"))
    card = page.get_by_test_id(f"card-{lead.pk}")
    with page.expect_response(re.compile(r"/board/move/")):
        _drag(page, card, _column(page, "qualified").locator(".board-cards"))
    expect(page.locator("#toast")).to_contain_text("Could not move “Fay Fail”")
    expect(_column(page, "new").get_by_test_id(f"card-{lead.pk}")).to_be_visible()
    expect(_column(page, "qualified").locator(".board-card")).to_have_count(0)
    expect(_count(page, "new")).to_have_text("1")
    expect(page.get_by_label("Move Fay Fail to…")).to_have_value("new")
    lead.refresh_from_db()
    assert lead.status == Status.NEW


def test_scrolling_a_column_loads_more_cards(rep):
    session, company = rep
    for i in range(30):
        make_lead(user=session.user, company=company, first_name=f"Lead{i:02d}", status="lost")
    page = session.go("/board/")
    cards = _column(page, "lost").locator(".board-card")
    expect(cards).to_have_count(25)
    expect(_count(page, "lost")).to_have_text("30")
    with page.expect_response(re.compile(r"/board/column/lost/\?cursor=")):
        cards.nth(24).scroll_into_view_if_needed()
    expect(cards).to_have_count(30)
    expect(_column(page, "lost").get_by_text("Lead00", exact=True)).to_be_visible()
    expect(_column(page, "lost").locator(".board-more")).to_have_count(0)


def test_filter_the_board_by_search(rep):
    session, company = rep
    make_lead(user=session.user, company=company, first_name="Grace", last_name="Hopper")
    make_lead(user=session.user, company=company, first_name="Linus", status="contacted")
    page = session.go("/board/")
    page.get_by_label("Search").fill("hopp")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"q=hopp"))
    expect(page.locator(".board-card")).to_have_count(1)
    expect(page.get_by_text("Grace Hopper", exact=True)).to_be_visible()
    expect(_count(page, "contacted")).to_have_text("0")
    # The browser refuses 200 in the number field, so a hand-edited URL brings it in.
    page = session.go("/board/?q=hopp&min_score=200")
    expect(page.locator("#f-min-error")).to_be_visible()
    expect(page.get_by_label("Score from")).to_have_attribute("aria-invalid", "true")


def test_dashboard_charts_and_figures(rep):
    session, company = rep
    user = session.user
    leads = [
        make_lead(user=user, company=company, first_name=name, score=score)
        for name, score in (("Ann", 5), ("Ben", 45), ("Cat", 95), ("Dan", 97))
    ]
    lead_set_status(lead=leads[0], status=Status.CONVERTED, source=Source.UI)
    lead_set_status(lead=leads[1], status=Status.LOST, source=Source.UI)
    lead_set_status(lead=leads[2], status=Status.CONVERTED, source=Source.UI)
    lead_set_status(lead=leads[3], status=Status.QUALIFIED, source=Source.UI)
    page = session.go("/dashboard/")
    expect(page.locator("canvas")).to_have_count(4)
    page.wait_for_function(
        "() => [...document.querySelectorAll('canvas')].every(c => window.Chart.getChart(c))"
    )
    expect(page.get_by_test_id("kpi-total")).to_contain_text("4")
    expect(page.get_by_test_id("kpi-conversion")).to_contain_text("67%")
    expect(page.get_by_test_id("kpi-conversion")).to_contain_text("2 converted of 3 closed")
    funnel = page.get_by_test_id("table-funnel")
    expect(funnel.locator("tr", has_text="Converted")).to_contain_text("2")
    expect(funnel.locator("tr", has_text="Qualified")).to_contain_text("1")
    scores = page.get_by_test_id("table-scores")
    expect(scores.locator("tr", has_text="90-100")).to_contain_text("2")
    expect(page.get_by_test_id("activity").locator("li")).to_have_count(8)
    expect(page.get_by_test_id("activity").locator("li").first).to_contain_text("Dan")
    session.screenshot("dashboard")
    assert session.console_errors == []


def test_another_user_sees_none_of_it(signed_in):
    first = signed_in("owner")
    make_lead(user=first.user, first_name="Secret", last_name="Lead", status="qualified")
    second = signed_in("stranger")
    page = second.go("/board/")
    expect(_count(page, "qualified")).to_have_text("0")
    expect(page.get_by_text("Secret Lead")).to_have_count(0)
    page = second.go("/dashboard/")
    expect(page.get_by_test_id("kpi-total")).to_contain_text("0")
    expect(page.get_by_text("Secret")).to_have_count(0)
    assert Lead.objects.filter(user=second.user).count() == 0
