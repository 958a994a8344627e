"""A fake Instantly API V2 on 127.0.0.1, with workspaces, scoped API keys and real paths.

What it does like Instantly (see docs/vendors.md, "Instantly"):

* ``Authorization: Bearer <key>``; keys belong to a workspace and carry scopes
  (``leads:read``, ``leads:all``, ``all:all``, ...); a missing scope answers 403.
* The rate limit (100/s and 6,000/min) is per WORKSPACE, shared by all its keys.
* Error bodies ``{"statusCode", "error", "message"}``, as the Fastify server behind it sends.
* Lead lists, campaigns and leads are paged with ``limit`` (1-100) and ``starting_after``, by
  id ascending; ``next_starting_after`` is the last id of a full page and absent otherwise.
* A lead belongs to one lead list or one campaign. ``POST /leads/add`` takes 1-1,000 leads and
  exactly one of ``campaign_id``/``list_id``; an email already in the target is skipped with
  ``skip_if_in_list``/``skip_if_in_campaign`` (or anywhere with ``skip_if_in_workspace``) and
  otherwise updated in place, so the same email is never twice in one list or campaign.
* ``POST /leads/update-interest-status`` answers 202 and applies the value to the matching
  leads (at once here; "in the background" at Instantly).

Ids are time-ordered UUIDs (like UUIDv7) from one counter, so new records sort after older ones
and stay in id order by appending. Seeded leads are stored as a small reference and built on
read, so 100,000 of them seed in well under a second and every page costs O(page).

Extra faults beyond the base ones, answered after auth and the rate limit with the vendor's
body: ``"400"``, ``"402"``, ``"403"``, ``"404"``, ``"422"``.
"""

from __future__ import annotations

import bisect
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from integrations.tests.fakes.base import FakeVendor

CAMPAIGN_PREFIX = "campaign:"
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)
BASE_MILLIS = int(BASE_TIME.timestamp() * 1000)
EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
ALL_SCOPES = frozenset({"all:all"})
STATUS_PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
}
# Fields a lead of POST /leads/add may carry; anything else is refused like the real schema.
# job_title is one of them (Instantly's SDK generated from its OpenAPI: starter kit
# python/sdk/instantly/generated/models.py, the bulk-add lead model; vendors.md).
BULK_LEAD_FIELDS = frozenset(
    {
        "email",
        "first_name",
        "last_name",
        "company_name",
        "job_title",
        "website",
        "phone",
        "personalization",
        "lt_interest_status",
        "pl_value_lead",
        "assigned_to",
        "custom_variables",
    }
)
SINGLE_LEAD_FIELDS = BULK_LEAD_FIELDS | {
    "campaign",
    "list_id",
    "job_title",
    "company_domain",
    "skip_if_in_workspace",
    "skip_if_in_campaign",
    "skip_if_in_list",
    "blocklist_id",
    "verify_leads_for_lead_finder",
    "verify_leads_on_import",
}
# Body of POST /leads/move (Instantly's API reference; only the fields the CRM needs are
# implemented, the others are accepted and ignored like filters that match nothing extra).
MOVE_FIELDS = frozenset(
    {"ids", "to_list_id", "to_campaign_id", "copy_leads", "check_duplicates",
     "check_duplicates_in_campaigns", "skip_leads_in_verification"}
)  # fmt: skip
PATCHABLE_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "company_name",
        "job_title",
        "phone",
        "website",
        "personalization",
        "lt_interest_status",
        "pl_value_lead",
        "assigned_to",
        "custom_variables",
    }
)

# Deterministic material for seeded leads.
FIRST_NAMES = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemal",
    "Lena",
    "Mateo",
    "Nora",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
]
LAST_NAMES = [
    "Okafor",
    "Schmidt",
    "Tanaka",
    "Rossi",
    "Novak",
    "Silva",
    "Haddad",
    "Larsen",
    "Moreau",
    "Kowalski",
    "Jensen",
    "Costa",
    "Ibrahim",
    "Walsh",
    "Petrov",
    "Yilmaz",
    "Dubois",
    "Fischer",
    "Santos",
    "Nakamura",
]
COMPANIES = [
    "Northwind",
    "Brightpath",
    "Cobalt Labs",
    "Dunmore",
    "Evergreen Analytics",
    "Foxglove",
    "Granite Works",
    "Helio Systems",
    "Ironbark",
    "Juniper Health",
    "Keystone Freight",
    "Lumen Retail",
]
COMPANY_SLUGS = [re.sub(r"[^a-z0-9]+", "", company.lower()) for company in COMPANIES]
TITLES = (
    "Head of Sales",
    "VP Marketing",
    "CTO",
    "Founder",
    "Operations Manager",
    "Account Executive",
    "Growth Lead",
    "Procurement Officer",
)
CITIES = ("Berlin", "Lisbon", "Austin", "Toronto", "Osaka", "Nairobi", "Melbourne")
# Every known value, the SDK's -4 (No show), a workspace-defined 7, and plenty of plain leads.
INTEREST_CYCLE: tuple[int | None, ...] = (None, 1, 0, None, 4, -1, 2, -3, None, -4, 3, -2, 7)
DELIVERY_STATUS_CYCLE = (1, 1, 3, 2, -1, 1, -2)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seeded_lead_fields(i: int) -> dict[str, Any]:
    """The fields of seeded lead number ``i``: the same every time, and varied."""
    first = FIRST_NAMES[i % len(FIRST_NAMES)]
    last = LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]
    company = COMPANIES[i % len(COMPANIES)]
    domain = f"{COMPANY_SLUGS[i % len(COMPANIES)]}{i % 97}.example"
    has_domain = i % 2 == 0
    payload: dict[str, Any] = {
        "city": CITIES[i % len(CITIES)],
        "employees": 10 + (i * 37) % 490,
        "is_customer": i % 11 == 0,
    }
    if i % 5 == 0:
        payload["deal_size"] = round(1000 + (i % 50) * 12.5, 2)
    if i % 3 == 0:
        payload["referrer"] = None  # Instantly keeps nulls in custom variables
    created = BASE_TIME + timedelta(seconds=i)
    return {
        "email": seeded_email(i),
        "first_name": first,
        "last_name": last,
        "company_name": company,
        "company_domain": domain if has_domain else None,
        # Odd leads have only a website; every fourth even one has both.
        "website": f"https://www.{domain}/about" if not has_domain or i % 4 == 0 else None,
        "job_title": TITLES[i % len(TITLES)],
        "phone": f"+1 555 {i % 10000:04d}" if i % 3 != 2 else None,
        "personalization": f"Saw {company}'s post about hiring" if i % 4 == 1 else None,
        "status": DELIVERY_STATUS_CYCLE[i % len(DELIVERY_STATUS_CYCLE)],
        "lt_interest_status": INTEREST_CYCLE[i % len(INTEREST_CYCLE)],
        "email_open_count": (i * 7) % 5 if i % 3 else 0,
        "email_reply_count": 1 if i % 6 == 1 else 0,
        "email_click_count": 1 if i % 10 == 3 else 0,
        "payload": payload,
        "timestamp_created": _iso(created),
        "timestamp_updated": _iso(created),
    }


def seeded_email(i: int) -> str:
    first = FIRST_NAMES[i % len(FIRST_NAMES)]
    last = LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]
    return f"{first}.{last}.{i}@{COMPANY_SLUGS[i % len(COMPANIES)]}{i % 97}.example".lower()


def _uuid7(sequence: int) -> str:
    """A UUID in the v7 layout whose time part grows with ``sequence``; deterministic."""
    millis = BASE_MILLIS + sequence
    noise = (sequence * 0x9E3779B97F4A7C15) & ((1 << 74) - 1)
    value = (millis << 80) | (0x7 << 76) | ((noise >> 62) << 64) | (0b10 << 62)
    text = f"{value | (noise & ((1 << 62) - 1)):032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@dataclass(frozen=True)
class _Seeded:
    """A seeded lead not yet read or changed: its fields are built from ``number``."""

    number: int
    kind: str  # "list" or "campaign"
    container_id: str


@dataclass
class _Workspace:
    name: str
    organization_id: str
    max_leads: int | None = None
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    list_order: list[str] = field(default_factory=list)
    campaigns: dict[str, dict[str, Any]] = field(default_factory=dict)
    campaign_order: list[str] = field(default_factory=list)
    leads: dict[str, dict[str, Any] | _Seeded] = field(default_factory=dict)
    lead_order: list[str] = field(default_factory=list)
    # (kind, container id) → lead ids in id order, and → email → lead id.
    members: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    emails_in: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    # email → ids of its leads anywhere in the workspace.
    emails: dict[str, list[str]] = field(default_factory=dict)
    # Emails and domains on the workspace's blocklist: bulk add refuses them and counts them
    # as ``in_blocklist`` (the bulk-add answer in Instantly's SDK models).
    blocklist: set[str] = field(default_factory=set)


class _VendorError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FakeInstantly(FakeVendor):
    base_path = "/api/v2"
    rate_limits = [(100, 1.0), (6000, 60.0)]

    def __init__(self) -> None:
        super().__init__()
        self.keys: dict[str, tuple[str, frozenset[str]]] = {}  # api key → (workspace, scopes)
        self.workspaces: dict[str, _Workspace] = {}
        # (workspace, lead email, interest value, container) for every interest update.
        self.interest_updates: list[tuple[str, str, int | None, str | None]] = []
        self.bulk_requests: list[dict[str, Any]] = []  # the bodies of POST /leads/add
        # (workspace, lead ids, "list:<id>" or "campaign:<id>") for every POST /leads/move.
        self.moves: list[tuple[str, list[str], str]] = []
        self.patches: list[tuple[str, dict[str, Any]]] = []  # (lead id, body) of each PATCH
        self._store = threading.RLock()
        self._sequence = 0
        self._local = threading.local()

    def reset(self) -> None:
        """Forget every account, record, fault and counter (tests share one running server)."""
        with self._store, self._lock:
            self.keys.clear()
            self.workspaces.clear()
            self.interest_updates.clear()
            self.bulk_requests.clear()
            self.moves.clear()
            self.patches.clear()
            self.faults.clear()
            self.requests.clear()
            self._hits.clear()
            self.violations = 0
            # Back to the class defaults a test may have lowered.
            self.__dict__.pop("rate_limits", None)
            self.__dict__.pop("timeout_sleep", None)

    # --- accounts and set-up helpers --------------------------------------------------------

    def add_account(
        self,
        api_key: str,
        workspace: str = "w1",
        *,
        scopes: set[str] | frozenset[str] | None = None,
        max_leads: int | None = None,
    ) -> str:
        """Register an API key of ``workspace`` (created on first use); returns the key.

        ``max_leads`` caps the workspace's leads like a plan: uploads beyond it answer 402.
        """
        with self._store:
            space = self.workspaces.get(workspace)
            if space is None:
                space = self.workspaces[workspace] = _Workspace(workspace, self._new_id())
            if max_leads is not None:
                space.max_leads = max_leads
            self.keys[api_key] = (workspace, frozenset(scopes) if scopes else ALL_SCOPES)
        return api_key

    def _space(self, api_key: str) -> _Workspace:
        return self.workspaces[self.keys[api_key][0]]

    def add_list(self, api_key: str, name: str, *, list_id: str | None = None) -> str:
        with self._store:
            return self._create_list(self._space(api_key), name, list_id)

    def add_campaign(self, api_key: str, name: str, *, status: int = 1) -> str:
        """A campaign (status 0 draft, 1 active, 2 paused, 3 completed); returns its UUID."""
        with self._store:
            space = self._space(api_key)
            campaign_id = self._new_id()
            space.campaigns[campaign_id] = {
                "id": campaign_id,
                "name": name,
                "status": status,
                "organization": space.organization_id,
                "timestamp_created": _iso(datetime.now(UTC)),
                "timestamp_updated": _iso(datetime.now(UTC)),
            }
            bisect.insort(space.campaign_order, campaign_id)
            return campaign_id

    def seed(self, api_key: str, list_id: str | None, n: int, *, start: int = 0) -> list[str]:
        """Add ``n`` deterministic leads numbered ``start``... to a list; returns their ids.

        ``list_id`` may be ``"campaign:<uuid>"`` for a campaign; an unknown list id creates
        the list. None puts them in a new list named "Seeded".
        """
        with self._store:
            space = self._space(api_key)
            if list_id is None:
                kind, container_id = "list", self._create_list(space, "Seeded", None)
            elif list_id.startswith(CAMPAIGN_PREFIX):
                kind, container_id = "campaign", list_id[len(CAMPAIGN_PREFIX) :]
                if container_id not in space.campaigns:
                    raise KeyError(f"no campaign {container_id}")
            else:
                kind, container_id = "list", list_id
                if list_id not in space.lists:
                    self._create_list(space, f"List {list_id[:8]}", list_id)
            key = (kind, container_id)
            members = space.members.setdefault(key, [])
            emails_in = space.emails_in.setdefault(key, {})
            ids = self._new_ids(n)
            for number, lead_id in zip(range(start, start + n), ids, strict=True):
                email = seeded_email(number)
                space.leads[lead_id] = _Seeded(number, kind, container_id)
                # New ids are the largest so far: appending keeps every index in order.
                space.lead_order.append(lead_id)
                members.append(lead_id)
                emails_in.setdefault(email, lead_id)
                space.emails.setdefault(email, []).append(lead_id)
            return ids

    # --- inspection helpers -----------------------------------------------------------------

    def lead(self, api_key: str, lead_id: str) -> dict[str, Any] | None:
        with self._store:
            space = self._space(api_key)
            return dict(self._lead(space, lead_id)) if lead_id in space.leads else None

    def leads_in(self, api_key: str, list_id: str | None = None) -> list[dict[str, Any]]:
        """Every lead of a list (or ``"campaign:<uuid>"``, or the workspace), in id order."""
        with self._store:
            space = self._space(api_key)
            ids = self._ids_for(space, list_id)
            return [dict(self._lead(space, lead_id)) for lead_id in ids]

    def find_leads(
        self, api_key: str, email: str, list_id: str | None = None
    ) -> list[dict[str, Any]]:
        with self._store:
            space = self._space(api_key)
            email = email.strip().lower()
            if list_id is None:
                ids = list(space.emails.get(email, []))
            else:
                found = space.emails_in.get(self._key(list_id), {}).get(email)
                ids = [found] if found else []
            return [dict(self._lead(space, lead_id)) for lead_id in ids]

    def count_leads(self, api_key: str, list_id: str | None = None) -> int:
        with self._store:
            return len(self._ids_for(self._space(api_key), list_id))

    @staticmethod
    def _key(list_id: str) -> tuple[str, str]:
        if list_id.startswith(CAMPAIGN_PREFIX):
            return "campaign", list_id[len(CAMPAIGN_PREFIX) :]
        return "list", list_id

    def _ids_for(self, space: _Workspace, list_id: str | None) -> list[str]:
        if list_id is None:
            return space.lead_order
        return space.members.get(self._key(list_id), [])

    # --- store internals --------------------------------------------------------------------

    def _new_id(self) -> str:
        return self._new_ids(1)[0]

    def _new_ids(self, count: int) -> list[str]:
        """Time-ordered UUIDs (v7 layout): later calls give larger ids."""
        with self._store:
            first = self._sequence + 1
            self._sequence += count
        return [_uuid7(sequence) for sequence in range(first, first + count)]

    def _create_list(self, space: _Workspace, name: str, list_id: str | None) -> str:
        list_id = list_id or self._new_id()
        now = _iso(datetime.now(UTC))
        space.lists[list_id] = {
            "id": list_id,
            "organization_id": space.organization_id,
            "has_enrichment_task": False,
            "owned_by": None,
            "name": name,
            "timestamp_created": now,
        }
        bisect.insort(space.list_order, list_id)
        return list_id

    def _lead(self, space: _Workspace, lead_id: str) -> dict[str, Any]:
        stored = space.leads[lead_id]
        if isinstance(stored, dict):
            return stored
        lead = {
            "id": lead_id,
            "organization": space.organization_id,
            "campaign": stored.container_id if stored.kind == "campaign" else None,
            "list_id": stored.container_id if stored.kind == "list" else None,
            **seeded_lead_fields(stored.number),
        }
        return lead

    def _materialize(self, space: _Workspace, lead_id: str) -> dict[str, Any]:
        """The lead as a stored dict, for a change."""
        lead = self._lead(space, lead_id)
        space.leads[lead_id] = lead
        return lead

    def _insert_lead(
        self, space: _Workspace, kind: str | None, container_id: str | None, fields: dict[str, Any]
    ) -> dict[str, Any]:
        lead_id = self._new_id()
        now = _iso(datetime.now(UTC))
        email = (fields.get("email") or "").strip().lower()
        lead: dict[str, Any] = {
            "id": lead_id,
            "timestamp_created": now,
            "timestamp_updated": now,
            "organization": space.organization_id,
            "campaign": container_id if kind == "campaign" else None,
            "list_id": container_id if kind == "list" else None,
            "status": 1,
            "email": email or None,
            "first_name": None,
            "last_name": None,
            "company_name": None,
            "company_domain": email.rpartition("@")[2] or None,
            "website": None,
            "job_title": None,
            "phone": None,
            "personalization": None,
            "lt_interest_status": None,
            "email_open_count": 0,
            "email_reply_count": 0,
            "email_click_count": 0,
            "payload": None,
        }
        self._apply(lead, fields)
        space.leads[lead_id] = lead
        space.lead_order.append(lead_id)
        if kind is not None and container_id is not None:
            space.members.setdefault((kind, container_id), []).append(lead_id)
            if email:
                space.emails_in.setdefault((kind, container_id), {}).setdefault(email, lead_id)
        if email:
            space.emails.setdefault(email, []).append(lead_id)
        return lead

    @staticmethod
    def _apply(lead: dict[str, Any], fields: dict[str, Any]) -> None:
        for name in PATCHABLE_FIELDS - {"custom_variables"}:
            if name in fields:
                lead[name] = fields[name]
        variables = fields.get("custom_variables")
        if isinstance(variables, dict):
            lead["payload"] = {**(lead.get("payload") or {}), **variables}
        lead["timestamp_updated"] = _iso(datetime.now(UTC))

    def _delete_lead(self, space: _Workspace, lead_id: str) -> dict[str, Any]:
        lead = self._lead(space, lead_id)
        del space.leads[lead_id]
        self._remove_sorted(space.lead_order, lead_id)
        email = (lead.get("email") or "").lower()
        for kind, container_id in (
            ("list", lead.get("list_id")),
            ("campaign", lead.get("campaign")),
        ):
            if not container_id:
                continue
            self._remove_sorted(space.members.get((kind, container_id), []), lead_id)
            emails_in = space.emails_in.get((kind, container_id), {})
            if emails_in.get(email) == lead_id:
                del emails_in[email]
        if email in space.emails:
            space.emails[email] = [other for other in space.emails[email] if other != lead_id]
            if not space.emails[email]:
                del space.emails[email]
        return lead

    @staticmethod
    def _remove_sorted(ids: list[str], lead_id: str) -> None:
        position = bisect.bisect_left(ids, lead_id)
        if position < len(ids) and ids[position] == lead_id:
            del ids[position]

    # --- HTTP: auth, faults, errors ---------------------------------------------------------

    def account_for(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or key.strip() not in self.keys:
            return None
        # The rate limit is the workspace's: every key of it shares one budget.
        return self.keys[key.strip()][0]

    def _take_fault(self, path: str) -> str | None:
        kind = super()._take_fault(path)
        # Faults the base does not know are answered by route(), after auth and the limit.
        if kind in {"400", "402", "403", "404", "422"}:
            self._local.fault = kind
            return None
        self._local.fault = None
        return kind

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        body = {
            "statusCode": status,
            "error": STATUS_PHRASES.get(status, "Error"),
            "message": message,
        }
        return self.json(body, status, headers=headers)

    def auth_error(self) -> Response:
        return self.error(401, "Invalid API key")

    def rate_limited(self) -> Response:
        return self.error(
            429,
            f"Rate limit exceeded, retry in {self.retry_after_seconds} seconds",
            headers={"Retry-After": str(self.retry_after_seconds)},
        )

    def server_error(self) -> Response:
        return self.error(500, "Internal server error")

    # --- HTTP: routes -----------------------------------------------------------------------

    def route(self, request: Request, account: str) -> Response:
        fault = getattr(self._local, "fault", None)
        if fault is not None:
            self._local.fault = None
            messages = {
                "400": "body/leads must NOT have fewer than 1 items",
                "402": "Your plan does not allow this; upgrade to continue",
                "403": "Your API key does not have the required scope",
                "404": "Resource not found",
                "422": "Unprocessable lead",
            }
            return self.error(int(fault), messages[fault])
        path = request.path.removeprefix(self.base_path) or "/"
        method = request.method
        key = request.headers["Authorization"].partition(" ")[2].strip()
        scopes = self.keys[key][1]
        try:
            with self._store:
                space = self.workspaces[account]
                return self._dispatch(method, path, request, space, scopes)
        except _VendorError as exc:
            return self.error(exc.status, exc.message)

    @staticmethod
    def _require(scopes: frozenset[str], resource: str, action: str) -> None:
        allowed = {"all:all", f"all:{action}", f"{resource}:all", f"{resource}:{action}"}
        if not scopes & allowed:
            raise _VendorError(403, f"API key is missing the {resource}:{action} scope")

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError:
            raise _VendorError(400, "Body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _VendorError(400, "body must be object")
        return body

    @staticmethod
    def _limit(value: Any, where: str) -> int:
        if value is None:
            return 100
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _VendorError(400, f"{where}/limit must be integer")
        if not 1 <= value <= 100:
            raise _VendorError(400, f"{where}/limit must be >= 1 and <= 100")
        return value

    @staticmethod
    def _page(ids: list[str], starting_after: Any, limit: int) -> tuple[list[str], str | None]:
        if starting_after is not None and not isinstance(starting_after, str):
            raise _VendorError(400, "starting_after must be string")
        position = bisect.bisect_right(ids, starting_after) if starting_after else 0
        page = ids[position : position + limit]
        return page, (page[-1] if len(page) == limit else None)

    @staticmethod
    def _answer(items: list[dict[str, Any]], cursor: str | None) -> dict[str, Any]:
        answer: dict[str, Any] = {"items": items}
        if cursor is not None:
            answer["next_starting_after"] = cursor
        return answer

    def _dispatch(
        self, method: str, path: str, request: Request, space: _Workspace, scopes: frozenset[str]
    ) -> Response:
        if path == "/lead-lists" and method == "GET":
            self._require(scopes, "lead_lists", "read")
            limit = self._limit(request.args.get("limit"), "querystring")
            search = (request.args.get("search") or "").lower()
            ids = space.list_order
            if search:
                ids = [i for i in ids if search in space.lists[i]["name"].lower()]
            page, cursor = self._page(ids, request.args.get("starting_after"), limit)
            return self.json(self._answer([dict(space.lists[i]) for i in page], cursor))
        if path == "/lead-lists" and method == "POST":
            self._require(scopes, "lead_lists", "create")
            name = self._body(request).get("name")
            if not isinstance(name, str) or not name.strip():
                raise _VendorError(400, "body must have required property 'name'")
            return self.json(dict(space.lists[self._create_list(space, name.strip(), None)]))
        if path == "/campaigns" and method == "GET":
            self._require(scopes, "campaigns", "read")
            limit = self._limit(request.args.get("limit"), "querystring")
            page, cursor = self._page(
                space.campaign_order, request.args.get("starting_after"), limit
            )
            return self.json(self._answer([dict(space.campaigns[i]) for i in page], cursor))
        if path == "/leads/list" and method == "POST":
            self._require(scopes, "leads", "read")
            return self._list_leads(space, self._body(request))
        if path == "/leads" and method == "POST":
            self._require(scopes, "leads", "create")
            return self._create_one(space, self._body(request))
        if path == "/leads/add" and method == "POST":
            self._require(scopes, "leads", "create")
            return self._add_bulk(space, self._body(request))
        if path == "/workspaces/current" and method == "GET":
            # Instantly API V2 "Get current workspace": the workspace the key belongs to.
            return self.json({"id": space.organization_id, "name": space.name})
        if path == "/leads/move" and method == "POST":
            self._require(scopes, "leads", "update")
            return self._move(space, self._body(request))
        if path == "/leads/update-interest-status" and method == "POST":
            self._require(scopes, "leads", "update")
            return self._update_interest(space, self._body(request))
        match = re.fullmatch(r"/leads/([0-9a-fA-F-]{36})", path)
        if match and method in {"GET", "PATCH", "DELETE"}:
            lead_id = match.group(1).lower()
            action = {"GET": "read", "PATCH": "update", "DELETE": "delete"}[method]
            self._require(scopes, "leads", action)
            if lead_id not in space.leads:
                raise _VendorError(404, "Lead not found")
            if method == "GET":
                return self.json(dict(self._lead(space, lead_id)))
            if method == "DELETE":
                return self.json(dict(self._delete_lead(space, lead_id)))
            body = self._body(request)
            unknown = set(body) - PATCHABLE_FIELDS
            if unknown:
                raise _VendorError(
                    400, f"body must NOT have additional properties: {sorted(unknown)}"
                )
            self._check_variables(body.get("custom_variables"))
            self.patches.append((lead_id, body))
            lead = self._materialize(space, lead_id)
            self._apply(lead, body)
            return self.json(dict(lead))
        raise _VendorError(404, f"Route {method}:{self.base_path}{path} not found")

    def _container(self, space: _Workspace, kind: str, container_id: Any) -> str:
        if not isinstance(container_id, str):
            raise _VendorError(400, f"{kind} id must be string")
        known = space.campaigns if kind == "campaign" else space.lists
        if container_id not in known:
            raise _VendorError(
                404, "Campaign not found" if kind == "campaign" else "List not found"
            )
        return container_id

    def _list_leads(self, space: _Workspace, body: dict[str, Any]) -> Response:
        limit = self._limit(body.get("limit"), "body")
        list_id = body.get("list_id")
        campaign = body.get("campaign")
        key: tuple[str, str] | None = None
        if campaign is not None:
            key = ("campaign", str(campaign))
        elif list_id is not None:
            key = ("list", str(list_id))
        if campaign is not None and list_id is not None:
            ids: list[str] = []  # a lead is in one list or one campaign, never both
        elif key is None:
            ids = space.lead_order
        else:
            ids = space.members.get(key, [])
        contacts = body.get("contacts")
        if contacts is not None:
            if not isinstance(contacts, list) or not all(isinstance(c, str) for c in contacts):
                raise _VendorError(400, "body/contacts must be array of strings")
            wanted: set[str] = set()
            for contact in contacts:
                email = contact.strip().lower()
                if key is None:
                    wanted.update(space.emails.get(email, []))
                elif found := space.emails_in.get(key, {}).get(email):
                    wanted.add(found)
            ids = sorted(wanted)
        page, cursor = self._page(ids, body.get("starting_after"), limit)
        return self.json(self._answer([dict(self._lead(space, i)) for i in page], cursor))

    @staticmethod
    def _check_variables(variables: Any) -> None:
        if variables is None:
            return
        if not isinstance(variables, dict):
            raise _VendorError(400, "custom_variables must be object")
        for name, value in variables.items():
            if value is not None and not isinstance(value, str | int | float | bool):
                raise _VendorError(
                    400, f"custom_variables/{name} must be string, number, boolean or null"
                )

    def _create_one(self, space: _Workspace, body: dict[str, Any]) -> Response:
        unknown = set(body) - SINGLE_LEAD_FIELDS
        if unknown:
            raise _VendorError(400, f"body must NOT have additional properties: {sorted(unknown)}")
        self._check_variables(body.get("custom_variables"))
        kind: str | None = None
        container_id: str | None = None
        if body.get("campaign") is not None:
            kind, container_id = "campaign", self._container(space, "campaign", body["campaign"])
        elif body.get("list_id") is not None:
            kind, container_id = "list", self._container(space, "list", body["list_id"])
        email = body.get("email")
        if email is not None and (
            not isinstance(email, str) or not EMAIL_SHAPE.match(email.strip())
        ):
            raise _VendorError(400, 'body/email must match format "email"')
        if kind == "campaign" and not email:
            raise _VendorError(400, "email is required when adding a lead to a campaign")
        email = (email or "").strip().lower()
        if email and kind is not None and container_id is not None:
            existing = space.emails_in.get((kind, container_id), {}).get(email)
            if existing is not None:
                # One email is one lead per list or campaign: update it in place.
                lead = self._materialize(space, existing)
                self._apply(lead, body)
                return self.json(dict(lead))
        if space.max_leads is not None and len(space.leads) >= space.max_leads:
            raise _VendorError(402, "Lead limit of your plan reached")
        return self.json(dict(self._insert_lead(space, kind, container_id, body)))

    def _add_bulk(self, space: _Workspace, body: dict[str, Any]) -> Response:
        self.bulk_requests.append(body)
        leads = body.get("leads")
        if not isinstance(leads, list) or not 1 <= len(leads) <= 1000:
            raise _VendorError(400, "body/leads must be an array of 1 to 1000 leads")
        has_campaign = body.get("campaign_id") is not None
        has_list = body.get("list_id") is not None
        if has_campaign == has_list:
            raise _VendorError(400, "Provide exactly one of campaign_id or list_id")
        kind = "campaign" if has_campaign else "list"
        container_id = self._container(space, kind, body.get(f"{kind}_id"))
        key = (kind, container_id)
        skip_here = bool(body.get("skip_if_in_campaign" if has_campaign else "skip_if_in_list"))
        skip_anywhere = bool(body.get("skip_if_in_workspace"))

        # Validate everything and decide every lead before changing anything.
        actions: list[tuple[str, int, dict[str, Any], str]] = []  # (action, index, lead, email)
        in_target = space.emails_in.get(key, {})
        new_emails: set[str] = set()
        for index, lead in enumerate(leads):
            if not isinstance(lead, dict):
                raise _VendorError(400, f"body/leads/{index} must be object")
            unknown = set(lead) - BULK_LEAD_FIELDS
            if unknown:
                raise _VendorError(
                    400,
                    f"body/leads/{index} must NOT have additional properties: {sorted(unknown)}",
                )
            self._check_variables(lead.get("custom_variables"))
            raw_email = lead.get("email")
            email = raw_email.strip().lower() if isinstance(raw_email, str) else ""
            if not EMAIL_SHAPE.match(email):
                actions.append(("invalid", index, lead, email))
            elif email in space.blocklist or email.rpartition("@")[2] in space.blocklist:
                actions.append(("blocked", index, lead, email))
            elif email in new_emails:
                # The same email twice in one request: the first is taken, the others are
                # counted as duplicated_leads.
                actions.append(("duplicate", index, lead, email))
            elif email in in_target or email in new_emails:
                actions.append(
                    ("skip" if skip_here or skip_anywhere else "update", index, lead, email)
                )
            elif skip_anywhere and email in space.emails:
                actions.append(("skip", index, lead, email))
            else:
                new_emails.add(email)
                actions.append(("create", index, lead, email))
        creating = sum(1 for action, *_ in actions if action == "create")
        if space.max_leads is not None and len(space.leads) + creating > space.max_leads:
            raise _VendorError(402, "Uploading these leads would exceed your plan's lead limit")

        created: list[dict[str, Any]] = []
        counts = {"invalid": 0, "skip": 0, "update": 0, "blocked": 0, "duplicate": 0}
        for action, index, lead, email in actions:
            if action == "create":
                stored = self._insert_lead(space, kind, container_id, {**lead, "email": email})
                created.append({"id": stored["id"], "email": email, "index": index})
                continue
            counts[action] += 1
            if action == "duplicate":
                self._apply(self._materialize(space, space.emails_in[key][email]), lead)
            if action == "update":
                existing = space.emails_in[key][email]
                self._apply(self._materialize(space, existing), lead)
        remaining = None if space.max_leads is None else space.max_leads - len(space.leads)
        return self.json(
            {
                "status": "success",
                "total_sent": len(leads),
                "leads_uploaded": len(created),
                "in_blocklist": counts["blocked"],
                "duplicated_leads": counts["duplicate"],
                "blocklist_used": None,
                "skipped_count": counts["skip"],
                "invalid_email_count": counts["invalid"],
                "incomplete_count": 0,
                "duplicate_email_count": counts["update"],
                "remaining_in_plan": remaining,
                "created_leads": created,
            }
        )

    def _move(self, space: _Workspace, body: dict[str, Any]) -> Response:
        """``POST /leads/move``: the leads named by ``ids`` go to ``to_list_id`` or
        ``to_campaign_id`` (Instantly's API reference, "Move leads to a campaign or list").
        Instantly runs it as a background job and answers with the job; here it is done at once
        and the job answered as pending, like the real first answer."""
        unknown = set(body) - MOVE_FIELDS
        if unknown:
            raise _VendorError(400, f"body must NOT have additional properties: {sorted(unknown)}")
        ids = body.get("ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise _VendorError(400, "body/ids must be array of strings")
        to_list, to_campaign = body.get("to_list_id"), body.get("to_campaign_id")
        if (to_list is None) == (to_campaign is None):
            raise _VendorError(400, "Provide exactly one of to_campaign_id or to_list_id")
        kind = "campaign" if to_campaign is not None else "list"
        container_id = self._container(space, kind, to_campaign or to_list)
        for lead_id in ids:
            if lead_id in space.leads:
                self._relocate(space, lead_id, kind, container_id)
        self.moves.append((space.name, list(ids), f"{kind}:{container_id}"))
        return self.json(
            {"id": self._new_id(), "type": "move-leads", "status": "pending", "progress": 0}
        )

    def _relocate(self, space: _Workspace, lead_id: str, kind: str, container_id: str) -> None:
        lead = self._materialize(space, lead_id)
        email = (lead.get("email") or "").lower()
        old_kind = "campaign" if lead.get("campaign") else "list"
        old_id = lead.get("campaign") or lead.get("list_id")
        if old_id is not None:
            old_key = (old_kind, old_id)
            self._remove_sorted(space.members.get(old_key, []), lead_id)
            if email and space.emails_in.get(old_key, {}).get(email) == lead_id:
                del space.emails_in[old_key][email]
        lead["campaign"] = container_id if kind == "campaign" else None
        lead["list_id"] = container_id if kind == "list" else None
        members = space.members.setdefault((kind, container_id), [])
        bisect.insort(members, lead_id)
        if email:
            space.emails_in.setdefault((kind, container_id), {}).setdefault(email, lead_id)

    def _update_interest(self, space: _Workspace, body: dict[str, Any]) -> Response:
        email = body.get("lead_email")
        if not isinstance(email, str) or not email.strip():
            raise _VendorError(400, "body must have required property 'lead_email'")
        if "interest_value" not in body:
            raise _VendorError(400, "body must have required property 'interest_value'")
        value = body["interest_value"]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise _VendorError(400, "body/interest_value must be integer or null")
        email = email.strip().lower()
        container: str | None = None
        key: tuple[str, str] = ("", "")
        if body.get("campaign_id") is not None:
            key = ("campaign", str(body["campaign_id"]))
            container = CAMPAIGN_PREFIX + key[1]
        elif body.get("list_id") is not None:
            key = ("list", str(body["list_id"]))
            container = key[1]
        if container is None:
            ids = list(space.emails.get(email, []))
        else:
            found = space.emails_in.get(key, {}).get(email)
            ids = [found] if found else []
        for lead_id in ids:
            lead = self._materialize(space, lead_id)
            lead["lt_interest_status"] = value
            lead["timestamp_updated"] = _iso(datetime.now(UTC))
        self.interest_updates.append((space.name, email, value, container))
        return self.json({"message": "Lead interest status update background job submitted"}, 202)
