"""Small things that add up (issue 15 item 9)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.management.commands.ensureadmin import admin_url
from crm.templatetags.timeago import ago
from leads.bulk import CompanyFacts
from leads.normalize import normalize_domain
from leads.tests.conftest import ApiClient
from leads.tests.factories import UserFactory

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "just now"),
        (59, "just now"),
        (60, "1 minute ago"),
        (150, "2 minutes ago"),
        (3 * 3600 + 1200, "3 hours ago"),
        (86_400, "1 day ago"),
        (29 * 86_400, "29 days ago"),
        (-30, "just now"),
        (-7200, "in 2 hours"),
    ],
)
def test_relative_times_read_as_people_say_them(seconds, text):
    assert ago(NOW - dt.timedelta(seconds=seconds), NOW) == text


def test_older_than_a_month_is_a_date():
    assert ago(NOW - dt.timedelta(days=45), NOW).endswith("2026")
    assert ago(None) == "" and ago("yesterday") == ""


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("www.acme.com", "acme.com"),
        ("https://WWW.Acme.com/about", "acme.com"),
        ("wwwacme.com", "wwwacme.com"),
    ],
)
def test_domains_are_stored_without_www(typed, stored):
    assert normalize_domain(typed) == stored


@pytest.mark.django_db
def test_country_codes_are_upper_case_from_every_door():
    user = UserFactory()
    api = ApiClient(user)
    created = api.post("/v1/companies", {"name": "Acme", "domain": "www.acme.fr",
                                         "country_code": " fr "}).json()  # fmt: skip
    assert (created["domain"], created["country_code"]) == ("acme.fr", "FR")
    changed = api.patch(f"/v1/companies/{created['id']}", {"country_code": "de"}).json()
    assert changed["country_code"] == "DE"
    assert CompanyFacts(name="X", country_code="us").country_code == "US"


def test_the_first_admin_box_names_the_address_the_server_listens_on(monkeypatch):
    monkeypatch.delenv("WEB_BIND", raising=False)
    assert admin_url() == "http://127.0.0.1:8000/admin/"
    monkeypatch.setenv("WEB_BIND", "127.0.0.1:8123")
    assert admin_url() == "http://127.0.0.1:8123/admin/"
    monkeypatch.setenv("WEB_BIND", "0.0.0.0:9000")
    url = admin_url()
    assert url.endswith(":9000/admin/") and "0.0.0.0" not in url  # noqa: S104


@pytest.mark.django_db
def test_ensureadmin_prints_that_address(monkeypatch):
    monkeypatch.setenv("WEB_BIND", "127.0.0.1:8123")
    out = io.StringIO()
    call_command("ensureadmin", stdout=out)
    assert "Sign in at http://127.0.0.1:8123/admin/" in out.getvalue()


@pytest.mark.django_db
def test_the_empty_list_points_to_the_next_step_in_the_ui():
    client = Client()
    client.force_login(UserFactory())
    page = client.get("/leads/").content.decode()
    assert "via the API" not in page
    assert 'href="/leads/import/"' in page and 'href="/integrations/"' in page
