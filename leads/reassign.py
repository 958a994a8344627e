"""Moving every lead and company of one user to another (a leaver's pipeline to a colleague).

The rules are the API contract's for reassignment (``api.md``, "Teams, roles and assignment"):
a moved lead goes to the new owner's company with the same domain, or the same name when there
is no domain, and the company moves with its leads when the new owner has none like it; if the
new owner already has a lead with one of the emails, nothing moves and the clash is named.
Each moved lead gets a history entry saying who owned it before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet, Subquery
from django.utils import timezone

from crm.bulk import insert_rows
from leads.models import Company, Lead, LeadEvent
from leads.scope import Scope
from leads.services import (
    companies_create,
    company_search_text_refresh,
    leads_import_lock,
    locked_in_id_order,
)

BATCH = 500  # ids per statement on SQLite: under its bound-parameter limit
# Ids per statement on PostgreSQL, where they go as one array literal: fewer statements (each
# runs the tally's statement triggers) and no per-id quoting in Python.
BATCH_POSTGRESQL = 10_000


@dataclass(frozen=True)
class Reassigned:
    leads: int
    companies_moved: int
    companies_merged: int


def display_name(user) -> str:
    """How a person is named on pages and in the history: full name, else user name."""
    return user.get_full_name() or user.get_username()


def email_clashes(*, from_user, to_user, limit: int = 5) -> tuple[int, list[tuple[int, str]]]:
    """(how many, the first few (lead id, email)) of ``from_user``'s leads whose email
    ``to_user`` already has."""
    theirs = Lead.objects.filter(user=to_user).exclude(email="").values("email")
    clashing = Lead.objects.filter(user=from_user, email__in=Subquery(theirs)).exclude(email="")
    return clashing.count(), list(clashing.order_by("id").values_list("id", "email")[:limit])


def _companies_by_key(user_id: int) -> tuple[dict[str, int], dict[str, int]]:
    """A user's companies by domain, and those without one by lower-case name: where a lead
    moving to them finds its company (the first of each key)."""
    by_domain: dict[str, int] = {}
    by_name: dict[str, int] = {}
    for company_id, domain, name in Company.objects.filter(user_id=user_id).values_list(
        "id", "domain", "name"
    ):
        if domain:
            by_domain.setdefault(domain, company_id)
        else:
            by_name.setdefault(name.lower(), company_id)
    return by_domain, by_name


def _refuse_email_clashes(*, from_user, to_user) -> None:
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


def owner_reassign_all(*, from_user, to_user, source: str) -> Reassigned:
    """Move every lead and company of ``from_user`` to ``to_user``; all or nothing.

    Raises ``ValidationError`` (on ``to_user``) when the move cannot be made: the same user,
    an inactive one, or emails ``to_user`` already has."""
    try:
        return _owner_reassign_all(from_user=from_user, to_user=to_user, source=source)
    except IntegrityError:
        # A lead with one of the emails was saved under ``to_user`` after the check (a
        # request at the same moment): the move is rolled back, and the check now names it.
        _refuse_email_clashes(from_user=from_user, to_user=to_user)
        raise


@transaction.atomic
def _owner_reassign_all(*, from_user, to_user, source: str) -> Reassigned:
    if to_user.pk == from_user.pk:
        raise ValidationError({"to_user": "Choose someone else: that is the same user."})
    if not to_user.is_active:
        raise ValidationError({"to_user": f"{to_user} is inactive: choose an active user."})
    # No import may write either pipeline meanwhile (a lead created under the old owner, an
    # email added under the new one): take both users' import locks, in id order.
    for user_id in sorted((from_user.pk, to_user.pk)):
        leads_import_lock(user_id=user_id)
    _refuse_email_clashes(from_user=from_user, to_user=to_user)
    now = timezone.now()

    # Companies: the new owner's twin (same domain, else same name) takes the leads, else the
    # company itself moves.
    theirs_by_domain, theirs_by_name = _companies_by_key(to_user.pk)
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

    # Locked first, as every writer that deletes or moves leads does (services.leads_delete):
    # a lead deleted meanwhile is then either gone from this list or still there at the end,
    # never written an entry that points at nothing.
    history = list(
        locked_in_id_order(Lead.objects.filter(user=from_user))
        .order_by("id")
        .values_list("id", "status")
    )
    changes = {"owner": [display_name(from_user), display_name(to_user)]}
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


class NotAManager(Exception):
    """Only a team's manager hands leads from one person to another."""


class EmailTaken(Exception):
    """The new owner already has a lead with the email of a lead being moved (api.md: a 409
    naming that lead)."""

    def __init__(self, lead_id: int, email: str, count: int) -> None:
        self.lead_id, self.email, self.count = lead_id, email, count
        super().__init__(
            f"The new owner already has a lead with the email {email} (lead {lead_id})"
            + (f" and {count - 1} more" if count > 1 else "")
            + ": merge them instead; nothing was reassigned."
        )


ASSIGNEE_ERROR = "Must be you or, if you manage a team, one of its active members."


def check_assignee(*, actor, user_id: int) -> Any:
    """The user ``actor`` may make a lead's owner: someone in their scope, other than
    themselves only for a team's manager, and active. ValidationError otherwise, in the same
    words whether that user exists or not."""
    scope = Scope.of(actor)
    if user_id not in scope.owner_ids or (user_id != actor.pk and not scope.is_manager):
        raise ValidationError(ASSIGNEE_ERROR)
    target = get_user_model()._default_manager.filter(pk=user_id).first()
    if target is None:
        raise ValidationError(ASSIGNEE_ERROR)
    if not target.is_active:
        raise ValidationError("That user is inactive: choose an active member.")
    return target


def reassign_target(*, actor, to_user_id: int) -> Any:
    """``check_assignee``, its error on ``to_user_id``."""
    try:
        return check_assignee(actor=actor, user_id=to_user_id)
    except ValidationError as error:
        raise ValidationError({"to_user_id": error.messages}) from None


def _twin_companies(target: Any, sources: list[dict[str, Any]]) -> dict[int, int]:
    """Each source company → the new owner's company with the same domain (or the same name
    when it has no domain), created for them when missing."""
    to_user_id = target.pk
    theirs_by_domain, theirs_by_name = _companies_by_key(to_user_id)
    mapping: dict[int, int] = {}
    missing: dict[tuple[str, str], list[int]] = {}  # key → source companies needing a copy
    copies: list[dict[str, Any]] = []
    for source in sources:
        if source["user_id"] == to_user_id:
            mapping[source["id"]] = source["id"]
            continue
        domain, name = source["domain"], source["name"]
        twin = theirs_by_domain.get(domain) if domain else theirs_by_name.get(name.lower())
        if twin is not None:
            mapping[source["id"]] = twin
            continue
        key = ("domain", domain) if domain else ("name", name.lower())
        if key not in missing:
            missing[key] = []
            copies.append({k: source[k] for k in ("name", "domain", *COMPANY_FACTS)})
        missing[key].append(source["id"])
    # The copies the new owner lacks, made at once (one statement, not one per company).
    for sources_of_key, copy in zip(
        missing.values(), companies_create(user_id=target.pk, rows=copies), strict=True
    ):
        for source_id in sources_of_key:
            mapping[source_id] = copy.pk
    return mapping


COMPANY_FACTS = ("website", "industry", "size", "country_code")


def _ids_term(column: str, ids: list[int]) -> tuple[str, list[Any]]:
    """``column`` among ``ids``: on PostgreSQL one array parameter, written out by hand (the
    driver quotes a list element by element: a third of a 100,000-lead reassignment's time);
    on SQLite one placeholder per id."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", ["{" + ",".join(str(int(i)) for i in ids) + "}"]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _move_leads(
    batch: list[tuple[int, int, int, str]], *, target_id: int, companies: dict[int, int], now
) -> None:
    """One statement: the leads of ``batch`` (id, owner, company, status) to ``target_id``,
    each into the twin of its company. Written as SQL, not as an ORM ``Case`` of one ``When``
    per company: Django built and compiled those expressions for 80 % of a 100,000-lead
    reassignment's time (measured: 40 of 48 s under a profiler, the statements 10 s). Only
    the table's and columns' quoted names and placeholders are spliced in."""
    quote = connection.ops.quote_name
    sources = sorted({company_id for _, _, company_id, _ in batch})
    company = quote("company_id")
    whens = " ".join(["WHEN %s THEN %s"] * len(sources))
    ids_sql, ids_params = _ids_term(quote("id"), [lead_id for lead_id, _, _, _ in batch])
    sql = (
        f"UPDATE {quote(Lead._meta.db_table)} SET {quote('user_id')} = %s, "  # noqa: S608
        f"{quote('updated_at')} = %s, {company} = CASE {company} {whens} ELSE {company} END "
        f"WHERE {ids_sql}"
    )
    params: list[Any] = [target_id, connection.ops.adapt_datetimefield_value(now)]
    for source_id in sources:
        params.extend((source_id, companies[source_id]))
    params.extend(ids_params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _move_history(lead_ids: list[int], *, target_id: int) -> None:
    """The leads' history to ``target_id``: its owner column is the lead's owner (dashboards
    read it without a join)."""
    quote = connection.ops.quote_name
    ids_sql, ids_params = _ids_term(quote("lead_id"), lead_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(LeadEvent._meta.db_table)} SET {quote('user_id')} = %s "  # noqa: S608
            f"WHERE {ids_sql}",
            [target_id, *ids_params],
        )


def _owner_entries(
    lead_ids: list[int],
    *,
    target_id: int,
    changes: dict[int, dict[str, Any]],
    source: str,
    actor_id: int | None,
    now,
) -> None:
    """One statement: an owner entry for each lead of ``lead_ids``, read from the leads
    before they move (their status, and by their owner, which of ``changes`` is theirs),
    instead of 100,000 rows built and quoted in Python."""
    quote = connection.ops.quote_name
    json = LeadEvent._meta.get_field("changes")
    owner = f"l.{quote('user_id')}"
    whens = " ".join(["WHEN %s THEN %s"] * len(changes))
    ids_sql, ids_params = _ids_term(f"l.{quote('id')}", lead_ids)
    columns = ("lead_id", "user_id", "kind", "from_status", "to_status", "source", "changes",
               "at", "actor_id")  # fmt: skip
    status = f"l.{quote('status')}"
    sql = (
        f"INSERT INTO {quote(LeadEvent._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(c) for c in columns)}) "
        f"SELECT l.{quote('id')}, %s, %s, {status}, {status}, %s, CASE {owner} {whens} END, "
        f"%s, %s FROM {quote(Lead._meta.db_table)} l WHERE {ids_sql} ORDER BY l.{quote('id')}"
    )
    params: list[Any] = [target_id, LeadEvent.Kind.OWNER.value, source]
    for owner_id, change in changes.items():
        params.extend((owner_id, json.get_db_prep_save(change, connection)))
    params.extend((connection.ops.adapt_datetimefield_value(now), actor_id, *ids_params))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _refuse_email_clash(moving: QuerySet[Lead], target: Any) -> None:
    theirs = Lead.objects.filter(user_id=target.pk).exclude(email="")
    clash = theirs.filter(email__in=Subquery(moving.exclude(email="").values("email")))
    clashes = list(clash.order_by("id").values_list("id", "email")[:1])
    if clashes:
        raise EmailTaken(clashes[0][0], clashes[0][1], clash.count())


def leads_reassign(*, actor, leads: QuerySet[Lead], to_user_id: int, source: str) -> int:
    """Hand ``leads`` (already narrowed to the actor's scope) to ``to_user_id``; all or
    nothing. Returns how many leads changed owner (those already theirs are left alone).

    Each lead goes to the new owner's company with the same domain (or name), created for
    them when missing; its history moves with it and gains an owner entry naming the actor.
    Raises NotAManager, ValidationError (on ``to_user_id``) or EmailTaken."""
    try:
        return _leads_reassign(actor=actor, leads=leads, to_user_id=to_user_id, source=source)
    except IntegrityError:
        # A lead with one of the emails was saved under the new owner after the check (a
        # request at the same moment): the move is rolled back, and the check now names it.
        target = reassign_target(actor=actor, to_user_id=to_user_id)
        _refuse_email_clash(leads.exclude(user_id=target.pk), target)
        raise


@transaction.atomic
def _leads_reassign(*, actor, leads: QuerySet[Lead], to_user_id: int, source: str) -> int:
    scope = Scope.of(actor)
    if not scope.is_manager:
        raise NotAManager
    target = reassign_target(actor=actor, to_user_id=to_user_id)
    moving = leads.exclude(user_id=target.pk)
    for user_id in sorted({*scope.owner_ids}):
        leads_import_lock(user_id=user_id)
    _refuse_email_clash(moving, target)
    # Locked first, in id order, as services.leads_delete locks what it deletes: a lead its
    # rep deletes meanwhile is then either gone from ``rows`` or deleted after this commits,
    # never given an owner entry that points at nothing (a foreign-key failure at commit).
    rows = list(
        locked_in_id_order(moving)
        .order_by("id")
        .values_list("id", "user_id", "company_id", "status")
    )
    if not rows:
        return 0
    now = timezone.now()
    company_ids = sorted({company_id for _, _, company_id, _ in rows})
    sources = list(
        Company.objects.filter(pk__in=company_ids).values(
            "id", "user_id", "name", "domain", *COMPANY_FACTS
        )
    )
    mapping = _twin_companies(target, sources)
    target_names = dict(
        Company.objects.filter(pk__in=set(mapping.values())).values_list("id", "name")
    )
    renamed = {s["id"] for s in sources if target_names[mapping[s["id"]]] != s["name"]}
    users = get_user_model()._default_manager.in_bulk({u for _, u, _, _ in rows} | {target.pk})
    changes = {
        owner_id: {
            "owner": [display_name(users[owner_id]), display_name(target)],
            "from_user_id": owner_id,
            "to_user_id": target.pk,
        }
        for owner_id in sorted({owner_id for _, owner_id, _, _ in rows})
    }
    actor_id = None if actor.pk == target.pk else actor.pk
    size = BATCH_POSTGRESQL if connection.vendor == "postgresql" else BATCH
    for start in range(0, len(rows), size):
        batch = rows[start : start + size]
        batch_ids = [r[0] for r in batch]
        # The history moves with the leads, and gains an entry naming the old owner (read
        # from the leads before they move).
        _move_history(batch_ids, target_id=target.pk)
        _owner_entries(batch_ids, target_id=target.pk, changes=changes, source=source,
                       actor_id=actor_id, now=now)  # fmt: skip
        _move_leads(batch, target_id=target.pk, companies=mapping, now=now)
    # Leads that joined a company with another spelling of the name search by it.
    for source_id in renamed:
        company = Company.objects.get(pk=mapping[source_id])
        company_search_text_refresh(company)
    return len(rows)
