"""Scope: which pipeline objects a person may see and change. Every read and write starts here.

A person's scope is their own leads, companies and history, and, for a team's manager, those
of every member of the team (api.md "Teams, roles and assignment"); a rep's is their own.
Selectors, services, pages, the API, exports and imports ask the scope
for their querysets instead of filtering by owner themselves, so that change is made here once
and nowhere else. An object outside the scope is treated exactly as a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connection, models
from django.db.models import QuerySet

from leads.models import Company, Lead, LeadEvent, Role, TeamMembership

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class Scope:
    # The person acting: named in the history of what they change.
    actor_id: int
    # The owners whose pipeline the actor sees (the actor alone, today).
    owner_ids: tuple[int, ...]

    # The actor's place in a team: (team id, role), or None without a team.
    team_id: int | None = None
    role: str | None = None

    @classmethod
    def of(cls, user: AbstractBaseUser | Any) -> Scope:
        """The scope of a signed-in person (or an API token's user), kept on the user object
        for the rest of the request. The sign-in reads the membership with the user
        (accounts.backends, accounts.authentication), so a rep's scope costs no query and a
        manager's one (the team's members)."""
        cached = getattr(user, "_crm_scope", None)
        if cached is not None:
            return cached
        membership = _membership(user)
        if membership is None:
            scope = cls(actor_id=user.pk, owner_ids=(user.pk,))
        else:
            scope = cls._in_team(user.pk, membership.team_id, membership.role)
        user.__dict__["_crm_scope"] = scope
        return scope

    @classmethod
    def _in_team(cls, user_id: int, team_id: int, role: str) -> Scope:
        """The scope of a member of a team: a manager's holds every member (one query)."""
        owners: tuple[int, ...] = (user_id,)
        if role == Role.MANAGER:
            members = TeamMembership.objects.filter(team_id=team_id)
            others = sorted(pk for pk in members.values_list("user_id", flat=True) if pk != user_id)
            owners = (user_id, *others)
        return cls(actor_id=user_id, owner_ids=owners, team_id=team_id, role=role)

    @classmethod
    def of_person(cls, user_id: int) -> Scope:
        """A person's whole scope, loaded by id: what a background job does for them (an
        export started by a manager reads the team's leads). One statement for the person and
        their membership, and a manager's members. Written out: each import page asks it (the
        membership may change during a run), and the ORM's ``get()`` cost 3 % of a first
        import's time."""
        from django.contrib.auth import get_user_model

        users = get_user_model()
        sql = (
            'SELECT m."team_id", m."role" '  # noqa: S608
            f'FROM "{users._meta.db_table}" u LEFT JOIN "{TeamMembership._meta.db_table}" m '
            'ON m."user_id" = u."id" WHERE u."id" = %s'
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [user_id])
            row = cursor.fetchone()
        if row is None:
            raise users.DoesNotExist(f"No user with id {user_id}.")
        team_id, role = row
        if team_id is None:
            return cls(actor_id=user_id, owner_ids=(user_id,))
        return cls._in_team(user_id, team_id, role)

    @classmethod
    def of_user_id(cls, user_id: int) -> Scope:
        """One owner's pipeline and nothing more, whoever their team: what uniqueness is
        checked against (an email or a domain is unique per owner) and what an owner's own
        import or export reads and writes."""
        return cls(actor_id=user_id, owner_ids=(user_id,))

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    def _owned(self, queryset: QuerySet[M]) -> QuerySet[M]:
        if len(self.owner_ids) == 1:
            # The same SQL as before scopes existed: (user_id = %s) serves every index.
            return queryset.filter(user_id=self.owner_ids[0])
        return queryset.filter(user_id__in=self.owner_ids)

    def leads(self) -> QuerySet[Lead]:
        return self._owned(Lead.objects.all())

    def companies(self) -> QuerySet[Company]:
        return self._owned(Company.objects.all())

    def companies_of(self, owner_id: int | None) -> QuerySet[Company]:
        """The companies a lead of ``owner_id`` may belong to: that owner's own (a lead and its
        company always share an owner), and none when the owner is outside the scope.
        ``None``: the actor's own."""
        owner = self.actor_id if owner_id is None else owner_id
        if owner not in self.owner_ids:
            return Company.objects.none()
        return Company.objects.filter(user_id=owner)

    def events(self) -> QuerySet[LeadEvent]:
        return self._owned(LeadEvent.objects.all())

    def own(self, model: type[M]) -> QuerySet[M]:
        """A person's own things that no scope widens: integrations, sync runs, CSV imports,
        API tokens."""
        return model._default_manager.filter(user_id=self.actor_id)

    def includes_owner(self, user_id: int | None) -> bool:
        return user_id in self.owner_ids

    @property
    def owner_id(self) -> int:
        """The owner new objects get when a write names none: the actor."""
        return self.actor_id

    def owner_sql(self, column: str) -> tuple[str, list[int]]:
        """The scope as a WHERE term of hand-written SQL over ``column`` (quoted by the caller),
        with its parameters: the fast list path filters by owner exactly as ``leads()`` does."""
        if len(self.owner_ids) == 1:
            return f"{column} = %s", [self.owner_ids[0]]
        marks = ", ".join(["%s"] * len(self.owner_ids))
        return f"{column} IN ({marks})", list(self.owner_ids)


def _membership(user: Any) -> TeamMembership | None:
    """The user's membership, from what the sign-in loaded with the user when it did."""
    try:
        return user.crm_membership
    except TeamMembership.DoesNotExist:
        return None
    except AttributeError:  # not a user model instance (an anonymous user)
        return None
