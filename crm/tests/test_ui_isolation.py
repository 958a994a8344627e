"""User B against user A's objects on every page of the web UI: 404 everywhere (exactly like a
missing id), nothing changed, nothing of A's shown on B's own pages."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.services import api_token_create
from csvimport.models import CsvImport
from integrations import engine, services
from leads.models import Company, Lead, LeadEvent, Role, Team, TeamMembership
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db

SECRET_NAME = "Zanzibar-Secret"


@pytest.fixture
def a_data(db):
    alice = UserFactory(username="alice-owner")
    company = CompanyFactory(user=alice, name=f"{SECRET_NAME} Co", domain="zanzibar.example")
    lead = make_lead(user=alice, company=company, email="hidden@zanzibar.example",
                     first_name=SECRET_NAME)  # fmt: skip
    integration = services.integration_create(
        user=alice, provider="hunter", credentials={"api_key": "k" * 20}, settings={}
    )
    run = engine.run_claim(integration=integration, direction="import")
    token, _ = api_token_create(user=alice, name=f"{SECRET_NAME} token")
    upload = CsvImport.objects.create(
        user=alice, filename=f"{SECRET_NAME}.csv", content="email\na@b.c\n", total_rows=1
    )
    return {"lead": lead, "company": company, "integration": integration, "run": run,
            "token": token, "upload": upload}  # fmt: skip


def _without_csrf(html: bytes) -> bytes:
    # The CSRF token is masked differently in every response; everything else must match.
    return re.sub(
        rb'(csrf-token" content="|X-CSRFToken": "|csrfmiddlewaretoken" value=")[^"]+', rb"\1", html
    )


# Who looks at Alice's objects, and how they stand to her (api.md "Teams, roles and
# assignment"): none of these may see or change anything of hers.
RELATIONS = [
    "stranger",  # neither is in a team
    "teammate rep",  # both reps of one team
    "rep under her",  # Alice manages the team Bob is a rep of
    "other team's manager",  # Bob manages another team; Alice is a rep
    "other team's rep",
]


def _place(alice, bob, relation: str) -> None:
    if relation == "stranger":
        return
    home, away = Team.objects.create(name="Home"), Team.objects.create(name="Away")
    alice_role = Role.MANAGER if relation == "rep under her" else Role.REP
    TeamMembership.objects.create(user=alice, team=home, role=alice_role)
    bob_team = home if relation in ("teammate rep", "rep under her") else away
    bob_role = Role.MANAGER if relation == "other team's manager" else Role.REP
    TeamMembership.objects.create(user=bob, team=bob_team, role=bob_role)
    if relation.startswith("other team"):
        # Alice's team has a manager too, who is not Bob.
        TeamMembership.objects.create(user=UserFactory(username="home-boss"), team=home,
                                      role=Role.MANAGER)  # fmt: skip


@pytest.fixture(params=RELATIONS)
def bob(request, a_data):
    user = UserFactory(username="bob-intruder")
    _place(a_data["lead"].user, user, request.param)
    client = Client()
    client.force_login(user)
    return client


def test_every_page_with_another_users_id_is_404_like_a_missing_one(a_data, bob):
    missing = 10**9
    ids = {
        "lead": a_data["lead"].pk,
        "company": a_data["company"].pk,
        "integration": a_data["integration"].pk,
        "run": a_data["run"].pk,
        "token": a_data["token"].pk,
        "upload": a_data["upload"].pk,
    }
    pages = [
        ("get", "/leads/{lead}/", "lead"),
        ("get", "/leads/{lead}/?edit=first_name", "lead"),
        ("post", "/leads/{lead}/field/first_name/", "lead"),
        ("post", "/leads/{lead}/status/", "lead"),
        ("get", "/leads/{lead}/delete/", "lead"),
        ("post", "/leads/{lead}/delete/", "lead"),
        ("get", "/companies/{company}/", "company"),
        ("post", "/companies/{company}/", "company"),
        ("get", "/companies/{company}/delete/", "company"),
        ("post", "/companies/{company}/delete/", "company"),
        ("get", "/integrations/{integration}/", "integration"),
        ("post", "/integrations/{integration}/settings/", "integration"),
        ("post", "/integrations/{integration}/test/", "integration"),
        ("post", "/integrations/{integration}/import/", "integration"),
        ("post", "/integrations/{integration}/disconnect/", "integration"),
        ("get", "/sync-runs/{run}/", "run"),
        ("get", "/sync-runs/{run}/progress/", "run"),
        ("post", "/sync-runs/{run}/cancel/", "run"),
        ("post", "/settings/tokens/{token}/revoke/", "token"),
        ("get", "/leads/import/{upload}/", "upload"),
        ("post", "/leads/import/{upload}/", "upload"),
        ("get", "/leads/import/{upload}/progress/", "upload"),
    ]
    data = {"value": "pwned", "status": "lost", "name": "pwned", "first_name": "pwned"}
    for method, template, kind in pages:
        theirs = getattr(bob, method)(template.format(**ids), data if method == "post" else None)
        nobody = getattr(bob, method)(
            template.format(**{**ids, kind: missing}), data if method == "post" else None
        )
        assert theirs.status_code == 404, (method, template, theirs.status_code)
        assert _without_csrf(theirs.content) == _without_csrf(nobody.content), template

    lead = Lead.objects.get(pk=ids["lead"])
    assert (lead.first_name, lead.status) == (SECRET_NAME, "new")
    assert LeadEvent.objects.filter(lead=lead).count() == 1
    assert Company.objects.get(pk=ids["company"]).name == f"{SECRET_NAME} Co"
    a_data["run"].refresh_from_db()
    assert a_data["run"].state == "queued"
    a_data["token"].refresh_from_db()
    assert a_data["token"].revoked_at is None


def test_bulk_actions_and_moves_ignore_another_users_leads(a_data, bob):
    lead_id = a_data["lead"].pk
    bob.post("/leads/bulk/", {"ids": [lead_id], "action": "status", "status": "lost"})
    bob.post("/leads/bulk/", {"ids": [lead_id], "action": "delete", "confirm": "1"})
    assert bob.post("/board/move/", {"lead": lead_id, "status": "lost"}).status_code == 404
    lead = Lead.objects.get(pk=lead_id)
    assert lead.status == "new"


def test_own_pages_show_nothing_of_another_user(a_data, bob):
    for path in [
        "/", "/leads/", f"/leads/?q={SECRET_NAME}", "/companies/", "/board/",
        f"/board/?q={SECRET_NAME}", "/board/column/new/?cursor=2000000000", "/dashboard/",
        "/integrations/", "/settings/tokens/", "/leads/import/", "/leads/export.csv",
    ]:  # fmt: skip
        response = bob.get(path)
        assert response.status_code == 200, path
        body = (
            b"".join(response.streaming_content) if response.streaming else response.content
        ).decode()
        # B's own search term is echoed in the filter box; A's records must not appear.
        assert "hidden@zanzibar.example" not in body, path
        assert "zanzibar.example" not in body, path
        assert f"{SECRET_NAME} Co" not in body and f"{SECRET_NAME} token" not in body, path
        assert f"{SECRET_NAME}.csv" not in body, path


def test_a_manager_sees_a_reps_leads_but_never_their_own_things(a_data):
    """Integrations, sync runs, API tokens and CSV imports are a person's own: the team's
    manager sees the rep's leads and companies, and none of those."""
    manager = UserFactory(username="the-manager")
    team = Team.objects.create(name="Home")
    TeamMembership.objects.create(user=a_data["lead"].user, team=team, role=Role.REP)
    TeamMembership.objects.create(user=manager, team=team, role=Role.MANAGER)
    client = Client()
    client.force_login(manager)
    assert client.get(f"/leads/{a_data['lead'].pk}/").status_code == 200
    assert client.get(f"/companies/{a_data['company'].pk}/").status_code == 200
    for path in [
        f"/integrations/{a_data['integration'].pk}/",
        f"/sync-runs/{a_data['run'].pk}/",
        f"/leads/import/{a_data['upload'].pk}/",
    ]:
        assert client.get(path).status_code == 404, path
    assert client.post(f"/settings/tokens/{a_data['token'].pk}/revoke/").status_code == 404
    for path in ["/integrations/", "/settings/tokens/", "/leads/import/"]:
        body = client.get(path).content.decode()
        assert SECRET_NAME not in body, path


# The Team page (a manager's members, "Reassign all of X's leads to…"): for each way Bob can
# stand to Alice, and for Bob as the deactivated manager of her team, neither the page nor
# its hand-over shows or moves anything of hers.
TEAM_VIEWERS = [*RELATIONS, "deactivated manager of her team"]


@pytest.mark.parametrize("relation", TEAM_VIEWERS)
def test_the_team_page_and_its_handover_reveal_nothing_outside_the_scope(a_data, relation):
    alice = a_data["lead"].user
    bob = UserFactory(username="bob-intruder")
    deactivated = relation == "deactivated manager of her team"
    if deactivated:
        team = Team.objects.create(name="Home")
        TeamMembership.objects.create(user=alice, team=team, role=Role.REP)
        TeamMembership.objects.create(user=bob, team=team, role=Role.MANAGER)
    else:
        _place(alice, bob, relation)
    client = Client()
    client.force_login(bob)
    if deactivated:
        bob.is_active = False
        bob.save()
    page = client.get("/team/")
    handover = {"to_user": bob.pk, "confirm": "1"}
    theirs = client.post(f"/team/members/{alice.pk}/reassign/", handover)
    nobody = client.post(f"/team/members/{10**9}/reassign/", handover)
    if deactivated:
        # Signed out by the deactivation: the sign-in page, whatever the id.
        assert page.status_code == theirs.status_code == nobody.status_code == 302
        assert theirs["Location"].replace(str(alice.pk), "N") == nobody["Location"].replace(
            str(10**9), "N"
        )
        assert theirs["Location"].startswith("/accounts/login/")
    else:
        assert theirs.status_code == nobody.status_code == 404, relation
        assert _without_csrf(theirs.content) == _without_csrf(nobody.content), relation
        if relation == "other team's manager":
            # Bob's own team only.
            assert page.status_code == 200
            body = page.content.decode()
            assert "alice-owner" not in body and SECRET_NAME not in body
            assert f"user_id={alice.pk}" not in body
        else:
            # No team to manage: the page is as missing as any address nobody has.
            assert page.status_code == 404, relation
            missing_page = client.get("/no-such-page/")
            assert _without_csrf(page.content) == _without_csrf(missing_page.content)
    lead = Lead.objects.get(pk=a_data["lead"].pk)
    assert lead.user_id == alice.pk
    assert not LeadEvent.objects.filter(kind=LeadEvent.Kind.OWNER).exists()
