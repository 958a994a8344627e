"""Teams and their members (api.md "Teams, roles and assignment"): every write to them.

The ``team`` command and the admin are thin doors onto these services. A user belongs to at
most one team: naming a user who is in another team moves them, and the outcome says so.
Team names are matched ignoring case, so ``team sales`` finds the team called "Sales"
instead of making a second one. Errors are Django ``ValidationError``s naming the team or the
user they are about.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from leads.models import CLOSED_STATUSES, STATUS_ORDER, Lead, Role, Team, TeamMembership

TEAM_NAME_MAX_LENGTH = Team._meta.get_field("name").max_length or 150
# Listed, not excluded: (user, status IN (…)) is a range walk of the lead_user_status_id index.
OPEN_STATUSES = tuple(s for s in STATUS_ORDER if s not in CLOSED_STATUSES)
ROLE_NAMES = ", ".join(Role.values)


class Change(StrEnum):
    ADDED = "added"
    ROLE = "role"
    MOVED = "moved"
    REMOVED = "removed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class MemberOutcome:
    """What a membership write did, for the door to report."""

    user: Any
    team: Team
    change: Change
    # The role now (None once removed) and before (None when they were in no team).
    role: str | None = None
    old_role: str | None = None
    # The team the user was in before a move, or is in when a removal found them elsewhere.
    other_team: Team | None = None

    @property
    def changed(self) -> bool:
        return self.change is not Change.UNCHANGED

    def describe(self) -> str:
        who = self.user.get_username()
        if self.change is Change.ADDED:
            return f"{who}: added to {self.team} as {self.role}."
        if self.change is Change.ROLE:
            return f"{who}: {self.old_role} → {self.role} in {self.team}."
        if self.change is Change.MOVED:
            return (
                f"{who}: moved from {self.other_team} ({self.old_role}) "
                f"to {self.team} as {self.role}."
            )
        if self.change is Change.REMOVED:
            return f"{who}: removed from {self.team} (was {self.old_role})."
        if self.other_team is not None:
            return f"{who} is not in {self.team} (they are in {self.other_team}); left as is."
        if self.role is None:
            return f"{who} is not in {self.team}; nothing to remove."
        return f"{who}: already {self.role} in {self.team}."


def _clean_name(name: Any) -> str:
    text = " ".join(str(name or "").split())
    if not text:
        raise ValidationError({"name": "A team needs a name."})
    if len(text) > TEAM_NAME_MAX_LENGTH:
        raise ValidationError(
            {"name": f"The team name {text[:40]!r}… is longer than {TEAM_NAME_MAX_LENGTH}."}
        )
    return text


def team_name_check(*, name: Any, exclude_id: int | None = None) -> str:
    """The name as stored (spaces collapsed), or a ValidationError when it is empty, too long
    or another team's name in any case."""
    text = _clean_name(name)
    taken = Team.objects.filter(name__iexact=text)
    if exclude_id is not None:
        taken = taken.exclude(pk=exclude_id)
    existing = taken.values_list("name", flat=True).first()
    if existing is not None:
        raise ValidationError({"name": f"There is already a team named {existing!r}."})
    return text


def team_find(*, name: Any) -> Team | None:
    """The team with this name, ignoring case and extra spaces."""
    return Team.objects.filter(name__iexact=_clean_name(name)).first()


def team_ensure(*, name: Any) -> tuple[Team, bool]:
    """The team with this name (any case), created when missing; (team, created)."""
    text = _clean_name(name)
    existing = team_find(name=text)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return Team.objects.create(name=text), True
    except IntegrityError:
        # Created meanwhile by another process.
        found = team_find(name=text)
        if found is None:
            raise
        return found, False


def team_rename(*, team: Team, name: Any) -> Team:
    text = team_name_check(name=name, exclude_id=team.pk)
    if text != team.name:
        team.name = text
        team.save(update_fields=["name"])
    return team


def team_delete(*, team: Team) -> None:
    """Delete a team and its memberships; its members keep their leads and become teamless."""
    team.delete()


def _check_member_args(*, team: Team, user: Any) -> None:
    if team is None or team.pk is None:
        raise ValidationError({"team": "The team must be saved before it has members."})
    if user is None or getattr(user, "pk", None) is None:
        raise ValidationError({"user": f"No such user to place in team {team}."})


def team_member_set(*, team: Team, user: Any, role: Any) -> MemberOutcome:
    """Make ``user`` a member of ``team`` with ``role``: adds them, changes their role, or moves
    them out of the team they were in (a user is in at most one team)."""
    _check_member_args(team=team, user=user)
    if role not in Role.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r} for {user.get_username()}: use one of {ROLE_NAMES}."}
        )
    with transaction.atomic():
        current = (
            TeamMembership.objects.select_for_update()
            .select_related("team")
            .filter(user_id=user.pk)
            .first()
        )
        if current is None:
            TeamMembership.objects.create(team=team, user=user, role=role)
            return MemberOutcome(user=user, team=team, change=Change.ADDED, role=role)
        old_role = current.role
        if current.team_id == team.pk:
            if old_role == role:
                return MemberOutcome(user=user, team=team, change=Change.UNCHANGED, role=role)
            current.role = role
            current.save(update_fields=["role"])
            return MemberOutcome(
                user=user, team=team, change=Change.ROLE, role=role, old_role=old_role
            )
        old_team = current.team
        current.team = team
        current.role = role
        current.joined_at = timezone.now()
        current.save(update_fields=["team", "role", "joined_at"])
        return MemberOutcome(
            user=user,
            team=team,
            change=Change.MOVED,
            role=role,
            old_role=old_role,
            other_team=old_team,
        )


def team_member_remove(*, team: Team, user: Any) -> MemberOutcome:
    """Take ``user`` out of ``team``; their leads stay theirs. A user who is not in the team
    is left as they are (UNCHANGED, naming their own team if they have one)."""
    _check_member_args(team=team, user=user)
    with transaction.atomic():
        current = (
            TeamMembership.objects.select_for_update()
            .select_related("team")
            .filter(user_id=user.pk)
            .first()
        )
        if current is None:
            return MemberOutcome(user=user, team=team, change=Change.UNCHANGED)
        if current.team_id != team.pk:
            return MemberOutcome(
                user=user, team=team, change=Change.UNCHANGED, other_team=current.team
            )
        current.delete()
        return MemberOutcome(user=user, team=team, change=Change.REMOVED, old_role=current.role)


# --- Reads for the doors ---------------------------------------------------------------------


def _count(queryset: QuerySet, group: str) -> Coalesce:
    """A correlated COUNT(*) of ``queryset`` grouped by ``group``, 0 when there is none."""
    counted = queryset.order_by().values(group).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def open_leads_of_user(user_ref: str = "user_id") -> Coalesce:
    """An annotation: the open leads (not converted or lost) owned by the row's user."""
    leads = Lead.objects.filter(user_id=OuterRef(user_ref), status__in=OPEN_STATUSES)
    return _count(leads, "user_id")


def open_leads_of_team(team_ref: str = "pk") -> Coalesce:
    """An annotation: the open leads owned by the members of the row's team."""
    leads = Lead.objects.filter(
        user__crm_membership__team_id=OuterRef(team_ref), status__in=OPEN_STATUSES
    )
    return _count(leads, "user__crm_membership__team_id")


def member_count(team_ref: str = "pk") -> Coalesce:
    return _count(TeamMembership.objects.filter(team_id=OuterRef(team_ref)), "team_id")


def team_members(*, team: Team) -> QuerySet[TeamMembership]:
    """The team's memberships, managers first, then by username, with their users."""
    return (
        TeamMembership.objects.filter(team=team)
        .select_related("user")
        .order_by("role", "user__username")  # "manager" < "rep"
    )
