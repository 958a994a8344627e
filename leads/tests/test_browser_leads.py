"""The leads and companies pages end to end in headless Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from leads.models import Lead, LeadEvent, Status
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _real_errors(session) -> list[str]:
    """Console errors, less the 422s a refused form answers with on purpose."""
    return [e for e in session.console_errors if "status of 422" not in e]


def _seed(user) -> list[Lead]:
    acme = CompanyFactory(user=user, name="Acme Corp", domain="acme.com", industry="Software")
    globex = CompanyFactory(user=user, name="Globex", domain="globex.com", country_code="US")
    CompanyFactory(user=user, name="Initech", domain="initech.com")
    people = [
        ("Ann", "Archer", acme, Status.NEW, 72),
        ("Bob", "Baker", acme, Status.CONTACTED, 45),
        ("Cleo", "Cruz", globex, Status.QUALIFIED, 88),
        ("Dev", "Dutta", globex, Status.NEW, 30),
        ("Eve", "Evans", acme, Status.CONVERTED, 95),
        ("Finn", "Ford", globex, Status.LOST, 12),
    ]
    return [
        make_lead(
            user=user,
            company=company,
            first_name=first,
            last_name=last,
            email=f"{first.lower()}@{company.domain}",
            status=status,
            score=score,
            position="Head of Sales",
        )
        for first, last, company, status, score in people
    ]


def test_create_a_lead_with_a_new_company_and_see_it_in_the_list(signed_in):
    session = signed_in("rep")
    page = session.go("/leads/")
    expect(page.get_by_test_id("empty-state")).to_contain_text("No leads yet")
    page.get_by_role("button", name="Create your first lead").click()
    expect(page.get_by_role("heading", name="New lead")).to_be_visible()
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("New company name").fill("Analytical Engines")
    page.get_by_label("New company domain").fill("engines.io")
    page.get_by_label("Score").fill("40")
    page.get_by_test_id("create-lead").click()
    # The server refuses the email, keeps everything typed, and says why next to the field.
    expect(page.locator("#id_email_error")).to_contain_text("valid email")
    expect(page.get_by_label("New company name")).to_have_value("Analytical Engines")
    session.screenshot("lead-create")
    page.get_by_label("Email").fill("ada@engines.io")
    page.get_by_test_id("create-lead").click()
    expect(page.get_by_test_id("lead-name")).to_have_text("Ada Lovelace")
    expect(page.get_by_role("link", name="Analytical Engines", exact=True)).to_be_visible()
    page.get_by_role("link", name="Leads", exact=True).first.click()
    table = page.get_by_test_id("leads-table")
    expect(table).to_contain_text("Ada Lovelace")
    expect(table).to_contain_text("Analytical Engines")
    assert _real_errors(session) == []


def test_filters_live_in_the_url_survive_reload_and_back(signed_in):
    session = signed_in("rep")
    _seed(session.user)
    page = session.go("/leads/")
    table = page.get_by_test_id("leads-table")
    expect(table.locator("tbody tr")).to_have_count(6)
    session.screenshot("leads-list")
    page.set_viewport_size({"width": 390, "height": 844})
    session.screenshot("leads-list-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.get_by_label("Company", exact=True).select_option(label="Globex (globex.com)")
    page.get_by_label("Minimum score").fill("20")
    page.get_by_test_id("apply-filters").click()
    page.wait_for_url(re.compile(r"company_id=\d+"))
    assert "min_score=20" in page.url and "status=" not in page.url  # blanks left out
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("Cleo Cruz")
    expect(table).to_contain_text("Dev Dutta")

    filtered_url = page.url
    page.reload()
    expect(page.get_by_label("Minimum score")).to_have_value("20")
    expect(page.get_by_label("Company", exact=True)).to_have_value(re.compile(r"\d+"))
    expect(table.locator("tbody tr")).to_have_count(2)

    # Sorting keeps the filters.
    page.get_by_test_id("sort-created").click()
    page.wait_for_url(re.compile(r"order=oldest"))
    assert "min_score=20" in page.url
    expect(table.locator("tbody tr").first).to_contain_text("Cleo Cruz")

    page.go_back()
    page.wait_for_url(filtered_url)
    expect(table.locator("tbody tr").first).to_contain_text("Dev Dutta")
    page.go_back()
    expect(table.locator("tbody tr")).to_have_count(6)

    # A filter that matches nothing says so and offers the way out.
    page.get_by_label("Status", exact=True).select_option("lost")
    page.get_by_label("Search").fill("ann")
    page.get_by_test_id("apply-filters").click()
    expect(page.get_by_test_id("empty-state")).to_contain_text("No leads match these filters")
    page.get_by_test_id("empty-state").get_by_role("link", name="Clear filters").click()
    expect(table.locator("tbody tr")).to_have_count(6)

    # An invalid filter is named next to its field.
    page.get_by_label("Minimum score").fill("150")
    page.get_by_test_id("apply-filters").click()
    expect(page.locator("#f-min-score-error")).to_be_visible()
    assert _real_errors(session) == []


def test_bulk_status_change_shows_in_the_history(signed_in):
    session = signed_in("rep")
    leads = _seed(session.user)
    ann, dev = leads[0], leads[3]
    page = session.go("/leads/?status=new")
    expect(page.get_by_test_id("leads-table").locator("tbody tr")).to_have_count(2)
    page.get_by_label("Select all leads on this page").check()
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    page.get_by_label("New status for the selected leads").select_option("contacted")
    page.get_by_test_id("bulk-status").click()
    expect(page.get_by_role("status")).to_contain_text("2 leads moved to Contacted.")
    # The filter is kept: no "new" leads are left.
    assert "status=new" in page.url
    expect(page.get_by_test_id("empty-state")).to_be_visible()

    session.go(f"/leads/{ann.pk}/")
    entry = page.get_by_test_id("history-entry").first
    expect(entry).to_contain_text("New")
    expect(entry).to_contain_text("Contacted")
    expect(entry).to_contain_text("Web UI")
    expect(entry).to_have_attribute("data-source", "ui")
    # The status control writes history too, and the timeline updates in place.
    page.get_by_test_id("status-qualified").click()
    expect(page.get_by_test_id("status-qualified")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("history-entry")).to_have_count(3)
    expect(page.locator("#head-status")).to_have_text("Qualified")
    session.screenshot("lead-page")
    assert set(
        LeadEvent.objects.filter(lead_id__in=[ann.pk, dev.pk], to_status="contacted").values_list(
            "source", flat=True
        )
    ) == {"ui"}
    assert _real_errors(session) == []


def test_inline_edit_shows_the_error_then_saves_the_fix(signed_in):
    session = signed_in("rep")
    lead = _seed(session.user)[0]
    page = session.go(f"/leads/{lead.pk}/")
    page.get_by_test_id("edit-score").click()
    score = page.locator("#field-score input[name=score]")
    expect(score).to_be_focused()
    session.htmx_settled()
    score.fill("150")
    score.press("Enter")
    expect(page.locator("#field-score .error")).to_contain_text("less than or equal to 100")
    expect(score).to_have_value("150")
    score.fill("55")
    page.get_by_test_id("save-score").click()
    expect(page.get_by_test_id("edit-score")).to_contain_text("55")
    expect(page.get_by_test_id("edit-score")).to_be_focused()

    page.get_by_test_id("edit-email").click()
    session.htmx_settled()
    email = page.locator("#field-email input[name=email]")
    email.fill("broken@")
    email.press("Enter")
    expect(page.locator("#field-email .error")).to_contain_text("valid email")
    email.press("Escape")  # cancel: the old value is back, unchanged
    expect(page.get_by_test_id("open-email")).to_contain_text("ann@acme.com")
    expect(page.get_by_test_id("edit-email")).to_be_focused()  # back on its edit button

    # The page head follows a saved name or position without a reload.
    page.get_by_test_id("edit-first_name").click()
    session.htmx_settled()
    page.locator("#field-first_name input[name=first_name]").fill("Annie")
    page.get_by_test_id("save-first_name").click()
    expect(page.get_by_test_id("lead-name")).to_have_text("Annie Archer")
    page.get_by_test_id("edit-position").click()
    session.htmx_settled()
    page.locator("#field-position input[name=position]").fill("CFO")
    page.get_by_test_id("save-position").click()
    expect(page.locator("#head-role")).to_have_text("CFO at Acme Corp")

    lead.refresh_from_db()
    assert lead.score == 55 and lead.score_is_manual and lead.email == "ann@acme.com"
    assert _real_errors(session) == []


def test_delete_a_lead_with_confirmation(signed_in):
    session = signed_in("rep")
    leads = _seed(session.user)
    page = session.go(f"/leads/{leads[1].pk}/")
    page.get_by_test_id("delete-lead").click()
    expect(page.get_by_role("heading", name="Delete this lead?")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_test_id("lead-name")).to_have_text("Bob Baker")
    page.get_by_test_id("delete-lead").click()
    page.get_by_test_id("confirm-delete").click()
    expect(page.get_by_role("status")).to_contain_text("Lead “Bob Baker” deleted.")
    table = page.get_by_test_id("leads-table")
    expect(table.locator("tbody tr")).to_have_count(5)
    expect(table).not_to_contain_text("Bob Baker")

    # Bulk delete asks first too.
    page.get_by_label("Select Ann Archer").check()
    page.get_by_label("Select Dev Dutta").check()
    page.get_by_test_id("bulk-delete").click()
    expect(page.get_by_role("heading", name="Delete 2 leads?")).to_be_visible()
    page.get_by_test_id("confirm-delete").click()
    expect(table.locator("tbody tr")).to_have_count(3)
    assert not Lead.objects.filter(pk__in=[leads[0].pk, leads[1].pk, leads[3].pk]).exists()


def test_companies_pages_and_refused_delete(signed_in):
    session = signed_in("rep")
    _seed(session.user)
    page = session.go("/companies/")
    table = page.get_by_test_id("companies-table")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(page.get_by_role("link", name="3 leads at Acme Corp")).to_be_visible()
    session.screenshot("companies")
    page.get_by_role("link", name="Acme Corp", exact=True).click()
    expect(page.get_by_test_id("company-leads").locator("tbody tr")).to_have_count(3)
    form = page.get_by_test_id("company-form")
    form.get_by_label("Domain").fill("not a domain")
    page.get_by_test_id("save-company").click()
    expect(page.locator("#id_domain_error")).to_contain_text("Enter a domain such as acme.com.")
    form.get_by_label("Domain").fill("acme.io")
    form.get_by_label("Name").fill("Acme Inc")
    page.get_by_test_id("save-company").click()
    expect(page.get_by_test_id("company-name")).to_have_text("Acme Inc")
    page.get_by_test_id("delete-company").click()
    expect(page.get_by_test_id("company-has-leads")).to_contain_text("still has 3 leads")
    # Initech has no leads: it can go.
    session.go("/companies/")
    page.get_by_role("link", name="Initech").click()
    page.get_by_test_id("delete-company").click()
    page.get_by_test_id("confirm-delete").click()
    expect(page.get_by_role("status")).to_contain_text("Company “Initech” deleted.")
    expect(table.locator("tbody tr")).to_have_count(2)
    assert _real_errors(session) == []


def test_a_second_user_sees_nothing_of_the_first(signed_in):
    first = signed_in("alice")
    leads = _seed(first.user)
    second = signed_in("bob")
    page = second.go("/leads/")
    expect(page.get_by_test_id("empty-state")).to_contain_text("No leads yet")
    expect(page.get_by_label("Company", exact=True).locator("option")).to_have_count(1)
    page = second.go("/companies/")
    expect(page.get_by_test_id("empty-state")).to_contain_text("No companies yet")
    response = page.goto(f"{second.base}/leads/{leads[0].pk}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    response = page.goto(f"{second.base}/companies/{leads[0].company_id}/")
    assert response is not None and response.status == 404
    # The first user still sees their own.
    page = first.go(f"/leads/{leads[0].pk}/")
    expect(page.get_by_test_id("lead-name")).to_have_text("Ann Archer")


def test_pick_a_company_beyond_the_list_by_typing(signed_in, monkeypatch):
    from leads import page_selectors

    monkeypatch.setattr(page_selectors, "COMPANY_CHOICES_LIMIT", 2)
    session = signed_in("rep")
    for name in ("Alpha", "Beta", "Gamma", "Zeta Works"):
        CompanyFactory(user=session.user, name=name, domain="")
    lead = make_lead(user=session.user, company=CompanyFactory(user=session.user, name="Aaron"))
    page = session.go("/leads/new/")
    select = page.get_by_label("Company", exact=True)
    expect(select.locator("option", has_text="Zeta Works")).to_have_count(0)
    page.get_by_label("Find a company by name or domain").fill("zeta")
    # "Choose a company…", "+ New company…" and Zeta Works
    expect(select.locator("option")).to_have_count(3)
    select.select_option(label="Zeta Works")
    expect(page.get_by_label("New company name")).to_be_hidden()
    page.get_by_label("Email").fill("zed@zeta.example")
    page.get_by_test_id("create-lead").click()
    expect(page.get_by_role("heading", name="zed@zeta.example")).to_be_visible()
    created = Lead.objects.get(email="zed@zeta.example")
    assert created.company.name == "Zeta Works"

    # The lead page's inline company edit searches the same way.
    page = session.go(f"/leads/{lead.pk}/")
    page.get_by_test_id("edit-company").click()
    # The swapped-in search box answers typing only once htmx has settled the swap: the
    # select's autofocus can come earlier, so it is no sign of that.
    expect(page.locator("#field-company select")).to_be_focused()
    session.htmx_settled()
    page.get_by_label("Find a company by name or domain").fill("gam")
    page.locator("#field-company select").select_option(label="Gamma")
    page.get_by_test_id("save-company").click()
    expect(page.get_by_test_id("edit-company")).to_contain_text("Gamma")
    expect(page.locator("#head-role")).to_have_text("Gamma")
    lead.refresh_from_db()
    assert lead.company.name == "Gamma"
    assert session.console_errors == []
    session.screenshot("company-picker")


def test_search_by_full_name_without_accents(signed_in):
    """Issue 15 item 1: "Alice Martin" found nothing; "emilie" must find Émilie."""
    session = signed_in("rep")
    acme = CompanyFactory(user=session.user, name="Acme Corp", domain="acme.com")
    make_lead(user=session.user, company=acme, first_name="Alice", last_name="Martin")
    make_lead(user=session.user, company=acme, first_name="Émilie", last_name="Dupré")
    page = session.go("/leads/")
    table = page.get_by_test_id("leads-table")
    page.get_by_label("Search").fill("Alice Martin")
    page.get_by_test_id("apply-filters").click()
    page.wait_for_url(re.compile(r"q=Alice"))
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Alice Martin")
    page.get_by_label("Search").fill("emilie dupre")
    page.get_by_test_id("apply-filters").click()
    page.wait_for_url(re.compile(r"q=emilie"))
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Émilie Dupré")
    page = session.go("/board/")
    page.get_by_label("Search").fill("Alice Martin")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"q=Alice"))
    expect(page.locator(".board-card")).to_have_count(1)
    expect(page.get_by_text("Alice Martin", exact=True)).to_be_visible()
    assert _real_errors(session) == []
