"""Client for Snov.io's REST API (v1 prospect endpoints): import and export of prospects.

Auth is OAuth 2.0 client credentials: the API user id and secret buy a Bearer token that lives
an hour. Import pages through ``POST /v1/prospect-list`` of one prospect list; export adds each
lead with ``POST /v1/add-prospect-to-list``. Everything Snov.io sends is parsed here into
``VendorRecord``s, so the sync engine never sees Snov.io's field names.

Decisions worth knowing:

* The real API speaks camelCase on the paths below, not the snake_case of the OpenAPI seed
  (``docs/vendors.md``). Requests are form-encoded, as Snov.io's own examples send them; the
  export's array and map fields use PHP-style keys (``phones[]``, ``socialLinks[linkedIn]``,
  ``customFields[<name>]``).
* The token is cached in a ``TokenStore`` (the sync engine persists it, encrypted, on the
  integration row) and renewed when less than a minute remains, so a call never goes out with
  a token about to lapse. A 401 on a call renews the token once and repeats the call; a second
  401 means the credentials themselves are refused.
* Errors come as ``{"success": false, "errors": "<text>"}`` with various statuses, 200
  included: a 200 with ``success: false`` is an error too. Text about credits, balance or a
  limit means the account is out of credits (``QuotaExceeded``), except a rate limit.
* Snov.io gives a prospect several emails with a ``probability`` each: the record takes the
  most probable (the first of equals); the others are kept as the ``other_emails`` attribute.
  A prospect without any email is still returned (the engine counts it as skipped).
* A prospect list entry holds only id, names and emails. Company, position, LinkedIn, country,
  industry and size come from ``POST /v1/get-prospect-by-id``, one request a prospect: with
  ``full_profiles`` (the default) list records are marked ``needs_details`` and the engine has
  ``fill_details`` fetch the profiles of new or changed entries, ``details_chunk`` at a time.
* ``country`` is a country name at Snov.io: it is turned into the ISO code with ``pycountry``
  (a name it does not know stays the ``country`` custom attribute); export sends the English
  name back.
* Export sends ``customFields[<label>]`` only for the custom fields the account has
  (``GET /v1/prospect-custom-fields``, read once per client), matched to CRM attribute keys
  case-insensitively or through the integration's ``custom_field_map``; Snov.io refuses
  others.
* Custom attribute values are strings: numbers and booleans are stringified (``true`` /
  ``false``), lists and objects are JSON-encoded compactly, ``null`` and empty strings are
  skipped. The prospect's own ``customFields`` win over the extras this client adds.
* Snov.io answers an add with ``added`` / ``updated`` but no prospect id the import would
  recognise, so export outcomes carry no vendor id: the import links the lead by its email.
* The same email already in the list answers 422 "Prospect with same email already exists in
  your list": for an idempotent export that is success (``created=False``). Export sends
  ``updateContact=1`` so Snov.io refreshes the prospect rather than refusing it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import pycountry

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

PAGE_SIZE = 100  # perPage: Snov.io's maximum for /v1/prospect-list.
TOKEN_RENEW_MARGIN = 60.0  # seconds: renew a token with less than this left.
DEFAULT_TOKEN_LIFETIME = 3600  # seconds, when the token answer leaves expires_in out.
OAUTH_PATH = "/v1/oauth/access_token"
DUPLICATE_MARKER = "already exists"

# Words of an error text that say the account ran out of credits or hit a plan limit.
QUOTA_PATTERN = re.compile(r"credit|balance|limit", re.IGNORECASE)
# Words that say "slow down" rather than "out of credits" (checked first).
RATE_LIMIT_PATTERN = re.compile(r"rate.?limit|too many requests", re.IGNORECASE)

AUTH_REFUSED_MESSAGE = (
    "Snov.io refused the API user ID and secret: enter them again in the integration settings"
)
REFUSED_AFTER_RENEWAL_MESSAGE = (
    "Snov.io refused the API credentials even with a fresh access token: check the API user "
    "ID and secret in the integration settings"
)


# --- token cache ----------------------------------------------------------------------------


class TokenStore(Protocol):
    """Where the access token lives between calls, runs and processes."""

    def load(self) -> tuple[str, float] | None:
        """The token and its expiry as a UNIX timestamp, or None when there is none."""
        ...

    def save(self, token: str, expires_at: float) -> None: ...


class MemoryTokenStore:
    """Keeps the token for the life of the client (the default, and enough for tests)."""

    def __init__(self) -> None:
        self._token: tuple[str, float] | None = None

    def load(self) -> tuple[str, float] | None:
        return self._token

    def save(self, token: str, expires_at: float) -> None:
        self._token = (token, expires_at)


# --- defensive parsing helpers --------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A float from an int, a float or a numeric string; None otherwise (bools, NaN, junk)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        try:
            number = float(value)
        except (ValueError, OverflowError):
            return None
        return number if number == number and abs(number) != float("inf") else None
    return None


def _bool(value: Any) -> bool | None:
    """True/False from a bool, 0/1 or "true"/"false"; None when Snov.io does not know."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"true", "1", "false", "0"}:
        return value.strip().lower() in {"true", "1"}
    return None


def _error_text(body: Any) -> str:
    """The readable part of a Snov.io error body: ``errors`` may be a string, list or map."""
    if not isinstance(body, dict):
        return ""
    for key in ("errors", "error_description", "message", "error"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:300]
        if isinstance(value, list):
            parts = [clean_text(item) for item in value if clean_text(item)]
            if parts:
                return "; ".join(parts)[:300]
        if isinstance(value, dict):
            parts = []
            for field_name, problem in value.items():
                problems = problem if isinstance(problem, list) else [problem]
                text = ", ".join(clean_text(item) for item in problems if clean_text(item))
                parts.append(f"{field_name}: {text}" if text else str(field_name))
            if parts:
                return "; ".join(parts)[:300]
    return ""


def _best_email(emails: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """The most probable email entry (first of equals) and the other addresses."""
    if not isinstance(emails, list):
        return None, []
    entries: list[dict[str, Any]] = []
    for item in emails:
        # Plain strings have been seen in other Snov.io answers; treat them as entries.
        entry = {"email": item} if isinstance(item, str) else item
        if isinstance(entry, dict) and clean_text(entry.get("email")):
            entries.append(entry)
    if not entries:
        return None, []
    best = entries[0]
    best_probability = _number(best.get("probability"))
    for entry in entries[1:]:
        probability = _number(entry.get("probability"))
        if probability is not None and (best_probability is None or probability > best_probability):
            best, best_probability = entry, probability
    others = [clean_text(e["email"]).lower() for e in entries if e is not best]
    return best, others


def _social_links(social: Any) -> dict[str, str]:
    """``social`` as ``{type: link}``: Snov.io sends a map or a list of ``{"type", "link"}``."""
    links: dict[str, str] = {}
    if isinstance(social, dict):
        for kind, link in social.items():
            if clean_text(link):
                links[str(kind)] = clean_text(link)
    elif isinstance(social, list):
        for item in social:
            if isinstance(item, dict) and clean_text(item.get("link")):
                links[clean_text(item.get("type")) or "link"] = clean_text(item.get("link"))
    return links


def _phones(phones: Any) -> list[str]:
    if isinstance(phones, str | int):
        phones = [phones]
    if not isinstance(phones, list):
        return []
    numbers = []
    for item in phones:
        number = (
            clean_text(item.get("phone") or item.get("number"))
            if isinstance(item, dict)
            else clean_text(item)
        )
        if number:
            numbers.append(number)
    return numbers


def _custom_fields(fields: Any) -> dict[str, str]:
    """``customFields`` as name → string: a map, or a list of ``{"name"|"label", "value"}``."""
    pairs: list[tuple[Any, Any]] = []
    if isinstance(fields, dict):
        pairs = list(fields.items())
    elif isinstance(fields, list):
        for item in fields:
            if isinstance(item, dict):
                pairs.append((item.get("name") or item.get("label"), item.get("value")))
    attributes = {}
    for name, value in pairs:
        text = attribute_value(value)
        if clean_text(name) and text is not None:
            attributes[clean_text(name)] = text
    return attributes


def _first_job(prospect: dict[str, Any]) -> dict[str, Any]:
    """The profile's current job (``currentJob[0]``; some answers say ``currentJobs``)."""
    for key in ("currentJob", "currentJobs"):
        jobs = prospect.get(key)
        if isinstance(jobs, list) and jobs and isinstance(jobs[0], dict):
            return jobs[0]
    return {}


def country_code(name: str) -> str:
    """The ISO 3166 alpha-2 code of a country name (or code); "" when unknown."""
    text = name.strip()
    if not text:
        return ""
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return ""


def country_name(code: str) -> str:
    """The English name Snov.io's country list uses for an ISO code; "" when unknown.

    pycountry's ``common_name`` where it has one (``Vietnam``, ``South Korea``, ``Iran``,
    ``Taiwan``, ``Bolivia``): the short name people and Snov.io's pickers use, rather than
    the ISO long form (``Viet Nam``, ``Korea, Republic of``)."""
    country = pycountry.countries.get(alpha_2=code.strip().upper()) if code.strip() else None
    if country is None:
        return ""
    return getattr(country, "common_name", None) or country.name


def parse_prospect(prospect: Any) -> VendorRecord | None:
    """One Snov.io prospect as a ``VendorRecord``; None when it has no id to link it by."""
    if not isinstance(prospect, dict):
        return None
    vendor_id = clean_text(prospect.get("id"))
    if not vendor_id:
        return None
    job = _first_job(prospect)

    def field(key: str, job_key: str | None = None) -> str:
        return clean_text(prospect.get(key)) or (clean_text(job.get(job_key or key)) if job else "")

    best, other_emails = _best_email(prospect.get("emails"))
    email = (
        clean_text(best.get("email")).lower() if best else clean_text(prospect.get("email")).lower()
    )

    first_name, last_name = (
        clean_text(prospect.get("firstName")),
        clean_text(prospect.get("lastName")),
    )
    if not first_name or not last_name:
        split_first, _, split_last = clean_text(prospect.get("name")).partition(" ")
        first_name = first_name or split_first.strip()
        last_name = last_name or split_last.strip()

    signals: dict[str, Any] = {}
    if best is not None:
        probability = _number(best.get("probability"))
        if probability is not None:
            signals["probability"] = int(min(max(probability, 0), 100))
        verified = _bool(best.get("isVerified"))
        if verified is not None:
            signals["verified"] = verified

    social = _social_links(prospect.get("social"))
    social.update(_social_links(prospect.get("socialLinks")))
    linkedin_url = next((link for kind, link in social.items() if kind.lower() == "linkedin"), "")

    phones = _phones(prospect.get("phones"))

    country = field("country")
    code = country_code(country)

    extras: dict[str, Any] = {
        "other_emails": ", ".join(other_emails) or None,
        "phones": ", ".join(phones) if len(phones) > 1 else None,
        "country": country if not code else None,
        "locality": field("locality"),
    }
    for kind, link in social.items():
        if kind.lower() != "linkedin":
            extras[f"social_{kind.lower()}"] = link
    attributes = {k: v for k, v in ((k, attribute_value(v)) for k, v in extras.items()) if v}
    attributes.update(_custom_fields(prospect.get("customFields")))

    company_site = field("companySite", "site")
    return VendorRecord(
        vendor_id=vendor_id,
        email=email,
        first_name=first_name,
        last_name=last_name,
        position=field("position"),
        phone=phones[0] if phones else "",
        linkedin_url=linkedin_url,
        company_name=field("companyName"),
        company_domain=company_site,
        website=company_site,
        industry=field("industry", "industry"),
        size=field("companySize", "size"),
        country_code=code,
        status_hint=None,  # The prospect list says nothing about outreach.
        signals=signals,
        custom_attributes=attributes,
    )


# --- the client -----------------------------------------------------------------------------


class SnovioClient(HttpClient):
    provider = "snovio"
    export_batch_size = 25  # one request per lead: keep a batch short enough to checkpoint.
    # Profiles fetched (one request each, 60 a minute) before the engine writes them: about
    # ten seconds of work per chunk, so the run's progress moves and a stop loses little.
    details_chunk = 10

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        base_url: str,
        limiter: Limiter | None = None,
        token_store: TokenStore | None = None,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        full_profiles: bool = True,
        custom_field_map: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(base_url, limiter=limiter, timeout=timeout)
        self.full_profiles = full_profiles
        # CRM attribute key (lower-case) → the Snov.io custom field label it goes to.
        self.custom_field_map = {
            str(key).strip().lower(): str(label).strip()
            for key, label in (custom_field_map or {}).items()
            if str(key).strip() and str(label).strip()
        }
        self._account_fields: dict[str, str] | None = None
        self._client_id = client_id
        self._client_secret = client_secret
        self.token_store: TokenStore = token_store or MemoryTokenStore()
        # Wall-clock time, because expiries are stored as UNIX timestamps across processes.
        self.clock: Callable[[], float] = time.time
        self._access_token: str | None = None
        # Worker threads may share a client: one renewal at a time.
        self._token_lock = threading.Lock()

    # --- token ------------------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._access_token}"} if self._access_token else {}

    def _usable_stored_token(self) -> str | None:
        try:
            stored = self.token_store.load()
            if stored is None:
                return None
            token, expires_at = stored
            if (
                isinstance(token, str)
                and token
                and float(expires_at) - self.clock() > (TOKEN_RENEW_MARGIN)
            ):
                return token
        except (TypeError, ValueError):  # A store holding something else: renew.
            return None
        return None

    def _ensure_token(self) -> None:
        with self._token_lock:
            token = self._usable_stored_token()
            self._access_token = token if token is not None else self._fetch_token()

    def _renew_token(self, refused: str | None) -> None:
        """Replace the token ``refused`` by Snov.io, unless another thread already did."""
        with self._token_lock:
            token = self._usable_stored_token()
            if token is not None and token != refused:
                self._access_token = token
                return
            self._access_token = self._fetch_token()

    def _fetch_token(self) -> str:
        # Reference: https://snov.io/api#Authentication
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        try:
            body = super().request("POST", OAUTH_PATH, data=form, auth=False)
        except NotFound:
            raise
        except (AuthError, BadRequest) as exc:
            # 400/401/403 here all mean "these credentials buy no token"; the vendor's
            # text (invalid_client, ...) would not help a rep more than this.
            raise AuthError(AUTH_REFUSED_MESSAGE, status=exc.status) from None
        token = clean_text(body.get("access_token")) if isinstance(body, dict) else ""
        if not token:
            raise TransientError("snovio sent no access token")
        lifetime = _number(body.get("expires_in"))
        if lifetime is None:
            lifetime = DEFAULT_TOKEN_LIFETIME
        expires_at = self.clock() + lifetime
        self.token_store.save(token, expires_at)
        return token

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> Any:
        """A call with a valid token: renewed when near expiry, and once more on a 401."""
        options: dict[str, Any] = {"params": params, "json": json, "data": data, "headers": headers}
        if not auth:
            return super().request(method, path, auth=False, **options)
        self._ensure_token()
        used = self._access_token
        try:
            return super().request(method, path, **options)
        except AuthError as exc:
            if exc.status != 401:
                raise
        # The token expired early or was revoked: one fresh token, one more try.
        self._renew_token(used)
        try:
            return super().request(method, path, **options)
        except AuthError as exc:
            if exc.status != 401:
                raise
            raise AuthError(REFUSED_AFTER_RENEWAL_MESSAGE, status=401) from None

    # --- errors -----------------------------------------------------------------------------

    def _error(
        self, status: int, body: Any, reason: str = "", retry_after: float | None = None
    ) -> ProviderError:
        message = _error_text(body) or reason or f"HTTP {status}"
        text = f"{self.provider}: {message}"
        if status == 429 or RATE_LIMIT_PATTERN.search(message):
            return RateLimited(text, status=status, retry_after=retry_after)
        if status >= 500 or status == 408:
            return TransientError(text, status=status, retry_after=retry_after)
        if status == 401:
            return AuthError(text, status=status)
        if status == 402 or QUOTA_PATTERN.search(message):
            return QuotaExceeded(text, status=status)
        if status == 403:
            return AuthError(text, status=status)
        if status == 404:
            return NotFound(text, status=status)
        return BadRequest(text, status=status)

    def error_for(self, status, body, response) -> ProviderError:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return self._error(status, body, response.reason or "", retry_after)

    def check_body(self, body: Any, status: int) -> None:
        # Snov.io also reports failures inside a 200: {"success": false, "errors": "..."}.
        if isinstance(body, dict) and body.get("success") is False:
            raise self._error(status, body)

    # --- endpoints --------------------------------------------------------------------------

    def check(self) -> None:
        """A fresh token, then the cheapest authenticated call there is."""
        self._ensure_token()
        self.lists()

    def lists(self) -> list[VendorList]:
        # Reference: https://snov.io/api#GetUserLists
        body = self.request("GET", "/v1/get-user-lists")
        items = body.get("data") if isinstance(body, dict) else body
        result = []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or _bool(item.get("isDeleted")):
                continue
            list_id = clean_text(item.get("id"))
            if not list_id:
                continue
            result.append(
                VendorList(
                    id=list_id,
                    name=clean_text(item.get("name")) or f"List {list_id}",
                    count=integer(item.get("contacts")),
                )
            )
        return result

    def fetch_page(self, list_id: str | None, checkpoint: dict[str, Any] | None) -> Page:
        if not list_id:
            raise BadRequest("Snov.io imports one prospect list at a time: choose a list")
        page = integer((checkpoint or {}).get("page")) or 1
        page = max(page, 1)
        # Reference: https://snov.io/api#ViewProspectsInList
        body = self.request(
            "POST",
            "/v1/prospect-list",
            data={"listId": list_id, "page": page, "perPage": PAGE_SIZE},
        )
        if not isinstance(body, dict):
            raise TransientError("snovio sent an unexpected answer for the prospect list")
        prospects = body.get("prospects")
        if not isinstance(prospects, list):
            # Taken for an empty page, it would end the import as a success with nothing read.
            raise TransientError(
                "snovio sent an unexpected answer for the prospect list (no prospects array)"
            )
        # A prospect that cannot be read still counts: the importer records it as a failed
        # record without an id, so none vanishes unseen.
        records = [parse_prospect(item) or unreadable_record(item) for item in prospects]
        if self.full_profiles:
            for record in records:
                # A prospect without an email cannot become a lead: its profile is not
                # worth one of the minute's 60 requests.
                record.needs_details = bool(record.vendor_id and record.email)
        list_info = body.get("list")
        total = integer(list_info.get("contacts")) if isinstance(list_info, dict) else None
        # No cursor: a short page (counted before dropping unusable prospects) is the last.
        next_checkpoint = {"page": page + 1} if len(prospects) >= PAGE_SIZE else None
        return Page(records=records, next_checkpoint=next_checkpoint, total=total)

    def fill_details(self, records: list[VendorRecord]) -> None:
        """Each record's full profile, from ``get-prospect-by-id``; a prospect Snov.io no
        longer has keeps what its list entry said."""
        for record in records:
            try:
                # Reference: https://snov.io/api#GetProspectByID
                body = self.request("POST", "/v1/get-prospect-by-id", data={"id": record.vendor_id})
            except NotFound:
                continue
            except BadRequest as exc:
                if "not found" in exc.message.lower():
                    continue
                raise
            profile = body.get("data") if isinstance(body, dict) else None
            if isinstance(profile, list):  # some answers wrap the profile in a list
                profile = profile[0] if profile and isinstance(profile[0], dict) else None
            if not isinstance(profile, dict):
                continue
            detailed = parse_prospect({"id": record.vendor_id, **profile})
            if detailed is None:
                continue
            _merge_profile(record, detailed)

    def account_fields(self) -> dict[str, str]:
        """The account's custom fields, lower-case label → label, read once per client."""
        if self._account_fields is None:
            # Reference: https://snov.io/api#GetCustomFields
            body = self.request("GET", "/v1/prospect-custom-fields")
            items = body.get("data") if isinstance(body, dict) else body
            fields: dict[str, str] = {}
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, dict):
                    continue
                label = clean_text(item.get("label"))
                if not label:
                    # "key" is "customFields['Label']": the label is inside the quotes.
                    match = re.search(r"\['(.+)'\]", clean_text(item.get("key")))
                    label = match[1] if match else ""
                if label:
                    fields[label.lower()] = label
            self._account_fields = fields
        return self._account_fields

    def export_batch(self, target: dict[str, Any], leads: list[ExportLead]) -> list[ExportOutcome]:
        list_id = clean_text(target.get("list_id"))
        if not list_id:
            raise BadRequest("Snov.io exports into a prospect list: choose a list")
        fields = self.account_fields()
        return [self._export_one(list_id, lead, fields) for lead in leads]

    def _export_one(self, list_id: str, lead: ExportLead, fields: dict[str, str]) -> ExportOutcome:
        email = (lead.email or "").strip().lower()
        if not email:
            return ExportOutcome(lead_id=lead.lead_id, ok=False, detail="no email")
        try:
            # Reference: https://snov.io/api#AddProspectToList
            body = self.request(
                "POST",
                "/v1/add-prospect-to-list",
                data=prospect_form(list_id, lead, fields, self.custom_field_map),
            )
        except NotFound:
            raise  # A missing list fails every lead alike: stop the batch.
        except BadRequest as exc:
            if DUPLICATE_MARKER in exc.message.lower():
                return ExportOutcome(lead_id=lead.lead_id, ok=True, created=False)
            return ExportOutcome(
                lead_id=lead.lead_id, ok=False, detail=f"Snov.io refused it: {exc.message}"
            )
        added = isinstance(body, dict) and _bool(body.get("added")) is True
        return ExportOutcome(lead_id=lead.lead_id, ok=True, created=added)


def _merge_profile(record: VendorRecord, detailed: VendorRecord) -> None:
    """Fill the list record from the profile: the list entry's names and emails stay."""
    for name in ("first_name", "last_name", "position", "phone", "linkedin_url", "company_name",
                 "company_domain", "website", "industry", "size", "country_code"):  # fmt: skip
        if not getattr(record, name) and getattr(detailed, name):
            setattr(record, name, getattr(detailed, name))
    for key, value in detailed.custom_attributes.items():
        record.custom_attributes.setdefault(key, value)


def prospect_form(
    list_id: str,
    lead: ExportLead,
    account_fields: Mapping[str, str] | None = None,
    field_map: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The add-prospect-to-list form for one lead; empty CRM fields are left out so they never
    wipe what Snov.io holds. Custom attributes go only to the account's own custom fields
    (``account_fields``: lower-case label → label), by key or through ``field_map``."""
    website = lead.website or (f"https://{lead.company_domain}" if lead.company_domain else "")
    if website and "://" not in website:
        website = f"https://{website}"
    full_name = f"{lead.first_name} {lead.last_name}".strip()
    form: dict[str, Any] = {
        "email": lead.email.strip().lower(),
        "listId": list_id,
        "firstName": lead.first_name,
        "lastName": lead.last_name,
        "fullName": full_name,
        "position": lead.position,
        "companyName": lead.company_name,
        "companySite": website,
        "country": country_name(lead.country_code),
        "socialLinks[linkedIn]": lead.linkedin_url,
        "updateContact": 1,
    }
    if lead.phone:
        form["phones[]"] = [lead.phone]
    known = account_fields or {}
    mapped = {key.lower(): label for key, label in (field_map or {}).items()}
    for name, value in (lead.custom_attributes or {}).items():
        if not name or value in (None, ""):
            continue
        key = name.lower()
        # Mapped or not, the field must be one of the account's, spelled as the account does.
        label = known.get(mapped[key].lower()) if key in mapped else known.get(key)
        if label is None:
            continue  # not a field of this account: Snov.io would refuse the whole prospect
        # A bracket in the name would break the PHP-style key; such a field cannot be sent.
        if "[" not in label and "]" not in label:
            form[f"customFields[{label}]"] = str(value)
    return {key: value for key, value in form.items() if value not in (None, "")}
