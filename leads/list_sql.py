"""One keyset page of leads as hand-written SQL: the hottest read of the API and the UI.

Measured at 1,000,000 leads, building this query through the ORM and turning its rows into
values cost about four times the database's own work (compiling the query, cloning querysets,
per-value converters). The statement here is the one the ORM produced, written once: the
same filters as ``selectors.filter_leads`` (a test compares the two on every filter
combination), the same indexes, and values read straight from the driver.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

from leads.fields import SQL_COLUMNS, from_sql_row
from leads.filters import LEAD_FILTERS, ListFilter
from leads.models import SEARCH_INDEX_TABLE
from leads.normalize import search_term
from leads.scope import Scope

_COLUMNS = SQL_COLUMNS
_FROM = 'FROM "leads_lead" l INNER JOIN "leads_company" c ON c."id" = l."company_id"'


def start_of_day(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the CRM's time zone: where a date filter cuts."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _start_of_day(day: dt.date) -> Any:
    return connection.ops.adapt_datetimefield_value(start_of_day(day))


def fts5_phrase(q: str) -> str:
    """``q`` as one FTS5 phrase (quotes doubled), lower-cased as the index stores text."""
    return '"' + search_term(q).replace('"', '""') + '"'


def _like_pattern(text: str) -> str:
    """``%text%`` for LIKE ... ESCAPE '\\', with the wildcards in ``text`` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _is_set(spec: ListFilter, value: Any) -> bool:
    # An empty search is no search; every other filter is set by any value but None.
    return value is not None and (spec.test != "contains" or bool(value))


def active_filters(filters) -> list[tuple[ListFilter, Any]]:
    """The declared filters that ``filters`` sets, with their values, in declaration order."""
    pairs = ((spec, getattr(filters, spec.name)) for spec in LEAD_FILTERS)
    return [(spec, value) for spec, value in pairs if _is_set(spec, value)]


def filter_term(spec: ListFilter, value: Any, column: str) -> tuple[str, Any]:
    """One filter as an SQL term over ``column`` and its parameter: the same test as
    ``selectors.filter_leads`` applies through the ORM."""
    test = spec.test
    if test == "equal":
        return f"{column} = %s", value
    if test == "at_least":
        return f"{column} >= %s", value
    if test == "at_most":
        return f"{column} <= %s", value
    if test == "from_day":
        return f"{column} >= %s", _start_of_day(value)
    if test == "through_day":
        # Inclusive calendar day: everything before the start of the next day.
        return f"{column} < %s", _start_of_day(value + dt.timedelta(days=1))
    if test == "email":
        # Repeating the partial unique index's condition lets SQLite use that index.
        return f"{column} = %s AND NOT ({column} = '')", value.lower()
    # contains
    return f"{column} LIKE %s ESCAPE '\\'", _like_pattern(search_term(value))


def lead_where(
    filters, *, scope: Scope, alias: str, created_index: bool = True
) -> tuple[list[str], list[Any]]:
    """The WHERE terms of ``selectors.filter_leads`` for the table called ``alias``, within
    the scope. With ``created_index=False`` the creation window is written so that SQLite
    cannot serve it from an index (a unary ``+``) and walks another one instead."""
    owner_term, owner_params = scope.owner_sql(f'{alias}."user_id"')
    where = [owner_term]
    params: list[Any] = [*owner_params]
    for spec, value in active_filters(filters):
        column = f'{alias}."{spec.column}"'
        if not created_index and spec.window:
            column = "+" + column
        term, param = filter_term(spec, value, column)
        where.append(term)
        params.append(param)
    return where, params


def _ends_in_the_past(day: dt.date | None) -> bool:
    return day is not None and day < timezone.localdate() - dt.timedelta(days=1)


# PostgreSQL search (`q`): how many of the newest candidate leads the probe reads, how many
# matches among them make the walk the cheaper plan, and how many matches the trigram index
# may list before listing them all is given up for the walk. Measured at 1,000,000 leads
# (100,000 of one user): the walk costs about 2.2 us a lead read, listing the matches about
# 3.5 us a match; they cross near 1.8 % of the user's leads matching (18 in 1,000).
SEARCH_PROBE = 1000
SEARCH_WALK_FROM = 18
SEARCH_LIST_CAP = 4000


def _postgresql_search_sql(
    filters, *, scope: Scope, cursor: int | None, page: int, direction: str, after: str
) -> tuple[str, list[Any]]:
    """One page of a PostgreSQL search, choosing its plan by how common the term is.

    The two plans PostgreSQL has for ``LIKE '%term%'`` with a keyset order are each slow
    where the other is fast: walking the leads newest first and testing each reads
    ``page / share-of-matches`` leads (22 ms for a term in 0.75 % of 100,000 leads);
    listing every match from the trigram index and keeping the newest costs each match
    (26 ms for one in 10 %). The planner's estimate of a term's share is often far off, so
    it picks the wrong one for some terms. Here the statement measures instead: it tests
    the newest SEARCH_PROBE candidates (the other filters applied) and then

    * has the page already when enough of them match, or when they were all the
      candidates there are (another filter is selective);
    * walks on when many matched (a common term: the page is near);
    * otherwise lists the matches from the trigram index, up to SEARCH_LIST_CAP, and
      keeps the newest; past the cap (a large account) it walks after all;
    * skips the listing and walks at once when the tally says the candidates are so many
      that the probe's share of matches among them is past the cap: a manager's team of
      1,000,000 leads listed 4,000 matches only to give up (8 ms), where the walk needed
      0.8 ms. Only the owner and the status are known to the tally, so with any other
      filter the candidates' number is unknown and the listing is tried as before.

    Every branch returns exactly the first page of matches; only its cost differs. The
    branches not taken are never run: each sits behind a one-time filter on the probe's
    count, and a MATERIALIZED CTE is only computed when read.
    """
    where, params = lead_where(dataclasses.replace(filters, q=None), scope=scope, alias="u")
    if cursor is not None:
        where.append(f'u."id" {after} %s')
        params.append(cursor)
    base = " AND ".join(where)
    pattern = _like_pattern(search_term(filters.q))
    candidates, candidate_params = _tally_candidates(filters, scope)
    like = "LIKE %s ESCAPE '\\'"
    sql = (
        # The newest candidates, each tested.
        # The newest candidates (SEARCH_PROBE at most), each tested.
        'WITH probe AS MATERIALIZED (SELECT u."id", '  # noqa: S608
        f'u."search_text" {like} AS "hit" FROM "leads_lead" u WHERE {base} '
        f'ORDER BY u."id" {direction} LIMIT %s), '
        # Settled by the probe: enough matches for the page, or no candidate left untested.
        'found AS MATERIALIZED (SELECT count(*) FILTER (WHERE "hit") AS n, '
        'count(*) FILTER (WHERE "hit") >= %s OR count(*) < %s AS settled, '
        # Crowded: the matches among all the candidates, at the probe's share, pass the cap.
        f'count(*) FILTER (WHERE "hit") * ({candidates}) > %s AS crowded FROM probe), '
        # Every match, from the trigram index (unordered), at most SEARCH_LIST_CAP + 1.
        f'listed AS MATERIALIZED (SELECT u."id" FROM "leads_lead" u '
        f'WHERE {base} AND u."search_text" {like} LIMIT %s), '
        "listed_count AS MATERIALIZED (SELECT count(*) AS n FROM listed), "
        # The walk: the concatenation keeps the trigram index out of this one.
        f'walk AS MATERIALIZED (SELECT u."id" FROM "leads_lead" u '
        f"WHERE {base} AND (u.\"search_text\" || '') {like} "
        f'ORDER BY u."id" {direction} LIMIT %s), '
        '"ids" AS ((SELECT "id" FROM probe WHERE "hit" AND (SELECT settled FROM found) '
        f'ORDER BY "id" {direction} LIMIT %s) '
        'UNION ALL (SELECT "id" FROM listed '
        "WHERE (SELECT NOT settled AND n < %s AND NOT crowded FROM found) "
        "AND (SELECT n <= %s FROM listed_count) "
        f'ORDER BY "id" {direction} LIMIT %s) '
        'UNION ALL SELECT "id" FROM walk WHERE (SELECT NOT settled FROM found) '
        "AND ((SELECT n >= %s OR crowded FROM found) OR (SELECT n > %s FROM listed_count))) "
        f'SELECT {_COLUMNS} {_FROM} WHERE l."id" IN (SELECT "id" FROM "ids") '
        f'ORDER BY l."id" {direction}'
    )
    return sql, [
        pattern, *params, SEARCH_PROBE,
        page, SEARCH_PROBE, *candidate_params, SEARCH_LIST_CAP * SEARCH_PROBE,
        *params, pattern, SEARCH_LIST_CAP + 1,
        *params, pattern, page,
        page,
        SEARCH_WALK_FROM, SEARCH_LIST_CAP, page,
        SEARCH_WALK_FROM, SEARCH_LIST_CAP,
    ]  # fmt: skip


def _tally_candidates(filters, scope: Scope) -> tuple[str, list[Any]]:
    """How many leads a search tests, as a scalar subquery over the tally (a few rows, however
    many leads), when the tally knows: the search's other filters are the owner and the
    status at most. Otherwise ``0``: not known, never crowded."""
    if any(spec.name not in ("q", "user_id", "status") for spec, _ in active_filters(filters)):
        return "0", []
    owner_term, params = scope.owner_sql('"user_id"')
    if filters.user_id is not None:
        owner_term = f'{owner_term} AND "user_id" = %s'
        params.append(filters.user_id)
    if filters.status is not None:
        owner_term = f'{owner_term} AND "status" = %s'
        params.append(filters.status)
    return f'SELECT COALESCE(SUM("n"), 0) FROM "leads_leadtally" WHERE {owner_term}', params  # noqa: S608


# A creation window with at least this many of the scope's leads is "wide" on SQLite. Read
# from the date index, a window costs about 0.3 us a lead when the other filters reject
# nearly all of it (500,000 leads, a rare status and a narrow score: 5,000 leads 1.3 ms,
# 34,000 leads 7 ms, 67,000 leads 22 ms); counting up to this bound costs 0.7 ms.
WIDE_WINDOW = 30_000
# With no other filter every lead the walk reads in the window is on the page, so a window
# is wide enough to walk from far fewer leads (and counting up to this costs 0.05 ms).
WIDE_BARE_WINDOW = 2_000


def _wide_sqlite_window(filters, scope: Scope) -> bool:
    """Whether a page with a creation window should walk the id order rather than the
    (user, created_at) index, on SQLite.

    SQLite serves a window from that index whatever its width, then sorts every lead in it
    to find the newest page: 200 ms for a ten-year window over 500,000 leads, statistics or
    not. Walking the ids (or the status or company index) and testing the date finds the
    page among the first leads read when the window is wide. Which one is cheaper depends
    on how many leads the window holds, and how many newer leads the walk must pass first:
    both counted here from the index itself, instead of trusting the planner's guess. With
    other filters the walk may pass most of the window without filling the page, and then
    every older lead, so the window must be much wider before it is worth it.
    """
    if connection.vendor != "sqlite" or (
        filters.created_after is None and filters.created_before is None
    ):
        return False
    owner_term, owner_params = scope.owner_sql('"user_id"')
    window = [owner_term]
    params = [*owner_params]
    end = None
    others = False
    for spec, value in active_filters(filters):
        if not spec.window:
            others = True
            continue
        term, param = filter_term(spec, value, f'"{spec.column}"')
        window.append(term)
        params.append(param)
        if spec.test == "through_day":
            end = param
    wide = WIDE_WINDOW if others else WIDE_BARE_WINDOW
    with connection.cursor() as cursor:
        if _count_up_to(cursor, window, params, wide) < wide:
            return False
        if end is None:
            return True
        # The walk from the newest lead reads every lead newer than the window first: worth
        # it only while those are few (a window that ends now or lately).
        newer = [owner_term, '"created_at" >= %s']
        return _count_up_to(cursor, newer, [*owner_params, end], wide) < wide


def _count_up_to(cursor, terms: list[str], params: list[Any], cap: int) -> int:
    """How many of the leads match ``terms``, counted from the date index, at most ``cap``
    (under a millisecond whatever the table's size)."""
    cursor.execute(
        'SELECT COUNT(*) FROM (SELECT 1 FROM "leads_lead" INDEXED BY "lead_user_created" '  # noqa: S608
        f"WHERE {' AND '.join(terms)} LIMIT {int(cap)})",
        params,
    )
    return cursor.fetchone()[0]


def lead_page_sql(
    filters, *, scope: Scope, cursor: int | None, limit: int, oldest_first: bool, trigram: bool
) -> tuple[str, list[Any]]:
    """The statement and parameters of one page (``limit`` rows plus one, to see if more)."""
    where, params = lead_where(
        filters,
        scope=scope,
        alias="l" if trigram else "u",
        created_index=not (not trigram and _wide_sqlite_window(filters, scope)),
    )
    direction = "ASC" if oldest_first else "DESC"
    after = ">" if oldest_first else "<"
    if trigram:
        # Walk the trigram index's matches in id order: its rowid is the lead id, so the
        # keyset and the order apply to it directly. The LIKE stays as the exact test.
        where.append(f'"{SEARCH_INDEX_TABLE}"."rowid" = l."id"')
        where.append(f'"{SEARCH_INDEX_TABLE}"."search_text" MATCH %s')
        params.append(fts5_phrase(filters.q))
        if cursor is not None:
            where.append(f'"{SEARCH_INDEX_TABLE}"."rowid" {after} %s')
            params.append(cursor)
        sql = (
            f'SELECT {_COLUMNS} {_FROM}, "{SEARCH_INDEX_TABLE}" WHERE {" AND ".join(where)} '
            f'ORDER BY "{SEARCH_INDEX_TABLE}"."rowid" {direction} LIMIT %s'
        )
    elif (
        connection.vendor == "postgresql"
        and filters.q
        and len(search_term(filters.q)) >= 3  # shorter terms have no trigram to look up
        and not _ends_in_the_past(filters.created_before)
    ):
        return _postgresql_search_sql(
            filters,
            scope=scope,
            cursor=cursor,
            page=limit + 1,
            direction=direction,
            after=after,
        )
    elif connection.vendor == "postgresql" and _ends_in_the_past(filters.created_before):
        # A range that ends in the past: PostgreSQL takes the matches to be spread evenly
        # along the id order and walks the primary key down from the newest lead, reading
        # every newer one first (46 ms for one month at 200,000 leads). List the range from
        # the (user, created_at, id) index instead, then keep the newest.
        if cursor is not None:
            where.append(f'u."id" {after} %s')
            params.append(cursor)
        sql = (
            f'WITH r AS MATERIALIZED (SELECT u."id" FROM "leads_lead" u '  # noqa: S608
            f"WHERE {' AND '.join(where)}) "
            f'SELECT {_COLUMNS} {_FROM} WHERE l."id" IN ('
            f'SELECT "id" FROM r ORDER BY "id" {direction} LIMIT %s) ORDER BY l."id" {direction}'
        )
    else:
        if cursor is not None:
            where.append(f'u."id" {after} %s')
            params.append(cursor)
        # Pick the page's ids first (from the covering index), then read only those rows:
        # a date range otherwise reads and sorts every lead in the range.
        sql = (
            f'SELECT {_COLUMNS} {_FROM} WHERE l."id" IN ('  # noqa: S608
            f'SELECT u."id" FROM "leads_lead" u WHERE {" AND ".join(where)} '
            f'ORDER BY u."id" {direction} LIMIT %s) ORDER BY l."id" {direction}'
        )
    params.append(limit + 1)
    return sql, params


def lead_page_rows(
    filters, *, scope: Scope, cursor: int | None, limit: int, oldest_first: bool, trigram: bool
) -> list[dict[str, Any]]:
    sql, params = lead_page_sql(
        filters,
        scope=scope,
        cursor=cursor,
        limit=limit,
        oldest_first=oldest_first,
        trigram=trigram,
    )
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return [from_sql_row(r) for r in cur.fetchall()]
