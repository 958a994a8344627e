"""The CSV import pages through Django's test client."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from csvimport import parsing, services, tasks
from csvimport.models import CsvImport, CsvRejection
from csvimport.tests.conftest import make_import

pytestmark = pytest.mark.django_db

GOOD = (
    "E-mail,First Name,Company Name,Job Title,Score,Region\n"
    + "".join(f"p{i}@acme.com,Person {i},Acme,CTO,{i},EU\n" for i in range(7))
).encode()


def upload(client: Client, raw: bytes, name: str = "leads.csv"):
    return client.post("/leads/import/", {"file": SimpleUploadedFile(name, raw, "text/csv")})


@pytest.fixture
def queued(monkeypatch):
    """Imports that would go to Celery, by id."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.run_csv_import, "delay", lambda import_id: ids.append(import_id))
    return ids


def test_pages_need_sign_in():
    for path in ["/leads/import/", "/leads/import/1/", "/leads/import/1/progress/"]:
        response = Client().get(path)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_upload_page_and_a_good_file_leads_to_the_preview(web, user):
    page = web.get("/leads/import/")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.content.decode()
    assert "No imports yet." in page.content.decode()
    response = upload(web, GOOD)
    csv_import = CsvImport.objects.get(user=user)
    assert response.status_code == 302
    assert response["Location"] == f"/leads/import/{csv_import.pk}/"
    assert (csv_import.total_rows, csv_import.state, csv_import.delimiter) == (7, "pending", ",")
    assert csv_import.mapping == {
        "0": "email",
        "1": "first_name",
        "2": "company",
        "3": "position",
        "4": "score",
        "5": "custom:Region",
    }
    assert "leads.csv" in web.get("/leads/import/").content.decode()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "The file is empty."),
        (b"email\n", "header row but no data rows"),
        (b"\x00\x01\x02binary\xff", "binary data"),
        (b'email,name\n"unterminated\n' + b"x" * 200_000, "could not be read as CSV"),
    ],
)
def test_garbage_files_get_a_clear_message_and_store_nothing(web, raw, message):
    response = upload(web, raw)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert CsvImport.objects.count() == 0


def test_no_file_and_too_big_a_file(web, monkeypatch):
    response = web.post("/leads/import/", {})
    assert response.status_code == 400
    assert "Choose a CSV file" in response.content.decode()
    monkeypatch.setattr(parsing, "MAX_BYTES", 10)
    response = upload(web, b"email\na@example.com\n")
    assert "The file is 20 bytes; the limit is 10 bytes." in response.content.decode()
    assert "Up to 10 bytes and" in response.content.decode()
    assert CsvImport.objects.count() == 0


def test_ragged_rows_preview_without_error(web, user):
    upload(web, b"email;name\na@x.io\nb@x.io;B;extra\n")
    csv_import = CsvImport.objects.get(user=user)
    page = web.get(f"/leads/import/{csv_import.pk}/").content.decode()
    assert "semicolon separated" in page
    assert page.count("<tr>") == 1 + 2  # header row + two data rows (mapping row has a class)


def test_preview_shows_five_rows_and_the_guessed_mapping(web, user):
    upload(web, GOOD)
    csv_import = CsvImport.objects.get(user=user)
    response = web.get(f"/leads/import/{csv_import.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "7 rows · 6 columns · comma separated" in html
    assert "p4@acme.com" in html and "p5@acme.com" not in html
    assert '<option value="email" selected>Email</option>' in html
    assert '<option value="custom:Region" selected>' in html
    assert 'for="col-0"' in html and 'name="mode" value="create" checked' in html


def test_a_bad_mapping_is_explained_next_to_the_column_and_nothing_starts(web, user, queued):
    upload(web, GOOD)
    csv_import = CsvImport.objects.get(user=user)
    data = {f"col-{i}": "ignore" for i in range(6)} | {"col-0": "email", "col-3": "email"}
    response = web.post(f"/leads/import/{csv_import.pk}/", data | {"mode": "create"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="col-3-error">Email is already chosen for column 1.' in html
    response = web.post(
        f"/leads/import/{csv_import.pk}/", {"col-0": "phone", "mode": "replace-all"}
    )
    html = response.content.decode()
    assert "Map at least one column to Email" in html
    assert "Choose create only, or create or update by email." in html
    csv_import.refresh_from_db()
    assert csv_import.state == "pending"
    assert queued == []


def test_start_queues_the_job_after_commit_and_goes_to_progress(
    web, user, queued, django_capture_on_commit_callbacks
):
    upload(web, GOOD)
    csv_import = CsvImport.objects.get(user=user)
    data = {f"col-{i}": v for i, v in csv_import.mapping.items()} | {"mode": "upsert"}
    data["col-5"] = "ignore"
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(f"/leads/import/{csv_import.pk}/", data)
    assert response.status_code == 302
    assert response["Location"] == f"/leads/import/{csv_import.pk}/progress/"
    assert queued == [csv_import.pk]
    csv_import.refresh_from_db()
    assert (csv_import.state, csv_import.mode, csv_import.mapping["5"]) == (
        "queued",
        "upsert",
        "ignore",
    )
    # Started imports are not started again; the preview sends you to the progress.
    with django_capture_on_commit_callbacks(execute=True):
        again = web.post(f"/leads/import/{csv_import.pk}/", data)
    assert again["Location"].endswith("/progress/")
    assert web.get(f"/leads/import/{csv_import.pk}/")["Location"].endswith("/progress/")
    assert queued == [csv_import.pk]


def test_progress_polls_while_running_and_htmx_gets_the_partial(web, user):
    csv_import = make_import(user, "email\na@x.io\nb@x.io\n")
    CsvImport.objects.filter(pk=csv_import.pk).update(state="running", processed=1)
    page = web.get(f"/leads/import/{csv_import.pk}/progress/").content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert '<progress value="1" max="2"' in page
    assert "1 of 2" in page and "(50%)" in page
    partial = web.get(f"/leads/import/{csv_import.pk}/progress/", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert "<html" not in partial.content.decode()
    assert 'data-state="running"' in partial.content.decode()


def test_finished_progress_lists_rejected_rows_by_keyset_pages(web, user, monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 100)
    lines = "".join(f"bad-{i}\n" for i in range(150)) + "ok@x.io\n"
    csv_import = make_import(user, "email\n" + lines)
    tasks.run_csv_import(csv_import.pk)
    page = web.get(f"/leads/import/{csv_import.pk}/progress/").content.decode()
    assert 'data-state="partial"' in page and "hx-trigger" not in page
    assert "“bad-0” is not a valid email address." in page
    assert "“bad-99” is not a valid email address." in page
    assert "“bad-100”" not in page
    cursor = CsvRejection.objects.order_by("id").values_list("id", flat=True)[99]
    assert f"?after={cursor}" in page
    second = web.get(f"/leads/import/{csv_import.pk}/progress/?after={cursor}").content.decode()
    assert "“bad-100”" in second and "“bad-149”" in second and "“bad-99”" not in second
    assert "next-rejections" not in second
    assert web.get(f"/leads/import/{csv_import.pk}/progress/?after=junk").status_code == 200


def test_progress_queries_do_not_grow_with_rejected_rows(web, user):
    counts = []
    for n in (3, 90):
        csv_import = make_import(user, "email\n" + "".join(f"bad{i}\n" for i in range(n)))
        tasks.run_csv_import(csv_import.pk)
        with CaptureQueriesContext(connection) as queries:
            assert web.get(f"/leads/import/{csv_import.pk}/progress/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[0] <= 5


def test_another_users_import_is_a_404(web, other_user, queued):
    theirs = make_import(other_user, "email\na@x.io\n")
    CsvImport.objects.filter(pk=theirs.pk).update(state="pending")
    for path in [f"/leads/import/{theirs.pk}/", f"/leads/import/{theirs.pk}/progress/"]:
        assert web.get(path).status_code == 404
    assert (
        web.post(f"/leads/import/{theirs.pk}/", {"col-0": "email", "mode": "create"}).status_code
        == 404
    )
    assert web.get("/leads/import/999999/progress/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == "pending" and queued == []
    assert "leads.csv" not in web.get("/leads/import/").content.decode()


def test_posts_need_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/leads/import/", {"file": SimpleUploadedFile("a.csv", GOOD)})
    assert response.status_code == 403
    csv_import = services.csv_import_create(user=user, filename="a.csv", raw=GOOD)
    response = client.post(f"/leads/import/{csv_import.pk}/", {"col-0": "email", "mode": "create"})
    assert response.status_code == 403
    csv_import.refresh_from_db()
    assert csv_import.state == "pending"
    assert CsvImport.objects.count() == 1


def test_cancel_a_running_import_from_its_page(web, user):
    csv_import = make_import(user, "email\na@x.io\nb@x.io\nc@x.io\n")
    CsvImport.objects.filter(pk=csv_import.pk).update(
        state="running", processed=1, created=1, next_row=1
    )
    page = web.get(f"/leads/import/{csv_import.pk}/progress/").content.decode()
    assert 'data-testid="cancel-import"' in page
    assert f'action="/leads/import/{csv_import.pk}/cancel/"' in page
    assert web.get(f"/leads/import/{csv_import.pk}/cancel/").status_code == 405
    response = web.post(f"/leads/import/{csv_import.pk}/cancel/", follow=True)
    page = response.content.decode()
    assert "Import cancelled after 1 of 3 rows; the 1 lead already written stay." in page
    assert 'data-state="cancelled"' in page and "Cancelled at row 3" in page
    assert "hx-trigger" not in page and "cancel-import" not in page
    csv_import.refresh_from_db()
    assert csv_import.state == "cancelled"
    # Again: the import has finished, nothing changes.
    response = web.post(f"/leads/import/{csv_import.pk}/cancel/", follow=True)
    assert "had already finished" in response.content.decode()


def test_cancel_another_users_import_is_a_404_and_changes_nothing(web, other_user):
    theirs = make_import(other_user, "email\na@x.io\n")
    assert web.post(f"/leads/import/{theirs.pk}/cancel/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == "queued"


def test_cancel_needs_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    csv_import = make_import(user, "email\na@x.io\n")
    assert client.post(f"/leads/import/{csv_import.pk}/cancel/").status_code == 403
    csv_import.refresh_from_db()
    assert csv_import.state == "queued"


def test_the_same_file_again_is_named_on_the_preview(web, user, queued):
    """Issue 15 item 4: a re-import of the same file is warned about, naming the first."""
    first = services.csv_import_create(user=user, filename="fair.csv", raw=GOOD)
    assert web.get(f"/leads/import/{first.pk}/").content.decode().count("same content") == 0
    services.csv_import_start(csv_import=first, mapping=first.mapping, mode="create")
    again = services.csv_import_create(user=user, filename="fair (1).csv", raw=GOOD)
    page = web.get(f"/leads/import/{again.pk}/").content.decode()
    assert "You imported a file with the same content on" in page
    assert f"fair.csv (import #{first.pk})" in page
    other = services.csv_import_create(user=user, filename="other.csv", raw=GOOD + b"x@y.com,X\n")
    assert "same content" not in web.get(f"/leads/import/{other.pk}/").content.decode()


def test_another_users_same_file_is_not_mentioned(web, user, other_user, queued):
    theirs = services.csv_import_create(user=other_user, filename="theirs.csv", raw=GOOD)
    services.csv_import_start(csv_import=theirs, mapping=theirs.mapping, mode="create")
    mine = services.csv_import_create(user=user, filename="mine.csv", raw=GOOD)
    assert "same content" not in web.get(f"/leads/import/{mine.pk}/").content.decode()


def test_rejected_rows_download_with_a_reason(web, user, other_user):
    text = "email,first_name,score\na@x.com,Ann,5\nbad@,Bob,7\nc@x.com,=cmd(),high\n"
    csv_import = make_import(user, text)
    tasks.run_csv_import(csv_import.pk)
    response = web.get(f"/leads/import/{csv_import.pk}/rejected.csv")
    assert response.status_code == 200
    assert 'filename="leads-rejected.csv"' in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = [line.split(",", 3) for line in body.strip().splitlines()]
    assert rows[0] == ["email", "first_name", "score", "row,reason"]
    assert body.count("\n") == 3  # the header and the two rejected rows
    assert "bad@,Bob,7,3," in body and "'=cmd()" in body  # defused, as every export
    stranger = Client()
    stranger.force_login(other_user)
    assert stranger.get(f"/leads/import/{csv_import.pk}/rejected.csv").status_code == 404
