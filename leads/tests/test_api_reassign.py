"""Reassignment through the API (api.md "Teams, roles and assignment"): user_id on create and
PATCH, POST /v1/leads/reassign, owner entries in the history."""

from __future__ import annotations

import pytest

from leads.models import Lead, LeadEvent
from leads.tests.conftest import ApiClient
from leads.tests.factories import CompanyFactory, make_lead, make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return make_team()


def test_a_manager_creates_a_lead_for_a_rep_in_the_reps_company(team):
    mia = ApiClient(team["mia"])
    rob_company = CompanyFactory(user=team["rob"], name="Rob Co")
    created = mia.post("/v1/leads", {"company_id": rob_company.pk, "user_id": team["rob"].pk})
    assert created.status_code == 201, created.content
    assert created.json()["user_id"] == team["rob"].pk
    first = LeadEvent.objects.get(lead_id=created.json()["id"])
    assert (first.user_id, first.actor_id) == (team["rob"].pk, team["mia"].pk)
    # The manager's own company cannot hold Rob's lead.
    mine = CompanyFactory(user=team["mia"])
    wrong = mia.post("/v1/leads", {"company_id": mine.pk, "user_id": team["rob"].pk})
    assert wrong.status_code == 400 and wrong.json() == {"company_id": ["No such company."]}


@pytest.mark.parametrize("who", ["rep naming a teammate", "another team", "nobody", "inactive"])
def test_naming_an_owner_outside_the_rules_is_a_400_on_user_id(team, who):
    actor = team["rob"] if who == "rep naming a teammate" else team["mia"]
    target = {
        "rep naming a teammate": team["ria"].pk,
        "another team": team["sam"].pk,
        "nobody": 10**9,
        "inactive": team["ria"].pk,
    }[who]
    if who == "inactive":
        team["ria"].is_active = False
        team["ria"].save()
    client = ApiClient(actor)
    company = CompanyFactory(user=actor)
    response = client.post("/v1/leads", {"company_id": company.pk, "user_id": target})
    assert response.status_code == 400
    assert list(response.json()) == ["user_id"]
    lead = make_lead(user=actor, company=company)
    patched = client.patch(f"/v1/leads/{lead.pk}", {"user_id": target, "notes": "x"})
    assert patched.status_code == 400 and list(patched.json()) == ["user_id"]
    lead.refresh_from_db()
    assert (lead.user_id, lead.notes) == (actor.pk, "")


def test_patch_user_id_reassigns_and_the_history_says_so(team):
    mia = ApiClient(team["mia"])
    acme = CompanyFactory(user=team["rob"], name="Acme", domain="acme.com")
    lead = make_lead(user=team["rob"], company=acme, email="a@acme.com")
    response = mia.patch(f"/v1/leads/{lead.pk}", {"user_id": team["ria"].pk, "score": 70})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user_id"] == team["ria"].pk and body["score"] == 70
    assert body["company"]["domain"] == "acme.com"
    assert body["company_id"] != acme.pk  # Ria's own Acme, created for her
    history = mia.get(f"/v1/leads/{lead.pk}/history").json()["data"]
    owner = next(e for e in history if e["kind"] == "owner")
    assert (owner["from_user_id"], owner["to_user_id"]) == (team["rob"].pk, team["ria"].pk)
    assert owner["from_status"] == owner["to_status"] == "new"
    assert all("from_user_id" not in e for e in history if e["kind"] == "status")
    # Sending back the owner the lead has is no change (GET, edit, PATCH round trips).
    same = ApiClient(team["ria"]).patch(f"/v1/leads/{lead.pk}", {**body, "notes": "hi"})
    assert same.status_code == 200, same.content


def test_an_email_clash_is_a_409_naming_the_lead_and_nothing_changes(team):
    mia = ApiClient(team["mia"])
    mine = make_lead(user=team["rob"], company=CompanyFactory(user=team["rob"]), email="d@x.com")
    theirs = make_lead(user=team["ria"], company=CompanyFactory(user=team["ria"]), email="d@x.com")
    response = mia.patch(f"/v1/leads/{mine.pk}", {"user_id": team["ria"].pk, "notes": "n"})
    assert response.status_code == 409
    assert response.json()["lead_id"] == theirs.pk
    mine.refresh_from_db()
    assert (mine.user_id, mine.notes) == (team["rob"].pk, "")
    bulk = mia.post("/v1/leads/reassign", {"to_user_id": team["ria"].pk, "lead_ids": [mine.pk]})
    assert bulk.status_code == 409 and bulk.json()["lead_id"] == theirs.pk


def test_reassign_by_ids_or_filters_all_or_nothing(team):
    mia, rob = ApiClient(team["mia"]), ApiClient(team["rob"])
    company = CompanyFactory(user=team["rob"])
    hot = [make_lead(user=team["rob"], company=company, score=90) for _ in range(3)]
    cold = make_lead(user=team["rob"], company=company, score=10)
    sams = make_lead(user=team["sam"], company=CompanyFactory(user=team["sam"]))
    # A rep may not.
    assert rob.post("/v1/leads/reassign", {"to_user_id": team["ria"].pk,
                                           "lead_ids": [cold.pk]}).status_code == 403  # fmt: skip
    # An id outside the scope spoils the whole request.
    mixed = mia.post(
        "/v1/leads/reassign", {"to_user_id": team["ria"].pk, "lead_ids": [cold.pk, sams.pk]}
    )
    assert mixed.status_code == 400 and "lead_ids" in mixed.json()
    assert Lead.objects.get(pk=cold.pk).user_id == team["rob"].pk
    by_filter = mia.post(
        "/v1/leads/reassign",
        {"to_user_id": team["ria"].pk, "filters": {"user_id": team["rob"].pk, "min_score": 50}},
    )
    assert by_filter.status_code == 200 and by_filter.json() == {"reassigned": 3}
    assert set(
        Lead.objects.filter(pk__in=[h.pk for h in hot]).values_list("user_id", flat=True)
    ) == {team["ria"].pk}
    assert Lead.objects.get(pk=cold.pk).user_id == team["rob"].pk


@pytest.mark.parametrize(
    "body",
    [
        {"to_user_id": 1},
        {"to_user_id": 1, "lead_ids": [1], "filters": {}},
        {"to_user_id": 1, "lead_ids": []},
        {"to_user_id": 1, "filters": {"min_score": "many"}},
        {"to_user_id": 1, "filters": {"cursor": 5}},
        {"lead_ids": [1]},
        {"to_user_id": 1, "lead_ids": [1], "extra": True},
    ],
)
def test_bad_reassign_bodies_are_400(team, body):
    response = ApiClient(team["mia"]).post("/v1/leads/reassign", body)
    assert response.status_code == 400, (body, response.content)
