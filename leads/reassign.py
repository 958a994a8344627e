"""Moving every lead and company of one user to another (a leaver's pipeline to a colleague).

The rules are the API contract's for reassignment (``api.md``, "Teams, roles and assignment"):
a moved lead goes to the new owner's company with the same domain, or the same name when there
is no domain, and the company moves with its leads when the new owner has none like it; if the
new owner already has a lead with one of the emails, nothing moves and the clash is named.
Each moved lead gets a history entry saying who owned it before.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Subquery
from django.utils import timezone

from crm.bulk import insert_rows
from leads.models import Company, Lead, LeadEvent
from leads.services import company_search_text_refresh, leads_import_lock

BATCH = 500  # ids per statement: under SQLite's bound-parameter limit


@dataclass(frozen=True)
class Reassigned:
    leads: int
    companies_moved: int
    companies_merged: int


def _display(user) -> str:
    return user.get_full_name() or user.get_username()


def email_clashes(*, from_user, to_user, limit: int = 5) -> tuple[int, list[tuple[int, str]]]:
    """(how many, the first few (lead id, email)) of ``from_user``'s leads whose email
    ``to_user`` already has."""
    theirs = Lead.objects.filter(user=to_user).exclude(email="").values("email")
    clashing = Lead.objects.filter(user=from_user, email__in=Subquery(theirs)).exclude(email="")
    return clashing.count(), list(clashing.order_by("id").values_list("id", "email")[:limit])


@transaction.atomic
def owner_reassign_all(*, from_user, to_user, source: str) -> Reassigned:
    """Move every lead and company of ``from_user`` to ``to_user``; all or nothing.

    Raises ``ValidationError`` (on ``to_user``) when the move cannot be made: the same user,
    an inactive one, or emails ``to_user`` already has."""
    if to_user.pk == from_user.pk:
        raise ValidationError({"to_user": "Choose someone else: that is the same user."})
    if not to_user.is_active:
        raise ValidationError({"to_user": f"{to_user} is inactive: choose an active user."})
    # No import may write either pipeline meanwhile (a lead created under the old owner, an
    # email added under the new one): take both users' import locks, in id order.
    for user_id in sorted((from_user.pk, to_user.pk)):
        leads_import_lock(user_id=user_id)
    count, examples = email_clashes(from_user=from_user, to_user=to_user)
    if count:
        listed = ", ".join(f"{email} (lead {lead_id})" for lead_id, email in examples)
        raise ValidationError(
            {
                "to_user": f"{to_user} already has a lead with the email of {count} of "
                f"{from_user}'s leads: {listed}{' …' if count > len(examples) else ''}. Merge "
                "or delete those first; nothing was moved."
            }
        )
    now = timezone.now()

    # Companies: the new owner's twin (same domain, else same name) takes the leads, else the
    # company itself moves.
    theirs_by_domain: dict[str, int] = {}
    theirs_by_name: dict[str, int] = {}
    for company_id, domain, name in Company.objects.filter(user=to_user).values_list(
        "id", "domain", "name"
    ):
        if domain:
            theirs_by_domain.setdefault(domain, company_id)
        else:
            theirs_by_name.setdefault(name.lower(), company_id)
    moves: list[int] = []
    merges: dict[int, int] = {}  # from company → the new owner's company
    for company_id, domain, name in Company.objects.filter(user=from_user).values_list(
        "id", "domain", "name"
    ):
        twin = theirs_by_domain.get(domain) if domain else theirs_by_name.get(name.lower())
        if twin is None:
            moves.append(company_id)
        else:
            merges[company_id] = twin

    history = list(Lead.objects.filter(user=from_user).values_list("id", "status").order_by("id"))
    changes = {"owner": [_display(from_user), _display(to_user)]}
    for start in range(0, len(moves), BATCH):
        Company.objects.filter(pk__in=moves[start : start + BATCH]).update(
            user=to_user, updated_at=now
        )
    for source_id, twin_id in merges.items():
        Lead.objects.filter(company_id=source_id).update(company_id=twin_id)
    Lead.objects.filter(user=from_user).update(user=to_user, updated_at=now)
    # The history's owner column is the lead's owner (dashboards read it without a join).
    LeadEvent.objects.filter(user=from_user).update(user=to_user)
    merged = list(merges)
    for start in range(0, len(merged), BATCH):
        Company.objects.filter(pk__in=merged[start : start + BATCH]).delete()
    # The leads that joined another company now search by its name.
    for company in Company.objects.filter(pk__in=set(merges.values())):
        company_search_text_refresh(company)
    insert_rows(
        LeadEvent,
        ("lead_id", "user_id", "kind", "from_status", "to_status", "source", "changes", "at"),
        [
            (lead_id, to_user.pk, LeadEvent.Kind.UPDATE, status, status, source, changes, now)
            for lead_id, status in history
        ],
    )
    return Reassigned(leads=len(history), companies_moved=len(moves), companies_merged=len(merged))
