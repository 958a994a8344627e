"""Typed objects at the boundary between vendor clients and the sync engine.

Each client parses its vendor's JSON into these, so the engine never sees a vendor's field
names, and builds its vendor's payloads from ``ExportLead``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from integrations.parsing import text


@dataclass
class VendorRecord:
    """One vendor lead/prospect, in the CRM's terms."""

    vendor_id: str
    email: str = ""  # lower-case, "" when the vendor has none
    first_name: str = ""
    last_name: str = ""
    position: str = ""
    phone: str = ""
    linkedin_url: str = ""
    notes: str = ""
    company_name: str = ""
    company_domain: str = ""  # a host, or a URL the engine normalises
    website: str = ""
    industry: str = ""
    size: str = ""
    country_code: str = ""
    # The pipeline status this record shows at least (e.g. "contacted" once an email was sent),
    # or None when the vendor says nothing about it.
    status_hint: str | None = None
    # Inputs of the score function (see integrations.scoring): only what the vendor gave.
    signals: dict[str, Any] = field(default_factory=dict)
    # Vendor fields the CRM has no column for, as string → string.
    custom_attributes: dict[str, str] = field(default_factory=dict)
    # Delivery facts (api.md, "Live vendor events, do-not-contact and email verification").
    # The CRM's verification value (leads.models.EmailStatus); a bounce is "invalid". None:
    # the vendor says nothing.
    email_status: str | None = None
    # When the vendor checked the email; None: unknown (the importer uses the import's time).
    email_verified_at: datetime | None = None
    # Set (e.g. "unsubscribed") when the vendor says the person must not be contacted.
    do_not_contact_reason: str | None = None
    # The record holds only the summary a vendor's list page gives (Snov.io): the engine has
    # the client fill the details (ProviderClient.fill_details) when the summary is new or
    # changed since the last import.
    needs_details: bool = False
    # The digest to store for this record instead of computing it (the engine sets the
    # summary's digest, so an unchanged summary is recognised without fetching details).
    digest: str | None = None


def unreadable_record(item: Any) -> VendorRecord:
    """A record standing for a vendor item that cannot be imported (not an object, or no id):
    the importer fails it with a reason, so none vanishes unseen. Its email, if any, names it."""
    email = text(item.get("email")).lower() if isinstance(item, Mapping) else ""
    return VendorRecord(vendor_id="", email=email)


@dataclass
class Page:
    """One page of a vendor list, with the checkpoint that fetches the page after it."""

    records: list[VendorRecord]
    # None when this is the last page.
    next_checkpoint: dict[str, Any] | None
    # Total records in the list when the vendor says, else None.
    total: int | None = None
    # On the last page a client can read when the vendor cannot serve the rest of the list
    # (Hunter's offset cap): why, and how much was read. The run ends partial with it.
    stopped_short: str | None = None


@dataclass
class VendorList:
    id: str
    name: str
    count: int | None = None
    kind: str = "list"  # Instantly also offers "campaign"


@dataclass
class ExportLead:
    """A CRM lead as sent to a vendor."""

    lead_id: int
    email: str
    first_name: str
    last_name: str
    position: str
    phone: str
    linkedin_url: str
    company_name: str
    company_domain: str
    website: str
    country_code: str
    status: str
    notes: str
    custom_attributes: dict[str, str]
    # The vendor id already linked to this lead, if any.
    vendor_id: str | None = None
    # For a linked lead: the ``exported`` of its last export outcome (None: never exported
    # through this integration, e.g. linked by an import). Clients send only what changed.
    last_exported: dict[str, Any] | None = None


@dataclass
class ExportOutcome:
    """What happened to one exported lead."""

    lead_id: int
    ok: bool
    vendor_id: str | None = None
    created: bool = False  # a new vendor record, as opposed to one updated or already there
    detail: str = ""
    # Not sent: nothing changed since the last export (counted unchanged).
    unchanged: bool = False
    # Not taken by the vendor, and not an error (counted skipped).
    skipped: bool = False
    # What is now at the vendor for this lead, in the client's own terms: stored on the link
    # and handed back as ExportLead.last_exported on the next export.
    exported: dict[str, Any] | None = None


class ProviderClient(Protocol):
    """What the sync engine needs from each vendor client."""

    provider: str
    # How many leads one export_batch call should receive.
    export_batch_size: int

    def check(self) -> None:
        """Raise AuthError (or another ProviderError) unless the credentials work."""

    def lists(self) -> list[VendorList]: ...

    def fetch_page(self, list_id: str | None, checkpoint: dict[str, Any] | None) -> Page:
        """The page at ``checkpoint`` (None = the first page) of the list (None = all leads)."""
        ...

    def export_batch(self, target: dict[str, Any], leads: list[ExportLead]) -> list[ExportOutcome]:
        """Send leads to ``target`` ({"list_id": ...} or {"campaign_id": ...}).

        Per-record problems come back as outcomes with ok=False; an error that stops the
        whole call (auth, rate limit, outage) is raised.
        """
        ...


class DetailedProviderClient(ProviderClient, Protocol):
    """A client whose list pages carry summaries (``VendorRecord.needs_details``)."""

    # How many records one fill_details call should receive: the engine writes each chunk in
    # its own transaction, so a slow detail endpoint still shows progress.
    details_chunk: int

    def fill_details(self, records: list[VendorRecord]) -> None:
        """Fill the records in place from the vendor's detail endpoint; a record whose details
        are gone stays as it was. Auth, quota, rate limit and outages raise as usual."""
        ...
