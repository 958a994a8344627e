"""Typed objects at the boundary between vendor clients and the sync engine.

Each client parses its vendor's JSON into these, so the engine never sees a vendor's field
names, and builds its vendor's payloads from ``ExportLead``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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


@dataclass
class ExportOutcome:
    """What happened to one exported lead."""

    lead_id: int
    ok: bool
    vendor_id: str | None = None
    created: bool = False  # a new vendor record, as opposed to one updated or already there
    detail: str = ""


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
