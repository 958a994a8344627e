"""Teams: a manager sees and changes the whole team's pipeline; a rep only their own; nobody
sees another team's, and what is outside the scope reads exactly like what does not exist."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leads.models import Lead, LeadEvent, Role, Team, TeamMembership
from leads.services import lead_bulk_set_status
from leads.tests.conftest import ApiClient
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    """Team North: manager Mia, reps Rob and Ria, and Dan (a rep, deactivated); team South:
    manager Max and rep Sam; Lou in no team. Each has a company and a lead."""
    north, south = Team.objects.create(name="North"), Team.objects.create(name="South")
    people = {}
    for name, team, role in [
        ("mia", north, Role.MANAGER), ("rob", north, Role.REP), ("ria", north, Role.REP),
        ("dan", north, Role.REP), ("max", south, Role.MANAGER), ("sam", south, Role.REP),
        ("lou", None, None),
    ]:  # fmt: skip
        user = UserFactory(username=name)
        if team is not None:
            TeamMembership.objects.create(user=user, team=team, role=role)
        company = CompanyFactory(user=user, name=f"{name} corp")
        lead = make_lead(user=user, company=company, first_name=name.title(), email=f"{name}@x.com")
        people[name] = {"user": user, "company": company, "lead": lead}
    dan = people["dan"]["user"]
    dan.is_active = False
    dan.save()
    return people


def _names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["first_name"] for row in response.json()["data"]}


def test_each_role_sees_its_scope_in_lists_search_and_stats(org):
    mia, rob, max_, lou = (ApiClient(org[n]["user"]) for n in ("mia", "rob", "max", "lou"))
    assert _names(mia.get("/v1/leads")) == {"Mia", "Rob", "Ria", "Dan"}
    assert _names(rob.get("/v1/leads")) == {"Rob"}
    assert _names(max_.get("/v1/leads")) == {"Max", "Sam"}
    assert _names(lou.get("/v1/leads")) == {"Lou"}
    assert _names(mia.get("/v1/leads", {"q": "ria"})) == {"Ria"}
    assert _names(rob.get("/v1/leads", {"q": "ria"})) == set()
    assert _names(mia.get("/v1/leads", {"status": "new", "min_score": 0})) == {
        "Mia", "Rob", "Ria", "Dan",
    }  # fmt: skip
    assert mia.get("/v1/leads/stats").json()["total"] == 4
    assert rob.get("/v1/leads/stats").json()["total"] == 1
    companies = {c["name"] for c in mia.get("/v1/companies").json()["data"]}
    assert companies == {"mia corp", "rob corp", "ria corp", "dan corp"}


@pytest.mark.parametrize(
    ("viewer", "owner"),
    [
        ("rob", "ria"),
        ("rob", "mia"),
        ("max", "rob"),
        ("sam", "rob"),
        ("lou", "rob"),
        ("mia", "sam"),
    ],
)
def test_outside_the_scope_is_exactly_a_missing_id(org, viewer, owner):
    client = ApiClient(org[viewer]["user"])
    theirs = org[owner]["lead"].pk
    missing = Lead.objects.order_by("-id").first().pk + 1000
    for path in ("/v1/leads/{}", "/v1/leads/{}/history"):
        got, absent = client.get(path.format(theirs)), client.get(path.format(missing))
        assert (got.status_code, got.content) == (absent.status_code, absent.content) == (
            404, absent.content,
        )  # fmt: skip
    patched = client.patch(f"/v1/leads/{theirs}", {"status": "lost"})
    assert (patched.status_code, patched.content) == (404, absent.content)
    company = org[owner]["company"].pk
    assert client.get(f"/v1/companies/{company}").status_code == 404
    assert Lead.objects.get(pk=theirs).status == "new"


def test_a_manager_changes_a_reps_lead_and_the_history_names_the_manager(org):
    mia = ApiClient(org["mia"]["user"])
    lead = org["rob"]["lead"]
    response = mia.patch(f"/v1/leads/{lead.pk}", {"status": "qualified", "deal_value": "10"})
    assert response.status_code == 200, response.content
    assert response.json()["user_id"] == org["rob"]["user"].pk  # still Rob's
    events = LeadEvent.objects.filter(lead=lead).order_by("id")
    latest = list(events)[-2:]
    assert {(e.kind, e.user_id, e.actor_id) for e in latest} == {
        ("status", org["rob"]["user"].pk, org["mia"]["user"].pk),
        ("update", org["rob"]["user"].pk, org["mia"]["user"].pk),
    }
    # Rob sees his lead's history, the manager's change included.
    rob = ApiClient(org["rob"]["user"])
    assert rob.get(f"/v1/leads/{lead.pk}/history").json()["data"][0]["to_status"] == "qualified"
    # A rep's own change names nobody else.
    rob.patch(f"/v1/leads/{lead.pk}", {"status": "converted"})
    assert LeadEvent.objects.filter(lead=lead).latest("id").actor_id is None


def test_a_lead_and_its_company_keep_one_owner(org):
    mia = ApiClient(org["mia"]["user"])
    rob_lead, rob_company = org["rob"]["lead"], org["rob"]["company"]
    other_rob_company = CompanyFactory(user=org["rob"]["user"], name="Rob two")
    # The manager's own company cannot hold Rob's lead, nor Rob's company the manager's.
    moved = mia.patch(f"/v1/leads/{rob_lead.pk}", {"company_id": org["mia"]["company"].pk})
    assert moved.status_code == 400 and moved.json() == {"company_id": ["No such company."]}
    created = mia.post("/v1/leads", {"company_id": rob_company.pk})
    assert created.status_code == 400 and created.json() == {"company_id": ["No such company."]}
    # Another of Rob's companies is fine.
    ok = mia.patch(f"/v1/leads/{rob_lead.pk}", {"company_id": other_rob_company.pk})
    assert ok.status_code == 200 and ok.json()["company"]["name"] == "Rob two"


def test_bulk_status_by_a_manager_keeps_each_owners_history(org):
    mia = org["mia"]["user"]
    ids = [org[n]["lead"].pk for n in ("mia", "rob", "sam")]
    assert lead_bulk_set_status(user=mia, lead_ids=ids, status="contacted", source="ui") == 2
    assert Lead.objects.get(pk=org["sam"]["lead"].pk).status == "new"  # another team's
    event = LeadEvent.objects.filter(lead=org["rob"]["lead"], kind="status").latest("id")
    assert (event.user_id, event.actor_id) == (org["rob"]["user"].pk, mia.pk)
    own = LeadEvent.objects.filter(lead=org["mia"]["lead"], kind="status").latest("id")
    assert (own.user_id, own.actor_id) == (mia.pk, None)


def test_a_managers_scope_costs_one_query_and_a_reps_none(org):
    def count(user) -> int:
        client = ApiClient(user)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/v1/leads").status_code == 200
        return len(ctx.captured_queries)

    rep = count(org["rob"]["user"])
    assert count(org["lou"]["user"]) == rep  # no team: the same as a rep
    assert count(org["mia"]["user"]) == rep + 1  # the team's members


def _web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pages_follow_the_scope(org):
    mia, rob = _web(org["mia"]["user"]), _web(org["rob"]["user"])
    ria_lead = org["ria"]["lead"]
    assert mia.get(f"/leads/{ria_lead.pk}/").status_code == 200
    assert rob.get(f"/leads/{ria_lead.pk}/").status_code == 404
    assert "Ria" in mia.get("/board/").content.decode()
    assert "Ria" not in rob.get("/board/").content.decode()
    assert "Sam" not in mia.get("/leads/").content.decode()
    # The manager moves a rep's lead on the lead page: the timeline says who.
    mia.post(f"/leads/{ria_lead.pk}/status/", {"status": "contacted"})
    page = mia.get(f"/leads/{ria_lead.pk}/").content.decode()
    assert 'data-testid="history-actor">mia<' in page


def test_a_reps_lead_picks_among_the_reps_companies_only(org):
    mia = _web(org["mia"]["user"])
    rob = org["rob"]
    edit = mia.get(f"/leads/{rob['lead'].pk}/field/company/?edit=1").content.decode()
    assert "rob corp" in edit and "mia corp" not in edit and "ria corp" not in edit
    found = mia.get("/companies/options/", {"find": "corp", "owner": rob["user"].pk})
    assert "rob corp" in found.content.decode() and "mia corp" not in found.content.decode()
    # Another team's owner finds nothing, as if they did not exist.
    elsewhere = mia.get("/companies/options/", {"find": "corp", "owner": org["sam"]["user"].pk})
    assert (
        "sam corp" not in elsewhere.content.decode()
        and "rob corp" not in elsewhere.content.decode()
    )
    assert mia.get("/companies/options/", {"owner": "x"}).status_code == 400
    # Saving another owner's company onto Rob's lead is refused and changes nothing.
    saved = mia.post(
        f"/leads/{rob['lead'].pk}/field/company/",
        {"company": org["mia"]["company"].pk},
        HTTP_HX_REQUEST="true",
    )
    assert saved.status_code == 422
    assert Lead.objects.get(pk=rob["lead"].pk).company_id == rob["company"].pk


def test_a_manager_assigns_a_lead_on_its_page(org):
    mia, rob = _web(org["mia"]["user"]), _web(org["rob"]["user"])
    lead = org["rob"]["lead"]
    page = mia.get(f"/leads/{lead.pk}/").content.decode()
    assert 'data-testid="assign-form"' in page
    # Active members only, never another team's or a deactivated one.
    assert ">ria<" in page and ">mia<" in page and ">dan<" not in page and ">sam<" not in page
    assert 'data-testid="assign-form"' not in rob.get(f"/leads/{lead.pk}/").content.decode()
    response = mia.post(
        f"/leads/{lead.pk}/assign/", {"to_user": org["ria"]["user"].pk}, follow=True
    )
    assert "1 lead assigned to ria." in response.content.decode()
    lead.refresh_from_db()
    assert lead.user_id == org["ria"]["user"].pk
    assert lead.company.user_id == org["ria"]["user"].pk
    # A rep cannot, and another team's member is refused without changing anything.
    assert (
        rob.post(f"/leads/{lead.pk}/assign/", {"to_user": org["rob"]["user"].pk}).status_code == 404
    )
    refused = mia.post(f"/leads/{lead.pk}/assign/", {"to_user": org["sam"]["user"].pk}, follow=True)
    assert "one of its active members" in refused.content.decode()
    assert Lead.objects.get(pk=lead.pk).user_id == org["ria"]["user"].pk


def test_a_manager_assigns_selected_leads_from_the_list(org):
    mia, rob = _web(org["mia"]["user"]), _web(org["rob"]["user"])
    ids = [org["rob"]["lead"].pk, org["mia"]["lead"].pk, org["sam"]["lead"].pk]
    assert 'data-testid="bulk-assign"' in mia.get("/leads/").content.decode()
    assert 'data-testid="bulk-assign"' not in rob.get("/leads/").content.decode()
    response = mia.post(
        "/leads/bulk/",
        {"ids": ids, "action": "assign", "to_user": org["ria"]["user"].pk},
        follow=True,
    )
    # Sam's lead is another team's: not in the scope, so not moved (and not counted).
    assert "2 leads assigned to ria." in response.content.decode()
    owners = dict(Lead.objects.filter(pk__in=ids).values_list("pk", "user_id"))
    assert owners[org["rob"]["lead"].pk] == owners[org["mia"]["lead"].pk] == org["ria"]["user"].pk
    assert owners[org["sam"]["lead"].pk] == org["sam"]["user"].pk
    # A rep posting the same is told nothing useful and changes nothing.
    rob.post("/leads/bulk/", {"ids": [org["rob"]["lead"].pk], "action": "assign", "to_user": 1})
    assert Lead.objects.get(pk=org["rob"]["lead"].pk).user_id == org["ria"]["user"].pk


def test_a_manager_assigns_every_lead_matching_the_list(org):
    """ "Select all matching" with Assign: the filters are evaluated again through the scope
    (never ids from the browser), and every match moves in one all-or-nothing step."""
    mia, rob = _web(org["mia"]["user"]), _web(org["rob"]["user"])
    ria_id = org["ria"]["user"].pk
    extra = make_lead(user=org["rob"]["user"], company=org["rob"]["company"], first_name="Roy",
                      status="contacted")  # fmt: skip
    form = {"all_matching": "1", "action": "assign", "to_user": ria_id, "f_status": "new",
            "next": "/leads/?status=new"}  # fmt: skip
    # First the count and the member, to confirm; nothing has moved yet.
    confirm = mia.post("/leads/bulk/", form)
    page = confirm.content.decode()
    assert confirm.status_code == 200 and "Assign 4 leads to ria?" in page
    assert '<input type="hidden" name="f_status" value="new">' in page
    assert Lead.objects.get(first_name="Rob").user_id == org["rob"]["user"].pk
    response = mia.post("/leads/bulk/", {**form, "confirm": "on"}, follow=True)
    # Mia's, Rob's and Dan's new leads (Ria's own stays hers); not Rob's contacted one, and
    # not Sam's, which is another team's.
    assert "3 leads assigned to ria." in response.content.decode()
    owners = dict(Lead.objects.values_list("first_name", "user_id"))
    assert owners["Mia"] == owners["Rob"] == owners["Dan"] == owners["Ria"] == ria_id
    assert owners["Roy"] == org["rob"]["user"].pk and owners["Sam"] == org["sam"]["user"].pk
    assert Lead.objects.get(pk=extra.pk).company_id == org["rob"]["company"].pk
    # No member chosen, or someone outside the team: a message, and nothing moves.
    for to_user in ("", org["sam"]["user"].pk):
        refused = mia.post("/leads/bulk/", {**form, "f_status": "contacted", "to_user": to_user},
                           follow=True)  # fmt: skip
        # Refused before any confirmation: the page never names someone outside the team.
        assert 'data-testid="confirm-assign"' not in refused.content.decode()
        assert "Choose who the leads go to." in refused.content.decode() or (
            "one of its active members" in refused.content.decode()
        )
        assert Lead.objects.get(pk=extra.pk).user_id == org["rob"]["user"].pk
    # A rep posting it gets the site's 404, and nothing moves.
    assert rob.post("/leads/bulk/", {**form, "f_status": "contacted"}).status_code == 404
    assert rob.post("/leads/bulk/", {**form, "confirm": "on"}).status_code == 404
    assert Lead.objects.get(pk=extra.pk).user_id == org["rob"]["user"].pk


def test_a_manager_filters_the_list_board_and_dashboard_by_owner(org):
    mia, rob = _web(org["mia"]["user"]), _web(org["rob"]["user"])
    rob_id = org["rob"]["user"].pk
    listed = mia.get("/leads/", {"user_id": rob_id}).content.decode()
    assert 'data-testid="filter-owner"' in listed and "dan (inactive)" in listed
    assert "Rob" in listed and "Ria" not in listed
    board = mia.get("/board/", {"user_id": rob_id}).content.decode()
    assert 'data-testid="filter-owner"' in board and "Ria" not in board
    assert mia.get("/dashboard/", {"user_id": rob_id}).context["total"] == 1
    assert mia.get("/dashboard/").context["total"] == 4
    # A rep has no owner filter, and naming a teammate shows nothing of theirs.
    mine = rob.get("/leads/").content.decode()
    assert 'data-testid="filter-owner"' not in mine
    assert "Ria" not in rob.get("/leads/", {"user_id": org["ria"]["user"].pk}).content.decode()
    assert rob.get("/dashboard/", {"user_id": org["ria"]["user"].pk}).context["total"] == 0


def test_a_person_loaded_by_id_has_the_scope_of_the_signed_in_person(
    org, django_assert_num_queries
):
    from django.contrib.auth import get_user_model

    from leads.scope import Scope

    users = get_user_model().objects.select_related("crm_membership")
    for name, queries in (("mia", 2), ("rob", 1), ("lou", 1)):  # a manager's members: one more
        user_id = org[name]["user"].pk
        with django_assert_num_queries(queries):
            by_id = Scope.of_person(user_id)
        assert by_id == Scope.of(users.get(pk=user_id)), name
    assert Scope.of_person(org["mia"]["user"].pk).owner_ids == tuple(
        sorted(org[n]["user"].pk for n in ("mia", "rob", "ria", "dan"))
    )
    with pytest.raises(get_user_model().DoesNotExist):
        Scope.of_person(max(u.pk for u in get_user_model().objects.all()) + 1)
