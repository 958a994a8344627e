"""Reads for a team's manager: the Team page and the dashboard's per-rep table.

Figures per member are read owner by owner, each from that owner's range of a (user, …)
index: on SQLite, ``user_id IN (the team) GROUP BY user_id`` over whole pipelines walks every
lead of the team and sorts it to group (see ``selectors.owners_apart``). The Team page is
two statements, the tally of leads per owner and status (``LeadTally``, kept by triggers),
and a row per member with each other figure a correlated subquery on that row's owner, so it
costs the same for a team of two and a team of twenty:

- converted this month: ``lead_won`` (user, status_changed_at) of converted leads;
- last activity: ``leadevent_user_at`` (user, at), its newest entry.

The dashboard's per-rep table takes the counts per owner the dashboard's statistics already
read, and groups only narrow ranges itself (this month's conversions, this week's moves in
``leadevent_status_at``).

Everything starts from the manager's scope; anyone else gets ``NotFound`` (the Team page)
or no table (the dashboard), never a figure of someone outside the scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    Count,
    DateTimeField,
    F,
    Func,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.utils import timezone

from crm.errors import NotFound
from leads import dashboard
from leads.bulk_jobs import leads_matching
from leads.filters import GROUP_BY_USER
from leads.models import CLOSED_STATUSES, STATUS_ORDER, Lead, LeadEvent, Status
from leads.scope import Scope
from leads.selectors import LeadFilters, lead_counts_by_owner_and_status, lead_stats

OPEN_STATUSES = tuple(s for s in STATUS_ORDER if s not in CLOSED_STATUSES)
STATUS_LABELS = dict(Status.choices)
# "Moved this week": status changes in the last seven days (a rolling window, not Monday on).
MOVED_DAYS = 7
# Each rep's median time in stage reads their most recent status changes: together about as
# many as the dashboard's own median (dashboard.STAGE_SAMPLE), never fewer than this a rep.
REP_STAGE_SAMPLE_MIN = 500
# COUNT(*) as a plain function: as an aggregate, Django would add a GROUP BY, and SQLite's
# grouped aggregate reads the rows where the plain one counts index entries.
_COUNT_ALL = Func(template="COUNT(*)", output_field=IntegerField())


def _count(queryset: QuerySet) -> Subquery:
    """How many rows of ``queryset``, already narrowed to the row's owner
    (``user_id=OuterRef("pk")``): a correlated COUNT(*) with no GROUP BY, which SQLite
    counts in that owner's range of an index."""
    counted = queryset.order_by().annotate(value=_COUNT_ALL).values("value")
    return Subquery(counted, output_field=IntegerField())


def _latest(queryset: QuerySet, field: str) -> Subquery:
    """The newest ``field`` of ``queryset`` (narrowed to the row's owner): an index walk
    that stops at the first entry (a grouped MAX would read every entry of the owner)."""
    newest = queryset.order_by(f"-{field}").values(field)[:1]
    return Subquery(newest, output_field=DateTimeField())


def _display(first_name: str, last_name: str, username: str) -> str:
    return f"{first_name} {last_name}".strip() or username


def month_start(now: dt.datetime | None = None) -> dt.datetime:
    """Local midnight of the first of this month: where "converted this month" starts, as
    the dashboard's "won this month" does (dashboard.lead_won_this_month)."""
    today = timezone.localdate(now) if now is not None else timezone.localdate()
    return dashboard._midnight(dashboard._month_start(today))


def _converted_since(leads: QuerySet[Lead], since: dt.datetime) -> QuerySet[Lead]:
    return leads.filter(status=Status.CONVERTED, status_changed_at__gte=since)


def _members_by_id(ids: list[int] | tuple[int, ...]) -> QuerySet:
    """These people (members of the manager's scope), managers first, then by username."""
    return (
        get_user_model()
        ._default_manager.filter(pk__in=ids)
        .order_by("crm_membership__role", "username")  # "manager" < "rep"
    )


# --- The Team page ------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamMember:
    id: int
    username: str
    name: str
    role: str | None
    is_active: bool
    # Open leads per status, in pipeline order (new, contacted, qualified).
    open_by_status: dict[str, int]
    converted_this_month: int
    # The newest entry in the history of the leads the member owns now (a status change, an
    # import's change or a reassignment), or None when they own none with a history.
    last_activity: dt.datetime | None
    # All their leads, whatever the status: counted for deactivated members only (the ones
    # whose leads wait to be handed over), None for the others.
    leads_total: int | None

    @property
    def open_total(self) -> int:
        return sum(self.open_by_status.values())

    @property
    def open_statuses(self) -> list[dict[str, Any]]:
        return [
            {"status": s, "label": STATUS_LABELS[s], "count": n}
            for s, n in self.open_by_status.items()
        ]

    @property
    def awaits_handover(self) -> bool:
        """Deactivated with leads: the page offers "Reassign all of X's leads to…"."""
        return not self.is_active and bool(self.leads_total)


@dataclass(frozen=True)
class TeamPage:
    team_name: str
    members: list[TeamMember]
    since: dt.date  # "converted this month" counts from this day

    @property
    def targets(self) -> list[TeamMember]:
        """Who leads may be handed to: the active members (leads.reassign.check_assignee)."""
        return [m for m in self.members if m.is_active]

    @property
    def handovers(self) -> list[TeamMember]:
        return [m for m in self.members if m.awaits_handover]


def _manager_scope(user: Any) -> Scope:
    scope = Scope.of(user)
    if not scope.is_manager:
        # A rep, or someone in no team: the page is as missing as any other.
        raise NotFound("page")
    return scope


def team_page(*, user: Any, now: dt.datetime | None = None) -> TeamPage:
    """The manager's team, one row per member with their figures: one statement.

    Raises NotFound for anyone who is not a team's manager."""
    scope = _manager_scope(user)
    since = month_start(now)
    mine = scope.leads().filter(user_id=OuterRef("pk"))
    # Measured at 1,000,000 leads, 10 members: counting each member's open leads per status
    # in the index took 50 of the page's 58 ms; the tally answers in under a millisecond.
    tally = lead_counts_by_owner_and_status(scope.owner_ids)
    rows = _members_by_id(scope.owner_ids).values(
        "id",
        "username",
        "first_name",
        "last_name",
        "is_active",
        role=F("crm_membership__role"),
        team_name=F("crm_membership__team__name"),
        converted=_count(_converted_since(mine, since)),
        last_activity=_latest(scope.events().filter(user_id=OuterRef("pk")), "at"),
    )
    members = [
        TeamMember(
            id=r["id"],
            username=r["username"],
            name=_display(r["first_name"], r["last_name"], r["username"]),
            role=r["role"],
            is_active=r["is_active"],
            open_by_status={s: tally[r["id"]][s] for s in OPEN_STATUSES},
            converted_this_month=r["converted"],
            last_activity=r["last_activity"],
            leads_total=None if r["is_active"] else sum(tally[r["id"]].values()),
        )
        for r in rows
    ]
    own = next((r for r in rows if r["id"] == scope.actor_id), None)
    team_name = own["team_name"] if own else ""
    return TeamPage(team_name=team_name or "", members=members, since=since.date())


@dataclass(frozen=True)
class MemberLeads:
    """A member of the manager's team and how many leads they own (any status)."""

    id: int
    name: str
    is_active: bool
    leads: int


def team_member(*, user: Any, member_id: int) -> MemberLeads:
    """One member of the manager's team with their lead count: NotFound for anyone outside
    the scope (exactly as for an id nobody has) and for anyone who is not a manager."""
    scope = _manager_scope(user)
    if member_id not in scope.owner_ids:
        raise NotFound("member")
    row = (
        get_user_model()
        ._default_manager.filter(pk=member_id)
        .values("id", "username", "first_name", "last_name", "is_active")
        .first()
    )
    if row is None:
        raise NotFound("member")
    count = member_leads(user=user, member_id=member_id).order_by().count()
    return MemberLeads(
        id=row["id"],
        name=_display(row["first_name"], row["last_name"], row["username"]),
        is_active=row["is_active"],
        leads=count,
    )


def member_leads(*, user: Any, member_id: int) -> QuerySet[Lead]:
    """Every lead of the member, read as the list reads its owner filter (``user_id``)
    through the manager's scope: what "Reassign all of X's leads" hands over."""
    return leads_matching(user=user, filters=LeadFilters(user_id=member_id))


# --- The dashboard's per-rep table --------------------------------------------------------


@dataclass(frozen=True)
class RepRow:
    id: int
    name: str
    role: str | None
    is_active: bool
    open: int
    moved_this_week: int
    converted_this_month: int
    # What the conversion rate is of: converted leads, of the closed (converted or lost).
    converted: int
    closed: int
    conversion_rate: float | None
    # dashboard.lead_stage_times' stages for the open statuses (the stages a lead leaves).
    stages: list[dict[str, Any]]


@dataclass(frozen=True)
class RepTable:
    rows: list[RepRow]
    since: dt.date  # "converted this month" counts from this day
    sample: int  # how many of each rep's most recent status changes the medians read
    sampled: bool  # True when some rep's median left older history out


def _per_owner_counts(queryset: QuerySet) -> dict[int, int]:
    """How many rows of ``queryset`` each owner has: for the narrow ranges below (this
    month's conversions, this week's moves), where ``user_id IN (…)`` is one seek per owner
    into an index that starts with the owner and only the rows in range are grouped."""
    rows = queryset.order_by().values("user_id").annotate(n=Count("*"))
    return {row["user_id"]: row["n"] for row in rows}


def _rep_figures(
    *, user: Any, owners: list[int], filters: LeadFilters, now: dt.datetime
) -> tuple[list[dict[str, Any]], dict[int, int], dict[int, int]]:
    """The owners (names, role, active) in table order, and per owner the leads converted
    this month (lead_won) and the status changes of this week (leadevent_status_at),
    of the leads matching the dashboard's filters: three statements."""
    people = list(
        _members_by_id(owners).values(
            "id", "username", "first_name", "last_name", "is_active",
            role=F("crm_membership__role"),
        )
    )  # fmt: skip
    converted = _converted_since(leads_matching(user=user, filters=filters), month_start(now))
    # The dashboard's own reading of "the history of the leads matching the filters".
    moves = dashboard._events(user=user, filters=filters).filter(
        kind=LeadEvent.Kind.STATUS,
        from_status__isnull=False,  # a lead's first entry is its creation, not a move
        at__gte=now - dt.timedelta(days=MOVED_DAYS),
    )
    return people, _per_owner_counts(converted), _per_owner_counts(moves)


def team_rep_table(
    *,
    user: Any,
    filters: LeadFilters,
    by_user: dict[str, dict[str, Any]] | None = None,
    now: dt.datetime | None = None,
) -> RepTable | None:
    """One row per member of the manager's team under the dashboard's filters (the owner
    filter leaves that owner's row alone); None for anyone who is not a team's manager.

    ``by_user``: the counts per owner and status the dashboard's statistics already read
    (``selectors.lead_stats(group_by="user")``); read here when not given. Open leads and
    the conversion rate come from them; the names, converted this month and moved this
    week from three statements whatever the team's size; the median time in stage is
    ``dashboard.lead_stage_times`` under the owner filter, for each owner: one statement
    each, a walk of that owner's range of the leadevent_status_at index, and the one part
    of the table that costs a statement per member.
    """
    scope = Scope.of(user)
    if not scope.is_manager:
        return None
    now = now or timezone.now()
    if filters.user_id is None:
        owners = list(scope.owner_ids)
    else:
        owners = [filters.user_id] if scope.includes_owner(filters.user_id) else []
    if not owners:
        return RepTable(rows=[], since=month_start(now).date(), sample=0, sampled=False)
    if by_user is None:
        by_user = lead_stats(user=user, filters=filters, group_by=GROUP_BY_USER)["by_user"]
    sample = max(dashboard.STAGE_SAMPLE // len(owners), REP_STAGE_SAMPLE_MIN)
    rows: list[RepRow] = []
    sampled = False
    people, converted_now, moved = _rep_figures(user=user, owners=owners, filters=filters, now=now)
    for person in people:
        owner = person["id"]
        counts = by_user.get(str(owner), {}).get("by_status", {})
        converted = counts.get(Status.CONVERTED, 0)
        times = dashboard.lead_stage_times(
            user=user, filters=replace(filters, user_id=owner), sample=sample
        )
        sampled = sampled or times.sampled
        rows.append(
            RepRow(
                id=owner,
                name=_display(person["first_name"], person["last_name"], person["username"]),
                role=person["role"],
                is_active=person["is_active"],
                open=sum(counts.get(s, 0) for s in OPEN_STATUSES),
                moved_this_week=moved.get(owner, 0),
                converted_this_month=converted_now.get(owner, 0),
                converted=converted,
                closed=converted + counts.get(Status.LOST, 0),
                conversion_rate=dashboard.lead_conversion_rate(counts),
                stages=[s for s in times.stages if s["status"] in OPEN_STATUSES],
            )
        )
    return RepTable(rows=rows, since=month_start(now).date(), sample=sample, sampled=sampled)
