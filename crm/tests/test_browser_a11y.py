"""An accessibility audit of every main page in Chromium: names, contrast, focus, structure.

The checks run in the page itself (computed styles, not the source), so a stylesheet that
makes a label invisible or a focus ring disappear fails here. Thresholds are WCAG 2.1 AA:
text contrast 4.5:1, large text 3:1, and a visible indicator on whatever has the focus.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from csvimport.services import csv_import_create
from integrations.services import integration_create
from leads.models import LeadBulkJob, Role, Source, Status, Team, TeamMembership
from leads.services import lead_set_status
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HERE = Path(__file__).resolve().parent / "a11y"
AUDIT = (HERE / "audit.js").read_text()
FOCUS_RING = (HERE / "focus_ring.js").read_text()


def _seed(user) -> dict[str, int]:
    company = CompanyFactory(user=user, name="Globex", domain="globex.com")
    lead = make_lead(user=user, company=company, first_name="Pat", last_name="Lee",
                     email="pat@globex.com", score=72, notes="Met at the fair.")  # fmt: skip
    for i, status in enumerate([Status.NEW, Status.CONTACTED, Status.QUALIFIED, Status.LOST]):
        make_lead(user=user, company=company, first_name=f"Lead{i}", score=10 * i, status=status)
    lead_set_status(lead=lead, status=Status.CONTACTED, source=Source.UI)
    integration_create(user=user, provider="hunter", credentials={"api_key": "k" * 40}, settings={})
    # A CSV preview with every chooser: status values (one unknown), dates that read either way.
    csv_import = csv_import_create(
        user=user,
        filename="hubspot.csv",
        raw=(
            b"Email,First Name,Lead Status,Create Date\n"
            b"a@x.io,Ann,Open,03/04/2024\nb@x.io,Bo,VIP,05/06/2024\nc@,Cy,Open Deal,\n"
        ),
    )
    job = LeadBulkJob.objects.create(
        user=user, action="status", to_status="lost", total=4000, processed=1500, changed=1400
    )
    # The user manages a team with a rep: the owner filter, the Owner panel with "Assign to…"
    # and the bulk Assign are on the pages audited, with a lead of the rep's among them.
    team = Team.objects.create(name="Audit")
    rep = UserFactory(username="audit-rep")
    TeamMembership.objects.create(user=user, team=team, role=Role.MANAGER)
    TeamMembership.objects.create(user=rep, team=team, role=Role.REP)
    make_lead(user=rep, company=CompanyFactory(user=rep, name="Initech"), first_name="Rae")
    # A deactivated member with a lead: the Team page offers its hand-over form.
    leaver = UserFactory(username="audit-leaver", is_active=False)
    TeamMembership.objects.create(user=leaver, team=team, role=Role.REP)
    make_lead(user=leaver, company=CompanyFactory(user=leaver, name="Umbrella"), first_name="Lee")
    return {"lead": lead.pk, "company": company.pk, "csv_import": csv_import.pk, "job": job.pk}


def _pages(ids: dict[str, int]) -> list[str]:
    return [
        "/board/",
        "/leads/",
        f"/leads/{ids['lead']}/",
        "/leads/new/",
        "/companies/",
        f"/companies/{ids['company']}/",
        "/dashboard/",
        "/integrations/",
        "/leads/import/",
        f"/leads/import/{ids['csv_import']}/",
        "/settings/tokens/",
        f"/leads/bulk/jobs/{ids['job']}/",
        "/team/",
    ]


def test_every_page_passes_the_audit(signed_in):
    session = signed_in("a11y")
    ids = _seed(session.user)
    failures = {}
    for path in _pages(ids):
        page = session.go(path)
        page.wait_for_load_state("networkidle")
        problems = page.evaluate(AUDIT)
        if problems:
            failures[path] = problems
    assert failures == {}
    assert session.console_errors == []


def test_keyboard_focus_is_always_visible_and_moves_down_the_page(signed_in):
    session = signed_in("keys")
    ids = _seed(session.user)
    failures = {}
    # Pico eases focus rings in over 0.2 s; with reduced motion they are there at once to measure.
    session.page.emulate_media(reduced_motion="reduce")
    for path in _pages(ids):
        page = session.go(path)
        page.wait_for_load_state("networkidle")
        hidden, steps = [], []
        for _ in range(25):
            page.keyboard.press("Tab")
            focus = page.evaluate(FOCUS_RING)
            if focus is None:
                break
            steps.append(focus)
            if not focus["visible"]:
                hidden.append(f"{focus['element']} ({focus['ring']})")
        if hidden:
            failures[path] = hidden
        # The first Tab reaches the skip link, so a keyboard user can jump past the navigation.
        assert steps and "Skip to content" in steps[0]["element"], (path, steps[:1])
    assert failures == {}


def test_the_lead_list_controls_pass_the_audit_open(signed_in, monkeypatch):
    """The list's column chooser opened, "select all N matching" shown and taken, and the
    confirmation of a delete of every matching lead."""
    from leads.pages import leads as views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    session = signed_in("a11y-list")
    _seed(session.user)
    page = session.go("/leads/?min_score=0")
    page.wait_for_load_state("networkidle")
    page.get_by_text("Columns", exact=True).click()
    page.locator("#select-all").check()
    page.get_by_test_id("select-matching").wait_for()
    assert page.evaluate(AUDIT) == []
    page.get_by_test_id("select-all-matching").click()
    assert page.evaluate(AUDIT) == []
    page.get_by_test_id("bulk-delete").click()
    page.get_by_test_id("confirm-heading").wait_for()
    assert page.evaluate(AUDIT) == []
    assert session.console_errors == []


def test_the_team_handover_passes_the_audit(signed_in):
    """The Team page's hand-over: the confirmation, then the page with its message."""
    session = signed_in("a11y-team")
    _seed(session.user)
    page = session.go("/team/")
    page.wait_for_load_state("networkidle")
    page.get_by_label("Reassign audit-leaver's lead to…").select_option(label="audit-rep")
    page.get_by_test_id("handover-submit-audit-leaver").click()
    page.get_by_test_id("confirm-heading").wait_for()
    assert page.evaluate(AUDIT) == []
    page.get_by_test_id("confirm-reassign").click()
    page.get_by_role("status").wait_for()
    assert page.evaluate(AUDIT) == []
    assert session.console_errors == []


def test_the_audit_catches_what_it_looks_for(signed_in):
    """The audit is not vacuous: planted faults are each reported."""
    session = signed_in("audit")
    page = session.go("/leads/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate(AUDIT) == []
    page.evaluate(
        """() => {
          const main = document.querySelector("main");
          const faint = document.createElement("p");
          faint.textContent = "Faint text";
          faint.style.color = "#bbbbbb";
          const input = document.createElement("input");
          input.id = "unnamed";
          const img = document.createElement("img");
          img.src = "/static/favicon.svg";
          main.append(faint, input, img);
        }"""
    )
    problems = page.evaluate(AUDIT)
    assert any(p.startswith("contrast 1.9") and "Faint text" in p for p in problems), problems
    assert any("no accessible name: input#unnamed" in p for p in problems), problems
    assert any(p.startswith("img without alt") for p in problems), problems
