"""Issue 15 item 2 in the browser: a HubSpot export's Lead Status values each get a chooser,
the preview says which rows would be rejected before the run, its Create Date becomes the
leads' creation date, and the mapping of 15 columns fits a 1366 px screen."""

from __future__ import annotations

import datetime as dt

import pytest
from celery.contrib.testing.worker import start_worker

from crm.celery import app as celery_app
from csvimport import tasks  # noqa: F401  (registers the task with the in-process worker)
from csvimport.tests.hubspot import hubspot_csv
from leads.models import Lead, LeadEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker():
    with start_worker(
        celery_app, pool="threads", concurrency=1, perform_ping_check=False, shutdown_timeout=30
    ):
        yield


def _upload(session, name: str = "hubspot.csv"):
    page = session.go("/leads/import/")
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": hubspot_csv().encode()}]
    )
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_role("heading", name=f"Map the columns of {name}").wait_for()
    return page


def _status_select(page, value: str):
    return page.get_by_label(f"Pipeline status for “{value}”", exact=True)


def test_status_values_are_chosen_forecast_and_imported_with_their_dates(signed_in, worker):
    session = signed_in("hubspot")
    page = _upload(session)
    assert page.get_by_label("Field for column “Lead Status”").input_value() == "status"
    assert page.get_by_label("Field for column “Create Date”").input_value() == "created_at"

    # Each distinct value (any case) once, most frequent first, with its rows and a guess.
    values = page.get_by_test_id("status-value")
    assert values.count() == 9
    first = values.first.inner_text()
    assert first.startswith("Open") and "\t2" in first  # "Open" and "open"
    guesses = {
        "New": "new",
        "Open": "new",
        "In Progress": "contacted",
        "Open Deal": "qualified",
        "Unqualified": "lost",
        "Attempted to contact": "contacted",
        "Connected": "contacted",
        "Bad Timing": "lost",
        "VIP follow-up": "",
    }
    assert {v: _status_select(page, v).input_value() for v in guesses} == guesses

    # Before anything runs, the forecast names the rows that would be rejected and why.
    forecast = page.get_by_test_id("forecast")
    assert "3 of 12 rows would be rejected" in forecast.inner_text()
    reasons = page.get_by_test_id("forecast-reason").all_inner_texts()
    assert "2 rows: Status “vip follow-up” has no pipeline status chosen (rows 10, 11)" in reasons
    assert "1 row: Email is not a valid address (row 12)" in reasons
    dates = page.get_by_test_id("dates").inner_text()
    assert "reads as 1 March 2024, 14:05" in dates
    assert "Leads that already exist keep their own creation date." in dates

    # Choosing a status for the unknown value (and "ignore" for another) updates the forecast.
    _status_select(page, "VIP follow-up").select_option(label="Qualified")
    session.htmx_settled()
    _status_select(page, "Connected").select_option(value="ignore")
    session.htmx_settled()
    assert "1 of 12 rows would be rejected" in forecast.inner_text()
    assert page.get_by_test_id("forecast-reason").all_inner_texts() == [
        "1 row: Email is not a valid address (row 12)"
    ]
    session.screenshot("csv-import-statuses")
    page.get_by_test_id("start-import").click()

    page.wait_for_url("**/progress/")
    page.locator("[data-testid='csv-run'][data-state='partial']").wait_for()
    assert page.get_by_test_id("count-created").inner_text() == "11"
    assert page.get_by_test_id("count-rejected").inner_text() == "1"
    assert "is not a valid email address" in page.get_by_test_id("rejections").inner_text()
    leads = {lead.first_name: lead for lead in Lead.objects.filter(user=session.user)}
    assert {name: lead.status for name, lead in leads.items()} == {
        "Ann": "new",
        "Ben": "new",
        "Cho": "contacted",
        "Dee": "qualified",
        "Eve": "lost",
        "Fox": "contacted",
        "Gus": "new",  # ignored: a new lead starts as new
        "Hal": "lost",
        "Ivy": "qualified",
        "Jon": "qualified",
        "Lee": "contacted",
    }
    utc = dt.UTC  # settings.TIME_ZONE is UTC in the tests
    assert leads["Ann"].created_at == dt.datetime(2024, 3, 1, 14, 5, tzinfo=utc)
    assert leads["Jon"].created_at == dt.datetime(2024, 4, 3, 9, 0, tzinfo=utc)
    assert LeadEvent.objects.get(lead=leads["Ann"]).at == leads["Ann"].created_at
    assert session.console_errors == []


def test_a_fifteen_column_export_maps_without_scrolling_sideways_at_1366(signed_in):
    session = signed_in("laptop")
    session.page.set_viewport_size({"width": 1366, "height": 768})
    page = _upload(session)
    assert page.get_by_test_id("mapping").get_by_role("combobox").count() == 15
    width = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert width <= 1366, width
    session.screenshot("csv-import-1366")
