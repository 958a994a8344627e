"""Writing one page of vendor records into the pipeline, in one short transaction.

Identity: a record is a lead when its vendor id is already linked to that lead, else when
its email matches one of the leads in the integration owner's scope (case-insensitively;
emails are stored lower-case): a manager's integration finds a person any member of the team
owns, and updates that lead in place, under its owner. New leads go to the owner, or are
spread over the team by the integration's ``assign`` setting (``leads.assignment``); where
round robin stopped is saved with each page. A record linked to a lead since handed to
someone outside the scope is left alone (counted skipped), never made again.
Merging never destroys local data: empty fields are filled, missing custom attributes added,
the status only advances (and never leaves converted or lost), and a score set by hand stays.
Every change lands in the lead's history.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone

from crm.bulk import insert_rows
from integrations.models import ExternalLink, Integration
from integrations.records import VendorRecord
from integrations.scoring import score_from_signals
from integrations.tombstones import tombstoned
from leads import normalize
from leads.assignment import import_assignment
from leads.bulk import (
    COMPANY_MAX_LENGTH,
    LEAD_MAX_LENGTH,
    CompanyFacts,
    LeadRow,
    Outcome,
    lead_bulk_upsert,
)
from leads.models import MergePolicy, Source
from leads.scope import Scope

clip = normalize.clip
FILLABLE_FIELDS = ("first_name", "last_name", "position", "phone", "linkedin_url", "notes")


@dataclass
class PageResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    deleted: int = 0  # of the skipped: records whose lead a person deleted (tombstones)
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return self.created + self.updated + self.unchanged + self.skipped + len(self.failures)


# What json.dumps(..., sort_keys=True, default=str) builds on every call, built once: the
# digests stored by earlier imports must stay the same, byte for byte.
_DIGEST_ENCODER = json.JSONEncoder(sort_keys=True, default=str)


# Fields added to VendorRecord after digests were first stored: left out of the digest while
# they hold their default, so a record that does not use them keeps the digest it had.
_LATER_FIELDS = ("email_status", "email_verified_at", "do_not_contact_reason", "needs_details")


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
    if len(email) > normalize.MAX_EMAIL:
        return "", f"email longer than {normalize.MAX_EMAIL} characters: {email[:40]!r}…"
    try:
        return normalize.normalize_email(email), None
    except ValidationError:
        return "", f"invalid email {email[:80]!r}"


def lead_row(record: VendorRecord, email: str, source_label: str) -> LeadRow:
    """The record as the pipeline's bulk write takes it: normalised, clipped to the columns."""
    return LeadRow(
        email=email,
        first_name=clip(record.first_name, LEAD_MAX_LENGTH["first_name"]),
        last_name=clip(record.last_name, LEAD_MAX_LENGTH["last_name"]),
        position=clip(record.position, LEAD_MAX_LENGTH["position"]),
        phone=clip(record.phone, LEAD_MAX_LENGTH["phone"]),
        linkedin_url=clip(record.linkedin_url, LEAD_MAX_LENGTH["linkedin_url"]),
        notes=clip(record.notes, LEAD_MAX_LENGTH["notes"]),
        source=source_label,
        custom_attributes=record.custom_attributes,
        status=record.status_hint,
        score=score_from_signals(record.signals) if record.signals else None,
        company=CompanyFacts(
            name=clip(record.company_name, COMPANY_MAX_LENGTH["name"]),
            domain=normalize.company_domain(
                domain=record.company_domain, website=record.website, email=email
            ),
            website=clip(record.website, COMPANY_MAX_LENGTH["website"]),
            industry=clip(record.industry, COMPANY_MAX_LENGTH["industry"]),
            size=clip(record.size, COMPANY_MAX_LENGTH["size"]),
            country_code=clip(record.country_code, COMPANY_MAX_LENGTH["country_code"]),
        ),
        do_not_contact_reason=clip(record.do_not_contact_reason, 255),
        email_status=record.email_status,
        email_verified_at=record.email_verified_at,
    )


def import_records(
    *,
    integration: Integration,
    records: list[VendorRecord],
    source_label: str,
    loads: dict[int, int] | None = None,
) -> PageResult:
    """Write one page of records. Call inside a transaction; makes no network call.

    ``loads``: the run's open-lead counts for least loaded (``import_assignment``), kept from
    page to page."""
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
    # A person deleted the leads of these records: skipped until restored (counted, with why).
    # A linked record still has its lead, so only the others are looked up (none on a re-import).
    unlinked = [record for record in usable if record.vendor_id not in linked]
    if unlinked:
        emails = [(record.email or "").strip().lower() for record in unlinked]
        dead_ids, dead_emails = tombstoned(
            integration_id=integration.pk,
            vendor_ids=[record.vendor_id for record in unlinked],
            emails=emails,
        )
        dead = {
            id(record)
            for record, email in zip(unlinked, emails, strict=True)
            if record.vendor_id in dead_ids or email in dead_emails
        }
        if dead:
            usable = [record for record in usable if id(record) not in dead]
            result.skipped += len(dead)
            result.deleted += len(dead)
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

    if not fresh:
        return result
    rows = []
    for record, email in fresh:
        row = lead_row(record, email, source_label)
        link = linked.get(record.vendor_id)
        if link is not None:
            row.lead_id = link[1]
        rows.append(row)
    scope = Scope.of_person(user_id)
    assignment = import_assignment(
        scope=scope,
        assign=integration.assign,
        assign_to=integration.assign_to,
        last_user_id=integration.assign_last_user_id,
        open_leads=loads,
    )
    outcomes = lead_bulk_upsert(
        user_id=user_id,
        rows=rows,
        policy=MergePolicy.FILL,
        source=Source.IMPORT,
        provider=provider,
        require_email=integration.spec.requires_email,
        now=now,
        scope=scope,
        assignment=assignment,
    )
    if assignment is not None and assignment.last_user_id != integration.assign_last_user_id:
        # In the page's transaction: a page written is a position saved, and a page undone
        # (a crash before the commit) hands its leads out again from the same place.
        Integration.objects.filter(pk=integration.pk).update(
            assign_last_user_id=assignment.last_user_id
        )
        integration.assign_last_user_id = assignment.last_user_id
    # Link each record to its lead: a new lead, or one found by its email that this
    # integration has not linked yet (two records for one person: the first is linked).
    by_email = [o.lead_id for o in outcomes if o.by_email]
    has_link = set(
        ExternalLink.objects.filter(integration=integration, lead_id__in=by_email).values_list(
            "lead_id", flat=True
        )
        if by_email
        else ()
    )
    new_links: list[tuple[int, str]] = []  # (lead id, vendor id)
    link_digests: dict[int, str] = {}  # link id → new digest
    for (record, _), outcome in zip(fresh, outcomes, strict=True):
        kind = outcome.outcome
        lead_id = outcome.lead_id
        if kind is Outcome.ELSEWHERE:
            result.skipped += 1  # its lead was handed to someone outside the scope
            continue
        link = linked.get(record.vendor_id)
        if link is not None and kind is not Outcome.CREATED:
            link_digests[link[0]] = digests[record.vendor_id]
        if kind is Outcome.CREATED:
            result.created += 1
            assert lead_id is not None
            new_links.append((lead_id, record.vendor_id))
        elif kind is Outcome.SKIPPED:
            result.skipped += 1  # a person without an email cannot become a lead here
            continue
        elif kind is Outcome.UPDATED:
            result.updated += 1
        else:
            result.unchanged += 1
        if outcome.by_email and lead_id is not None and lead_id not in has_link:
            new_links.append((lead_id, record.vendor_id))
            has_link.add(lead_id)

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
    return result
