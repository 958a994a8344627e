"""User B against user A's objects on every operation of the API and every page of the UI.

B is a stranger to A, a rep of A's own team (a rep sees no teammate's objects), or the
manager of another team (a manager sees only their own team's).

The operations come from the generated OpenAPI document and the pages from the URL conf, so a
new endpoint or page is covered the day it is added (or the test names what it cannot cover).
Everywhere: B gets the 404 a missing id gets, byte for byte; nothing of A's changes; no list,
filter or search of B's shows an id of A's, and filtering by A's ids answers as for ids that
exist for nobody.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from accounts.models import ApiToken
from accounts.services import api_token_create
from csvimport.models import CsvImport
from integrations import engine, providers, services
from integrations.models import ExternalLink, Integration, SyncFailure, SyncRun
from leads.models import Company, Lead, LeadEvent, Role, Team, TeamMembership
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MISSING = 10**9  # an id nobody has
SECRET = "Zanzibar-Secret"


def _document() -> dict:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


def _record(name: str, figures: dict) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"isolation-{name}.json").write_text(json.dumps(figures, indent=1))
    print(f"\n[isolation] {name}: {json.dumps(figures)}")


def _world(user, tag: str) -> dict:
    """One of everything a user can own."""
    company = CompanyFactory(user=user, name=f"{tag} Co", domain=f"{tag.lower()}.example")
    lead = make_lead(user=user, company=company, email=f"hidden@{tag.lower()}.example",
                     first_name=tag, custom_attributes={"plan": tag})  # fmt: skip
    make_lead(user=user, company=company, email=f"second@{tag.lower()}.example")
    integration = services.integration_create(
        user=user, provider="hunter", credentials={"api_key": "k" * 20}, settings={}
    )
    run = engine.run_claim(integration=integration, direction="import")
    export = engine.run_claim(integration=integration, direction="export")
    SyncRun.objects.filter(pk=export.pk).update(state=SyncRun.State.PARTIAL)
    SyncFailure.objects.create(run=export, record=f"x@{tag.lower()}.example", detail="refused")
    ExternalLink.objects.create(integration=integration, vendor_id=f"v-{tag}", lead=lead)
    token, _ = api_token_create(user=user, name=f"{tag} token")
    upload = CsvImport.objects.create(
        user=user, filename=f"{tag}.csv", content="email\na@b.c\n", total_rows=1
    )
    return {"user": user, "company": company, "lead": lead, "integration": integration,
            "run": run, "export": export, "token": token, "upload": upload}  # fmt: skip


@pytest.fixture
def alice(db):
    return _world(UserFactory(username="alice-owner"), SECRET)


class FakeVendor:
    def check(self) -> None:
        return None

    def lists(self):
        return []


# How B stands to A.
RELATIONS = ["strangers", "teammates", "other-team-manager"]


def _join(user, team: Team, role: str) -> None:
    TeamMembership.objects.create(user=user, team=team, role=role)


@pytest.fixture(params=RELATIONS)
def bob(request, alice, settings, monkeypatch):
    settings.API_RATE_LIMIT = "1000000/min"
    # B's own integration answers without the internet.
    monkeypatch.setattr(providers, "client_for", lambda integration, **kw: FakeVendor())
    world = _world(UserFactory(username="bob-intruder"), "Bobs")
    if request.param == "teammates":
        team = Team.objects.create(name="A and B")
        _join(alice["user"], team, Role.REP)
        _join(world["user"], team, Role.REP)
    elif request.param == "other-team-manager":
        _join(alice["user"], Team.objects.create(name="A's"), Role.REP)
        team = Team.objects.create(name="B's")
        _join(world["user"], team, Role.MANAGER)
        # B's scope is more than B: a member with a lead of their own.
        carol = UserFactory(username="carol-of-b")
        _join(carol, team, Role.REP)
        make_lead(user=carol, email="carol@b.example")
    _, raw = api_token_create(user=world["user"], name="intruder")
    world["api"] = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    world["web"] = Client()
    world["web"].force_login(world["user"])
    return world


def _snapshot(user) -> dict:
    """Every row of A's, as stored."""
    owned = {
        Company: {"user": user}, Lead: {"user": user}, LeadEvent: {"lead__user": user},
        Integration: {"user": user}, SyncRun: {"user": user},
        SyncFailure: {"run__user": user}, ExternalLink: {"integration__user": user},
        ApiToken: {"user": user}, CsvImport: {"user": user},
    }  # fmt: skip
    return {
        model.__name__: list(model.objects.filter(**where).order_by("pk").values())
        for model, where in owned.items()
    }


def _ids_of(world: dict, segment: str) -> set[int]:
    """A user's ids of the objects a list endpoint (named by its path segment) returns."""
    user = world["user"]
    if segment in ("users", "me"):
        return {user.pk}
    models = {"leads": Lead, "companies": Company, "integrations": Integration,
              "sync-runs": SyncRun}  # fmt: skip
    return set(models[segment].objects.filter(user=user).values_list("pk", flat=True))


# --- The API, from the OpenAPI document -------------------------------------------------------

# Which of A's objects an {id} in a path names, by the path's first segment after /v1/.
PATH_OBJECTS = {"leads": "lead", "companies": "company", "integrations": "integration",
                "sync-runs": "export"}  # fmt: skip
# Bodies that would change A's object if ownership were not checked.
BODIES = {
    ("patch", "lead"): {"status": "lost", "notes": "pwned", "custom_attributes": {"x": "y"}},
    ("patch", "company"): {"name": "pwned", "domain": "pwned.example"},
    ("patch", "integration"): {"settings": {"schedule": "daily", "import_list_id": "1"}},
}


def _api(client: Client, method: str, url: str, body=None, query=None):
    if method == "get":
        return client.get(url, query or {})
    if method == "delete":
        return client.delete(url)
    data = json.dumps(body) if body is not None else ""
    return getattr(client, method)(url, data, content_type="application/json")


def _same_404(theirs, nobody, what) -> None:
    assert theirs.status_code == 404, (what, theirs.status_code, theirs.content)
    assert theirs.content == nobody.content, what
    assert dict(theirs.headers) == dict(nobody.headers), what


def test_every_api_operation_on_another_users_id_is_the_missing_404(alice, bob):
    before = _snapshot(alice["user"])
    exercised = []
    for path, methods in _document()["paths"].items():
        if "{id}" not in path:
            continue
        segment = path.split("/")[2]
        assert segment in PATH_OBJECTS, f"{path}: say which object its id names in PATH_OBJECTS"
        kind = PATH_OBJECTS[segment]
        for method in methods:
            body = BODIES.get((method, kind), {})
            theirs = _api(bob["api"], method, path.replace("{id}", str(alice[kind].pk)), body)
            nobody = _api(bob["api"], method, path.replace("{id}", str(MISSING)), body)
            _same_404(theirs, nobody, (method, path))
            if method == "get":
                own = _api(bob["api"], method, path.replace("{id}", str(bob[kind].pk)))
                assert own.status_code == 200, (path, own.content)  # the 404 is not a mistake
            exercised.append(f"{method.upper()} {path}")
    assert _snapshot(alice["user"]) == before
    assert len(exercised) >= 17
    _record("api-ids", {"operations": len(exercised), "calls": 2 * len(exercised)})


# Values of A's for every query parameter that can name or find A's data, and a value that
# names or finds nothing of anybody's.
FILTERS = {
    "company_id": (lambda a: a["company"].pk, MISSING),
    "integration_id": (lambda a: a["integration"].pk, MISSING),
    "email": (lambda a: a["lead"].email, "nobody@nowhere.example"),
    "domain": (lambda a: a["company"].domain, "nowhere.example"),
    "q": (lambda a: SECRET, "Nobody-Nothing"),
    "user_id": (lambda a: a["user"].pk, MISSING),
}
# Parameters refused (400) for a value outside the caller's scope, exactly as for nobody's.
REFUSED_OUTSIDE = {"user_id"}
# Parameters that cannot point at another user's data.
HARMLESS = {"status", "state", "min_score", "max_score", "created_after", "created_before",
            "do_not_contact", "email_status", "limit", "cursor", "group_by"}  # fmt: skip


def _data_ids(response) -> set[int]:
    body = response.json()
    return {row["id"] for row in body.get("data", [])} if isinstance(body, dict) else set()


def test_no_list_filter_or_search_reveals_another_users_data(alice, bob):
    before = _snapshot(alice["user"])
    tried = 0
    for path, methods in _document()["paths"].items():
        operation = methods.get("get")
        if operation is None or "{id}" in path:
            continue
        theirs_ids = _ids_of(alice, path.split("/")[2])
        everything = bob["api"].get(path)
        assert everything.status_code == 200, path
        assert not _data_ids(everything) & theirs_ids, path
        assert SECRET.lower() not in everything.content.decode().lower(), path
        for parameter in operation.get("parameters", []):
            name = parameter["name"]
            if name in HARMLESS:
                continue
            assert name in FILTERS, f"{path}?{name}: add A's value and a nobody value to FILTERS"
            of_alice, of_nobody = FILTERS[name]
            theirs = bob["api"].get(path, {name: of_alice(alice)})
            nobody = bob["api"].get(path, {name: of_nobody})
            expected = 400 if name in REFUSED_OUTSIDE else 200
            assert theirs.status_code == expected, (path, name, theirs.content)
            # Filtering by another user's company (or email, ...) is filtering by a missing one.
            assert theirs.content == nobody.content, (path, name)
            assert not _data_ids(theirs) & theirs_ids
            tried += 1
        if any(p["name"] == "group_by" for p in operation.get("parameters", [])):
            # The figures per owner name nobody outside B's scope.
            grouped = bob["api"].get(path, {"group_by": "user"})
            assert grouped.status_code == 200, (path, grouped.content)
            assert str(alice["user"].pk) not in grouped.json()["by_user"], path
            assert str(bob["user"].pk) in grouped.json()["by_user"], path
    assert tried >= 9
    assert _snapshot(alice["user"]) == before
    _record("api-filters", {"filtered_requests": tried})


# Body fields that take an id of the user's own objects, and which of A's to put there.
BODY_IDS = {
    "company_id": lambda a: a["company"].pk,
    "lead_ids": lambda a: [a["lead"].pk],
    "user_id": lambda a: a["user"].pk,
    "to_user_id": lambda a: a["user"].pk,
}


def _body_properties(schema: dict, components: dict) -> set[str]:
    if "$ref" in schema:
        return _body_properties(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    names = set(schema.get("properties", {}))
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []) + schema.get("allOf", []):
        names |= _body_properties(branch, components)
    return names


def test_no_body_can_point_at_another_users_objects(alice, bob):
    """A's company for a lead, A's leads for an export: refused exactly like missing ids."""
    before = _snapshot(alice["user"])
    document = _document()
    components = document["components"]["schemas"]
    tried = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            for name in sorted(_body_properties(content["application/json"]["schema"], components)):
                if not re.search(r"_ids?$", name):
                    continue
                assert name in BODY_IDS, f"{method} {path}: {name} names objects; add to BODY_IDS"
                segment = path.split("/")[2]
                url = path.replace("{id}", str(bob[PATH_OBJECTS[segment]].pk))
                value = BODY_IDS[name](alice)
                missing = [MISSING] if isinstance(value, list) else MISSING
                theirs = _undone(bob["api"], method, url, {name: value})
                nobody = _undone(bob["api"], method, url, {name: missing})
                assert theirs.status_code == nobody.status_code, (method, path, name)
                # 403: reassignment, refused to anyone who manages no team before any id is
                # read (identical for a missing id, checked above).
                assert theirs.status_code in (400, 202, 403), (method, path, name, theirs.content)
                shown = str(value[0] if isinstance(value, list) else value)
                # The message may repeat the id the caller sent, and a run started has an id
                # of its own; nothing else may differ.
                assert _comparable(theirs, shown) == _comparable(nobody, str(MISSING)), (
                    method,
                    path,
                    name,
                )
                tried.append(f"{method.upper()} {path} {name} -> {theirs.status_code}")
    # A lead in A's company and an export of A's leads are refused; an export of B's leads in
    # A's company is an export of nothing, like one filtered by a missing company.
    assert {"400", "202"} <= {t.rsplit(" ", 1)[-1] for t in tried} <= {"400", "202", "403"}, tried
    assert len(tried) >= 4, tried
    assert _snapshot(alice["user"]) == before
    _record("api-body-ids", {"requests": 2 * len(tried), "cases": tried})


def _comparable(response, sent: str):
    body = json.loads(response.content.decode().replace(sent, "N"))
    if response.status_code < 300:
        body = {k: v for k, v in body.items() if k != "id"}
    return body


def _undone(client: Client, method: str, url: str, body: dict):
    """Make a request, then roll back what it stored (each call starts from the same state)."""
    savepoint = transaction.savepoint()
    try:
        return _api(client, method, url, body)
    finally:
        transaction.savepoint_rollback(savepoint)


# --- The web UI, from the URL conf ------------------------------------------------------------

# Which of A's objects a page's <int:id> names, by the route's beginning (first match wins).
ROUTE_OBJECTS = [
    ("leads/import/", "upload"),
    ("leads/", "lead"),
    ("companies/", "company"),
    ("integrations/", "integration"),
    ("sync-runs/", "run"),
    ("settings/tokens/", "token"),
    ("team/members/", "user"),  # a member of the manager's team
]
# Values for a route's other parameters.
ROUTE_ARGUMENTS = {"name": "first_name", "direction": "import"}
# The API (above) and Django's admin (staff only; B is not staff) are not pages of the UI.
NOT_UI = ("v1/", "admin/")
FORM = {"value": "pwned", "status": "lost", "name": "pwned", "first_name": "pwned",
        "schedule": "daily", "confirm": "1", "mapping": "{}"}  # fmt: skip


def _routes(patterns=None, prefix: str = ""):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route


def _without_csrf(html: bytes) -> bytes:
    # The CSRF token is masked differently in every response; everything else must match.
    return re.sub(
        rb'(csrf-token" content="|X-CSRFToken": "|csrfmiddlewaretoken" value=")[^"]+', rb"\1", html
    )


def test_every_page_with_an_id_is_the_missing_404_for_another_user(alice, bob):
    before = _snapshot(alice["user"])
    exercised = []
    for route in _routes():
        if route.startswith(NOT_UI) or "<int:id>" not in route:
            assert not re.search(r"<int:|<\w*id>", route) or route.startswith(NOT_UI), (
                f"{route}: an object route without <int:id>; teach this test its object"
            )
            continue
        kind = next((k for start, k in ROUTE_OBJECTS if route.startswith(start)), None)
        assert kind, f"{route}: say which object its id names in ROUTE_OBJECTS"
        arguments = {}
        for name in re.findall(r"<(?:\w+:)?(\w+)>", route):
            if name != "id":
                assert name in ROUTE_ARGUMENTS, f"{route}: add a value for <{name}>"
                arguments[name] = ROUTE_ARGUMENTS[name]

        def url(object_id, route=route, arguments=arguments):
            filled = re.sub(r"<int:id>", str(object_id), route)
            for name, value in arguments.items():
                filled = re.sub(rf"<(?:\w+:)?{name}>", value, filled)
            return "/" + filled

        statuses = set()
        for method in ("get", "post"):
            data = FORM if method == "post" else None
            theirs = getattr(bob["web"], method)(url(alice[kind].pk), data)
            nobody = getattr(bob["web"], method)(url(MISSING), data)
            # 405 for a method the page does not take at all, before any lookup.
            assert theirs.status_code in (404, 405), (method, route, theirs.status_code)
            assert theirs.status_code == nobody.status_code, (method, route)
            assert _without_csrf(theirs.content) == _without_csrf(nobody.content), (method, route)
            statuses.add(theirs.status_code)
            exercised.append(f"{method.upper()} /{route}")
        assert 404 in statuses, route
    assert len(exercised) >= 30, exercised
    assert _snapshot(alice["user"]) == before
    _record("ui-ids", {"routes": len(exercised) // 2, "requests": 2 * len(exercised)})


def test_export_selected_ignores_another_users_leads_and_integration(alice, bob):
    before = _snapshot(alice["user"])
    web = bob["web"]
    runs_before = SyncRun.objects.count()
    # B's own integration with A's lead ids: exactly what missing ids get, and no run.
    responses = []
    for lead_id in (alice["lead"].pk, MISSING):
        fresh = Client()  # messages of one request only
        fresh.force_login(bob["user"])
        response = fresh.post(
            "/integrations/export/",
            {"integration": bob["integration"].pk, "lead_ids": [lead_id], "next": "/leads/"},
        )
        responses.append(
            (response.status_code, response.get("Location"),
             [str(m) for m in get_messages(response.wsgi_request)])
        )  # fmt: skip
    assert responses[0] == responses[1]
    assert responses[0][0] == 302 and "exist" in " ".join(responses[0][2])
    # A's integration: the 404 of a missing one.
    theirs = web.post("/integrations/export/", {"integration": alice["integration"].pk})
    nobody = web.post("/integrations/export/", {"integration": MISSING})
    assert theirs.status_code == 404
    assert _without_csrf(theirs.content) == _without_csrf(nobody.content)
    # The list page's bulk actions and the board's move, with A's lead.
    web.post("/leads/bulk/", {"ids": [alice["lead"].pk], "action": "status", "status": "lost"})
    web.post("/leads/bulk/", {"ids": [alice["lead"].pk], "action": "delete", "confirm": "1"})
    assert web.post("/board/move/", {"lead": alice["lead"].pk, "status": "lost"}).status_code == 404
    assert SyncRun.objects.count() == runs_before
    assert _snapshot(alice["user"]) == before
