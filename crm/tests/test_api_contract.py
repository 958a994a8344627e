"""Schemathesis against /v1/schema: every operation, as a real user with a real API token.

No input may get a 5xx; every response must be one the schema documents (status code, body,
content type, headers); a request the schema calls valid must be accepted and one it calls
invalid refused. A stateful run then follows the schema's links (create → read, change,
delete, list, start runs) so that ids come from real objects, not from chance.

The figures (operations, cases, requests) are written to test-artifacts/contract/.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connection, transaction
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from werkzeug.test import Client as WerkzeugClient

from accounts.services import api_token_create
from integrations import providers
from integrations.records import VendorList
from leads.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "contract"
# Per operation; the coverage phase adds its own deterministic boundary cases on top.
MAX_EXAMPLES = int(os.environ.get("CONTRACT_MAX_EXAMPLES", "40"))
STATEFUL_MAX_EXAMPLES = int(os.environ.get("CONTRACT_STATEFUL_MAX_EXAMPLES", "60"))
HYPOTHESIS = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


class CountingApp:
    """The Django WSGI application, counting the requests that reach it."""

    def __init__(self, app) -> None:
        self.app = app
        self.requests = 0
        self.statuses: Counter[int] = Counter()

    def __call__(self, environ, start_response):
        self.requests += 1

        def counting_start_response(status, headers, exc_info=None):
            self.statuses[int(status.split()[0])] += 1
            return start_response(status, headers, exc_info)

        return self.app(environ, counting_start_response)


def _document() -> dict:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


DOCUMENT = _document()
APP = CountingApp(get_wsgi_application())
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.app = APP


# --- Checks -----------------------------------------------------------------------------------
# What the schema cannot say: rules that depend on what is stored, and the few that OpenAPI 3.0
# has no keyword for. A schema-valid request may be refused with a 400 for these reasons only,
# each on the field that carries it.
_SETTINGS_RULES = (
    "only for .* integrations|may not contain brackets or control|Keys and labels|At most"
    # Who new leads may go to depends on the caller's team and role (settings.assign,
    # settings.assign_to).
    "|Only a team's manager can spread|Each user must be you or|Inactive, so they cannot"
)
_CUSTOM_KEYS = r"Key .* must be 1 to 100 characters|contains a null character"
_OWNER = "^Must be you or"
RULES_BEYOND_THE_SCHEMA: dict[str, dict[str, str]] = {
    # An owner outside the caller's scope (who may or may not exist).
    "leads_list": {"min_score": "must not be greater than max_score", "user_id": _OWNER},
    "leads_stats": {"min_score": "must not be greater than max_score", "user_id": _OWNER},
    "companies_list": {"user_id": _OWNER},
    "leads_create": {
        "company_id": "No such company",
        "email": "already exists",
        "custom_attributes": _CUSTOM_KEYS,
        "user_id": _OWNER,
    },
    "leads_partial_update": {
        "company_id": "No such company",
        "email": "already exists",
        "custom_attributes": _CUSTOM_KEYS,
        "user_id": _OWNER,
    },
    # Reassignment: who may own (the scope), which ids are leads of it, one of ids or
    # filters (OpenAPI 3.0 cannot say "exactly one of these properties"), and the filters'
    # own rules.
    "leads_reassign": {
        "to_user_id": _OWNER + "|inactive",
        "lead_ids": "not leads you can reassign",
        "non_field_errors": "either lead_ids or filters",
        "min_score": "must not be greater than max_score",
        "user_id": _OWNER,
    },
    # A domain is any host or URL with a host; what makes one is not a regular expression.
    "companies_create": {"domain": "already exists|Enter a domain"},
    "companies_partial_update": {"domain": "already exists|Enter a domain"},
    # One vendor's own settings are refused for the others (the shared settings object lists
    # them all), and a custom field map's keys may not hold control characters (OpenAPI 3.0
    # has no keyword for the keys of an object).
    "integrations_create": {
        "provider": "You already have",
        "settings": _SETTINGS_RULES,
    },
    # Which credentials an integration takes depends on its provider.
    "integrations_partial_update": {
        "credentials": "Unknown for|is required",
        "settings": _SETTINGS_RULES,
    },
    "integrations_export": {
        "lead_ids": "No such leads",
        "min_score": "must not be greater than max_score",
        "user_id": _OWNER,
    },
}


def _refused_by_a_rule_beyond_the_schema(case, response) -> bool:
    rules = RULES_BEYOND_THE_SCHEMA.get(case.operation.definition.raw.get("operationId", ""), {})
    if response.status_code != 400 or not rules:
        return False
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    if not isinstance(body, dict) or not body:
        return False
    for name, messages in body.items():
        pattern = rules.get(name)
        if pattern is None or not all(re.search(pattern, m) for m in _messages(messages)):
            return False
    return True


def _messages(value) -> list[str]:
    """The messages of an error body's entry, nested objects (``settings``) included."""
    if isinstance(value, dict):
        return [m for item in value.values() for m in _messages(item)]
    if isinstance(value, list):
        return [m for item in value for m in _messages(item)]
    return [str(value)]


def positive_data_accepted_unless_a_rule_says_no(ctx, response, case):
    if _refused_by_a_rule_beyond_the_schema(case, response):
        return None
    return positive_data_acceptance(ctx, response, case)


CHECKS = dict(
    excluded_checks=[positive_data_acceptance],
    additional_checks=[positive_data_accepted_unless_a_rule_says_no],
)


# --- Fixtures ---------------------------------------------------------------------------------


class FakeVendor:
    """Stands in for Hunter, Snov.io and Instantly: the fuzzer must never reach the internet."""

    def check(self) -> None:
        return None

    def lists(self) -> list[VendorList]:
        return [VendorList(id="1", name="Fair 2026", count=3)]


@pytest.fixture
def served(db, settings, monkeypatch):
    """The Django WSGI app served in this thread, inside the test's transaction."""
    settings.API_RATE_LIMIT = "1000000/min"
    monkeypatch.setattr(providers, "client_for", lambda integration, **kw: FakeVendor())
    # Like Django's test client: no connection closing between requests, so the test's
    # transaction stays open and is rolled back at the end.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_token(served):
    """A real user and Bearer token."""
    user = UserFactory(username="contract-fuzzer")
    _, raw = api_token_create(user=user, name="schemathesis")
    return raw


def _record(name: str, figures: dict) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")
    (ARTIFACTS / f"{safe}.json").write_text(json.dumps(figures, indent=1, sort_keys=True))
    print(f"\n[contract] {name}: {json.dumps(figures, sort_keys=True)}")


@pytest.fixture
def counted(request):
    """Counts the cases and requests of one test and records them."""
    figures = {"cases": 0}
    requests_before = APP.requests
    statuses_before = Counter(APP.statuses)
    started = time.monotonic()
    yield figures
    figures["requests"] = APP.requests - requests_before
    figures["seconds"] = round(time.monotonic() - started, 1)
    figures["statuses"] = {
        str(code): count for code, count in sorted((APP.statuses - statuses_before).items())
    }
    _record(request.node.name, figures)


# --- Tests ------------------------------------------------------------------------------------


def test_the_fuzzed_schema_is_the_served_one(db):
    user = UserFactory(username="schema-reader")
    _, raw = api_token_create(user=user, name="schema")
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/v1/schema", {"format": "json"})
    assert response.status_code == 200
    assert json.loads(response.content) == DOCUMENT


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, **HYPOTHESIS)
def test_every_operation_keeps_the_contract(case, fuzz_token, counted):
    counted["cases"] += 1
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_token}"}, **CHECKS)


def _sequences() -> list[tuple[str, int | None]]:
    """PostgreSQL's id sequences, which a rollback does not rewind: a replayed scenario must
    see the same ids as its first run, or Hypothesis finds it generated different data."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value "
            "FROM pg_sequences"
        )
        return list(cursor.fetchall())


def _restore_sequences(sequences: list[tuple[str, int | None]]) -> None:
    with connection.cursor() as cursor:
        for name, last_value in sequences:
            if last_value is None:
                cursor.execute("SELECT setval(%s, 1, false)", [name])
            else:
                cursor.execute("SELECT setval(%s, %s, true)", [name, last_value])


@pytest.mark.slow
def test_stateful_links_keep_the_contract(fuzz_token, counted):
    headers = {"Authorization": f"Bearer {fuzz_token}"}
    links = sum(
        len(response.get("links", {}))
        for operations in DOCUMENT["paths"].values()
        for operation in operations.values()
        for response in operation["responses"].values()
    )
    assert links >= 20, "the schema's links drive this test"
    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[valid-type]
        # Every scenario starts from the same database: Hypothesis replays a scenario to shrink
        # it, and the replay must see what the first run saw.
        def setup(self):
            super().setup()
            self.savepoint = transaction.savepoint()
            self.sequences = _sequences()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)
            _restore_sequences(self.sequences)
            super().teardown()

        def get_call_kwargs(self, case):
            return {"headers": headers}

        def after_call(self, response, case):
            super().after_call(response, case)
            counted["cases"] += 1

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response,
                headers=headers,
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
                **CHECKS,
            )

    Machine.run(
        settings=settings(max_examples=STATEFUL_MAX_EXAMPLES, stateful_step_count=8, **HYPOTHESIS)
    )
    counted["links"] = links


# --- Every documented status is real ----------------------------------------------------------


class Api:
    """Bearer-token requests by operationId, with the path's {id} filled in (through WSGI, so
    that Schemathesis can check the responses)."""

    def __init__(self, raw_token: str | None) -> None:
        self.headers = {"Authorization": f"Bearer {raw_token}"} if raw_token else {}
        self.client = WerkzeugClient(APP)

    def call(self, operation_id: str, *, id: int | None = None, query=None, body=None):
        path, method = OPERATIONS[operation_id]
        kwargs = {"method": method.upper(), "headers": self.headers, "query_string": query}
        if method in ("post", "patch") and body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return self.client.open(path.replace("{id}", str(id)), **kwargs)


OPERATIONS = {
    operation["operationId"]: (path, method)
    for path, methods in DOCUMENT["paths"].items()
    for method, operation in methods.items()
}


class RefusingVendor(FakeVendor):
    def lists(self):
        from integrations.http import AuthError

        raise AuthError("Invalid API key", status=401)


@pytest.fixture
def world(served, settings, monkeypatch):
    """One user with one of everything, and a way to make fresh objects to delete."""
    from integrations import engine, services
    from leads.tests.factories import CompanyFactory, make_lead

    user = UserFactory(username="documented")
    _, raw = api_token_create(user=user, name="statuses")
    company = CompanyFactory(user=user, name="Busy Co", domain="busy.example")
    lead = make_lead(user=user, company=company, email="one@busy.example")

    def integration(provider="hunter"):
        return services.integration_create(
            user=user, provider=provider, credentials={"api_key": "k" * 20}, settings={}
        )

    hunter = integration("hunter")
    run = engine.run_claim(integration=hunter, direction="import")
    # The user manages a team with one rep: reassignment needs both.
    from leads.models import Role, Team, TeamMembership

    team = Team.objects.create(name="Documented")
    rep = UserFactory(username="documented-rep")
    TeamMembership.objects.create(user=user, team=team, role=Role.MANAGER)
    TeamMembership.objects.create(user=rep, team=team, role=Role.REP)
    _, rep_raw = api_token_create(user=rep, name="statuses")
    return {
        "user": user, "raw": raw, "api": Api(raw), "company": company, "lead": lead,
        "rep": rep, "rep_api": Api(rep_raw),
        "hunter": hunter, "run": run, "integration": integration, "monkeypatch": monkeypatch,
        "settings": settings, "CompanyFactory": CompanyFactory, "make_lead": make_lead,
    }  # fmt: skip


def _id_for(operation_id: str, w: dict) -> int | None:
    path = OPERATIONS[operation_id][0]
    if "{id}" not in path:
        return None
    for prefix, key in [("/v1/leads/", "lead"), ("/v1/companies/", "company"),
                        ("/v1/integrations/", "hunter"), ("/v1/sync-runs/", "run")]:  # fmt: skip
        if path.startswith(prefix):
            return w[key].pk
    raise AssertionError(f"no object for {path}")


def _success(operation_id: str, w: dict):
    """The operation's documented success, done for real."""
    api, user = w["api"], w["user"]
    special = {
        "leads_create": lambda: api.call(operation_id, body={"company_id": w["company"].pk}),
        "companies_create": lambda: api.call(operation_id, body={"name": "New Co"}),
        "integrations_create": lambda: api.call(
            operation_id, body={"provider": "instantly", "credentials": {"api_key": "x" * 12}}
        ),
        "leads_destroy": lambda: api.call(
            operation_id, id=w["make_lead"](user=user, company=w["company"]).pk
        ),
        "companies_destroy": lambda: api.call(
            operation_id, id=w["CompanyFactory"](user=user, name="Empty").pk
        ),
        "integrations_destroy": lambda: api.call(operation_id, id=w["integration"]("snovio").pk),
        "integrations_export": lambda: api.call(
            operation_id, id=w["hunter"].pk, body={"lead_ids": [w["lead"].pk]}
        ),
        "integrations_import": lambda: api.call(operation_id, id=w["integration"]("instantly").pk),
        "leads_reassign": lambda: api.call(
            operation_id,
            body={
                "to_user_id": w["rep"].pk,
                "lead_ids": [w["make_lead"](user=user, company=w["company"]).pk],
            },
        ),
    }
    if operation_id in special:
        return special[operation_id]()
    method = OPERATIONS[operation_id][1]
    body = {} if method in ("post", "patch") else None
    return api.call(operation_id, id=_id_for(operation_id, w), body=body)


def _error(operation_id: str, status: int, w: dict):
    api = w["api"]
    method = OPERATIONS[operation_id][1]
    object_id = _id_for(operation_id, w)
    if status == 401:
        return Api(None).call(operation_id, id=object_id, body={})
    if status == 404:
        return api.call(operation_id, id=10**12, body={})
    if status == 429:
        w["settings"].API_RATE_LIMIT = "1/min"
        api.call(operation_id, id=object_id, body={})
        return api.call(operation_id, id=object_id, body={})
    if status == 400:
        if method == "get":
            return api.call(operation_id, id=object_id, query={"bogus": "1"})
        return api.call(operation_id, id=object_id, body={"bogus": 1})
    if status == 413:
        limit = w["settings"].DATA_UPLOAD_MAX_MEMORY_SIZE
        return api.call(operation_id, id=object_id, body={"notes": "x" * (limit + 1)})
    if (operation_id, status) == ("companies_destroy", 409):
        return api.call(operation_id, id=w["company"].pk)
    if (operation_id, status) == ("integrations_import", 409):
        return api.call(operation_id, id=w["hunter"].pk)  # its import is queued
    if (operation_id, status) == ("integrations_export", 409):
        api.call(operation_id, id=w["hunter"].pk, body={})
        return api.call(operation_id, id=w["hunter"].pk, body={})
    if (operation_id, status) == ("leads_reassign", 403):
        return w["rep_api"].call(operation_id, body={"to_user_id": w["user"].pk, "lead_ids": [1]})
    if (operation_id, status) == ("leads_reassign", 409):
        rep = w["rep"]
        w["make_lead"](user=rep, company=w["CompanyFactory"](user=rep), email="one@busy.example")
        return api.call(operation_id, body={"to_user_id": rep.pk, "lead_ids": [w["lead"].pk]})
    if (operation_id, status) == ("integrations_lists", 424):
        w["monkeypatch"].setattr(providers, "client_for", lambda i, **kw: RefusingVendor())
        return api.call(operation_id, id=object_id)
    raise AssertionError(f"no way to make {operation_id} answer {status}: add one here")


# 414 is gunicorn's answer, before the app is called: test_schema_statuses.py sends every
# operation an over-long request line through gunicorn itself.
DOCUMENTED = sorted(
    (operation["operationId"], int(status))
    for methods in DOCUMENT["paths"].values()
    for operation in methods.values()
    for status in operation["responses"]
    if status != "414"
)


@pytest.mark.parametrize(("operation_id", "status"), DOCUMENTED)
def test_every_documented_status_is_real(world, clock, operation_id, status):
    """Each status the schema promises happens, with the documented body and headers.

    The rate counters' clock stands still: a 429 is two calls in one window (CI once saw
    the second call land in a new minute and go through)."""
    response = (
        _success(operation_id, world) if status < 300 else _error(operation_id, status, world)
    )
    assert response.status_code == status, (operation_id, response.get_data())
    operation = schema[OPERATIONS[operation_id][0]][OPERATIONS[operation_id][1].upper()]
    operation.validate_response(response)
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if status == 429:
        assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("time_zone", ["UTC", "Pacific/Kiritimati", "Etc/GMT+12"])
def test_the_first_and_last_day_are_filters_like_any_other(world, settings, time_zone):
    """0001-01-01 and 9999-12-31 are valid dates: a filter on them is no 500, in any zone."""
    settings.TIME_ZONE = time_zone
    dated = [
        (operation["operationId"], parameter["name"])
        for methods in DOCUMENT["paths"].values()
        for operation in methods.values()
        for parameter in operation.get("parameters", [])
        if parameter["schema"].get("format") == "date"
    ]
    assert dated
    for operation_id, name in dated:
        for day in ["0001-01-01", "0001-01-02", "9999-12-30", "9999-12-31"]:
            response = world["api"].call(operation_id, query={name: day})
            assert response.status_code == 200, (operation_id, name, day, response.get_data())
    client = Client()
    client.force_login(world["user"])
    for page in ["/leads/", "/board/", "/dashboard/", "/leads/export.csv"]:
        for query in ["created_after=0001-01-01", "created_before=9999-12-31"]:
            response = client.get(f"{page}?{query}")
            assert response.status_code == 200, (page, query)
