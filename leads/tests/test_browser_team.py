"""A team's manager in headless Chromium: the Team page, handing a deactivated member's leads
to a colleague, and the dashboard's per-rep table."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from leads.models import Lead, Role, Status, Team, TeamMembership
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_hands_a_leavers_leads_to_a_colleague(signed_in):
    session = signed_in("mia")
    north = Team.objects.create(name="North")
    TeamMembership.objects.create(user=session.user, team=north, role=Role.MANAGER)
    people = {}
    for name in ("rob", "ria", "dan"):
        people[name] = UserFactory(username=name)
        TeamMembership.objects.create(user=people[name], team=north, role=Role.REP)
    make_lead(user=people["rob"], first_name="Robin", status=Status.CONTACTED)
    globex = CompanyFactory(user=people["dan"], name="Globex", domain="globex.com")
    for i in range(3):
        make_lead(user=people["dan"], company=globex, first_name=f"Dana{i}",
                  email=f"dana{i}@globex.com")  # fmt: skip
    people["dan"].is_active = False
    people["dan"].save()

    page = session.go("/dashboard/")
    page.get_by_test_id("nav-team").click()
    expect(page).to_have_url(re.compile(r"/team/$"))
    expect(page.get_by_role("heading", name="Team North")).to_be_visible()
    for name in ("mia", "rob", "ria", "dan"):
        expect(page.get_by_test_id(f"member-{name}")).to_be_visible()
    dan_row = page.get_by_test_id("member-dan")
    expect(dan_row.get_by_test_id("deactivated")).to_have_text("Deactivated")
    expect(dan_row.get_by_test_id("open-new")).to_have_text("3")
    expect(page.get_by_test_id("member-rob").get_by_test_id("open-contacted")).to_have_text("1")
    session.screenshot("team-page")

    page.get_by_label("Reassign all 3 of dan's leads to…").select_option(label="ria")
    page.get_by_test_id("handover-submit-dan").click()
    expect(page.get_by_test_id("confirm-heading")).to_have_text("Reassign 3 leads of dan to ria?")
    page.get_by_test_id("confirm-reassign").click()
    expect(page).to_have_url(re.compile(r"/team/$"))
    expect(page.get_by_role("status")).to_contain_text("3 leads of dan reassigned to ria.")
    expect(page.get_by_test_id("handovers")).to_have_count(0)  # nothing left to hand over
    expect(page.get_by_test_id("member-dan").get_by_test_id("open-new")).to_have_text("0")
    ria_new = page.get_by_test_id("member-ria").get_by_test_id("open-new")
    expect(ria_new).to_have_text("3")

    # The count opens the list filtered by the new owner: the three leads are there.
    ria_new.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"user_id={people['ria'].pk}&status=new"))
    names = page.locator("td.col-name > a")
    expect(names).to_have_count(3)
    assert sorted(names.all_inner_texts()) == ["Dana0", "Dana1", "Dana2"]
    assert set(
        Lead.objects.filter(first_name__startswith="Dana").values_list("user", flat=True)
    ) == {people["ria"].pk}
    assert session.console_errors == []


def test_a_managers_dashboard_shows_the_per_rep_table(signed_in):
    session = signed_in("max")
    south = Team.objects.create(name="South")
    TeamMembership.objects.create(user=session.user, team=south, role=Role.MANAGER)
    sam = UserFactory(username="sam")
    TeamMembership.objects.create(user=sam, team=south, role=Role.REP)
    make_lead(user=sam, first_name="Sven", score=80)
    make_lead(user=sam, first_name="Sara", score=10, status=Status.CONVERTED)
    make_lead(user=sam, first_name="Saul", status=Status.LOST)
    make_lead(user=session.user, first_name="Mona")

    page = session.go("/dashboard/")
    table = page.get_by_test_id("table-reps")
    expect(table).to_be_visible()
    sam_row = page.get_by_test_id(f"rep-{sam.pk}")
    expect(sam_row.get_by_role("rowheader")).to_have_text("sam")
    expect(sam_row.get_by_test_id("rep-open")).to_have_text("1")
    expect(sam_row.get_by_test_id("rep-converted")).to_have_text("1")
    expect(sam_row.get_by_test_id("rep-rate")).to_have_text("50%")
    expect(page.get_by_test_id(f"rep-{session.user.pk}").get_by_test_id("rep-open")).to_have_text(
        "1"
    )
    session.screenshot("dashboard-per-rep")
    # The dashboard's filters apply to the table: a score from 50 keeps Sven alone.
    sam_row.get_by_role("link", name="sam: their dashboard").click()
    expect(page).to_have_url(re.compile(rf"user_id={sam.pk}"))
    expect(page.get_by_test_id("table-reps").locator("tbody tr")).to_have_count(1)
    page.get_by_label("Score from").fill("50")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"min_score=50"))
    row = page.get_by_test_id(f"rep-{sam.pk}")
    expect(row.get_by_test_id("rep-open")).to_have_text("1")
    expect(row.get_by_test_id("rep-converted")).to_have_text("0")
    expect(row.get_by_test_id("rep-rate")).to_have_text("—")
    assert session.console_errors == []


def test_the_team_page_and_the_per_rep_table_fit_a_phone_screen(signed_in):
    session = signed_in("manager-with-a-long-name")
    team = Team.objects.create(name="East Coast Enterprise Accounts")
    TeamMembership.objects.create(user=session.user, team=team, role=Role.MANAGER)
    leaver = UserFactory(username="a-deactivated-member-with-a-long-name", is_active=False)
    TeamMembership.objects.create(user=leaver, team=team, role=Role.REP)
    make_lead(user=leaver, first_name="Pat", status=Status.QUALIFIED)
    make_lead(user=session.user, first_name="Lee", status=Status.CONVERTED)
    session.page.set_viewport_size({"width": 390, "height": 844})
    for path, name in [("/team/", "phone-team"), ("/dashboard/", "phone-dashboard-per-rep")]:
        page = session.go(path)
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, (path, overflow)
        session.screenshot(name)
    expect(session.page.get_by_test_id("table-reps")).to_be_attached()
    assert session.console_errors == []
