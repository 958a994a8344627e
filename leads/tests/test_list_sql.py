"""The hand-written page statement (leads.list_sql) against the ORM's filter_leads.

Every filter alone, every pair and all together, both orders, walked page by page: the pages
must hold exactly the leads filter_leads finds, in id order, and each row must be what the
detail view serialises for that lead.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads import list_sql, page_selectors, selectors
from leads.models import (
    SEARCH_INDEX_TABLE,
    SEARCH_TRIGRAM_INDEX,
    SEARCH_WALK_INDEX,
    STATUS_ORDER,
    STATUS_SCORE_INDEX,
    Lead,
    Role,
    Team,
    TeamMembership,
)
from leads.scope import Scope
from leads.selectors import LeadFilters, filter_leads, lead_list, lead_queryset, lead_to_dict
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _no_sure_walk(monkeypatch):
    # The tests' probes read a few leads, so every walk would read few enough to run without
    # the weighing (SEARCH_WALK_SURE): the tests that weigh the walk set it themselves.
    monkeypatch.setattr(list_sql, "SEARCH_WALK_SURE", 0)


@pytest.fixture
def data(user, other_user):
    acme = CompanyFactory(user=user, name="Acme", domain="acme.com")
    globex = CompanyFactory(user=user, name="Globex", domain="")
    theirs = CompanyFactory(user=other_user, name="Acme", domain="acme.com")
    people = [
        ("Ann", "Smith", acme, "new", 10, "ann@acme.com"),
        ("Bob", "Smithers", acme, "contacted", 55, ""),
        ("Cleo", "100%_sure", globex, "qualified", 80, "cleo@globex.com"),
        ("Dev", "Jones", globex, "new", 55, "dev@globex.com"),
        ("Eve", "Smith", acme, "lost", 99, "eve@acme.com"),
        ("Finn", "O'Brien", globex, "converted", 0, "finn@globex.com"),
        ("Gus", "Back\\slash", acme, "new", 70, ""),
    ]
    leads = []
    for i, (first, last, company, status, score, email) in enumerate(people):
        lead = make_lead(
            user=user,
            company=company,
            first_name=first,
            last_name=last,
            status=status,
            score=score,
            email=email,
            custom_attributes={"rank": str(i)} if i % 2 else {},
        )
        created = timezone.make_aware(
            dt.datetime.combine(TODAY - dt.timedelta(days=i * 10), dt.time(12))
        )
        Lead.objects.filter(pk=lead.pk).update(
            created_at=created,
            do_not_contact=i % 3 == 1,
            email_status=("valid", "invalid", "unknown")[i % 3],
            email_verified_at=created if i % 3 != 2 else None,
            email_verified_by="hunter" if i % 3 != 2 else None,
        )
        leads.append(lead)
    make_lead(user=other_user, company=theirs, first_name="Ann", last_name="Smith", score=55)
    # user_id: the viewer, then someone outside their scope (a rep's scope is themselves).
    return {"acme": acme.pk, "globex": globex.pk, "theirs": theirs.pk,
            "owners": [user.pk, other_user.pk]}  # fmt: skip


def _choices(data) -> dict[str, list]:
    return {
        "status": ["new", "lost"],
        "company_id": [data["acme"], data["theirs"]],
        "min_score": [55],
        "max_score": [55, 80],
        "created_after": [TODAY - dt.timedelta(days=30)],
        "created_before": [TODAY - dt.timedelta(days=10), TODAY],
        "q": ["smith", "sm", "100%_", "%", "_", "back\\sl", "ann smith", "@acme.com", "zzz"],
        "email": ["ANN@acme.com", "nobody@x.io"],
        "do_not_contact": [True, False],
        "email_status": ["invalid", "accept_all"],
        "user_id": data["owners"],
    }


def _walk(user, filters: LeadFilters, *, oldest_first: bool, limit: int = 2) -> list[int]:
    ids, cursor = [], None
    while True:
        page = lead_list(
            user=user, filters=filters, cursor=cursor, limit=limit, oldest_first=oldest_first
        )
        ids += [row["id"] for row in page.data]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def _combinations(data):
    choices = _choices(data)
    yield {}
    for name, values in choices.items():
        for value in values:
            yield {name: value}
    for (a, va), (b, vb) in itertools.combinations(choices.items(), 2):
        yield {a: va[0], b: vb[-1]}
    yield {name: values[0] for name, values in choices.items()}


def _assert_pages_match_filter_leads(user, combination: dict) -> None:
    """Walking the pages both ways finds exactly the leads the ORM's filter_leads finds."""
    filters = LeadFilters(**combination)
    expected = list(
        filter_leads(lead_queryset(user=user), filters).order_by("id").values_list("id", flat=True)
    )
    assert _walk(user, filters, oldest_first=True) == expected, combination
    assert _walk(user, filters, oldest_first=False) == expected[::-1], combination


def test_pages_hold_exactly_what_filter_leads_finds(user, data):
    tried = 0
    for combination in _combinations(data):
        _assert_pages_match_filter_leads(user, combination)
        tried += 1
    assert tried >= 45


def _manager(user, other_user):
    """A manager of a team of ``user`` and ``other_user``, with a lead of their own, and an
    outsider with a lead; and the owners a filter by user_id may name."""
    team = Team.objects.create(name="Sales")
    manager = UserFactory(username="manager")
    TeamMembership.objects.create(user=manager, team=team, role=Role.MANAGER)
    for member in (user, other_user):
        TeamMembership.objects.create(user=member, team=team, role=Role.REP)
    outsider = UserFactory(username="outsider")
    make_lead(user=outsider, first_name="Ann", last_name="Smith", score=55)
    make_lead(user=manager, first_name="Mia", last_name="Smith", status="lost", score=80)
    manager = type(manager).objects.select_related("crm_membership").get(pk=manager.pk)
    assert len(Scope.of(manager).owner_ids) == 3
    return manager, outsider, [other_user.pk, manager.pk, outsider.pk]


def test_a_managers_pages_hold_exactly_what_filter_leads_finds(user, other_user, data):
    """A manager's scope is several owners (``user_id IN (...)``), narrowed by user_id to
    one of them, to another (a member's leads, the "theirs" company), or to nobody."""
    manager, outsider, owners = _manager(user, other_user)
    tried = 0
    for combination in _combinations({**data, "owners": owners}):
        _assert_pages_match_filter_leads(manager, combination)
        tried += 1
    assert tried >= 45
    # user_id narrows to exactly that owner's leads.
    mine = LeadFilters(user_id=other_user.pk)
    assert _walk(manager, mine, oldest_first=True) == list(
        Lead.objects.filter(user=other_user).order_by("id").values_list("id", flat=True)
    )
    assert _walk(manager, LeadFilters(user_id=outsider.pk), oldest_first=False) == []


def test_wide_creation_windows_walk_the_ids_and_find_the_same_pages(user, data, monkeypatch):
    """On SQLite a window holding many leads is read along the id order, not from the
    (user, created_at) index (bench/bench_filters.py: 200 ms -> 1 ms at 500,000 leads); the
    pages are the same either way."""
    window = {"created_after": TODAY - dt.timedelta(days=3650), "created_before": TODAY}
    for wide in (2, 10_000):  # every window is wide, then none is
        monkeypatch.setattr(list_sql, "WIDE_WINDOW", wide)
        monkeypatch.setattr(list_sql, "WIDE_BARE_WINDOW", wide)
        for combination in _combinations(data):
            _assert_pages_match_filter_leads(user, {**combination, **window})
    if connection.vendor != "sqlite":
        return
    monkeypatch.setattr(list_sql, "WIDE_WINDOW", 2)
    monkeypatch.setattr(list_sql, "WIDE_BARE_WINDOW", 2)
    assert "lead_user_created" not in _plan(user, window)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the id walk is SQLite's plan")
def test_with_other_filters_a_window_must_be_wider_before_the_walk(user, data, monkeypatch):
    """Alone, every lead the walk reads in the window is on the page; with a rare status and
    a narrow score the walk may pass the whole window and every older lead (bench_filters:
    a week of 3,000 leads among 500,000, 47 ms walking, 0.7 ms from the date index)."""
    monkeypatch.setattr(list_sql, "WIDE_BARE_WINDOW", 2)
    monkeypatch.setattr(list_sql, "WIDE_WINDOW", 10_000)
    window = {"created_after": TODAY - dt.timedelta(days=3650), "created_before": TODAY}
    assert "lead_user_created" not in _plan(user, window)
    assert "lead_user_created" in _plan(user, {**window, "status": "lost", "min_score": 90})
    _assert_pages_match_filter_leads(user, {**window, "status": "lost", "min_score": 90})


def _plan(user, window) -> str:
    sql, params = list_sql.lead_page_sql(
        LeadFilters(**window),
        scope=Scope.of(user),
        cursor=None,
        limit=2,
        oldest_first=False,
        trigram=False,
    )
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return " ".join(str(row) for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the id walk is SQLite's plan")
def test_a_wide_window_far_behind_many_newer_leads_keeps_the_date_index(user, data, monkeypatch):
    """Walking from the newest lead would pass every lead newer than the window first
    (bench_filters: a rare status and one week a month back, 51 ms -> 1 ms)."""
    monkeypatch.setattr(list_sql, "WIDE_WINDOW", 2)
    monkeypatch.setattr(list_sql, "WIDE_BARE_WINDOW", 2)
    # Three leads in the window (days 40-60 back), four newer than it (days 0-30 back).
    window = {
        "created_after": TODAY - dt.timedelta(days=3650),
        "created_before": TODAY - dt.timedelta(days=40),
    }
    assert "lead_user_created" in _plan(user, window)
    _assert_pages_match_filter_leads(user, window)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the count is SQLite's plan choice")
def test_a_window_judged_not_wide_is_not_counted_again_for_a_while(
    user, other_user, data, monkeypatch
):
    """A window judged not wide is kept per scope, window end and bound for
    NOT_WIDE_SECONDS, so the board's columns and the next pages of the same month skip the
    counts: one whose end has enough newer leads (inserts only add more), and one that ended
    before today (it gets no new leads). A window that ends today is counted every time;
    another scope counts its own; once the time is up the counts run again."""
    monkeypatch.setattr(list_sql, "WIDE_WINDOW", 2)
    monkeypatch.setattr(list_sql, "WIDE_BARE_WINDOW", 2)
    start = TODAY - dt.timedelta(days=3650)
    behind = LeadFilters(created_after=start, created_before=TODAY - dt.timedelta(days=40))
    today = LeadFilters(created_after=start, created_before=timezone.localdate())
    pages: dict[tuple[int, LeadFilters], set[tuple[int, ...]]] = {}

    def counts(person, window: LeadFilters) -> int:
        with CaptureQueriesContext(connection) as queries:
            page = lead_list(user=person, filters=window, cursor=None, limit=2)
        pages.setdefault((person.pk, window), set()).add(tuple(lead["id"] for lead in page.data))
        return sum("SELECT COUNT(*)" in q["sql"] for q in queries.captured_queries)

    # The user's 4 leads newer than the window: it keeps the date index, counted once.
    assert counts(user, behind) == 1
    assert counts(user, behind) == 0
    # The other user's one lead is newer: too few, so the window is counted too, and holds
    # none of their leads (not wide); it ended before today, so that is kept.
    assert counts(other_user, behind) == 2
    assert counts(other_user, behind) == 0
    # Ending today, the window may still fill: counted every time.
    assert counts(other_user, today) == 2
    assert counts(other_user, today) == 2
    monkeypatch.setattr(list_sql, "NOT_WIDE_SECONDS", 0.0)
    assert counts(user, behind) == 1
    # The same page each time, and the ORM's.
    for (owner, window), seen in pages.items():
        person = user if owner == user.pk else other_user
        expected = filter_leads(lead_queryset(user=person), window).order_by("-id")[:2]
        assert seen == {tuple(lead.pk for lead in expected)}


def _search_plan(user, filters: dict) -> list[str]:
    """SQLite's plan for a page of ``filters``, as lead_list runs it, one line a step."""
    chosen = LeadFilters(**filters)
    sql, params = list_sql.lead_page_sql(
        chosen,
        scope=Scope.of(user),
        cursor=None,
        limit=2,
        oldest_first=False,
        trigram=selectors._use_trigram_index(chosen),
    )
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return [str(row[-1]) for row in cursor.fetchall()]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's trigram index and planner")
def test_a_search_in_a_narrow_window_reads_the_window_not_the_term(user, data, monkeypatch):
    """A window holding fewer leads than NARROW_SEARCH_WINDOW is read from the date index and
    each lead tested (bench_filters: a week and "rober", 17 ms walking the term's matches,
    1.4 ms reading the week's 3,600 leads); a wider one walks the trigram index, which the
    plan reads first whatever the statistics (a ten-year window read first and looked up in
    the trigram index took 4.6 s without them). The pages are the same either way."""
    window = {"created_after": TODAY - dt.timedelta(days=30), "created_before": TODAY}
    narrow = _search_plan(user, {**window, "q": "smith"})
    assert not any(SEARCH_INDEX_TABLE in step for step in narrow), narrow
    assert any("lead_user_created" in step for step in narrow), narrow
    for combination in _combinations(data):
        if len(combination.get("q") or "") >= 3:
            _assert_pages_match_filter_leads(user, {**combination, **window})
    monkeypatch.setattr(list_sql, "NARROW_SEARCH_WINDOW", 0)
    wide = _search_plan(user, {**window, "q": "smith", "min_score": 10})
    assert wide[0].startswith(f"SCAN {SEARCH_INDEX_TABLE}"), wide
    tried = 0
    for combination in _combinations(data):
        if len(combination.get("q") or "") >= 3:
            _assert_pages_match_filter_leads(user, {**combination, **window})
            tried += 1
    assert tried >= 6


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's trigram index and planner")
def test_a_search_walk_tests_each_match_in_the_walk_index_before_its_row(user, data, monkeypatch):
    """The walk over the trigram index's matches looks each one up by id in
    SEARCH_WALK_INDEX (migration 0017), which holds the owner, status, score and company:
    a match failing them costs no row read (bench: "rober" under a rare status and a narrow
    score passes 42 of 14,800 matches, 25 -> 13 ms). The list's page and the figures both
    (a company is read from its own index instead, _use_trigram_index)."""
    # A status and a score range of few leads are read whole instead (narrow_scores).
    monkeypatch.setattr(list_sql, "NARROW_SEARCH_SCORES", 0)
    filters = {"q": "smith", "status": "new", "min_score": 10, "max_score": 90}
    seek = (
        f"USING INDEX {SEARCH_WALK_INDEX} (id=? AND user_id=? AND status=? AND score>? AND score<?)"
    )
    page = _search_plan(user, filters)
    assert page[0].startswith(f"SCAN {SEARCH_INDEX_TABLE}"), page
    assert any(seek in step for step in page), page
    figures = _source_plan(user, filters)
    assert any(seek in step for step in figures), figures
    _assert_pages_match_filter_leads(user, filters)


def _figures_match_filter_leads(user, combination: dict) -> None:
    """lead_stats' counts and lead_match_count equal what filter_leads finds."""
    filters = LeadFilters(**combination)
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for status in filter_leads(lead_queryset(user=user), filters).values_list("status", flat=True):
        counts[status] += 1
    assert selectors.lead_stats(user=user, filters=filters)["by_status"] == counts, combination
    found = page_selectors.lead_match_count(user=user, filters=filters)
    assert found.count == sum(counts.values()), combination


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's trigram index and planner")
def test_a_search_under_a_status_and_score_range_of_few_leads_reads_those(
    user, other_user, data, monkeypatch
):
    """A status and a score range passing fewer leads than NARROW_SEARCH_SCORES are read from
    STATUS_SCORE_INDEX (migration 0018) and each tested for the term, for the page and the
    figures, instead of walking every match of the term (bench_filters: "rober" under
    "converted" and 95-100, 42 of 14,800 matches, 13 ms; the 2,971 leads read 5 ms). More
    leads than that, no status or no range, or the status "new", which the index leaves out
    (so that imports of new leads write nothing to it), walk the term. The pages and figures
    are the same either way, for a rep and for a manager's scope of several owners."""
    seek = f"USING INDEX {STATUS_SCORE_INDEX} (<expr>=? AND status=? AND score>? AND score<?)"
    filters = {"q": "smith", "status": "lost", "min_score": 5, "max_score": 99}
    page = _search_plan(user, filters)
    assert any(seek in step for step in page), page
    assert not any(SEARCH_INDEX_TABLE in step for step in page), page
    figures = _source_plan(user, filters)
    assert any(seek in step for step in figures), figures
    for other in (
        {"q": "smith", "min_score": 5},
        {"q": "smith", "status": "lost"},
        {"q": "smith", "status": "new", "min_score": 5, "max_score": 99},
    ):
        walked = _search_plan(user, other)
        assert walked[0].startswith(f"SCAN {SEARCH_INDEX_TABLE}"), (other, walked)
    team = Team.objects.create(name="Sales")
    manager = UserFactory(username="manager")
    TeamMembership.objects.create(user=manager, team=team, role=Role.MANAGER)
    for member in (user, other_user):
        TeamMembership.objects.create(user=member, team=team, role=Role.REP)
    manager = type(manager).objects.select_related("crm_membership").get(pk=manager.pk)
    managed = _search_plan(manager, filters)
    assert any(STATUS_SCORE_INDEX in step for step in managed), managed
    window = {"created_after": TODAY - dt.timedelta(days=30), "created_before": TODAY}
    combinations = [
        {"q": "smith", "status": status, **scores, **extra}
        for status in ("new", "lost", "contacted")
        for scores in ({"min_score": 5}, {"max_score": 99}, {"min_score": 10, "max_score": 99})
        for extra in ({}, window, {"do_not_contact": False}, {"user_id": user.pk})
    ]
    combinations += [{"q": q, "status": "new", "min_score": 0} for q in ("100%_", "back\\sl")]
    for cap in (list_sql.NARROW_SEARCH_SCORES, 0):
        monkeypatch.setattr(list_sql, "NARROW_SEARCH_SCORES", cap)
        for viewer in (user, manager):
            for combination in combinations:
                _assert_pages_match_filter_leads(viewer, combination)
                _figures_match_filter_leads(viewer, combination)
    walked = _search_plan(user, filters)
    assert walked[0].startswith(f"SCAN {SEARCH_INDEX_TABLE}"), walked


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner")
def test_a_company_is_read_from_its_own_index_without_statistics(user, data):
    """Without statistics SQLite preferred (user, status, id) to (company, id), two equal
    columns against one, and walked a rare status through every other company's leads
    (bench_filters: 67 ms, 1 ms from the company's index)."""
    plan = _search_plan(user, {"status": "lost", "company_id": data["acme"]})
    assert any("lead_company_id" in step for step in plan), plan
    _assert_pages_match_filter_leads(user, {"status": "lost", "company_id": data["acme"]})


def test_a_companys_page_does_not_count_its_window(user, data):
    """A company's page reads the company's index whatever the creation window, so the
    window's leads are not counted first to choose between the date index and the ids (as
    they are without a company, on SQLite): the page is one statement."""
    window = {"created_after": TODAY - dt.timedelta(days=3650), "created_before": TODAY}
    scope = Scope.of(user)
    for filters in ({**window, "company_id": data["acme"]}, window):
        with CaptureQueriesContext(connection) as queries:
            list_sql.lead_page_rows(
                LeadFilters(**filters),
                scope=scope,
                cursor=None,
                limit=2,
                oldest_first=False,
                trigram=False,
            )
        counted = [q["sql"] for q in queries if "COUNT(*)" in q["sql"]]
        if "company_id" in filters or connection.vendor != "sqlite":
            assert len(queries) == 1 and not counted, queries
        else:
            assert counted, queries  # without a company SQLite counts the window
    _assert_pages_match_filter_leads(user, {**window, "company_id": data["acme"]})


def test_counts_values_and_match_counts_equal_filter_leads_on_every_combination(user, data):
    """The board's and the dashboard's figures per status (lead_stats) and the list page's
    count (lead_match_count) read the matches from the index list_sql.lead_source_sql
    names: the same leads, counts and values as filter_leads finds, on every combination."""
    for i, pk in enumerate(Lead.objects.filter(user=user).order_by("id").values_list("id")):
        if i % 3:
            Lead.objects.filter(pk=pk[0]).update(deal_value=Decimal("10.05") * i)
    tried = 0
    for combination in _combinations(data):
        filters = LeadFilters(**combination)
        counts = dict.fromkeys(STATUS_ORDER, 0)
        cents = dict.fromkeys(STATUS_ORDER, 0)
        for status, value in filter_leads(lead_queryset(user=user), filters).values_list(
            "status", "deal_value"
        ):
            counts[status] += 1
            cents[status] += round((value or 0) * 100)
        stats = selectors.lead_stats(user=user, filters=filters)
        assert stats["by_status"] == counts, combination
        assert stats["value_by_status"] == {s: f"{Decimal(c) / 100:.2f}" for s, c in cents.items()}
        found = page_selectors.lead_match_count(user=user, filters=filters)
        assert (found.count, found.more) == (sum(counts.values()), False), combination
        tried += 1
    assert tried >= 45


def test_sqlite_asks_the_trigram_index_for_trigrams_that_cover_the_term():
    """On SQLite the trigram index is asked for the term's trigrams at every third character
    and its last, each on its own, not as one phrase (whose position lists cost the 421
    matches of "solar designs" 10.7 -> 6.3 ms at 1,000,000 leads)."""
    assert list_sql.fts5_trigrams(" Solar  DESIGNS ") == (
        '"sol" AND "ar " AND "des" AND "ign" AND "gns"'
    )
    assert list_sql.fts5_trigrams("ann") == '"ann"'
    assert list_sql.fts5_trigrams("anna") == '"ann" AND "nna"'
    assert list_sql.fts5_trigrams("smith") == '"smi" AND "ith"'
    assert list_sql.fts5_trigrams('a"b"c') == '"a""b" AND "b""c"'
    # The list page's count of a search alone reads no row, so it keeps the exact phrase.
    assert list_sql.fts5_phrase(" Solar  DESIGNS ") == '"solar designs"'


def test_a_lead_with_every_trigram_asked_but_not_the_term_is_not_found(user, data):
    """Trigrams on their own also let through a lead that has each of them apart; the LIKE
    stays the exact test on every path that reads the trigram index: the list's pages, the
    figures per status, the list page's count, the CSV export's and the dashboard's ORM
    filter."""
    designs = CompanyFactory(user=user, name="Designs", domain="")
    apart = make_lead(user=user, first_name="Ar", last_name="Solo", company=designs)
    found = make_lead(user=user, first_name="Jo", last_name="Solar Designs")
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT "rowid" FROM "{SEARCH_INDEX_TABLE}" WHERE "search_text" MATCH %s',  # noqa: S608
                [list_sql.fts5_trigrams("solar designs")],
            )
            asked = {row[0] for row in cursor.fetchall()}
        assert asked == {apart.pk, found.pk}  # both pass the index; only one has the term
    combination = {"q": "solar designs"}
    _assert_pages_match_filter_leads(user, combination)
    _figures_match_filter_leads(user, combination)
    assert _walk(user, LeadFilters(**combination), oldest_first=False) == [found.pk]
    narrowed = selectors.narrow_by_search_index(
        filter_leads(lead_queryset(user=user), LeadFilters(**combination)),
        LeadFilters(**combination),
    )
    assert list(narrowed.values_list("id", flat=True)) == [found.pk]


def _source_plan(user, filters: dict) -> list[str]:
    """SQLite's plan for the per-status figures of ``filters``, one line a step."""
    chosen = LeadFilters(**filters)
    source, params = list_sql.lead_source_sql(
        chosen, scope=Scope.of(user), trigram=selectors._use_trigram_index(chosen)
    )
    with connection.cursor() as cursor:
        sql = f'EXPLAIN QUERY PLAN SELECT l."status", COUNT(*) FROM {source} GROUP BY 1'  # noqa: S608
        cursor.execute(sql, params)
        return [str(row[-1]) for row in cursor.fetchall()]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner")
def test_figures_read_the_index_that_serves_the_filters_without_statistics(user, data):
    """Without statistics SQLite grouped every count by walking (user, status, id), all of
    the account's leads, whatever the filters (bench_filters at 500,000 leads: a company of
    421 leads 325 ms, "rober" in a score range 680 ms; 2 and 24 ms from the index that
    serves them)."""
    company = _source_plan(user, {"company_id": data["acme"], "min_score": 10})
    assert any("lead_company_id" in step for step in company), company
    search = _source_plan(user, {"q": "smith", "status": "new"})
    assert search[0].startswith(f"SCAN {SEARCH_INDEX_TABLE}"), search
    ranged = _source_plan(user, {"status": "new", "min_score": 10})
    assert any("lead_counts" in step for step in ranged), ranged
    # A search in a window of few leads reads the window, as the list's page does.
    window = {"created_after": TODAY - dt.timedelta(days=30), "created_before": TODAY}
    narrow = _source_plan(user, {**window, "q": "smith"})
    assert any("lead_user_created" in step for step in narrow), narrow
    assert not any(SEARCH_INDEX_TABLE in step for step in narrow), narrow


def test_rows_are_serialised_like_the_detail_view(user, data):
    page = lead_list(user=user, filters=LeadFilters(), cursor=None, limit=50)
    assert len(page.data) == 7
    for row in page.data:
        lead = Lead.objects.select_related("company").get(pk=row["id"])
        assert row == lead_to_dict(lead)
        assert row["created_at"].tzinfo is not None


@pytest.fixture(autouse=True)
def _plans_weighed_on_every_search(monkeypatch):
    """The tests here follow each search's probe and weighing: a plan remembered from an
    earlier search of the same filters (``list_sql._PLANS``) would skip them.
    ``test_a_search_left_open_sends_its_remembered_plan_alone_for_a_while`` remembers."""
    monkeypatch.setattr(list_sql, "PLAN_SECONDS", 0.0)


# PostgreSQL chooses a search plan by measuring (list_sql.PostgresSearch).
# With the data here the probe settles every search; shrinking the probe and the thresholds
# sends the same searches down each of the other branches, which must find the same pages.
# A probe of k reads the k newest leads and the one past them (to know whether any is left).
# branch: (settings, the plans that run: past the cap, the listing is cut short for the walk)
BRANCHES = {
    "probe": ({}, "probe"),
    # The two newest leads are no match: nothing says the walk would be near.
    "listed": ({"SEARCH_PROBE": 1}, "listed"),
    # One match in the newest four: the walk to a page of three costs 3 * 3 / 1 = 9 leads
    # read, less than the listing's start (the whole of it: the start is that of a scope
    # of seven).
    "walk, cheaper than starting the listing": (
        {"SEARCH_PROBE": 3, "SEARCH_LIST_START_LEADS": 7},
        "walk",
    ),
    # The same, the start scaled to the seven leads the tally counts (of 500,000), and each
    # of the 7 / 3 matches at the probe's share costing one lead read: listed.
    "listed, its start scaled to the scope": (
        {"SEARCH_PROBE": 3, "SEARCH_LIST_COST": 1},
        "listed",
    ),
    # The same, but a walk of nine leads is sure to cost less than any listing: walked.
    "walk, sure": ({"SEARCH_PROBE": 3, "SEARCH_WALK_SURE": 9}, "walk"),
    "listed, the walk not sure": (
        {"SEARCH_PROBE": 3, "SEARCH_WALK_SURE": 8, "SEARCH_LIST_COST": 1},
        "listed",
    ),
    # The same with the listing's start free, and each of the 7 / 3 matches the tally's
    # seven leads hold at the probe's share costing ten leads read.
    "walk, cheaper than listing the matches": (
        {"SEARCH_PROBE": 3, "SEARCH_LIST_START": 0, "SEARCH_LIST_COST": 10},
        "walk",
    ),
    "walk, too many listed": ({"SEARCH_PROBE": 1, "SEARCH_LIST_CAP": 0}, "listed and walk"),
    # The six newest leads hold two matches: the tally's seven candidates at the probe's
    # share (of five) make 2.8, past a cap of one, so the walk runs without the listing.
    "walk, crowded": (
        {"SEARCH_PROBE": 5, "SEARCH_LIST_CAP": 1, "SEARCH_LIST_START": 0},
        "walk",
    ),
}


def _search(user, filters: LeadFilters) -> list_sql.PostgresSearch:
    """The statements of a first page of two leads of ``filters`` on PostgreSQL."""
    return list_sql.PostgresSearch(
        filters, scope=Scope.of(user), cursor=None, page=3, oldest_first=False
    )


def _explain(statement: tuple[str, list]) -> list[str]:
    """The plan of ``statement`` on PostgreSQL, one line a node or detail."""
    sql, params = statement
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (COSTS OFF) " + sql, params)
        return [row[0] for row in cursor.fetchall()]


def _branch_run(user, filters: LeadFilters) -> str:
    """Which of the search's plans found a first page of two leads of ``filters``."""
    return _plan_of(_statements_run(user, filters))


def _ran(sql: str) -> set[str]:
    """Which of the plans a statement holds behind one-time filters ran (the listing, the
    walk), from EXPLAIN ANALYZE of it as it was sent."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql)
        plan = [row[0] for row in cursor.fetchall()]
    ran = set()
    for name in ("listed", "walk"):
        head = [i for i, line in enumerate(plan) if line.strip() == f"CTE {name}"]
        if head and "never executed" not in plan[head[0] + 1]:
            ran.add(name)
    return ran


def _statements_run(
    user, filters: LeadFilters, *, cursor: int | None = None, oldest_first: bool = False
) -> list[str]:
    """The statements a page of two leads of ``filters`` ran, as sent: by default the first
    page, newest first."""
    scope = Scope.of(user)
    with CaptureQueriesContext(connection) as queries:
        list_sql.postgresql_search_page(
            filters, scope=scope, cursor=cursor, limit=2, oldest_first=oldest_first
        )
    return [q["sql"] for q in queries]


def _plan_of(statements: list[str]) -> str:
    """Which plan the statements of a search ran: the probe's alone, or the listing, the
    walk, or the listing and the walk; each statement is the probe's (which may walk, when
    the walk is sure), the tally's (``tally_figures``), or one that lists (and walks past
    the cap, ``listed_or_walked``), lists alone, or walks."""
    assert statements[0].startswith("WITH probe"), statements
    ran = _ran(statements[0])
    for sql in statements[1:]:
        if _reads_the_tally(sql):
            continue
        if sql.startswith("WITH listed") and " walk AS " in sql:
            ran |= _ran(sql)
        elif sql.startswith("WITH listed"):
            ran.add("listed")
        else:
            assert sql.startswith('SELECT l."id"'), sql
            ran.add("walk")
    return " and ".join(sorted(ran)) or "probe"


def _reads_the_tally(sql: str) -> bool:
    return sql.startswith('SELECT COALESCE(SUM("n")') and '"leads_leadtally"' in sql


def _listing_keys(sql: str) -> tuple[bool, bool]:
    """Which keys of the trigram index a statement's listing asks for: (the status's, the
    owners'). Without the owners' key the listing tests the owner in its select list."""
    listed = sql[: sql.index(" LIMIT ")]
    return list_sql.SEARCH_INDEX_STATUS in listed, 'true AS "mine"' in listed


def _explain_analyze(sql: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql)
        return [row[0] for row in cursor.fetchall()]


def _listing_run(user, filters: LeadFilters) -> str:
    """The statement that holds the listing a first page of ``filters`` ran (it must run)."""
    assert _branch_run(user, filters) == "listed", filters
    return [sql for sql in _statements_run(user, filters) if "listed AS" in sql][-1]


def test_the_search_probe_reads_a_fixed_number_of_leads_whatever_the_score(user, data):
    """The probe reads the newest SEARCH_PROBE leads the indexed filters give and tests the
    score range on each with the term: as a filter of its scan, a range passing one lead in
    17 made it read 17,000 leads (bench_filters at 500,000 leads, 9 ms of a 22 ms search)."""
    if connection.vendor != "postgresql":
        pytest.skip("the search probe is PostgreSQL's; SQLite searches its FTS5 index")
    filters = LeadFilters(q="smith", min_score=90, status="lost", created_after=TODAY)
    plan = _explain(_search(user, filters).probe())
    probe = plan[plan.index("  CTE probe") : plan.index("  CTE counted")]
    scan = " ".join(probe)
    assert "score" not in scan, probe  # tested in the SELECT list, not filtering the scan
    assert "status" in scan and "created_at" in scan, probe  # indexed: they choose the leads


def test_the_search_listing_reads_the_status_from_the_trigram_index(user, data):
    """Migration 0016 keys the status in the trigram index as ``status || ''``, the way only the
    listing writes it: under a rare status "rober" read 766 leads instead of 7,438."""
    if connection.vendor != "postgresql":
        pytest.skip("the trigram index with the status is PostgreSQL's")
    # Without the owner's term no btree serves the query, so a bitmap scan (the only kind
    # allowed) must come from an index that keys the status as written, or none at all.
    sql = (
        'SELECT u."id" FROM "leads_lead" u '  # noqa: S608
        f'WHERE {list_sql.SEARCH_INDEX_STATUS} = %s AND u."search_text" LIKE %s'
    )
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off; SET enable_indexscan = off")
        try:
            cursor.execute("EXPLAIN " + sql, ["new", "%smith%"])
            plan = " ".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan; RESET enable_indexscan")
    index_scan = plan.split(f"Bitmap Index Scan on {SEARCH_TRIGRAM_INDEX}")[1]
    assert "|| ''::text) = 'new'" in index_scan, plan


def test_the_search_listing_reads_only_a_rare_status_from_the_trigram_index(
    user, data, monkeypatch
):
    """The status's key is read from the trigram index only when the status holds at most a
    fifth of the scope's leads (the tally says): a common status's list costs more than the
    matches it leaves out. Here "new" holds 3 of 10 leads, "lost" 2. A term of several words
    never reads it."""
    if connection.vendor != "postgresql":
        pytest.skip("the trigram index with the status is PostgreSQL's")
    # The newest lost lead is no match, so a probe of one leaves the other lost lead unread.
    for first, last, status in (("Ola", "Berg", "qualified"), ("Pia", "Holm", "qualified"),
                                ("Lou", "Lane", "lost")):  # fmt: skip
        make_lead(user=user, first_name=first, last_name=last, status=status)
    # The probe reads one lead and the listing costs nothing: the listing runs.
    monkeypatch.setattr(list_sql, "SEARCH_PROBE", 1)
    monkeypatch.setattr(list_sql, "SEARCH_LIST_START", 0)
    monkeypatch.setattr(list_sql, "SEARCH_LIST_COST", 0)

    def keyed_listing_ran(status: str) -> bool:
        filters = LeadFilters(q="smith", status=status)
        # The statement after the probe holds the one listing the weighing chose.
        return _listing_keys(_listing_run(user, filters))[0]

    assert keyed_listing_ran("lost")
    assert not keyed_listing_ran("new")
    _assert_pages_match_filter_leads(user, {"q": "smith", "status": "lost"})
    _assert_pages_match_filter_leads(user, {"q": "smith", "status": "new"})
    # A term of several words, asked word by word, lets few leads through: no status key.
    listing = _listing_run(user, LeadFilters(q="eve smith", status="lost"))
    assert list_sql.SEARCH_INDEX_STATUS not in listing, listing
    assert "'%eve%'" in listing, listing
    _assert_pages_match_filter_leads(user, {"q": "eve smith", "status": "lost"})


def test_a_term_of_several_words_is_asked_of_the_trigram_index_word_by_word(user, data):
    """PostgreSQL's listing asks the trigram index for each word of three letters or more,
    without the trigrams at the words' ends (the commonest in the index: "solar designs"
    11 -> 8.5 ms of bitmap at 1,000,000 leads), and tests the whole term on each lead the
    index lets through. A term of one word, or of words too short for a trigram, is asked
    as it is. The ORM's filter, which the board's and the dashboard's figures read, does the
    same. The pages are the same (the plans' test runs these terms on every branch)."""
    column = 'u."search_text"'
    exact = f"({column} || '') LIKE %s ESCAPE '\\'"
    assert list_sql.trigram_terms(" Ann  SMITH ", column) == (
        [f"{column} LIKE %s", f"{column} LIKE %s", exact],
        ["%ann%", "%smith%", "%ann smith%"],
    )
    assert list_sql.trigram_terms("ann@acme.com, acme", column) == (
        [f"{column} LIKE %s"] * 3 + [exact],
        ["%ann%", "%acme%", "%com%", "%ann@acme.com, acme%"],
    )
    whole = f"{column} LIKE %s ESCAPE '\\'"
    assert list_sql.trigram_terms("Smith", column) == ([whole], ["%smith%"])
    assert list_sql.trigram_terms("ar de", column) == ([whole], ["%ar de%"])
    assert list_sql.trigram_terms("100%_x", column) == (
        [f"{column} LIKE %s", exact],
        ["%100%", "%100\\%\\_x%"],
    )
    # The ORM's filter (the board's and the dashboard's figures) writes it the same way.
    orm_filter = filter_leads(Lead.objects.all(), LeadFilters(q="Ann Smith"))
    orm_sql, orm_params = orm_filter.query.sql_with_params()
    patterns = [param for param in orm_params if "%" in str(param)]
    if connection.vendor != "postgresql":
        assert patterns == ["%ann smith%"]
        return
    assert patterns == ["%ann%", "%smith%", "%ann smith%"]
    assert "||" in orm_sql  # the whole term over the column concatenated: not the index's
    # Without the owner's term no btree serves the query: the bitmap (the only scan allowed)
    # must come from the trigram index.
    listing = 'SELECT u."id" FROM "leads_lead" u WHERE '
    terms, params = list_sql.trigram_terms("ann smith", column)
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off; SET enable_indexscan = off")
        try:
            cursor.execute("EXPLAIN " + listing + " AND ".join(terms), params)
            plan = [row[0] for row in cursor.fetchall()]
            cursor.execute(listing + " AND ".join(terms), params)
            found = sorted(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan; RESET enable_indexscan")
    index_cond = next(line for line in plan if "Index Cond" in line)
    assert "'%ann%'" in index_cond and "'%smith%'" in index_cond, plan
    assert "ann smith" not in index_cond, plan
    assert found == sorted(
        Lead.objects.filter(search_text__contains="ann smith").values_list("id", flat=True)
    )
    assert len(found) == 2  # the user's Ann Smith and the other user's
    orm = filter_leads(Lead.objects.all(), LeadFilters(q="Ann Smith")).values_list("id", flat=True)
    assert sorted(orm) == found


@pytest.mark.parametrize("branch", BRANCHES)
def test_every_postgresql_search_plan_finds_the_same_pages(user, data, branch, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the search plans are PostgreSQL's; SQLite searches its FTS5 index")
    settings, plans = BRANCHES[branch]
    for name, value in settings.items():
        monkeypatch.setattr(list_sql, name, value)
    assert _branch_run(user, LeadFilters(q="smith")) == plans
    # Without a company or an email, one statement probes (and walks, when sure), and one
    # more weighs, and lists or walks.
    statements = _statements_run(user, LeadFilters(q="smith"))
    assert len(statements) == (1 if branch in ("probe", "walk, sure") else 2), statements
    tried = 0
    for combination in _combinations(data):
        if len(combination.get("q") or "") < 3:
            continue
        _assert_pages_match_filter_leads(user, combination)
        tried += 1
    assert tried >= 12


def test_a_probe_that_read_every_candidate_settles_the_search(user, data, monkeypatch):
    """A probe that reads as many leads as it may has read them all when none is left past
    the last: the search is settled there, without weighing, listing or walking. (Each of
    `make bench`'s users at 10,000 leads holds exactly SEARCH_PROBE leads: "thom", the search
    page alone, 2.16-2.30 -> 2.0 ms.)"""
    if connection.vendor != "postgresql":
        pytest.skip("the search plans are PostgreSQL's; SQLite searches its FTS5 index")
    monkeypatch.setattr(list_sql, "SEARCH_PROBE", 7)  # the user's seven leads
    assert _branch_run(user, LeadFilters(q="eve smith")) == "probe"
    statements = _statements_run(user, LeadFilters(q="eve smith", company_id=data["acme"]))
    assert len(statements) == 1, statements
    monkeypatch.setattr(list_sql, "SEARCH_PROBE", 6)  # one lead left: weighed, then listed
    assert _branch_run(user, LeadFilters(q="eve smith")) == "listed"
    monkeypatch.setattr(list_sql, "SEARCH_PROBE", 4)  # Acme's four
    assert len(_statements_run(user, LeadFilters(q="eve smith", company_id=data["acme"]))) == 1
    for probe in (6, 7):
        monkeypatch.setattr(list_sql, "SEARCH_PROBE", probe)
        for combination in (
            {"q": "eve smith"},
            {"q": "smith", "status": "lost"},
            {"q": "smith", "company_id": data["acme"]},
            {"q": "zzz", "min_score": 5},
        ):
            _assert_pages_match_filter_leads(user, combination)


def test_a_search_the_probe_settles_or_walks_surely_plans_nothing_else(user, data, monkeypatch):
    """A search whose probe settles it, or says the walk is sure (SEARCH_WALK_SURE), costs
    the probe's statement alone, which holds no listing and reads nothing of the tally:
    planning those was a third of such a statement ("ande" at 100,000 leads: 0.74 against
    0.42 ms of planning). Only a search the probe leaves open reads the tally's figures (in
    a statement of their own, then remembered for TALLY_SECONDS) and plans the one listing
    or walk they choose. The pages are the ORM's either way."""
    if connection.vendor != "postgresql":
        pytest.skip("the search plans are PostgreSQL's; SQLite searches its FTS5 index")

    def statements(filters: LeadFilters) -> list[str]:
        run = _statements_run(user, filters)
        assert "listed" not in run[0] and "leads_leadtally" not in run[0], run[0]
        return run

    monkeypatch.setattr(list_sql, "SEARCH_PROBE", 7)  # the user's seven leads: read whole
    assert len(statements(LeadFilters(q="smith"))) == 1
    assert _branch_run(user, LeadFilters(q="smith")) == "probe"
    # The two newest leads hold one match: a walk of 3 * 2 / 1 = 6 leads, sure within 6.
    monkeypatch.setattr(list_sql, "SEARCH_PROBE", 2)
    monkeypatch.setattr(list_sql, "SEARCH_WALK_SURE", 6)
    assert len(statements(LeadFilters(q="smith"))) == 1
    assert _branch_run(user, LeadFilters(q="smith")) == "walk"
    _assert_pages_match_filter_leads(user, {"q": "smith"})
    # Not sure within 5: the plans are weighed over the tally's figures, read once, and the
    # one chosen (the listing, each of its 7 / 2 matches costing one lead read) runs in a
    # second statement.
    monkeypatch.setattr(list_sql, "SEARCH_WALK_SURE", 5)
    monkeypatch.setattr(list_sql, "SEARCH_LIST_COST", 1)
    run = statements(LeadFilters(q="smith"))
    assert len(run) == 3 and _reads_the_tally(run[1]) and run[2].startswith("WITH listed"), run
    run = statements(LeadFilters(q="smith"))
    assert len(run) == 2 and run[1].startswith("WITH listed"), run
    _assert_pages_match_filter_leads(user, {"q": "smith"})
    # Under a company the probe's statement holds no walk: a sure walk is the walk's own.
    monkeypatch.setattr(list_sql, "SEARCH_PROBE", 1)
    monkeypatch.setattr(list_sql, "SEARCH_WALK_SURE", 3)
    acme = LeadFilters(q="smith", company_id=data["acme"])
    run = statements(acme)
    assert " walk AS " not in run[0], run[0]
    assert _plan_of(run) == "walk" and len(run) == 2, run
    _assert_pages_match_filter_leads(user, {"q": "smith", "company_id": data["acme"]})


def test_the_weighing_prices_the_walk_and_the_listing_by_what_each_reads(user):
    """The weighing (``PostgresSearch.choose``) over a probe's figures and the tally's, for a
    page of 50 of an owner of 500,000 of 1,000,000 leads (bench_filters' bench1): the walk
    reads ``page * probe / n`` leads, each dearer under a status the rarer it is; the listing
    costs its start and five leads walked for each match it reads: the status's under the
    status's key, else every status's of the owner. At a price of one lead a match "duboi"
    (4 in the newest 1,000) was listed in 11-17 ms where the walk took 4.4-6.5 ms."""

    def walks(n: int, t: int, status: str | None, tally: tuple[int, ...]) -> bool:
        search = list_sql.PostgresSearch(
            LeadFilters(q="duboi", status=status),
            scope=Scope.of(user), cursor=None, page=51, oldest_first=False,
        )  # fmt: skip
        return search.choose(n, t, 1001, tally)[0]

    every = (500_000, 500_000, 1_000_000, 500_000, 500_000)
    assert walks(4, 4, None, every)  # 12,750 leads walked; listed: 10,000 + 5 * 2,000
    assert not walks(1, 4, None, every)  # 51,000 leads walked
    # A common status ("new": two fifths) is tested on each match the listing reads, of
    # every status: 10,000 + 5 * 2,500 = 22,500 against 17,000 * 1.165 walked.
    common = (200_000, 500_000, 1_000_000, 200_000, 500_000)
    assert walks(3, 5, "new", common)
    # A rare one ("converted": a tenth) is read from its key: 10,000 + 5 * 400 listed, against
    # 6,375 leads walked at 1.99 each (a status's tenth shares each table page of the walk).
    rare = (50_000, 500_000, 1_000_000, 50_000, 500_000)
    assert not walks(8, 8, "converted", rare)
    assert walks(10, 8, "converted", rare)  # 5,100 leads at 1.99


def test_the_listing_leaves_the_owners_key_out_when_other_owners_hold_few_matches(
    user, other_user, data, monkeypatch
):
    """The listing asks the trigram index for the owners' key only when the term's matches
    in the other owners' leads, at the probe's share, cost more to read than the owners'
    list (one match for every SEARCH_OWNER_KEY_LEADS of their leads): "solar designs" for an
    owner of 500,000 of 1,000,000 leads, 10.6 -> 5.8 ms. Without it the cap counts every
    owner's matches; the pages are the ORM's either way, a manager's too."""
    if connection.vendor != "postgresql":
        pytest.skip("the search plans are PostgreSQL's; SQLite searches its FTS5 index")
    search = _search(user, LeadFilters(q="smith"))

    def unowned(n: int, t: int, read: int) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(*search.tally())
            tally = cursor.fetchone()
        return not search.choose(n, t, read, tally)[2]

    # The scope holds 7 of the 8 leads; a probe's t is taken as t + 1. With a match read
    # for every 7 of the owners' leads, the other lead at a probe's share of 1 in 1 costs
    # 7 / 7: as much as the owners' list.
    monkeypatch.setattr(list_sql, "SEARCH_OWNER_KEY_LEADS", 7)
    assert unowned(0, 0, 1)
    assert not unowned(1, 1, 1)  # 2 in 1: twice the list
    assert unowned(1, 1, 2)
    monkeypatch.setattr(list_sql, "SEARCH_OWNER_KEY_LEADS", 200)
    assert not unowned(0, 0, 5)  # 200 / 5 = 40 against 7
    # With no other owner's lead there is nothing else to read: an install of one rep.
    Lead.objects.filter(user=other_user).delete()
    assert unowned(5, 5, 5)
    make_lead(user=other_user, first_name="Ann", last_name="Smith", score=55)

    # The owner is a term of one listing's WHERE, which an index keyed by the owner serves,
    # and tested in the other's select list: its bitmap comes from the trigram index alone.
    def listed(owned: bool) -> str:
        sql = search.listing(status_key=False, owned=owned)[0]
        return sql[: sql.index(" LIMIT ")]

    # The other indexed filters sit in a CASE, which no index serves: the bitmap is the
    # trigram index's alone, whatever the statistics say of another index.
    windowed = _search(user, LeadFilters(q="smith", status="new", created_after=TODAY))
    for owned in (True, False):
        sql = windowed.listing(status_key=False, owned=owned)[0]
        where = sql[sql.index(" WHERE ") : sql.index(" LIMIT ")]
        assert re.search(r"CASE WHEN u\.\"status\" = 'new' AND u\.\"created_at\" >= ", where), where
        assert where.count('u."status" =') == where.count('u."created_at"') == 1, where
    assert 'WHERE u."user_id" = %s' in listed(owned=True)
    assert 'u."user_id" = %s) AS "mine"' in listed(owned=False)
    assert '"user_id"' not in listed(owned=False).split(" WHERE ")[1]
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off; SET enable_indexscan = off")
        try:
            plan = _explain(search.listing(status_key=False, owned=False))
        finally:
            cursor.execute("RESET enable_seqscan; RESET enable_indexscan")
    scan = next(i for i, line in enumerate(plan) if "Bitmap Index Scan" in line)
    assert SEARCH_TRIGRAM_INDEX in plan[scan] and "user_id" not in plan[scan + 1], plan

    # After the probe the weighing's one listing is sent, with the owners' key or not.
    monkeypatch.setattr(list_sql, "SEARCH_PROBE", 1)

    def listing_owned(owner_key_leads: int) -> bool:
        monkeypatch.setattr(list_sql, "SEARCH_OWNER_KEY_LEADS", owner_key_leads)
        return _listing_keys(_listing_run(user, LeadFilters(q="smith")))[1]

    assert not listing_owned(1)
    assert listing_owned(10**6)
    monkeypatch.setattr(list_sql, "SEARCH_OWNER_KEY_LEADS", 1)  # the pages below: unowned

    # "smith" is in three of the user's leads and one of other_user's: without the owners'
    # key a cap of three is passed (four read) and the walk finds the page.
    monkeypatch.setattr(list_sql, "SEARCH_LIST_CAP", 3)
    assert _branch_run(user, LeadFilters(q="smith")) == "listed and walk"
    with connection.cursor() as cursor:
        for owned, read in ((True, 3), (False, 4)):
            cursor.execute(*search.listing(status_key=False, owned=owned))
            rows = cursor.fetchall()
            assert rows[0][0] == read
            assert [row[1] for row in rows if row[1] is not None] == (
                [] if read > 3 else list(
                    Lead.objects.filter(user=user, search_text__contains="smith")
                    .order_by("-id").values_list("id", flat=True)
                )
            )  # fmt: skip
    monkeypatch.setattr(list_sql, "SEARCH_LIST_CAP", 4000)
    for combination in _combinations(data):
        if len(combination.get("q") or "") >= 3:
            _assert_pages_match_filter_leads(user, combination)
    manager, _, owners = _manager(user, other_user)
    for combination in _combinations({**data, "owners": owners}):
        if len(combination.get("q") or "") >= 3:
            _assert_pages_match_filter_leads(manager, combination)


def test_the_tally_figures_a_search_weighs_are_remembered_for_a_while(
    user, other_user, data, monkeypatch
):
    """A search the probe leaves open weighs its plans over the tally's figures for its scope,
    the owner asked for and the status, read in a statement of their own and remembered for
    TALLY_SECONDS: they only choose between plans that find the same page. Another scope,
    owner or status reads its own; once the time is out they are read again. The pages are
    the ORM's throughout, a manager's too."""
    if connection.vendor != "postgresql":
        pytest.skip("the search plans are PostgreSQL's; SQLite searches its FTS5 index")
    monkeypatch.setattr(list_sql, "SEARCH_PROBE", 1)  # nothing settled: every search weighs
    manager = _manager(user, other_user)[0]

    def tallies_read(who, **filters) -> int:
        run = _statements_run(who, LeadFilters(q="smith", **filters))
        assert _plan_of(run) != "probe", run
        return sum(_reads_the_tally(sql) for sql in run)

    assert tallies_read(user) == 1
    assert tallies_read(user) == 0
    assert tallies_read(user, min_score=5) == 0  # a tested filter: the same figures
    assert tallies_read(user, status="new") == 1
    assert tallies_read(user, status="new") == 0
    assert tallies_read(manager) == 1
    assert tallies_read(manager, user_id=user.pk) == 1
    assert tallies_read(manager, user_id=user.pk) == 0
    monkeypatch.setattr(list_sql, "TALLY_SECONDS", 0.0)
    assert tallies_read(user) == 1
    for who, combination in ((user, {"q": "smith"}), (manager, {"q": "smith", "status": "new"})):
        _assert_pages_match_filter_leads(who, combination)


def test_a_search_left_open_sends_its_remembered_plan_alone_for_a_while(
    user, other_user, data, monkeypatch
):
    """The plan a search the probe left open was weighed to is remembered for PLAN_SECONDS
    per scope, order and filters: the same search again, its later pages too, sends that
    plan alone, without the probe's statement or the tally's. Another term, filter, order
    or scope probes and weighs its own; once the time is out the search probes again. Every
    plan finds the same page, so the pages are the ORM's throughout, and a remembered
    listing whose matches have since passed the cap walks in the same statement."""
    if connection.vendor != "postgresql":
        pytest.skip("the search plans are PostgreSQL's; SQLite searches its FTS5 index")
    monkeypatch.setattr(list_sql, "PLAN_SECONDS", 60.0)
    monkeypatch.setattr(list_sql, "SEARCH_PROBE", 1)  # nothing settled: every search weighs
    manager = _manager(user, other_user)[0]
    smith = LeadFilters(q="smith")

    first = _statements_run(user, smith)
    assert first[0].startswith("WITH probe") and _plan_of(first) == "listed", first
    again = _statements_run(user, smith)
    assert again == first[-1:]  # the listing alone, as the first search sent it
    newest = list_sql.postgresql_search_page(
        smith, scope=Scope.of(user), cursor=None, limit=2, oldest_first=False
    )
    later = _statements_run(user, smith, cursor=newest[1][0])
    assert [sql.startswith("WITH listed") for sql in later] == [True]

    for who, filters in (
        (user, LeadFilters(q="smit")),
        (user, LeadFilters(q="smith", status="new")),
        (user, LeadFilters(q="smith", min_score=5)),
        (manager, smith),
    ):
        run = _statements_run(who, filters)
        assert run[0].startswith("WITH probe"), (who, filters, run)
    assert _statements_run(user, smith, oldest_first=True)[0].startswith("WITH probe")

    # The term grown common past the listing's cap: the remembered listing walks instead.
    monkeypatch.setattr(list_sql, "SEARCH_LIST_CAP", 0)
    (sent,) = _statements_run(user, smith)
    assert _ran(sent) == {"listed", "walk"}
    for who, combination in ((user, {"q": "smith"}), (manager, {"q": "smith", "status": "new"})):
        _assert_pages_match_filter_leads(who, combination)

    monkeypatch.setattr(list_sql, "PLAN_SECONDS", 0.0)
    assert _statements_run(user, smith)[0].startswith("WITH probe")


# With a company: (settings, the plan that runs, the statements run).
COMPANY_BRANCHES = {
    "probe": ({}, "probe", 1),
    # One match in Acme's two newest: weighed, then listed; the other owner's lead at that
    # share costs less than the owners' list when each of their leads costs a match read.
    "listed": ({"SEARCH_PROBE": 1, "SEARCH_OWNER_KEY_LEADS": 1}, "listed", 3),
    # Two matches in Acme's three newest: the walk to a page of three costs 3 * 2 / 2 = 3
    # leads read, less than the listing's start for the scope's seven leads (that of
    # 500,000 at 7).
    "walk": ({"SEARCH_PROBE": 2, "SEARCH_LIST_START_LEADS": 7}, "walk", 3),
    "listed and walk": ({"SEARCH_PROBE": 1, "SEARCH_LIST_CAP": 0}, "listed and walk", 4),
    # Two matches in Acme's three newest: the other owner's lead at that share costs more
    # than the owners' list, so the listing keeps the owners' key.
    "listed with the owners' key": ({"SEARCH_PROBE": 2}, "listed", 3),
}


@pytest.mark.parametrize("branch", COMPANY_BRANCHES)
def test_a_search_in_a_company_weighs_its_plans_only_when_the_probe_does_not_settle_it(
    user, data, branch, monkeypatch
):
    """With a company (or an email) the probe nearly always reads every candidate, so its
    statement holds no listing and no walk, whose planning under those filters cost a third
    of it: a search it does not settle weighs its figures and the tally's (read once, then
    remembered), then lists, or walks, in a statement of its own (past the cap, the walk in
    one more). The pages are the ORM's on every plan."""
    if connection.vendor != "postgresql":
        pytest.skip("the search plans are PostgreSQL's; SQLite searches its FTS5 index")
    settings, plans, count = COMPANY_BRANCHES[branch]
    for name, value in settings.items():
        monkeypatch.setattr(list_sql, name, value)
    statements = _statements_run(user, LeadFilters(q="smith", company_id=data["acme"]))
    assert (_plan_of(statements), len(statements)) == (plans, count)
    if plans == "listed":  # the owners' key is in the listing's WHERE, or tested on each
        assert ('true AS "mine"' in statements[2]) == (branch == "listed with the owners' key")
    if count > 1:  # the tally's figures, read by the first search, are remembered
        assert _reads_the_tally(statements[1]), statements
        again = _statements_run(user, LeadFilters(q="smith", company_id=data["acme"]))
        assert (_plan_of(again), len(again)) == (plans, count - 1)
    for combination in (
        {"q": "smith", "company_id": data["acme"]},
        {"q": "smith", "company_id": data["acme"], "status": "lost"},
        {"q": "smith", "email": "eve@acme.com"},
        {"q": "ann smith", "company_id": data["acme"], "min_score": 5},
    ):
        _assert_pages_match_filter_leads(user, combination)


def test_a_narrow_score_range_is_asked_of_the_trigram_index(user, data, monkeypatch):
    """Migration 0019 keys the score in the trigram index as ARRAY[score]: PostgreSQL's listing
    asks it for the scores of a range of at most SEARCH_SCORE_KEYS of them (score 95-100 +
    "rober": 432 leads let through instead of 7,438 at 1,000,000 leads), and tests a wider
    range on each lead only. The range stays the exact test; the pages are the ORM's."""
    assert list_sql.search_score_keys(LeadFilters(min_score=95, max_score=100)) == [
        95, 96, 97, 98, 99, 100,
    ]  # fmt: skip
    assert list_sql.search_score_keys(LeadFilters(min_score=95)) == [95, 96, 97, 98, 99, 100]
    assert list_sql.search_score_keys(LeadFilters(max_score=2)) == [0, 1, 2]
    assert list_sql.search_score_keys(LeadFilters(min_score=60, max_score=50)) == []
    assert list_sql.search_score_keys(LeadFilters(min_score=10, max_score=90)) is None
    assert list_sql.search_score_keys(LeadFilters(min_score=50)) is None
    assert list_sql.search_score_keys(LeadFilters(q="smith")) is None
    if connection.vendor != "postgresql":
        return
    # The probe reads one lead and the listing costs nothing: the listing runs.
    monkeypatch.setattr(list_sql, "SEARCH_PROBE", 1)
    monkeypatch.setattr(list_sql, "SEARCH_LIST_START", 0)
    monkeypatch.setattr(list_sql, "SEARCH_LIST_COST", 0)

    def listing_asks_the_scores(filters: LeadFilters) -> bool:
        return 'ARRAY[u."score"] && ' in _listing_run(user, filters)

    assert listing_asks_the_scores(LeadFilters(q="smith", min_score=95, max_score=100))
    assert not listing_asks_the_scores(LeadFilters(q="smith", min_score=10, max_score=90))
    # The index serves that condition: without the owner's term no btree serves the query,
    # so the bitmap (the only scan allowed) must come from the trigram index.
    listing = (
        'SELECT u."id" FROM "leads_lead" u '
        """WHERE u."search_text" LIKE %s AND ARRAY[u."score"] && %s::smallint[]"""
    )
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off; SET enable_indexscan = off")
        try:
            cursor.execute("EXPLAIN " + listing, ["%smith%", [5, 10, 15]])
            plan = [row[0] for row in cursor.fetchall()]
            cursor.execute(listing, ["%smith%", [5, 10, 15]])
            found = sorted(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan; RESET enable_indexscan")
    index_cond = next(line for line in plan if "Index Cond" in line)
    assert SEARCH_TRIGRAM_INDEX in " ".join(plan) and "ARRAY[score] &&" in index_cond, plan
    assert found == sorted(
        Lead.objects.filter(search_text__contains="smith", score__in=[5, 10, 15]).values_list(
            "id", flat=True
        )
    )
    assert len(found) == 1  # the user's Ann Smith (10)
    # The ORM's filter (the board's and the dashboard's figures) asks for them the same way.
    orm = filter_leads(lead_queryset(user=user), LeadFilters(q="smith", min_score=95))
    assert "ARRAY[" in str(orm.query) and "&&" in str(orm.query)
    assert list(orm.values_list("first_name", flat=True)) == ["Eve"]  # Smith, 99
    wide = filter_leads(lead_queryset(user=user), LeadFilters(q="smith", min_score=50))
    assert "ARRAY[" not in str(wide.query)
    assert sorted(wide.values_list("first_name", flat=True)) == ["Bob", "Eve"]
    for combination in (
        {"q": "smith", "min_score": 95, "max_score": 100},
        {"q": "smith", "min_score": 5, "max_score": 15},
        {"q": "smith", "max_score": 0},
        {"q": "smith", "min_score": 55, "max_score": 55},
        {"q": "ann smith", "min_score": 50, "max_score": 60},
        {"q": "smith", "status": "lost", "min_score": 90},
        {"q": "smith", "min_score": 60, "max_score": 50},
    ):
        _assert_pages_match_filter_leads(user, combination)
    # Both owners' Ann Smith, told apart by the score alone (10 and 55).
    assert _walk(user, LeadFilters(q="ann smith", min_score=50, max_score=60),
                 oldest_first=True) == []  # fmt: skip
