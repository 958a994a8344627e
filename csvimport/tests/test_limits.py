"""Limits that keep one CSV from tying up the workers (security review, issue 14 item 1):
columns and row width, only mapped cells read, a user's concurrent imports, and uploads
stopped while they stream."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from csvimport import parsing, services
from csvimport.models import CsvImport
from csvimport.tests.conftest import make_import

pytestmark = pytest.mark.django_db


def _upload(web, raw: bytes, name: str = "leads.csv"):
    return web.post("/leads/import/", {"file": SimpleUploadedFile(name, raw, "text/csv")})


def test_a_file_with_too_many_columns_is_refused_naming_the_limit(web):
    header = ",".join(f"c{i}" for i in range(parsing.MAX_COLUMNS + 1))
    response = _upload(web, f"email,{header}\na@x.io\n".encode())
    assert response.status_code == 400
    assert f"the limit is {parsing.MAX_COLUMNS}" in response.content.decode()
    assert CsvImport.objects.count() == 0


def test_a_row_wider_than_the_limit_is_refused(web):
    wide = "," * (parsing.MAX_COLUMNS + 5)
    response = _upload(web, f"email,name\na@x.io,Ann\nb@x.io{wide}\n".encode())
    assert response.status_code == 400
    assert "Row 3 has" in response.content.decode()
    assert CsvImport.objects.count() == 0


class _Cells(list):
    """A row that records which cells are read."""

    def __init__(self, *args):
        super().__init__(*args)
        self.read: set[int] = set()

    def __getitem__(self, index):
        if isinstance(index, int):
            self.read.add(index)
        return super().__getitem__(index)


def test_a_row_reads_only_its_mapped_cells():
    width = parsing.MAX_COLUMNS
    mapping = {str(i): parsing.IGNORE for i in range(width)}
    mapping["3"] = "email"
    mapping["150"] = "first_name"
    cells = _Cells([""] * width)
    list.__setitem__(cells, 3, "ann@x.io")
    list.__setitem__(cells, 150, "Ann")
    row = services.parse_row(cells, mapping, parsing.mapped_columns(mapping))
    assert row.lead == {"email": "ann@x.io", "first_name": "Ann"}
    assert cells.read == {3, 150}


def test_a_user_may_run_only_so_many_imports_at_once(web, user, settings):
    settings.CSV_IMPORT_MAX_ACTIVE = 2
    make_import(user, "email\na@x.io\n")
    make_import(user, "email\nb@x.io\n")
    pending = services.csv_import_create(user=user, filename="c.csv", raw=b"email\nc@x.io\n")
    response = web.post(f"/leads/import/{pending.pk}/", {"col-0": "email", "mode": "create"})
    assert response.status_code == 400
    assert "You already have 2 imports queued or running" in response.content.decode()
    pending.refresh_from_db()
    assert pending.state == "pending"
    # Once one is over, this one may start.
    CsvImport.objects.exclude(pk=pending.pk).filter(user=user).update(state="succeeded")
    response = web.post(f"/leads/import/{pending.pk}/", {"col-0": "email", "mode": "create"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.state == "queued"


def test_an_oversized_upload_is_stopped_before_it_is_spooled_to_disk(web, monkeypatch):
    spooled = []
    real = TemporaryFileUploadHandler.receive_data_chunk

    def watching(self, raw_data, start):
        spooled.append(len(raw_data))
        return real(self, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", watching)
    raw = b"email\n" + b"a@x.io\n" * (parsing.MAX_BYTES // 7 + 200_000)
    response = _upload(web, raw)
    assert response.status_code == 400
    body = response.content.decode()
    assert "the limit is 10 MB" in body
    assert spooled == []  # not a byte reached the temporary file
    assert CsvImport.objects.count() == 0


def test_the_upload_limit_and_the_import_limit_agree(settings):
    assert settings.FILE_UPLOAD_MAX_BYTES == parsing.MAX_BYTES
