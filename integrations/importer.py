"""Writing one page of vendor records into the pipeline, in one short transaction.

Identity: a record is a lead when its vendor id is already linked to that lead, else when
its email matches one of the user's leads (case-insensitively; emails are stored lower-case).
Merging never destroys local data: empty fields are filled, missing custom attributes added,
the status only advances (and never leaves converted or lost), and a score set by hand stays.
Every change lands in the lead's history.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import QuerySet
from django.utils import timezone

from integrations.bulk import insert_rows
from integrations.models import ExternalLink, Integration
from integrations.records import VendorRecord
from integrations.scoring import score_from_signals
from leads.models import (
    CLOSED_STATUSES,
    NO_COMPANY_NAME,
    Company,
    EmailStatus,
    Lead,
    LeadEvent,
    Source,
    Status,
    build_search_text,
)
from leads.serializers import normalize_domain
from leads.services import company_update, leads_import_lock, locked_in_id_order

# Webmail domains say nothing about the company a person works for.
WEBMAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "hotmail.com", "outlook.com",
        "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com", "proton.me",
        "protonmail.com", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "yandex.com",
        "yandex.ru", "mail.ru", "zoho.com", "fastmail.com", "hey.com", "qq.com", "163.com",
    }
)  # fmt: skip

# How far each status is along the pipeline; closed statuses are never left by an import.
_RANK = {
    Status.NEW: 0,
    Status.CONTACTED: 1,
    Status.QUALIFIED: 2,
    Status.CONVERTED: 3,
    Status.LOST: 3,
}

FILLABLE_FIELDS = ("first_name", "last_name", "position", "phone", "linkedin_url", "notes")
_MAX_LENGTHS = {
    f.name: f.max_length
    for f in Lead._meta.get_fields()
    if getattr(f, "max_length", None) and f.name in (*FILLABLE_FIELDS, "email", "source")
}
_COMPANY_MAX = {
    f.name: f.max_length for f in Company._meta.get_fields() if getattr(f, "max_length", None)
}


@dataclass
class PageResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return self.created + self.updated + self.unchanged + self.skipped + len(self.failures)


def advanced_status(current: str, hint: str | None) -> str:
    """The status after an import: only forward, and never out of converted or lost."""
    if hint is None or current in CLOSED_STATUSES or hint not in _RANK:
        return current
    return hint if _RANK[hint] > _RANK[current] else current


def _clip(value: str, limit: int | None) -> str:
    value = (value or "").strip().replace("\x00", "")
    return value[:limit] if limit else value


def _company_domain(record: VendorRecord) -> str:
    for candidate in (record.company_domain, record.website):
        if candidate:
            try:
                return normalize_domain(candidate)
            except Exception:  # noqa: S112  (a vendor's garbage: try the next source)
                continue
    if "@" in record.email:
        domain = record.email.rsplit("@", 1)[1]
        if domain not in WEBMAIL_DOMAINS:
            try:
                return normalize_domain(domain)
            except Exception:
                return ""
    return ""


# What json.dumps(..., sort_keys=True, default=str) builds on every call, built once: the
# digests stored by earlier imports must stay the same, byte for byte.
_DIGEST_ENCODER = json.JSONEncoder(sort_keys=True, default=str)


# Fields added to VendorRecord after digests were first stored: left out of the digest while
# they hold their default, so a record that does not use them keeps the digest it had.
_LATER_FIELDS = ("email_status", "email_verified_at", "do_not_contact_reason", "needs_details")
_EMAIL_STATUSES = frozenset(EmailStatus.values)


def record_digest(record: VendorRecord) -> str:
    """A stable digest of everything the import reads from a vendor record."""
    # vars() rather than dataclasses.asdict(): the fields are flat values and two small
    # dicts, and asdict's deep copy would cost more than the whole digest.
    payload = vars(record).copy()  # a copy and five deletions: cheaper than a comprehension
    del payload["digest"]
    for key in _LATER_FIELDS:
        value = payload[key]
        if value is None or value is False:
            del payload[key]
        elif key == "email_verified_at":
            payload[key] = str(value)  # what the encoder's default=str would write, sooner
    text = _DIGEST_ENCODER.encode(payload)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _clean_email(raw: str) -> tuple[str, str | None]:
    email = (raw or "").strip().lower()
    if not email:
        return "", None
    if len(email) > 254:
        return "", f"email longer than 254 characters: {email[:40]!r}…"
    try:
        validate_email(email)
    except ValidationError:
        return "", f"invalid email {email[:80]!r}"
    return email, None


class _Companies:
    """Finds or creates the user's companies for a page, with two queries at most."""

    def __init__(self, user_id: int, records: Iterable[VendorRecord]) -> None:
        self.user_id = user_id
        # Normalising a domain costs ~20 µs (URL parsing, IDNA): once per record is enough.
        self.domains: dict[int, str] = {}
        domains: set[str] = set()
        names: set[str] = set()
        for record in records:
            domain = self.domains[id(record)] = _company_domain(record)
            if domain:
                domains.add(domain)
            names.add(_clip(record.company_name, _COMPANY_MAX["name"]) or NO_COMPANY_NAME)
        self.by_domain: dict[str, Company] = {}
        self.by_name: dict[str, Company] = {}
        # Two indexed lookups: by domain (repeating the partial unique index's condition so
        # SQLite uses it) and by name, instead of an OR that scans the user's companies.
        found: list[Company] = []
        if domains:
            found += Company.objects.filter(user_id=user_id, domain__in=domains).exclude(domain="")
        if names:
            found += Company.objects.filter(user_id=user_id, name__in=names)
        for company in found:
            if company.domain:
                self.by_domain[company.domain] = company
            self.by_name.setdefault(company.name.lower(), company)

    def resolve(self, record: VendorRecord) -> Company:
        domain = self.domains.get(id(record))
        if domain is None:
            domain = _company_domain(record)
        name = _clip(record.company_name, _COMPANY_MAX["name"])
        if domain and domain in self.by_domain:
            return self._filled(self.by_domain[domain], record, name, domain)
        if not domain and name and name.lower() in self.by_name:
            return self._filled(self.by_name[name.lower()], record, name, domain)
        if not domain and not name:
            existing = self.by_name.get(NO_COMPANY_NAME.lower())
            if existing is not None:
                return existing
            name = NO_COMPANY_NAME
        company = Company.objects.create(
            user_id=self.user_id,
            name=name or domain,
            domain=domain,
            website=_clip(record.website, _COMPANY_MAX["website"]),
            industry=_clip(record.industry, _COMPANY_MAX["industry"]),
            size=_clip(record.size, _COMPANY_MAX["size"]),
            country_code=_clip(record.country_code, _COMPANY_MAX["country_code"]),
        )
        if domain:
            self.by_domain[domain] = company
        self.by_name.setdefault(company.name.lower(), company)
        return company

    def _filled(self, company: Company, record: VendorRecord, name: str, domain: str) -> Company:
        """Fill what the company lacks from the record, never replacing a value: a later
        record may know the country or industry the first did not."""
        data: dict[str, str] = {}
        if name and company.name == domain and name != domain:
            # An earlier import knew only the domain (a Snov.io list entry without its
            # profile); the vendor now gives the company's real name.
            data["name"] = name
        for field_name in ("website", "industry", "size", "country_code"):
            value = _clip(getattr(record, field_name), _COMPANY_MAX[field_name])
            if value and not getattr(company, field_name):
                data[field_name] = value
        if data:
            company_update(company=company, data=data)
        return company


def _merge(
    lead: Lead, record: VendorRecord, email: str, source_label: str, *, email_free: bool
) -> dict[str, Any]:
    """Apply the record to an existing lead in memory; return {field: [old, new]}.

    ``email_free`` says no other lead of the user holds ``email``, so it may fill this one's.
    """
    changes: dict[str, list[Any]] = {}
    for name in FILLABLE_FIELDS:
        new = _clip(getattr(record, name), _MAX_LENGTHS.get(name))
        if new and not getattr(lead, name):
            changes[name] = [getattr(lead, name), new]
            setattr(lead, name, new)
    if email and not lead.email and email_free:
        changes["email"] = ["", email]
        lead.email = email
    if not lead.source and source_label:
        changes["source"] = ["", source_label]
        lead.source = source_label
    attributes = dict(lead.custom_attributes or {})
    added = {k: v for k, v in record.custom_attributes.items() if k not in attributes}
    if added:
        changes["custom_attributes"] = [None, added]
        lead.custom_attributes = {**attributes, **added}
    if not lead.score_is_manual and record.signals:
        score = score_from_signals(record.signals)
        if score != lead.score:
            changes["score"] = [lead.score, score]
            lead.score = score
    changes.update(_apply_do_not_contact(lead, record))
    return changes


def _apply_do_not_contact(lead: Lead, record: VendorRecord) -> dict[str, Any]:
    """Mark the lead do-not-contact when the vendor says so; {field: [old, new]}."""
    if not record.do_not_contact_reason or lead.do_not_contact:
        return {}
    reason = _clip(record.do_not_contact_reason, 255)
    changes = {
        "do_not_contact": [False, True],
        "do_not_contact_reason": [lead.do_not_contact_reason, reason],
    }
    lead.do_not_contact = True
    lead.do_not_contact_reason = reason
    return changes


def _apply_verification(
    lead: Lead, record: VendorRecord, email: str, provider: str, now: Any
) -> dict[str, Any]:
    """The vendor's verification of the email, when it is about the lead's email and not
    older than the one the lead holds; {field: [old, new]} of what changed."""
    status = record.email_status
    if status not in _EMAIL_STATUSES or not lead.email or email != lead.email:
        return {}
    checked_at = record.email_verified_at or now
    if lead.email_verified_at is not None and checked_at < lead.email_verified_at:
        return {}
    if status == lead.email_status and lead.email_verified_by == provider:
        return {}
    changes = {"email_status": [lead.email_status, status]}
    lead.email_status = status
    lead.email_verified_at = checked_at
    lead.email_verified_by = provider
    return changes


def _locked(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    return locked_in_id_order(leads.select_related("company"))


def import_records(
    *, integration: Integration, records: list[VendorRecord], source_label: str
) -> PageResult:
    """Write one page of records. Call inside a transaction; makes no network call."""
    result = PageResult()
    user_id = integration.user_id
    provider = integration.provider
    now = timezone.now()

    usable: list[VendorRecord] = []
    for record in records:
        # PostgreSQL stores no NUL character, in text or in JSON: drop them, as _clip does.
        vendor_id = str(record.vendor_id or "").replace("\x00", "").strip()[:128]
        if not vendor_id:
            result.failures.append((record.email or "?", "the vendor sent a record without an id"))
            continue
        record.vendor_id = vendor_id
        if any("\x00" in k or "\x00" in v for k, v in record.custom_attributes.items()):
            record.custom_attributes = {
                k.replace("\x00", ""): v.replace("\x00", "")
                for k, v in record.custom_attributes.items()
                if k.replace("\x00", "")
            }
        usable.append(record)

    vendor_ids = [record.vendor_id for record in usable]
    # vendor id → (link id, lead id, digest of the record as last imported)
    linked: dict[str, tuple[int, int, str]] = {
        vendor_id: (link_id, lead_id, digest)
        for link_id, vendor_id, lead_id, digest in ExternalLink.objects.filter(
            integration=integration, vendor_id__in=vendor_ids
        ).values_list("id", "vendor_id", "lead_id", "record_hash")
    }
    digests = {record.vendor_id: record.digest or record_digest(record) for record in usable}
    # Records the vendor has not changed since they were imported are done: their leads are
    # not even read, so a re-import costs little and never re-applies what a person undid.
    # Their email passed the check below when they were imported (the digest covers it), so
    # only the others are checked again (Django's validator costs about 4 µs a record).
    fresh: list[tuple[VendorRecord, str]] = []
    seen_vendor_ids: set[str] = set()
    for record in usable:
        link = linked.get(record.vendor_id)
        if record.vendor_id in seen_vendor_ids or (
            link is not None and link[2] == digests[record.vendor_id]
        ):
            result.unchanged += 1
        else:
            email, problem = _clean_email(record.email)
            if problem:
                result.failures.append((record.vendor_id, problem))
                continue
            fresh.append((record, email))
        seen_vendor_ids.add(record.vendor_id)

    if fresh:
        # Before reading which leads and companies exist: another import of this user's
        # (another provider, a CSV file) writes after us, never beside us.
        leads_import_lock(user_id=user_id)
    emails = {email for _, email in fresh if email}
    lead_ids = [linked[r.vendor_id][1] for r, _ in fresh if r.vendor_id in linked]
    leads_by_id: dict[int, Lead] = {}
    leads_by_email: dict[str, Lead] = {}
    # Two indexed lookups rather than one OR: the email one repeats the partial unique
    # index's condition (email != ''), without which SQLite scans every lead of the user.
    # The leads are locked until the page commits (PostgreSQL; SQLite's write lock already
    # holds everything): the page writes back whole fields of what it read here, so a change
    # a person saves in between must wait for it, or it would be overwritten with the values
    # read before it.
    found: list[Lead] = []
    if lead_ids:
        found += _locked(Lead.objects.filter(id__in=lead_ids, user_id=user_id))
    if emails:
        found += _locked(Lead.objects.filter(user_id=user_id, email__in=emails).exclude(email=""))
    for lead in found:
        leads_by_id[lead.pk] = lead
        if lead.email:
            leads_by_email[lead.email] = lead
    lead_has_link = set(
        ExternalLink.objects.filter(
            integration=integration, lead_id__in=[lead.pk for lead in leads_by_email.values()]
        ).values_list("lead_id", flat=True)
    )

    companies: _Companies | None = None
    to_create: list[tuple[Lead, str]] = []  # new leads and the vendor id to link
    new_links: list[tuple[int, str]] = []  # (lead id, vendor id)
    link_digests: dict[int, str] = {}  # link id → new digest
    to_update: dict[int, Lead] = {}
    update_fields: set[str] = set()
    events: list[LeadEvent] = []
    pending_by_email: dict[str, Lead] = {}

    for record, email in fresh:
        lead = None
        link = linked.get(record.vendor_id)
        if link is not None:
            lead = leads_by_id.get(link[1])
            link_digests[link[0]] = digests[record.vendor_id]
        elif email:
            lead = leads_by_email.get(email)
            if lead is not None and lead.pk not in lead_has_link:
                new_links.append((lead.pk, record.vendor_id))
                lead_has_link.add(lead.pk)
            elif lead is None and email in pending_by_email:
                result.unchanged += 1  # two vendor records for one person: the first wins
                continue

        if lead is None:
            if not email and provider == "snovio":
                result.skipped += 1  # a prospect without an email cannot become a lead
                continue
            if companies is None:
                companies = _Companies(user_id, [r for r, _ in fresh])
            company = companies.resolve(record)
            status = advanced_status(Status.NEW, record.status_hint)
            lead = Lead(
                user_id=user_id,
                company=company,
                email=email,
                status=status,
                score=score_from_signals(record.signals),
                source=source_label,
                custom_attributes=dict(record.custom_attributes),
                status_changed_at=now,
                created_at=now,
                updated_at=now,
            )
            _apply_do_not_contact(lead, record)
            _apply_verification(lead, record, email, provider, now)
            for name in FILLABLE_FIELDS:
                setattr(lead, name, _clip(getattr(record, name), _MAX_LENGTHS.get(name)))
            lead.search_text = build_search_text(
                first_name=lead.first_name,
                last_name=lead.last_name,
                email=lead.email,
                company_name=company.name,
            )
            to_create.append((lead, record.vendor_id))
            if email:
                pending_by_email[email] = lead
            result.created += 1
            continue

        holder = leads_by_email.get(email) or pending_by_email.get(email)
        email_free = bool(email) and (holder is None or holder.pk == lead.pk)
        changes = _merge(lead, record, email, source_label, email_free=email_free)
        if "email" in changes:
            leads_by_email[email] = lead
        verified = _apply_verification(lead, record, email, provider, now)
        if verified:
            changes.update(verified)
            update_fields.update({"email_verified_at", "email_verified_by"})
        old_status = lead.status
        new_status = advanced_status(old_status, record.status_hint)
        if new_status != old_status:
            lead.status = new_status
            lead.status_changed_at = now
            update_fields.update({"status", "status_changed_at"})
            events.append(
                LeadEvent(
                    lead=lead,
                    user_id=user_id,
                    kind=LeadEvent.Kind.STATUS,
                    from_status=old_status,
                    to_status=new_status,
                    source=Source.IMPORT,
                    provider=provider,
                    at=now,
                )
            )
        if changes:
            update_fields.update(changes)
            if {"first_name", "last_name", "email"} & changes.keys():
                lead.search_text = build_search_text(
                    first_name=lead.first_name,
                    last_name=lead.last_name,
                    email=lead.email,
                    company_name=lead.company.name,
                )
                update_fields.add("search_text")
            events.append(
                LeadEvent(
                    lead=lead,
                    user_id=user_id,
                    kind=LeadEvent.Kind.UPDATE,
                    from_status=lead.status,
                    to_status=lead.status,
                    source=Source.IMPORT,
                    provider=provider,
                    changes=changes,
                    at=now,
                )
            )
        if changes or new_status != old_status:
            lead.updated_at = now
            update_fields.add("updated_at")
            to_update[lead.pk] = lead
            result.updated += 1
        else:
            result.unchanged += 1

    event_rows: list[tuple] = []
    if to_create:
        ids = insert_rows(
            Lead,
            _LEAD_COLUMNS,
            [[getattr(lead, name) for name in _LEAD_COLUMNS] for lead, _ in to_create],
            returning_ids=True,
        )
        for lead_id, (lead, vendor_id) in zip(ids, to_create, strict=True):
            lead.pk = lead.id = lead_id
            new_links.append((lead_id, vendor_id))
            # Values in _EVENT_COLUMNS order: no model instance needed just to insert a row.
            event_rows.append(
                (lead_id, user_id, LeadEvent.Kind.STATUS, None, lead.status, Source.IMPORT,
                 provider, {}, now)
            )  # fmt: skip
    if to_update:
        Lead.objects.bulk_update(list(to_update.values()), sorted(update_fields), batch_size=500)
    if new_links:
        vendor_digest = digests.get
        insert_rows(
            ExternalLink,
            ("integration_id", "vendor_id", "lead_id", "record_hash", "created_at"),
            [
                (integration.pk, vendor_id, lead_id, vendor_digest(vendor_id, ""), now)
                for lead_id, vendor_id in new_links
            ],
        )
    if link_digests:
        ExternalLink.objects.bulk_update(
            [
                ExternalLink(id=link_id, record_hash=digest)
                for link_id, digest in link_digests.items()
            ],
            ["record_hash"],
            batch_size=500,
        )
    event_rows += [tuple(getattr(event, name) for name in _EVENT_COLUMNS) for event in events]
    if event_rows:
        insert_rows(LeadEvent, _EVENT_COLUMNS, event_rows)
    return result


_LEAD_COLUMNS = (
    "user_id", "company_id", "status", "score", "score_is_manual", "notes", "email",
    "first_name", "last_name", "position", "phone", "linkedin_url", "source",
    "custom_attributes", "status_changed_at", "created_at", "updated_at", "search_text",
    "do_not_contact", "do_not_contact_reason", "email_status", "email_verified_at",
    "email_verified_by",
)  # fmt: skip
_EVENT_COLUMNS = (
    "lead_id", "user_id", "kind", "from_status", "to_status", "source", "provider", "changes",
    "at",
)  # fmt: skip
