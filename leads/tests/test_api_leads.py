from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import SEARCH_TRIGRAM_INDEX, Lead, LeadEvent
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = pytest.mark.django_db


def _ids(response) -> list[int]:
    return [lead["id"] for lead in response.json()["data"]]


# --- create / read / update / delete -----------------------------------------------------------


def test_create_returns_the_whole_lead_with_location(api, company):
    response = api.post(
        "/v1/leads",
        {
            "company_id": company.pk,
            "email": "Alice@Example.COM",
            "first_name": "Alice",
            "last_name": "Smith",
            "notes": "met at a fair",
            "score": 40,
            "custom_attributes": {"plan": "pro"},
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == f"/v1/leads/{body['id']}"
    assert body["email"] == "alice@example.com"
    assert body["status"] == "new"
    assert body["score"] == 40
    assert body["user_id"] == api.user.pk
    assert body["company"] == {"id": company.pk, "name": "Acme Corp", "domain": "acme.com"}
    assert body["custom_attributes"] == {"plan": "pro"}
    assert body["status_changed_at"] == body["created_at"]
    assert body["created_at"].endswith("Z")
    assert set(body) == {
        "id", "user_id", "company_id", "company", "status", "score", "notes", "email",
        "first_name", "last_name", "position", "phone", "linkedin_url", "source",
        "custom_attributes", "status_changed_at", "created_at", "updated_at",
        "do_not_contact", "do_not_contact_reason", "email_status", "email_verified_at",
        "email_verified_by", "deal_value", "expected_close_date",
    }  # fmt: skip


def test_create_defaults(api, company):
    body = api.post("/v1/leads", {"company_id": company.pk}).json()
    assert body["status"] == "new"
    assert body["score"] == 0
    assert body["notes"] == ""
    assert body["email"] == ""
    assert body["custom_attributes"] == {}


def test_create_records_first_history_entry(api, company):
    lead_id = api.post("/v1/leads", {"company_id": company.pk, "status": "contacted"}).json()["id"]
    history = api.get(f"/v1/leads/{lead_id}/history").json()
    assert history["next_cursor"] is None
    [entry] = history["data"]
    assert entry["from_status"] is None
    assert entry["to_status"] == "contacted"
    assert entry["source"] == "api"
    assert entry["provider"] is None


def test_get_patch_delete(api, company):
    lead = make_lead(user=api.user, company=company, email="a@b.com")
    assert api.get(f"/v1/leads/{lead.pk}").json()["email"] == "a@b.com"

    response = api.patch(f"/v1/leads/{lead.pk}", {"status": "qualified", "notes": "hot"})
    assert response.status_code == 200
    assert response.json()["status"] == "qualified"
    assert response.json()["notes"] == "hot"

    assert api.delete(f"/v1/leads/{lead.pk}").status_code == 204
    assert api.get(f"/v1/leads/{lead.pk}").status_code == 404
    assert not Lead.objects.filter(pk=lead.pk).exists()


def test_trailing_slash_optional_and_never_redirects(api, company):
    lead = make_lead(user=api.user, company=company)
    for path in ["/v1/leads", "/v1/leads/", f"/v1/leads/{lead.pk}", f"/v1/leads/{lead.pk}/",
                 "/v1/leads/stats", "/v1/leads/stats/", f"/v1/leads/{lead.pk}/history/",
                 "/v1/companies/", f"/v1/companies/{company.pk}/"]:  # fmt: skip
        assert api.get(path).status_code == 200, path
    assert api.post("/v1/leads/", {"company_id": company.pk}).status_code == 201


def test_patch_all_writable_fields(api, company):
    other_company = CompanyFactory(user=api.user, name="Globex")
    lead = make_lead(user=api.user, company=company)
    changes = {
        "company_id": other_company.pk,
        "status": "lost",
        "score": 77,
        "notes": "n",
        "email": "New@Mail.com",
        "first_name": "F",
        "last_name": "L",
        "position": "CTO",
        "phone": "+1 555",
        "linkedin_url": "https://linkedin.com/in/x",
        "source": "fair",
        "custom_attributes": {"k": "v"},
    }
    body = api.patch(f"/v1/leads/{lead.pk}", changes).json()
    assert body["company"]["name"] == "Globex"
    assert body["email"] == "new@mail.com"
    for field in ["status", "score", "notes", "first_name", "position", "custom_attributes"]:
        assert body[field] == changes[field]
    lead.refresh_from_db()
    assert lead.score_is_manual is True
    # The search column follows the new company and name.
    assert api.get("/v1/leads", {"q": "globex"}).json()["data"][0]["id"] == lead.pk


def test_status_change_writes_history_and_same_status_does_not(api, company):
    lead = make_lead(user=api.user, company=company)
    created_changed_at = api.get(f"/v1/leads/{lead.pk}").json()["status_changed_at"]

    api.patch(f"/v1/leads/{lead.pk}", {"status": "new", "notes": "same status"})
    body = api.get(f"/v1/leads/{lead.pk}").json()
    assert body["status_changed_at"] == created_changed_at
    assert LeadEvent.objects.filter(lead=lead).count() == 1

    api.patch(f"/v1/leads/{lead.pk}", {"status": "contacted"})
    api.patch(f"/v1/leads/{lead.pk}", {"status": "lost"})
    api.patch(f"/v1/leads/{lead.pk}", {"status": "new"})  # a lost lead can be reopened
    history = api.get(f"/v1/leads/{lead.pk}/history").json()["data"]
    assert [(e["from_status"], e["to_status"]) for e in history] == [
        ("lost", "new"),
        ("contacted", "lost"),
        ("new", "contacted"),
        (None, "new"),
    ]
    assert api.get(f"/v1/leads/{lead.pk}").json()["status_changed_at"] > created_changed_at


def test_history_is_paginated(api, company):
    lead = make_lead(user=api.user, company=company)
    for status in ["contacted", "qualified", "lost", "new", "contacted"]:
        api.patch(f"/v1/leads/{lead.pk}", {"status": status})
    first = api.get(f"/v1/leads/{lead.pk}/history", {"limit": 4}).json()
    assert len(first["data"]) == 4
    second = api.get(
        f"/v1/leads/{lead.pk}/history", {"limit": 4, "cursor": first["next_cursor"]}
    ).json()
    assert len(second["data"]) == 2
    assert second["next_cursor"] is None
    assert api.get(f"/v1/leads/{lead.pk}/history", {"status": "new"}).status_code == 400


def test_put_is_not_allowed(api, company):
    lead = make_lead(user=api.user, company=company)
    assert api.put(f"/v1/leads/{lead.pk}", {"status": "lost"}).status_code == 405


# --- list filters -----------------------------------------------------------------------------


@pytest.fixture
def pipeline(api, company):
    """A small, varied pipeline for filter tests."""
    globex = CompanyFactory(user=api.user, name="Globex", domain="globex.com")

    def lead(company, **data):
        return make_lead(user=api.user, company=company, **data)

    leads = {
        "alice": lead(company, first_name="Alice", email="alice@acme.com", status="new", score=10),
        "natalia": lead(
            company,
            first_name="Natalia",
            last_name="Ray",
            email="nat@acme.com",
            status="contacted",
            score=50,
        ),
        "bob": lead(globex, first_name="Bob", email="bob@globex.com", status="qualified", score=90),
        "zed": lead(globex, first_name="Zed", last_name="Alinsky", status="lost", score=100),
    }  # fmt: skip
    return {"leads": leads, "globex": globex, "acme": company}


def test_list_newest_first(api, pipeline):
    leads = pipeline["leads"]
    assert _ids(api.get("/v1/leads")) == [
        leads["zed"].pk,
        leads["bob"].pk,
        leads["natalia"].pk,
        leads["alice"].pk,
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "contacted"}, ["natalia"]),
        ({"min_score": "50"}, ["zed", "bob", "natalia"]),
        ({"max_score": "50"}, ["natalia", "alice"]),
        ({"min_score": "50", "max_score": "90"}, ["bob", "natalia"]),
        ({"min_score": "100", "max_score": "100"}, ["zed"]),
        ({"q": "ali"}, ["zed", "natalia", "alice"]),  # Alinsky, Natalia, Alice
        ({"q": "ALI"}, ["zed", "natalia", "alice"]),
        ({"q": "globex"}, ["zed", "bob"]),  # company name
        ({"q": "@acme"}, ["natalia", "alice"]),  # email
        ({"q": "ray"}, ["natalia"]),  # last name
        ({"q": "100%"}, []),  # wildcards are literal
        ({"q": "_"}, []),
        ({"email": "BOB@globex.com"}, ["bob"]),
        ({"email": "nobody@x.com"}, []),
        ({"status": "lost", "q": "ali", "min_score": "95"}, ["zed"]),
    ],
)
def test_list_filters(api, pipeline, params, expected):
    leads = pipeline["leads"]
    assert _ids(api.get("/v1/leads", params)) == [leads[name].pk for name in expected]


def test_q_does_not_match_across_fields(api, company):
    lead = make_lead(user=api.user, company=company, first_name="Ann", last_name="Lee",
                     email="al@x.com")  # fmt: skip
    assert _ids(api.get("/v1/leads", {"q": "annlee"})) == []
    # The full name is one field (api.md: "q=Alice Martin finds Alice Martin")...
    assert _ids(api.get("/v1/leads", {"q": "ann lee"})) == [lead.pk]
    # ...but the name, the email and the company stay apart.
    assert _ids(api.get("/v1/leads", {"q": "lee al@"})) == []
    assert _ids(api.get("/v1/leads", {"q": "x.com acme"})) == []


def test_q_is_case_insensitive_beyond_ascii(api, company):
    lead = make_lead(user=api.user, company=company, last_name="Ödegaard")
    assert _ids(api.get("/v1/leads", {"q": "öDEG"})) == [lead.pk]
    assert _ids(api.get("/v1/leads", {"q": "odeg"})) == [lead.pk]  # and accents


def test_filter_by_company(api, pipeline):
    leads = pipeline["leads"]
    assert _ids(api.get("/v1/leads", {"company_id": pipeline["globex"].pk})) == [
        leads["zed"].pk,
        leads["bob"].pk,
    ]
    assert _ids(api.get("/v1/leads", {"company_id": 999999})) == []


def test_company_rename_keeps_search_in_step(api, pipeline):
    api.patch(f"/v1/companies/{pipeline['globex'].pk}", {"name": "Initech"})
    assert _ids(api.get("/v1/leads", {"q": "initech"})) == [
        pipeline["leads"]["zed"].pk,
        pipeline["leads"]["bob"].pk,
    ]
    assert _ids(api.get("/v1/leads", {"q": "globex.com"})) == [pipeline["leads"]["bob"].pk]


def _set_created(lead: Lead, when: dt.datetime) -> None:
    Lead.objects.filter(pk=lead.pk).update(created_at=when)


def test_date_filters_are_inclusive_calendar_days(api, company):
    utc = dt.UTC
    jan1 = make_lead(user=api.user, company=company)
    jan31_late = make_lead(user=api.user, company=company)
    feb1 = make_lead(user=api.user, company=company)
    dec31 = make_lead(user=api.user, company=company)
    _set_created(jan1, dt.datetime(2026, 1, 1, 0, 0, 0, tzinfo=utc))
    _set_created(jan31_late, dt.datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=utc))
    _set_created(feb1, dt.datetime(2026, 2, 1, 0, 0, 0, tzinfo=utc))
    _set_created(dec31, dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=utc))

    january = {"created_after": "2026-01-01", "created_before": "2026-01-31"}
    assert _ids(api.get("/v1/leads", january)) == [jan31_late.pk, jan1.pk]
    assert _ids(api.get("/v1/leads", {"created_after": "2026-02-01"})) == [feb1.pk]
    assert _ids(api.get("/v1/leads", {"created_before": "2025-12-31"})) == [dec31.pk]
    same_day = {"created_after": "2026-02-01", "created_before": "2026-02-01"}
    assert _ids(api.get("/v1/leads", same_day)) == [feb1.pk]


def test_date_filters_use_the_server_time_zone(api, company, settings):
    settings.TIME_ZONE = "America/New_York"
    lead = make_lead(user=api.user, company=company)
    # 03:00 UTC on 2 March is still 1 March in New York.
    _set_created(lead, dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC))
    day = {"created_after": "2026-03-01", "created_before": "2026-03-01"}
    assert _ids(api.get("/v1/leads", day)) == [lead.pk]


# --- cursor pagination ------------------------------------------------------------------------


def test_cursor_walks_every_lead_once(api, company):
    created = [make_lead(user=api.user, company=company).pk for _ in range(23)]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        body = api.get("/v1/leads", params).json()
        seen += [lead["id"] for lead in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert cursor == body["data"][-1]["id"]
    assert seen == sorted(created, reverse=True)
    assert pages == 5


def test_next_cursor_null_exactly_when_nothing_follows(api, company):
    for _ in range(4):
        make_lead(user=api.user, company=company)
    full = api.get("/v1/leads", {"limit": 4}).json()
    assert len(full["data"]) == 4
    assert full["next_cursor"] is None
    assert api.get("/v1/leads", {"limit": 3}).json()["next_cursor"] is not None


def test_cursor_is_stable_while_leads_are_created(api, company):
    for _ in range(10):
        make_lead(user=api.user, company=company)
    first = api.get("/v1/leads", {"limit": 4}).json()
    for _ in range(5):  # new leads arrive while the client pages
        make_lead(user=api.user, company=company)
    rest: list[int] = []
    cursor = first["next_cursor"]
    while cursor:
        body = api.get("/v1/leads", {"limit": 4, "cursor": cursor}).json()
        rest += _ids_from(body)
        cursor = body["next_cursor"]
    held = _ids_from(first) + rest
    assert len(held) == len(set(held)) == 10


def _ids_from(body: dict) -> list[int]:
    return [lead["id"] for lead in body["data"]]


def test_cursor_combines_with_filters(api, company):
    wanted = [make_lead(user=api.user, company=company, status="qualified").pk for _ in range(7)]
    for _ in range(7):
        make_lead(user=api.user, company=company, status="new")
    first = api.get("/v1/leads", {"status": "qualified", "limit": 5}).json()
    second = api.get(
        "/v1/leads", {"status": "qualified", "limit": 5, "cursor": first["next_cursor"]}
    ).json()
    assert _ids_from(first) + _ids_from(second) == sorted(wanted, reverse=True)
    assert second["next_cursor"] is None


def test_default_and_maximum_limit(api, company):
    for _ in range(205):
        make_lead(user=api.user, company=company)
    assert len(api.get("/v1/leads").json()["data"]) == 50
    assert len(api.get("/v1/leads", {"limit": 200}).json()["data"]) == 200
    assert len(api.get("/v1/leads", {"limit": 1}).json()["data"]) == 1


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "99999999999999999999999999"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"cursor": "abc"}, "cursor"),
        ({"cursor": "0"}, "cursor"),
        ({"cursor": "-5"}, "cursor"),
        ({"cursor": "99999999999999999999999999"}, "cursor"),
        ({"status": "won"}, "status"),
        ({"status": ""}, "status"),
        ({"company_id": "x"}, "company_id"),
        ({"company_id": "99999999999999999999999999"}, "company_id"),
        ({"min_score": "-1"}, "min_score"),
        ({"max_score": "101"}, "max_score"),
        ({"min_score": "abc"}, "min_score"),
        ({"min_score": "60", "max_score": "40"}, "min_score"),
        ({"created_after": "2026-13-01"}, "created_after"),
        ({"created_after": "11/22/2026"}, "created_after"),
        ({"created_before": "2026-02-30"}, "created_before"),
        ({"created_before": "2026-01-01T00:00:00"}, "created_before"),
        ({"q": "a\x00b"}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"statuss": "new"}, "statuss"),
        ({"page": "2"}, "page"),
        ({"offset": "10"}, "offset"),
    ],
)
def test_bad_query_parameters_are_400_naming_the_parameter(api, company, params, field):
    response = api.get("/v1/leads", params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body
    assert isinstance(body[field], list)
    assert all(isinstance(message, str) and message for message in body[field])


def test_repeated_parameter_is_400(api):
    response = api.client.get("/v1/leads?status=new&status=lost")
    assert response.status_code == 400
    assert "status" in response.json()


def test_stats_rejects_pagination_and_unknown_parameters(api):
    for params in [{"cursor": "5"}, {"limit": "5"}, {"bogus": "1"}]:
        response = api.get("/v1/leads/stats", params)
        assert response.status_code == 400
        assert next(iter(params)) in response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "company_id"),
        ({"company_id": None}, "company_id"),
        ({"company_id": "abc"}, "company_id"),
        ({"company_id": 999999}, "company_id"),
        ({"company_id": 10**30}, "company_id"),
        ({"status": "won"}, "status"),
        ({"score": 101}, "score"),
        ({"score": -1}, "score"),
        ({"score": "high"}, "score"),
        ({"score": 10.5}, "score"),
        ({"email": "not-an-email"}, "email"),
        ({"email": None}, "email"),
        ({"notes": None}, "notes"),
        ({"first_name": "x" * 151}, "first_name"),
        ({"first_name": "nul\x00byte"}, "first_name"),
        ({"custom_attributes": {"n": 5}}, "custom_attributes"),
        ({"custom_attributes": {"ok": "yes", "bad": None}}, "custom_attributes"),
        ({"custom_attributes": ["a"]}, "custom_attributes"),
        ({"custom_attributes": "x"}, "custom_attributes"),
        ({"custom_attributes": {"nested": {"a": "b"}}}, "custom_attributes"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
    ],
)
def test_bad_create_bodies_are_400_naming_the_field(api, company, body, field):
    payload = {"company_id": company.pk, **body}
    if body == {}:
        payload = {}
    response = api.post("/v1/leads", payload)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Lead.objects.count() == 0


def test_custom_attribute_error_names_the_key(api, company):
    response = api.post("/v1/leads", {"company_id": company.pk, "custom_attributes": {"seats": 12}})
    assert "seats" in response.json()["custom_attributes"][0]


def test_duplicate_email_is_400_case_insensitively(api, company):
    make_lead(user=api.user, company=company, email="dup@acme.com")
    response = api.post("/v1/leads", {"company_id": company.pk, "email": "DUP@Acme.com"})
    assert response.status_code == 400
    assert "email" in response.json()
    other = make_lead(user=api.user, company=company, email="other@acme.com")
    response = api.patch(f"/v1/leads/{other.pk}", {"email": "Dup@acme.com"})
    assert response.status_code == 400
    assert "email" in response.json()
    # Keeping its own email is not a clash.
    assert api.patch(f"/v1/leads/{other.pk}", {"email": "OTHER@acme.com"}).status_code == 200


def test_same_email_is_fine_for_two_users(api, other_api, company):
    make_lead(user=api.user, company=company, email="shared@x.com")
    theirs = CompanyFactory(user=other_api.user)
    response = other_api.post("/v1/leads", {"company_id": theirs.pk, "email": "shared@x.com"})
    assert response.status_code == 201


def test_read_only_fields_sent_back_are_ignored(api, company):
    lead = make_lead(user=api.user, company=company)
    body = api.get(f"/v1/leads/{lead.pk}").json()
    body["notes"] = "edited"
    body["id"] = 12345
    body["created_at"] = "2000-01-01T00:00:00Z"
    response = api.patch(f"/v1/leads/{lead.pk}", body)
    assert response.status_code == 200
    assert response.json()["id"] == lead.pk
    assert response.json()["notes"] == "edited"
    assert response.json()["created_at"] != "2000-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        ("{not json", "application/json"),
        ('{"company_id": NaN}', "application/json"),
        ("[1, 2]", "application/json"),
        ("company_id=1", "application/x-www-form-urlencoded"),
        ('"just a string"', "application/json"),
    ],
)
def test_malformed_bodies_are_4xx_with_detail(api, company, raw, content_type):
    response = api.client.post("/v1/leads", raw, content_type=content_type)
    assert response.status_code in (400, 415)
    assert response.json()
    assert Lead.objects.count() == 0


def test_bad_patch_changes_nothing(api, company):
    lead = make_lead(user=api.user, company=company, notes="keep me", score=5)
    response = api.patch(f"/v1/leads/{lead.pk}", {"notes": "lost?", "score": 500})
    assert response.status_code == 400
    lead.refresh_from_db()
    assert lead.notes == "keep me"
    assert lead.score == 5


def test_ids_out_of_range_are_404(api):
    assert api.get("/v1/leads/99999999999999999999").status_code == 404
    assert api.get("/v1/leads/0").status_code == 404
    assert api.get("/v1/leads/abc").status_code == 404
    assert api.get("/v1/leads/abc").json() == {"detail": "Not found."}


# --- stats ------------------------------------------------------------------------------------


def test_stats_counts_by_status_with_filters(api, pipeline):
    body = api.get("/v1/leads/stats").json()
    assert body == {
        "total": 4,
        "by_status": {"new": 1, "contacted": 1, "qualified": 1, "converted": 0, "lost": 1},
        "value_by_status": dict.fromkeys(
            ["new", "contacted", "qualified", "converted", "lost"], "0.00"
        ),
    }
    filtered = api.get("/v1/leads/stats", {"company_id": pipeline["globex"].pk}).json()
    assert filtered["total"] == 2
    assert filtered["by_status"]["qualified"] == 1
    assert api.get("/v1/leads/stats", {"min_score": "90", "q": "zed"}).json()["total"] == 1


def test_stats_for_a_user_without_leads(api):
    body = api.get("/v1/leads/stats").json()
    assert body["total"] == 0
    assert set(body["by_status"]) == {"new", "contacted", "qualified", "converted", "lost"}


# --- cost -------------------------------------------------------------------------------------


def _count_queries(api, path, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_query_count_is_constant_whatever_the_limit(api, company):
    for index in range(60):
        make_lead(
            user=api.user,
            company=company if index % 2 else CompanyFactory(user=api.user),
            custom_attributes={"i": str(index)},
        )
    api.get("/v1/leads")  # warm up: the token's last_used_at write happens once a minute
    small = _count_queries(api, "/v1/leads", {"limit": 1})
    large = _count_queries(api, "/v1/leads", {"limit": 200})
    filtered = _count_queries(api, "/v1/leads", {"limit": 200, "status": "new", "q": "company"})
    assert small == large == filtered
    # The token lookup (with its user) and the page itself: the rate-limit counter is not
    # in the main database.
    assert large == 2


def test_company_list_query_count_is_constant(api):
    for _ in range(30):
        company = CompanyFactory(user=api.user)
        make_lead(user=api.user, company=company)
    api.get("/v1/companies")
    assert _count_queries(api, "/v1/companies", {"limit": 1}) == _count_queries(
        api, "/v1/companies", {"limit": 200}
    )


def test_updated_at_moves_on_change(api, company):
    lead = make_lead(user=api.user, company=company)
    before = Lead.objects.get(pk=lead.pk).updated_at
    Lead.objects.filter(pk=lead.pk).update(updated_at=timezone.now() - dt.timedelta(days=1))
    api.patch(f"/v1/leads/{lead.pk}", {"notes": "x"})
    assert Lead.objects.get(pk=lead.pk).updated_at >= before


def test_search_index_follows_every_write(api, company):
    """On SQLite, `q` of 3+ characters reads the trigram index: it must never go stale."""
    lead = make_lead(user=api.user, company=company, first_name="Quentin")
    assert _ids(api.get("/v1/leads", {"q": "quent"})) == [lead.pk]
    api.patch(f"/v1/leads/{lead.pk}", {"first_name": "Rupert"})
    assert _ids(api.get("/v1/leads", {"q": "quent"})) == []
    assert _ids(api.get("/v1/leads", {"q": "upert"})) == [lead.pk]
    api.patch(f"/v1/companies/{company.pk}", {"name": "Zanzibar Trading"})
    assert _ids(api.get("/v1/leads", {"q": "zanzib"})) == [lead.pk]
    api.delete(f"/v1/leads/{lead.pk}")
    assert _ids(api.get("/v1/leads", {"q": "upert"})) == []


def test_search_uses_the_trigram_index_and_agrees_with_a_plain_scan(api, company):
    names = ["Anna", "Hannah", "Joanna", "Ann-Marie", "Nan", "Diana", 'Say "hi"']
    for name in names:
        make_lead(user=api.user, company=company, first_name=name)
    for term in ["ann", "anna", "nna", "an", 'y "h', "xyz", "corp"]:
        with CaptureQueriesContext(connection) as ctx:
            found = _ids(api.get("/v1/leads", {"q": term}))
        expected = sorted(
            (
                lead.pk
                for lead in Lead.objects.filter(user=api.user).select_related("company")
                if term in lead.first_name.lower() or term in lead.company.name.lower()
            ),
            reverse=True,
        )
        assert found == expected, term
        if connection.vendor == "sqlite":
            uses_index = any("MATCH" in q["sql"] for q in ctx.captured_queries)
            assert uses_index == (len(term) >= 3), term
        elif len(term) >= 3:
            assert _trigram_index_serves(term), term


def _trigram_index_serves(term: str) -> bool:
    """PostgreSQL: whether the pg_trgm index (migrations 0004, 0005, 0016) can answer `q`'s LIKE.

    Whether the planner picks it depends on table statistics (a handful of rows here are
    cheaper to scan), so the question is asked with sequential scans off.
    """
    sql, params = (
        Lead.objects.filter(search_text__contains=term).values("id").query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = " ".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan")
    return SEARCH_TRIGRAM_INDEX in plan


def test_stats_with_q_counts_through_the_trigram_index(api, company):
    for name in ["Quinn", "Quincy", "Bob"]:
        make_lead(user=api.user, company=company, first_name=name)
    with CaptureQueriesContext(connection) as ctx:
        body = api.get("/v1/leads/stats", {"q": "quin"}).json()
    assert body["total"] == 2
    if connection.vendor == "sqlite":
        assert any("MATCH" in q["sql"] for q in ctx.captured_queries)
    # On PostgreSQL the count is the ORM's LIKE, which the planner serves from the pg_trgm
    # index when statistics say so (checked in the test above).


def test_stats_with_ranges_agree_with_a_plain_count(api, company):
    import random

    rng = random.Random(7)
    statuses = ["new", "contacted", "qualified", "converted", "lost"]
    leads = [
        make_lead(user=api.user, company=company, score=rng.randint(0, 100),
                  status=rng.choice(statuses))
        for _ in range(40)
    ]  # fmt: skip
    for index, lead in enumerate(leads):
        when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=index)
        Lead.objects.filter(pk=lead.pk).update(created_at=when)
    other = make_lead(user=CompanyFactory().user, score=90)  # another user's lead never counts
    assert other.score == 90
    for params in [
        {"min_score": "30"},
        {"max_score": "60", "created_after": "2026-01-10"},
        {"created_after": "2026-01-05", "created_before": "2026-01-20", "status": "new"},
        {"min_score": "0", "max_score": "100", "created_before": "2026-02-01"},
    ]:
        with CaptureQueriesContext(connection) as ctx:
            body = api.get("/v1/leads/stats", params).json()
        # Read the captured SQL now: the connection's query log is a bounded deque, so
        # later queries can shift what the context's slice points at.
        sqls = [q["sql"] for q in ctx.captured_queries]
        expected = dict.fromkeys(statuses, 0)
        for row in api.get("/v1/leads", {**params, "limit": "200"}).json()["data"]:
            expected[row["status"]] += 1
        assert body["by_status"] == expected, params
        if connection.vendor == "sqlite":
            # PostgreSQL's planner needs no hint: there the ORM's own count is used.
            assert any("INDEXED BY" in sql for sql in sqls), params
