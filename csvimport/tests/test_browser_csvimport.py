"""Upload a CSV in the browser, map its columns, run it on a real worker, read the report."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker

from crm.celery import app as celery_app
from csvimport import tasks  # noqa: F401  (registers the task with the in-process worker)
from csvimport.models import CsvImport
from leads.models import Lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = (
    "Work Email;Given;Surname;Organisation;Rating;Favourite colour\n"
    "ann@acme.com;Ann;Archer;Acme;80;green\n"
    "bob@globex.com;Bob;Baker;Globex;high;blue\n"
    "carol@;Carol;Cole;Initech;10;red\n"
    "dan@initech.com;Dan;Diaz;Initech;;\n"
    "rene@cafe.fr;René;Roux;Café;5;\n"
)


@pytest.fixture
def worker():
    # The broker is set for the whole test process by the root conftest.
    with start_worker(
        celery_app, pool="threads", concurrency=1, perform_ping_check=False, shutdown_timeout=30
    ):
        yield


def test_upload_map_start_and_read_the_rejected_rows(signed_in, worker):
    session = signed_in("importer")
    page = session.go("/leads/import/")
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "fair.csv", "mimeType": "text/csv", "buffer": CSV.encode("cp1252")}]
    )
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_role("heading", name="Map the columns of fair.csv").wait_for()
    assert (
        "5 rows · 6 columns · semicolon separated"
        in page.get_by_test_id("file-summary").inner_text()
    )
    assert page.get_by_role("note").inner_text().startswith("The file is not UTF-8")
    assert page.get_by_label("Field for column “Work Email”").input_value() == "email"
    assert page.get_by_label("Field for column “Organisation”").input_value() == "company"

    # Mapping two columns to the same field is refused next to the column.
    page.get_by_label("Field for column “Given”").select_option(label="Last name")
    page.get_by_test_id("start-import").click()
    page.get_by_text("Last name is already chosen for column 2.").wait_for()

    page.get_by_label("Field for column “Given”").select_option(label="First name")
    session.htmx_settled()
    page.get_by_label("Field for column “Favourite colour”").select_option(
        label="Ignore this column"
    )
    session.htmx_settled()
    page.get_by_label("Create, or fill the empty fields of the lead with that email").check()
    session.htmx_settled()
    # The forecast, made again on each change, says what the run below then does.
    forecast = page.get_by_test_id("forecast")
    assert "2 of 5 rows would be rejected" in forecast.inner_text()
    session.screenshot("csv-import-preview")
    page.get_by_test_id("start-import").click()

    page.wait_for_url("**/progress/")
    page.locator("[data-testid='csv-run'][data-state='partial']").wait_for()
    assert page.get_by_test_id("count-created").inner_text() == "3"
    assert page.get_by_test_id("count-rejected").inner_text() == "2"
    table = page.get_by_test_id("rejections")
    assert table.get_by_role("row").count() == 3
    assert "Score “high” is not a whole number from 0 to 100." in table.inner_text()
    assert "“carol@” is not a valid email address." in table.inner_text()
    session.screenshot("csv-import")

    leads = page.request.get(f"{session.base}/v1/leads").json()["data"]
    assert sorted(lead["email"] for lead in leads) == [
        "ann@acme.com",
        "dan@initech.com",
        "rene@cafe.fr",
    ]
    ann = Lead.objects.get(user=session.user, email="ann@acme.com")
    assert (ann.first_name, ann.last_name, ann.score, ann.company.name) == (
        "Ann",
        "Archer",
        80,
        "Acme",
    )
    assert ann.custom_attributes == {}
    assert ann.events.get().source == "csv"
    assert CsvImport.objects.get(user=session.user).mode == "upsert"
    # The refused mapping answered 400 on purpose; nothing else may log an error.
    assert [e for e in session.console_errors if "400 (Bad Request)" not in e] == []
    rene = Lead.objects.get(user=session.user, email="rene@cafe.fr")
    assert (rene.first_name, rene.company.name) == ("René", "Café")

    # Issue 15 item 4: the rejected rows download as a CSV with a reason column...
    with page.expect_download() as download:
        page.get_by_test_id("download-rejected").click()
    assert download.value.suggested_filename == "fair-rejected.csv"
    text = Path(download.value.path()).read_text("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][-2:] == ["row", "reason"] and "Work Email" in lines[0]
    assert len(lines) == 3
    assert any("is not a whole number from 0 to 100" in line[-1] for line in lines[1:])

    # ...and uploading the same file again says when it was imported before.
    page = session.go("/leads/import/")
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "fair-again.csv", "mimeType": "text/csv", "buffer": CSV.encode("cp1252")}]
    )
    page.get_by_role("button", name="Upload and preview").click()
    warning = page.get_by_test_id("same-file")
    warning.wait_for()
    assert "You imported a file with the same content on" in warning.inner_text()
    assert "fair.csv (import #" in warning.inner_text()


def test_a_garbage_file_is_refused_with_a_message_on_a_phone(signed_in):
    session = signed_in("phone")
    page = session.page
    page.set_viewport_size({"width": 390, "height": 844})
    session.go("/leads/import/")
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "photo.png", "mimeType": "image/png", "buffer": b"\x89PNG\x00\x00IHDR"}]
    )
    page.get_by_role("button", name="Upload and preview").click()
    error = page.get_by_test_id("upload-error")
    error.wait_for()
    assert "it contains binary data" in error.inner_text()
    assert page.get_by_label("CSV file").get_attribute("aria-invalid") == "true"
    assert CsvImport.objects.count() == 0
    session.screenshot("csv-import-upload")
