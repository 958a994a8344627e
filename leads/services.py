"""Every write to the pipeline goes through here, from every door (API, UI, admin, imports).

A status change made anywhere runs `lead_update` or `lead_set_status`, so it lands in the
same history with the door named as its source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Field, Model, QuerySet
from django.utils import timezone

from crm.bulk import SQLITE_ANALYSIS_LIMIT
from crm.errors import NotFound
from leads import normalize
from leads.list_columns import LIST_COLUMNS
from leads.models import (
    SEARCH_TRIGRAM_INDEX,
    Company,
    EmailStatus,
    Lead,
    LeadEvent,
    LeadListPreference,
    Source,
    Status,
)
from leads.scope import Scope
from leads.signals import leads_deleting
from leads.tally import lead_tally_compact

# Fields a person (or an API client) may write on a lead.
LEAD_WRITABLE_FIELDS = (
    "company",
    "status",
    "score",
    "notes",
    "email",
    "first_name",
    "last_name",
    "position",
    "phone",
    "linkedin_url",
    "source",
    "custom_attributes",
    "do_not_contact",
    "do_not_contact_reason",
    "deal_value",
    "expected_close_date",
)
# Changes a person makes that the history shows as field changes (besides status changes).
HISTORY_FIELDS = (
    "do_not_contact",
    "do_not_contact_reason",
    "custom_attributes",
    "deal_value",
    "expected_close_date",
)

# Why a status changed (a lost deal's reason), as the history keeps it.
REASON_MAX_LENGTH = 500


def history_value(value: Any) -> Any:
    """A field's value as the history's JSON keeps it: amounts as "1250.00", dates as
    "YYYY-MM-DD" (the API's spelling of both)."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


COMPANY_WRITABLE_FIELDS = ("name", "domain", "website", "industry", "size", "country_code")


def leads_import_lock(*, user_id: int | None = None, user_ids: Iterable[int] = ()) -> None:
    """Make the caller the only import writing these users' leads until its transaction ends.

    Imports (vendor syncs, CSV files) read which emails and companies exist, then insert the
    rest. SQLite already runs one write transaction at a time; on PostgreSQL two imports of
    one user would both read "not there yet" and then fail on the email index or create a
    company twice. They queue on the user's row instead (FOR NO KEY UPDATE: inserts that
    merely reference the user, such as a lead created in the web UI, are not held up).

    ``user_ids``: every owner a manager's import may write (their team), locked in id order
    in one statement, so two imports locking overlapping teams queue instead of deadlocking.
    """
    if not connection.features.has_select_for_update:
        return  # SQLite: the transaction's IMMEDIATE write lock already orders imports
    ids = sorted({*user_ids, *([] if user_id is None else [user_id])})
    user_model = get_user_model()
    locked = user_model.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")
    list(locked.values_list("pk"))


def locked_in_id_order(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """``leads`` locked until the transaction ends, where the database locks rows.

    On PostgreSQL in id order, so two writers locking overlapping leads queue instead of
    deadlocking. SQLite locks nothing by row (its write lock holds the whole database) and
    gets no ORDER BY: for it, walking the (user, id) index to skip a sort beats probing the
    (user, email) index, and a page of 100 emails then read all of the user's leads (35 ms
    at 100,000 leads against 1 ms, and a first import four times slower at the end than at
    the start).
    """
    if not connection.features.has_select_for_update:
        return leads
    # Never joined (select_related) while locking: see _LOCKED_LEADS.
    return leads.select_for_update(of=("self",)).order_by("pk")


def refresh_planner_statistics(models: Iterable[type[Model]] = ()) -> None:
    """Bring the planner's statistics up to date after a bulk write (an import, a restore).

    SQLite keeps no statistics of its own: until an ANALYZE it guesses, and for combined list
    filters (company + status + score, or a date window) it guesses wrong by a hundredfold
    (docs/performance.md, "Combined filters"). A sampled ANALYZE fixes the plans at a cost
    of milliseconds. PostgreSQL gets a plain ANALYZE of the tables, and the trigram index's
    pending entries merged into it: GIN keeps new rows in an unordered pending list (up to
    4 MB) that every search reads whole until autovacuum merges it, which a manual ANALYZE
    does not do (1.3 MB of pending entries cost each search 1.5 ms at 1,000,000 leads).
    """
    lead_tally_compact()
    tables = [model._meta.db_table for model in models] or [
        Lead._meta.db_table,
        Company._meta.db_table,
    ]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
            for table in tables:
                cursor.execute(f"ANALYZE {quote(table)}")
        else:
            cursor.execute(f"ANALYZE {', '.join(quote(table) for table in tables)}")
            if Lead._meta.db_table in tables:
                _merge_trigram_pending_list(cursor)


def _merge_trigram_pending_list(cursor: Any) -> None:
    """PostgreSQL: move the trigram index's pending entries into the index proper."""
    cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [SEARCH_TRIGRAM_INDEX])


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field)
    return field.column


class PlannerStatistics:
    """Keeps the planner's statistics up with an import that grows the lead tables.

    On SQLite, a sampled ANALYZE of the leads and companies (``refresh_planner_statistics``):
    without it the list's combined filters pick a poor index (96 ms instead of 1 ms at a
    million leads). On PostgreSQL:

    An import page looks its emails up in the (user, email) index and its vendor ids in the
    link index: a few index probes, if the planner knows how many leads the user has. For a
    user who had few or none when the tables were last analyzed, it believes there is about
    one, reads all of the user's leads for each page instead, and a large first import slows
    as it goes (a page of 100 at 20,000 leads: 9 ms for the email look-up, 0.1 ms with the
    index). Autovacuum's ANALYZE comes a minute or more later. This one runs after the
    import has written ``first`` rows, then each time the count has grown ``factor`` times:
    a handful of ANALYZEs for any import, each keeping the estimate within that factor.
    Only the columns the look-ups filter on are analyzed (a tenth of the cost of whole
    tables, whose text and JSON columns autovacuum gets to later).
    """

    def __init__(
        self, columns: Mapping[type[Model], Iterable[str]], *, first: int = 1_000, factor: int = 4
    ) -> None:
        quote = connection.ops.quote_name
        self.tables = ", ".join(
            f"{quote(model._meta.db_table)} "
            f"({', '.join(quote(_column(model, name)) for name in names)})"
            for model, names in columns.items()
        )
        self.written = 0
        self.first = first
        self.next = first
        self.factor = factor
        self.runs = 0

    def wrote(self, rows: int) -> None:
        """Count rows the import has committed; ANALYZE when a threshold is crossed."""
        if rows <= 0:
            return
        self.written += rows
        if self.written < self.next:
            return
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {self.tables}")
            # Each of the import's statements appended a row to the tally; fold them before
            # the board and the stats have to add up thousands (leads.tally).
            lead_tally_compact()
        else:
            refresh_planner_statistics()
        self.runs += 1
        self.next = self.written * self.factor

    def finish(self) -> None:
        """After the import's last write, when it wrote at least ``first`` rows:
        ``bulk_write_finished``. The ANALYZEs above do not merge the trigram index's
        pending list."""
        if self.written >= self.first:
            bulk_write_finished()


def bulk_write_finished() -> None:
    """After a bulk write of leads (an import's end, a seeding): fold the tally
    (lead_tally_compact; on PostgreSQL each statement appended rows, and outside a
    transaction the fold also vacuums it) and, on PostgreSQL, merge the trigram index's
    pending list. New rows' trigram entries wait in GIN's pending list (up to 4 MB), which
    every search reads whole until autovacuum merges it (4 MB cost each search 2.6 ms at
    1,000,000 leads). SQLite has no pending list."""
    lead_tally_compact()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            _merge_trigram_pending_list(cursor)


EMAIL_TAKEN = "A lead with this email already exists."
DOMAIN_TAKEN = "A company with this domain already exists."


def lead_email_check(*, user_id: int, email: str, exclude_id: int | None = None) -> None:
    """The one check that an email is free among the user's leads; a ValidationError on
    ``email`` if another lead holds it. Services run it on every write that sets an email;
    forms also call it to show the message beside the field before saving.

    Repeating the partial unique index's condition (email != '') lets SQLite use that index;
    without it the check reads every lead of the user.
    """
    if not email:
        return
    clash = Scope.of_user_id(user_id).leads().filter(email=email).exclude(email="")
    if exclude_id is not None:
        clash = clash.exclude(pk=exclude_id)
    holder = clash.values_list("pk", flat=True).first()
    if holder is not None:
        # The holder's id rides along for the pages, which link to it (it is in scope).
        raise ValidationError(
            {
                "email": [
                    ValidationError(EMAIL_TAKEN, code="email_taken", params={"lead_id": holder})
                ]
            }
        )


@contextmanager
def _email_clash_answered(lead: Lead, *, exclude_id: int | None) -> Iterator[None]:
    """Around an atomic block that saves ``lead``: if the email index refuses it, a lead with
    that email was saved after lead_email_check ran (a request at the same moment, say a
    manager creating a rep's lead while another hands that rep one with the same email).
    Once the block has rolled back, the check, run again, gives the same 400 it would have
    given a moment later."""
    try:
        yield
    except IntegrityError:
        lead_email_check(user_id=lead.user_id, email=lead.email, exclude_id=exclude_id)
        raise


def _save_unless_email_taken(lead: Lead, *, exclude_id: int | None, **save: Any) -> None:
    """``lead.save(**save)`` in a savepoint, a clash on the email answered
    (``_email_clash_answered``)."""
    with _email_clash_answered(lead, exclude_id=exclude_id), transaction.atomic():
        lead.save(**save)


def company_domain_check(*, user_id: int, domain: str, exclude_id: int | None = None) -> None:
    """The one check that a domain is free among the user's companies (see above)."""
    if not domain:
        return
    clash = Scope.of_user_id(user_id).companies().filter(domain=domain)
    if exclude_id is not None:
        clash = clash.exclude(pk=exclude_id)
    if clash.exists():
        raise ValidationError({"domain": [ValidationError(DOMAIN_TAKEN, code="domain_taken")]})


class CompanyHasLeads(Exception):
    def __init__(self, count: int) -> None:
        self.count = count
        super().__init__(f"The company still has {count} lead(s).")


def _status_event(
    *,
    lead: Lead,
    from_status: str | None,
    source: str,
    provider: str | None,
    at,
) -> LeadEvent:
    return LeadEvent(
        lead=lead,
        user_id=lead.user_id,
        kind=LeadEvent.Kind.STATUS,
        from_status=from_status,
        to_status=lead.status,
        source=source,
        provider=provider if source == Source.IMPORT else None,
        at=at,
    )


def _refresh_search_text(lead: Lead, company: Company) -> None:
    lead.search_text = normalize.search_text(
        first_name=lead.first_name,
        last_name=lead.last_name,
        email=lead.email,
        company_name=company.name,
    )


def lead_create(
    *,
    user,
    company: Company,
    data: Mapping[str, Any],
    source: str,
    provider: str | None = None,
    actor=None,
) -> Lead:
    """Create a lead and its first history entry (``from_status`` null); ``actor`` is who
    created it when not its owner ``user`` (a manager creating a lead for a rep)."""
    now = timezone.now()
    values = {k: v for k, v in data.items() if k in LEAD_WRITABLE_FIELDS and k != "company"}
    lead = Lead(user=user, company=company, **values)
    lead.email = (lead.email or "").lower()
    lead_email_check(user_id=user.pk, email=lead.email)
    if "score" in data:
        lead.score_is_manual = source != Source.IMPORT
    lead.created_at = lead.updated_at = lead.status_changed_at = now
    _refresh_search_text(lead, company)
    # The write's own atomic block, not a savepoint inside it, is what rolls back before a
    # clash is answered: a request's transaction needs no savepoint, whose two statements
    # were a tenth of a request's 5 ms on PostgreSQL (in an outer transaction the block is
    # one).
    with _email_clash_answered(lead, exclude_id=None), transaction.atomic():
        lead.save(force_insert=True)
        event = _status_event(lead=lead, from_status=None, source=source, provider=provider, at=now)
        event.actor_id = _other_actor(lead, actor)
        event.save()
    return lead


def lead_update(
    *,
    lead: Lead,
    data: Mapping[str, Any],
    source: str,
    provider: str | None = None,
    reason: str = "",
    actor=None,
) -> Lead:
    """Apply a partial update. Setting the status a lead already has is not a change.

    ``actor``: the person making the change; the history names them when they are not the
    lead's owner (a manager acting on a rep's lead).

    ``reason`` says why the status changed (the UI asks for one when a lead is lost); it is
    kept on the status change's history entry and ignored when the status stays.

    ``lead`` is compared with its row as stored now, read again under a lock in the write's
    own transaction: the caller read it earlier, and an import or another request may have
    changed it since. Compared with a stale copy, a change would be skipped as "already so"
    while the row says otherwise, or recorded with the wrong previous status. A lead deleted
    in between is not found (404 at every door).
    """
    with transaction.atomic():
        try:
            _refresh_locked(lead)
        except Lead.DoesNotExist:
            raise NotFound("lead") from None
        now = timezone.now()
        old_status = lead.status
        before = {name: getattr(lead, name) for name in HISTORY_FIELDS}
        changed: list[str] = []
        for field, value in data.items():
            if field not in LEAD_WRITABLE_FIELDS:
                continue
            if field == "email":
                value = (value or "").lower()
                if value != lead.email:
                    lead_email_check(user_id=lead.user_id, email=value, exclude_id=lead.pk)
            if field == "company":
                if value.pk != lead.company_id:
                    lead.company = value
                    changed.append("company")
                continue
            if getattr(lead, field) != value:
                setattr(lead, field, value)
                changed.append(field)
        if "do_not_contact" in changed and not lead.do_not_contact and lead.do_not_contact_reason:
            # Cleared: the reason belonged to the mark.
            lead.do_not_contact_reason = ""
            if "do_not_contact_reason" not in changed:
                changed.append("do_not_contact_reason")
        if "email" in changed and (
            lead.email_status != EmailStatus.UNKNOWN or lead.email_verified_by is not None
        ):
            # A verification was about the old address.
            lead.email_status = EmailStatus.UNKNOWN
            lead.email_verified_at = None
            lead.email_verified_by = None
            changed += ["email_status", "email_verified_at", "email_verified_by"]
        if "score" in data and source != Source.IMPORT and not lead.score_is_manual:
            # A person chose this score: syncs must not overwrite it from now on.
            lead.score_is_manual = True
            changed.append("score_is_manual")
        if not changed:
            return lead
        history = {
            name: [history_value(before[name]), history_value(getattr(lead, name))]
            for name in HISTORY_FIELDS
            if name in changed
        }
        status_changed = lead.status != old_status
        if status_changed:
            lead.status_changed_at = now
            changed.append("status_changed_at")
        if {"first_name", "last_name", "email", "company"} & set(changed):
            _refresh_search_text(lead, lead.company)
            changed.append("search_text")
        lead.updated_at = now
        changed.append("updated_at")
        if "company" in changed:
            changed[changed.index("company")] = "company_id"
        if "email" in changed:
            _save_unless_email_taken(lead, exclude_id=lead.pk, update_fields=changed)
        else:
            lead.save(update_fields=changed)
        if status_changed:
            event = _status_event(
                lead=lead, from_status=old_status, source=source, provider=provider, at=now
            )
            if reason.strip():
                event.changes = {"reason": reason.strip()[:REASON_MAX_LENGTH]}
            event.actor_id = _other_actor(lead, actor)
            event.save()
        if history:
            LeadEvent.objects.create(
                lead=lead,
                user_id=lead.user_id,
                kind=LeadEvent.Kind.UPDATE,
                from_status=lead.status,
                to_status=lead.status,
                source=source,
                provider=provider if source == Source.IMPORT else None,
                changes=history,
                at=now,
                actor_id=_other_actor(lead, actor),
            )
    return lead


def _other_actor(lead: Lead, actor) -> int | None:
    """The actor's id when someone other than the owner made the change."""
    if actor is None or actor.pk == lead.user_id:
        return None
    return actor.pk


# The lead's row, locked until the transaction ends (PostgreSQL; on SQLite the IMMEDIATE
# transaction already holds the write lock). Not joined with its company in the locking
# statement: when another writer moves the lead to another company (a reassignment) while
# this one waits for the lock, PostgreSQL rechecks the join against the company row it read
# before waiting, finds no match and drops the lead, and an update of a lead that exists
# answered 404 (CI's load test caught one).
_LOCKED_LEADS = Lead.objects.select_for_update()


def _refresh_locked(lead: Lead) -> None:
    """``lead`` read again under its lock. The caller's copy of its company is kept when the
    lead is still in it (one query fewer on every edit); else the company is read anew."""
    company_field = Lead._meta.get_field("company")
    company = company_field.get_cached_value(lead, default=None)
    lead.refresh_from_db(from_queryset=_LOCKED_LEADS)
    if company is not None and company.pk == lead.company_id:
        company_field.set_cached_value(lead, company)


def lead_set_status(
    *,
    lead: Lead,
    status: str,
    source: str,
    provider: str | None = None,
    reason: str = "",
    actor=None,
) -> Lead:
    return lead_update(
        lead=lead,
        data={"status": status},
        source=source,
        provider=provider,
        reason=reason,
        actor=actor,
    )


def lead_bulk_set_status(*, user, lead_ids: Iterable[int], status: str, source: str) -> int:
    """Move many leads of the user's scope to ``status`` at once, with one history entry
    each (in the lead owner's history, naming ``user`` when they are not the owner).

    Returns how many leads changed. Leads already in that status are left alone.
    """
    if status not in Status.values:
        raise ValueError(f"unknown status {status!r}")
    ids = list(lead_ids)
    now = timezone.now()
    changed = 0
    # Batches keep each write transaction short (SQLite holds one writer at a time).
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        with transaction.atomic():
            rows = list(
                locked_in_id_order(
                    Scope.of(user).leads().filter(id__in=batch).exclude(status=status)
                ).values_list("id", "status", "user_id")
            )
            if not rows:
                continue
            Lead.objects.filter(id__in=[r[0] for r in rows]).update(
                status=status, status_changed_at=now, updated_at=now
            )
            LeadEvent.objects.bulk_create(
                LeadEvent(
                    lead_id=lead_id,
                    # The lead's owner (the history is theirs); the actor when not them.
                    user_id=owner_id,
                    kind=LeadEvent.Kind.STATUS,
                    from_status=old,
                    to_status=status,
                    source=source,
                    at=now,
                    actor_id=None if owner_id == user.pk else user.pk,
                )
                for lead_id, old, owner_id in rows
            )
            changed += len(rows)
    return changed


def lead_delete(*, lead: Lead, actor=None, scope: Scope | None = None) -> None:
    """Delete ``lead``. ``scope``: the person's, checked again under the lead's lock, so a lead
    handed out of it while the delete waited is not found (``NotFound``), not deleted."""
    if not leads_delete(leads=[lead], actor=actor, scope=scope):
        raise NotFound("lead")


@transaction.atomic
def leads_delete(
    *, leads: QuerySet[Lead] | Iterable[Lead], actor=None, scope: Scope | None = None
) -> int:
    """Delete ``leads`` (already scoped by the caller) with their history. Sends
    ``leads_deleting`` first, in the same transaction. Returns how many leads went.

    ``scope``: checked again once the leads are locked (see lead_delete)."""
    if isinstance(leads, QuerySet):
        ids = sorted(leads.values_list("pk", flat=True))
    else:
        ids = sorted(lead.pk for lead in leads)
    within = Lead.objects.all() if scope is None else scope.leads()
    if connection.features.has_select_for_update or scope is not None:
        # Read again within this transaction, and on PostgreSQL locked, in id order, as every
        # writer that adds history to existing leads locks them (lead_update, reassignment):
        # an entry written meanwhile is then committed before the history is read for
        # deletion, instead of left pointing at a deleted lead (a foreign-key failure at
        # commit). A lead deleted meanwhile, or moved out of ``scope`` (PostgreSQL checks the
        # row again after waiting for its lock), drops out here.
        ids = [
            lead_id
            for start in range(0, len(ids), 500)
            for lead_id in locked_in_id_order(
                within.filter(pk__in=ids[start : start + 500])
            ).values_list("pk", flat=True)
        ]
    if not ids:
        return 0
    leads_deleting.send(sender=Lead, lead_ids=ids, actor=actor)
    deleted = 0
    for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
        deleted += (
            Lead.objects.filter(pk__in=ids[start : start + 500])
            .delete()[1]
            .get(Lead._meta.label, 0)
        )
    return deleted


def _company_values(data: Mapping[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in data.items() if k in COMPANY_WRITABLE_FIELDS}
    if "country_code" in values:
        values["country_code"] = normalize.country_code(values["country_code"])
    return values


def company_create(*, user, data: Mapping[str, Any]) -> Company:
    values = _company_values(data)
    company_domain_check(user_id=user.pk, domain=values.get("domain") or "")
    company = Company(user=user, **values)
    company.save(force_insert=True)
    return company


def companies_create(*, user_id: int, rows: Sequence[Mapping[str, Any]]) -> list[Company]:
    """Many companies of one owner at once (a reassignment's copies, the companies an import
    batch needs): the same values and domain rule as ``company_create``, checked in one query
    and inserted in one statement per batch. ValidationError naming the first domain the
    owner already has."""
    if not rows:
        return []
    companies = [Company(user_id=user_id, **_company_values(row)) for row in rows]
    domains = [c.domain for c in companies if c.domain]
    if len(set(domains)) != len(domains):
        raise ValidationError({"domain": "Two of the new companies have the same domain."})
    taken = Scope.of_user_id(user_id).companies().filter(domain__in=domains)
    clash = taken.values_list("domain", flat=True).first()
    if clash is not None:
        raise ValidationError({"domain": f"A company with the domain {clash} already exists."})
    now = timezone.now()
    for company in companies:
        company.created_at = company.updated_at = now
    return Company.objects.bulk_create(companies, batch_size=500)


def company_update(*, company: Company, data: Mapping[str, Any]) -> Company:
    data = _company_values(data)
    changed = [
        field
        for field, value in data.items()
        if field in COMPANY_WRITABLE_FIELDS and getattr(company, field) != value
    ]
    if not changed:
        return company
    if "domain" in changed:
        company_domain_check(
            user_id=company.user_id, domain=data["domain"] or "", exclude_id=company.pk
        )
    for field in changed:
        setattr(company, field, data[field])
    with transaction.atomic():
        company.save(update_fields=[*changed, "updated_at"])
        if "name" in changed:
            company_search_text_refresh(company)
    return company


def company_search_text_refresh(company: Company) -> None:
    """Keep the leads' search column in step with the company name they are found by (after
    a rename, or after leads joined the company)."""
    leads = Lead.objects.filter(company=company).only("id", "first_name", "last_name", "email")
    batch: list[Lead] = []
    for lead in leads.iterator(chunk_size=2000):
        _refresh_search_text(lead, company)
        batch.append(lead)
        if len(batch) >= 2000:
            Lead.objects.bulk_update(batch, ["search_text"])
            batch = []
    if batch:
        Lead.objects.bulk_update(batch, ["search_text"])


def company_delete(*, company: Company) -> None:
    """Delete a company that has no leads; leads are never deleted as a side effect."""
    with transaction.atomic():
        count = Lead.objects.filter(company=company).count()
        if count:
            raise CompanyHasLeads(count)
        company.delete()


# --- Preferences --------------------------------------------------------------------------------


def lead_list_columns_save(*, user, columns: Iterable[str]) -> list[str]:
    """Save which optional columns the person's leads list shows (every later visit uses
    them). Unknown names are refused with ValidationError, naming them."""
    chosen = list(dict.fromkeys(columns))
    unknown = [name for name in chosen if name not in LIST_COLUMNS]
    if unknown:
        raise ValidationError(
            {"columns": f"Unknown column: {', '.join(unknown)}. Choose from the list."}
        )
    ordered = [name for name in LIST_COLUMNS if name in chosen]
    LeadListPreference.objects.update_or_create(user_id=user.pk, defaults={"columns": ordered})
    return ordered
