"""The leads list in headless Chromium: match count, pages both ways, columns, company
pickers, select all N matching (inline and as a background job)."""

from __future__ import annotations

import re

import pytest
from celery.contrib.testing.worker import start_worker
from playwright.sync_api import expect

from crm.celery import app as celery_app
from leads import tasks  # noqa: F401  (registers the task with the in-process worker)
from leads.models import Lead, LeadBulkJob, LeadEvent, Status
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def small_pages(monkeypatch):
    from leads.pages import leads as views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)


@pytest.fixture
def worker():
    # The broker is set for the whole test process by the root conftest.
    with start_worker(
        celery_app, pool="threads", concurrency=1, perform_ping_check=False, shutdown_timeout=30
    ):
        yield


def _people(user, n: int, company=None, **data) -> list[Lead]:
    company = company or CompanyFactory(user=user, name="Acme", domain="acme.com")
    return [
        make_lead(user=user, company=company, first_name=f"P{i}", email=f"p{i}@acme.com", **data)
        for i in range(n)
    ]


def _names(page) -> list[str]:
    return page.locator("td.col-name > a").all_inner_texts()


def test_the_list_says_how_many_leads_match(signed_in):
    session = signed_in("rep")
    _people(session.user, 3)
    make_lead(user=session.user, email="lost@x.com", status=Status.LOST)
    page = session.go("/leads/")
    expect(page.get_by_test_id("match-count")).to_have_text("4 leads")
    page.locator("#f-status").select_option("lost")
    page.get_by_test_id("apply-filters").click()
    expect(page.get_by_test_id("match-count")).to_have_text("1 lead matches these filters")
    assert session.console_errors == []


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_previous_and_next_pages(signed_in, small_pages, order):
    session = signed_in("rep")
    _people(session.user, 5)
    page = session.go(f"/leads/?order={order}")
    pages = (
        [["P4", "P3"], ["P2", "P1"], ["P0"]]
        if order == "newest"
        else [["P0", "P1"], ["P2", "P3"], ["P4"]]
    )
    expect(page.get_by_test_id("prev-page")).to_have_count(0)
    assert _names(page) == pages[0]
    page.get_by_test_id("next-page").click()
    expect(page.locator("td.col-name > a").first).to_have_text(pages[1][0])
    page.get_by_test_id("next-page").click()
    expect(page.locator("td.col-name > a").first).to_have_text(pages[2][0])
    expect(page.get_by_test_id("next-page")).to_have_count(0)
    page.get_by_test_id("prev-page").click()
    expect(page.locator("td.col-name > a").first).to_have_text(pages[1][0])
    assert _names(page) == pages[1]
    page.get_by_test_id("prev-page").click()
    expect(page.locator("td.col-name > a").first).to_have_text(pages[0][0])
    assert _names(page) == pages[0]
    expect(page.get_by_test_id("prev-page")).to_have_count(0)
    page.get_by_test_id("next-page").click()
    page.get_by_test_id("first-page").click()
    expect(page.locator("td.col-name > a").first).to_have_text(pages[0][0])
    assert session.console_errors == []


def test_column_chooser_is_remembered(signed_in):
    session = signed_in("rep")
    _people(session.user, 2, phone="+1 555 0100")
    page = session.go("/leads/")
    table = page.get_by_test_id("leads-table")
    expect(table.get_by_role("columnheader", name="Phone")).to_have_count(0)
    page.get_by_text("Columns", exact=True).click()
    chooser = page.get_by_test_id("column-chooser")
    chooser.get_by_label("Phone").check()
    chooser.get_by_label("Value").check()
    chooser.get_by_label("Created").uncheck()
    session.screenshot("lead-list-columns")
    page.get_by_test_id("save-columns").click()
    expect(page.get_by_role("status")).to_contain_text("Columns saved: Phone, Score, Value.")
    expect(table.get_by_role("columnheader", name="Phone")).to_be_visible()
    expect(table.get_by_role("columnheader", name="Value")).to_be_visible()
    expect(table).to_contain_text("+1 555 0100")
    expect(table).to_contain_text("—")  # no deal value yet
    # Another visit, another page of the app in between: the choice stays.
    page = session.go("/board/")
    page = session.go("/leads/")
    expect(table.get_by_role("columnheader", name="Phone")).to_be_visible()
    expect(table.get_by_role("columnheader", name="Created")).to_have_count(0)
    assert session.console_errors == []


def test_company_pickers_search_and_create_form_preselects_nothing(signed_in):
    session = signed_in("rep")
    acme = CompanyFactory(user=session.user, name="Acme", domain="acme.com")
    CompanyFactory(user=session.user, name="Globex", domain="globex.com")
    make_lead(user=session.user, company=acme, email="a@acme.com", first_name="Ann")

    page = session.go("/leads/new/")
    select = page.get_by_label("Company", exact=True)
    expect(select).to_have_value("")
    expect(page.get_by_label("New company name")).to_be_hidden()
    page.get_by_label("Email").fill("zed@globex.com")
    page.get_by_test_id("create-lead").click()
    expect(page.locator("#id_company_error")).to_contain_text("Choose one of your companies")
    page.get_by_label("Find a company by name or domain").fill("glob")
    expect(select.locator("option")).to_have_count(3)  # Choose…, + New company…, Globex
    select.select_option(label="Globex (globex.com)")
    page.get_by_test_id("create-lead").click()
    expect(page.get_by_role("heading", name="zed@globex.com")).to_be_visible()
    assert Lead.objects.get(email="zed@globex.com").company.name == "Globex"

    # The list filter searches the same way.
    page = session.go("/leads/")
    page.get_by_label("Find a company by name or domain").fill("acm")
    company = page.get_by_label("Company", exact=True)
    expect(company.locator("option")).to_have_count(2)  # Any company, Acme
    company.select_option(label="Acme (acme.com)")
    page.get_by_test_id("apply-filters").click()
    expect(page.get_by_test_id("match-count")).to_have_text("1 lead matches these filters")
    expect(page).to_have_url(re.compile(rf"company_id={acme.pk}"))
    assert [e for e in session.console_errors if "status of 422" not in e] == []


def test_select_all_matching_changes_every_matching_lead(signed_in, small_pages):
    session = signed_in("rep")
    leads = _people(session.user, 5)
    other = make_lead(user=session.user, email="lost@x.com", status=Status.LOST)
    page = session.go("/leads/?status=new")
    expect(page.get_by_test_id("select-matching")).to_be_hidden()
    page.locator("#select-all").check()
    expect(page.get_by_test_id("select-matching")).to_be_visible()
    page.get_by_test_id("select-all-matching").click()
    expect(page.get_by_test_id("select-matching")).to_contain_text(
        "All 5 leads matching these filters are selected."
    )
    session.screenshot("lead-list-select-all")
    page.locator("#bulk-status").select_option("qualified")
    page.get_by_test_id("bulk-status").click()
    expect(page.get_by_role("status")).to_contain_text("5 leads moved to Qualified.")
    assert Lead.objects.filter(pk__in=[lead.pk for lead in leads], status="qualified").count() == 5
    assert Lead.objects.get(pk=other.pk).status == "lost"
    assert LeadEvent.objects.filter(to_status="qualified").count() == 5
    assert session.console_errors == []


def test_select_all_matching_delete_runs_as_a_background_job(
    signed_in, small_pages, worker, monkeypatch
):
    from leads import bulk_jobs

    monkeypatch.setattr(bulk_jobs, "INLINE_LIMIT", 3)
    monkeypatch.setattr(bulk_jobs, "BATCH_SIZE", 2)
    session = signed_in("rep")
    _people(session.user, 7)
    keep = make_lead(user=session.user, email="keep@x.com", status=Status.LOST)
    page = session.go("/leads/?status=new")
    page.locator("#select-all").check()
    page.get_by_test_id("select-all-matching").click()
    page.get_by_test_id("bulk-delete").click()
    expect(page.get_by_test_id("confirm-heading")).to_have_text("Delete 7 leads?")
    expect(page.get_by_text("deleted in the background")).to_be_visible()
    page.get_by_test_id("confirm-delete").click()
    page.wait_for_url(re.compile(r"/leads/bulk/jobs/\d+/$"))
    expect(page.get_by_role("heading", name="Deleting 7 leads")).to_be_visible()
    page.locator("[data-testid='bulk-job'][data-state='succeeded']").wait_for()
    expect(page.get_by_test_id("job-counts")).to_contain_text("7 of 7 leads done")
    assert list(Lead.objects.filter(user=session.user)) == [keep]
    job = LeadBulkJob.objects.get()
    assert (job.state, job.changed, job.filters) == ("succeeded", 7, {"status": "new"})
    page.get_by_role("button", name="Back to your leads").click()
    expect(page.get_by_test_id("match-count")).to_have_text("1 lead")
    assert session.console_errors == []
