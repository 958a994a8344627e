"""Instantly API V2 client: lead lists and campaigns, leads in pages, bulk export.

Identifiers. Lead lists and campaigns are both containers of leads in Instantly. ``lists()``
returns lead lists with their plain UUID as ``VendorList.id`` and campaigns with the id
``"campaign:<uuid>"`` (and ``kind="campaign"``), so that one string is enough to say which
container ``fetch_page`` reads and ``export_batch`` writes. ``export_batch`` accepts a target of
``{"list_id": <uuid>}``, ``{"campaign_id": <uuid>}``, or either key holding a
``"campaign:<uuid>"`` id.

Custom variables. Instantly keeps them flat (string, number, boolean or null). On import each
becomes a string custom attribute (booleans as ``"true"``/``"false"``, numbers as written,
nulls skipped); a nested value, which Instantly should never send, is JSON-encoded compactly.
The core lead fields (``first_name``, ``last_name``, ``company_name``, ``job_title``,
``phone``, ``website``, ``personalization``) travel on the lead itself, as Instantly's own SDK
describes bulk add (vendors.md); Instantly has no LinkedIn field, so export sends it as the
custom variable ``linkedin_url``. Import still reads ``job_title``/``jobTitle`` custom variables
that earlier versions of this client wrote.

Export. New leads go in batches through ``POST /leads/add``. A lead already linked to an
Instantly lead is not added again: when its CRM fields changed since its last export, the
changed ones are sent with ``PATCH /leads/{id}``; when it is in another list or campaign than
the one chosen (imported from list A, exported to list B), ``POST /leads/move`` moves it there;
when nothing changed it is not sent at all. Each outcome carries ``exported``: the fields sent
and the container, which the engine hands back next time to tell what changed.

Delivery facts. Lead ``status`` -1 is a bounce (``email_status`` invalid) and -2 an
unsubscribe (do-not-contact).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import requests

from integrations.http import (
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

logger = logging.getLogger(__name__)

CAMPAIGN_PREFIX = "campaign:"
PAGE_SIZE = 100  # the most /leads/list, /lead-lists and /campaigns return at once
BULK_ADD_MAX = 1000  # the most /leads/add takes at once
# Guards a vendor bug (a cursor that never ends) from turning into an endless loop.
MAX_LIST_PAGES = 1000

# lt_interest_status → the pipeline status it proves. Values not here (the SDK's -4 "No
# show", workspace-defined ones) say nothing: the engagement counts decide.
INTEREST_STATUS: dict[int, str] = {
    0: "contacted",  # Out of office: an email reached them
    1: "qualified",  # Interested
    2: "qualified",  # Meeting booked
    3: "qualified",  # Meeting completed
    4: "converted",  # Closed (won)
    -1: "lost",  # Not interested
    -2: "lost",  # Wrong person
    -3: "lost",  # Lost
}
# The CRM pipeline pushed back to Instantly on export.
INTEREST_VALUE_FOR_STATUS: dict[str, int] = {"qualified": 1, "converted": 4, "lost": -3}

# Lead status (delivery, read-only) values that are facts the CRM keeps (vendors.md).
STATUS_BOUNCED, STATUS_UNSUBSCRIBED = -1, -2
# The lead fields PATCH /leads/{id} and bulk add take directly (Instantly's SDK models).
CORE_FIELDS = (
    "first_name", "last_name", "company_name", "job_title", "phone", "website", "personalization",
)  # fmt: skip
# Custom variables that carry CRM fields Instantly has no field for (and, from earlier
# versions of this client, the job title).
POSITION_VARIABLES = ("job_title", "jobTitle")
LINKEDIN_VARIABLES = ("linkedin_url", "linkedinUrl", "linkedIn", "linkedin")
# Lead fields that must not be shadowed by a custom variable of the same name.
STANDARD_LEAD_FIELDS = frozenset({"email", *CORE_FIELDS})
# Only used to tell which unplaced leads Instantly most likely refused as invalid.
_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


# --- parsing at the boundary ----------------------------------------------------------------


def _count(value: Any) -> int | None:
    number = integer(value)
    return None if number is None else max(0, number)


def _host(value: Any) -> str:
    """The host of a domain or URL, lower-case and without ``www.``; "" when there is none."""
    text = clean_text(value)
    if not text:
        return ""
    if "://" not in text:
        text = "//" + text
    try:
        host = urlsplit(text).hostname or ""
    except ValueError:
        return ""
    host = host.strip(".").lower()
    return host.removeprefix("www.")


def _custom_attributes(payload: Any) -> dict[str, str]:
    attributes: dict[str, str] = {}
    if not isinstance(payload, dict):
        return attributes
    for key, value in payload.items():
        name = str(key).strip()
        text = attribute_value(value)
        if name and text is not None:
            attributes[name] = text
    return attributes


def _take_alias(attributes: dict[str, str], names: tuple[str, ...], current: str) -> str:
    """Fill ``current`` from the first custom variable named in ``names``, consuming it.

    A variable that disagrees with a value the lead already has stays a custom attribute.
    """
    for name in names:
        value = attributes.get(name)
        if value is None:
            continue
        if not current:
            current = value
        if value == current:
            del attributes[name]
    return current


def status_hint_for(interest: int | None, engaged: bool) -> str | None:
    """The pipeline status an Instantly lead proves, or None when it proves nothing."""
    hint = INTEREST_STATUS.get(interest) if interest is not None else None
    if hint is None and engaged:
        # Someone opened, clicked or replied: at least an email went out.
        hint = "contacted"
    return hint


def parse_lead(item: Any) -> VendorRecord | None:
    """One lead of /leads/list as a VendorRecord; None when it is not a lead (no id)."""
    if not isinstance(item, dict):
        return None
    vendor_id = clean_text(item.get("id"))
    if not vendor_id:
        return None
    website = clean_text(item.get("website"))
    attributes = _custom_attributes(item.get("payload"))
    personalization = clean_text(item.get("personalization"))
    if personalization:
        attributes["personalization"] = personalization
    position = _take_alias(attributes, POSITION_VARIABLES, clean_text(item.get("job_title")))
    linkedin_url = _take_alias(attributes, LINKEDIN_VARIABLES, "")

    signals: dict[str, Any] = {}
    for signal, field_name in (
        ("opens", "email_open_count"),
        ("replies", "email_reply_count"),
        ("clicks", "email_click_count"),
    ):
        count = _count(item.get(field_name))
        if count is not None:
            signals[signal] = count
    interest = integer(item.get("lt_interest_status"))
    if interest is not None:
        signals["interest"] = interest
    engaged = any(signals.get(name, 0) > 0 for name in ("opens", "replies", "clicks"))

    status = integer(item.get("status"))
    return VendorRecord(
        email_status="invalid" if status == STATUS_BOUNCED else None,
        do_not_contact_reason=(
            "unsubscribed (Instantly)" if status == STATUS_UNSUBSCRIBED else None
        ),
        vendor_id=vendor_id,
        email=clean_text(item.get("email")).lower(),
        first_name=clean_text(item.get("first_name")),
        last_name=clean_text(item.get("last_name")),
        position=position,
        phone=clean_text(item.get("phone")),
        linkedin_url=linkedin_url,
        company_name=clean_text(item.get("company_name")),
        company_domain=_host(item.get("company_domain")) or _host(website),
        website=website,
        status_hint=status_hint_for(interest, engaged),
        signals=signals,
        custom_attributes=attributes,
    )


def _container(list_id: str) -> tuple[str, str]:
    """``"campaign:<uuid>"`` → ("campaign", uuid); any other id → ("list", id)."""
    if list_id.startswith(CAMPAIGN_PREFIX):
        return "campaign", list_id[len(CAMPAIGN_PREFIX) :]
    return "list", list_id


# --- the client -----------------------------------------------------------------------------


class InstantlyClient(HttpClient):
    provider = "instantly"
    export_batch_size = BULK_ADD_MAX

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str,
        limiter: Limiter | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
    ) -> None:
        super().__init__(base_url, limiter=limiter, timeout=timeout)
        self._api_key = api_key

    def __repr__(self) -> str:
        return f"<InstantlyClient {self.base_url}>"

    def auth_headers(self) -> dict[str, str]:
        # Reference: https://developer.instantly.ai/getting-started/getting-started
        return {"Authorization": f"Bearer {self._api_key}"}

    # --- errors -----------------------------------------------------------------------------

    def _redact(self, message: str) -> str:
        # A vendor that echoes the request back must not put the key into our logs.
        if self._api_key and self._api_key in message:
            message = message.replace(self._api_key, "[api key]")
        return message

    @staticmethod
    def vendor_message(body: Any) -> str:
        """Instantly says ``{"statusCode", "error", "message"}`` or just ``{"error": "..."}``."""
        if not isinstance(body, dict):
            return ""
        message = body.get("message")
        if isinstance(message, list):  # validation errors sometimes come as a list
            message = "; ".join(str(part) for part in message if part)
        error = body.get("error")
        parts = [part for part in (message, error) if isinstance(part, str) and part.strip()]
        if not parts:
            return HttpClient.error_message(body)
        # "message" is the specific one; "error" alone is often just the status phrase.
        return parts[0].strip()[:300]

    def error_for(self, status: int, body: Any, response: requests.Response) -> ProviderError:
        detail = self._redact(self.vendor_message(body) or response.reason or f"HTTP {status}")
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 401:
            return AuthError(f"Instantly refused the API key ({detail})", status=status)
        if status == 403:
            return AuthError(
                "the Instantly API key lacks a scope this needs; create a key with the "
                f"leads, lead lists and campaigns scopes ({detail})",
                status=status,
            )
        if status == 402:
            return QuotaExceeded(f"Instantly plan limit reached ({detail})", status=status)
        if status == 429:
            return RateLimited(
                f"Instantly rate limit ({detail})", status=status, retry_after=retry_after
            )
        if status == 404:
            return NotFound(f"instantly: {detail}", status=status)
        if status >= 500 or status == 408:
            return TransientError(f"instantly: {detail}", status=status, retry_after=retry_after)
        return BadRequest(f"instantly: {detail}", status=status)

    def _object(self, body: Any) -> dict[str, Any]:
        """A 2xx body that must be a JSON object; anything else is a garbled answer."""
        if not isinstance(body, dict):
            raise TransientError(f"{self.provider} sent an unexpected answer (not an object)")
        return body

    def _items(self, answer: dict[str, Any]) -> list[Any]:
        """The leads array of a /leads/list answer. Without one the answer is garbled: taken
        for an empty page it would end an import as a success with nothing read."""
        items = answer.get("items")
        if not isinstance(items, list):
            items = answer.get("leads")  # the seed's name for the same array
        if not isinstance(items, list):
            raise TransientError(
                f"{self.provider} sent an unexpected answer for the leads list (no items array)"
            )
        return items

    # --- reading ----------------------------------------------------------------------------

    def check(self) -> None:
        # Reference: https://developer.instantly.ai/api-reference/leadlist/list-lead-list
        self._object(self.request("GET", "/lead-lists", params={"limit": 1}))

    def workspace_id(self) -> str:
        """The id of the workspace this key belongs to (one unthrottled call: it names the
        account whose rate limit the limiter then shares)."""
        limiter, self.limiter = self.limiter, None
        try:
            # Reference: https://developer.instantly.ai/api-reference/workspace/get-current-workspace
            body = self._object(self.request("GET", "/workspaces/current"))
        finally:
            self.limiter = limiter
        workspace = clean_text(body.get("id"))
        if not workspace:
            raise TransientError("instantly sent no workspace id")
        return workspace

    def _paged_get(self, path: str) -> Iterator[dict[str, Any]]:
        """Every item of a GET endpoint paged with ``limit``/``starting_after``."""
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_LIST_PAGES):
            params: dict[str, Any] = {"limit": PAGE_SIZE}
            if cursor:
                params["starting_after"] = cursor
            body = self._object(self.request("GET", path, params=params))
            items = body.get("items")
            if not isinstance(items, list):
                # The seed's tool listing names the arrays after the resource.
                items = body.get("lead_lists") or body.get("campaigns") or []
            items = items if isinstance(items, list) else []
            yield from (item for item in items if isinstance(item, dict))
            cursor = clean_text(body.get("next_starting_after")) or None
            if not items or cursor is None or cursor in seen:
                return
            seen.add(cursor)

    def lists(self) -> list[VendorList]:
        found: list[VendorList] = []
        # Reference: https://developer.instantly.ai/api-reference/leadlist/list-lead-list
        for item in self._paged_get("/lead-lists"):
            list_id = clean_text(item.get("id"))
            if list_id:
                found.append(VendorList(id=list_id, name=clean_text(item.get("name")) or list_id))
        # Reference: https://developer.instantly.ai/api-reference/campaign/list-campaign
        for item in self._paged_get("/campaigns"):
            campaign_id = clean_text(item.get("id"))
            if campaign_id:
                found.append(
                    VendorList(
                        id=CAMPAIGN_PREFIX + campaign_id,
                        name=clean_text(item.get("name")) or campaign_id,
                        kind="campaign",
                    )
                )
        return found

    def fetch_page(self, list_id: str | None, checkpoint: dict[str, Any] | None) -> Page:
        """One page of leads, by id ascending; ``list_id`` may be ``"campaign:<uuid>"``.

        The checkpoint is ``{"starting_after": "<cursor>"}``; a missing or malformed one
        starts from the first lead (import is idempotent, so starting over is safe).
        """
        body: dict[str, Any] = {"limit": PAGE_SIZE}
        saved = (checkpoint or {}).get("starting_after")
        cursor = saved.strip() if isinstance(saved, str) else ""
        if cursor:
            body["starting_after"] = cursor
        if list_id:
            kind, container_id = _container(list_id)
            body["campaign" if kind == "campaign" else "list_id"] = container_id
        # Reference: https://developer.instantly.ai/api-reference/lead/list-leads
        answer = self._object(self.request("POST", "/leads/list", json=body))
        items = self._items(answer)
        # A lead that cannot be read still counts: the importer records it as a failed record
        # without an id, so none vanishes unseen.
        records = [parse_lead(item) or unreadable_record(item) for item in items]
        next_cursor = clean_text(answer.get("next_starting_after"))
        if not items or not next_cursor or next_cursor == cursor:
            return Page(records=records, next_checkpoint=None)
        return Page(records=records, next_checkpoint={"starting_after": next_cursor})

    def _find_in_container(self, kind: str, container_id: str, emails: list[str]) -> dict[str, str]:
        """email → lead id for those of ``emails`` already in the list or campaign."""
        found: dict[str, str] = {}
        for start in range(0, len(emails), PAGE_SIZE):
            chunk = emails[start : start + PAGE_SIZE]
            cursor = ""
            for _ in range(MAX_LIST_PAGES):
                body: dict[str, Any] = {"limit": PAGE_SIZE, "contacts": chunk}
                body["campaign" if kind == "campaign" else "list_id"] = container_id
                if cursor:
                    body["starting_after"] = cursor
                # Reference: https://developer.instantly.ai/api-reference/lead/list-leads
                answer = self._object(self.request("POST", "/leads/list", json=body))
                items = self._items(answer)
                for item in items:
                    record = parse_lead(item)
                    if record is not None and record.email:
                        found.setdefault(record.email, record.vendor_id)
                next_cursor = clean_text(answer.get("next_starting_after"))
                if not items or not next_cursor or next_cursor == cursor:
                    break
                cursor = next_cursor
        return found

    # --- writing ----------------------------------------------------------------------------

    @staticmethod
    def _export_target(target: dict[str, Any]) -> tuple[str, str]:
        """("list"|"campaign", uuid) from ``{"list_id": ...}`` or ``{"campaign_id": ...}``."""
        list_id = clean_text(target.get("list_id"))
        campaign_id = clean_text(target.get("campaign_id"))
        if bool(list_id) == bool(campaign_id):
            raise BadRequest("instantly: export needs exactly one of list_id or campaign_id")
        if campaign_id:
            return "campaign", campaign_id.removeprefix(CAMPAIGN_PREFIX)
        return _container(list_id)

    @staticmethod
    def lead_fields(lead: ExportLead) -> dict[str, Any]:
        """The lead's fields as Instantly takes them, only those with a value (an empty CRM
        field never wipes what Instantly holds)."""
        attributes = {
            str(key).strip(): clean_text(value)
            for key, value in (lead.custom_attributes or {}).items()
            if str(key).strip()
        }
        fields: dict[str, Any] = {}
        for name, value in (
            ("first_name", lead.first_name),
            ("last_name", lead.last_name),
            ("company_name", lead.company_name),
            ("job_title", lead.position),
            ("phone", lead.phone),
            ("website", lead.website or lead.company_domain),
            ("personalization", attributes.pop("personalization", "")),
        ):
            text = clean_text(value)
            if text:
                fields[name] = text
        variables = {
            key: value
            for key, value in attributes.items()
            if value and key not in STANDARD_LEAD_FIELDS and key not in POSITION_VARIABLES
        }
        if clean_text(lead.linkedin_url) and not any(
            name in variables for name in LINKEDIN_VARIABLES
        ):
            variables["linkedin_url"] = clean_text(lead.linkedin_url)
        if variables:
            fields["custom_variables"] = variables
        return fields

    @classmethod
    def lead_payload(cls, lead: ExportLead, email: str) -> dict[str, Any]:
        """One lead of /leads/add."""
        return {"email": email, **cls.lead_fields(lead)}

    def export_batch(self, target: dict[str, Any], leads: list[ExportLead]) -> list[ExportOutcome]:
        kind, container_id = self._export_target(target)
        container = f"{kind}:{container_id}"
        linked = [lead for lead in leads if clean_text(lead.vendor_id)]
        by_lead: dict[int, ExportOutcome] = {}
        gone: list[ExportLead] = []
        if linked:
            for outcome in self._update_linked(kind, container_id, linked):
                if outcome is None:
                    continue
                by_lead[outcome.lead_id] = outcome
            gone = [lead for lead in linked if lead.lead_id not in by_lead]
        fresh = [lead for lead in leads if not clean_text(lead.vendor_id)] + [
            # A linked lead deleted at Instantly since: added again as a new lead.
            ExportLead(**{**vars(lead), "vendor_id": None, "last_exported": None})
            for lead in gone
        ]
        for start in range(0, len(fresh), BULK_ADD_MAX):
            for outcome in self._export_chunk(
                kind, container_id, fresh[start : start + BULK_ADD_MAX]
            ):
                by_lead[outcome.lead_id] = outcome
        by_id = {lead.lead_id: lead for lead in leads}
        for outcome in by_lead.values():
            if outcome.ok and outcome.exported is None and not outcome.unchanged:
                lead = by_id[outcome.lead_id]
                outcome.exported = {
                    "container": container,
                    "fields": self.lead_fields(lead),
                    "interest": INTEREST_VALUE_FOR_STATUS.get(lead.status),
                }
        return [by_lead[lead.lead_id] for lead in leads]

    def _update_linked(
        self, kind: str, container_id: str, leads: list[ExportLead]
    ) -> list[ExportOutcome | None]:
        """Outcomes for leads already linked to an Instantly lead: changed fields PATCHed,
        leads elsewhere moved into the target, unchanged ones not sent. None for a lead
        Instantly no longer has (the caller adds it again)."""
        container = f"{kind}:{container_id}"
        outcomes: list[ExportOutcome | None] = []
        to_move: list[str] = []
        interest: list[tuple[ExportLead, str, ExportOutcome]] = []
        for lead in leads:
            vendor_id = clean_text(lead.vendor_id)
            fields = self.lead_fields(lead)
            last = lead.last_exported if isinstance(lead.last_exported, dict) else {}
            last_fields = last.get("fields") if isinstance(last.get("fields"), dict) else None
            if last_fields is None:
                changed = fields  # never exported from here: send everything once
            else:
                changed = {k: v for k, v in fields.items() if last_fields.get(k) != v}
            move = last.get("container") != container
            value = INTEREST_VALUE_FOR_STATUS.get(lead.status)
            push = value is not None and last.get("interest") != value
            if not changed and not move and not push:
                outcomes.append(
                    ExportOutcome(lead.lead_id, ok=True, vendor_id=vendor_id, unchanged=True)
                )
                continue
            try:
                if changed:
                    # Reference: https://developer.instantly.ai/api-reference/lead/patch-lead
                    self.request("PATCH", f"/leads/{vendor_id}", json=changed)
                elif move:
                    # The move is a background job that says nothing of ids it does not
                    # know: make sure the lead is still there before counting it moved.
                    # Reference: https://developer.instantly.ai/api-reference/lead/get-lead
                    self._object(self.request("GET", f"/leads/{vendor_id}"))
            except NotFound:
                outcomes.append(None)
                continue
            except BadRequest as exc:
                outcomes.append(ExportOutcome(lead.lead_id, ok=False, detail=exc.message))
                continue
            if move:
                to_move.append(vendor_id)
            outcome = ExportOutcome(
                lead.lead_id,
                ok=True,
                vendor_id=vendor_id,
                exported={
                    "container": container,
                    "fields": fields,
                    "interest": value if value is not None else last.get("interest"),
                },
            )
            email = clean_text(lead.email).lower()
            if push and email:
                interest.append((lead, email, outcome))
            outcomes.append(outcome)
        for start in range(0, len(to_move), BULK_ADD_MAX):
            target_key = "to_campaign_id" if kind == "campaign" else "to_list_id"
            body = {"ids": to_move[start : start + BULK_ADD_MAX], target_key: container_id}
            # Reference: https://developer.instantly.ai/api-reference/lead/move-leads-to-a-campaign-or-list
            self._object(self.request("POST", "/leads/move", json=body))
        self._push_interest(kind, container_id, interest, done="updated")
        return outcomes

    def _export_chunk(
        self, kind: str, container_id: str, leads: list[ExportLead]
    ) -> list[ExportOutcome]:
        outcomes: dict[int, ExportOutcome] = {}
        sent: list[tuple[int, ExportLead, str]] = []  # (position in leads, lead, email)
        for position, lead in enumerate(leads):
            email = clean_text(lead.email).lower()
            if not email:
                outcomes[position] = ExportOutcome(lead.lead_id, ok=False, detail="no email")
            else:
                sent.append((position, lead, email))
        if sent:
            container_key = "campaign_id" if kind == "campaign" else "list_id"
            body = {
                "leads": [self.lead_payload(lead, email) for _, lead, email in sent],
                container_key: container_id,
                # What makes a second export of the same leads duplicate nothing.
                "skip_if_in_campaign" if kind == "campaign" else "skip_if_in_list": True,
            }
            # Reference: https://developer.instantly.ai/api-reference/lead/add-leads-in-bulk-to-a-campaign-or-list
            summary = self._object(self.request("POST", "/leads/add", json=body))
            outcomes.update(self._place_outcomes(kind, container_id, sent, summary))
            self._push_interest(
                kind,
                container_id,
                [(lead, email, outcomes[position]) for position, lead, email in sent],
                done="added",
            )
        return [outcomes[position] for position in range(len(leads))]

    def _place_outcomes(
        self,
        kind: str,
        container_id: str,
        sent: list[tuple[int, ExportLead, str]],
        summary: dict[str, Any],
    ) -> dict[int, ExportOutcome]:
        """Outcomes for the sent leads from the /leads/add summary.

        Instantly names the leads it created (by index in the request) and only counts the
        ones it skipped as already there and the ones it refused as invalid. When the counts
        alone cannot say which lead is which, or a skipped lead's id is unknown, one look-up
        of the unplaced emails in the target settles it.
        """
        created: dict[int, str] = {}
        unclaimed_by_email: dict[str, list[int]] = {}
        for index, (_, _, email) in enumerate(sent):
            unclaimed_by_email.setdefault(email, []).append(index)
        entries = summary.get("created_leads")
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            lead_id = clean_text(entry.get("id"))
            position = integer(entry.get("index"))
            if position is None or not 0 <= position < len(sent) or position in created:
                # No usable index: match it by email to the first lead not yet placed.
                candidates = unclaimed_by_email.get(clean_text(entry.get("email")).lower(), [])
                position = next((i for i in candidates if i not in created), None)
            if lead_id and position is not None:
                created[position] = lead_id

        outcomes: dict[int, ExportOutcome] = {}
        id_by_email: dict[str, str] = {}
        unplaced: list[int] = []
        for index, (position, lead, email) in enumerate(sent):
            if index in created:
                id_by_email.setdefault(email, created[index])
                outcomes[position] = ExportOutcome(
                    lead.lead_id, ok=True, vendor_id=created[index], created=True
                )
            else:
                unplaced.append(index)
        if not unplaced:
            return outcomes

        skipped = _count(summary.get("skipped_count"))
        invalid = _count(summary.get("invalid_email_count")) or 0
        # Leads refused because their email or domain is on the workspace's blocklist.
        blocked = _count(summary.get("in_blocklist")) or 0

        def known_id(index: int) -> str | None:
            _, lead, email = sent[index]
            return clean_text(lead.vendor_id) or id_by_email.get(email)

        if invalid == len(unplaced) and not skipped and not blocked:
            for index in unplaced:
                position, lead, _ = sent[index]
                outcomes[position] = ExportOutcome(lead.lead_id, ok=False, detail="invalid email")
            return outcomes
        if (
            invalid == 0
            and not blocked
            and skipped in (None, len(unplaced))
            and all(map(known_id, unplaced))
        ):
            for index in unplaced:
                position, lead, _ = sent[index]
                outcomes[position] = ExportOutcome(lead.lead_id, ok=True, vendor_id=known_id(index))
            return outcomes

        emails = sorted({sent[index][2] for index in unplaced})
        present = self._find_in_container(kind, container_id, emails)
        missing = [index for index in unplaced if sent[index][2] not in present]
        for index in unplaced:
            position, lead, email = sent[index]
            if email in present:
                outcomes[position] = ExportOutcome(
                    lead.lead_id, ok=True, vendor_id=present[email] or known_id(index)
                )
            elif not _EMAIL_SHAPE.match(email) or (len(missing) <= invalid and not blocked):
                outcomes[position] = ExportOutcome(lead.lead_id, ok=False, detail="invalid email")
            elif blocked and not invalid:
                outcomes[position] = ExportOutcome(
                    lead.lead_id, ok=False, detail="on the Instantly workspace's blocklist"
                )
            else:
                outcomes[position] = ExportOutcome(
                    lead.lead_id,
                    ok=False,
                    detail="Instantly did not add this lead (invalid or blocklisted email)",
                )
        return outcomes

    def _push_interest(
        self,
        kind: str,
        container_id: str,
        leads: list[tuple[ExportLead, str, ExportOutcome]],
        *,
        done: str,
    ) -> None:
        """Tell Instantly the pipeline status of the exported leads (lead, email, outcome)
        that have one to tell; ``done`` names what already happened to them, for a failure."""
        container_key = "campaign_id" if kind == "campaign" else "list_id"
        for lead, email, outcome in leads:
            value = INTEREST_VALUE_FOR_STATUS.get(lead.status)
            if value is None or not outcome.ok:
                continue
            body = {"lead_email": email, "interest_value": value, container_key: container_id}
            try:
                # Reference: https://developer.instantly.ai/api-reference/lead/update-the-interest-status-of-a-lead
                self.request("POST", "/leads/update-interest-status", json=body)
            except BadRequest as exc:
                # This lead only; auth, quota, rate limit and outages stop the batch.
                outcome.ok = False
                outcome.detail = f"{done}, but its interest status was not set: {exc.message}"
