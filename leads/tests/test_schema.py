"""The OpenAPI schema is valid, complete, and describes what the API really returns."""

from __future__ import annotations

import copy
import re

import jsonschema
import pytest
import yaml
from django.core.management import call_command
from django.test import Client

from leads.models import Role, Team, TeamMembership
from leads.tests.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api):
    response = api.get("/v1/schema", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_generates_without_warnings_and_validates(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    document = yaml.safe_load((tmp_path / "s.yml").read_text())
    paths = set(document["paths"])
    assert {
        "/v1/leads",
        "/v1/leads/{id}",
        "/v1/leads/{id}/history",
        "/v1/leads/stats",
        "/v1/companies",
        "/v1/companies/{id}",
    } <= paths


def test_schema_documents_every_list_parameter_and_error(schema):
    operation = schema["paths"]["/v1/leads"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert names == {
        "status", "company_id", "min_score", "max_score", "created_after", "created_before",
        "q", "email", "do_not_contact", "email_status", "user_id", "cursor", "limit",
    }  # fmt: skip
    stats = {p["name"] for p in schema["paths"]["/v1/leads/stats"]["get"]["parameters"]}
    assert stats == names - {"cursor", "limit"} | {"group_by"}
    companies = {p["name"] for p in schema["paths"]["/v1/companies"]["get"]["parameters"]}
    assert companies == {"q", "domain", "user_id", "cursor", "limit"}
    users = schema["paths"]["/v1/users"]["get"]
    assert {p["name"] for p in users["parameters"]} == {"cursor", "limit"}
    assert {"200", "400", "401", "429"} <= set(users["responses"])
    assert {"200", "400", "401", "429"} <= set(schema["paths"]["/v1/me"]["get"]["responses"])
    assert {"200", "400", "401", "429"} <= set(operation["responses"])
    assert "409" in schema["paths"]["/v1/companies/{id}"]["delete"]["responses"]
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def _to_json_schema(node, components):
    """OpenAPI 3.0 schema → JSON Schema: resolve $ref, turn `nullable` into a null type."""
    if isinstance(node, list):
        return [_to_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _to_json_schema(copy.deepcopy(components[name]), components)
    out = {key: _to_json_schema(value, components) for key, value in node.items()}
    if out.pop("nullable", False):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def _response_schema(schema, path, method, status):
    content = schema["paths"][path][method]["responses"][str(status)]["content"]
    raw = content["application/json"]["schema"]
    resolved = _to_json_schema(raw, schema["components"]["schemas"])
    # Every documented object must match exactly: no field the schema does not list.
    _close_objects(resolved)
    return resolved


def _close_objects(node):
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            node.setdefault("additionalProperties", False)
            # Every field, unless the schema says which (a field only some answers have,
            # such as the stats' by_user, is left out of its list on purpose).
            node.setdefault("required", list(node["properties"]))
        for value in node.values():
            _close_objects(value)
    elif isinstance(node, list):
        for value in node:
            _close_objects(value)


def test_real_responses_match_the_schema(api, company, schema):
    lead = make_lead(user=api.user, company=company, email="x@y.com", custom_attributes={"a": "b"})
    api.patch(f"/v1/leads/{lead.pk}", {"status": "lost"})
    team = Team.objects.create(name="Sales")
    TeamMembership.objects.create(user=api.user, team=team, role=Role.MANAGER)
    grouped = api.get("/v1/leads/stats", {"group_by": "user"})
    assert grouped.json()["by_user"][str(api.user.pk)]["total"] == 1
    bad_owner = api.get("/v1/leads", {"user_id": "99999"})
    cases = [
        ("/v1/me", "get", api.get("/v1/me"), 200),
        ("/v1/users", "get", api.get("/v1/users"), 200),
        ("/v1/leads/stats", "get", grouped, 200),
        ("/v1/leads", "get", bad_owner, 400),
        ("/v1/leads", "get", api.get("/v1/leads"), 200),
        ("/v1/leads/{id}", "get", api.get(f"/v1/leads/{lead.pk}"), 200),
        ("/v1/leads/{id}/history", "get", api.get(f"/v1/leads/{lead.pk}/history"), 200),
        ("/v1/leads/stats", "get", api.get("/v1/leads/stats"), 200),
        ("/v1/companies", "get", api.get("/v1/companies"), 200),
        ("/v1/companies/{id}", "get", api.get(f"/v1/companies/{company.pk}"), 200),
        ("/v1/leads", "post", api.post("/v1/leads", {"company_id": company.pk}), 201),
        ("/v1/companies", "post", api.post("/v1/companies", {"name": "N"}), 201),
        ("/v1/companies/{id}", "delete", api.delete(f"/v1/companies/{company.pk}"), 409),
        ("/v1/leads/{id}", "get", api.get("/v1/leads/999999"), 404),
        ("/v1/leads", "get", Client().get("/v1/leads"), 401),
    ]
    for path, method, response, status in cases:
        assert response.status_code == status, (path, method, response.content)
        jsonschema.validate(response.json(), _response_schema(schema, path, method, status))


def test_docs_are_served_locally(api):
    client = Client()
    response = client.get("/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"(src|href)=\"https?://", html), "docs must not load from a CDN"
    assets = re.findall(r"(/static/drf_spectacular_sidecar/[^\"']+)", html)
    assert assets
    for asset in set(assets):
        assert client.get(asset).status_code == 200, asset


def test_every_body_with_required_fields_is_itself_required(schema):
    """A client (or schemathesis) may otherwise send no body at all and call that valid:
    the integration create body, a oneOf per provider, lost its `required` that way."""
    components = schema["components"]["schemas"]
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if body is None or method == "patch":
                continue
            ref = body["content"]["application/json"]["schema"].get("$ref", "")
            component = components.get(ref.rsplit("/", 1)[-1], {})
            if component.get("required"):
                assert body.get("required") is True, (method, path)
    assert schema["paths"]["/v1/integrations"]["post"]["requestBody"]["required"] is True


def test_the_schema_is_built_once_per_process_and_served_from_memory(client, monkeypatch):
    """Building it walks every view (about 30 ms); an anonymous loop must not cost that."""
    from drf_spectacular.generators import SchemaGenerator

    from crm.schema import CachedSchemaView

    monkeypatch.setattr(CachedSchemaView, "_schema", None)
    monkeypatch.setattr(CachedSchemaView, "_rendered", {})
    built = []
    real = SchemaGenerator.get_schema

    def counting(self, *args, **kwargs):
        built.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counting)
    first = client.get("/v1/schema")
    for version in ("", "1", "x" * 50):
        again = client.get("/v1/schema", {"version": version} if version else {})
        assert again.status_code == 200
        assert again.content == first.content
    for _ in range(2):  # built, then from memory: the same body and content type
        as_json = client.get("/v1/schema", {"format": "json"})
        assert as_json.json()["openapi"].startswith("3.")
    assert again["Content-Type"] == first["Content-Type"]
    assert client.get("/v1/schema", HTTP_ACCEPT="application/json; indent=2").status_code == 200
    assert len(built) == 1
    assert len(CachedSchemaView._rendered) == 2
