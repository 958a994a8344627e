"""A fake Snov.io on 127.0.0.1: OAuth client credentials, prospect lists, paging and adds.

It speaks the real API as ``docs/vendors.md`` describes it (camelCase, the real paths), not the
seed's snake_case:

* ``POST /v1/oauth/access_token`` (form or JSON: grant_type, client_id, client_secret) issues
  Bearer tokens that live ``token_lifetime`` seconds; ``expire_tokens()`` ends them all at once
  (an "expired token mid-run"). Unknown or expired tokens answer 401.
* ``GET /v1/get-user-lists``: a bare JSON array, deleted lists included (``isDeleted``).
* ``POST /v1/prospect-list`` (listId, page from 1, perPage up to 100): ``{"success", "list",
  "prospects"}``; prospects come in insertion order, a page is a slice (O(page)).
* ``POST /v1/add-prospect-to-list``: form fields as the real API takes them (``phones[]``,
  ``socialLinks[linkedIn]``, ``customFields[<name>]``) or JSON. The same email already in the
  list answers 422 "Prospect with same email already exists in your list", unless
  ``updateContact`` is set, in which case the prospect is updated (``updated: true``).
* Errors are ``{"success": false, "errors": "<text>"}``. ``script()`` queues any answer (a 200
  with ``success: false``, a 402, a 422...) for the next matching calls.

Strict where the real API is (each rule's source: Snov.io's API page as mirrored in
github.com/renangoulart25/snovio-api-docs, docs/06_gerenciamento-de-clientes-potenciais.md,
and docs/vendors.md):

* ``POST /v1/prospect-list`` entries hold ONLY ``id``, ``name``, ``firstName``, ``lastName``
  and ``emails``: a client that expects company, position or LinkedIn there gets nothing.
* ``POST /v1/get-prospect-by-id`` (``id``) answers ``{"success": true, "data": profile}``
  with ``industry``, ``country`` (a name), ``locality``, ``social`` as a list of
  ``{"link", "type"}``, ``currentJob`` (a list of ``{"companyName", "position", "site",
  "size", "industry", "country"}``), ``previousJob``, ``lists``, ``campaigns``; an unknown id
  answers ``success: false``.
* ``GET /v1/prospect-custom-fields`` lists the account's own custom fields
  (``{"key": "customFields['X']", "label": "X", "required", "type"}``); the add refuses a
  ``customFields[...]`` the account does not have, and a ``country`` that is not a country
  name (an ISO code such as ``US`` included). The wording of those refusals is this fake's:
  Snov.io documents that they are refused, not the text.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pycountry
from werkzeug.wrappers import Request, Response

from integrations.tests.fakes.base import FakeVendor

OAUTH_PATH = "/v1/oauth/access_token"
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
DUPLICATE_MESSAGE = "Prospect with same email already exists in your list"
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TRAILING_NUMBER = re.compile(r"(\d+)$")
BRACKET_KEY = re.compile(r"^(\w+)\[([^\]]+)\]$")

FIRST_NAMES = [
    "Ada", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas",
    "Keiko", "Liam", "Maya", "Nils", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara",
]  # fmt: skip
LAST_NAMES = [
    "Novak", "Schmidt", "Dubois", "Rossi", "Garcia", "Kowalski", "Jensen", "Silva", "Moreau",
    "Fischer", "Costa", "Lindqvist", "Horvat", "Byrne", "Weber", "Marin", "Okafor", "Tanaka",
]  # fmt: skip
COMPANIES = [
    ("Northwind Traders", "northwind.example"),
    ("Globex", "globex.example"),
    ("Initech", "initech.example"),
    ("Umbrella Labs", "umbrella-labs.example"),
    ("Stark Logistics", "stark-logistics.example"),
    ("Wayne Foods", "waynefoods.example"),
    ("Acme Robotics", "acme-robotics.example"),
]
POSITIONS = ["CEO", "CTO", "Head of Sales", "Marketing Manager", "Procurement Lead", "Founder"]
PLACES = [
    ("United States", "Austin"),
    ("Germany", "Berlin"),
    ("France", "Lyon"),
    ("United Kingdom", "Leeds"),
    ("Spain", "Valencia"),
]


LIST_ENTRY_KEYS = frozenset({"id", "name", "firstName", "lastName", "emails"})


def _is_country_name(text: str) -> bool:
    """A country name (not a code) from ISO 3166 as pycountry knows it, common names too."""
    text = text.strip().lower()
    for country in pycountry.countries:
        names = {
            country.name,
            getattr(country, "common_name", ""),
            getattr(country, "official_name", ""),
        }
        if text in {name.lower() for name in names if name}:
            return True
    return False


def _profile(prospect: dict[str, Any], fake_list: FakeList) -> dict[str, Any]:
    """The full profile of a stored prospect, shaped as get-prospect-by-id answers it."""
    social = prospect.get("social") or {}
    site = prospect.get("companySite")
    return {
        "id": prospect["id"],
        "name": prospect.get("name"),
        "firstName": prospect.get("firstName"),
        "lastName": prospect.get("lastName"),
        "industry": "Software" if prospect.get("companyName") else None,
        "country": prospect.get("country"),
        "locality": prospect.get("locality"),
        "social": [{"link": link, "type": kind} for kind, link in social.items()],
        "currentJob": [
            {
                "companyName": prospect.get("companyName"),
                "position": prospect.get("position"),
                "socialLink": None,
                "site": site,
                "locality": prospect.get("locality"),
                "state": None,
                "city": None,
                "street": None,
                "street2": None,
                "postal": None,
                "founded": None,
                "startDate": "2020-01-01",
                "endDate": None,
                "size": "51-200",
                "industry": "Software",
                "companyType": "Privately Held",
                "country": prospect.get("country"),
            }
        ]
        if prospect.get("companyName") or prospect.get("position")
        else [],
        "previousJob": [],
        "lists": [{"id": fake_list.id, "name": fake_list.name}],
        "campaigns": [],
        "lastUpdateDate": {"date": "2024-03-01 09:30:00.000000", "timezone_type": 3,
                           "timezone": "UTC"},
        "phones": prospect.get("phones") or [],
        "customFields": prospect.get("customFields") or {},
    }  # fmt: skip


@dataclass
class FakeList:
    id: int
    owner: str
    name: str
    is_deleted: bool = False
    created: str = "2024-03-01 09:30:00.000000"
    # A stored prospect, or the int ``i`` standing for seeded prospect ``i``, which is
    # generated when read: seeding 100,000 prospects costs a range, not 100,000 dicts.
    # A seeded prospect's ``i`` is always its position in this list.
    slots: list[dict[str, Any] | int] = field(default_factory=list)
    # Every email of every stored prospect → its slot (Snov.io dedups by email). Seeded
    # prospects are found from the number their addresses end with.
    by_email: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "contacts": len(self.slots),
            "isDeleted": self.is_deleted,
            "creationDate": {"date": self.created, "timezone_type": 3, "timezone": "UTC"},
        }


@dataclass
class Scripted:
    status: int
    body: Any
    times: int
    path: str | None
    headers: dict[str, str] | None


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _prospect_id(*parts: Any) -> str:
    # Snov.io ids are long hex strings; a hash keeps them deterministic across runs.
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


class FakeSnovio(FakeVendor):
    base_path = ""
    # Snov.io allows 60 requests per minute per account (docs).
    rate_limits = [(60, 60.0)]

    def __init__(self) -> None:
        super().__init__()
        self._store_lock = threading.RLock()
        self._generation = 0
        self.reset()

    def reset(self) -> None:
        """Forget everything (accounts, lists, tokens, faults, counters, limit changes), so
        one running server can serve many tests: stopping one takes half a second."""
        self._generation += 1
        with self._lock:
            self.faults.clear()
            self.requests.clear()
            self.violations = 0
            self._hits.clear()
        self.__dict__.pop("rate_limits", None)  # back to the class's published limit
        self.token_lifetime = 3600
        self.accounts: dict[str, str] = {}  # client_id → client_secret
        self.lists: dict[int, FakeList] = {}
        self.token_requests: Counter[str] = Counter()  # client_id → token requests granted
        # (method, path, query string, Authorization header) of every request that got past
        # fault injection: lets tests prove credentials never travel in a URL.
        self.request_log: list[tuple[str, str, str, str]] = []
        self._tokens: dict[str, tuple[str, float]] = {}  # token → (client_id, expires_at)
        self._scripts: list[Scripted] = []
        self._next_list_id = 9_000_001
        # prospect id → (list id, slot), seeded prospects included (get-prospect-by-id).
        self.by_id: dict[str, tuple[int, int]] = {}
        # client_id → its custom field labels (every account starts with the seeds' two).
        self.custom_fields: dict[str, list[str]] = {}
        self.profile_requests = 0

    # --- helpers for tests and benchmarks ---------------------------------------------------

    def add_account(self, client_id: str, client_secret: str) -> None:
        """Register API credentials; every account starts with one deleted list."""
        with self._store_lock:
            self.accounts[client_id] = client_secret
            self.custom_fields[client_id] = ["Lead source", "Seats"]
        self.add_list(client_id, "Old imports", deleted=True)

    def add_list(
        self, client_id: str, name: str, *, list_id: int | None = None, deleted: bool = False
    ) -> int:
        with self._store_lock:
            if list_id is None:
                list_id = self._next_list_id
                self._next_list_id += 1
            self.lists[list_id] = FakeList(
                id=list_id, owner=client_id, name=name, is_deleted=deleted
            )
            return list_id

    def seed(self, client_id: str, list_id: int, n: int, *, name: str | None = None) -> None:
        """Append ``n`` deterministic prospects to the list (created when missing).

        The mix: one in ten has no email, one in three has three emails of different
        probabilities (the best not first), one in five has only ``name``, every other one
        has custom fields; some lack a country, a LinkedIn profile or phones.
        """
        with self._store_lock:
            if list_id not in self.lists:
                self.add_list(client_id, name or f"List {list_id}", list_id=list_id)
            slots = self.lists[list_id].slots
            start = len(slots)
            slots.extend(range(start, start + n))
            for i in range(start, start + n):
                self.by_id[_prospect_id(list_id, i)] = (list_id, i)

    def issue_token(self, client_id: str, lifetime: float | None = None) -> tuple[str, float]:
        """A valid token as if the client had asked for it: (token, expiry UNIX time)."""
        token = secrets.token_hex(20)
        expires_at = time.time() + (self.token_lifetime if lifetime is None else lifetime)
        with self._store_lock:
            self._tokens[token] = (client_id, expires_at)
        return token, expires_at

    def expire_tokens(self) -> None:
        with self._store_lock:
            self._tokens = {token: (owner, 0.0) for token, (owner, _) in self._tokens.items()}

    def script(
        self,
        status: int,
        body: Any,
        *,
        path: str | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` authenticated calls (to ``path`` if given) with this."""
        with self._store_lock:
            self._scripts.append(Scripted(status, body, times, path, headers))

    def prospects(self, list_id: int) -> list[dict[str, Any]]:
        """Every prospect of the list, in order (O(N): for tests, not for the fake's routes)."""
        with self._store_lock:
            fake_list = self.lists[list_id]
            return [self._prospect_at(fake_list, i) for i in range(len(fake_list.slots))]

    def prospect_by_email(self, list_id: int, email: str) -> dict[str, Any] | None:
        with self._store_lock:
            fake_list = self.lists[list_id]
            index = self._find(fake_list, email.strip().lower())
            return None if index is None else self._prospect_at(fake_list, index)

    # --- generation -------------------------------------------------------------------------

    @staticmethod
    def _make_prospect(list_id: int, i: int) -> dict[str, Any]:
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        last = LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]
        company, domain = COMPANIES[i % len(COMPANIES)]
        local = f"{first}.{last}.{i}".lower()
        emails: list[dict[str, Any]] = []
        if i % 10 != 9:
            best = {
                "email": f"{local}@{domain}",
                "probability": 99 if i % 3 == 0 else 50 + i % 50,
                "isVerified": True if i % 2 == 0 else None,
                "jobStatus": "any",
                "domainType": "linkedin_email",
                "isValidFormat": True,
                "isDisposable": False,
                "isWebmail": False,
                "isGibberish": False,
                "smtpStatus": 3,
            }
            if i % 3 == 0:
                # Several addresses, the most probable in the middle.
                emails.append({"email": f"{first[0]}{last}{i}@{domain}".lower(), "probability": 40})
                emails.append(best)
                emails.append({"email": f"{local}@mail.example", "probability": 70})
            else:
                emails.append(best)
        country, locality = PLACES[i % len(PLACES)]
        prospect: dict[str, Any] = {
            "id": _prospect_id(list_id, i),
            "name": f"{first} {last}",
            "firstName": first,
            "lastName": last,
            "emails": emails,
            "position": POSITIONS[i % len(POSITIONS)],
            "companyName": company,
            "companySite": f"https://{domain}",
            "country": country if i % 4 != 3 else None,
            "locality": locality,
            "social": {"linkedIn": f"https://www.linkedin.com/in/{local.replace('.', '-')}"}
            if i % 3 != 2
            else {},
            "phones": [f"+1 512 555 {i % 10000:04d}"] if i % 4 == 0 else [],
            "customFields": {"Lead source": "Webinar", "Seats": i % 50} if i % 2 == 0 else {},
        }
        if i % 5 == 4:
            del prospect["firstName"], prospect["lastName"]
        return prospect

    def _prospect_at(self, fake_list: FakeList, index: int) -> dict[str, Any]:
        slot = fake_list.slots[index]
        if isinstance(slot, int):
            return self._make_prospect(fake_list.id, slot)
        return dict(slot)

    def _find(self, fake_list: FakeList, email: str) -> int | None:
        """The slot of the prospect having ``email``: O(1), seeded prospects included."""
        index = fake_list.by_email.get(email)
        if index is not None:
            return index
        number = TRAILING_NUMBER.search(email.partition("@")[0])
        if number is None:
            return None
        i = int(number[1])
        if i < len(fake_list.slots) and fake_list.slots[i] == i:
            seeded = self._make_prospect(fake_list.id, i)
            if any(entry["email"] == email for entry in seeded["emails"]):
                return i
        return None

    @staticmethod
    def _store(fake_list: FakeList, prospect: dict[str, Any], index: int | None = None) -> None:
        """Put a prospect at ``index`` (replacing a seeded one) or at the end."""
        if index is None:
            index = len(fake_list.slots)
            fake_list.slots.append(prospect)
        else:
            fake_list.slots[index] = prospect
        for entry in prospect["emails"]:
            fake_list.by_email.setdefault(entry["email"].lower(), index)

    # --- auth -------------------------------------------------------------------------------

    @staticmethod
    def _params(request: Request) -> dict[str, Any]:
        """Form fields (PHP-style ``a[]`` and ``a[b]`` keys unfolded) or a JSON object."""
        if request.is_json:
            body = request.get_json(silent=True)
            return body if isinstance(body, dict) else {}
        params: dict[str, Any] = {}
        for key in request.form:
            values = request.form.getlist(key)
            if key.endswith("[]"):
                params.setdefault(key[:-2], []).extend(values)
            elif match := BRACKET_KEY.match(key):
                params.setdefault(match[1], {})[match[2]] = values[-1]
            else:
                params[key] = values[-1]
        return params

    def wsgi(self, environ, start_response):
        # A request held by the "timeout" fault finishes after its test: tagged with the
        # state it arrived in, it cannot land in the log (or the data) of the next test.
        environ["fakesnovio.generation"] = self._generation
        return super().wsgi(environ, start_response)

    def account_for(self, request: Request) -> str | None:
        if request.environ.get("fakesnovio.generation") != self._generation:
            return None
        self.request_log.append(
            (
                request.method,
                request.path,
                request.query_string.decode("latin-1"),
                request.headers.get("Authorization", ""),
            )
        )
        if request.path == OAUTH_PATH:
            # Token requests count against the account's rate limit like any other call;
            # the route itself checks the secret.
            return str(self._params(request).get("client_id") or "anonymous")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        with self._store_lock:
            owner, expires_at = self._tokens.get(token.strip(), ("", 0.0))
        return owner if owner and expires_at > time.time() else None

    def auth_error(self) -> Response:
        return self.json({"success": False, "errors": "Invalid or expired access token"}, 401)

    def rate_limited(self) -> Response:
        return self.json(
            {"success": False, "errors": "Too many requests"},
            429,
            headers={"Retry-After": str(self.retry_after_seconds)},
        )

    def server_error(self) -> Response:
        return self.json({"success": False, "errors": "Internal server error"}, 500)

    @classmethod
    def failure(cls, status: int, text: str) -> Response:
        return cls.json({"success": False, "errors": text}, status)

    # --- routes -----------------------------------------------------------------------------

    def route(self, request: Request, account: str) -> Response:
        scripted = self._take_script(request.path)
        if scripted is not None:
            return self.json(scripted.body, scripted.status, headers=scripted.headers)
        routes = {
            OAUTH_PATH: ("POST", self._token),
            "/v1/get-user-lists": ("GET", self._user_lists),
            "/v1/prospect-list": ("POST", self._prospect_list),
            "/v1/add-prospect-to-list": ("POST", self._add_prospect),
            "/v1/get-prospect-by-id": ("POST", self._prospect_by_id),
            "/v1/prospect-custom-fields": ("GET", self._custom_fields),
        }
        if request.path not in routes:
            return self.failure(404, "Not found")
        method, handler = routes[request.path]
        if request.method != method:
            return self.failure(405, "Method not allowed")
        return handler(request, account)

    def _take_script(self, path: str) -> Scripted | None:
        with self._store_lock:
            for scripted in self._scripts:
                if scripted.path is None or scripted.path in path:
                    scripted.times -= 1
                    if scripted.times <= 0:
                        self._scripts.remove(scripted)
                    return scripted
        return None

    def _token(self, request: Request, account: str) -> Response:
        params = self._params(request)
        if params.get("grant_type") != "client_credentials":
            return self.json(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "The authorization grant type is not supported.",
                    "message": "The authorization grant type is not supported.",
                },
                400,
            )
        client_id = str(params.get("client_id") or "")
        secret = str(params.get("client_secret") or "")
        known = self.accounts.get(client_id)
        if known is None or not hmac.compare_digest(known.encode(), secret.encode()):
            return self.json(
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed",
                    "message": "Client authentication failed",
                },
                401,
            )
        token, _ = self.issue_token(client_id)
        with self._store_lock:
            self.token_requests[client_id] += 1
        return self.json(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime}
        )

    def _user_lists(self, request: Request, account: str) -> Response:
        with self._store_lock:
            owned = [
                fake_list.as_json()
                for fake_list in self.lists.values()
                if fake_list.owner == account
            ]
        return self.json(owned)

    def _owned_list(self, list_id: Any, account: str) -> FakeList | None:
        try:
            fake_list = self.lists.get(int(list_id))
        except (TypeError, ValueError):
            return None
        if fake_list is None or fake_list.owner != account or fake_list.is_deleted:
            return None
        return fake_list

    def _prospect_list(self, request: Request, account: str) -> Response:
        params = self._params(request)
        try:
            page = int(params.get("page") or 1)
            per_page = int(params.get("perPage") or DEFAULT_PER_PAGE)
        except (TypeError, ValueError):
            return self.failure(400, "page and perPage must be numbers")
        if page < 1:
            return self.failure(400, "page must be 1 or more")
        if not 1 <= per_page <= MAX_PER_PAGE:
            return self.failure(400, f"perPage must be between 1 and {MAX_PER_PAGE}")
        with self._store_lock:
            fake_list = self._owned_list(params.get("listId"), account)
            if fake_list is None:
                return self.failure(404, "List not found")
            start = (page - 1) * per_page
            stop = min(start + per_page, len(fake_list.slots))
            # A list entry is a summary: the profile is only at get-prospect-by-id.
            prospects = [
                {key: value for key, value in self._prospect_at(fake_list, i).items()
                 if key in LIST_ENTRY_KEYS}
                for i in range(start, stop)
            ]  # fmt: skip
            info = fake_list.as_json()
            del info["id"]
            info["emailsCount"] = []
            # Serialise under the lock: an add may update these prospects meanwhile.
            return self.json({"success": True, "list": info, "prospects": prospects})

    def _prospect_by_id(self, request: Request, account: str) -> Response:
        prospect_id = str(self._params(request).get("id") or "")
        with self._store_lock:
            self.profile_requests += 1
            where = self.by_id.get(prospect_id)
            fake_list = self.lists.get(where[0]) if where else None
            if where is None or fake_list is None or fake_list.owner != account:
                return self.failure(200, "Prospect not found")
            prospect = self._prospect_at(fake_list, where[1])
        return self.json({"success": True, "data": _profile(prospect, fake_list)})

    def _custom_fields(self, request: Request, account: str) -> Response:
        with self._store_lock:
            labels = list(self.custom_fields.get(account, []))
        return self.json(
            [
                {"key": f"customFields['{label}']", "label": label, "required": False,
                 "type": "string"}
                for label in labels
            ]
        )  # fmt: skip

    def _add_prospect(self, request: Request, account: str) -> Response:
        params = self._params(request)
        email = str(params.get("email") or "").strip().lower()
        if not EMAIL_PATTERN.match(email):
            return self.failure(422, "Email is invalid")
        with self._store_lock:
            known = {label.lower() for label in self.custom_fields.get(account, [])}
        for name in params.get("customFields") or {}:
            if str(name).lower() not in known:
                return self.failure(
                    400, f"Custom field '{name}' does not exist; create it in Snov.io first"
                )
        country = params.get("country")
        if country and not _is_country_name(str(country)):
            return self.failure(400, f"country: '{country}' is not a country name")
        with self._store_lock:
            fake_list = self._owned_list(params.get("listId"), account)
            if fake_list is None:
                return self.failure(404, "List not found")
            index = self._find(fake_list, email)
            if index is not None:
                if not _truthy(params.get("updateContact")):
                    return self.failure(422, DUPLICATE_MESSAGE)
                prospect = self._prospect_at(fake_list, index)
                self._apply(prospect, params)
                self._store(fake_list, prospect, index)
                return self.json({"success": True, "added": False, "updated": True})
            prospect = {
                "id": _prospect_id(fake_list.id, "api", email),
                "emails": [{"email": email, "probability": 100, "isVerified": None}],
                "social": {},
                "phones": [],
                "customFields": {},
            }
            self._apply(prospect, params)
            self._store(fake_list, prospect)
            self.by_id[prospect["id"]] = (fake_list.id, len(fake_list.slots) - 1)
            return self.json({"success": True, "added": True, "updated": False})

    @staticmethod
    def _apply(prospect: dict[str, Any], params: dict[str, Any]) -> None:
        """Snov.io's update: fields sent replace the stored ones, fields left out stay."""
        for key in ("firstName", "lastName", "position", "companyName", "companySite", "country"):
            if params.get(key):
                prospect[key] = str(params[key])
        full_name = params.get("fullName") or " ".join(
            part for part in (prospect.get("firstName"), prospect.get("lastName")) if part
        )
        if full_name:
            prospect["name"] = str(full_name)
        if isinstance(params.get("phones"), list) and params["phones"]:
            prospect["phones"] = [str(p) for p in params["phones"]]
        if isinstance(params.get("socialLinks"), dict):
            prospect["social"] = {**prospect.get("social", {}), **params["socialLinks"]}
        if isinstance(params.get("customFields"), dict):
            prospect["customFields"] = {
                **prospect.get("customFields", {}),
                **params["customFields"],
            }
