"""Client for Hunter's Leads API v2.

Import pages through ``GET /leads`` by ``offset``; export upserts each lead by email with
``PUT /leads``. Everything Hunter sends is parsed here into ``VendorRecord``s, so the sync
engine never sees Hunter's field names.

Decisions worth knowing:

* Auth goes in the ``X-API-KEY`` header only; Hunter also accepts an ``api_key`` query
  parameter, which would put the key in every proxy and server log.
* Hunter's ``offset`` cannot exceed 100,000, so an import reads at most the 100,100 newest
  leads of a list (the page at offset 100,000 is the last one reachable); the checkpoint
  ends there instead of asking for an offset Hunter refuses.
* Leads come newest first, so leads created while an import pages push older ones down: a
  page may repeat a lead already seen (harmless: the engine matches it by its Hunter id).
* ``sending_status`` is the furthest stage an email reached. ``sent`` means no open, click or
  reply yet; ``opened`` an open; ``clicked`` an open and a click; ``replied`` an open and a
  reply (whether they clicked is unknown, so ``clicks`` is left out). Other statuses
  (pending, error, bounced, unsubscribed) say nothing about engagement and give no signal.
* Custom attribute values are strings: numbers and booleans are stringified (``true`` /
  ``false``), lists and objects are JSON-encoded compactly, ``null`` and empty strings are
  skipped (Hunter sends them for attributes a lead has no value for).
* Export sends only non-empty fields, so a field empty in the CRM never wipes the value
  Hunter holds.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from integrations.http import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    AuthError,
    BadRequest,
    HttpClient,
    Limiter,
    NotFound,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    TransientError,
    parse_retry_after,
)
from integrations.parsing import attribute_value, integer
from integrations.parsing import text as clean_text
from integrations.records import (
    ExportLead,
    ExportOutcome,
    Page,
    VendorList,
    VendorRecord,
    unreadable_record,
)

PAGE_SIZE = 100  # Hunter allows 1000, but its own tooling pages by 100; pages stay small.
LISTS_PAGE_SIZE = 100  # /leads_lists caps limit at 100.
MAX_OFFSET = 100_000  # Hunter refuses larger offsets on /leads and /leads_lists.

# Top-level lead keys with a meaning of their own; any other key is a custom attribute,
# because Hunter returns custom attribute values as extra top-level keys named by slug.
KNOWN_LEAD_FIELDS = frozenset(
    {
        "id",
        "email",
        "first_name",
        "last_name",
        "position",
        "company",
        "company_industry",
        "company_size",
        "confidence_score",
        "website",
        "country_code",
        "linkedin_url",
        "phone_number",
        "twitter",
        "notes",
        "source",
        "sync_status",
        "sending_status",
        "verification",
        "leads_list",
        "company_type",
        "created_at",
        "updated_at",
        "last_activity_at",
        "last_contacted_at",
        "custom_attributes",
    }
)

VERIFICATION_STATUSES = frozenset(
    {"valid", "accept_all", "webmail", "unknown", "invalid", "disposable", "pending"}
)
CONTACTED_SENDING_STATUSES = frozenset({"sent", "opened", "clicked", "replied"})
# What each sending_status says about engagement (see the module docstring).
ENGAGEMENT_BY_SENDING_STATUS: dict[str, dict[str, int]] = {
    "sent": {"opens": 0, "clicks": 0, "replies": 0},
    "opened": {"opens": 1, "clicks": 0, "replies": 0},
    "clicked": {"opens": 1, "clicks": 1, "replies": 0},
    "replied": {"opens": 1, "replies": 1},
}
# Error ids of a 403 that mean the key is refused, as opposed to Hunter's 403 rate limit.
AUTH_ERROR_MARKERS = ("authentication", "unauthorized", "forbidden_api_key", "invalid_api_key")
# Words of a 429 that say the plan's monthly usage is spent (Hunter's docs call 429 "usage
# limit reached"): waiting for Retry-After would retry for hours, so the run stops at once.
USAGE_LIMIT_PATTERN = re.compile(r"usage|quota|monthly|month|plan|credit", re.IGNORECASE)
AUTH_MESSAGE = (
    "Hunter refused the API key: enter a valid key (Hunter → API) in the integration settings"
)
QUOTA_MESSAGE = "Hunter's quota for this account is used up (HTTP 402): upgrade or wait for it"
MONTHLY_QUOTA_MESSAGE = (
    "Hunter's monthly quota is used up: the import stops until the quota renews or the plan "
    "is upgraded"
)
REFUSED_OR_RATE_MESSAGE = (
    "Hunter refused the key or the rate limit (HTTP 403, repeatedly): check the API key in "
    "the integration settings, then start the run again"
)
# Delivery facts of ``sending_status`` (vendors.md, "Delivery status, unsubscribes and bounces").
BOUNCED, UNSUBSCRIBED = "bounced", "unsubscribed"
# Hunter's verification statuses that are verdicts; "pending" says nothing yet.
VERDICTS = frozenset({"valid", "accept_all", "webmail", "unknown", "invalid", "disposable"})


# --- defensive parsing helpers --------------------------------------------------------------


def _host(website: str) -> str:
    """The host of a website (``https://www.acme.com/x`` → ``acme.com``); "" when none."""
    if not website:
        return ""
    candidate = website if "//" in website else f"//{website}"
    try:
        host = urlsplit(candidate).hostname or ""
    except ValueError:
        return ""
    host = host.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return host if "." in host else ""


def _vendor_id(value: Any) -> str:
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return ""


def _email(value: Any) -> str:
    """The address as text. A list or object where the address belongs is kept as its JSON,
    so the importer refuses it as an invalid email (a failed record that says why) rather
    than importing the person as if they had no email."""
    if isinstance(value, list | dict):
        return attribute_value(value) or ""
    return clean_text(value).lower()


def parse_lead(item: Any) -> VendorRecord | None:
    """One Hunter lead as a ``VendorRecord``; None when it has no usable id."""
    if not isinstance(item, Mapping):
        return None
    vendor_id = _vendor_id(item.get("id"))
    if not vendor_id:
        return None
    website = clean_text(item.get("website"))

    signals: dict[str, Any] = {}
    confidence = integer(item.get("confidence_score"))
    if confidence is not None:
        signals["confidence"] = min(100, max(0, confidence))
    verification = item.get("verification")
    email_status: str | None = None
    verified_at: datetime | None = None
    if isinstance(verification, Mapping):
        status = clean_text(verification.get("status")).lower()
        if status in VERIFICATION_STATUSES:
            signals["verification"] = status
        if status in VERDICTS:
            email_status = status
            verified_at = _moment(verification.get("date"))
    sending_status = clean_text(item.get("sending_status")).lower()
    do_not_contact_reason = None
    if sending_status == BOUNCED:
        # A bounce outweighs an earlier "valid": the address does not take mail.
        email_status, verified_at = "invalid", _moment(item.get("last_activity_at"))
    elif sending_status == UNSUBSCRIBED:
        do_not_contact_reason = "unsubscribed (Hunter)"
    signals.update(ENGAGEMENT_BY_SENDING_STATUS.get(sending_status, {}))

    custom: dict[str, str] = {}
    for key, value in item.items():
        if key in KNOWN_LEAD_FIELDS:
            continue
        as_text = attribute_value(value)
        if as_text is not None:
            custom[str(key)] = as_text
    nested = item.get("custom_attributes")
    if isinstance(nested, Mapping):
        for key, value in nested.items():
            as_text = attribute_value(value)
            # The top-level copy is what Hunter actually sends; the object only fills gaps.
            if as_text is not None:
                custom.setdefault(str(key), as_text)
    twitter = clean_text(item.get("twitter"))
    if twitter:
        custom["twitter"] = twitter

    return VendorRecord(
        vendor_id=vendor_id,
        email=_email(item.get("email")),
        first_name=clean_text(item.get("first_name")),
        last_name=clean_text(item.get("last_name")),
        position=clean_text(item.get("position")),
        phone=clean_text(item.get("phone_number")),
        linkedin_url=clean_text(item.get("linkedin_url")),
        notes=clean_text(item.get("notes")),
        company_name=clean_text(item.get("company")),
        company_domain=_host(website),
        website=website,
        industry=clean_text(item.get("company_industry")),
        size=clean_text(item.get("company_size")),
        country_code=clean_text(item.get("country_code")).upper(),
        status_hint="contacted" if sending_status in CONTACTED_SENDING_STATUSES else None,
        signals=signals,
        custom_attributes=custom,
        email_status=email_status,
        email_verified_at=verified_at,
        do_not_contact_reason=do_not_contact_reason,
    )


def _moment(value: Any) -> datetime | None:
    """An aware datetime from Hunter's ISO 8601 text (a date alone is midnight UTC)."""
    text = clean_text(value)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cut_short(read: int, total: int | None) -> str:
    of_total = f" of {total:,}" if total is not None else ""
    return (
        f"Hunter serves only the newest {MAX_OFFSET + PAGE_SIZE:,} leads of a list through its "
        f"API (its offset stops at {MAX_OFFSET:,}): read {read:,}{of_total}. Split the list in "
        "Hunter to import the rest."
    )


def _data(body: Any) -> Any:
    return body.get("data") if isinstance(body, Mapping) else None


def _first_error(body: Any) -> tuple[str, str]:
    """(id, details) of the first entry of Hunter's ``errors`` array, "" when absent."""
    if not isinstance(body, Mapping):
        return "", ""
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        first = errors[0]
        return clean_text(first.get("id")).lower(), clean_text(first.get("details"))
    if isinstance(errors, str):
        return "", errors.strip()
    return "", ""


# --- the client -----------------------------------------------------------------------------


class HunterClient(HttpClient):
    provider = "hunter"
    export_batch_size = 50

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str,
        limiter: Limiter | None = None,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(base_url, limiter=limiter, timeout=timeout, session=session)
        self._api_key = api_key
        # The status of the last answer, per thread: export needs 201 vs 200, and the shared
        # request() returns only the body.
        self._last = threading.local()

    def __repr__(self) -> str:  # never show the key
        return f"HunterClient(base_url={self.base_url!r})"

    def auth_headers(self) -> dict[str, str]:
        return {"X-API-KEY": self._api_key}

    # --- error mapping ----------------------------------------------------------------------

    def handle(self, response: requests.Response) -> Any:
        self._last.status = response.status_code
        return super().handle(response)

    def error_for(self, status: int, body: Any, response: requests.Response) -> ProviderError:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return self._error(status, body, retry_after, response.reason)

    def check_body(self, body: Any, status: int) -> None:
        # A success status whose body is only Hunter's error envelope is still an error.
        if isinstance(body, Mapping) and "data" not in body and body.get("errors"):
            errors = body["errors"]
            code = None
            if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
                code = integer(errors[0].get("code"))
            raise self._error(code if code and code >= 400 else 400, body, None, "")

    def _error(
        self, status: int, body: Any, retry_after: float | None, reason: str | None
    ) -> ProviderError:
        error_id, details = _first_error(body)
        message = self._scrub(details or error_id or reason or f"HTTP {status}")
        text = f"{self.provider}: {message[:300]}"
        # Reference: https://hunter.io/api-documentation/v2#errors (401 no valid key, 403
        # rate limit reached, 429 usage limit reached); Hunter's own client code (vendors.md)
        # reads 402 as the quota and honours Retry-After on 429.
        if status == 401 or error_id == "authentication_failed":
            return AuthError(f"{AUTH_MESSAGE} ({message[:200]})", status=status)
        if status == 402:
            return QuotaExceeded(f"{QUOTA_MESSAGE} ({message[:200]})", status=status)
        if status == 429:
            if USAGE_LIMIT_PATTERN.search(f"{error_id} {details}"):
                return QuotaExceeded(f"{MONTHLY_QUOTA_MESSAGE} ({message[:200]})", status=status)
            return RateLimited(text, status=status, retry_after=retry_after)
        if status == 403:
            # Hunter documents 403 as "rate limit reached"; only an auth error id means the
            # key itself is refused. A 403 that outlasts the retries may be either.
            if any(marker in error_id for marker in AUTH_ERROR_MARKERS):
                return AuthError(f"{AUTH_MESSAGE} ({message[:200]})", status=status)
            return RateLimited(
                text,
                status=status,
                retry_after=retry_after,
                give_up_message=REFUSED_OR_RATE_MESSAGE,
            )
        if status == 404:
            return NotFound(text, status=status)
        if status >= 500 or status == 408:
            return TransientError(text, status=status, retry_after=retry_after)
        return BadRequest(text, status=status)

    def _scrub(self, message: str) -> str:
        """Vendors sometimes echo the request; the key must never reach a message or log."""
        if self._api_key and self._api_key in message:
            message = message.replace(self._api_key, "[api key]")
        return message

    # --- ProviderClient ---------------------------------------------------------------------

    def check(self) -> None:
        # Reference: https://hunter.io/api-documentation/v2#list-leads-lists
        self.request("GET", "/leads_lists", params={"limit": 1})

    def lists(self) -> list[VendorList]:
        found: list[VendorList] = []
        seen: set[str] = set()
        offset = 0
        while offset <= MAX_OFFSET:
            # Reference: https://hunter.io/api-documentation/v2#list-leads-lists
            body = self.request(
                "GET", "/leads_lists", params={"limit": LISTS_PAGE_SIZE, "offset": offset}
            )
            data = _data(body)
            items = data.get("leads_lists") if isinstance(data, Mapping) else None
            if not isinstance(items, list) or not items:
                break
            for item in items:
                if not isinstance(item, Mapping):
                    continue
                list_id = _vendor_id(item.get("id"))
                if not list_id or list_id in seen:
                    continue
                seen.add(list_id)
                found.append(
                    VendorList(
                        id=list_id,
                        name=clean_text(item.get("name")) or f"List {list_id}",
                        count=integer(item.get("leads_count")),
                    )
                )
            offset += len(items)
            meta = body.get("meta") if isinstance(body, Mapping) else None
            total = integer(meta.get("total")) if isinstance(meta, Mapping) else None
            if len(items) < LISTS_PAGE_SIZE or (total is not None and offset >= total):
                break
        return found

    def fetch_page(self, list_id: str | None, checkpoint: dict[str, Any] | None) -> Page:
        offset = integer((checkpoint or {}).get("offset")) or 0
        offset = max(0, offset)
        if offset > MAX_OFFSET:
            # Beyond what Hunter can page to (see the module docstring).
            return Page(records=[], next_checkpoint=None, stopped_short=_cut_short(offset, None))
        params: dict[str, Any] = {"limit": PAGE_SIZE, "offset": offset}
        if list_id:
            params["leads_list_id"] = list_id
        # Reference: https://hunter.io/api-documentation/v2#list-leads
        body = self.request("GET", "/leads", params=params)
        data = _data(body)
        items = data.get("leads") if isinstance(data, Mapping) else None
        if not isinstance(items, list):
            # Not Hunter's envelope: taken for an empty page, it would end the import as a
            # success with nothing read. A garbled answer, like one that is not JSON.
            raise TransientError(
                "hunter sent an unexpected answer for the leads list (no data.leads array)"
            )
        # A lead that cannot be read still counts: without an id it is recorded as a failed
        # record (the importer names it), never silently dropped.
        records = [parse_lead(item) or unreadable_record(item) for item in items]
        meta = body.get("meta") if isinstance(body, Mapping) else None
        total = integer(meta.get("total")) if isinstance(meta, Mapping) else None

        next_offset = offset + len(items)
        done = (
            len(items) < PAGE_SIZE
            or (total is not None and next_offset >= total)
            or next_offset > MAX_OFFSET
        )
        stopped_short = None
        more = total is None or next_offset < total
        if next_offset > MAX_OFFSET and len(items) >= PAGE_SIZE and more:
            stopped_short = _cut_short(next_offset, total)
        return Page(
            records=records,
            next_checkpoint=None if done else {"offset": next_offset},
            total=total,
            stopped_short=stopped_short,
        )

    def export_batch(self, target: dict[str, Any], leads: list[ExportLead]) -> list[ExportOutcome]:
        list_id = target.get("list_id") if isinstance(target, Mapping) else None
        return [self._export_one(lead, list_id) for lead in leads]

    # --- export -----------------------------------------------------------------------------

    def _export_one(self, lead: ExportLead, list_id: Any) -> ExportOutcome:
        email = (lead.email or "").strip().lower()
        payload = self._lead_payload(lead, list_id)
        try:
            if email:
                payload["email"] = email
                # Upserts by email: exporting the same lead twice updates, never duplicates.
                # Reference: https://hunter.io/api-documentation/v2#upsert-lead
                body = self.request("PUT", "/leads", json=payload)
            elif lead.vendor_id:
                # A lead linked to a Hunter lead without email (Hunter allows names only).
                # Reference: https://hunter.io/api-documentation/v2#update-lead
                body = self.request("PUT", f"/leads/{lead.vendor_id}", json=payload)
            else:
                return ExportOutcome(lead_id=lead.lead_id, ok=False, detail="no email")
        except NotFound as exc:
            if email:
                # PUT /leads itself missing means a wrong API URL: that stops the whole run.
                raise
            return ExportOutcome(
                lead_id=lead.lead_id,
                ok=False,
                vendor_id=lead.vendor_id,
                detail=f"the linked Hunter lead no longer exists ({exc.message})",
            )
        except BadRequest as exc:
            return ExportOutcome(lead_id=lead.lead_id, ok=False, detail=exc.message)

        data = _data(body)
        vendor_id = _vendor_id(data.get("id")) if isinstance(data, Mapping) else ""
        return ExportOutcome(
            lead_id=lead.lead_id,
            ok=True,
            vendor_id=vendor_id or lead.vendor_id,
            created=getattr(self._last, "status", None) == 201,
        )

    @staticmethod
    def _lead_payload(lead: ExportLead, list_id: Any) -> dict[str, Any]:
        fields = {
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "position": lead.position,
            "company": lead.company_name,
            "website": lead.website or lead.company_domain,
            "country_code": lead.country_code,
            "linkedin_url": lead.linkedin_url,
            "phone_number": lead.phone,
            "notes": lead.notes,
        }
        payload: dict[str, Any] = {
            key: value.strip()
            for key, value in fields.items()
            if isinstance(value, str) and value.strip()
        }
        custom = {
            str(key): str(value)
            for key, value in (lead.custom_attributes or {}).items()
            if value is not None and str(value) != ""
        }
        # Import keeps Hunter's twitter field as a custom attribute; send it back as the field.
        twitter = custom.pop("twitter", "").strip()
        if twitter:
            payload["twitter"] = twitter
        if custom:
            payload["custom_attributes"] = custom
        if list_id not in (None, ""):
            list_number = integer(list_id)
            payload["leads_list_id"] = list_number if list_number is not None else list_id
        return payload
