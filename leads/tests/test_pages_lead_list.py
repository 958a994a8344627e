"""The leads list page: match count, pages both ways, columns, company pickers, select-all."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leads import page_selectors
from leads.models import Lead, Status
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _body(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


class _Queries(CaptureQueriesContext):
    """Capture the queries of a request and keep them: a request empties Django's query log
    when it starts, and CaptureQueriesContext reads the log again on every len()."""

    def __enter__(self):
        reset_queries()
        return super().__enter__()

    def __exit__(self, *exc):
        super().__exit__(*exc)
        self.kept = list(self.connection.queries[self.initial_queries : self.final_queries])

    def __len__(self) -> int:
        return len(self.kept)


def _match_count(body: str) -> str:
    start = body.index('data-testid="match-count"')
    return body[start : body.index("</p>", start)]


# --- match count ------------------------------------------------------------------------------


def test_list_says_how_many_leads_match_the_filters(web, user, other_user, company):
    make_lead(user=user, company=company, email="ann@acme.com", first_name="Ann")
    make_lead(user=user, company=company, email="bob@acme.com", status=Status.CONTACTED)
    make_lead(user=user, email="cleo@globex.com", first_name="Cleo")
    for i in range(4):
        make_lead(user=other_user, email=f"x{i}@acme.com")  # never counted
    assert "<strong>3</strong> leads" in _match_count(_body(web, "/leads/"))
    assert "<strong>1</strong> lead matches these filters" in _match_count(
        _body(web, "/leads/?status=contacted")
    )
    assert "<strong>2</strong> leads match these filters" in _match_count(
        _body(web, f"/leads/?company_id={company.pk}")
    )
    # A search through the trigram index (3+ characters) and one too short for it.
    assert "<strong>2</strong> leads match" in _match_count(_body(web, "/leads/?q=acme"))
    assert "<strong>1</strong> lead matches" in _match_count(_body(web, "/leads/?q=cl"))
    assert "<strong>0</strong> leads match" in _match_count(_body(web, "/leads/?q=nobody"))


def test_match_count_is_capped(web, user, company, monkeypatch):
    monkeypatch.setattr(page_selectors, "MATCH_COUNT_CAP", 3)
    for i in range(5):
        make_lead(user=user, company=company, email=f"p{i}@acme.com")
    assert "<strong>3+</strong> leads" in _match_count(_body(web, "/leads/"))
    assert "<strong>3+</strong> leads match" in _match_count(_body(web, "/leads/?q=acme"))
    make_lead(user=user, email="solo@else.com", status=Status.LOST)
    assert "<strong>1</strong> lead matches" in _match_count(_body(web, "/leads/?status=lost"))


def test_match_count_label_has_thousands_separators():
    assert page_selectors.MatchCount(count=1234, more=False).label == "1,234"
    assert page_selectors.MatchCount(count=10_000, more=True).label == "10,000+"


def test_empty_account_shows_the_first_steps_not_a_count(web, other_user):
    make_lead(user=other_user, email="theirs@x.com")
    body = _body(web, "/leads/")
    assert "No leads yet" in body and 'data-testid="match-count"' not in body


def test_list_with_count_keeps_a_constant_number_of_queries(web, user, company):
    make_lead(user=user, company=company, email="one@me.com")
    with _Queries(connection) as few:
        _body(web, "/leads/")
    for i in range(30):
        make_lead(user=user, email=f"m{i}@me.com")
    with _Queries(connection) as many:
        _body(web, f"/leads/?q=me.com&status=new&company_id={company.pk}")
    assert len(many) == len(few)
    # session + user + page + count + column choice + the company choices + export providers
    assert 5 <= len(few) <= 7


def test_invalid_filters_are_not_counted(web, user):
    make_lead(user=user, email="a@me.com")
    body = _body(web, "/leads/?min_score=abc")
    assert 'data-testid="match-count"' not in body and "not valid" in body


def test_count_uses_another_company_of_the_user_only(web, user, other_user):
    theirs = CompanyFactory(user=other_user)
    make_lead(user=other_user, company=theirs, email="t@x.com")
    make_lead(user=user, email="m@x.com")
    body = _body(web, f"/leads/?company_id={theirs.pk}")
    assert "<strong>0</strong> leads match" in _match_count(body)


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"status": "contacted"},
        {"min_score": 40, "max_score": 80},
        {"status": "new", "min_score": 50},
        {"created_after": "2020-01-01"},
        {"q": "acme"},
        {"q": "acme", "status": "new"},
        {"q": "acme", "min_score": 10},
        {"q": "ac"},
        {"q": "globex", "company_id": "globex"},
    ],
)
def test_match_count_equals_the_orm_filter(user, other_user, filters):
    from leads.selectors import LeadFilters, filter_leads, lead_queryset

    acme = CompanyFactory(user=user, name="Acme", domain="acme.com")
    globex = CompanyFactory(user=user, name="Globex", domain="globex.com")
    statuses = [Status.NEW, Status.CONTACTED, Status.QUALIFIED]
    for i in range(24):
        make_lead(
            user=user,
            company=acme if i % 3 else globex,
            email=f"p{i}@{'acme' if i % 3 else 'globex'}.com",
            status=statuses[i % 3],
            score=(i * 7) % 101,
        )
        make_lead(user=other_user, email=f"o{i}@acme.com", status=statuses[i % 3])
    if filters.get("company_id") == "globex":
        filters = {**filters, "company_id": globex.pk}
    parsed = LeadFilters.from_cleaned(
        {
            **filters,
            "created_after": (
                dt.date.fromisoformat(filters["created_after"])
                if "created_after" in filters
                else None
            ),
        }
    )
    expected = filter_leads(lead_queryset(user=user), parsed).count()
    got = page_selectors.lead_match_count(user=user, filters=parsed)
    assert (got.count, got.more) == (expected, False)
    capped = page_selectors.lead_match_count(user=user, filters=parsed, cap=2)
    assert (capped.count, capped.more) == (min(expected, 2), expected > 2)


# --- previous and next pages --------------------------------------------------------------------


def _emails(body: str) -> list[str]:
    import re

    return re.findall(r'lead-email">(p\d+)@me\.com', body)


def _link(body: str, testid: str) -> str | None:
    import re

    found = re.search(rf'href="([^"]*)" data-testid="{testid}"', body)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_pages_go_forward_and_back_in_both_orders(web, user, company, order):
    for i in range(120):
        make_lead(user=user, company=company, email=f"p{i}@me.com", status=Status.NEW)
    make_lead(user=user, company=company, email="p999@me.com", status=Status.LOST)
    numbers = list(range(119, -1, -1)) if order == "newest" else list(range(120))
    expected = [[f"p{n}" for n in numbers[i : i + 50]] for i in (0, 50, 100)]
    path = f"/leads/?status=new&order={order}"
    first = _body(web, path)
    assert _emails(first) == expected[0]
    assert _link(first, "prev-page") is None and _link(first, "first-page") is None
    second = _body(web, "/leads/" + _link(first, "next-page"))
    assert _emails(second) == expected[1]
    third = _body(web, "/leads/" + _link(second, "next-page"))
    assert _emails(third) == expected[2] and _link(third, "next-page") is None
    # Back: the filters and the order stay, the same pages come back.
    back = _link(third, "prev-page")
    assert "status=new" in back and f"order={order}" in back and "cursor" not in back
    back_second = _body(web, "/leads/" + back)
    assert _emails(back_second) == expected[1]
    assert _link(back_second, "first-page") is not None
    back_first = _body(web, "/leads/" + _link(back_second, "prev-page"))
    assert _emails(back_first) == expected[0]
    assert _link(back_first, "prev-page") is None and _link(back_first, "next-page")


def test_previous_page_near_the_start_is_the_full_first_page(web, user, company):
    leads = [make_lead(user=user, company=company, email=f"p{i}@me.com") for i in range(60)]
    # "Before" the 55th newest: only 5 leads are newer, so the first page is shown whole.
    body = _body(web, f"/leads/?before={leads[55].pk}")
    assert _emails(body) == [f"p{n}" for n in range(59, 9, -1)]
    assert _link(body, "prev-page") is None and _link(body, "first-page") is None


def test_pages_both_ways_cost_a_constant_number_of_queries(web, user, company):
    leads = [make_lead(user=user, company=company, email=f"p{i}@me.com") for i in range(120)]
    with _Queries(connection) as forward:
        _body(web, f"/leads/?cursor={leads[70].pk}")
    with _Queries(connection) as backward:
        _body(web, f"/leads/?before={leads[20].pk}")
    assert len(backward) == len(forward)


def test_broken_before_cursor_shows_the_first_page(web, user, company):
    make_lead(user=user, company=company, email="p1@me.com")
    for raw in ("abc", "-5", "99999999999999999999999"):
        assert _emails(_body(web, f"/leads/?before={raw}")) == ["p1"]


# --- column chooser ---------------------------------------------------------------------------


def _header(body: str) -> str:
    return body[body.index("<thead>") : body.index("</thead>")]


def test_default_columns_are_score_and_created(web, user):
    make_lead(user=user, email="a@me.com")
    head = _header(_body(web, "/leads/"))
    assert "Score" in head and "Created" in head and "Phone" not in head


def test_chosen_columns_are_saved_per_user_and_shown_on_later_visits(web, user, other_user):
    from decimal import Decimal

    lead = make_lead(
        user=user,
        email="a@me.com",
        phone="+1 555 0100",
        position="CTO",
        source="Referral",
    )
    # The value is set straight on the row: writing it belongs to the lead form's work.
    Lead.objects.filter(pk=lead.pk).update(deal_value=Decimal("12500"))
    lead.refresh_from_db()
    make_lead(user=user, email="b@me.com")
    response = web.post(
        "/leads/columns/",
        {"columns": ["phone", "value", "owner", "last_activity"], "next": "/leads/?q=me"},
    )
    assert response.status_code == 302 and response["Location"] == "/leads/?q=me"
    body = _body(web, "/leads/")
    head = _header(body)
    for label in ("Phone", "Value", "Owner", "Last activity"):
        assert f">{label}<" in head
    assert ">Score<" not in head and "Created" not in head and ">Position<" not in head
    assert "+1 555 0100" in body and "$12,500.00" in body and "—" in body
    assert f'datetime="{lead.updated_at.isoformat()}"'[:30] in body
    assert '<td data-label="Owner">alice</td>' in body
    # Another person keeps the defaults.
    other = Client()
    other.force_login(other_user)
    make_lead(user=other_user, email="c@me.com")
    assert "Score" in _header(_body(other, "/leads/"))
    # Nothing chosen is a choice too: only name, company and status.
    web.post("/leads/columns/", {})
    head = _header(_body(web, "/leads/"))
    assert "Score" not in head and "Phone" not in head and "Company" in head


def test_unknown_column_is_refused_with_its_name(web, user):
    make_lead(user=user, email="a@me.com")
    response = web.post("/leads/columns/", {"columns": ["phone", "salary"]}, follow=True)
    body = response.content.decode()
    assert "Unknown column: salary" in body
    assert "Phone" not in _header(body)


def test_columns_form_needs_csrf_and_post(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/leads/columns/", {"columns": ["phone"]}).status_code == 403
    assert client.get("/leads/columns/").status_code == 405


def test_all_columns_add_no_query_per_row(web, user, company):
    web.post("/leads/columns/", {"columns": list(page_selectors.LIST_COLUMNS)})
    make_lead(user=user, company=company, email="one@me.com")
    with _Queries(connection) as few:
        _body(web, "/leads/")
    for i in range(30):
        make_lead(user=user, email=f"m{i}@me.com", phone=f"+1 555 {i:04d}")
    with _Queries(connection) as many:
        _body(web, "/leads/")
    assert len(many) == len(few)


def test_value_column_shows_the_amount_with_its_currency_or_a_dash(web, user, company):
    make_lead(user=user, company=company, email="v@me.com", deal_value="12500")
    make_lead(user=user, company=company, email="none@me.com")
    web.post("/leads/columns/", {"columns": ["value"]})
    body = _body(web, "/leads/")
    assert "$12,500.00" in body
    assert "—" in body


# --- company pickers --------------------------------------------------------------------------


def _company_select(body: str) -> str:
    start = body.index('name="company"')
    return body[start : body.index("</select>", start)]


def test_create_form_preselects_no_company_when_the_user_has_some(web, user, company):
    select = _company_select(_body(web, "/leads/new/"))
    assert '<option value="" selected>Choose a company…</option>' in select
    assert '<option value="new">+ New company…</option>' in select
    assert "Acme Corp" in select and select.count("selected") == 1
    assert 'id="id_company-find"' in _body(web, "/leads/new/")


def test_create_form_preselects_new_company_when_the_user_has_none(web, user, other_user):
    CompanyFactory(user=other_user, name="Theirs")
    body = _body(web, "/leads/new/")
    assert '<option value="new" selected>+ New company…</option>' in _company_select(body)
    assert "Theirs" not in body and 'id="id_company-find"' not in body


def test_create_needs_a_company_choice(web, user, company):
    response = web.post("/leads/new/", {"email": "a@b.com", "status": "new"})
    assert response.status_code == 422
    body = response.content.decode()
    assert 'id="id_company_error"' in body and "Choose one of your companies" in body
    response = web.post("/leads/new/", {"email": "a@b.com", "status": "new", "company": "new"})
    assert response.status_code == 422
    assert "Type the new company&#x27;s name." in response.content.decode()
    assert not Lead.objects.exists()
    response = web.post(
        "/leads/new/",
        {"email": "a@b.com", "status": "new", "company": "new", "new_company_name": "Fresh"},
    )
    assert response.status_code == 302
    assert Lead.objects.get().company.name == "Fresh"
    response = web.post("/leads/new/", {"email": "c@b.com", "status": "new", "company": company.pk})
    assert response.status_code == 302 and Lead.objects.get(email="c@b.com").company == company
    response = web.post("/leads/new/", {"email": "d@b.com", "status": "new", "company": "bogus"})
    assert response.status_code == 422 and "Choose one of your companies." in (
        response.content.decode()
    )


def test_create_form_search_keeps_the_new_company_option(web, user, company):
    body = _body(web, "/companies/options/?find=acm&empty=new")
    assert body.startswith(
        '<option value="">Choose a company…</option>\n<option value="new">+ New company…</option>'
    )
    assert "Acme Corp" in body
    body = _body(web, "/companies/options/?find=zzz&empty=new&company=new")
    assert '<option value="new" selected>+ New company…</option>' in body


def test_list_filter_offers_few_companies_and_a_search(web, user, monkeypatch):
    monkeypatch.setattr(page_selectors, "COMPANY_OPTIONS_LIMIT", 3)
    firms = [CompanyFactory(user=user, name=f"Firm {i:02d}") for i in range(8)]
    make_lead(user=user, company=firms[7], email="a@b.com")
    body = _body(web, f"/leads/?company_id={firms[7].pk}")
    start = body.index('id="f-company"')
    select = body[start : body.index("</select>", start)]
    # The chosen company stays (first), then the first three by name.
    assert select.count("<option value=") == 1 + 1 + 3
    assert f'<option value="{firms[7].pk}" selected>Firm 07 (' in select
    assert 'id="f-company-find"' in body
    assert "<strong>1</strong> lead matches" in _match_count(body)


# --- select all N matching ----------------------------------------------------------------------


def _matching_post(action: str, **extra) -> dict:
    return {"all_matching": "1", "action": action, "next": "/leads/?status=new", **extra}


@pytest.fixture
def mixed(user, other_user, company):
    """Six new leads at Acme, two contacted ones, and another user's new leads."""
    new = [make_lead(user=user, company=company, email=f"n{i}@acme.com") for i in range(6)]
    contacted = [
        make_lead(user=user, company=company, email=f"c{i}@acme.com", status=Status.CONTACTED)
        for i in range(2)
    ]
    theirs = [make_lead(user=other_user, email=f"t{i}@acme.com") for i in range(3)]
    return new, contacted, theirs


def test_list_carries_its_filters_for_select_all_matching(web, user, company, monkeypatch):
    from leads.pages import leads as views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for i in range(3):
        make_lead(user=user, company=company, email=f"p{i}@acme.com")
    body = _body(web, "/leads/?status=new&q=acme")
    assert '<input type="hidden" name="f_status" value="new">' in body
    assert '<input type="hidden" name="f_q" value="acme">' in body
    assert 'data-testid="select-all-matching">Select all 3 leads matching' in body
    # When the page holds every match there is nothing more to select.
    assert 'data-testid="select-matching"' not in _body(web, "/leads/?q=p1")


def test_status_change_of_every_matching_lead_inline(web, user, mixed):
    new, contacted, theirs = mixed
    with _Queries(connection) as ctx:
        response = web.post(
            "/leads/bulk/",
            # Ids from the page are ignored: the filters decide.
            _matching_post("status", status="lost", f_status="new", ids=[contacted[0].pk]),
        )
    assert response.status_code == 302 and response["Location"] == "/leads/?status=new"
    assert set(Lead.objects.filter(status="lost").values_list("id", flat=True)) == {
        lead.pk for lead in new
    }
    assert Lead.objects.filter(status="contacted").count() == 2
    assert all(Lead.objects.get(pk=t.pk).status == "new" for t in theirs)
    from leads.models import LeadEvent

    events = LeadEvent.objects.filter(to_status="lost")
    assert sorted(events.values_list("lead_id", flat=True)) == sorted(lead.pk for lead in new)
    assert {e.source for e in events} == {"ui"}
    assert "6 leads moved to Lost." in _body(web, "/leads/")
    few = len(ctx)
    for i in range(20):
        make_lead(user=user, email=f"more{i}@acme.com")
    with _Queries(connection) as ctx:
        web.post("/leads/bulk/", _matching_post("status", status="qualified", f_status="new"))
    assert Lead.objects.filter(status="qualified").count() == 20
    assert few > 0 and len(ctx) == few  # one batch either way: no query per lead


def test_delete_of_every_matching_lead_asks_first_with_the_count(web, user, mixed):
    new, _contacted, _theirs = mixed
    response = web.post("/leads/bulk/", _matching_post("delete", f_q="acme", f_status="new"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Delete 6 leads?" in body and 'data-testid="confirm-count">6 leads' in body
    assert '<input type="hidden" name="f_status" value="new">' in body
    assert '<input type="hidden" name="all_matching" value="1">' in body
    assert Lead.objects.count() == 11
    response = web.post(
        "/leads/bulk/", _matching_post("delete", f_q="acme", f_status="new", confirm="on")
    )
    assert response.status_code == 302
    assert not Lead.objects.filter(pk__in=[lead.pk for lead in new]).exists()
    assert Lead.objects.count() == 5
    assert "6 leads deleted." in _body(web, "/leads/")


def test_select_all_matching_refuses_bad_input_with_a_message(web, user, mixed):
    for data, message in (
        (_matching_post("status", status="lost", f_min_score="abc"), "The filters are not valid"),
        (_matching_post("status", status="nope"), "Choose the new status first."),
        (_matching_post("explode"), "Choose an action."),
    ):
        response = web.post("/leads/bulk/", data, follow=True)
        assert response.status_code == 200 and message in response.content.decode()
    assert Lead.objects.filter(status="lost").count() == 0


def test_many_matching_leads_become_a_background_job(
    web, user, other_user, mixed, monkeypatch, django_capture_on_commit_callbacks
):
    from leads import bulk_jobs
    from leads.models import LeadBulkJob, LeadEvent

    new, _contacted, _theirs = mixed
    monkeypatch.setattr(bulk_jobs, "INLINE_LIMIT", 2)
    monkeypatch.setattr(bulk_jobs, "BATCH_SIZE", 4)
    queued = []
    monkeypatch.setattr("leads.tasks.run_lead_bulk_job.delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(
            "/leads/bulk/", _matching_post("status", status="qualified", f_status="new")
        )
    job = LeadBulkJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/leads/bulk/jobs/{job.pk}/"
    assert queued == [job.pk]  # the worker's task, queued once the job is saved
    assert (job.total, job.state, job.filters, job.to_status) == (
        6,
        "queued",
        {"status": "new"},
        "qualified",
    )
    assert Lead.objects.filter(status="qualified").count() == 0
    body = _body(web, f"/leads/bulk/jobs/{job.pk}/")
    assert "Moving 6 leads to Qualified" in body and 'hx-trigger="every 1s"' in body
    # A lead added after the job was asked for is not swept in.
    late = make_lead(user=user, email="late@acme.com")
    seen = []
    state = bulk_jobs.lead_bulk_job_run(job_id=job.pk, after_batch=seen.append)
    assert state == "succeeded" and seen == [4, 6]
    assert set(Lead.objects.filter(status="qualified").values_list("id", flat=True)) == {
        lead.pk for lead in new
    }
    assert Lead.objects.get(pk=late.pk).status == "new"
    assert LeadEvent.objects.filter(to_status="qualified").count() == 6
    job.refresh_from_db()
    assert (job.processed, job.changed) == (6, 6)
    body = _body(web, f"/leads/bulk/jobs/{job.pk}/")
    assert "6 of 6 leads done" in body and "every 1s" not in body
    # Another person's job is a missing one.
    other = Client()
    other.force_login(other_user)
    assert other.get(f"/leads/bulk/jobs/{job.pk}/").status_code == 404
    assert other.post(f"/leads/bulk/jobs/{job.pk}/cancel/").status_code == 404
    # Running it again changes nothing.
    assert bulk_jobs.lead_bulk_job_run(job_id=job.pk) == "succeeded"
    assert LeadEvent.objects.filter(to_status="qualified").count() == 6


def test_background_delete_can_be_cancelled_between_batches(web, user, mixed, monkeypatch):
    from leads import bulk_jobs
    from leads.models import LeadBulkJob

    new, _contacted, _theirs = mixed
    monkeypatch.setattr(bulk_jobs, "INLINE_LIMIT", 2)
    monkeypatch.setattr(bulk_jobs, "BATCH_SIZE", 2)
    monkeypatch.setattr("leads.tasks.run_lead_bulk_job.delay", lambda job_id: None)
    confirm = web.post("/leads/bulk/", _matching_post("delete", f_status="new")).content.decode()
    assert "Delete 6 leads?" in confirm and "in the background" in confirm
    response = web.post("/leads/bulk/", _matching_post("delete", f_status="new", confirm="on"))
    job = LeadBulkJob.objects.get()
    assert response["Location"] == f"/leads/bulk/jobs/{job.pk}/"

    def cancel_after_first(processed: int) -> None:
        if processed == 2:
            web.post(f"/leads/bulk/jobs/{job.pk}/cancel/")

    state = bulk_jobs.lead_bulk_job_run(job_id=job.pk, after_batch=cancel_after_first)
    assert state == "cancelled"
    # The first batch went; the cancel stopped the job before the second.
    assert Lead.objects.filter(pk__in=[lead.pk for lead in new]).count() == 4
    body = _body(web, f"/leads/bulk/jobs/{job.pk}/")
    assert "Cancelled" in body and "2 of 6 leads done" in body and "cancel-job" not in body


def test_a_queued_job_cancelled_never_runs(web, user, mixed, monkeypatch):
    from leads import bulk_jobs
    from leads.models import LeadBulkJob

    monkeypatch.setattr(bulk_jobs, "INLINE_LIMIT", 2)
    monkeypatch.setattr("leads.tasks.run_lead_bulk_job.delay", lambda job_id: None)
    web.post("/leads/bulk/", _matching_post("status", status="lost", f_status="new"))
    job = LeadBulkJob.objects.get()
    response = web.post(f"/leads/bulk/jobs/{job.pk}/cancel/", follow=True)
    assert "Cancelled after 0 of 6 leads" in response.content.decode()
    assert bulk_jobs.lead_bulk_job_run(job_id=job.pk) == "cancelled"
    assert Lead.objects.filter(status="lost").count() == 0


def test_bulk_job_pages_need_csrf_and_sign_in(user, client):
    assert client.get("/leads/bulk/jobs/1/").status_code == 302
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post("/leads/bulk/jobs/1/cancel/").status_code == 403
    assert strict.post("/leads/bulk/", _matching_post("status", status="lost")).status_code == 403
