"""The Instantly client's request bodies checked against the shapes Instantly publishes.

The shapes are written down here from Instantly's own SDK generated from its OpenAPI
(github.com/Instantly-ai/instantly-starter-kit: python/sdk/instantly/generated/models.py and
js/sdk/src/generated/operations.ts, as summarised in docs/vendors.md) and its API reference
for the endpoints the SDK summary does not list (``/leads/move``). Only names and JSON types
are checked; a field the client sends that the shape does not know fails the test, so a body
cannot drift from the vendor's schema unseen.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from integrations.instantly import InstantlyClient
from integrations.records import ExportLead

BASE = "https://instantly.invalid/api/v2"
STR, INT, BOOL, OBJ, LIST = str, int, bool, dict, list

# POST /leads/add: one lead of "leads" (core fields on the lead, the rest in custom_variables).
BULK_LEAD = {
    "email": STR, "first_name": STR, "last_name": STR, "company_name": STR, "job_title": STR,
    "phone": STR, "website": STR, "personalization": STR, "custom_variables": OBJ,
}  # fmt: skip
BULK_ADD = {
    "leads": LIST, "campaign_id": STR, "list_id": STR, "skip_if_in_workspace": BOOL,
    "skip_if_in_campaign": BOOL, "skip_if_in_list": BOOL, "blocklist_id": STR,
    "assigned_to": STR, "verify_leads_on_import": BOOL,
}  # fmt: skip
# PATCH /leads/{id}
PATCH_LEAD = {
    "first_name": STR, "last_name": STR, "company_name": STR, "job_title": STR, "phone": STR,
    "website": STR, "personalization": STR, "lt_interest_status": INT, "pl_value_lead": STR,
    "assigned_to": STR, "custom_variables": OBJ,
}  # fmt: skip
# POST /leads/move
MOVE = {"ids": LIST, "to_campaign_id": STR, "to_list_id": STR, "copy_leads": BOOL}
# POST /leads/update-interest-status
INTEREST = {"lead_email": STR, "interest_value": INT, "campaign_id": STR, "list_id": STR}
# POST /leads/list
LIST_LEADS = {
    "limit": INT, "starting_after": STR, "list_id": STR, "campaign": STR, "contacts": LIST,
    "search": STR, "filter": STR, "ids": LIST,
}  # fmt: skip


def check(body: dict[str, Any], shape: dict[str, type]) -> None:
    unknown = set(body) - set(shape)
    assert not unknown, f"fields the vendor's schema does not know: {sorted(unknown)}"
    for name, value in body.items():
        assert isinstance(value, shape[name]), f"{name} must be {shape[name].__name__}"


def lead(lead_id: int, email: str, **fields: Any) -> ExportLead:
    values: dict[str, Any] = dict.fromkeys(
        ("first_name", "last_name", "position", "phone", "linkedin_url", "company_name",
         "company_domain", "website", "country_code", "notes"), ""
    )  # fmt: skip
    values.update(status="qualified", custom_attributes={"city": "Oslo"})
    values.update(fields)
    return ExportLead(lead_id=lead_id, email=email, **values)


def bodies(path: str) -> list[dict[str, Any]]:
    return [
        json.loads(call.request.body) for call in responses.calls if call.request.url.endswith(path)
    ]


@pytest.fixture
def client() -> InstantlyClient:
    return InstantlyClient("key-0123456789abcdef", base_url=BASE)


@responses.activate
def test_bulk_add_and_interest_bodies_match_the_schema(client):
    responses.post(
        f"{BASE}/leads/add",
        json={
            "leads_uploaded": 1,
            "created_leads": [{"id": "u1", "email": "a@x.example", "index": 0}],
        },
    )
    responses.post(f"{BASE}/leads/update-interest-status", json={}, status=202)
    client.export_batch(
        {"list_id": "l1"},
        [lead(1, "a@x.example", first_name="A", position="CTO", linkedin_url="https://li/in/a",
              phone="+1 555", website="https://x.example")],
    )  # fmt: skip
    [body] = bodies("/leads/add")
    check(body, BULK_ADD)
    for item in body["leads"]:
        check(item, BULK_LEAD)
    assert body["leads"][0]["job_title"] == "CTO"
    for item in bodies("/leads/update-interest-status"):
        check(item, INTEREST)


@responses.activate
def test_patch_and_move_bodies_match_the_schema(client):
    responses.patch(f"{BASE}/leads/v1", json={"id": "v1"})
    responses.post(f"{BASE}/leads/move", json={"id": "job", "status": "pending"})
    responses.post(f"{BASE}/leads/update-interest-status", json={}, status=202)
    client.export_batch(
        {"campaign_id": "c1"},
        [lead(1, "a@x.example", first_name="A", position="CTO", vendor_id="v1")],
    )
    [patch] = [json.loads(c.request.body) for c in responses.calls if c.request.method == "PATCH"]
    check(patch, PATCH_LEAD)
    [move] = bodies("/leads/move")
    check(move, MOVE)
    assert move == {"ids": ["v1"], "to_campaign_id": "c1"}


@responses.activate
def test_list_leads_body_matches_the_schema(client):
    responses.post(f"{BASE}/leads/list", json={"items": []})
    client.fetch_page("campaign:c1", {"starting_after": "x"})
    client.fetch_page("l1", None)
    for body in bodies("/leads/list"):
        check(body, LIST_LEADS)
