"""A fake Hunter Leads API v2 on 127.0.0.1, close enough to the real one to test against.

What it does like Hunter:

* auth by API key (``X-API-KEY`` header, ``Authorization: Bearer`` or the ``api_key`` query
  parameter); a bad key answers 401 ``authentication_failed``;
* ``{"data": ..., "meta": ...}`` envelopes and ``{"errors": [{"id", "code", "details"}]}``;
* ``GET /leads`` newest first with ``limit`` (1-1000) and ``offset`` (0-100,000), a
  ``leads_list_id`` filter and ``meta.count/total/params``;
* ``GET|PUT|DELETE /leads/{id}``; ``PUT /leads`` upserts by email (201 created, 200 updated);
  ``POST /leads`` creates and answers 422 when the email is already there;
* ``GET|POST /leads_lists`` (limit 1-100, offset);
* custom attribute values returned as extra top-level keys named by slug (null when unset),
  as the live API does;
* a rate limit of 15/s and 500/min per key answering 429 with ``Retry-After`` (set
  ``rate_limit_status = 403`` to get Hunter's documented 403 instead).

Every store operation and every page is O(page): leads are kept in creation order per account
and per list, so ``seed(key, 100_000)`` and paging through it stay fast.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from integrations.tests.fakes.base import FakeVendor

MAX_LIMIT = 1000
MAX_OFFSET = 100_000
MAX_LISTS_LIMIT = 100

# Input fields a lead accepts and returns as they are (id, verification, leads_list and the
# timestamps are Hunter's own).
INPUT_FIELDS = (
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
)
# Hunter's own fields on every lead it returns (vendors.md "Lead fields", from Hunter's docs
# https://hunter.io/api-documentation/v2#list-leads): company_type and updated_at included,
# so a client that takes unknown top-level keys for custom attributes is caught.
OUTPUT_FIELDS = (
    *INPUT_FIELDS,
    "sync_status",
    "sending_status",
    "verification",
    "company_type",
    "created_at",
    "updated_at",
    "last_activity_at",
    "last_contacted_at",
)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# --- deterministic seed material --------------------------------------------------------------

FIRST_NAMES = (
    "Alice", "Bruno", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Inès", "Jonas",
    "Kavya", "Liam", "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tara",
)  # fmt: skip
LAST_NAMES = (
    "Martin", "Okafor", "Dubois", "Ivanov", "Schmidt", "Haddad", "Lee", "Tanaka", "Moreau",
    "Berg", "Patel", "Walsh", "Cohen", "Silva", "Novak", "García", "O'Brien", "Rossi",
)  # fmt: skip
# (company, website, industry, size, country)
COMPANIES = (
    ("Acme Corp", "https://www.acme.com", "Manufacturing", "201-500", "US"),
    ("Globex", "http://globex.io/about", "Software", "11-50", "GB"),
    ("Initech", "initech.co", "Information Technology", "51-200", "US"),
    ("Umbrella Labs", "https://umbrella-labs.de", "Biotechnology", "1001-5000", "DE"),
    ("Hooli", "https://hooli.xyz/", "Internet", "5001-10000", "US"),
    ("Soylent SA", "https://soylent.fr", "Food & Beverages", "11-50", "FR"),
    ("Wayne Enterprises", None, "Conglomerate", "10001+", "US"),
    ("Stark Industries", "https://stark.example", None, None, None),
)
POSITIONS = ("CEO", "CTO", "Head of Sales", "Marketing Manager", "Engineer", None)
SENDING_STATUSES = (
    None, "pending", "sent", "opened", "clicked", "replied", "bounced", "unsubscribed", "error",
)  # fmt: skip
VERIFICATION_STATUSES = (
    "valid", "accept_all", "webmail", "unknown", "invalid", "disposable", "pending",
)  # fmt: skip
COMPANY_TYPES = ("privately held", "public company", "non profit", None)
CUSTOM_SLUGS = ("favorite_color", "deal_size", "referral_source")
COLORS = ("teal", "orange", "violet", None)
SEED_EPOCH = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


class HunterError(Exception):
    """An error answer in Hunter's shape."""

    def __init__(self, status: int, error_id: str, details: str) -> None:
        super().__init__(details)
        self.status = status
        self.error_id = error_id
        self.details = details


@dataclass
class ErrorFault:
    status: int
    error_id: str
    details: str
    times: int
    path: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Account:
    api_key: str
    default_list_id: int
    # lead id → stored lead: public fields plus "_list" (list id) and "_custom" (slug → value).
    leads: dict[int, dict[str, Any]] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)  # creation order, oldest first
    by_email: dict[str, int] = field(default_factory=dict)
    lists: dict[int, str] = field(default_factory=dict)  # id → name
    list_order: dict[int, list[int]] = field(default_factory=dict)
    slugs: dict[str, None] = field(default_factory=dict)  # custom attributes, ordered
    seeded: int = 0


class FakeHunter(FakeVendor):
    base_path = "/v2"
    rate_limits = [(15, 1.0), (500, 60.0)]
    # Hunter documents 403 for "rate limit reached" and its client code sees 429.
    rate_limit_status = 429

    def __init__(self) -> None:
        super().__init__()
        self.accounts: dict[str, Account] = {}
        self.urls: list[str] = []  # every request's full URL, query included
        self.auth_methods: list[str] = []  # "header", "bearer", "query" or "none", per request
        self.writes: list[tuple[str, str, Any]] = []  # (method, path, JSON body) of writes
        self.error_faults: list[ErrorFault] = []
        self._store_lock = threading.RLock()
        self._in_flight = 0
        self._idle = threading.Condition()
        self._next_lead_id = 1001
        self._next_list_id = 11

    # --- set-up and inspection helpers ------------------------------------------------------

    def reset(self) -> None:
        """Forget every account, fault, counter and setting, so one running server can serve
        many tests (starting and stopping one costs about half a second).

        It first waits for requests still being answered (a "timeout" fault sleeps, then goes
        on to count against the rate limit), so none of them leaks into the next test."""
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=10)
        with self._lock, self._store_lock:
            self.accounts.clear()
            self.faults.clear()
            self.error_faults.clear()
            self.requests.clear()
            self.urls.clear()
            self.auth_methods.clear()
            self.writes.clear()
            self._hits.clear()
            self.violations = 0
            for name in ("rate_limits", "rate_limit_status", "timeout_sleep"):
                self.__dict__.pop(name, None)  # back to the class defaults

    def add_account(self, api_key: str) -> Account:
        with self._store_lock:
            list_id = self._new_list_id()
            account = Account(api_key=api_key, default_list_id=list_id)
            account.lists[list_id] = "My leads"
            account.list_order[list_id] = []
            self.accounts[api_key] = account
            return account

    def add_list(self, api_key: str, name: str) -> int:
        with self._store_lock:
            account = self.accounts[api_key]
            list_id = self._new_list_id()
            account.lists[list_id] = name
            account.list_order[list_id] = []
            return list_id

    def inject_error(
        self,
        status: int,
        error_id: str,
        details: str = "",
        *,
        times: int = 1,
        path: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` authenticated requests (optionally only paths containing
        ``path``) with a Hunter error such as ``(402, "quota_exceeded")``."""
        with self._lock:
            self.error_faults.append(
                ErrorFault(status, error_id, details or error_id, times, path, headers or {})
            )

    def use_up_monthly_quota(self, *, times: int = 1) -> None:
        """Answer like Hunter once the plan's monthly requests are spent: Hunter's docs list
        429 as "usage limit reached" (https://hunter.io/api-documentation/v2#errors), unlike
        its 403 "rate limit reached". The id and wording are this fake's, not quoted."""
        self.inject_error(
            429,
            "too_many_requests",
            "You have reached the monthly usage limit of your plan.",
            times=times,
        )

    def seed(
        self,
        api_key: str,
        n: int,
        *,
        list_id: int | None = None,
        with_custom: bool = True,
    ) -> list[int]:
        """Add ``n`` deterministic, realistic leads (oldest first) and return their ids.

        The mix: every 13th lead has no email (names only, as third-party tools create them);
        sending statuses, verification statuses and confidence scores cycle; companies come
        with websites in several shapes (or none); with ``with_custom`` the account has custom
        attributes whose values come back as extra top-level keys.
        """
        with self._store_lock:
            account = self.accounts[api_key]
            target = list_id if list_id is not None else account.default_list_id
            members = account.list_order[target]
            if with_custom:
                for slug in CUSTOM_SLUGS:
                    account.slugs.setdefault(slug, None)
            ids: list[int] = []
            for i in range(account.seeded, account.seeded + n):
                lead_id = self._next_lead_id
                self._next_lead_id += 1
                # Only the index is stored; the fields are generated when shown (O(1) here).
                account.leads[lead_id] = {"_seed": i, "_with_custom": with_custom, "_list": target}
                account.order.append(lead_id)
                members.append(lead_id)
                email = self._seed_email(i)
                if email:
                    account.by_email[email.lower()] = lead_id
                ids.append(lead_id)
            account.seeded += n
            return ids

    def add_raw_lead(self, api_key: str, raw: dict[str, Any], *, list_id: int | None = None) -> int:
        """Store a lead whose JSON is exactly ``raw`` (plus ``id``), odd values included."""
        with self._store_lock:
            account = self.accounts[api_key]
            target = list_id if list_id is not None else account.default_list_id
            lead_id = self._next_lead_id
            self._next_lead_id += 1
            account.leads[lead_id] = {"_raw": dict(raw), "_list": target, "_custom": {}}
            account.order.append(lead_id)
            account.list_order[target].append(lead_id)
            email = raw.get("email")
            if isinstance(email, str) and email:
                account.by_email[email.lower()] = lead_id
            return lead_id

    def leads(self, api_key: str, *, list_id: int | None = None) -> list[dict[str, Any]]:
        """Leads as the API shows them, newest first (for assertions)."""
        with self._store_lock:
            account = self.accounts[api_key]
            ids = account.order if list_id is None else account.list_order[list_id]
            return [self._render(account, lead_id) for lead_id in reversed(ids)]

    def lead(self, api_key: str, lead_id: int) -> dict[str, Any]:
        with self._store_lock:
            return self._render(self.accounts[api_key], lead_id)

    def lead_by_email(self, api_key: str, email: str) -> dict[str, Any] | None:
        with self._store_lock:
            account = self.accounts[api_key]
            lead_id = account.by_email.get(email.lower())
            return None if lead_id is None else self._render(account, lead_id)

    def count(self, api_key: str, *, list_id: int | None = None) -> int:
        account = self.accounts[api_key]
        return len(account.order if list_id is None else account.list_order[list_id])

    def wsgi(self, environ, start_response):
        with self._idle:
            self._in_flight += 1
        try:
            return super().wsgi(environ, start_response)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    # --- FakeVendor hooks -------------------------------------------------------------------

    def account_for(self, request: Request) -> str | None:
        self.urls.append(request.url)
        key, method = request.headers.get("X-API-KEY"), "header"
        if not key:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() == "bearer":
                key, method = token.strip(), "bearer"
        if not key:
            key, method = request.args.get("api_key"), "query"
        self.auth_methods.append(method if key else "none")
        return key if key and key in self.accounts else None

    def auth_error(self) -> Response:
        return self._error_response(
            HunterError(401, "authentication_failed", "No user found for the API key supplied")
        )

    def rate_limited(self) -> Response:
        return self._error_response(
            HunterError(
                self.rate_limit_status,
                "too_many_requests",
                "You have reached the rate limit for this endpoint.",
            ),
            headers={"Retry-After": str(self.retry_after_seconds)},
        )

    def server_error(self) -> Response:
        return self._error_response(
            HunterError(500, "internal_server_error", "Something went wrong on our side.")
        )

    def route(self, request: Request, account: str) -> Response:
        fault = self._take_error_fault(request.path)
        if fault is not None:
            return self._error_response(
                HunterError(fault.status, fault.error_id, fault.details), headers=fault.headers
            )
        path = request.path[len(self.base_path) :].rstrip("/")
        method = request.method
        try:
            with self._store_lock:
                owner = self.accounts[account]
                if path == "/leads":
                    if method == "GET":
                        return self._list_leads(owner, request)
                    if method == "PUT":
                        return self._upsert_lead(owner, self._body(request, path, method))
                    if method == "POST":
                        return self._create_lead(owner, self._body(request, path, method))
                elif path.startswith("/leads/"):
                    lead_id = self._lead_id(owner, path.removeprefix("/leads/"))
                    if method == "GET":
                        return self.json({"data": self._render(owner, lead_id)})
                    if method in ("PUT", "PATCH"):
                        body = self._body(request, path, method)
                        return self._update_lead(owner, lead_id, body)
                    if method == "DELETE":
                        self._delete_lead(owner, lead_id)
                        return Response(status=204)
                elif path == "/leads_lists":
                    if method == "GET":
                        return self._list_lists(owner, request)
                    if method == "POST":
                        return self._create_list(owner, self._body(request, path, method))
                elif path.startswith("/leads_lists/") and method == "GET":
                    list_id = _int_or_none(path.removeprefix("/leads_lists/"))
                    if list_id not in owner.lists:
                        raise HunterError(404, "not_found", "This leads list does not exist.")
                    return self.json({"data": self._list_json(owner, list_id)})
                raise HunterError(404, "not_found", "The requested route does not exist.")
        except HunterError as error:
            return self._error_response(error)

    # --- routes -----------------------------------------------------------------------------

    def _list_leads(self, account: Account, request: Request) -> Response:
        limit = _bounded(request.args.get("limit"), "limit", 20, 1, MAX_LIMIT)
        offset = _bounded(request.args.get("offset"), "offset", 0, 0, MAX_OFFSET)
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        ids = account.order
        raw_list = request.args.get("leads_list_id")
        if raw_list is not None:
            list_id = _int_or_none(raw_list)
            if list_id not in account.lists:
                raise HunterError(404, "not_found", "This leads list does not exist.")
            ids = account.list_order[list_id]
            params["leads_list_id"] = list_id
        email = request.args.get("email")
        if email:
            found = account.by_email.get(email.strip().lower())
            ids = [found] if found is not None and found in ids else []
            params["email"] = email
        # Newest first: the page is a reversed slice from the end, O(page).
        end = max(0, len(ids) - offset)
        start = max(0, end - limit)
        page = [self._render(account, lead_id) for lead_id in reversed(ids[start:end])]
        return self.json(
            {
                "data": {"leads": page},
                "meta": {"count": len(page), "total": len(ids), "params": params},
            }
        )

    def _upsert_lead(self, account: Account, body: dict[str, Any]) -> Response:
        fields = self._validate(account, body, require_email=True)
        existing = account.by_email.get(fields["email"])
        if existing is not None:
            self._apply(account, existing, fields)
            return self.json({"data": self._render(account, existing)}, 200)
        lead_id = self._insert(account, fields)
        return self.json({"data": self._render(account, lead_id)}, 201)

    def _create_lead(self, account: Account, body: dict[str, Any]) -> Response:
        fields = self._validate(account, body, require_email=False)
        email = fields.get("email")
        if email and email in account.by_email:
            raise HunterError(422, "duplicated_entry", "A lead with this email already exists.")
        lead_id = self._insert(account, fields)
        return self.json({"data": self._render(account, lead_id)}, 201)

    def _update_lead(self, account: Account, lead_id: int, body: dict[str, Any]) -> Response:
        fields = self._validate(account, body, require_email=False)
        email = fields.get("email")
        if email and account.by_email.get(email, lead_id) != lead_id:
            raise HunterError(422, "duplicated_entry", "A lead with this email already exists.")
        self._apply(account, lead_id, fields)
        return self.json({"data": self._render(account, lead_id)}, 200)

    def _list_lists(self, account: Account, request: Request) -> Response:
        limit = _bounded(request.args.get("limit"), "limit", 20, 1, MAX_LISTS_LIMIT)
        offset = _bounded(request.args.get("offset"), "offset", 0, 0, MAX_OFFSET)
        ids = list(account.lists)  # ascending ids; lists are few
        page = [self._list_json(account, list_id) for list_id in ids[offset : offset + limit]]
        return self.json(
            {
                "data": {"leads_lists": page},
                "meta": {"total": len(ids), "params": {"limit": limit, "offset": offset}},
            }
        )

    def _create_list(self, account: Account, body: dict[str, Any]) -> Response:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise HunterError(400, "wrong_params", "You must specify a name.")
        list_id = self._new_list_id()
        account.lists[list_id] = name.strip()
        account.list_order[list_id] = []
        return self.json({"data": self._list_json(account, list_id)}, 201)

    # --- store ------------------------------------------------------------------------------

    def _validate(
        self, account: Account, body: dict[str, Any], *, require_email: bool
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name in INPUT_FIELDS:
            if name not in body:
                continue
            value = body[name]
            if name == "confidence_score":
                if value is not None and (
                    isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100
                ):
                    raise HunterError(
                        400, "wrong_params", "confidence_score must be between 0 and 100."
                    )
            elif value is not None and not isinstance(value, str):
                raise HunterError(400, "wrong_params", f"{name} must be a string.")
            fields[name] = value
        email = fields.get("email")
        if isinstance(email, str):
            email = email.strip().lower()
            if not EMAIL_RE.match(email):
                raise HunterError(400, "wrong_params", "The email address is invalid.")
            fields["email"] = email
        elif require_email:
            raise HunterError(400, "wrong_params", "You must specify an email.")
        list_value = body.get("leads_list_id")
        if list_value is None and isinstance(body.get("leads_list_ids"), list):
            list_value = (body["leads_list_ids"] or [None])[0]
        if list_value is not None:
            list_id = _int_or_none(list_value)
            if list_id not in account.lists:
                raise HunterError(404, "not_found", "This leads list does not exist.")
            fields["_list"] = list_id
        custom = body.get("custom_attributes")
        if custom is not None:
            if not isinstance(custom, dict):
                raise HunterError(400, "wrong_params", "custom_attributes must be an object.")
            for slug, value in custom.items():
                if value is not None and not isinstance(value, str | int | float | bool):
                    raise HunterError(400, "wrong_params", f"Invalid value for {slug}.")
            fields["_custom"] = custom
        return fields

    def _insert(self, account: Account, fields: dict[str, Any]) -> int:
        lead_id = self._next_lead_id
        self._next_lead_id += 1
        now = _iso(datetime.now(UTC))
        lead: dict[str, Any] = dict.fromkeys(OUTPUT_FIELDS)
        lead.update(
            sync_status="pending",
            created_at=now,
            updated_at=now,
            verification={"status": None, "date": None},
            _list=account.default_list_id,
            _custom={},
        )
        account.leads[lead_id] = lead
        account.order.append(lead_id)
        account.list_order[account.default_list_id].append(lead_id)
        self._apply(account, lead_id, fields)
        return lead_id

    def _apply(self, account: Account, lead_id: int, fields: dict[str, Any]) -> None:
        lead = self._stored(account, lead_id)
        target = lead.get("_raw", lead)
        for name, value in fields.items():
            if name == "_list":
                if value != lead["_list"]:
                    # Moving between lists is rare; list.remove is O(N) but fine for a fake.
                    account.list_order[lead["_list"]].remove(lead_id)
                    account.list_order[value].append(lead_id)
                    lead["_list"] = value
            elif name == "_custom":
                for slug, raw in value.items():
                    account.slugs.setdefault(str(slug), None)
                    lead["_custom"][str(slug)] = None if raw is None else str(raw)
            elif name == "email":
                old = target.get("email")
                if isinstance(old, str) and account.by_email.get(old.lower()) == lead_id:
                    del account.by_email[old.lower()]
                target["email"] = value
                if value:
                    account.by_email[value] = lead_id
            else:
                target[name] = value

    def _delete_lead(self, account: Account, lead_id: int) -> None:
        lead = self._stored(account, lead_id)
        del account.leads[lead_id]
        account.order.remove(lead_id)
        account.list_order[lead["_list"]].remove(lead_id)
        email = lead.get("_raw", lead).get("email")
        if isinstance(email, str) and account.by_email.get(email.lower()) == lead_id:
            del account.by_email[email.lower()]

    def _render(self, account: Account, lead_id: int) -> dict[str, Any]:
        lead = account.leads[lead_id]
        list_id = lead["_list"]
        if "_raw" in lead:
            return {"id": lead_id, **lead["_raw"]}
        if "_seed" in lead:
            lead = self._seed_lead(lead["_seed"], lead["_with_custom"])
        out: dict[str, Any] = {"id": lead_id}
        for name in OUTPUT_FIELDS:
            out[name] = lead.get(name)
        out["leads_list"] = self._list_json(account, list_id)
        custom = lead["_custom"]
        for slug in account.slugs:
            out.setdefault(slug, custom.get(slug))
        return out

    @staticmethod
    def _list_json(account: Account, list_id: int) -> dict[str, Any]:
        return {
            "id": list_id,
            "name": account.lists[list_id],
            "leads_count": len(account.list_order[list_id]),
        }

    @staticmethod
    def _seed_email(i: int) -> str | None:
        if i % 13 == 5:  # names only, as third-party tools create them
            return None
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        last = LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]
        website = COMPANIES[i % len(COMPANIES)][1]
        host = website.split("//")[-1].split("/")[0].removeprefix("www.") if website else None
        email = f"{_ascii(first)}.{_ascii(last)}{i}@{host or 'gmail.com'}"
        if i % 10 == 3:  # people type addresses in mixed case; Hunter keeps them as given
            email = email.title()
        return email

    def _seed_lead(self, i: int, with_custom: bool) -> dict[str, Any]:
        """The fields of seeded lead number ``i``: a pure function, so seeding stores only i."""
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        last = LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]
        company, website, industry, size, country = COMPANIES[i % len(COMPANIES)]
        email = self._seed_email(i)
        sending = SENDING_STATUSES[i % len(SENDING_STATUSES)] if email else None
        created = SEED_EPOCH + timedelta(minutes=i)
        contacted = _iso(created + timedelta(days=1)) if sending not in (None, "pending") else None
        custom: dict[str, Any] = {}
        if with_custom:
            custom = {
                "favorite_color": COLORS[i % len(COLORS)],
                "deal_size": str((i % 9) * 1000) if i % 3 else None,
                "referral_source": "webinar" if i % 4 == 0 else None,
            }
        return {
            "email": email,
            "first_name": first,
            "last_name": last,
            "position": POSITIONS[i % len(POSITIONS)],
            "company": company,
            "company_industry": industry,
            "company_size": size,
            "confidence_score": (i * 37) % 101 if email else None,
            "website": website,
            "country_code": country,
            "linkedin_url": f"https://www.linkedin.com/in/{_ascii(first)}-{i}" if i % 3 else None,
            "phone_number": f"+1 555 {i % 10000:04d}" if i % 5 == 0 else None,
            "twitter": f"{_ascii(first)}{i}" if i % 7 == 0 else None,
            "notes": "Met at the trade fair" if i % 11 == 0 else None,
            "source": "Seed import",
            "sync_status": "success",
            "sending_status": sending,
            "verification": {
                "status": VERIFICATION_STATUSES[i % len(VERIFICATION_STATUSES)],
                "date": _iso(created),
            }
            if email
            else {"status": None, "date": None},
            "company_type": COMPANY_TYPES[i % len(COMPANY_TYPES)],
            "created_at": _iso(created),
            "updated_at": _iso(created + timedelta(hours=i % 48)),
            "last_activity_at": contacted,
            "last_contacted_at": contacted,
            "_custom": custom,
        }

    def _stored(self, account: Account, lead_id: int) -> dict[str, Any]:
        """The lead's stored fields, generating a seeded lead's fields on first change."""
        lead = account.leads[lead_id]
        if "_seed" in lead:
            lead.update(self._seed_lead(lead.pop("_seed"), lead.pop("_with_custom")))
        return lead

    # --- plumbing ---------------------------------------------------------------------------

    def _new_list_id(self) -> int:
        list_id = self._next_list_id
        self._next_list_id += 1
        return list_id

    def _take_error_fault(self, path: str) -> ErrorFault | None:
        with self._lock:
            for fault in self.error_faults:
                if fault.path is not None and fault.path not in path:
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self.error_faults.remove(fault)
                return fault
        return None

    def _body(self, request: Request, path: str, method: str) -> dict[str, Any]:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise HunterError(400, "wrong_params", "The request body must be a JSON object.")
        self.writes.append((method, path, body))
        return body

    @staticmethod
    def _lead_id(account: Account, text: str) -> int:
        lead_id = _int_or_none(text)
        if lead_id is None or lead_id not in account.leads:
            raise HunterError(404, "not_found", "This lead does not exist.")
        return lead_id

    def _error_response(
        self, error: HunterError, headers: dict[str, str] | None = None
    ) -> Response:
        body = {"errors": [{"id": error.error_id, "code": error.status, "details": error.details}]}
        return self.json(body, error.status, headers=headers)


@functools.cache
def _ascii(name: str) -> str:
    """``García`` → ``garcia``, ``O'Brien`` → ``obrien``: the local part of an address."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", folded.lower())


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _bounded(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    value = _int_or_none(raw)
    if value is None or not low <= value <= high:
        raise HunterError(400, "wrong_params", f"{name} must be between {low} and {high}.")
    return value
