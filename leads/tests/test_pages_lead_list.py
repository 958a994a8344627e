"""The leads list page: match count, pages both ways, columns, company pickers, select-all."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
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
    with CaptureQueriesContext(connection) as few:
        _body(web, "/leads/")
    for i in range(30):
        make_lead(user=user, email=f"m{i}@me.com")
    with CaptureQueriesContext(connection) as many:
        _body(web, f"/leads/?q=me.com&status=new&company_id={company.pk}")
    assert len(many) == len(few)
    # session + user + page + count + column choice + the company choices + export providers
    assert len(few) <= 7


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
    with CaptureQueriesContext(connection) as forward:
        _body(web, f"/leads/?cursor={leads[70].pk}")
    with CaptureQueriesContext(connection) as backward:
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
    with CaptureQueriesContext(connection) as few:
        _body(web, "/leads/")
    for i in range(30):
        make_lead(user=user, email=f"m{i}@me.com", phone=f"+1 555 {i:04d}")
    with CaptureQueriesContext(connection) as many:
        _body(web, "/leads/")
    assert len(many) == len(few)


def test_money_is_written_with_the_currency(settings):
    from decimal import Decimal

    settings.CURRENCY = "USD"
    assert page_selectors.money(Decimal("12500")) == "$12,500.00"
    assert page_selectors.money(None) == "—"
    settings.CURRENCY = "CHF"
    assert page_selectors.money(Decimal("0.5")) == "CHF 0.50"


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
