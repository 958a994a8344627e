"""settings.assign and settings.assign_to (api.md "Teams, roles and assignment"), on the API
and on the integration's page: a bad value, a user outside the owner's scope, an inactive
user, or a rule other than "owner" chosen by someone who manages no team is a 400 naming the
field, and changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from integrations import providers
from integrations.models import Integration
from integrations.tests.conftest import ScriptedClient
from leads.models import Role, Team, TeamMembership
from leads.tests.conftest import ApiClient
from leads.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CREDENTIALS = {"api_key": "hk_assign_0123456789abcdef"}


@pytest.fixture
def team(db):
    north = Team.objects.create(name="North")
    people = {}
    for name, role in [("mia", Role.MANAGER), ("rob", Role.REP), ("ria", Role.REP)]:
        people[name] = UserFactory(username=name)
        TeamMembership.objects.create(user=people[name], team=north, role=role)
    people["sam"] = UserFactory(username="sam")
    TeamMembership.objects.create(user=people["sam"], team=Team.objects.create(name="South"))
    people["solo"] = UserFactory(username="solo")  # in no team
    return people


def create(user, **settings):
    return ApiClient(user).post(
        "/v1/integrations",
        {"provider": "hunter", "credentials": CREDENTIALS, "settings": settings},
    )


def test_a_manager_sets_the_rule_and_the_members(team):
    response = create(team["mia"], assign="round_robin", assign_to=[team["ria"].pk, team["rob"].pk])
    assert response.status_code == 201, response.content
    settings = response.json()["settings"]
    assert settings["assign"] == "round_robin"
    assert settings["assign_to"] == sorted([team["rob"].pk, team["ria"].pk])
    mia = ApiClient(team["mia"])
    integration_id = response.json()["id"]
    patched = mia.patch(
        f"/v1/integrations/{integration_id}", {"settings": {"assign": "least_loaded"}}
    )
    assert patched.status_code == 200, patched.content
    # Only what the PATCH names changes; an empty list means every active rep again.
    assert patched.json()["settings"]["assign_to"] == sorted([team["rob"].pk, team["ria"].pk])
    emptied = mia.patch(f"/v1/integrations/{integration_id}", {"settings": {"assign_to": []}})
    assert emptied.json()["settings"]["assign_to"] is None
    assert mia.get(f"/v1/integrations/{integration_id}").json()["settings"] == {
        **emptied.json()["settings"],
        "assign": "least_loaded",
    }


@pytest.mark.parametrize(
    ("who", "body", "field", "words"),
    [
        ("mia", {"assign": "everyone"}, "assign", "is not a valid choice"),
        ("mia", {"assign": None}, "assign", "may not be null"),
        ("rob", {"assign": "round_robin"}, "assign", "Only a team's manager"),
        ("rob", {"assign": "least_loaded"}, "assign", "Only a team's manager"),
        ("solo", {"assign": "round_robin"}, "assign", "Only a team's manager"),
        ("mia", {"assign_to": "rob"}, "assign_to", "Expected a list"),
        ("mia", {"assign_to": ["2"]}, "assign_to", "A valid integer is required"),
        ("mia", {"assign_to": [True]}, "assign_to", "A valid integer is required"),
        ("mia", {"assign_to": [0]}, "assign_to", "greater than or equal to 1"),
        ("mia", {"assign_to": "@sam"}, "assign_to", "Each user must be you"),
        ("mia", {"assign_to": "@nobody"}, "assign_to", "Each user must be you"),
        ("mia", {"assign_to": "@inactive"}, "assign_to", "Inactive"),
        ("rob", {"assign_to": "@ria"}, "assign_to", "Each user must be you"),
    ],
)
def test_refused_settings_are_a_400_naming_the_field_and_change_nothing(
    team, who, body, field, words
):
    named = {"@sam": [team["sam"].pk], "@nobody": [10**9], "@ria": [team["ria"].pk]}
    if body.get("assign_to") == "@inactive":
        team["ria"].is_active = False
        team["ria"].save()
        body = {"assign_to": [team["rob"].pk, team["ria"].pk]}
    elif str(body.get("assign_to")) in named:
        body = {"assign_to": named[body["assign_to"]]}
    user = team[who]

    created = create(user, schedule="daily", **body)
    assert created.status_code == 400, created.content
    assert list(created.json()) == ["settings"]
    assert list(created.json()["settings"]) == [field]
    assert words in str(created.json()["settings"][field])
    assert not Integration.objects.exists()

    existing = create(user)
    assert existing.status_code == 201
    integration_id = existing.json()["id"]
    before = ApiClient(user).get(f"/v1/integrations/{integration_id}").json()
    patched = ApiClient(user).patch(
        f"/v1/integrations/{integration_id}", {"settings": {"schedule": "daily", **body}}
    )
    assert patched.status_code == 400
    assert patched.json() == created.json()
    assert ApiClient(user).get(f"/v1/integrations/{integration_id}").json() == before


def test_someone_of_another_team_reads_exactly_like_nobody(team):
    mia = ApiClient(team["mia"])
    integration_id = create(team["mia"]).json()["id"]
    answers = [
        mia.patch(f"/v1/integrations/{integration_id}", {"settings": {"assign_to": [pk]}})
        for pk in (team["sam"].pk, team["solo"].pk, 10**9, team["sam"].pk + 10_000)
    ]
    assert {response.status_code for response in answers} == {400}
    assert len({response.content for response in answers}) == 1
    assert answers[0].json() == {
        "settings": {
            "assign_to": [
                "Each user must be you or, if you manage a team, one of its active members."
            ]
        }
    }


def test_an_inactive_member_is_named(team):
    team["ria"].is_active = False
    team["ria"].save()
    response = create(team["mia"], assign="round_robin", assign_to=[team["ria"].pk])
    assert response.status_code == 400
    (message,) = response.json()["settings"]["assign_to"]
    assert "Inactive" in message and "ria" in message


def test_a_rep_may_keep_their_own_leads(team):
    response = create(team["rob"], assign="owner", assign_to=[team["rob"].pk])
    assert response.status_code == 201, response.content
    assert response.json()["settings"]["assign"] == "owner"


# --- the integration's page -------------------------------------------------------------------


@pytest.fixture
def scripted(monkeypatch):
    client = ScriptedClient([[]])
    monkeypatch.setattr(providers, "client_for", lambda integration, **kw: client)
    return client


def web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_integration(user) -> Integration:
    return Integration.objects.get(pk=create(user).json()["id"])


def test_a_manager_chooses_on_the_page(team, scripted):
    integration = page_integration(team["mia"])
    page = web(team["mia"]).get(f"/integrations/{integration.pk}/").content.decode()
    assert 'data-testid="import-assignment"' in page
    assert "Round robin over the team" in page
    assert ">sam<" not in page and "sam</label>" not in page  # another team's rep
    response = web(team["mia"]).post(
        f"/integrations/{integration.pk}/settings/",
        {
            "schedule": "manual",
            "assign": "round_robin",
            "assign_to": [str(team["rob"].pk), str(team["ria"].pk)],
        },
        follow=True,
    )
    assert "Settings saved." in response.content.decode()
    integration.refresh_from_db()
    assert (integration.assign, integration.assign_to) == (
        "round_robin",
        sorted([team["rob"].pk, team["ria"].pk]),
    )
    again = web(team["mia"]).get(f"/integrations/{integration.pk}/").content.decode()
    assert 'value="round_robin"' in again and "checked" in again


def test_a_rep_sees_no_choice_and_cannot_post_one(team, scripted):
    integration = page_integration(team["rob"])
    rob = web(team["rob"])
    assert (
        'data-testid="import-assignment"'
        not in rob.get(f"/integrations/{integration.pk}/").content.decode()
    )
    # Without the choice (the rep's own page), settings save as before.
    assert (
        rob.post(f"/integrations/{integration.pk}/settings/", {"schedule": "daily"}).status_code
        == 302
    )
    refused = rob.post(
        f"/integrations/{integration.pk}/settings/",
        {"schedule": "hourly", "assign": "round_robin"},
    )
    assert refused.status_code == 400
    assert "New leads go to: Only a team&#x27;s manager" in refused.content.decode()
    integration.refresh_from_db()
    assert (integration.assign, integration.schedule) == ("owner", "daily")


@pytest.mark.parametrize("whom", ["sam", "nobody", "garbage", "inactive"])
def test_the_page_refuses_members_outside_the_team_alike(team, scripted, whom):
    integration = page_integration(team["mia"])
    if whom == "inactive":
        team["ria"].is_active = False
        team["ria"].save()
    value = {
        "sam": str(team["sam"].pk),
        "nobody": str(10**9),
        "garbage": "ria",
        "inactive": str(team["ria"].pk),
    }[whom]
    response = web(team["mia"]).post(
        f"/integrations/{integration.pk}/settings/",
        {"schedule": "daily", "assign": "round_robin", "assign_to": [value]},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="assign-to-error"' in html
    if whom in ("sam", "nobody"):
        assert "Each user must be you or, if you manage a team, one of its active members." in (
            html
        )
    integration.refresh_from_db()
    assert (integration.assign, integration.assign_to, integration.schedule) == (
        "owner",
        None,
        "manual",
    )
