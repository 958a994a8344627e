"""The Django admin for companies, leads and history: services, search, counts, safety."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads.admin import CappedCount, CappedCountPaginator
from leads.models import Company, Lead, LeadEvent, Source, Status
from leads.services import lead_set_status
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db

LEADS_URL = reverse("admin:leads_lead_changelist")
COMPANIES_URL = reverse("admin:leads_company_changelist")
EVENTS_URL = reverse("admin:leads_leadevent_changelist")


# --- helpers --------------------------------------------------------------------------------


class _FormFields(HTMLParser):
    """What a browser would post from the admin's main form (``<form id="…_form">``)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: list[tuple[str, str]] = []
        self._in_form = False
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._in_form = (a.get("id") or "").endswith("_form")
            return
        if not self._in_form or not a.get("name"):
            if tag == "option" and self._select is not None and "selected" in a:
                self.data.append((self._select, a.get("value") or ""))
            return
        name = a["name"]
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in {"submit", "button", "file", "image", "reset"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            self.data.append((name, a.get("value") or ("on" if kind == "checkbox" else "")))
        elif tag == "select":
            self._select = name
        elif tag == "textarea":
            self._textarea, self._text = name, []

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            self.data.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)


def form_data(response) -> dict[str, str]:
    assert response.status_code == 200
    parser = _FormFields()
    parser.feed(response.content.decode())
    data = dict(parser.data)
    assert data, "no form found"
    return data


def post_form(client, url: str, **changes):
    """GET the admin page, change some fields and POST it back like a browser would."""
    data = form_data(client.get(url))
    data.update({k: str(v) for k, v in changes.items()})
    data["_save"] = "Save"
    return client.post(url, data)


def lead_change_url(lead: Lead) -> str:
    return reverse("admin:leads_lead_change", args=[lead.pk])


def result_ids(response) -> list[int]:
    assert response.status_code == 200, response.content[:500]
    return [obj.pk for obj in response.context["cl"].result_list]


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def registered_admins(*models):
    return [admin.site._registry[model] for model in models]


def is_full_count(sql: str) -> bool:
    """A COUNT that is not bounded by a LIMIT reads the whole (filtered) table."""
    upper = sql.upper()
    return "COUNT(" in upper and "LIMIT" not in upper


@pytest.fixture
def leads(user, other_user, company):
    globex = CompanyFactory(user=other_user, name="Globex Industries", domain="globex.com")
    return {
        "jane": make_lead(
            user=user, company=company, email="jane@acme.com", first_name="Jane", last_name="Roe"
        ),
        "john": make_lead(
            user=user, company=company, email="john@acme.com", first_name="John", last_name="Doe"
        ),
        "hank": make_lead(
            user=other_user,
            company=globex,
            email="hank@globex.com",
            first_name="Hank",
            last_name="Scorpio",
        ),
    }


# --- pages load -----------------------------------------------------------------------------


def test_changelists_and_pages_load(admin_client, leads):
    lead = leads["jane"]
    event = LeadEvent.objects.filter(lead=lead).first()
    for url in [
        LEADS_URL,
        COMPANIES_URL,
        EVENTS_URL,
        lead_change_url(lead),
        reverse("admin:leads_lead_add"),
        reverse("admin:leads_company_change", args=[lead.company_id]),
        reverse("admin:leads_company_add"),
        reverse("admin:leads_leadevent_change", args=[event.pk]),
        f"{LEADS_URL}?status__exact=new&user__id__exact={lead.user_id}",
        f"{LEADS_URL}?{urlencode({'created_at__gte': '2000-01-01 00:00:00+00:00'})}",
        f"{COMPANIES_URL}?user__id__exact={lead.user_id}&q=acme",
        f"{EVENTS_URL}?source__exact=api&kind__exact=status",
    ]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
    response = admin_client.get(LEADS_URL)
    assert set(result_ids(response)) == {lead.pk for lead in leads.values()}
    assert b"jane@acme.com" in response.content
    assert b"Acme Corp" in response.content


# --- search ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("aCmE", {"jane", "john"}),  # part of the company name, any case
        ("INDUSTRIES", {"hank"}),
        ("JANE@ACME.COM", {"jane"}),  # the email
        ("n@acme", {"john"}),  # part of the email
        ("roe", {"jane"}),  # last name
        ("john acme", {"john"}),  # every word must match
        ("  jane   corp ", {"jane"}),
        ("jane globex", set()),  # words from two different leads
        ("50%", set()),  # LIKE wildcards are literal
        ("nobody", set()),
    ],
)
def test_search(admin_client, leads, q, expected):
    response = admin_client.get(LEADS_URL, {"q": q})
    assert set(result_ids(response)) == {leads[name].pk for name in expected}


def test_search_uses_search_text_column_without_join(admin_client, leads):
    with CaptureQueriesContext(connection) as ctx:
        admin_client.get(LEADS_URL, {"q": "acme"})
    searches = [q["sql"] for q in ctx.captured_queries if "search_text" in q["sql"]]
    assert searches
    # The count (the only query without select_related) filters one column, no join.
    counts = [sql for sql in searches if "COUNT(" in sql.upper()]
    assert counts and all("JOIN" not in sql.upper() for sql in counts)
    assert all("first_name" not in sql.split("WHERE", 1)[1] for sql in searches)


def test_search_rejects_control_characters(admin_client, leads):
    # \x1f joins the fields of search_text: a term containing it could match across them.
    response = admin_client.get(LEADS_URL, {"q": "jane\x01roe"})
    assert result_ids(response) == []
    assert any("control characters" in m for m in message_texts(response))
    # The separator itself is whitespace to str.split(): it only splits words.
    response = admin_client.get(LEADS_URL, {"q": "jane\x1froe"})
    assert result_ids(response) == [leads["jane"].pk]


def test_company_search(admin_client, leads):
    response = admin_client.get(COMPANIES_URL, {"q": "GLOBEX.C"})
    assert result_ids(response) == [leads["hank"].company_id]


# --- bulk status actions --------------------------------------------------------------------


def test_bulk_action_sets_status_through_service_and_writes_history(admin_client, leads):
    lead_set_status(lead=leads["john"], status=Status.CONTACTED, source=Source.API)
    selected = [lead.pk for lead in leads.values()]  # spans two owners
    before = LeadEvent.objects.count()

    response = admin_client.post(
        LEADS_URL, {"action": "mark_contacted", "_selected_action": selected}
    )

    assert response.status_code == 302
    assert set(Lead.objects.filter(pk__in=selected).values_list("status", flat=True)) == {
        Status.CONTACTED
    }
    new_events = LeadEvent.objects.order_by("id")[before:]
    assert sorted(e.lead_id for e in new_events) == sorted(
        [leads["jane"].pk, leads["hank"].pk]
    )  # john already was contacted: no change, no entry
    for event in new_events:
        assert event.source == Source.ADMIN
        assert event.from_status == Status.NEW
        assert event.to_status == Status.CONTACTED
        assert event.user_id == Lead.objects.get(pk=event.lead_id).user_id
    assert message_texts(response) == ["Marked 2 lead(s) as contacted. 1 already had that status."]


def test_bulk_action_on_all_matching_leads(admin_client, leads):
    response = admin_client.post(
        f"{LEADS_URL}?q=acme",
        {
            "action": "mark_lost",
            "select_across": "1",
            "index": "0",
            "_selected_action": [leads["jane"].pk],
        },
    )
    assert response.status_code == 302
    statuses = dict(Lead.objects.values_list("id", "status"))
    assert statuses[leads["jane"].pk] == statuses[leads["john"].pk] == Status.LOST
    assert statuses[leads["hank"].pk] == Status.NEW
    assert LeadEvent.objects.filter(source=Source.ADMIN, to_status=Status.LOST).count() == 2


def test_all_status_actions_are_offered(admin_client, leads):
    response = admin_client.get(LEADS_URL)
    choices = dict(response.context["action_form"].fields["action"].choices)
    for status in Status:
        assert choices[f"mark_{status.value}"] == f"Mark as {status.label.lower()}"


# --- the lead form --------------------------------------------------------------------------


def test_status_change_in_form_writes_history(admin_client, leads):
    lead = leads["jane"]
    old_changed_at = lead.status_changed_at

    response = post_form(admin_client, lead_change_url(lead), status=Status.QUALIFIED)

    assert response.status_code == 302, response.context and response.context.get("errors")
    lead.refresh_from_db()
    assert lead.status == Status.QUALIFIED
    assert lead.status_changed_at > old_changed_at
    event = LeadEvent.objects.filter(lead=lead).latest("id")
    assert (event.from_status, event.to_status, event.source) == (
        Status.NEW,
        Status.QUALIFIED,
        Source.ADMIN,
    )
    # The score was not touched: it is not a manual one.
    assert lead.score_is_manual is False


def test_saving_unchanged_form_writes_nothing(admin_client, leads):
    lead = leads["jane"]
    before = (LeadEvent.objects.count(), Lead.objects.get(pk=lead.pk).updated_at)
    response = post_form(admin_client, lead_change_url(lead))
    assert response.status_code == 302
    assert (LeadEvent.objects.count(), Lead.objects.get(pk=lead.pk).updated_at) == before


def test_form_edit_of_fields_keeps_search_text_and_marks_score_manual(admin_client, leads, user):
    lead = leads["jane"]
    other_company = CompanyFactory(user=user, name="Initech")
    response = post_form(
        admin_client,
        lead_change_url(lead),
        score=77,
        email="Jane.Roe@Initech.COM",
        company=other_company.pk,
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.score == 77
    assert lead.score_is_manual is True
    assert lead.email == "jane.roe@initech.com"
    assert lead.company_id == other_company.pk
    assert "initech" in lead.search_text
    assert "acme" not in lead.search_text
    response = admin_client.get(LEADS_URL, {"q": "initech"})
    assert result_ids(response) == [lead.pk]


def test_add_lead_goes_through_service(admin_client, user, company):
    url = reverse("admin:leads_lead_add")
    response = post_form(
        admin_client,
        url,
        user=user.pk,
        company=company.pk,
        status=Status.CONTACTED,
        email="New.Person@Acme.COM",
        first_name="New",
        last_name="Person",
        custom_attributes='{"tier": "gold"}',
    )
    assert response.status_code == 302
    lead = Lead.objects.get(email="new.person@acme.com")
    assert (lead.user_id, lead.company_id, lead.status) == (user.pk, company.pk, "contacted")
    assert lead.custom_attributes == {"tier": "gold"}
    assert lead.created_at and lead.updated_at and lead.status_changed_at
    assert "acme corp" in lead.search_text and "person" in lead.search_text
    assert lead.score_is_manual is False  # the score field was left alone
    events = list(LeadEvent.objects.filter(lead=lead))
    assert [(e.from_status, e.to_status, e.source) for e in events] == [
        (None, Status.CONTACTED, Source.ADMIN)
    ]
    assert response["Location"].startswith(LEADS_URL)


def test_add_lead_with_another_users_company_is_rejected(admin_client, user, other_user):
    bobs = CompanyFactory(user=other_user, name="Bob's Co")
    response = post_form(
        admin_client, reverse("admin:leads_lead_add"), user=user.pk, company=bobs.pk
    )
    assert response.status_code == 200
    assert "belongs to another user" in str(response.context["adminform"].form.errors["company"])
    assert not Lead.objects.exists()


def test_changing_company_to_another_users_company_is_rejected(admin_client, leads, other_user):
    lead = leads["jane"]
    bobs = Company.objects.get(user=other_user)
    events_before = LeadEvent.objects.count()

    response = post_form(admin_client, lead_change_url(lead), company=bobs.pk, status=Status.LOST)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["company"]
    assert "belongs to another user" in errors["company"][0]
    assert "alice" in errors["company"][0]
    lead.refresh_from_db()
    assert (lead.company_id, lead.status) == (leads["jane"].company_id, Status.NEW)
    assert LeadEvent.objects.count() == events_before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "JOHN@acme.com"}, "email"),  # john's, case-insensitively
        ({"email": "not an email"}, "email"),
        ({"score": 101}, "score"),
        ({"custom_attributes": "[1, 2]"}, "custom_attributes"),
        ({"custom_attributes": '{"a": 1}'}, "custom_attributes"),
    ],
)
def test_invalid_lead_form_shows_errors_not_500(admin_client, leads, changes, field):
    response = post_form(admin_client, lead_change_url(leads["jane"]), **changes)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert Lead.objects.get(pk=leads["jane"].pk).email == "jane@acme.com"


def test_dates_and_owner_are_read_only_on_change(admin_client, leads, other_user):
    lead = leads["jane"]
    form = admin_client.get(lead_change_url(lead)).context["adminform"].form
    for name in ["user", "created_at", "updated_at", "status_changed_at", "score_is_manual"]:
        assert name not in form.fields
    # Posting them anyway changes nothing.
    response = post_form(
        admin_client,
        lead_change_url(lead),
        user=other_user.pk,
        created_at="2001-01-01 00:00:00",
    )
    assert response.status_code == 302
    refreshed = Lead.objects.get(pk=lead.pk)
    assert (refreshed.user_id, refreshed.created_at) == (lead.user_id, lead.created_at)


def test_history_inline_is_read_only_and_newest_first(admin_client, leads):
    lead = leads["jane"]
    lead_set_status(lead=lead, status=Status.CONTACTED, source=Source.UI)
    lead_set_status(lead=lead, status=Status.QUALIFIED, source=Source.API)

    response = admin_client.get(lead_change_url(lead))

    (inline,) = response.context["inline_admin_formsets"]
    events = list(inline.formset.get_queryset())
    assert [e.to_status for e in events] == [Status.QUALIFIED, Status.CONTACTED, Status.NEW]
    assert not inline.has_add_permission
    assert not inline.has_change_permission
    assert not inline.has_delete_permission
    content = response.content.decode()
    assert "Web UI" in content and "history" in content.lower()


def test_company_autocomplete_is_limited_to_the_lead_owner(admin_client, leads, user, company):
    lead = leads["jane"]
    page = admin_client.get(lead_change_url(lead)).content.decode()
    match = re.search(r'data-ajax--url="([^"]+)"', page)
    assert match
    url = match.group(1).replace("&amp;", "&")
    assert f"owner={user.pk}" in url

    params = {"app_label": "leads", "model_name": "lead", "field_name": "company", "term": ""}
    # select2 appends its parameters to the widget's URL.
    limited = admin_client.get(f"{url}&{urlencode(params)}").json()
    assert [r["id"] for r in limited["results"]] == [str(company.pk)]
    unlimited = admin_client.get(reverse("admin:autocomplete"), params).json()
    assert len(unlimited["results"]) == Company.objects.count() == 2
    by_term = admin_client.get(reverse("admin:autocomplete"), {**params, "term": "globex"})
    assert [r["text"] for r in by_term.json()["results"]] == ["Globex Industries"]


# --- counting -------------------------------------------------------------------------------


def test_capped_paginator_counts_at_most_cap(user, company, monkeypatch):
    for i in range(5):
        make_lead(user=user, company=company, email=f"p{i}@acme.com")
    monkeypatch.setattr(CappedCountPaginator, "cap", 3)
    queryset = Lead.objects.select_related("company").order_by("-id")

    with CaptureQueriesContext(connection) as ctx:
        paginator = CappedCountPaginator(queryset, 2)
        count = paginator.count
    assert count == 3
    assert isinstance(count, CappedCount) and paginator.is_capped
    assert str(count) == "3+" and f"{count}" == "3+"
    assert paginator.num_pages == 2
    (query,) = ctx.captured_queries
    sql = query["sql"].upper()
    assert "COUNT(" in sql and "LIMIT 4" in sql and "JOIN" not in sql and "ORDER BY" not in sql

    exact = CappedCountPaginator(queryset.filter(email__in=["p0@acme.com", "p1@acme.com"]), 2)
    assert exact.count == 2 and type(exact.count) is int and not exact.is_capped
    at_cap = CappedCountPaginator(queryset[:3], 2)
    assert at_cap.count == 3 and not at_cap.is_capped
    assert CappedCountPaginator([1, 2, 3, 4, 5], 2).count == 5


@pytest.mark.parametrize(
    "url",
    [
        LEADS_URL,
        f"{LEADS_URL}?q=acme",
        f"{LEADS_URL}?status__exact=new&_facets=1",
        f"{LEADS_URL}?p=2",
        COMPANIES_URL,
        f"{COMPANIES_URL}?q=acme&_facets=1",
        EVENTS_URL,
        f"{EVENTS_URL}?source__exact=api&_facets=1",
    ],
)
def test_changelists_never_run_a_full_count(admin_client, user, company, url, monkeypatch):
    for i in range(4):
        make_lead(user=user, company=company, email=f"c{i}@acme.com")
    for model_admin in registered_admins(Lead, Company, LeadEvent):
        monkeypatch.setattr(model_admin, "list_per_page", 2)

    with CaptureQueriesContext(connection) as ctx:
        response = admin_client.get(url)

    assert response.status_code == 200
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts, "the list was not counted at all"
    assert not [sql for sql in counts if is_full_count(sql)]


def test_full_count_detector_sees_djangos_full_count(admin_client, user, company, monkeypatch):
    # The check above would catch a full count: Django's own one is flagged.
    make_lead(user=user, company=company, email="e@acme.com")
    (lead_admin,) = registered_admins(Lead)
    monkeypatch.setattr(lead_admin, "show_full_result_count", True)
    with CaptureQueriesContext(connection) as ctx:
        assert admin_client.get(LEADS_URL, {"q": "acme"}).status_code == 200
    assert [q["sql"] for q in ctx.captured_queries if is_full_count(q["sql"])]


def test_changelist_shows_a_capped_count(admin_client, user, company, monkeypatch):
    for i in range(5):
        make_lead(user=user, company=company, email=f"d{i}@acme.com")
    monkeypatch.setattr(CappedCountPaginator, "cap", 3)
    (lead_admin,) = registered_admins(Lead)
    monkeypatch.setattr(lead_admin, "list_per_page", 2)

    response = admin_client.get(LEADS_URL)

    assert response.status_code == 200
    assert "3+ leads" in response.content.decode()
    assert len(result_ids(response)) == 2
    assert admin_client.get(LEADS_URL, {"p": "2"}).status_code == 200


def test_lead_changelist_query_count_does_not_grow_with_rows(admin_client, user, other_user):
    def make(n: int, start: int) -> None:
        for i in range(start, start + n):
            owner = user if i % 2 else other_user
            company = CompanyFactory(user=owner)
            make_lead(user=owner, company=company, email=f"q{i}@example.com", first_name="Q")

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(url).status_code == 200
        return len(ctx.captured_queries)

    make(5, 0)
    admin_client.get(LEADS_URL)  # warm the session and content-type caches
    few = [queries(LEADS_URL), queries(f"{LEADS_URL}?q=example"), queries(EVENTS_URL)]
    make(25, 5)
    many = [queries(LEADS_URL), queries(f"{LEADS_URL}?q=example"), queries(EVENTS_URL)]
    assert few == many


# --- deleting -------------------------------------------------------------------------------


def test_deleting_a_company_with_leads_is_refused_with_a_message(admin_client, leads, company):
    url = reverse("admin:leads_company_delete", args=[company.pk])
    lead_ids = {leads["jane"].pk, leads["john"].pk}

    page = admin_client.get(url)
    assert page.status_code == 200
    assert "still has 2 lead(s)" in page.content.decode()

    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 200
    assert "Cannot delete" in response.content.decode()
    assert Company.objects.filter(pk=company.pk).exists()
    assert set(Lead.objects.filter(pk__in=lead_ids).values_list("id", flat=True)) == lead_ids


def test_bulk_deleting_companies_with_leads_is_refused_with_a_message(
    admin_client, leads, company, user
):
    empty = CompanyFactory(user=user, name="Empty Co")
    selected = [company.pk, empty.pk, leads["hank"].company_id]
    lead_count = Lead.objects.count()

    response = admin_client.post(
        COMPANIES_URL,
        {"action": "delete_selected", "_selected_action": selected, "post": "yes"},
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "Cannot delete" in content
    assert "Acme Corp” still has 2 lead(s)" in content
    assert "Globex Industries” still has 1 lead(s)" in content
    assert Company.objects.filter(pk__in=selected).count() == 3  # all or nothing
    assert Lead.objects.count() == lead_count


def test_deleting_companies_without_leads_works(admin_client, user):
    one, two, three = (CompanyFactory(user=user) for _ in range(3))
    response = admin_client.post(
        reverse("admin:leads_company_delete", args=[one.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    response = admin_client.post(
        COMPANIES_URL,
        {"action": "delete_selected", "_selected_action": [two.pk, three.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Company.objects.exists()


def test_deleting_a_lead_deletes_its_history(admin_client, leads):
    lead = leads["jane"]
    response = admin_client.post(
        reverse("admin:leads_lead_delete", args=[lead.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Lead.objects.filter(pk=lead.pk).exists()
    assert not LeadEvent.objects.filter(lead_id=lead.pk).exists()
    assert Company.objects.filter(pk=lead.company_id).exists()


# --- companies ------------------------------------------------------------------------------


def test_company_add_and_rename_go_through_services(admin_client, user, leads, company):
    response = post_form(
        admin_client,
        reverse("admin:leads_company_add"),
        user=user.pk,
        name="Umbrella",
        domain="https://WWW.Umbrella.COM/about",
    )
    assert response.status_code == 302
    assert Company.objects.get(name="Umbrella").domain == "umbrella.com"  # www. dropped

    response = post_form(
        admin_client, reverse("admin:leads_company_change", args=[company.pk]), name="Acme Rockets"
    )
    assert response.status_code == 302
    # The leads' search text followed the new name.
    assert set(result_ids(admin_client.get(LEADS_URL, {"q": "rockets"}))) == {
        leads["jane"].pk,
        leads["john"].pk,
    }
    assert result_ids(admin_client.get(LEADS_URL, {"q": "acme corp"})) == []


def test_company_duplicate_domain_is_a_form_error(admin_client, user, company):
    other = CompanyFactory(user=user, name="Other", domain="other.com")
    response = post_form(
        admin_client, reverse("admin:leads_company_change", args=[other.pk]), domain="ACME.com"
    )
    assert response.status_code == 200
    assert "domain" in response.context["adminform"].form.errors
    assert Company.objects.get(pk=other.pk).domain == "other.com"


# --- history admin --------------------------------------------------------------------------


def test_history_admin_is_view_only(admin_client, leads):
    event = LeadEvent.objects.filter(lead=leads["jane"]).first()
    change_url = reverse("admin:leads_leadevent_change", args=[event.pk])

    assert admin_client.get(reverse("admin:leads_leadevent_add")).status_code == 403
    assert admin_client.get(change_url).status_code == 200
    assert admin_client.post(change_url, {"source": "ui"}).status_code == 403
    delete_url = reverse("admin:leads_leadevent_delete", args=[event.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    response = admin_client.get(EVENTS_URL)
    assert response.status_code == 200
    assert response.context["action_form"] is None or "delete_selected" not in dict(
        response.context["action_form"].fields["action"].choices
    )
    assert "new" in response.content.decode() and "→" in response.content.decode()
    assert LeadEvent.objects.filter(pk=event.pk, source=Source.API).exists()


def test_history_admin_filters(admin_client, leads):
    lead_set_status(lead=leads["jane"], status=Status.CONTACTED, source=Source.UI)
    response = admin_client.get(EVENTS_URL, {"source__exact": "ui"})
    events = response.context["cl"].result_list
    assert [(e.lead_id, e.to_status) for e in events] == [(leads["jane"].pk, Status.CONTACTED)]


def test_user_list_filter_is_titled_owner(admin_client, leads):
    response = admin_client.get(LEADS_URL)
    titles = [spec.title for spec in response.context["cl"].filter_specs]
    assert titles == ["status", "do not contact", "email status", "owner", "created at"]


def test_view_only_staff_gets_no_status_actions(client, leads):
    staff = UserFactory(username="viewer", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_lead"))
    client.force_login(staff)

    response = client.get(LEADS_URL)
    assert response.status_code == 200
    assert response.context["action_form"] is None or not [
        name
        for name, _ in response.context["action_form"].fields["action"].choices
        if name.startswith("mark_")
    ]
    client.post(LEADS_URL, {"action": "mark_lost", "_selected_action": [leads["jane"].pk]})
    assert Lead.objects.get(pk=leads["jane"].pk).status == Status.NEW
    assert client.get(lead_change_url(leads["jane"])).status_code == 200
    assert post_form(client, lead_change_url(leads["jane"])).status_code == 403
