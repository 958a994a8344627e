"""Reads for the pipeline: filtered keyset pages, statistics and representations.

Lists are computed by keyset (``WHERE id < cursor ORDER BY id DESC LIMIT n + 1``), never by
OFFSET, and every page is one query whatever its size. Rows are read with ``values()`` and
turned into plain dicts here: model instances and DRF serializers cost more than the query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection
from django.db.models import (
    Count,
    F,
    Field,
    Func,
    IntegerField,
    Lookup,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Concat, Round

from crm.errors import NotFound
from leads import fields, list_sql, normalize
from leads.filters import GROUP_BY_USER, LEAD_FILTER_NAMES
from leads.models import (
    CLOSED_STATUSES,
    SEARCH_INDEX_TABLE,
    STATUS_ORDER,
    Company,
    Lead,
    LeadEvent,
    LeadTally,
)
from leads.scope import Scope


@dataclass(frozen=True)
class LeadFilters:
    status: str | None = None
    company_id: int | None = None
    min_score: int | None = None
    max_score: int | None = None
    created_after: dt.date | None = None
    created_before: dt.date | None = None
    q: str | None = None
    email: str | None = None
    do_not_contact: bool | None = None
    email_status: str | None = None
    user_id: int | None = None

    @classmethod
    def from_cleaned(cls, data: dict[str, Any]) -> LeadFilters:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{k: (None if v in ("", None) else v) for k, v in known.items()})


if tuple(LeadFilters.__dataclass_fields__) != LEAD_FILTER_NAMES:
    raise ImproperlyConfigured("LeadFilters must hold exactly the filters in leads.filters.")


@dataclass(frozen=True)
class Page:
    data: list[dict[str, Any]]
    next_cursor: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"data": self.data, "next_cursor": self.next_cursor}


_start_of_day = list_sql.start_of_day

OWNER_OUT_OF_SCOPE = "Must be you or, if you manage a team, one of its members."


def owner_filter_check(*, user, user_id: int | None) -> None:
    """A ``user_id`` filter names an owner in the caller's scope, or it is refused on
    ``user_id``: with the same message whether or not that user exists."""
    if user_id is not None and not Scope.of(user).includes_owner(user_id):
        raise ValidationError({"user_id": [OWNER_OUT_OF_SCOPE]})


def lead_filters_checked(*, user, cleaned: dict[str, Any]) -> LeadFilters:
    """The filters of a validated query, refused when they name an owner outside the scope.

    (Applied, every filter stays within the scope anyway: an owner outside it finds nothing.)
    """
    filters = LeadFilters.from_cleaned(cleaned)
    owner_filter_check(user=user, user_id=filters.user_id)
    return filters


# How each test of a declared filter (leads.filters.LEAD_FILTERS) reads through the ORM; the
# hand-written statement writes the same tests in list_sql.filter_term.
_ORM_TESTS: dict[str, Callable[[QuerySet[Lead], str, Any], QuerySet[Lead]]] = {
    "equal": lambda qs, column, value: qs.filter(**{column: value}),
    "at_least": lambda qs, column, value: qs.filter(**{f"{column}__gte": value}),
    "at_most": lambda qs, column, value: qs.filter(**{f"{column}__lte": value}),
    "from_day": lambda qs, column, day: qs.filter(**{f"{column}__gte": _start_of_day(day)}),
    # Inclusive calendar day: everything before the start of the next day.
    "through_day": lambda qs, column, day: qs.filter(
        **{f"{column}__lt": _start_of_day(day + dt.timedelta(days=1))}
    ),
    # Repeating the partial unique index's condition lets SQLite use that index.
    "email": lambda qs, column, value: qs.filter(**{column: value.lower()}).exclude(**{column: ""}),
    "contains": lambda qs, column, value: _contains(qs, column, normalize.search_term(value)),
}


def _contains(qs: QuerySet[Lead], column: str, term: str) -> QuerySet[Lead]:
    """``column`` contains ``term``. On PostgreSQL a term of several words is written as the
    list's search writes it (list_sql.trigram_terms): each word, which the trigram index
    serves without the long lists of the words' ends, and the whole term over the column
    concatenated with nothing, which the index does not serve, as the exact test. The leads
    found are the same; the board's and the dashboard's figures each read the index so."""
    words = list_sql.trigram_words(term) if connection.vendor == "postgresql" else []
    if not words:
        return qs.filter(**{f"{column}__contains": term})
    for word in words:
        qs = qs.filter(**{f"{column}__contains": word})
    exact = f"{column}_whole"
    whole = Concat(column, Value(""), output_field=TextField())
    return qs.alias(**{exact: whole}).filter(**{f"{exact}__contains": term})


class _ScoreArray(Field):
    """A lead's score as the trigram index keys it (migration 0019): ARRAY[score]."""

    def db_type(self, connection: Any) -> str:
        return "smallint[]"


@_ScoreArray.register_lookup
class _Overlaps(Lookup):
    """``ARRAY[score] && <the scores>``, which GIN answers as one OR over their keys."""

    lookup_name = "overlaps"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} && {rhs}::smallint[]", [*lhs_params, *rhs_params]


class _ScoreKeys(Func):
    template = "ARRAY[%(expressions)s]"
    output_field = _ScoreArray()


def filter_leads(qs: QuerySet[Lead], filters: LeadFilters) -> QuerySet[Lead]:
    for spec, value in list_sql.active_filters(filters):
        qs = _ORM_TESTS[spec.test](qs, spec.column, value)
    # On PostgreSQL a search under a narrow score range asks the trigram index for the
    # range's scores too, as the list's listing does (list_sql.search_score_keys): the board's
    # and the dashboard's figures then read the leads of the range with the term, not every
    # lead with the term. The range itself stays the exact test.
    scores = list_sql.search_score_keys(filters)
    if connection.vendor == "postgresql" and filters.q and scores is not None:
        qs = qs.alias(score_keys=_ScoreKeys("score")).filter(score_keys__overlaps=scores)
    return qs


def keyset_page(qs: QuerySet, *, cursor: int | None, limit: int) -> tuple[list[dict], int | None]:
    if cursor is not None:
        qs = qs.filter(id__lt=cursor)
    rows = list(qs.order_by("-id")[: limit + 1])
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, rows[-1]["id"]
    return rows, None


# --- Leads ----------------------------------------------------------------------------------

LEAD_VALUE_FIELDS = fields.VALUE_LOOKUPS
lead_row_to_dict = fields.from_values


def lead_to_dict(lead: Lead) -> dict[str, Any]:
    company = lead.company
    return lead_row_to_dict(
        {
            **{f: getattr(lead, f) for f in LEAD_VALUE_FIELDS if "__" not in f},
            "company__name": company.name,
            "company__domain": company.domain,
        }
    )


def lead_queryset(*, user) -> QuerySet[Lead]:
    return Scope.of(user).leads()


def lead_get(*, user, lead_id: int) -> Lead:
    """One of the user's leads, or 404: another user's lead is exactly a missing one."""
    lead = Scope.of(user).leads().select_related("company").filter(id=lead_id).first()
    if lead is None:
        raise NotFound
    return lead


def _use_trigram_index(filters: LeadFilters) -> bool:
    """Whether `q` should be looked up in the SQLite FTS5 trigram index (migration 0002).

    Trigrams need three characters. With a company or an email filter the plain scan is
    already narrow, while walking every match of a frequent term would not be.
    """
    return (
        connection.vendor == "sqlite"
        and filters.q is not None
        and len(normalize.search_term(filters.q)) >= 3
        and filters.company_id is None
        and filters.email is None
    )


def narrow_by_search_index(qs: QuerySet, filters: LeadFilters, field: str = "id") -> QuerySet:
    """``qs`` limited to the lead ids (in ``field``) the SQLite trigram index finds for ``q``.

    Unlike the join in ``lead_list`` this is a plain ``id IN (...)`` filter, so it also works
    inside the sub-queries and aggregates of the dashboard. The LIKE from ``filter_leads``
    stays the exact test; the index only narrows.
    """
    if not _use_trigram_index(filters):
        return qs
    assert filters.q is not None  # _use_trigram_index says so
    query = list_sql.fts5_trigrams(filters.q)
    # Only constants are spliced into the SQL; the search term is a parameter.
    sql = f'SELECT "rowid" FROM "{SEARCH_INDEX_TABLE}" WHERE "search_text" MATCH %s'  # noqa: S608
    matches = RawSQL(sql, (query,))  # noqa: S611
    return qs.filter(**{f"{field}__in": matches})


def narrow_by_index(qs: QuerySet, *, user, filters: LeadFilters, field: str = "id") -> QuerySet:
    """``qs`` limited to the ids (in ``field``) of the user's leads that match ``filters``,
    listed from the index list_sql.lead_source_sql names on SQLite when it names one the
    planner may pass over: a search's trigram index, a company's index, or the date index
    for a creation window of few leads.

    For the dashboard's aggregates and its walks of the history: SQLite takes an
    ``id IN (sub-query)`` to be a few look-ups of the primary key, so the listed ids drive
    the statement whatever its statistics. Without them it grouped by walking the
    (user, status, id) index through the whole account, and walked the history newest first
    testing every entry's lead (at 500,000 leads without statistics, the dashboard of a
    company of 421 leads and a rare status: 1,856 -> 59 ms). The ORM's filters stay the
    exact test; this only narrows.
    """
    narrowing = _narrowing_source(user=user, filters=filters)
    if narrowing is None:
        return qs
    source, params = narrowing
    # Only constant fragments are joined; every value is a parameter.
    matches = RawSQL(f'SELECT l."id" FROM {source}', params)  # noqa: S608, S611
    return qs.filter(**{f"{field}__in": matches})


def _narrow_window_read(filters: LeadFilters, scope: Scope) -> bool:
    """Whether lead_source_sql reads the matches from the date index (list_sql.narrow_window).
    A company's index is named before any window, so with a company the window is not
    counted."""
    return filters.company_id is None and list_sql.narrow_window(filters, scope)


def _narrowing_source(*, user, filters: LeadFilters) -> tuple[str, list[Any]] | None:
    """The tables and terms ``narrow_by_index`` lists the leads from, or None (it does not):
    a search, a company, or a creation window of few leads (list_sql.narrow_window)."""
    if connection.vendor != "sqlite":
        return None
    scope = Scope.of(user)
    trigram = _use_trigram_index(filters)
    narrow = _narrow_window_read(filters, scope)
    if not trigram and filters.company_id is None and not narrow:
        return None
    return list_sql.lead_source_sql(filters, scope=scope, trigram=trigram, narrow=narrow)


def lead_rows_sql(*, user, filters: LeadFilters, index: str) -> tuple[str, list[Any]] | None:
    """SQLite: ``<tables> WHERE <terms>`` of the user's leads that match ``filters`` (the lead
    table called ``l``) read through ``index``, for a figure whose own index is narrower
    than any the filters name (the converted leads of this month: lead_won); None when
    ``narrow_by_index`` lists fewer leads, which the caller then narrows to."""
    if _narrowing_source(user=user, filters=filters) is not None:
        return None
    return lead_index_rows_sql(user=user, filters=filters, index=index)


def lead_index_rows_sql(*, user, filters: LeadFilters, index: str) -> tuple[str, list[Any]]:
    """SQLite: ``<tables> WHERE <terms>`` of the user's leads that match ``filters`` (the lead
    table called ``l``) read through ``index`` whatever the filters: each lead the index
    gives is tested for every filter (a search by its LIKE)."""
    where, params = list_sql.lead_where(filters, scope=Scope.of(user), alias="l")
    return f'"leads_lead" l INDEXED BY "{index}" WHERE {" AND ".join(where)}', params


def narrowed_matches_up_to(*, user, filters: LeadFilters, cap: int) -> int | None:
    """How many leads ``narrow_by_index`` lists for ``filters``, counted up to ``cap`` from
    the same index (a few milliseconds at most), or None when it lists none."""
    narrowing = _narrowing_source(user=user, filters=filters)
    if narrowing is None:
        return None
    source, params = narrowing
    # Only constant fragments are joined; every value is a parameter.
    sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM {source} LIMIT %s) AS listed"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, cap])
        return int(cursor.fetchone()[0])


def newest_matching_ids(*, user, filters: LeadFilters, n: int) -> Any:
    """The ids of the user's ``n`` newest leads that match ``filters``, as a sub-query.

    On SQLite they are chosen as the list chooses a page (list_sql.lead_page_sql: the
    trigram index for a search, the id order for a wide creation window, the company's
    index), whatever the statistics: through the ORM, SQLite without them read a ten-year
    window whole from the date index and sorted it to keep the newest (at 500,000 leads,
    the dashboard's score chart for ten years 445 ms against 30 ms). PostgreSQL plans the
    ORM's statement well.
    """
    if connection.vendor != "sqlite":
        qs = narrow_by_search_index(filter_leads(lead_queryset(user=user), filters), filters)
        return qs.order_by("-id").values("id")[:n]
    scope = Scope.of(user)
    narrow = _narrow_window_read(filters, scope)
    if filters.company_id is not None or narrow:
        # A company's leads (its index is in id order) or a window of few leads, sorted.
        # The list's page may walk the ids and test the window, which pays for a page but
        # not for a sample longer than the window: it then passes every older lead (the
        # newest week alone at 500,000 leads: 330 ms against 14 ms).
        source, params = list_sql.lead_source_sql(
            filters, scope=scope, trigram=_use_trigram_index(filters), narrow=narrow
        )
        # Only constant fragments are joined; every value is a parameter.
        sql = f'SELECT l."id" FROM {source} ORDER BY l."id" DESC LIMIT %s'  # noqa: S608
        return RawSQL(sql, [*params, n])  # noqa: S611
    sql, params = list_sql.lead_page_sql(
        filters,
        scope=scope,
        cursor=None,
        limit=n - 1,  # the statement reads one more, to know whether there are more
        oldest_first=False,
        trigram=_use_trigram_index(filters),
        ids_only=True,
    )
    return RawSQL(sql, params)  # noqa: S611


def lead_list(
    *,
    user,
    filters: LeadFilters,
    cursor: int | None,
    limit: int,
    oldest_first: bool = False,
) -> Page:
    """One keyset page: newest first (ids below ``cursor``) or oldest first (ids above it).

    One statement, written out in leads.list_sql: the same filters as ``filter_leads``
    without the ORM's cost per query and per value.
    """
    rows = list_sql.lead_page_rows(
        filters,
        scope=Scope.of(user),
        cursor=cursor,
        limit=limit,
        oldest_first=oldest_first,
        trigram=_use_trigram_index(filters),
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = rows[-1]["id"]
    return Page(rows, next_cursor)


def _status_figures(*, user, filters: LeadFilters) -> tuple[dict[str, int], dict[str, str]]:
    """Counts and values per status under ``filters``.

    On SQLite one pass over the matching leads, read from the index list_sql.lead_source_sql
    names whatever the planner's statistics (at 1,000,000 leads without them, the board's
    counts and values for a company of 421 leads 325 -> 2 ms, for "rober" within a score
    range 680 -> 24 ms). On PostgreSQL a count over the indexes that answer the filters and
    a sum over the partial index of the leads with a value."""
    if connection.vendor != "sqlite":
        return _status_counts(user=user, filters=filters), lead_values_by_status(
            user=user, filters=filters
        )
    source, params = list_sql.lead_source_sql(
        filters, scope=Scope.of(user), trigram=_use_trigram_index(filters)
    )
    counts = dict.fromkeys(STATUS_ORDER, 0)
    cents = dict.fromkeys(STATUS_ORDER, 0)
    # Only constant fragments are joined; every value is a parameter.
    summed = cents_sum_sql('l."deal_value"')
    sql = f'SELECT l."status", COUNT(*), {summed} FROM {source} GROUP BY 1'  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for status, n, amount in cursor.fetchall():
            if status in counts:
                counts[status], cents[status] = n, round(amount or 0)
    return counts, {status: money_text(n) for status, n in cents.items()}


def _status_counts(*, user, filters: LeadFilters) -> dict[str, int]:
    counts = dict.fromkeys(STATUS_ORDER, 0)
    qs = filter_leads(lead_queryset(user=user), filters)
    for row in qs.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


def owners_apart(
    *, user, filters: LeadFilters, any_database: bool = False
) -> list[LeadFilters] | None:
    """A manager's figures read owner by owner: the filters once per owner in the scope, or
    None when the scope is one owner or a filter already names one.

    Each query then reads one owner's range of the (user, …) indexes. For counts and sums this
    pays on SQLite, where ``user_id IN (…)`` walks the whole team and sorts it to group
    (measured: 10 owners of 100,000 leads, counts per status 166 ms at once, 54 ms one owner at
    a time); PostgreSQL groups an ``IN`` well, so there it is None unless ``any_database``. A
    newest-first walk with a LIMIT pays on both (``any_database``): one owner's index is in
    time order, a team's ``IN`` is not, so it is read whole and sorted.
    """
    scope = Scope.of(user)
    if filters.user_id is not None or len(scope.owner_ids) < 2:
        return None
    if filters.q:
        # A search term is looked up in the search index once for the whole team, and its
        # few matches read from there: owner by owner it would be looked up once per owner
        # (measured, q=rich, 10 owners of 100,000 leads: stats 470 -> 116 ms, the
        # dashboard's aggregates together 2,000 -> 460 ms).
        return None
    if connection.vendor != "sqlite" and not any_database:
        return None
    return [replace(filters, user_id=owner) for owner in scope.owner_ids]


def without_idle_window(*, user, filters: LeadFilters) -> LeadFilters:
    """``filters`` without their creation window when it leaves out none of the user's leads
    (list_sql.window_holds_every_lead): the same leads match, and the figures that read
    every match read them as without a window (at 500,000 leads, a window of ten years: the
    board's counts from the tally instead of every lead in lead_counts). Only for figures:
    the page keeps showing the window the person chose."""
    if filters.created_after is None and filters.created_before is None:
        return filters
    if not list_sql.window_holds_every_lead(filters, Scope.of(user)):
        return filters
    return replace(filters, created_after=None, created_before=None)


def _tally_serves(filters: LeadFilters) -> bool:
    """The tally answers filters on the owner and the status, and nothing else."""
    return replace(filters, user_id=None, status=None) == LeadFilters()


def _tally(
    owners: list[int], status: str | None = None
) -> tuple[dict[int, dict[str, int]], dict[str, int]]:
    """From the tally the triggers keep (a few dozen rows, however many leads): the counts
    per owner and status, zeros included, and the deal values in cents per status. The
    caller has checked that the owners are in scope."""
    per_owner = {owner: dict.fromkeys(STATUS_ORDER, 0) for owner in owners}
    cents = dict.fromkeys(STATUS_ORDER, 0)
    rows = LeadTally.objects.filter(user_id__in=owners)
    if status is not None:
        rows = rows.filter(status=status)
    totals = rows.values("user_id", "status").annotate(count=Sum("n"), amount=Sum("cents"))
    for row in totals.order_by():
        if row["status"] in cents:
            per_owner[row["user_id"]][row["status"]] += int(row["count"] or 0)
            cents[row["status"]] += int(row["amount"] or 0)
    return per_owner, cents


def _stats_from_tally(*, user, filters: LeadFilters) -> dict[str, Any]:
    """Counts and cents per owner and status from LeadTally (measured at 1,000,000 leads: a
    manager's stats 103 -> 1 ms, a rep's 10 -> 0.5 ms)."""
    scope = Scope.of(user)
    owners = [filters.user_id] if filters.user_id is not None else sorted(scope.owner_ids)
    per_owner, cents = _tally([o for o in owners if scope.includes_owner(o)], filters.status)
    counts = {status: sum(owner[status] for owner in per_owner.values()) for status in STATUS_ORDER}
    by_user = {
        str(owner): {"total": sum(by_status.values()), "by_status": by_status}
        for owner, by_status in per_owner.items()
    }
    return {
        "total": sum(counts.values()),
        "by_status": counts,
        "value_by_status": {status: money_text(n) for status, n in cents.items()},
        "by_user": by_user,
    }


def lead_counts_by_owner_and_status(owner_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """``{owner: {status: n}}`` for the owners named (all statuses, zeros included), from the
    tally. The caller has checked that the owners are in scope."""
    return _tally(list(owner_ids))[0]


def lead_stats(*, user, filters: LeadFilters, group_by: str | None = None) -> dict[str, Any]:
    """Counts and values per status under the list's filters; with ``group_by="user"`` the
    counts per owner too (``by_user``)."""
    filters = without_idle_window(user=user, filters=filters)
    if _tally_serves(filters):
        tallied = _stats_from_tally(user=user, filters=filters)
        if group_by != GROUP_BY_USER:
            del tallied["by_user"]
        return tallied
    per_owner = owners_apart(user=user, filters=filters)
    by_user: dict[str, dict[str, Any]] | None = None
    if per_owner is None:
        counts, values = _status_figures(user=user, filters=filters)
    else:
        counts = dict.fromkeys(STATUS_ORDER, 0)
        cents = dict.fromkeys(STATUS_ORDER, Decimal(0))
        by_user = {}
        for owner_filters in per_owner:
            owner_counts, owner_values = _status_figures(user=user, filters=owner_filters)
            for status in STATUS_ORDER:
                counts[status] += owner_counts[status]
                cents[status] += Decimal(owner_values[status])
            by_user[str(owner_filters.user_id)] = {
                "total": sum(owner_counts.values()),
                "by_status": owner_counts,
            }
        values = {status: f"{amount:.2f}" for status, amount in cents.items()}
        by_user = dict(sorted(by_user.items(), key=lambda item: int(item[0])))
    stats: dict[str, Any] = {
        "total": sum(counts.values()),
        "by_status": counts,
        "value_by_status": values,
    }
    if group_by == GROUP_BY_USER:
        stats["by_user"] = (
            by_user if by_user is not None else lead_counts_by_user(user=user, filters=filters)
        )
    return stats


def lead_counts_by_user(*, user, filters: LeadFilters) -> dict[str, dict[str, Any]]:
    """``{"<owner id>": {"total", "by_status"}}`` for every owner in the caller's scope (the
    one the ``user_id`` filter names, when it names one), zeros included: one query."""
    scope = Scope.of(user)
    owners = [filters.user_id] if filters.user_id is not None else sorted(scope.owner_ids)
    counts = {owner: dict.fromkeys(STATUS_ORDER, 0) for owner in owners if owner in scope.owner_ids}
    qs = narrow_by_search_index(filter_leads(scope.leads(), filters), filters)
    for row in qs.order_by().values("user_id", "status").annotate(n=Count("id")):
        counts[row["user_id"]][row["status"]] = row["n"]
    return {
        str(owner): {"total": sum(by_status.values()), "by_status": by_status}
        for owner, by_status in counts.items()
    }


def lead_values_by_status(*, user, filters: LeadFilters) -> dict[str, str]:
    """Sums of deal_value per status ("1250.00"), over the leads that have one.

    Read from the partial index lead_values (only leads with a value are in it), so leads
    without a deal value cost nothing. Summed in cents: SQLite keeps decimals as floats,
    and a sum of whole numbers of cents is exact in a float up to 90 trillion.
    """
    qs = filter_leads(lead_queryset(user=user), filters).filter(deal_value__isnull=False)
    qs = narrow_by_search_index(qs, filters)
    cents = dict.fromkeys(STATUS_ORDER, 0)
    rows = qs.order_by().values("status").annotate(cents=deal_value_cents())
    for row in rows:
        cents[row["status"]] = int(row["cents"] or 0)
    return {status: money_text(n) for status, n in cents.items()}


def deal_value_cents(condition: Q | None = None) -> Any:
    """The sum of deal values in whole cents (optionally of the rows ``condition`` keeps).
    SQLite keeps decimals as floats, so each is rounded to whole cents before the sum, which
    stays exact; PostgreSQL's numeric sum is exact already and is scaled once (a row's
    numeric multiply and round cost a manager's expected closes a third of their 57 ms)."""
    if connection.vendor == "postgresql":
        return Round(Sum("deal_value", filter=condition) * 100)
    return Sum(Round(F("deal_value") * 100), filter=condition)


def cents_sum_sql(column: str) -> str:
    """``deal_value_cents`` as hand-written SQL over ``column`` (quoted by the caller)."""
    if connection.vendor == "postgresql":
        return f"ROUND(SUM({column}) * 100)"
    return f"SUM(ROUND({column} * 100))"


def cents_amount(cents: Any) -> Decimal:
    """A sum from ``deal_value_cents`` (None when nothing was summed) as an amount."""
    return Decimal(int(cents or 0)).scaleb(-2)


def money_text(cents: int) -> str:
    """Whole cents as the API's decimal string: 123456 → "1234.56"."""
    return f"{cents_amount(cents):.2f}"


def lead_history(*, user, lead_id: int, cursor: int | None, limit: int) -> Page:
    """The lead's status changes and owner changes (reassignments), newest first. The first
    entry of a lead an import assigned (``leads.assignment``) names the assignee too."""
    lead_get_id(user=user, lead_id=lead_id)
    kinds = (LeadEvent.Kind.STATUS, LeadEvent.Kind.OWNER)
    qs = LeadEvent.objects.filter(lead_id=lead_id, kind__in=kinds).values(
        "id", "kind", "from_status", "to_status", "at", "source", "provider", "changes"
    )
    rows, next_cursor = keyset_page(qs, cursor=cursor, limit=limit)
    entries = []
    for r in rows:
        entry = {
            "id": r["id"],
            "kind": r["kind"],
            "from_status": r["from_status"],
            "to_status": r["to_status"],
            "changed_at": r["at"],
            "source": r["source"],
            "provider": r["provider"],
        }
        changes = r["changes"] or {}
        if r["kind"] == LeadEvent.Kind.OWNER:
            entry["from_user_id"] = changes.get("from_user_id")
            entry["to_user_id"] = changes.get("to_user_id")
        elif r["from_status"] is None and "to_user_id" in changes:
            # The first entry of a lead an import assigned to a member of the team.
            entry["to_user_id"] = changes["to_user_id"]
        entries.append(entry)
    return Page(entries, next_cursor)


def lead_get_id(*, user, lead_id: int) -> int:
    if not Scope.of(user).leads().filter(id=lead_id).exists():
        raise NotFound
    return lead_id


# --- Companies ------------------------------------------------------------------------------

COMPANY_VALUE_FIELDS = (
    "id",
    "user_id",
    "name",
    "domain",
    "website",
    "industry",
    "size",
    "country_code",
    "created_at",
    "updated_at",
)


def company_row_to_dict(row: dict[str, Any], lead_count: int) -> dict[str, Any]:
    return {**{f: row[f] for f in COMPANY_VALUE_FIELDS}, "lead_count": lead_count}


def _lead_counts(company_ids: list[int]) -> dict[int, int]:
    if not company_ids:
        return {}
    rows = (
        Lead.objects.filter(company_id__in=company_ids)
        .order_by()
        .values("company_id")
        .annotate(n=Count("id"))
    )
    return {r["company_id"]: r["n"] for r in rows}


def company_get(*, user, company_id: int) -> Company:
    company = Scope.of(user).companies().filter(id=company_id).first()
    if company is None:
        raise NotFound
    return company


def company_to_dict(company: Company) -> dict[str, Any]:
    count = _lead_counts([company.pk]).get(company.pk, 0)
    return company_row_to_dict({f: getattr(company, f) for f in COMPANY_VALUE_FIELDS}, count)


def company_list(
    *,
    user,
    q: str | None,
    domain: str | None,
    cursor: int | None,
    limit: int,
    user_id: int | None = None,
) -> Page:
    owner_filter_check(user=user, user_id=user_id)
    qs = Scope.of(user).companies()
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    if domain:
        qs = qs.filter(domain=domain.lower())
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(domain__icontains=q))
    rows, next_cursor = keyset_page(qs.values(*COMPANY_VALUE_FIELDS), cursor=cursor, limit=limit)
    counts = _lead_counts([r["id"] for r in rows])
    return Page([company_row_to_dict(r, counts.get(r["id"], 0)) for r in rows], next_cursor)


# --- Users ----------------------------------------------------------------------------------

USER_FIELDS = ("id", "username", "first_name", "last_name", "email")


def user_me(*, user) -> dict[str, Any]:
    """The caller, their role and their team, in one query."""
    row = (
        get_user_model()
        ._default_manager.filter(pk=user.pk)
        .values(
            *USER_FIELDS,
            role=F("crm_membership__role"),
            team_id=F("crm_membership__team_id"),
            team_name=F("crm_membership__team__name"),
        )
        .get()
    )
    team_id, team_name = row.pop("team_id"), row.pop("team_name")
    row["team"] = None if team_id is None else {"id": team_id, "name": team_name}
    return row


def user_list(*, user, cursor: int | None, limit: int) -> Page:
    """The users in the caller's scope (inactive ones too), newest first by keyset, with their
    open leads (neither converted nor lost) counted in the page's own query."""
    open_leads = (
        Lead.objects.filter(user_id=OuterRef("id"))
        .exclude(status__in=CLOSED_STATUSES)
        .order_by()
        .values("user_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    qs = (
        get_user_model()
        ._default_manager.filter(pk__in=Scope.of(user).owner_ids)
        .values(
            *USER_FIELDS,
            "is_active",
            role=F("crm_membership__role"),
            open_leads=Coalesce(Subquery(open_leads), Value(0), output_field=IntegerField()),
        )
    )
    rows, next_cursor = keyset_page(qs, cursor=cursor, limit=limit)
    fields_in_order = (*USER_FIELDS, "role", "is_active", "open_leads")
    return Page([{f: row[f] for f in fields_in_order} for row in rows], next_cursor)
