"""One keyset page of leads as hand-written SQL: the hottest read of the API and the UI.

Measured at 1,000,000 leads, building this query through the ORM and turning its rows into
values cost about four times the database's own work (compiling the query, cloning querysets,
per-value converters). The statement here is the one the ORM produced, written once: the
same filters as ``selectors.filter_leads`` (a test compares the two on every filter
combination), the same indexes, and values read straight from the driver.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

from leads.fields import FROM_SQL_ROW, SQL_COLUMNS
from leads.filters import LEAD_FILTERS, ListFilter
from leads.models import (
    SEARCH_INDEX_TABLE,
    SEARCH_WALK_INDEX,
    STATUS_SCORE_INDEX,
    STATUS_SCORE_INDEX_HOLDS,
    Status,
)
from leads.normalize import search_term
from leads.scope import Scope

_COMPANY_JOIN = ' INNER JOIN "leads_company" c ON c."id" = l."company_id"'


# A search's walk looks each match of the trigram index up in SEARCH_WALK_INDEX (migration
# 0017), which holds the columns it tests: a match that fails them costs no row read.
_WALKED_LEADS = f'"leads_lead" l INDEXED BY "{SEARCH_WALK_INDEX}"'


def _leads(columns: str, table: str = '"leads_lead" l') -> str:
    """The lead ``l`` (``table``, with its index hint if any), joined to its company ``c``
    only when ``columns`` read it (the ids of a sample of 10,000 leads need no company:
    3-4 ms of look-ups)."""
    return table + (_COMPANY_JOIN if 'c."' in columns else "")


def _from(columns: str) -> str:
    return f"FROM {_leads(columns)}"


def start_of_day(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the CRM's time zone: where a date filter cuts."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _start_of_day(day: dt.date) -> Any:
    return connection.ops.adapt_datetimefield_value(start_of_day(day))


def fts5_phrase(q: str) -> str:
    """``q`` as one FTS5 phrase (quotes doubled), lower-cased as the index stores text: the
    exact substring test, for a count that reads no row to test the term again."""
    return '"' + search_term(q).replace('"', '""') + '"'


def fts5_trigrams(q: str) -> str:
    """The FTS5 query that narrows a search on SQLite's trigram index, where the LIKE stays
    the exact test: the term's trigrams at every third character and its last one, each
    asked on its own (quotes doubled), joined by AND.

    A phrase makes FTS5 read the position list of every trigram of the term at every
    lead that has them all: at 1,000,000 leads, the 421 matches of "solar designs" (eleven
    trigrams) cost 10.7 ms newest first. Five of them on their own, "sol", "ar ", "des",
    "ign" and "gns", with no positions to compare, let the same 421 through in 6.3 ms. Trigrams
    that cover the term lose little of the phrase's precision: over 254 substrings of the
    bench's leads, they let through 1.2 times the phrase's matches at the 90th percentile
    and 21 times at worst ("talcapital": 2,487 -> 28,777), each one tested by the LIKE.
    Searching those terms under a rare status, the request cost 1,021 ms in all with the
    phrase and 731 ms this way; the slowest went from 14.3 to 10.6 ms."""
    term = search_term(q)
    starts = [*range(0, len(term) - 2, 3), len(term) - 3]
    grams = dict.fromkeys(term[start : start + 3] for start in starts)
    return " AND ".join('"' + gram.replace('"', '""') + '"' for gram in grams)


# A search's test: LIKE with the pattern of _like_pattern, the backslash its escape.
_LIKE = "LIKE %s ESCAPE '\\'"


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


def filter_term(spec: ListFilter, value: Any, column: str) -> tuple[str, list[Any]]:
    """One filter as an SQL term over ``column`` and its parameters: the same test as
    ``selectors.filter_leads`` applies through the ORM. A value from a declared fixed set
    (``ListFilter.choices``) is written into the term and has no parameter."""
    test = spec.test
    if test == "equal" and spec.choices:
        if value not in spec.choices:
            raise ValueError(f"{spec.name}: {value!r} is not one of {spec.choices}")
        return f"{column} = '{value}'", []
    term, param = _filter_term(spec, value, column)
    return term, [param]


def _filter_term(spec: ListFilter, value: Any, column: str) -> tuple[str, Any]:
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
    return f"{column} {_LIKE}", _like_pattern(search_term(value))


def lead_where(
    filters, *, scope: Scope, alias: str, created_index: bool = True, owner_key: bool = False
) -> tuple[list[str], list[Any]]:
    """The WHERE terms of ``selectors.filter_leads`` for the table called ``alias``, within
    the scope. With ``created_index=False`` the creation window is written so that SQLite
    cannot serve it from an index (a unary ``+``) and walks another one instead. With
    ``owner_key`` the owner is written ``user_id + 0``, as the indexes that key it so
    (lead_counts, STATUS_SCORE_INDEX) hold it."""
    owner = f'({alias}."user_id" + 0)' if owner_key else f'{alias}."user_id"'
    owner_term, owner_params = scope.owner_sql(owner)
    where = [owner_term]
    params: list[Any] = [*owner_params]
    for spec, value in active_filters(filters):
        column = owner if spec.column == "user_id" else f'{alias}."{spec.column}"'
        if not created_index and spec.window:
            column = "+" + column
        term, term_params = filter_term(spec, value, column)
        where.append(term)
        params += term_params
    return where, params


def counts_index_serves(filters) -> bool:
    """On SQLite, whether the lead_counts index (migration 0003) answers ``filters`` alone: a
    score or date range is set, and every filter set is one that index holds."""
    if connection.vendor != "sqlite":
        return False
    active = [spec for spec, _ in active_filters(filters)]
    return any(spec.ranged for spec in active) and all(spec.counted for spec in active)


def lead_source_sql(
    filters, *, scope: Scope, trigram: bool, narrow: bool | None = None
) -> tuple[str, list[Any]]:
    """``<tables> WHERE <terms>`` of the scope's leads that match ``filters``, the lead table
    called ``l``, for the counts and sums that read every match (the board's and the
    dashboard's figures, the list page's count), and its parameters.

    On SQLite the index is named here, from the filters' declaration, instead of being left
    to the planner: without statistics it chose the (user, status, id) index for nearly
    everything, which streams the groups of a GROUP BY in order but reads every lead of the
    account to do it (at 500,000 leads, a company of 421 leads counted per status in
    135 ms, its values in 190 ms; a term's 14,800 matches looked up lead by lead, 680 ms),
    and with statistics it still did for a company. The choices, in order:

    * score and date ranges with nothing but counted filters: the lead_counts index alone;
    * a company: the company's leads, from its index;
    * a creation window of fewer than NARROW_SEARCH_WINDOW leads (``narrow_window``): the
      window, from the date index, each lead tested (a week and a common term: 3,600 leads
      read instead of the term's 52,000 matches);
    * a search under a status and a score range that pass fewer than NARROW_SEARCH_SCORES
      leads (``narrow_scores``): those, from STATUS_SCORE_INDEX, each tested for the term;
    * a search (``trigram``): the trigram index's matches, each looked up by its id in
      SEARCH_WALK_INDEX and its row read only if it passes the filters that index holds
      (``CROSS JOIN`` fixes the order); the LIKE stays the exact test;
    * otherwise the planner's choice.

    ``narrow`` is ``narrow_window``'s answer when the caller has already counted it.
    """
    if counts_index_serves(filters):
        # The index holds the owner as its expression (user_id + 0), not as the column.
        where, params = lead_where(filters, scope=scope, alias="l", owner_key=True)
        return f'"leads_lead" l INDEXED BY "lead_counts" WHERE {" AND ".join(where)}', params
    tables = '"leads_lead" l'
    index = None
    if connection.vendor == "sqlite":
        if filters.company_id is not None:
            index = "lead_company_id"
        elif narrow if narrow is not None else narrow_window(filters, scope):
            index = "lead_user_created"
        elif trigram and narrow_scores(filters, scope):
            index = STATUS_SCORE_INDEX
    # STATUS_SCORE_INDEX holds the owner as its expression, and only the leads its condition
    # names: both written as the index has them, so SQLite may read it.
    scored = index == STATUS_SCORE_INDEX
    where, params = lead_where(filters, scope=scope, alias="l", owner_key=scored)
    if scored:
        where.append(f"l.{STATUS_SCORE_INDEX_HOLDS}")
    if index is not None:
        return f'{tables} INDEXED BY "{index}" WHERE {" AND ".join(where)}', params
    if trigram:
        search = f'"{SEARCH_INDEX_TABLE}"'
        where += [f'{search}."rowid" = l."id"', f'{search}."search_text" MATCH %s']
        params.append(fts5_trigrams(filters.q))
        return f"{search} CROSS JOIN {_WALKED_LEADS} WHERE {' AND '.join(where)}", params
    return f"{tables} WHERE {' AND '.join(where)}", params


def _ends_in_the_past(day: dt.date | None) -> bool:
    return day is not None and day < timezone.localdate() - dt.timedelta(days=1)


# PostgreSQL search (`q`), its costs counted in leads walked (about 0.5 us each at 1,000,000
# leads): how many of the newest leads the probe reads; what listing from the trigram index
# costs before the first lead (the index's bitmap for a term common enough that the walk is
# worth weighing: 4-7 ms for an owner of 500,000 leads) and for each lead it reads (2-3 us:
# a table page apart from the last one's, and the term tested again); how many matches the
# listing may keep before it is given up for the walk. At 1,000,000 leads "duboi" (3,850 of
# the owner's leads, 4 of the newest 1,000) was listed at a price of one lead a match and a
# start of 5,000, 11-17 ms, where the walk read 9,000-10,600 leads in 4.4-6.5 ms.
SEARCH_PROBE = 1000
SEARCH_PROBE_WINDOW = 4
SEARCH_SHORT_WINDOW_DAYS = 31
SEARCH_LIST_START = 10_000
# The start is that of owners of this many leads (bench1's at 1,000,000), and scales with the
# owners' leads the tally counts: the trigram index keys each owner's leads apart, so the
# bitmap is built from their lists, whatever the other filters. At 10,000 leads a fixed start
# sent a term in 0.9 % of them ("bake") to a walk of 4,700 leads (5.4 ms) where the listing
# read 94 (3.8 ms). Scaled by the status's leads instead, a common status under a score range
# and a middling term listed at 1,000,000 leads where the walk was cheaper (20 ms, over 15).
SEARCH_LIST_START_LEADS = 500_000
SEARCH_LIST_COST = 5
SEARCH_LIST_CAP = 4000
# At 1,000,000 leads a walk read 0.5 us a lead with no status asked for, 1.0 us under one of
# a tenth of the owner's leads and 0.67 us under one of two fifths: 0.11 of a lead's cost
# is that of its table page, which the status's leads on it share (``_walk_cost_per_lead``).
SEARCH_WALK_PAGE_SHARE = 0.11
# A walk the probe says reads at most this many leads (page * probe / n) runs without the
# listing being weighed: about 1.5 ms at 0.75 us a lead, less than the listing's bitmap alone
# for a common term, whose trigrams' lists hold every owner's leads. The weighing's start
# scales with the owners' leads only, so for an owner of 10,000 of 100,000 leads it listed
# "ande" (399 matches: bitmap 0.55 ms, rows 0.4 ms) where the walk read 1,390 leads (0.5 ms).
# Such a walk runs in the probe's own statement, which then holds no listing to plan.
SEARCH_WALK_SURE = 2000
# The owners' key of the trigram index costs its list, one entry per lead of theirs: at
# 1,000,000 leads "solar designs" (421 matches) for an owner of 500,000 took 10.6 ms listed
# with it and 5.8 ms without, reading the matches of every owner and testing the owner on
# each. So the listing leaves the key out when the term's matches in the other owners' leads
# (at the probe's share of them, ``PostgresSearch.choose``) cost less than that list: one
# match read for every SEARCH_OWNER_KEY_LEADS of the owners' leads. An install of one rep
# is the extreme: the owner's list is every lead. "bake" (0.9 % of the leads) for an owner
# of 100,000 of 1,000,000 keeps the key: without it, 6.3 -> 16.8-20.1 ms.
SEARCH_OWNER_KEY_LEADS = 200
# The status as the trigram index holds it, next to the owner (migration 0016), and the
# largest share of the leads a status may hold for the listing to read it there.
SEARCH_INDEX_STATUS = """(u."status" || '')"""
SEARCH_RARE_STATUS_PERCENT = 20


# A run of letters and digits: pg_trgm cuts text into words at every other character and
# pads each word's ends, so a term of several words brings boundary trigrams ("  d", " de",
# "ar ") that are among the commonest in the index.
_WORD = re.compile(r"[^\W_]+")


def trigram_words(term: str) -> list[str]:
    """The words of a folded search term that PostgreSQL's trigram index is asked for in its
    place (``trigram_terms``): each run of three letters or digits or more, once; none
    (ask the term as it is) for a term of one word or of words too short for a trigram."""
    words = list(dict.fromkeys(word for word in _WORD.findall(term) if len(word) >= 3))
    return [] if words == [term] else words


def trigram_terms(q: str, column: str) -> tuple[list[str], list[Any]]:
    """The search's WHERE terms for PostgreSQL's trigram index (the listing), and their
    parameters: ``column LIKE %term%``, or, for a term of several words, each word of three
    letters or more on its own and the whole term as the exact test, written so that the
    index does not serve it.

    The index's bitmap costs the length of every trigram's list it reads, and the lists of
    the trigrams at a word's ends are long: at 1,000,000 leads "solar designs" read 14 of
    them for 421 matches (11 ms of bitmap); its words alone, "solar" and "designs", read 8
    and let through the same 421 leads (8.5 ms; the statement 14.7 -> 9.7 ms). Each word
    is in every lead the whole term is in, so the terms together match exactly the leads
    the one LIKE does; only the trigrams read differ. A term of one word, or whose words
    are all shorter than three letters (no trigram of their own), is asked as it is."""
    term = search_term(q)
    words = trigram_words(term)
    if not words:
        return [f"{column} {_LIKE}"], [_like_pattern(term)]
    exact = f"({column} || '') {_LIKE}"
    return (
        [f"{column} LIKE %s" for _ in words] + [exact],
        [*(f"%{word}%" for word in words), _like_pattern(term)],
    )


# A score range of at most this many scores is asked of the trigram index as well, as the
# list of its scores (migration 0019 keys each lead as ARRAY[score], and GIN answers ``&&``
# as one OR over those keys): score 95-100 + "rober" let 432 leads through instead of the
# term's 7,438 (statement 18.7 -> 5.8 ms). A wider range is tested on each lead only: eight
# keys of a tenth of the leads each cost the bitmap more (15 ms) than the rows they spare.
SEARCH_SCORE_KEYS = 11
# Every score there is (the lead_score_0_100 constraint).
_SCORE_LOW, _SCORE_HIGH = 0, 100


def search_score_keys(filters) -> list[int] | None:
    """The scores a narrow score range holds, for the trigram index; None for a wide range
    or none."""
    if filters.min_score is None and filters.max_score is None:
        return None
    low = _SCORE_LOW if filters.min_score is None else max(filters.min_score, _SCORE_LOW)
    high = _SCORE_HIGH if filters.max_score is None else min(filters.max_score, _SCORE_HIGH)
    if high - low + 1 > SEARCH_SCORE_KEYS:
        return None
    return list(range(low, high + 1))


class PostgresSearch:
    """The statements of one page of a PostgreSQL search, which chooses its plan by how
    common the term is: ``postgresql_search_page`` runs them.

    The two plans PostgreSQL has for ``LIKE '%term%'`` with a keyset order are each slow
    where the other is fast: walking the leads newest first and testing each reads
    ``page / share-of-matches`` leads (22 ms for a term in 0.75 % of 100,000 leads);
    listing every match from the trigram index and keeping the newest costs each match
    (26 ms for one in 10 %). The planner's estimate of a term's share is often far off, so
    it picks the wrong one for some terms. Here the search measures instead.

    The indexed filters (``ListFilter.indexed``: the owner, the status, the company, the
    email, the creation window) choose the leads read; every other filter (a score range,
    do-not-contact, the email status) is tested on each lead read, with the term. The probe
    (``probe``) reads the newest SEARCH_PROBE leads so chosen (SEARCH_PROBE_WINDOW times as
    many in a creation window of a month at most, with tested filters), whatever the tested
    filters reject (a score range that passed one lead in 17 made it read 17,000), and counts
    how many match everything (n) and how many have the term (t). Then the search

    * has the page already, in the probe's own statement, when enough of them match, or
      when they were all the leads there are to read (a selective status, company or
      window);
    * otherwise weighs the walk (``walk``), ``page * probe / n`` leads read (each dearer
      under a status, the rarer it is: ``_walk_cost_per_lead``), against the listing
      (``listing``): SEARCH_LIST_START (for owners of SEARCH_LIST_START_LEADS leads, scaled
      by the owners' leads the tally counts), and SEARCH_LIST_COST for each lead with the
      term that the trigram index lets through (t at the probe's share of the owners' leads
      as the tally counts them, a window counted as all of them; only the status's when the
      listing reads its key; with a company or an email the number is not known and only
      the start is weighed). The cheaper one runs;
    * the listing keeps at most SEARCH_LIST_CAP matches; past the cap (a term far more
      common than the probe said) it walks after all, and so does a search whose matches
      at the probe's share would pass the cap.

    The trigram index holds the owner and the status with the text (migration 0016), so a
    listing under a status reads only that status's matches; and the score (0019), so a
    listing under a narrow score range (``search_score_keys``) reads only its matches. The
    owners' key costs its list, as long as their leads: the listing leaves it out, reads
    every owner's matches and tests the owner on each, when the other owners' matches (t + 1
    at the probe's share of their leads) cost less (``_listed``): always for an install of one
    rep, whose list is every lead.

    Every plan returns exactly the first page of matches; only its cost differs. The probe's
    statement also walks when the walk is sure (SEARCH_WALK_SURE), behind a one-time filter
    on the probe's figures, so a search the probe settles or walks surely costs one
    statement that plans nothing else: planning the listings was a third of such a
    statement ("ande" at 100,000 leads: 0.74 against 0.42 ms of planning). A search it
    leaves open is weighed in Python (``choose``), over the probe's figures and the tally's
    (``tally``, remembered for a while: ``tally_figures``), and the one plan chosen is sent:
    the walk, or the listing with the walk behind a one-time filter for matches past the
    cap (``listed_or_walked``). The plan so chosen is remembered for a while (``_PLANS``),
    and the same search again sends it without the probe. Under a company or an email the
    probe's statement holds no walk (``plans_together``): the listing is sent alone
    (``listing``), and the walk in a statement of its own.
    """

    def __init__(
        self, filters, *, scope: Scope, cursor: int | None, page: int, oldest_first: bool
    ) -> None:
        self.filters = filters
        self.scope = scope
        self.page = page
        self.direction = "ASC" if oldest_first else "DESC"
        # The owners (the scope, and the one owner asked for) apart from the other indexed
        # filters: the listing may leave the owners' key of the trigram index out (``_listed``).
        owner_term, owner_params = scope.owner_sql('u."user_id"')
        owners: list[str] = [owner_term]
        indexed: list[str] = []
        indexed_params: list[Any] = []
        checked: list[str] = []
        checked_params: list[Any] = []
        for spec, value in active_filters(filters):
            if spec.name == "q":
                continue
            term, term_params = filter_term(spec, value, f'u."{spec.column}"')
            if spec.name == "user_id":
                owners.append(term)
                owner_params += term_params
            elif spec.indexed:
                indexed.append(term)
                indexed_params += term_params
            else:
                checked.append(term)
                checked_params += term_params
        if cursor is not None:
            indexed.append(f'u."id" {">" if oldest_first else "<"} %s')
            indexed_params.append(cursor)
        self.owners = " AND ".join(owners)
        self.owner_params = owner_params
        # The listing reads the trigram index and nothing else: its other indexed filters sit
        # in a CASE, which no index serves. Written plainly, a fresh ANALYZE's sample now and
        # then had the planner AND the index's bitmap with another index's: "converted" +
        # "solar designs" read lead_won (every converted lead) too, 17-35 ms against 6-11.
        self.listed_rest = (
            f"CASE WHEN {' AND '.join(indexed)} THEN true ELSE false END" if indexed else "true"
        )
        self.listed_rest_params = indexed_params
        self.base = " AND ".join(owners + indexed)
        self.base_params = [*owner_params, *indexed_params]
        # A short creation window may hold few enough leads to be read whole, while tested
        # filters reject nearly all of them: a week of 3,600 leads, a score range passing one
        # in 17 and a rare term matched none of the first 1,000, and the listing ran (20 ms)
        # where reading the rest of the week settled it (3 ms). In a long window the larger
        # probe only costs (2 ms for 4,000 leads).
        self.probe_size = SEARCH_PROBE
        if checked and _window_days(filters) <= SEARCH_SHORT_WINDOW_DAYS:
            self.probe_size = SEARCH_PROBE * SEARCH_PROBE_WINDOW
        self.pattern = _like_pattern(search_term(filters.q))
        # The filters no index serves are tested on each lead read, as the search term is.
        self.checked = checked
        self.checked_params = checked_params
        self.passes = " AND ".join(checked) or "true"

    def _page_of(self, ids: str, *, ordered: bool = True) -> str:
        """The page's rows: the leads whose ids the subquery ``ids`` gives, in page order
        when ``ordered`` (a statement that joins them to its figures orders them itself)."""
        columns = SQL_COLUMNS["postgresql"]
        sql = f'SELECT {columns} {_from(columns)} WHERE l."id" IN ({ids})'
        return f'{sql} ORDER BY l."id" {self.direction}' if ordered else sql

    @property
    def plans_together(self) -> bool:
        """Whether the probe's statement holds the sure walk, and the listing's statement
        the walk past the cap (``listed_or_walked``): without a company or an email filter.

        PostgreSQL plans all of a statement, the parts that never run included. Under a
        company (or an email) it weighs every index of each filter and their combinations
        for each scan of the lead table, and a statement of every plan spent most of its
        time in planning: all filters at 10,000 leads, 0.77 ms of planning for 0.19 ms of
        work, against 0.39 ms for the probe's statement alone. The probe reads the company's
        leads (or the one lead with the email) and nearly always settles such a search, so
        the probe runs alone, and a search it does not settle pays a statement to list or
        walk, and one more to walk when the listing passes the cap.

        Without them a search the probe does not settle is common (a term in few of the
        newest leads), the planning of the other scans costs little, and each statement's
        round trip and its page's join planned again cost more: "thom" at 10,000 leads, 1.8
        ms in one statement against 2.4 ms in three."""
        return self.filters.company_id is None and self.filters.email is None

    def probe(self) -> tuple[str, list[Any]]:
        """The search's first statement: the probe, and the walk when it is sure and the
        plans go together (``plans_together``). Its rows: the probe's figures (n, t, how many
        leads it read, whether it settled the search, whether the walk is sure), then each
        column of a row of the page, all NULL in the one row there is when the page is not
        in it: ``postgresql_search_page`` then weighs the plans (``choose``) and runs the one
        chosen. (Returning the figures beside the page cost 0.1 ms of a 1.8 ms statement,
        for a join to the page.)"""
        probe = self.probe_size
        ids = (
            'SELECT "id" FROM probe WHERE "passes" AND "term" AND (SELECT settled FROM counted) '  # noqa: S608
            f'ORDER BY "id" {self.direction} LIMIT %s'
        )
        walk = ""
        walk_params: list[Any] = []
        if self.plans_together:
            walk_ids, walk_params = self._walk_ids()
            walk = f", walk AS MATERIALIZED ({walk_ids})"
            ids = (
                f'({ids}) UNION ALL SELECT "id" FROM walk '  # noqa: S608
                "WHERE (SELECT NOT settled AND sure FROM counted)"
            )
        sql = (
            # The newest leads the indexed filters give (``probe`` at most), each tested.
            'WITH probe AS MATERIALIZED (SELECT u."id", '  # noqa: S608
            f'{self.passes} AS "passes", u."search_text" {_LIKE} AS "term" '
            f'FROM "leads_lead" u WHERE {self.base} ORDER BY u."id" {self.direction} LIMIT %s), '
            # Settled by the probe: enough matches for the page, or no lead left untested. It
            # reads one lead more than its size to know: a scope of exactly that many leads,
            # read whole, would otherwise weigh and list or walk them again. Sure: the walk
            # reads at most SEARCH_WALK_SURE leads (page * probe / n).
            'counted AS MATERIALIZED (SELECT n, t, "read", n >= %s OR "read" <= %s AS settled, '
            "n * %s >= %s AS sure "
            'FROM (SELECT count(*) FILTER (WHERE "passes" AND "term") AS n, '
            'count(*) FILTER (WHERE "term") AS t, count(*) AS "read" FROM probe) probed)'
            f"{walk} "
            # The probe's figures, joined to the page's rows (none when it is not here).
            'SELECT f.n, f.t, f."read", f.settled, f.sure, p.* FROM counted f LEFT JOIN ('
            f'{self._page_of(ids, ordered=False)}) p ON true ORDER BY p."id" {self.direction}'
        )
        params = [
            *self.checked_params, self.pattern, *self.base_params, probe + 1,
            self.page, probe, SEARCH_WALK_SURE, self.page * probe,
            *walk_params,
            self.page,
        ]  # fmt: skip
        return sql, params

    def listed_or_walked(self, *, status_key: bool, owned: bool) -> tuple[str, list[Any]]:
        """The listing (``_listed``) and, behind a one-time filter on how many matches it
        read, the walk when they pass the cap, in one statement: for a search whose plans
        go together (``plans_together``) and whose weighing (``choose``) chose the listing.
        Its rows are the page's."""
        listed, listed_params = self._listed(status_key=status_key, owned=owned)
        walk, walk_params = self._walk_ids()
        ids = (
            '(SELECT "id" FROM listed WHERE "mine" AND (SELECT n <= %s FROM listed_count) '  # noqa: S608
            f'ORDER BY "id" {self.direction} LIMIT %s) '
            'UNION ALL SELECT "id" FROM walk WHERE (SELECT n > %s FROM listed_count)'
        )
        sql = (
            f"WITH listed AS MATERIALIZED ({listed}), "  # noqa: S608
            "listed_count AS MATERIALIZED (SELECT count(*) AS n FROM listed), "
            # The walk along the ids, testing each lead as the probe did.
            f"walk AS MATERIALIZED ({walk}) {self._page_of(ids)}"
        )
        params = [
            *listed_params, *walk_params, SEARCH_LIST_CAP, self.page, SEARCH_LIST_CAP,
        ]  # fmt: skip
        return sql, params

    def tally(self) -> tuple[str, list[Any]]:
        """The tally's figures that the weighing (``choose``) reads, as one statement over
        the tally (a few rows, however many leads). Its row:

        * ``c``: the leads the probe and the walk read at most, the owners' of the status
          asked for (when the tally knows, ``_tally_knows``);
        * ``o``: the owners' leads (the scope, and the one owner asked for);
        * ``a``: every lead there is, every owner's: what the listing reads without the
          owners' key;
        * ``s`` and ``sa``: the scope's leads of the status asked for, and all the scope's
          (whether the status is rare, ``_keyed``).

        Read through the owners' index (user_id is never NULL): a bulk load leaves the
        tally's table long with dead rows (65 MB for its 10 rows after 1,000,000 leads, a
        scan of 3.7 ms), and the index reads only the live ones' pages (0.2 ms)."""
        owners, params = self.scope.owner_sql('"user_id"')
        scope, scope_params = owners, list(params)
        if self.filters.user_id is not None:
            owners = f'{owners} AND "user_id" = %s'
            params.append(self.filters.user_id)
        status = self.filters.status
        of_status = ' AND "status" = %s' if status is not None else ""
        sql = (
            f'SELECT COALESCE(SUM("n") FILTER (WHERE {owners}{of_status}), 0)::bigint AS c, '  # noqa: S608
            f'COALESCE(SUM("n") FILTER (WHERE {owners}), 0)::bigint AS o, '
            'COALESCE(SUM("n"), 0)::bigint AS a, '
            f'COALESCE(SUM("n") FILTER (WHERE {scope}{of_status}), 0)::bigint AS s, '
            f'COALESCE(SUM("n") FILTER (WHERE {scope}), 0)::bigint AS sa '
            'FROM "leads_leadtally" WHERE "user_id" IS NOT NULL'
        )
        statuses = [status] if status is not None else []
        return sql, [*params, *statuses, *params, *scope_params, *statuses, *scope_params]

    def choose(self, n: int, t: int, read: int, tally: Sequence[int]) -> tuple[bool, bool, bool]:
        """The weighing of the plans of a search the probe did not settle, over its figures
        ``n``, ``t`` and ``read`` and the tally's (``tally``: c, o, a, s, sa): whether the
        walk runs without the listing (crowded), whether the listing asks for the status's
        key (keyed, ``_keyed``), and whether it keeps the owners' key (owned). Weighed here,
        so that the statement after the probe holds the chosen plan alone: one that weighed
        in SQL and held every listing behind one-time filters planned them all, and took
        longer than the listing it ran ("alva" at 1,000,000 leads).

        Crowded: the matches, at the probe's share of all there are to read, pass the cap;
        or listing costs more than walking to the page (page * probe / n leads read): the
        listing reads every lead with the term that the index's filters let through (t at
        the probe's share), whether the tested filters keep it or not.

        Owned: unless the term's matches in the other owners' leads (``a - o``, at the
        probe's share (t + 1) / read) cost less than the owners' list in the index, one
        match read for every SEARCH_OWNER_KEY_LEADS of their leads (``_listed``). A listing
        with the status's key keeps the owners' key."""
        c, o, a, s, sa = tally
        if not self._tally_knows:
            c = 0
        probe = self.probe_size
        # The listing's start, in leads walked (times the probe, as the walk's cost is
        # written), for the owners' leads, whose lists the trigram index keys: whatever the
        # status (the status's own key is read only for a rare one, and adds to the owner's
        # lists).
        start_per_lead = SEARCH_LIST_START * probe / SEARCH_LIST_START_LEADS
        keyed = self._keyed(s, sa)
        # The leads whose matches the listing reads: the status's under its key; else every
        # status's (the probe's t is of the status's leads, and the status is tested on each
        # match read): "duboi" under "new" read 3,850 matches of the owner, not 1,585.
        listed = c if keyed or not self._tally_knows else o
        walked = self.page * probe * probe * self._walk_cost_per_lead(c, o)
        crowded = n * c > SEARCH_LIST_CAP * probe or (
            n * (SEARCH_LIST_COST * t * listed + start_per_lead * o) > walked
        )
        # t + 1: a term the probe did not meet is taken to be in one lead of it, not none,
        # so a term the other owners hold often, and the owner's probe never met, keeps the
        # key: for an owner of a tenth of the leads the listing without it read the other
        # owners' matches of a company's name (9 others had one of that name), 7.9 -> 8.5-9.2
        # ms. For a term the probe of 1,000 did not meet, the key is left out once the owners
        # hold a sixth of the leads (a - o <= o * 1,000 / 200).
        unowned = (t + 1) * (a - o) * SEARCH_OWNER_KEY_LEADS <= o * read
        return crowded, keyed, keyed or not unowned

    def _walk_cost_per_lead(self, status_leads: int, owner_leads: int) -> float:
        """What the walk costs a lead read under the status asked for, in leads walked
        without one: a lead shares its table page with the leads created beside it, and a
        status's leads share it with fewer the rarer the status is. SEARCH_WALK_PAGE_SHARE of
        a lead's cost is its page's, split among the status's leads on it (the status's
        share of the owners' leads, ``status_leads / owner_leads``, as the tally counts)."""
        if self.filters.status is None or not 0 < status_leads < owner_leads:
            return 1.0
        return 1.0 + SEARCH_WALK_PAGE_SHARE * (owner_leads / status_leads - 1)

    def _listing_terms(self, *, status_key: bool) -> tuple[str, list[Any]]:
        """What the listing asks of the trigram index and tests on each lead it lets through."""
        terms, terms_params = trigram_terms(self.filters.q, 'u."search_text"')
        hit = [*self.checked, *terms]
        hit_params = [*self.checked_params, *terms_params]
        scores = search_score_keys(self.filters)
        if scores is not None:  # the range stays among the tested filters as the exact test
            hit.append('ARRAY[u."score"] && %s::smallint[]')
            hit_params.append(scores)
        if status_key:
            hit.append(f"{SEARCH_INDEX_STATUS} = %s")
            hit_params.append(self.filters.status)
        return " AND ".join(hit), hit_params

    def _listed(self, *, status_key: bool, owned: bool) -> tuple[str, list[Any]]:
        """One listing: the matches the trigram index lets through (unordered), at most
        SEARCH_LIST_CAP + 1 of them, each with whether it is the owners' ("mine"). With the
        owners' key they all are. Without it the index is asked for every owner's matches
        and the owner is tested on each: the cap counts them all, so a term common in other
        owners' leads reads no more than the cap before the walk takes over."""
        hit, hit_params = self._listing_terms(status_key=status_key)
        # The owners' test, with its parameters first either way: in the WHERE, where the
        # index's key serves it, or in the select list, where nothing does.
        mine, where = ("true", f"{self.owners} AND ") if owned else (f"({self.owners})", "")
        return (
            f'SELECT u."id", {mine} AS "mine" FROM "leads_lead" u '  # noqa: S608
            f"WHERE {where}{self.listed_rest} AND {hit} LIMIT %s",
            [*self.owner_params, *self.listed_rest_params, *hit_params, SEARCH_LIST_CAP + 1],
        )

    def listing(self, *, status_key: bool, owned: bool = True) -> tuple[str, list[Any]]:
        """The listing (``_listed``) as a statement of its own, when the plans do not go
        together (``plans_together``), with the status's key when keyed, without the owners'
        when unowned. Its rows: how many matches it read, then each column of a row of the
        page, all NULL in the one row there is when they pass the cap."""
        listed, listed_params = self._listed(status_key=status_key, owned=owned)
        page = self._page_of(
            f'SELECT "id" FROM listed WHERE "mine" ORDER BY "id" {self.direction} LIMIT %s',  # noqa: S608
            ordered=False,
        )
        sql = (
            f"WITH listed AS MATERIALIZED ({listed}), "  # noqa: S608
            "counted AS MATERIALIZED (SELECT count(*) AS n FROM listed) "
            f"SELECT k.n, p.* FROM counted k LEFT JOIN ({page}) p "
            f'ON (SELECT n <= %s FROM counted) ORDER BY p."id" {self.direction}'
        )
        return sql, [*listed_params, self.page, SEARCH_LIST_CAP]

    def _walk_ids(self) -> tuple[str, list[Any]]:
        """The walk along the ids, testing each lead as the probe does: the page's ids."""
        # The search text is concatenated, which keeps the trigram index out of it, and the
        # tested filters sit in a CASE, which keeps an index that merely holds their columns
        # (lead_counts, read whole and sorted) from being preferred to the ids.
        hit = f"(u.\"search_text\" || '') {_LIKE}"
        if self.checked:
            hit = f"CASE WHEN {self.passes} THEN true ELSE false END AND {hit}"
        sql = (
            f'SELECT u."id" FROM "leads_lead" u WHERE {self.base} AND {hit} '  # noqa: S608
            f'ORDER BY u."id" {self.direction} LIMIT %s'
        )
        return sql, [*self.base_params, *self.checked_params, self.pattern, self.page]

    def walk(self) -> tuple[str, list[Any]]:
        """The walk (``_walk_ids``) as a statement of its own: the page's rows."""
        ids, params = self._walk_ids()
        return self._page_of(ids), params

    def _keyed(self, status_leads: int, scope_leads: int) -> bool:
        """Whether the listing asks the trigram index for the status too (migration 0016;
        written ``status || ''``, as no other query writes it, so that none reads that index
        for a status alone), from the tally's count of the scope's leads of the status
        (``status_leads``) and of all of them (``scope_leads``). It is worth reading when
        the status leaves out most of the term's matches: "rober" under "converted" (10 % of
        the leads) read 766 leads instead of 7,438, 15 -> 8 ms. Under "new" (40 %) the key's
        own list costs more than the leads it leaves out for a rare term (a company's name:
        16.4 ms with it, 13.9 ms without). So the key is read for a status with at most
        SEARCH_RARE_STATUS_PERCENT % of the scope's leads. A term of several words is asked
        of the index word by word (``trigram_terms``), and its words together let few leads
        through: the status's key only adds its list to the bitmap ("solar designs" under
        "converted": 1-2 ms), so it is not read for such a term."""
        return self._may_key_status and (
            status_leads * 100 <= scope_leads * SEARCH_RARE_STATUS_PERCENT
        )

    @property
    def _may_key_status(self) -> bool:
        """Whether the listing may ask for the status's key (``_keyed``): a status is asked
        for, with a term of one word."""
        return self.filters.status is not None and not trigram_words(search_term(self.filters.q))

    @property
    def _tally_knows(self) -> bool:
        """Whether the tally knows how many leads the probe and the walk read at most (its
        ``c``): the indexed filters are the owner, the status and the creation window at most
        (the window's leads are counted as all the owner's: an upper bound, which favours the
        walk, and the walk reads no more than the window). The other filters are tested on
        each lead read and do not change how many are read. With a company or an email
        filter it does not, and the search is never crowded."""
        return not any(
            spec.indexed and not spec.window and spec.name not in ("user_id", "status")
            for spec, _ in active_filters(self.filters)
        )


# The tally's figures a search weighs are remembered this long per process, for its scope,
# owner asked for and status: they choose between plans that find the same page, so figures
# some seconds old choose as well, and the statement that reads them cost a search the probe
# leaves open 0.2-0.3 ms (a round trip, and planning a scan of the tally). Read inside the
# probe's statement instead, they cost every search as much, the ones the probe settles too
# ("ande" at 100,000 leads, walked surely: 0.3 ms of 8, most of it parsing and planning).
TALLY_SECONDS = 60.0


class _Recent:
    """What this process judged or read lately for a plan choice (which never changes a
    page), per key: a value is good for the seconds each lookup allows (read then, so a test
    may shorten them), and at most ``kept`` keys are held, all forgotten at once when full."""

    def __init__(self, kept: int = 4_096) -> None:
        self._kept = kept
        self._items: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any, seconds: float) -> Any:
        """The value kept for ``key`` less than ``seconds`` ago, else None."""
        item = self._items.get(key)
        if item is not None and time.monotonic() - item[0] < seconds:
            return item[1]
        return None

    def put(self, key: Any, value: Any) -> None:
        if len(self._items) >= self._kept:
            self._items.clear()
        self._items[key] = (time.monotonic(), value)

    def clear(self) -> None:
        self._items.clear()


_TALLIES = _Recent()


def tally_figures(search: PostgresSearch) -> tuple[int, ...]:
    """The tally's figures ``search`` weighs (``PostgresSearch.tally``), remembered for
    TALLY_SECONDS."""
    filters = search.filters
    key = (search.scope.owner_ids, filters.user_id, filters.status)
    figures = _TALLIES.get(key, TALLY_SECONDS)
    if figures is None:
        with connection.cursor() as cur:
            cur.execute(*search.tally())
            figures = tuple(cur.fetchone())
        _TALLIES.put(key, figures)
    return figures


# The plan chosen for a search the probe did not settle, remembered per process for
# PLAN_SECONDS per scope, order and filters (``_plan_key``): (crowded, keyed, owned) as
# ``PostgresSearch.choose`` gives it, _WALK for a walk the probe found sure. The same search
# again (the next page, the list opened again, a script that polls) then sends the chosen
# plan alone, without the probe's statement: each statement plans the page's join to the
# companies and the owners again, and the probe reads its leads again ("alva", the bench's
# term at 1,000,000 leads, in four paired runs: 0.87-0.99 of the code before issue 13 when
# each search probed, 1.09-1.24 with the plan remembered). Every plan returns
# exactly the page the probe would have led to, so a plan some seconds old can at most be
# the slower one (a term grown common walks past the listing's cap in the same statement).
PLAN_SECONDS = 60.0
_PLANS = _Recent()
_WALK = (True, False, False)


def postgresql_searches(filters) -> bool:
    """Whether a page of ``filters`` is a PostgreSQL search (``postgresql_search_page``): a
    term of three letters or more (shorter ones have no trigram to look up), in a creation
    window that does not end in the past (one that does is listed from the date index)."""
    return (
        connection.vendor == "postgresql"
        and bool(filters.q)
        and len(search_term(filters.q)) >= 3
        and not _ends_in_the_past(filters.created_before)
    )


def postgresql_search_page(
    filters, *, scope: Scope, cursor: int | None, limit: int, oldest_first: bool
) -> list[tuple[Any, ...]]:
    """One page of a PostgreSQL search (``limit`` rows plus one, to see if more), as rows of
    the page's columns. See ``PostgresSearch``."""
    search = PostgresSearch(
        filters, scope=scope, cursor=cursor, page=limit + 1, oldest_first=oldest_first
    )
    key = _plan_key(search)
    plan = _PLANS.get(key, PLAN_SECONDS)
    with connection.cursor() as cur:
        if plan is None:
            cur.execute(*search.probe())
            rows = cur.fetchall()
            n, t, read, settled, sure = rows[0][:5]
            if settled or (sure and search.plans_together):
                return _joined_rows(rows, 5)
            plan = _WALK if sure else search.choose(n, t, read, tally_figures(search))
            _PLANS.put(key, plan)
        crowded, keyed, owned = plan
        if not crowded:
            if search.plans_together:
                cur.execute(*search.listed_or_walked(status_key=keyed, owned=owned))
                return cur.fetchall()
            cur.execute(*search.listing(status_key=keyed, owned=owned))
            rows = cur.fetchall()
            if rows[0][0] <= SEARCH_LIST_CAP:
                return _joined_rows(rows, 1)
        cur.execute(*search.walk())
        return cur.fetchall()


def _plan_key(search: PostgresSearch) -> tuple[Any, ...]:
    """What a search's remembered plan is kept under (``_PLANS``): the scope's owners, the
    order and every filter with its value, the term included; not the cursor, so the pages
    after the first are read as the first one was."""
    filters = tuple((spec.name, value) for spec, value in active_filters(search.filters))
    return (search.scope.owner_ids, search.direction, filters)


def _joined_rows(rows: list[tuple[Any, ...]], skip: int) -> list[tuple[Any, ...]]:
    """The page's rows of a statement whose every row starts with ``skip`` figures, and
    whose one row has no page columns (all NULL) when the page is not in it."""
    return [row[skip:] for row in rows if row[skip] is not None]


def _window_days(filters) -> int:
    """How many days the creation window spans, up to today when it has no end; a very
    large number when it has no start."""
    if filters.created_after is None:
        return 1 << 30
    end = filters.created_before or timezone.localdate()
    return (end - filters.created_after).days + 1


# A creation window with at least this many of the scope's leads is "wide" on SQLite. Read
# from the date index, a window costs about 0.3 us a lead when the other filters reject
# nearly all of it (500,000 leads, a rare status and a narrow score: 5,000 leads 1.3 ms,
# 34,000 leads 7 ms, 67,000 leads 22 ms); counting up to this bound costs 0.7 ms.
WIDE_WINDOW = 30_000
# With no other filter every lead the walk reads in the window is on the page, so a window
# is wide enough to walk from far fewer leads (and counting up to this costs 0.05 ms).
WIDE_BARE_WINDOW = 2_000
# A creation window with fewer of the scope's leads than this is read whole for a search on
# SQLite (narrow_window).
NARROW_SEARCH_WINDOW = 10_000

# Windows judged not wide lately in this process, for good until leads are deleted or moved:
# (owners, end, bound) -> when. A window whose end has a wide window's worth of newer leads
# keeps them, as inserts only add newer leads; a window that ended before today and held
# fewer than the bound gets no new leads. Such a window (the usual month or quarter) is then
# judged without a count, which costs 0.09 ms at 100,000 leads for the bare bound and 0.7 ms
# for the other one: the board asks once per column, and a person paging through a month on
# every page. It is a plan choice (both plans give the same page), counted again after a few
# minutes.
_NOT_WIDE = _Recent()
NOT_WIDE_SECONDS = 300.0


def _window_terms(filters, scope: Scope) -> tuple[list[str], list[Any], Any, bool]:
    """The creation window within the scope as WHERE terms over the date index's columns,
    their parameters, the window's end (None when open) and whether other filters are set."""
    owner_term, owner_params = scope.owner_sql('"user_id"')
    window = [owner_term]
    params = [*owner_params]
    end = None
    others = False
    for spec, value in active_filters(filters):
        if not spec.window:
            others = True
            continue
        term, term_params = filter_term(spec, value, f'"{spec.column}"')
        window.append(term)
        params += term_params
        if spec.test == "through_day":
            end = term_params[0]
    return window, params, end, others


def window_holds_every_lead(filters, scope: Scope) -> bool:
    """Whether the creation window leaves out none of the scope's leads: none was created
    before its first day or after its last. One statement, a seek of the date index per
    owner and bound, whatever the number of leads.

    A window chosen to mean "all of them" (ten years back) is then no filter at all, and
    the figures that read every match can leave it out and be read as without one (the
    tally for the counts): with it, they read every lead in the window."""
    hint = ' INDEXED BY "lead_user_created"' if connection.vendor == "sqlite" else ""
    owner_term, owner_params = scope.owner_sql('"user_id"')
    outside: list[str] = []
    params: list[Any] = []
    for spec, value in active_filters(filters):
        if not spec.window:
            continue
        # Where filter_term cuts the window, the leads on the other side of the cut.
        _, (cut,) = filter_term(spec, value, '"created_at"')
        bound = "<" if spec.test == "from_day" else ">="
        outside.append(
            f'EXISTS (SELECT 1 FROM "leads_lead"{hint} '  # noqa: S608
            f'WHERE {owner_term} AND "created_at" {bound} %s)'
        )
        params += [*owner_params, cut]
    if not outside:
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {' OR '.join(outside)}", params)
        return not cursor.fetchone()[0]


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
    window, params, end, others = _window_terms(filters, scope)
    wide = WIDE_WINDOW if others else WIDE_BARE_WINDOW
    key = (scope.owner_ids, end, wide)
    if end is not None and _NOT_WIDE.get(key, NOT_WIDE_SECONDS):
        return False
    with connection.cursor() as cursor:
        if end is not None:
            # The walk from the newest lead reads every lead newer than the window first:
            # worth it only while those are few (a window that ends now or lately). Counted
            # first, so a window that ends well in the past (the usual month or quarter) is
            # answered by this count alone, and then by _NOT_WIDE for a while.
            owner_term, owner_params = scope.owner_sql('"user_id"')
            newer = [owner_term, '"created_at" >= %s']
            if count_up_to(cursor, newer, [*owner_params, end], wide) >= wide:
                _NOT_WIDE.put(key, True)
                return False
        wide_window = count_up_to(cursor, window, params, wide) >= wide
    if not wide_window and end is not None and filters.created_before < timezone.localdate():
        _NOT_WIDE.put(key, True)
    return wide_window


def narrow_window(filters, scope: Scope) -> bool:
    """Whether the creation window holds few enough leads to be read whole from the date
    index, each lead tested: for a search on SQLite, rather than walking the term's matches
    in the trigram index; for the figures that read every match (lead_source_sql), rather
    than whatever the planner or another index would read.

    The walk reads matches newest first until the page is full; when the window holds
    fewer matches than a page it reads every match of the term, in every account (a week
    and "rober": 14,800 matches, 17 ms). Testing the window's leads costs about 0.4 us a
    lead (a week of 3,600 leads: 1.4 ms), so a window of up to NARROW_SEARCH_WINDOW leads,
    counted from the date index, is read instead.
    """
    if filters.created_after is None and filters.created_before is None:
        return False
    window, params, _, _ = _window_terms(filters, scope)
    with connection.cursor() as cursor:
        cap = NARROW_SEARCH_WINDOW
        return count_up_to(cursor, window, params, cap) < cap


# A status and a score range with fewer of the scope's leads than this are read whole for a
# search on SQLite (narrow_scores). Their rows lie spread over the table, about 1.8 us a
# lead read and tested at 1,000,000 leads (2,971 leads 5.4 ms; 7,422 leads 14 ms), where the
# walk costs about 0.9 us for each match of the term it passes.
NARROW_SEARCH_SCORES = 4_000
_STATUS_SCORE_FILTERS = ("user_id", "status", "min_score", "max_score")


def narrow_scores(filters, scope: Scope) -> bool:
    """Whether a search under a status and a score range should read the leads they pass
    from STATUS_SCORE_INDEX and test each for the term, on SQLite, rather than walk the
    term's matches: when those leads are fewer than NARROW_SEARCH_SCORES, counted from that
    index (under a millisecond).

    The walk stops when the page is full, so it costs little while most matches pass; when
    few pass, it reads every match of the term in every account ("rober" under "converted"
    and a score of 95-100: 42 of 14,800 matches pass, 13 ms), where the 2,971 leads of that
    status and range cost 5 ms. A company is read from its own index (lead_source_sql), so
    it is not counted here.

    The index leaves out the leads in "new" (STATUS_SCORE_INDEX_HOLDS), where every lead
    starts: an import of new leads writes nothing to it. That status is the commonest, so
    it and a score range pass few leads only in an account small enough for the walk to
    be short anyway."""
    if (
        connection.vendor != "sqlite"
        or filters.status in (None, Status.NEW)
        or (filters.min_score is None and filters.max_score is None)
        or filters.company_id is not None
    ):
        return False
    owner = '("user_id" + 0)'
    owner_term, params = scope.owner_sql(owner)
    terms = [owner_term, STATUS_SCORE_INDEX_HOLDS]
    # The filters the index holds (a manager's choice of one rep among them), each written
    # as the page writes it.
    for spec, value in active_filters(filters):
        if spec.name in _STATUS_SCORE_FILTERS:
            column = owner if spec.column == "user_id" else f'"{spec.column}"'
            term, term_params = filter_term(spec, value, column)
            terms.append(term)
            params += term_params
    with connection.cursor() as cursor:
        cap = NARROW_SEARCH_SCORES
        return count_up_to(cursor, terms, params, cap, STATUS_SCORE_INDEX) < cap


def count_up_to(
    cursor, terms: list[str], params: list[Any], cap: int, index: str = "lead_user_created"
) -> int:
    """How many of the leads match ``terms``, counted from ``index`` (the date index unless
    named), at most ``cap`` (under a millisecond whatever the table's size)."""
    cursor.execute(
        f'SELECT COUNT(*) FROM (SELECT 1 FROM "leads_lead" INDEXED BY "{index}" '  # noqa: S608
        f"WHERE {' AND '.join(terms)} LIMIT {int(cap)})",
        params,
    )
    return cursor.fetchone()[0]


def _sqlite_index_hint(filters, narrow_search: bool, scored: bool) -> str:
    """On SQLite, the index a page must read when the choice may not be left to statistics.

    * A search in a narrow creation window reads the window (narrow_window).
    * A search under a status and a score range of few leads reads those (narrow_scores).
    * A company reads the company's leads, however few or many: without statistics SQLite
      preferred the (user, status, id) index, two equal columns against one, and walked a
      rare status past 50,000 leads of other companies (67 ms, against 1 ms with
      statistics, which choose the company).
    """
    if connection.vendor != "sqlite":
        return ""
    if narrow_search:
        return ' INDEXED BY "lead_user_created"'
    if scored:
        return f' INDEXED BY "{STATUS_SCORE_INDEX}"'
    if filters.company_id is not None:
        return ' INDEXED BY "lead_company_id"'
    return ""


def lead_page_sql(
    filters,
    *,
    scope: Scope,
    cursor: int | None,
    limit: int,
    oldest_first: bool,
    trigram: bool,
    ids_only: bool = False,
) -> tuple[str, list[Any]]:
    """The statement and parameters of one page (``limit`` rows plus one, to see if more):
    the lead's fields (``fields.SQL_COLUMNS``) and its company's, or only the ids."""
    columns = 'l."id"' if ids_only else SQL_COLUMNS[connection.vendor]
    if postgresql_searches(filters):
        raise ValueError("a PostgreSQL search is several statements: postgresql_search_page")
    narrow_search = trigram and narrow_window(filters, scope)
    # A search under a status and a score range of few leads reads those (its hint below).
    scored = trigram and not narrow_search and narrow_scores(filters, scope)
    trigram = trigram and not narrow_search and not scored
    hint = _sqlite_index_hint(filters, narrow_search, scored)
    # The window's leads are counted to choose between the date index and the ids
    # (_wide_sqlite_window) only when nothing else is read: a page that names its index (a
    # search in a narrow window, which keeps the window servable by the date index; a status
    # and a score range; a company, whatever the window: 0.7 ms of count at 1,000,000 leads)
    # or walks the trigram index reads that whatever the window.
    created_index = trigram or bool(hint) or not _wide_sqlite_window(filters, scope)
    where, params = lead_where(
        filters,
        scope=scope,
        alias="l" if trigram else "u",
        created_index=created_index,
        owner_key=scored,
    )
    if scored:  # the condition of the partial index, written as it is, so SQLite may read it
        where.append(f"u.{STATUS_SCORE_INDEX_HOLDS}")
    direction = "ASC" if oldest_first else "DESC"
    after = ">" if oldest_first else "<"
    if trigram:
        # Walk the trigram index's matches in id order: its rowid is the lead id, so the
        # keyset and the order apply to it directly. The LIKE stays as the exact test.
        where.append(f'"{SEARCH_INDEX_TABLE}"."rowid" = l."id"')
        where.append(f'"{SEARCH_INDEX_TABLE}"."search_text" MATCH %s')
        params.append(fts5_trigrams(filters.q))
        if cursor is not None:
            where.append(f'"{SEARCH_INDEX_TABLE}"."rowid" {after} %s')
            params.append(cursor)
        # CROSS JOIN makes the trigram index the outer loop whatever the statistics say:
        # without them SQLite read a ten-year window from the date index and looked each
        # lead up in the trigram index (4.6 s at 500,000 leads, against 2 ms this way).
        # Each match is looked up in SEARCH_WALK_INDEX first, and its row read only if it
        # passes the owner, status, score and company there: "rober" under a rare status
        # and a narrow score passes 42 of 14,800 matches (25 -> 13 ms).
        walked = _leads(columns, _WALKED_LEADS)
        sql = (
            f'SELECT {columns} FROM "{SEARCH_INDEX_TABLE}" CROSS JOIN {walked} '  # noqa: S608
            f"WHERE {' AND '.join(where)} "
            f'ORDER BY "{SEARCH_INDEX_TABLE}"."rowid" {direction} LIMIT %s'
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
            f'SELECT {columns} {_from(columns)} WHERE l."id" IN ('
            f'SELECT "id" FROM r ORDER BY "id" {direction} LIMIT %s) ORDER BY l."id" {direction}'
        )
    else:
        if cursor is not None:
            where.append(f'u."id" {after} %s')
            params.append(cursor)
        # Pick the page's ids first (from the covering index), then read only those rows:
        # a date range otherwise reads and sorts every lead in the range.
        sql = (
            f'SELECT u."id" FROM "leads_lead" u{hint} WHERE {" AND ".join(where)} '  # noqa: S608
            f'ORDER BY u."id" {direction} LIMIT %s'
        )
        if not ids_only:  # the ids alone need no second read of the rows (0.9 -> 0.65 ms at 10k)
            sql = (
                f"SELECT {columns} {_from(columns)} "
                f'WHERE l."id" IN ({sql}) ORDER BY l."id" {direction}'
            )
    params.append(limit + 1)
    return sql, params


def lead_page_rows(
    filters, *, scope: Scope, cursor: int | None, limit: int, oldest_first: bool, trigram: bool
) -> list[dict[str, Any]]:
    if postgresql_searches(filters):
        rows = postgresql_search_page(
            filters, scope=scope, cursor=cursor, limit=limit, oldest_first=oldest_first
        )
        read = FROM_SQL_ROW["postgresql"]
        return [read(r) for r in rows]
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
        read = FROM_SQL_ROW[connection.vendor]
        return [read(r) for r in cur.fetchall()]
