"""Who the new leads of an import go to (api.md "Teams, roles and assignment").

An integration or a CSV import owned by a team's manager may spread the leads it creates over
the team: ``assign`` is ``owner`` (every new lead is the importing user's, as before teams),
``round_robin`` (the members in turn, by user id, continuing after the last one a previous
run assigned to) or ``least_loaded`` (whoever has the fewest open leads, ties to the lowest
id). ``assign_to`` names the members (user ids in the manager's scope); none named means
every active member with the role ``rep``. Leads an import finds (by vendor link, then
email, anywhere in the scope) keep their owner: only new leads are assigned.

Two halves, one for the doors and one for the jobs:

- ``assign_check`` and ``assign_to_check`` are the rules the API's serializer and the web
  forms apply when the setting is saved: a ValidationError in words a person can act on, the
  same words for a user id outside the scope as for one that does not exist.
- ``import_assignment`` is what a job does at the time of each page or batch: it reads who
  is still in the scope and active (a member deactivated or moved out since is skipped), and
  hands out owners with ``Assignment.next_owner``. No query per lead.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from leads.models import Assign, Role
from leads.scope import Scope
from leads.selectors import lead_counts_by_owner_and_status
from leads.teams import OPEN_STATUSES

# More than any team has: a bound on the ids one setting may name.
MAX_ASSIGN_TO = 1_000
ASSIGN_NAMES = ", ".join(Assign.values)
# As a reassignment words it (leads.reassign.ASSIGNEE_ERROR), for a list of users.
ASSIGN_TO_ERROR = "Each user must be you or, if you manage a team, one of its active members."
NOT_A_MANAGER = (
    "Only a team's manager can spread imported leads over the team: new leads of your "
    "imports are yours (owner)."
)


def assign_check(*, user: Any, assign: Any) -> str:
    """``assign`` as stored, or a ValidationError: an unknown rule, or a rule other than
    ``owner`` chosen by someone who manages no team."""
    if assign not in Assign.values:
        raise ValidationError(f"Must be one of: {ASSIGN_NAMES}.")
    if assign != Assign.OWNER and not Scope.of(user).is_manager:
        raise ValidationError(NOT_A_MANAGER)
    return str(assign)


def assign_to_check(*, user: Any, assign_to: Iterable[Any] | None) -> list[int] | None:
    """The user ids as stored (sorted, once each; None for "every active rep"), or a
    ValidationError: some id is not in the user's scope (the same words whether such a user
    exists or not), or names inactive members (named: they are in the scope)."""
    if assign_to is None:
        return None
    ids: list[int] = []
    for value in assign_to:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("Must be a list of user ids (integers).")
        ids.append(value)
    if not ids:
        return None
    ids = sorted(set(ids))
    if len(ids) > MAX_ASSIGN_TO:
        raise ValidationError(f"At most {MAX_ASSIGN_TO} users.")
    scope = Scope.of(user)
    if any(pk not in scope.owner_ids for pk in ids):
        # Which id, and why, is not said: the words are the same for a user of another team
        # as for an id nobody has (the manager's own team is listed at /v1/users).
        raise ValidationError(ASSIGN_TO_ERROR)
    inactive = list(
        get_user_model()
        ._default_manager.filter(pk__in=ids, is_active=False)
        .order_by("pk")
        .values_list("username", flat=True)
    )
    if inactive:
        raise ValidationError(
            f"Inactive, so they cannot be given new leads: {', '.join(inactive)}. "
            "Choose active members."
        )
    return ids


@dataclass
class Assignment:
    """The owners new leads of one page or batch go to, and where round robin stands."""

    rule: str
    # The active members new leads may go to, by user id.
    owners: tuple[int, ...]
    # Their names as the history shows them (as a reassignment names owners).
    names: dict[int, str]
    # Round robin: the member who got the last new lead (this run's or an earlier one's).
    last_user_id: int | None = None
    # Least loaded: each member's open leads, counted as leads are handed out.
    open_leads: dict[int, int] = field(default_factory=dict)

    def next_owner(self, *, is_open: bool = True) -> int:
        """The owner of the next new lead (``is_open``: the lead counts towards their load)."""
        if self.rule == Assign.LEAST_LOADED:
            owner = min(self.owners, key=lambda pk: (self.open_leads.get(pk, 0), pk))
            if is_open:
                self.open_leads[owner] = self.open_leads.get(owner, 0) + 1
        else:
            # The first member after the last one served (wrapping round); members added or
            # removed since keep their place in the order of ids.
            after = -1 if self.last_user_id is None else self.last_user_id
            index = bisect.bisect_right(self.owners, after)
            owner = self.owners[index % len(self.owners)]
        self.last_user_id = owner
        return owner


def _display(first_name: str, last_name: str, username: str) -> str:
    return f"{first_name} {last_name}".strip() or username


def import_assignment(
    *,
    scope: Scope,
    assign: str,
    assign_to: Iterable[int] | None,
    last_user_id: int | None,
    open_leads: dict[int, int] | None = None,
) -> Assignment | None:
    """The assignment for the next page or batch of an import run for ``scope`` (the importing
    user's full scope, ``Scope.of_person``), or None when every new lead is the importing
    user's: the rule is ``owner``, the user manages no team (any more), or nobody named is
    still an active member of it. One query.

    Least loaded counts the members' open leads (one more query, of the tally: under 1 ms for 10
    reps with 100,000 leads each on SQLite, where counting the leads took 55 ms).
    ``open_leads``, a run's own dict kept from page to page, holds the counts: members in it are
    not counted again, and the leads this assignment hands out are added to it, so a run counts
    once, at its start."""
    rule_spreads = assign in (Assign.ROUND_ROBIN, Assign.LEAST_LOADED)
    if not rule_spreads or not scope.is_manager or scope.team_id is None:
        return None
    users = get_user_model()._default_manager.filter(pk__in=scope.owner_ids, is_active=True)
    if assign_to:
        users = users.filter(pk__in=list(assign_to))
    else:
        users = users.filter(crm_membership__team_id=scope.team_id, crm_membership__role=Role.REP)
    rows = list(users.order_by("pk").values_list("pk", "first_name", "last_name", "username"))
    if not rows:
        return None
    assignment = Assignment(
        rule=assign,
        owners=tuple(row[0] for row in rows),
        names={pk: _display(first, last, username) for pk, first, last, username in rows},
        last_user_id=last_user_id,
    )
    if assign == Assign.LEAST_LOADED:
        known = {} if open_leads is None else open_leads
        uncounted = [pk for pk in assignment.owners if pk not in known]
        if uncounted:
            counts = lead_counts_by_owner_and_status(uncounted)
            known.update(
                {
                    owner: sum(by_status[s] for s in OPEN_STATUSES)
                    for owner, by_status in counts.items()
                }
            )
        assignment.open_leads = known
    return assignment
