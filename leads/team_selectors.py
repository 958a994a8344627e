"""Reads for a team's manager: the Team page.

Figures per member are read owner by owner, each from that owner's range of a (user, …)
index: on SQLite, ``user_id IN (the team) GROUP BY user_id`` over whole pipelines walks every
lead of the team and sorts it to group (see ``selectors._one_owner_at_a_time``). The Team
page is one statement, a row per member and each figure a correlated subquery on that row's
owner, so it costs the same for a team of two and a team of twenty:

- open leads per status: ``lead_user_status_id`` (user, status, id), counted in the index;
- converted this month: ``lead_won`` (user, status_changed_at) of converted leads;
- last activity: ``leadevent_user_at`` (user, at), its newest entry.

Everything starts from the manager's scope; anyone else gets ``NotFound``, never a figure of
someone outside the scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    DateTimeField,
    F,
    Func,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    When,
)
from django.utils import timezone

from crm.errors import NotFound
from leads import dashboard
from leads.bulk_jobs import leads_matching
from leads.models import CLOSED_STATUSES, STATUS_ORDER, Lead, Status
from leads.scope import Scope
from leads.selectors import LeadFilters

OPEN_STATUSES = tuple(s for s in STATUS_ORDER if s not in CLOSED_STATUSES)
STATUS_LABELS = dict(Status.choices)
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
    per_status = {f"open_{s}": _count(mine.filter(status=s)) for s in OPEN_STATUSES}
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
        # Only deactivated members' leads are counted in full (CASE evaluates the
        # subquery for their rows alone): an active rep's 100,000 would cost a scan.
        leads_total=Case(
            When(is_active=False, then=_count(mine)),
            default=None,
            output_field=IntegerField(),
        ),
        **per_status,
    )
    members = [
        TeamMember(
            id=r["id"],
            username=r["username"],
            name=_display(r["first_name"], r["last_name"], r["username"]),
            role=r["role"],
            is_active=r["is_active"],
            open_by_status={s: r[f"open_{s}"] for s in OPEN_STATUSES},
            converted_this_month=r["converted"],
            last_activity=r["last_activity"],
            leads_total=r["leads_total"],
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
