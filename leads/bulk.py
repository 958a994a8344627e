"""The bulk writes of the pipeline: many leads at once, from vendor imports, CSV files and the
seeding command, with the same rules as ``leads.services`` writes one lead.

``lead_bulk_upsert`` takes rows that are already normalised (``leads.normalize``) and writes
them in one short transaction: it finds each row's lead (by a known id, else by email) in the
importing user's scope (a manager's: the whole team's), creates the missing ones with their
companies, under the owner an assignment chooses (``leads.assignment``), merges the rest
under a ``MergePolicy`` (a lead found keeps its owner), and writes every change into the
lead's history with the door (and provider) that made it.

It reads and writes in a fixed number of statements per batch, whatever its size: two
look-ups of existing leads, two of companies (three when a name is found only in another
case), two per owner who gets new companies (``services.companies_create``), one
multi-row insert of leads, one bulk update and one insert of history entries. Filling a
found company's empty facts costs one update per company that changes.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Field, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from crm.bulk import insert_rows
from leads import normalize
from leads.assignment import Assignment
from leads.models import (
    CLOSED_STATUSES,
    NO_COMPANY_NAME,
    Company,
    EmailStatus,
    Lead,
    LeadEvent,
    MergePolicy,
    Source,
    Status,
)
from leads.scope import Scope
from leads.services import (
    companies_create,
    company_update,
    history_value,
    leads_import_lock,
    locked_in_id_order,
)

# Text fields an import may fill (or, under OVERWRITE, replace) on a lead.
TEXT_FIELDS = ("first_name", "last_name", "position", "phone", "linkedin_url", "notes", "source")
# The deal's fields an import may fill (or, under OVERWRITE, replace); None means "not known".
DEAL_FIELDS = ("deal_value", "expected_close_date")


def _max_length(model: type[Lead] | type[Company], name: str) -> int | None:
    """A text column's length; None for unbounded text (notes)."""
    field = model._meta.get_field(name)
    return field.max_length if isinstance(field, Field) else None


LEAD_MAX_LENGTH = {name: _max_length(Lead, name) for name in (*TEXT_FIELDS, "email")}
COMPANY_FACTS = ("website", "industry", "size", "country_code")
COMPANY_MAX_LENGTH = {
    name: _max_length(Company, name) for name in ("name", "domain", *COMPANY_FACTS)
}

# Every column of a new lead and of a history entry, in the order the bulk inserts use; the
# seeding command writes the same columns.
LEAD_COLUMNS = (
    "user_id", "company_id", "status", "score", "score_is_manual", "notes", "email",
    "first_name", "last_name", "position", "phone", "linkedin_url", "source",
    "custom_attributes", "status_changed_at", "created_at", "updated_at", "search_text",
    "do_not_contact", "do_not_contact_reason", "email_status", "email_verified_at",
    "email_verified_by", "deal_value", "expected_close_date",
)  # fmt: skip
EVENT_COLUMNS = (
    "lead_id", "user_id", "kind", "from_status", "to_status", "source", "provider", "changes",
    "at",
)  # fmt: skip
# An import's entries also name who assigned a new lead to someone else (``_Batch.first_entry``).
IMPORT_EVENT_COLUMNS = (*EVENT_COLUMNS, "actor_id")
COMPANY_COLUMNS = (
    "user_id", "name", "domain", "website", "industry", "size", "country_code", "created_at",
    "updated_at",
)  # fmt: skip

# A new lead is made positionally, one value per concrete field in the model's order, as
# Django's own Model.from_db does: Lead(**values) spends 12 µs a lead matching keywords to
# fields, a tenth of a CSV import's time. Constant defaults are read once; a callable default
# (custom_attributes' dict) is called for each lead, as the keyword path does.
_LEAD_FIELDS = Lead._meta.concrete_fields
_LEAD_SLOT = {field.attname: slot for slot, field in enumerate(_LEAD_FIELDS)}
_LEAD_BLANK = [
    None if field.has_default() and callable(field.default) else field.get_default()
    for field in _LEAD_FIELDS
]
_LEAD_MADE_DEFAULTS = [
    (slot, field.get_default)
    for slot, field in enumerate(_LEAD_FIELDS)
    if field.has_default() and callable(field.default)
]


# ``Lead`` through a plain callable: django-stubs checks ``Lead(...)``'s arguments by field,
# and with a warm cache took new_lead's starred row for the id alone.
_make_lead: Callable[..., Lead] = Lead


def new_lead(values: dict[str, Any]) -> Lead:
    """``Lead(**values)`` (attnames such as ``user_id``), made the faster way."""
    row = _LEAD_BLANK.copy()
    for slot, make in _LEAD_MADE_DEFAULTS:
        row[slot] = make()
    slots = _LEAD_SLOT
    for name, value in values.items():
        row[slots[name]] = value
    return _make_lead(*row)


# How far each status is along the pipeline; closed statuses are never left by a fill.
_RANK: dict[str, int] = {
    Status.NEW: 0,
    Status.CONTACTED: 1,
    Status.QUALIFIED: 2,
    Status.CONVERTED: 3,
    Status.LOST: 3,
}
_EMAIL_STATUSES = frozenset(EmailStatus.values)


def advanced_status(current: str, hint: str | None) -> str:
    """The status after a fill: only forward, and never out of converted or lost."""
    if hint is None or current in CLOSED_STATUSES or hint not in _RANK:
        return current
    return hint if _RANK[hint] > _RANK[current] else current


@dataclass(slots=True)
class CompanyFacts:
    """What a row knows of the lead's company; ``domain`` normalised, text clipped."""

    name: str = ""
    domain: str = ""
    website: str = ""
    industry: str = ""
    size: str = ""
    country_code: str = ""

    def __post_init__(self) -> None:
        self.country_code = normalize.country_code(self.country_code)


@dataclass(slots=True)
class LeadRow:
    """One lead as an import knows it: normalised values, empty text meaning "not known"."""

    email: str = ""
    first_name: str = ""
    last_name: str = ""
    position: str = ""
    phone: str = ""
    linkedin_url: str = ""
    notes: str = ""
    source: str = ""
    custom_attributes: dict[str, str] = field(default_factory=dict)
    status: str | None = None
    score: int | None = None
    company: CompanyFacts = field(default_factory=CompanyFacts)
    # A vendor's unsubscribe or bounce: marks the lead do-not-contact with this reason.
    do_not_contact_reason: str = ""
    # A vendor's verification of ``email``.
    email_status: str | None = None
    email_verified_at: dt.datetime | None = None
    # The lead this row is known to be (a vendor's link); else it is matched by email.
    lead_id: int | None = None
    # When the lead came to be, if the source knows (a CSV file's creation date): a lead this
    # row creates gets it as its creation time and the time of its first history entry, so
    # the dashboard's weekly figures count it in its own week. An existing lead keeps its own;
    # a time in the future is taken as now.
    created_at: dt.datetime | None = None
    # The deal (a CSV file's amount and close date); None when the source does not say.
    deal_value: Decimal | None = None
    expected_close_date: dt.date | None = None


class Outcome(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    # The same person twice in one batch: the first row wins.
    DUPLICATE = "duplicate"
    # ``create_only``: a lead with the row's email exists, and was left alone.
    EXISTS = "exists"
    # ``require_email``: a row without an email that would have created a lead.
    SKIPPED = "skipped"
    # The row's known lead (``LeadRow.lead_id``) is not in the scope any more: it was handed
    # to someone outside it, and is left alone (never created again beside theirs).
    ELSEWHERE = "elsewhere"


@dataclass(slots=True)
class RowResult:
    outcome: Outcome
    lead_id: int | None = None
    # Found by its email rather than by ``LeadRow.lead_id``.
    by_email: bool = False


class CompanyResolver:
    """``company_resolve`` for a batch: finds or creates the companies of many rows with two
    look-ups in all, remembering what it found for the rest of the batch, and creates the
    missing ones of each owner in one statement (``services.companies_create``).

    Companies belong to one owner (a lead and its company share it): the resolver reads the
    companies of every owner in ``scope`` (one user's, or a manager's team's) and resolves a
    row's facts for the owner asked for, the scope's own user unless told otherwise.

    A row's company is the owner's company with its domain; without a domain, the one with its
    name (in any case); with neither, the owner's "No company". A found company gets what it
    lacks from the row (website, industry, size, country; its real name when an earlier
    import knew only the domain) and never loses a value.
    """

    def __init__(self, scope: Scope | int, facts: Iterable[CompanyFacts]) -> None:
        if isinstance(scope, int):
            scope = Scope.of_user_id(scope)
        self.scope = scope
        self.user_id = scope.actor_id
        domains: set[str] = set()
        names: set[str] = set()
        for fact in facts:
            if fact.domain:
                domains.add(fact.domain)
            names.add(fact.name or NO_COMPANY_NAME)
        # (owner, domain) and (owner, lower-case name) → the company.
        self.by_domain: dict[tuple[int, str], Company] = {}
        self.by_name: dict[tuple[int, str], Company] = {}
        # Names looked up in any case already, per owner (found or not).
        self.other_cases: set[tuple[int, str]] = set()
        # Companies a batch will make (``plan``), by the same keys, as stand-in ids below 0.
        self.planned_domain: dict[tuple[int, str], int] = {}
        self.planned_name: dict[tuple[int, str], int] = {}
        # Two indexed look-ups, by domain (repeating the partial unique index's condition so
        # SQLite uses it) and by name, instead of an OR that scans the owners' companies.
        found: list[Company] = []
        companies = scope.companies()
        if domains:
            found += companies.filter(domain__in=domains).exclude(domain="")
        if names:
            found += companies.filter(name__in=names).order_by("id")
        for company in found:
            self._remember(company)

    def _remember(self, company: Company) -> None:
        if company.domain:
            self.by_domain.setdefault((company.user_id, company.domain), company)
        self.by_name.setdefault((company.user_id, company.name.lower()), company)

    def find(self, facts: CompanyFacts, owner_id: int | None = None) -> Company | None:
        """The existing company ``resolve`` would take for ``facts`` (None: it would create
        one), of ``owner_id`` (default: the scope's own user)."""
        owner = self.user_id if owner_id is None else owner_id
        if facts.domain:
            return self.by_domain.get((owner, facts.domain))
        return self.by_name.get((owner, (facts.name or NO_COMPANY_NAME).lower()))

    def find_all(self, facts: CompanyFacts) -> list[Company]:
        """The company each owner of the scope has for ``facts``, the scope's own user's first."""
        found = (self.find(facts, owner) for owner in self.scope.owner_ids)
        return [company for company in found if company is not None]

    def plan(self, facts: CompanyFacts, owner_id: int) -> None:
        """Note that ``resolve_many`` will be asked for ``facts`` of ``owner_id``: until then,
        ``ids_of`` answers a stand-in id for the company it will find or make."""
        if self.find(facts, owner_id) is not None:
            return
        stand_in = -1 - len(self.planned_name) - len(self.planned_domain)
        if facts.domain:
            stand_in = self.planned_domain.setdefault((owner_id, facts.domain), stand_in)
            self.planned_name.setdefault((owner_id, (facts.name or facts.domain).lower()), stand_in)
        else:
            self.planned_name.setdefault((owner_id, _name_of(facts)), stand_in)

    def ids_of(self, facts: CompanyFacts) -> list[int]:
        """The id of the company each owner of the scope has for ``facts`` (the scope's own
        user's first), or the stand-in of the one a batch plans to make for them."""
        ids: list[int] = []
        for owner in self.scope.owner_ids:
            company = self.find(facts, owner)
            if company is not None:
                ids.append(company.pk)
            elif facts.domain and (owner, facts.domain) in self.planned_domain:
                ids.append(self.planned_domain[(owner, facts.domain)])
            elif not facts.domain and (owner, _name_of(facts)) in self.planned_name:
                ids.append(self.planned_name[(owner, _name_of(facts))])
        return ids

    def resolve(self, facts: CompanyFacts, owner_id: int | None = None) -> Company:
        owner = self.user_id if owner_id is None else owner_id
        return self.resolve_many([(owner, facts)])[0]

    def resolve_many(self, wanted: Sequence[tuple[int, CompanyFacts]]) -> list[Company]:
        """The company of each (owner, facts), found or created; the missing ones of each
        owner made in one statement, a name found only in another case ("ACME" for "Acme")
        looked up in one query for all."""
        self._find_other_cases(
            [
                (owner, facts.name)
                for owner, facts in wanted
                if not facts.domain and facts.name and self.find(facts, owner) is None
            ]
        )
        missing: dict[int, dict[tuple[str, str], dict[str, str]]] = {}
        for owner, facts in wanted:
            if self.find(facts, owner) is None:
                key = ("domain", facts.domain) if facts.domain else ("name", _name_of(facts))
                missing.setdefault(owner, {}).setdefault(key, _new_company(facts))
        for owner, rows in missing.items():
            for company in companies_create(user_id=owner, rows=list(rows.values())):
                self._remember(company)
        resolved: list[Company] = []
        for owner, facts in wanted:
            found = self.find(facts, owner)
            assert found is not None  # found, or created just now
            resolved.append(self._filled(found, facts) if facts.domain or facts.name else found)
        return resolved

    def _find_other_cases(self, names: list[tuple[int, str]]) -> None:
        """Remember the owners' companies named as asked but in another case, in one query."""
        todo = {(owner, name.lower()) for owner, name in names} - self.other_cases
        if not todo:
            return
        self.other_cases |= todo
        owners = {owner for owner, _ in todo}
        lowered = {name for _, name in todo}
        found = (
            self.scope.companies()
            .filter(user_id__in=owners)
            .annotate(name_lower=Lower("name"))
            .filter(name_lower__in=lowered)
            .order_by("id")
        )
        for company in found:
            key = (company.user_id, company.name.lower())
            if key in todo:
                self.by_name.setdefault(key, company)

    @staticmethod
    def _filled(company: Company, facts: CompanyFacts) -> Company:
        data: dict[str, str] = {}
        if facts.name and company.name == facts.domain and facts.name != facts.domain:
            # An earlier import knew only the domain (a Snov.io list entry without its
            # profile); this row gives the company's real name.
            data["name"] = facts.name
        for name in COMPANY_FACTS:
            value = getattr(facts, name)
            if value and not getattr(company, name):
                data[name] = value
        if data:
            company_update(company=company, data=data)
        return company


def _name_of(facts: CompanyFacts) -> str:
    return (facts.name or NO_COMPANY_NAME).lower()


def _new_company(facts: CompanyFacts) -> dict[str, str]:
    """The values of a company made for ``facts``: named by the row, else by its domain,
    else "No company"."""
    return {
        "name": facts.name or facts.domain or NO_COMPANY_NAME,
        "domain": facts.domain,
        **{name: getattr(facts, name) for name in COMPANY_FACTS},
    }


def _name_key(company_id: int, first_name: str, last_name: str) -> tuple[int, str, str]:
    return company_id, normalize.fold(first_name.strip()), normalize.fold(last_name.strip())


def company_resolve(*, user_id: int, facts: CompanyFacts) -> Company:
    """The user's company for ``facts``, found or created (see ``CompanyResolver``)."""
    return CompanyResolver(user_id, [facts]).resolve(facts)


def _locked(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """``leads`` locked, then their companies read in one more query. A join in the locking
    statement would drop a lead moved to another company while the page waited for its lock
    (see services._LOCKED_LEADS), and the page would insert it again."""
    return locked_in_id_order(leads).prefetch_related("company")


class _Batch:
    """The state of one ``lead_bulk_upsert`` call."""

    def __init__(
        self,
        *,
        user_id: int,
        scope: Scope,
        assignment: Assignment | None,
        rows: Sequence[LeadRow],
        policy: MergePolicy,
        source: str,
        provider: str | None,
        score_is_manual: bool,
        now: dt.datetime,
    ) -> None:
        self.user_id = user_id
        self.scope = scope
        self.assignment = assignment
        self.rows = rows
        self.overwrite = policy == MergePolicy.OVERWRITE
        self.source = source
        self.provider = provider if source == Source.IMPORT else None
        self.verifier = provider
        self.score_is_manual = score_is_manual
        self.now = now
        self.companies: CompanyResolver | None = None
        self.by_id: dict[int, Lead] = {}
        self.by_email: dict[str, Lead] = {}
        self.pending_by_email: dict[str, Lead] = {}
        # (company id, folded first name, folded last name) → a lead without an email.
        self.by_name: dict[tuple[int, str, str], Lead] = {}
        self.pending_by_name: set[tuple[int, str, str]] = set()
        # (row index, new lead, its company's facts): the companies are found or made for
        # all of them at once, under each lead's owner, before they are written.
        self.to_create: list[tuple[int, Lead, CompanyFacts]] = []
        self.to_update: dict[int, Lead] = {}
        self.update_fields: set[str] = set()
        self.events: list[LeadEvent] = []

    def read(self) -> None:
        ids = [row.lead_id for row in self.rows if row.lead_id is not None]
        emails = {row.email for row in self.rows if row.email}
        # Two indexed look-ups rather than one OR: the email one repeats the partial unique
        # index's condition (email != ''), without which SQLite scans every lead of the user.
        # The leads are locked until the batch commits (PostgreSQL; SQLite's write lock
        # already holds everything): the batch writes back whole fields of what it read
        # here, so a change a person saves in between must wait for it rather than be
        # overwritten with the values read before it.
        found: list[Lead] = []
        if ids:
            found += _locked(self.scope.leads().filter(id__in=ids))
        if emails:
            found += _locked(self.scope.leads().filter(email__in=emails).exclude(email=""))
        # An email is unique per owner only: when two owners of the scope have it, the row
        # is the importing user's own lead, else the oldest.
        found.sort(key=lambda lead: (lead.user_id != self.user_id, lead.pk))
        for lead in found:
            self.by_id[lead.pk] = lead
            if lead.email:
                self.by_email.setdefault(lead.email, lead)

    def read_by_name(self) -> None:
        """For rows without an email: the leads without one in the same existing companies,
        by name (one look-up through the (company, id) index)."""
        nameless = [
            row
            for row in self.rows
            if not row.email and row.lead_id is None and (row.first_name or row.last_name)
        ]
        if not nameless:
            return
        companies = self.resolver()
        company_ids = {
            company.pk for row in nameless for company in companies.find_all(row.company)
        }
        if not company_ids:
            return
        leads = self.scope.leads().filter(company_id__in=company_ids, email="")
        for lead in _locked(leads):
            self.by_id[lead.pk] = lead
            self.by_name.setdefault(
                _name_key(lead.company_id, lead.first_name, lead.last_name), lead
            )

    def name_keys(self, row: LeadRow) -> list[tuple[int, str, str]]:
        """Where a lead without an email and with the row's name would be: in the company
        each owner of the scope has for the row (the importing user's first), or the one an
        earlier row of the batch makes for them."""
        if not (row.first_name or row.last_name):
            return []
        return [
            _name_key(company_id, row.first_name, row.last_name)
            for company_id in self.resolver().ids_of(row.company)
        ]

    def resolver(self) -> CompanyResolver:
        if self.companies is None:
            self.companies = CompanyResolver(self.scope, [row.company for row in self.rows])
        return self.companies

    def create(self, index: int, row: LeadRow) -> Lead:
        now = self.now
        created = now
        if row.created_at is not None and row.created_at < now:
            created = row.created_at
        status = row.status if row.status in _RANK else Status.NEW
        owner = self.user_id
        if self.assignment is not None:
            owner = self.assignment.next_owner(is_open=status not in CLOSED_STATUSES)
        lead = new_lead(
            {
                "user_id": owner,
                "email": row.email,
                "status": status,
                "score": row.score if row.score is not None else 0,
                "score_is_manual": self.score_is_manual and row.score is not None,
                "custom_attributes": dict(row.custom_attributes),
                "deal_value": row.deal_value,
                "expected_close_date": row.expected_close_date,
                # In its first status since it was created, as its first history entry says.
                "status_changed_at": created,
                "created_at": created,
                "updated_at": now,
                "first_name": row.first_name,
                "last_name": row.last_name,
                "position": row.position,
                "phone": row.phone,
                "linkedin_url": row.linkedin_url,
                "notes": row.notes,
                "source": row.source,
            }
        )
        _apply_do_not_contact(lead, row)
        self.verify(lead, row)
        self.resolver().plan(row.company, owner)
        self.to_create.append((index, lead, row.company))
        if row.email:
            self.pending_by_email[row.email] = lead
        return lead

    def place_new_leads(self) -> None:
        """Give each new lead its owner's company (found, or made with the others in one
        statement per owner) and the search text that names it."""
        if not self.to_create:
            return
        companies = self.resolver().resolve_many(
            [(lead.user_id, facts) for _, lead, facts in self.to_create]
        )
        for (_, lead, _), company in zip(self.to_create, companies, strict=True):
            lead.company = company
            lead.search_text = normalize.search_text(
                first_name=lead.first_name,
                last_name=lead.last_name,
                email=lead.email,
                company_name=company.name,
            )

    def verify(self, lead: Lead, row: LeadRow) -> dict[str, list[Any]]:
        """The row's verification of the email, when it is about the lead's email and not
        older than the one the lead holds; {field: [old, new]} of what changed."""
        status = row.email_status
        if status not in _EMAIL_STATUSES or not lead.email or row.email != lead.email:
            return {}
        checked_at = row.email_verified_at or self.now
        if lead.email_verified_at is not None and checked_at < lead.email_verified_at:
            return {}
        if status == lead.email_status and lead.email_verified_by == self.verifier:
            return {}
        changes: dict[str, list[Any]] = {"email_status": [lead.email_status, status]}
        lead.email_status = status
        lead.email_verified_at = checked_at
        lead.email_verified_by = self.verifier
        return changes

    def update(self, lead: Lead, row: LeadRow) -> bool:
        """Merge the row into an existing lead; True if anything changed."""
        holder = self.by_email.get(row.email) or self.pending_by_email.get(row.email)
        email_free = bool(row.email) and (holder is None or holder.pk == lead.pk)
        changes = _merge(lead, row, email_free=email_free, overwrite=self.overwrite)
        fields = self.update_fields
        if "email" in changes:
            self.by_email[row.email] = lead
            if lead.email_status != EmailStatus.UNKNOWN or lead.email_verified_by is not None:
                # A verification was about the old address.
                changes["email_status"] = [lead.email_status, EmailStatus.UNKNOWN]
                lead.email_status = EmailStatus.UNKNOWN
                lead.email_verified_at = None
                lead.email_verified_by = None
                fields.update({"email_verified_at", "email_verified_by"})
        if self.score_is_manual and "score" in changes and not lead.score_is_manual:
            lead.score_is_manual = True
            fields.add("score_is_manual")
        if row.company.name or row.company.domain:
            moved = self._move_company(lead, row)
            if moved:
                changes["company"] = moved
                fields.add("company_id")
        verified = self.verify(lead, row)
        if verified:
            changes.update(verified)
            fields.update({"email_verified_at", "email_verified_by"})
        old_status = lead.status
        if self.overwrite and row.status in _RANK:
            new_status = row.status
        else:
            new_status = advanced_status(old_status, row.status)
        status_changed = new_status != old_status
        if status_changed:
            lead.status = new_status
            lead.status_changed_at = self.now
            fields.update({"status", "status_changed_at"})
            self.events.append(self._event(lead, LeadEvent.Kind.STATUS, old_status, {}))
        if changes:
            fields.update(name for name in changes if name != "company")
            if {"first_name", "last_name", "email", "company"} & changes.keys():
                lead.search_text = normalize.search_text(
                    first_name=lead.first_name,
                    last_name=lead.last_name,
                    email=lead.email,
                    company_name=lead.company.name,
                )
                fields.add("search_text")
            self.events.append(self._event(lead, LeadEvent.Kind.UPDATE, lead.status, changes))
        if not (changes or status_changed):
            return False
        lead.updated_at = self.now
        fields.add("updated_at")
        self.to_update[lead.pk] = lead
        return True

    def _move_company(self, lead: Lead, row: LeadRow) -> list[str] | None:
        """Under OVERWRITE, the row's company; under a fill, only a lead filed under "No
        company" moves to the one the row names. [old name, new name] when it moved."""
        if not self.overwrite and lead.company.name != NO_COMPANY_NAME:
            return None
        # The lead keeps its owner, so its company is one of theirs.
        company = self.resolver().resolve(row.company, lead.user_id)
        if company.pk == lead.company_id:
            return None
        old = lead.company.name
        lead.company = company
        return [old, company.name]

    def _event(
        self, lead: Lead, kind: str, from_status: str | None, changes: dict[str, Any]
    ) -> LeadEvent:
        return LeadEvent(
            lead=lead,
            user_id=lead.user_id,  # the history is the owner's, whoever imported
            kind=kind,
            from_status=from_status,
            to_status=lead.status,
            source=self.source,
            provider=self.provider,
            changes=changes,
            at=self.now,
        )

    def first_entry(self, lead: Lead) -> tuple[dict[str, Any], int | None]:
        """The changes and actor of a new lead's first history entry: when an assignment
        chose its owner, who that is (and the importing user as the actor, when not them)."""
        if self.assignment is None:
            return {}, None
        owner = lead.user_id
        changes = {"owner": [None, self.assignment.names[owner]], "to_user_id": owner}
        return changes, None if owner == self.user_id else self.user_id

    def write(self, results: list[RowResult]) -> None:
        event_rows: list[tuple[Any, ...]] = []
        if self.to_create:
            ids = insert_rows(
                Lead,
                LEAD_COLUMNS,
                [[getattr(lead, name) for name in LEAD_COLUMNS] for _, lead, _ in self.to_create],
                returning_ids=True,
            )
            status_kind = LeadEvent.Kind.STATUS
            for lead_id, (index, lead, _) in zip(ids, self.to_create, strict=True):
                lead.pk = lead.id = lead_id
                results[index].lead_id = lead_id
                changes, actor_id = self.first_entry(lead)
                # Values in IMPORT_EVENT_COLUMNS order: no model instance needed just to insert
                # a row. The first entry is as old as the lead (a back-dated one included).
                event_rows.append(
                    (lead_id, lead.user_id, status_kind, None, lead.status, self.source,
                     self.provider, changes, lead.created_at, actor_id)
                )  # fmt: skip
        if self.to_update:
            Lead.objects.bulk_update(
                list(self.to_update.values()), sorted(self.update_fields), batch_size=500
            )
        event_rows += [
            tuple(getattr(event, name) for name in IMPORT_EVENT_COLUMNS) for event in self.events
        ]
        if event_rows:
            insert_rows(LeadEvent, IMPORT_EVENT_COLUMNS, event_rows)


def _merge(lead: Lead, row: LeadRow, *, email_free: bool, overwrite: bool) -> dict[str, Any]:
    """Apply the row's fields to an existing lead in memory; return {field: [old, new]}.

    A fill writes only what the lead lacks: empty text, missing custom attributes, a score
    nobody chose by hand. An overwrite also replaces what differs. Neither erases a value
    with an empty one, and neither takes an email another lead of the user holds
    (``email_free`` says this one may have it).
    """
    changes: dict[str, list[Any]] = {}
    for name in TEXT_FIELDS:
        new = getattr(row, name)
        if not new:
            continue
        old = getattr(lead, name)
        if (not old or overwrite) and new != old:
            changes[name] = [old, new]
            setattr(lead, name, new)
    if row.email and email_free and row.email != lead.email and (overwrite or not lead.email):
        changes["email"] = [lead.email, row.email]
        lead.email = row.email
    attributes = lead.custom_attributes or {}
    if overwrite:
        replaced = {k: v for k, v in row.custom_attributes.items() if attributes.get(k) != v}
        if replaced:
            changes["custom_attributes"] = [
                {k: attributes[k] for k in replaced if k in attributes} or None,
                replaced,
            ]
            lead.custom_attributes = {**attributes, **replaced}
    else:
        added = {k: v for k, v in row.custom_attributes.items() if k not in attributes}
        if added:
            changes["custom_attributes"] = [None, added]
            lead.custom_attributes = {**attributes, **added}
    if (
        row.score is not None
        and row.score != lead.score
        and (overwrite or not lead.score_is_manual)
    ):
        changes["score"] = [lead.score, row.score]
        lead.score = row.score
    for name in DEAL_FIELDS:
        new, old = getattr(row, name), getattr(lead, name)
        if new is not None and new != old and (old is None or overwrite):
            changes[name] = [history_value(old), history_value(new)]
            setattr(lead, name, new)
    changes.update(_apply_do_not_contact(lead, row))
    return changes


def _apply_do_not_contact(lead: Lead, row: LeadRow) -> dict[str, list[Any]]:
    """Mark the lead do-not-contact when the row says so; {field: [old, new]}."""
    if not row.do_not_contact_reason or lead.do_not_contact:
        return {}
    changes: dict[str, list[Any]] = {
        "do_not_contact": [False, True],
        "do_not_contact_reason": [lead.do_not_contact_reason, row.do_not_contact_reason],
    }
    lead.do_not_contact = True
    lead.do_not_contact_reason = row.do_not_contact_reason
    return changes


def lead_bulk_upsert(
    *,
    user_id: int,
    rows: Sequence[LeadRow],
    policy: MergePolicy = MergePolicy.FILL,
    source: str,
    provider: str | None = None,
    create_only: bool = False,
    require_email: bool = False,
    score_is_manual: bool = False,
    match_names: bool = False,
    now: dt.datetime | None = None,
    scope: Scope | None = None,
    assignment: Assignment | None = None,
) -> list[RowResult]:
    """Write ``rows`` for ``user_id`` (the importing user); one result per row, in order.
    Call inside a transaction.

    ``scope``: where a row's lead is looked for (by ``LeadRow.lead_id``, by email, by name),
    by default the user's own leads; a manager's import passes their whole scope
    (``Scope.of_person``), so a person already owned by any member of the team is updated in
    place and keeps their owner. A row whose known lead is no longer in the scope (handed to
    someone outside it) is left alone (``ELSEWHERE``).
    ``assignment``: who the new leads go to (``leads.assignment``), by default the user;
    their first history entry then names that owner.

    ``create_only``: a row whose email a lead already has is left alone (``EXISTS``).
    ``require_email``: a row without an email never creates a lead (``SKIPPED``).
    ``score_is_manual``: the rows' scores are a person's choice (a CSV file), not a vendor's
    estimate; they then stay until a person changes them.
    ``match_names``: a row without an email is the lead without one that has its first and
    last name (case and accents aside) in the same existing company, if there is one (a CSV
    file imported again must not duplicate those rows).
    """
    results = [RowResult(Outcome.UNCHANGED) for _ in rows]
    if not rows:
        return results
    scope = scope or Scope.of_user_id(user_id)
    if user_id not in scope.owner_ids:
        raise ValueError(f"user {user_id} is not in the scope {scope.owner_ids}")
    if assignment is not None and not set(assignment.owners) <= set(scope.owner_ids):
        raise ValueError("an assignment may only name owners in the scope")
    # Before reading which leads and companies exist: another import of any of these owners'
    # (another provider, a CSV file, a rep's own integration) writes after us, never beside us.
    leads_import_lock(user_ids=scope.owner_ids)
    batch = _Batch(
        user_id=user_id,
        scope=scope,
        assignment=assignment,
        rows=rows,
        policy=policy,
        source=source,
        provider=provider,
        score_is_manual=score_is_manual,
        now=now or timezone.now(),
    )
    batch.read()
    if match_names:
        batch.read_by_name()
    for index, row in enumerate(rows):
        result = results[index]
        lead = None
        if row.lead_id is not None:
            lead = batch.by_id.get(row.lead_id)
            if lead is None:
                result.outcome = Outcome.ELSEWHERE
                continue
        by_name = False
        if lead is None and match_names and not row.email:
            keys = batch.name_keys(row)
            if keys:
                lead = next((batch.by_name[key] for key in keys if key in batch.by_name), None)
                by_name = lead is not None
                if lead is None and any(key in batch.pending_by_name for key in keys):
                    result.outcome = Outcome.DUPLICATE  # the row above creates it
                    continue
                if lead is None:
                    batch.pending_by_name.update(keys)
        if lead is None and row.email:
            lead = batch.by_email.get(row.email)
            if lead is not None:
                result.by_email = True
            elif row.email in batch.pending_by_email:
                result.outcome = Outcome.DUPLICATE
                continue
        if lead is None:
            if require_email and not row.email:
                result.outcome = Outcome.SKIPPED
                continue
            batch.create(index, row)
            result.outcome = Outcome.CREATED
            continue
        result.lead_id = lead.pk
        if create_only and (result.by_email or by_name):
            result.outcome = Outcome.EXISTS
            continue
        if batch.update(lead, row):
            result.outcome = Outcome.UPDATED
    batch.place_new_leads()
    batch.write(results)
    return results


def insert_prepared(
    model: type[Lead] | type[LeadEvent] | type[Company],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Insert rows whose values are already in the database's form, in ``columns`` order.

    For the seeding command only, which makes a million synthetic leads (ids, history and
    all) and adapts each value once itself; anything that reads input from people or vendors
    goes through ``lead_bulk_upsert``.
    """
    quote = connection.ops.quote_name
    names = ", ".join(quote(name) for name in columns)
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES ({marks})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
