"""Reads for the dashboard: aggregates computed by the database, one query each.

Every function takes the user and the list filters, and returns plain data whose size does
not depend on how many leads there are, so the dashboard costs the same number of queries at
ten leads and at a million.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from leads import list_sql
from leads.models import CLOSED_STATUSES, STATUS_ORDER, LeadEvent, Source, Status
from leads.scope import Scope
from leads.selectors import (
    LeadFilters,
    cents_amount,
    cents_sum_sql,
    deal_value_cents,
    filter_leads,
    lead_index_rows_sql,
    lead_queryset,
    lead_rows_sql,
    narrow_by_index,
    narrowed_matches_up_to,
    newest_matching_ids,
    owners_apart,
)

WEEKS = 12
SCORE_BUCKETS = 10
RECENT_ACTIVITY = 15
# Time in stage is computed from the most recent status changes only: at a million leads a
# window over the whole history would sort it all on every page view.
STAGE_SAMPLE = 5_000
# With fewer matching leads than this listed from their index (narrow_by_index), the sample
# is read from their own history rather than from a walk of the whole history.
HISTORY_BY_LEAD = 10_000
# Lead scores are not indexed, so an exact histogram reads every lead row (~100 ms at 100,000
# leads on SQLite). Past this many leads it is drawn from the newest ones, and says so.
SCORE_SAMPLE = 10_000
# Expected closes are shown for this month and the next five (and the overdue ones).
CLOSE_MONTHS = 6
# On SQLite, with fewer of the scope's leads converted this month than this, "won this month"
# reads them from lead_won and tests each against the filters, even when a search or a
# company would list fewer leads: about 0.7 us a lead (bench1's 2,358 this month at 1,000,000
# leads: 1.7-2.2 ms), where listing a term's matches cost 7 ms for "solar designs" (421) and
# 190 ms for "son" (53,000).
WON_FROM_INDEX = 10_000

STATUS_LABELS = dict(Status.choices)


def _has_lead_filters(filters: LeadFilters) -> bool:
    return filters != LeadFilters()


def _events(*, user, filters: LeadFilters) -> QuerySet[LeadEvent]:
    """The user's history, restricted to the leads that match the filters.

    A correlated EXISTS, not ``IN (subquery)``: the (user, at) index is walked newest first
    and each event's lead checked by primary key, so a LIMIT stops the walk early instead of
    first listing every matching lead.
    """
    qs = Scope.of(user).events()
    if filters.user_id is not None:
        # An owner's history is kept under that owner (a reassignment moves it along), so
        # the (user, at) index answers an owner filter without looking at the leads.
        qs = qs.filter(user_id=filters.user_id)
    if _has_lead_filters(replace(filters, user_id=None)):
        leads = filter_leads(lead_queryset(user=user), filters).filter(id=OuterRef("lead_id"))
        qs = qs.filter(Exists(leads.order_by().values("id")))
        # A search term or a company: list the matching ids from their index once, then
        # read only their history, rather than testing the lead of every entry walked.
        qs = narrow_by_index(qs, user=user, filters=filters, field="lead_id")
    return qs


def _matching(*, user, filters: LeadFilters) -> QuerySet:
    """The user's leads that match the filters, narrowed through the index that serves them."""
    leads = filter_leads(lead_queryset(user=user), filters)
    return narrow_by_index(leads, user=user, filters=filters)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def lead_new_per_week(
    *, user, filters: LeadFilters, weeks: int = WEEKS, today: dt.date | None = None
) -> list[dict[str, Any]]:
    """Leads created in each of the last ``weeks`` weeks (Monday to Sunday), oldest first."""
    today = today or timezone.localdate()
    this_monday = today - dt.timedelta(days=today.weekday())
    # Calendar arithmetic on dates, then local midnight: correct across DST changes.
    mondays = [this_monday - dt.timedelta(weeks=weeks - 1 - i) for i in range(weeks + 1)]
    starts = [_midnight(day) for day in mondays]
    qs = _matching(user=user, filters=filters)
    # One count per week, each a range of the (user, created_at) index: a team's ``IN`` is a
    # seek per owner. Measured at 1,000,000 leads: a manager's twelve weeks 60 -> 1 ms, a rep's
    # 8 -> 0.5 ms, against one pass testing every row against twelve conditional counts.
    counts = _counts_of(
        qs,
        [Q(created_at__gte=starts[i], created_at__lt=starts[i + 1]) for i in range(weeks)],
        within=Q(created_at__gte=starts[0], created_at__lt=starts[-1]),
        one_pass=bool(filters.q),
    )
    return [{"week": mondays[i], "count": counts[i][0]} for i in range(weeks)]


def _counts_of(
    qs: QuerySet, parts: list[Q], *, within: Q, cents: bool = False, one_pass: bool = False
) -> list[tuple[int, int]]:
    """How many rows of ``qs`` each of ``parts`` holds (and, with ``cents``, the sum of their
    deal values in cents), in one statement. ``within`` holds every part (for ``one_pass``).

    By default a UNION ALL of one aggregate per part, each read from its own index range (a
    covering index stays covering: only the columns counted are read). ``one_pass`` (a search
    term): one aggregate with a conditional count per part over ``qs``, which the search index
    has narrowed to a few rows; per part, that narrowing would be done again each time
    (measured, ``q=rich`` at 100,000 leads: twelve weeks 245 -> 9 ms). Only Django's compiled
    SQL and constants are spliced in; the values stay parameters.
    """
    if one_pass:
        aggregates: dict[str, Any] = {}
        for i, part in enumerate(parts):
            aggregates[f"n{i}"] = Count("id", filter=part)
            if cents:
                aggregates[f"c{i}"] = deal_value_cents(part & Q(deal_value__isnull=False))
        row = qs.filter(within).order_by().aggregate(**aggregates)
        return [
            (row[f"n{i}"] or 0, round(row[f"c{i}"] or 0) if cents else 0) for i in range(len(parts))
        ]
    sqls: list[str] = []
    params: list[Any] = []
    summed = cents_sum_sql("deal_value") if cents else "0"
    for i, part in enumerate(parts):
        inner, inner_params = (
            qs.filter(part)
            .order_by()
            .values("deal_value" if cents else "id")
            .query.sql_with_params()
        )
        sqls.append(f"SELECT {i}, COUNT(*), {summed} FROM ({inner}) AS part{i}")  # noqa: S608
        params.extend(inner_params)
    return _union_counts(sqls, params)


def _union_counts(sqls: list[str], params: list[Any]) -> list[tuple[int, int]]:
    """Runs ``SELECT i, count, cents`` statements as one UNION ALL: (count, cents) per ``i``,
    zeros for a part with no rows."""
    found: dict[int, tuple[int, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(sqls), params)
        for i, n, amount in cursor.fetchall():
            found[int(i)] = (int(n or 0), round(amount or 0))
    return [found.get(i, (0, 0)) for i in range(len(sqls))]


@dataclass(frozen=True)
class ScoreDistribution:
    buckets: list[dict[str, Any]]
    leads: int  # how many leads were counted
    sampled: bool  # True when only the newest SCORE_SAMPLE leads were counted


def lead_score_distribution(
    *, user, filters: LeadFilters, sample: int = SCORE_SAMPLE
) -> ScoreDistribution:
    """How many leads score 0-9, 10-19, ..., 90-100 (the last bucket takes 100 too)."""
    width = 100 // SCORE_BUCKETS
    bounds = []
    for i in range(SCORE_BUCKETS):
        low = i * width
        high = 100 if i == SCORE_BUCKETS - 1 else low + width - 1
        bounds.append((low, high))
    aggregates = {
        f"b{i}": Count("id", filter=Q(score__gte=low, score__lte=high))
        for i, (low, high) in enumerate(bounds)
    }
    # The newest `sample` ids; only those rows are read.
    newest = newest_matching_ids(user=user, filters=filters, n=sample)
    row = (
        lead_queryset(user=user)
        .filter(id__in=newest)
        .order_by()
        .aggregate(total=Count("id"), **aggregates)
    )
    buckets = [
        {"label": f"{low}-{high}", "low": low, "high": high, "count": row[f"b{i}"] or 0}
        for i, (low, high) in enumerate(bounds)
    ]
    total = row["total"] or 0
    return ScoreDistribution(buckets=buckets, leads=total, sampled=total >= sample)


def _month_start(day: dt.date, months_ahead: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 + months_ahead
    return dt.date(index // 12, index % 12 + 1, 1)


def lead_won_this_month(*, user, filters: LeadFilters, today: dt.date | None = None) -> dict:
    """Leads converted since the first of this month (by their last status change) and the
    sum of their deal values."""
    today = today or timezone.localdate()
    start = _midnight(_month_start(today))
    rows = None
    if connection.vendor == "sqlite":
        rows = lead_rows_sql(user=user, filters=filters, index="lead_won")
        if rows is None and _won_since_fewer_than(user=user, start=start, cap=WON_FROM_INDEX):
            # The filters list fewer leads than the whole account (a search, a company), but
            # this month's conversions cost less to test than the matches to list.
            rows = lead_index_rows_sql(user=user, filters=filters, index="lead_won")
    if rows is not None:
        # From lead_won, the converted leads by the time of their last change: this month's
        # are a short range of it. SQLite otherwise read a wide creation window whole from
        # the date index (ten years at 500,000 leads: 299 ms against 3 ms). Its partial
        # condition must be written as the literal it is for the index to serve.
        source, params = rows
        summed = cents_sum_sql('l."deal_value"')
        sql = (
            f"SELECT COUNT(*), {summed} FROM {source} "  # noqa: S608
            f'AND l."status" = \'{Status.CONVERTED.value}\' AND l."status_changed_at" >= %s'
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, connection.ops.adapt_datetimefield_value(start)])
            count, cents = cursor.fetchone()
        return {"count": count or 0, "value": cents_amount(cents), "since": start.date()}
    qs = _matching(user=user, filters=filters)
    row = (
        qs.filter(status=Status.CONVERTED, status_changed_at__gte=start)
        .order_by()
        .aggregate(count=Count("id"), cents=deal_value_cents(Q(deal_value__isnull=False)))
    )
    return {"count": row["count"] or 0, "value": cents_amount(row["cents"]), "since": start.date()}


def _won_since_fewer_than(*, user, start: dt.datetime, cap: int) -> bool:
    """SQLite: whether fewer than ``cap`` of the scope's leads were converted since ``start``,
    counted from lead_won alone (its partial condition written as the literal it is)."""
    owner_term, owners = Scope.of(user).owner_sql('"user_id"')
    terms = [owner_term, f"\"status\" = '{Status.CONVERTED.value}'", '"status_changed_at" >= %s']
    params = [*owners, connection.ops.adapt_datetimefield_value(start)]
    with connection.cursor() as cursor:
        return list_sql.count_up_to(cursor, terms, params, cap, "lead_won") < cap


def lead_expected_closes(
    *, user, filters: LeadFilters, months: int = CLOSE_MONTHS, today: dt.date | None = None
) -> list[dict[str, Any]]:
    """Open leads (not converted or lost) by the month they are expected to close: first the
    overdue ones (before this month), then this month and the next ``months - 1``; each with
    its count and the sum of its deal values.

    One statement, one count and sum per month, each read from its own range of the
    lead_closes index alone (a team's ``IN`` is a seek per owner). Measured at 1,000,000 leads,
    240,000 of them dated: a manager's 78 -> 23 ms against grouping by day; with one user's
    24,000 dated leads, conditional sums per month took 54 ms (each row tested fourteen
    times), grouping by day 4 ms and this 2.5 ms.
    """
    today = today or timezone.localdate()
    firsts = [_month_start(today, i) for i in range(months + 1)]
    rows = (
        lead_rows_sql(user=user, filters=filters, index="lead_closes")
        if connection.vendor == "sqlite"
        else None
    )
    if rows is not None:
        totals = _sqlite_closes(rows, firsts=firsts)
    else:
        totals = _closes(user=user, filters=filters, firsts=firsts)
    counts = [n for n, _ in totals]
    cents = [amount for _, amount in totals]
    labels = [("overdue", None, "Overdue")] + [
        (f"m{i}", first, first.strftime("%b %Y")) for i, first in enumerate(firsts[:-1])
    ]
    return [
        {
            "key": key,
            "month": month,
            "label": label,
            "count": counts[i],
            "value": cents_amount(cents[i]),
        }
        for i, (key, month, label) in enumerate(labels)
    ]


def _sqlite_closes(rows: tuple[str, list[Any]], *, firsts: list[dt.date]) -> list[tuple[int, int]]:
    """The expected closes on SQLite when no index lists the matching leads (``rows``, read
    through lead_closes): each month a range of it, named, since SQLite otherwise read a
    wide creation window whole from the date index (ten years at 500,000 leads, the overdue
    leads: 357 -> 196 ms)."""
    source, params = rows
    closed = ", ".join(f"'{status}'" for status in sorted(CLOSED_STATUSES))
    open_dated = (
        f'{source} AND l."expected_close_date" IS NOT NULL AND l."status" NOT IN ({closed})'
    )
    day = connection.ops.adapt_datefield_value
    ranges = [('l."expected_close_date" < %s', [day(firsts[0])])] + [
        ('l."expected_close_date" >= %s AND l."expected_close_date" < %s',
         [day(firsts[i]), day(firsts[i + 1])])
        for i in range(len(firsts) - 1)
    ]  # fmt: skip
    summed = cents_sum_sql('l."deal_value"')
    sqls, all_params = [], []
    for i, (term, term_params) in enumerate(ranges):
        # Only constants and the terms above are joined; every value is a parameter.
        sqls.append(f"SELECT {i}, COUNT(*), {summed} FROM {open_dated} AND {term}")  # noqa: S608
        all_params += [*params, *term_params]
    return _union_counts(sqls, all_params)


def _closes(*, user, filters: LeadFilters, firsts: list[dt.date]) -> list[tuple[int, int]]:
    months = len(firsts) - 1
    qs = (
        _matching(user=user, filters=filters)
        .filter(expected_close_date__isnull=False)
        .exclude(status__in=CLOSED_STATUSES)
    )
    months_q = [Q(expected_close_date__lt=firsts[0])] + [
        Q(expected_close_date__gte=firsts[i], expected_close_date__lt=firsts[i + 1])
        for i in range(months)
    ]
    return _counts_of(
        qs,
        months_q,
        within=Q(expected_close_date__lt=firsts[-1]),
        cents=True,
        one_pass=bool(filters.q),
    )


def lead_conversion_rate(by_status: dict[str, int]) -> float | None:
    """converted / (converted + lost), or None while nothing is closed."""
    converted = by_status.get(Status.CONVERTED, 0)
    closed = converted + by_status.get(Status.LOST, 0)
    return converted / closed if closed else None


@dataclass(frozen=True)
class StageTimes:
    stages: list[dict[str, Any]]
    transitions: int  # how many status changes were read
    sampled: bool  # True when older history was left out


def _seconds_between(start: str, end: str) -> str:
    if connection.vendor == "sqlite":
        return f"(julianday({end}) - julianday({start})) * 86400.0"
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({end} - {start}))"
    raise NotImplementedError(connection.vendor)


def lead_stage_times(*, user, filters: LeadFilters, sample: int = STAGE_SAMPLE) -> StageTimes:
    """Median time leads spent in each stage, from consecutive status events per lead.

    Reads the ``sample`` most recent status events of the user (the (user, at) index walked
    backwards). A stage left inside that window is always measured correctly: the event that
    ended it is more recent, so it is in the window too. The median is picked in SQL with
    ROW_NUMBER and COUNT windows, which SQLite and PostgreSQL both have.
    """
    recent_sql, recent_params, each, owners = _newest_status_events(
        user=user, filters=filters, sample=sample
    )
    seconds = _seconds_between("entered", "left_at")
    # How many were read, and the most one owner gave (a full share means older history was
    # left out). One owner's sample needs no grouping (a sort of up to 5,000 entries).
    if owners == 1:
        total = "SELECT COUNT(*) AS n, COUNT(*) AS fullest FROM recent"
    else:
        total = (
            "SELECT SUM(per_owner) AS n, MAX(per_owner) AS fullest "
            "FROM (SELECT COUNT(*) AS per_owner FROM recent GROUP BY user_id) AS owners"
        )
    # Only constants and Django's own compiled SQL are spliced in; values are parameters.
    sql = f"""
        WITH recent (id, lead_id, to_status, at, user_id) AS ({recent_sql}),
        spans AS (
            SELECT to_status AS stage, at AS entered,
                   LEAD(at) OVER (PARTITION BY lead_id ORDER BY at, id) AS left_at
            FROM recent
        ),
        durations AS (
            SELECT stage, {seconds} AS secs FROM spans WHERE left_at IS NOT NULL
        ),
        ranked AS (
            SELECT stage, secs,
                   ROW_NUMBER() OVER (PARTITION BY stage ORDER BY secs) AS rn,
                   COUNT(*) OVER (PARTITION BY stage) AS n
            FROM durations
        )
        SELECT total.n, total.fullest, medians.stage, medians.median, medians.n
        FROM ({total}) AS total
        LEFT JOIN (
            SELECT stage, AVG(secs) AS median, MAX(n) AS n FROM ranked
            WHERE rn = (n + 1) / 2 OR rn = (n + 2) / 2
            GROUP BY stage
        ) AS medians ON 1 = 1
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, recent_params)
        rows = cursor.fetchall()
    read = int(rows[0][0] or 0) if rows else 0
    fullest = int(rows[0][1] or 0) if rows else 0
    medians = {stage: (float(median), int(n)) for _, _, stage, median, n in rows if stage}
    stages = []
    for status in STATUS_ORDER:
        median, n = medians.get(status, (None, 0))
        stages.append(
            {
                "status": status,
                "label": STATUS_LABELS[status],
                "median_seconds": median,
                "median_days": round(median / 86400, 1) if median is not None else None,
                "median_text": _duration_text(median),
                "transitions": n,
            }
        )
    return StageTimes(stages=stages, transitions=read, sampled=fullest >= each)


def _newest_status_events(
    *, user, filters: LeadFilters, sample: int
) -> tuple[str, list[Any], int, int]:
    """The SQL of the newest ``sample`` status changes (id, lead, status, time, owner), its
    parameters, how many each owner contributes at most, and how many owners it reads apart.

    A manager's sample is taken owner by owner, ``sample / owners`` of each, every part a walk
    of one owner's (user, at) index; a team's ``IN`` would read the whole team's history and
    sort it (measured: 10 owners, 1,800,000 entries, 1,000 ms against 8 ms). Every rep then
    weighs the same in the medians, however busy the others were lately.
    """
    parts = owners_apart(user=user, filters=filters, any_database=True) or [filters]
    each = math.ceil(sample / len(parts))
    sqls: list[str] = []
    params: list[Any] = []
    listed = narrowed_matches_up_to(user=user, filters=filters, cap=HISTORY_BY_LEAD)
    for i, part in enumerate(parts):
        newest = (
            _events(user=user, filters=part)
            .filter(kind=LeadEvent.Kind.STATUS)
            .order_by("-at", "-id")
            .values("id", "lead_id", "to_status", "at", "user_id")[:each]
        )
        sql, part_params = newest.query.sql_with_params()
        if listed is not None and listed < HISTORY_BY_LEAD:
            # A few leads (a company's, a rare term's): read their history lead by lead and
            # sort it. SQLite otherwise walks the whole history newest first for the order,
            # testing each entry's lead (a company of 421 leads at 500,000 leads: 148 ms
            # against 3 ms); for a common term's 50,000 leads the walk is cheaper (119 ms
            # against 191 ms), which is why the leads are counted first.
            table = f'FROM "{LeadEvent._meta.db_table}"'
            assert sql.count(table) == 1, sql
            sql = sql.replace(table, f'{table} INDEXED BY "leadevent_lead_kind_id"')
        # Each part has its own order and limit: in a UNION, each is a sub-query.
        sqls.append(sql if len(parts) == 1 else f"SELECT * FROM ({sql}) AS part{i}")  # noqa: S608
        params.extend(part_params)
    return " UNION ALL ".join(sqls), params, each, len(parts)


def _duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        minutes = max(1, round(seconds / 60))
        return f"{minutes} min"
    if seconds < 86400:
        hours = round(seconds / 3600, 1)
        return f"{hours:g} h"
    days = round(seconds / 86400, 1)
    return f"{days:g} day" + ("" if days == 1 else "s")


def leadevent_recent(
    *, user, filters: LeadFilters, limit: int = RECENT_ACTIVITY
) -> list[dict[str, Any]]:
    """The user's latest history entries with their leads' names, newest first.

    A manager's are read owner by owner, ``limit`` of each, and merged here: each is a walk of
    one owner's (user, at) index, where a team's ``IN`` reads and sorts the whole team's
    history (measured: 10 owners, 1,800,000 entries, 1,500 ms against 4 ms).
    """
    rows: list[dict[str, Any]] = []
    for part in owners_apart(user=user, filters=filters, any_database=True) or [filters]:
        rows.extend(_recent_rows(user=user, filters=part, limit=limit))
    rows.sort(key=lambda row: (row["at"], row["id"]), reverse=True)
    sources = dict(Source.choices)
    result = []
    for row in rows[:limit]:
        name = f"{row['lead__first_name']} {row['lead__last_name']}".strip()
        result.append(
            {
                "id": row["id"],
                "kind": row["kind"],
                "lead_id": row["lead_id"],
                "lead_name": name or row["lead__email"] or f"Lead {row['lead_id']}",
                "from_status": row["from_status"],
                "to_status": row["to_status"],
                "from_label": STATUS_LABELS.get(row["from_status"] or "", ""),
                "to_label": STATUS_LABELS.get(row["to_status"], row["to_status"]),
                "source": row["source"],
                "source_label": sources.get(row["source"], row["source"]),
                "provider": row["provider"],
                "at": row["at"],
            }
        )
    return result


def _recent_rows(*, user, filters: LeadFilters, limit: int) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in _events(user=user, filters=filters)
        .order_by("-at", "-id")
        .values(
            "id",
            "kind",
            "lead_id",
            "from_status",
            "to_status",
            "source",
            "provider",
            "at",
            "lead__first_name",
            "lead__last_name",
            "lead__email",
        )[:limit]
    ]


def company_name_get(*, user, company_id: int) -> str | None:
    """The name of one of the user's companies (for a filter chip), or None."""
    return Scope.of(user).companies().filter(id=company_id).values_list("name", flat=True).first()
