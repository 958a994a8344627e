"""Hostile input, in one place: each gets a clear error and stores nothing bad.

Oversized bodies and uploads, malformed JSON, wrong JSON types, huge or nonsensical
pagination values, SQL and HTML in every text field (stored byte for byte, rendered escaped
on every page that shows it and in the admin), spreadsheet formulas in an exported CSV, a
vendor answering garbage, and a vendor redirecting to another host. Deeper coverage of each
lives beside the code (leads/tests/test_fuzz.py, test_api_leads.py, test_csv_export.py,
csvimport/tests, integrations/tests/test_*_client.py); these tests hold the end-to-end
behaviour together.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils.html import escape
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Response

from integrations import engine, services
from integrations.models import Integration, SyncFailure, SyncRun
from leads.models import Company, Lead, Source
from leads.services import lead_create
from leads.tests.conftest import ApiClient
from leads.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SQL = "'; DROP TABLE leads_lead; --"
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
PAYLOADS = (SQL, SCRIPT, ATTRIBUTE)
# What must never reach a page unescaped: a tag the browser would parse from the payloads.
RAW_TAGS = ("<script>alert(1)", "<img src=x onerror")

LEAD_TEXT_FIELDS = ("first_name", "last_name", "position", "phone", "linkedin_url", "source")
COMPANY_TEXT_FIELDS = ("name", "website", "industry", "size")


@pytest.fixture
def user(db):
    return UserFactory(username="mallory", is_staff=True, is_superuser=True)


@pytest.fixture
def api(user) -> ApiClient:
    return ApiClient(user)


@pytest.fixture
def web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def company(user) -> Company:
    return Company.objects.create(user=user, name="Plain Co", domain="plain.example")


def _error(response, status: int = 400) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def _post_raw(api: ApiClient, path: str, body: bytes | str, content_type="application/json"):
    return api.client.post(path, body, content_type=content_type)


# --- oversized bodies and uploads ------------------------------------------------------------


def test_an_api_body_over_the_limit_is_a_413_before_any_parsing(api, company):
    notes = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    body = json.dumps({"company_id": company.pk, "notes": notes})
    error = _error(_post_raw(api, "/v1/leads", body), 413)
    assert "detail" in error and "too large" in error["detail"]
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in error["detail"]
    # The same on a PATCH, and on any endpoint that takes a body.
    lead = lead_create(user=api.user, company=company, data={}, source=Source.API)
    patch = api.client.patch(f"/v1/leads/{lead.pk}", body, content_type="application/json")
    _error(patch, 413)
    _error(_post_raw(api, "/v1/companies", json.dumps({"name": notes})), 413)
    assert Lead.objects.filter(notes__startswith="xxx").count() == 0
    assert Company.objects.filter(user=api.user).count() == 1


def test_a_body_just_under_the_limit_is_validated_normally(api, company):
    # Big but allowed: the field's own limit answers, naming the field.
    body = json.dumps({"company_id": company.pk, "notes": "x" * 200_000})
    assert len(body) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert list(_error(_post_raw(api, "/v1/leads", body))) == ["notes"]


@pytest.mark.slow  # a real 10 MB upload (csvimport's own test shrinks the limit instead)
def test_an_oversized_csv_upload_is_refused_with_a_message(web):
    from csvimport import parsing
    from csvimport.models import CsvImport

    body = b"email\n" + b"a@b.co\n" * (parsing.MAX_BYTES // 7 + 1)
    response = web.post("/leads/import/", {"file": SimpleUploadedFile("big.csv", body)})
    assert response.status_code == 400
    assert f"the limit is {parsing.MAX_BYTES:,} bytes" in response.content.decode()
    assert CsvImport.objects.count() == 0


def test_a_form_over_the_size_or_field_limit_is_refused_with_a_page_that_says_so(web):
    too_big = web.post("/leads/new/", {"notes": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    assert too_big.status_code == 413
    assert "The request is too large" in too_big.content.decode()
    # Many form fields (a form bomb) are refused by Django before any view code runs.
    fields = {f"f{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    bomb = web.post("/leads/new/", fields)
    assert bomb.status_code == 400
    assert "too many fields" in bomb.content.decode()
    assert Lead.objects.count() == 0


# --- malformed JSON and wrong types ------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"{", b'{"company_id": 1,', b"\xff\xfe{}", b"NaN", b'{"company_id": 1}garbage', b""],
)
def test_malformed_json_is_a_400_that_says_so(api, body):
    error = _error(_post_raw(api, "/v1/leads", body))
    assert error.keys() <= {"detail", "company_id"}
    if "detail" in error:
        assert "JSON" in error["detail"] or "parse" in error["detail"].lower()
    assert Lead.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([{"company_id": 1}], "non_field_errors"),
        ("a string", "non_field_errors"),
        (42, "non_field_errors"),
        ({"company_id": "1"}, "company_id"),
        ({"company_id": 1.5}, "company_id"),
        ({"company_id": True}, "company_id"),
        ({"company_id": 2**70}, "company_id"),
        ({"email": 12345}, "email"),
        ({"email": ["a@b.co"]}, "email"),
        ({"score": "50"}, "score"),
        ({"score": 10**30}, "score"),
        ({"status": ["new"]}, "status"),
        ({"notes": {"$ne": ""}}, "notes"),
        ({"custom_attributes": {"nested": {"a": "b"}}}, "custom_attributes"),
        ({"custom_attributes": {"list": ["a"]}}, "custom_attributes"),
        ({"custom_attributes": {"n": 5}}, "custom_attributes"),
        ({"custom_attributes": ["a", "b"]}, "custom_attributes"),
        ({"custom_attributes": "k=v"}, "custom_attributes"),
        ({"first_name": None}, "first_name"),
    ],
)
def test_wrong_json_types_are_a_400_naming_the_field(api, company, body, field):
    if isinstance(body, dict):
        body = {"company_id": company.pk, **body}
    error = _error(_post_raw(api, "/v1/leads", json.dumps(body)))
    assert field in error, error
    assert Lead.objects.count() == 0
    # A PATCH says the same, and leaves the lead as it was.
    lead = lead_create(user=api.user, company=company, data={"notes": "kept"}, source=Source.API)
    if isinstance(body, dict):
        patch = {k: v for k, v in body.items() if k != "company_id"} or body
        assert field in _error(api.patch(f"/v1/leads/{lead.pk}", patch))
    lead.refresh_from_db()
    assert lead.notes == "kept"


def test_wrong_json_types_on_companies_name_the_field(api):
    for body, field in [
        ({"name": 5}, "name"),
        ({"name": "Co", "domain": ["acme.com"]}, "domain"),
        ({"name": "Co", "domain": "<script>.com"}, "domain"),
        ({"name": "Co", "country_code": {"x": 1}}, "country_code"),
        ([{"name": "Co"}], "non_field_errors"),
    ]:
        assert field in _error(api.post("/v1/companies", body)), body
    assert Company.objects.count() == 0


# --- huge and nonsensical pagination values -------------------------------------------------


@pytest.mark.parametrize("name", ["limit", "cursor"])
@pytest.mark.parametrize(
    "value", [str(2**70), str(2**63), "-1", "0", "1e9", "NaN", "inf", "1.5", "0x10", " "]
)
@pytest.mark.parametrize("path", ["/v1/leads", "/v1/companies", "/v1/sync-runs"])
def test_huge_or_odd_limit_and_cursor_are_a_400_naming_the_parameter(api, path, name, value):
    error = _error(api.get(path, {name: value}))
    assert list(error) == [name], error


def test_the_largest_valid_cursor_and_limit_work(api):
    response = api.get("/v1/leads", {"cursor": str(2**63 - 1), "limit": "200"})
    assert response.status_code == 200
    assert response.json() == {"data": [], "next_cursor": None}
    assert list(_error(api.get("/v1/leads", {"limit": "201"}))) == ["limit"]


def test_huge_ids_in_the_path_are_a_404_not_a_500(api):
    for path in ("/v1/leads/99999999999999999999", "/v1/companies/9223372036854775808"):
        assert _error(api.get(path), 404) == {"detail": "Not found."}


# --- SQL and HTML in every text field ---------------------------------------------------------


@pytest.fixture
def hostile(api):
    """A company and a lead per payload, every text field holding it, made through the API."""
    made = []
    for n, payload in enumerate(PAYLOADS):
        company_body = {name: payload for name in COMPANY_TEXT_FIELDS}
        company_body["country_code"] = payload[:8].strip()  # the API trims text fields
        response = api.post("/v1/companies", company_body)
        assert response.status_code == 201, response.content
        company = response.json()
        lead_body = {
            "company_id": company["id"],
            "email": f"hostile{n}@example.com",
            "notes": payload,
            "custom_attributes": {payload: payload, "plain": payload},
            **{name: payload for name in LEAD_TEXT_FIELDS},
        }
        response = api.post("/v1/leads", lead_body)
        assert response.status_code == 201, response.content
        lead = response.json()
        # The next request changes the status, so the lead also has history to show.
        assert api.patch(f"/v1/leads/{lead['id']}", {"status": "qualified"}).status_code == 200
        made.append((payload, company_body, company, lead_body, lead))
    return made


def test_sql_and_html_are_stored_byte_for_byte(api, hostile):
    for _payload, company_body, company, lead_body, lead in hostile:
        stored_company = Company.objects.get(pk=company["id"])
        for name, value in company_body.items():
            if name == "country_code":
                value = value.strip().upper()  # country codes are stored upper-case
            assert getattr(stored_company, name) == value
            assert company[name] == value
        stored = Lead.objects.get(pk=lead["id"])
        for name in ("notes", *LEAD_TEXT_FIELDS):
            assert getattr(stored, name) == lead_body[name]
        assert stored.custom_attributes == lead_body["custom_attributes"]
        got = api.get(f"/v1/leads/{lead['id']}").json()
        assert {name: got[name] for name in ("notes", *LEAD_TEXT_FIELDS)} == {
            name: lead_body[name] for name in ("notes", *LEAD_TEXT_FIELDS)
        }
        assert got["custom_attributes"] == lead_body["custom_attributes"]
        assert got["company"]["name"] == company_body["name"]
    # The statement in the payload was data, never SQL: the table is still there, and
    # searching for it finds the rows that hold it.
    assert Lead.objects.count() == len(PAYLOADS)
    found = api.get("/v1/leads", {"q": SQL}).json()["data"]
    assert [lead["first_name"] for lead in found] == [SQL]
    assert api.get("/v1/companies", {"q": SQL}).json()["data"][0]["name"] == SQL


def _pages(hostile) -> dict[str, tuple[str, tuple[str, ...]]]:
    """name → (path, the payloads the page must show, escaped)."""
    every = PAYLOADS
    pages = {
        "lead list": ("/leads/", every),
        "lead list, searched": (f"/leads/?q={SCRIPT}", (SCRIPT,)),
        "board": ("/board/", every),
        "board, qualified column": (f"/board/column/qualified/?cursor={2**63 - 1}", every),
        "dashboard's recent activity": ("/dashboard/", every),
        "companies": ("/companies/", every),
        "home": ("/", ()),
        "admin leads": ("/admin/leads/lead/", every),
        "admin companies": ("/admin/leads/company/", every),
        "admin history": ("/admin/leads/leadevent/", every),
    }
    for payload, _, company, _, lead in hostile:
        pages[f"lead page {payload}"] = (f"/leads/{lead['id']}/", (payload,))
        pages[f"company page {payload}"] = (f"/companies/{company['id']}/", (payload,))
        pages[f"admin lead {payload}"] = (f"/admin/leads/lead/{lead['id']}/change/", (payload,))
        pages[f"admin company {payload}"] = (
            f"/admin/leads/company/{company['id']}/change/",
            (payload,),
        )
    return pages


def test_sql_and_html_are_rendered_escaped_on_every_page_and_in_the_admin(web, hostile):
    for name, (path, shown) in _pages(hostile).items():
        response = web.get(path)
        assert response.status_code == 200, (name, response.status_code)
        html = response.content.decode()
        for tag in RAW_TAGS:
            assert tag not in html, f"{name} ({path}) renders {tag!r} unescaped"
        # The page really shows the hostile values (escaped), so the check means something.
        for payload in shown:
            assert escape(payload) in html, f"{name} ({path}) does not show {payload!r}"


def test_hostile_values_in_an_inline_edit_are_stored_and_shown_escaped(web, hostile):
    _, _, _, _, lead = hostile[0]
    response = web.post(
        f"/leads/{lead['id']}/field/notes/", {"notes": ATTRIBUTE}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200, response.content[:300]
    assert "<img src=x onerror" not in response.content.decode()
    assert Lead.objects.get(pk=lead["id"]).notes == ATTRIBUTE


def test_email_refuses_markup_and_sql(api, company):
    for email in (f"{SCRIPT}@example.com", "a@example.com'; --", '"><img@x.co'):
        error = _error(api.post("/v1/leads", {"company_id": company.pk, "email": email}))
        assert list(error) == ["email"], (email, error)
    assert Lead.objects.count() == 0


# --- formulas in an exported CSV ---------------------------------------------------------------


FORMULAS = {
    "first_name": "=1+2",
    "last_name": "+SUM(A1:A9)",
    "position": "-2+3",
    "phone": "@SUM(A1)",
    "notes": "\t=cmd|' /C calc'!A0",
    "source": '\r=HYPERLINK("http://evil.example")',
    "linkedin_url": '=IMPORTXML("http://evil.example", "//a")',
}


def test_formulas_in_exported_cells_are_neutralised(web, user):
    company = Company.objects.create(user=user, name='=HYPERLINK("http://x")', domain="f.io")
    lead_create(
        user=user,
        company=company,
        data={**FORMULAS, "email": "formula@example.com", "custom_attributes": {"k": "=1+1"}},
        source=Source.API,
    )
    response = web.get("/leads/export.csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    cells = [value for value in rows[0].values() if value]
    dangerous = [cell for cell in cells if cell[0] in "=+-@\t\r"]
    assert dangerous == [], dangerous
    # Neutralised, not mangled: the text is still there after the guard character.
    for value in FORMULAS.values():
        assert any(cell.endswith(value.lstrip("\t\r")) for cell in cells), value


def test_a_csv_with_formulas_and_markup_imports_as_text_and_exports_neutralised(
    web, user, django_capture_on_commit_callbacks
):
    from csvimport import services as csv_services

    raw = (
        "email,first_name,last_name,company,notes\r\n"
        f'csv@example.com,=1+2,"{SCRIPT}","=HYPERLINK(""http://evil.example"")","@SUM(A1)"\r\n'
    ).encode()
    csv_import = csv_services.csv_import_create(user=user, filename="hostile.csv", raw=raw)
    with django_capture_on_commit_callbacks():  # the job is run here, not queued
        csv_services.csv_import_start(
            csv_import=csv_import, mapping=csv_import.mapping, mode="create"
        )
    assert csv_services.csv_import_run(import_id=csv_import.pk) == "succeeded"
    lead = Lead.objects.get(email="csv@example.com")
    # Stored as the text it is.
    assert (lead.first_name, lead.last_name, lead.notes) == ("=1+2", SCRIPT, "@SUM(A1)")
    assert lead.company.name == '=HYPERLINK("http://evil.example")'
    page = web.get(f"/leads/{lead.pk}/").content.decode()
    assert "<script>alert(1)" not in page and escape(SCRIPT) in page

    text = b"".join(web.get("/leads/export.csv").streaming_content).decode("utf-8-sig")
    row = next(csv.DictReader(io.StringIO(text)))
    assert [cell for cell in row.values() if cell and cell[0] in "=+-@\t\r"] == []
    cells = list(row.values())
    assert SCRIPT in cells and any(cell.endswith("=1+2") for cell in cells), cells


# --- a vendor answering garbage ---------------------------------------------------------------


@pytest.fixture
def vendor(httpserver: HTTPServer, settings):
    settings.HUNTER_API_URL = httpserver.url_for("/v2")
    settings.HUNTER_RATE_LIMIT = []
    settings.SYNC_MAX_ATTEMPTS = 1  # fail at the first fault, so the test reads the message
    return httpserver


@pytest.fixture
def hunter(user) -> Integration:
    return services.integration_create(
        user=user,
        provider="hunter",
        credentials={"api_key": "hunter-secret-key-0123456789"},
        settings={"import_list_id": 7},
    )


def _import(hunter: Integration) -> SyncRun:
    run = engine.run_claim(integration=hunter, direction="import")
    engine.run_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


def _lead_json(i: int, **fields) -> dict:
    return {"id": 1000 + i, "email": f"person{i}@vendor.example", "first_name": "Real", **fields}


GARBAGE_BODIES = {
    "html instead of json": ("<html><body>Bad gateway</body></html>", "text/html"),
    "html labelled as json": ("<html>Bad gateway", "application/json"),
    "truncated json": ('{"data": {"leads": [{"id": 1, "email": "a@b.co"', "application/json"),
    "a json string": ('"ok"', "application/json"),
    "a json list": ("[1, 2, 3]", "application/json"),
    "leads not a list": ('{"data": {"leads": "none"}, "meta": {}}', "application/json"),
    "no data at all": ('{"meta": {"total": 5}}', "application/json"),
}


@pytest.mark.parametrize("kind", GARBAGE_BODIES)
def test_a_vendor_answering_garbage_fails_the_run_with_a_message_and_stores_nothing(
    vendor, hunter, kind
):
    body, content_type = GARBAGE_BODIES[kind]
    vendor.expect_request("/v2/leads").respond_with_data(body, content_type=content_type)
    run = _import(hunter)
    assert run.state == "failed", (kind, run.state, run.error)
    assert "hunter" in run.error.lower() and len(run.error) < 500
    assert "not valid JSON" in run.error or "unexpected" in run.error, run.error
    assert Lead.objects.count() == 0


def test_an_error_body_in_a_200_fails_the_run_with_the_vendors_words(vendor, hunter):
    vendor.expect_request("/v2/leads").respond_with_json(
        {"errors": [{"id": "wrong_params", "code": 400, "details": "Leads list not found"}]}
    )
    run = _import(hunter)
    assert (run.state, run.error) == ("failed", "hunter: Leads list not found")
    assert Lead.objects.count() == 0


def test_records_of_the_wrong_types_are_failures_or_clean_values_never_garbage(vendor, hunter):
    leads = [
        _lead_json(1),
        _lead_json(2, email=12345),
        _lead_json(3, email=["x@y.co"]),
        _lead_json(4, email=f"{SCRIPT}@x.co"),
        _lead_json(5, first_name={"$ne": ""}, last_name=["a"], position=7, notes=True),
        {"id": None, "email": "noid@vendor.example"},
        {"id": {"x": 1}, "email": "objid@vendor.example"},
        "a string where a lead belongs",
        None,
        17,
    ]
    vendor.expect_request("/v2/leads").respond_with_json(
        {"data": {"leads": leads}, "meta": {"total": len(leads)}}
    )
    run = _import(hunter)
    assert run.state == "partial", (run.state, run.error)
    assert (run.processed, run.created, run.failed) == (len(leads), 2, len(leads) - 2)
    details = list(SyncFailure.objects.filter(run=run).values_list("record", "detail"))
    assert sorted(detail for record, detail in details if record.startswith("100")) == sorted(
        [
            "invalid email '[\"x@y.co\"]'",
            "invalid email '12345'",
            f"invalid email '{SCRIPT}@x.co'",
        ]
    ), details
    assert sum("without an id" in detail for _, detail in details) == 5, details
    stored = {lead.email: lead for lead in Lead.objects.all()}
    assert set(stored) == {"person1@vendor.example", "person5@vendor.example"}
    odd = stored["person5@vendor.example"]
    # Objects and lists are not names: dropped, not stored as their Python text.
    assert (odd.first_name, odd.last_name, odd.position, odd.notes) == ("", "", "7", "")


# --- a vendor redirecting to another host -------------------------------------------------------


def test_a_redirect_to_another_host_is_not_followed_and_the_key_stays_home(vendor, hunter):
    other = HTTPServer(host="127.0.0.1", port=0)
    other.start()
    try:
        other.expect_request("/steal").respond_with_json({"data": {"leads": []}})
        elsewhere = other.url_for("/steal")
        for path in ("/v2/leads", "/v2/leads_lists"):
            vendor.expect_request(path).respond_with_response(
                Response(status=302, headers={"Location": elsewhere})
            )
        run = _import(hunter)
        assert run.state == "failed"
        assert "redirected" in run.error and "check the API URL" in run.error
        # The connection test and the list picker say so too, in words.
        api = ApiClient(hunter.user)
        tested = api.post(f"/v1/integrations/{hunter.pk}/test").json()
        assert tested["ok"] is False and "redirected" in tested["detail"]
        lists = api.get(f"/v1/integrations/{hunter.pk}/lists")
        assert lists.status_code == 424 and "redirected" in lists.json()["detail"]
        assert other.log == [], "the other host was contacted"
        assert Lead.objects.count() == 0
        assert "hunter-secret-key" not in run.error
    finally:
        other.clear()
        other.stop()


# --- The last 500s (security review, issue 14 item 8) -------------------------------------
# '²' passes str.isdigit() but int() refuses it; huge ids overflow SQLite's integers; deeply
# nested JSON exhausts the parser's recursion. Each must be a clear answer, never a 500.

UNICODE_DIGITS = ("²", "¹²", "٣", "\uff11\uff12")  # superscripts, Arabic-Indic, full-width


@pytest.mark.parametrize("value", UNICODE_DIGITS)
@pytest.mark.parametrize(
    "path, name",
    [
        ("/leads/", "cursor"),
        ("/leads/", "company_id"),
        ("/leads/new/", "company"),
        ("/companies/options/", "company"),
        ("/companies/options/", "company_id"),
    ],
)
def test_unicode_digits_in_page_parameters_are_ignored_not_a_500(web, path, name, value):
    response = web.get(path, {name: value})
    assert response.status_code in (200, 400), (path, name, value, response.status_code)


@pytest.mark.parametrize("value", [*UNICODE_DIGITS, "99999999999999999999999"])
def test_odd_or_huge_ids_in_posted_forms_are_not_a_500(web, user, value):
    integration = services.integration_create(
        user=user,
        provider="hunter",
        credentials={"api_key": "hk_test_0123456789abcdef"},
        settings={"export_list_id": 8},
    )
    response = web.post(
        "/integrations/export/", {"integration": str(integration.pk), "lead_ids": [value]}
    )
    assert response.status_code in (302, 400), response.status_code
    response = web.post("/integrations/export/", {"integration": value, "lead_ids": ["1"]})
    assert response.status_code in (302, 400, 404), response.status_code
    response = web.post("/leads/bulk/", {"ids": [value], "action": "delete"})
    assert response.status_code in (200, 302, 400), response.status_code
    assert SyncRun.objects.count() == 0


@pytest.mark.parametrize("depth", [2_000, 100_000])
def test_deeply_nested_json_is_a_400_that_says_so(api, depth):
    body = "[" * depth + "]" * depth
    response = api.client.post("/v1/leads", body, content_type="application/json")
    assert response.status_code == 400, response.status_code
    assert "JSON" in response.json()["detail"]
    assert Lead.objects.count() == 0
