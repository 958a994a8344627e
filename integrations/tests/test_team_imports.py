"""Imports for a team (api.md "Teams, roles and assignment"; issue 16): a manager's integration
spreads new leads over the team (round robin, least loaded, over assign_to or every active
rep), finds people any member owns and leaves them with their owner, and each new lead's
first history entry names who it went to.

The vendor is the fake Hunter server on 127.0.0.1 (integrations/tests/fakes): the real client
pages through it; the engine runs here, in the test's own thread, one run at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext

from integrations import engine
from integrations.importer import import_records
from integrations.models import ExternalLink, Integration, SyncRun
from integrations.records import VendorRecord
from integrations.tests.fakes.hunter import FakeHunter
from leads.models import Lead, LeadEvent, Role, Status, Team, TeamMembership
from leads.tests.conftest import ApiClient
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db

KEY = "hunter-team-key-0123456789abcdef"


@pytest.fixture(scope="module")
def hunter_server() -> Iterator[FakeHunter]:
    server = FakeHunter().start()
    yield server
    server.stop()


@pytest.fixture
def hunter(hunter_server, settings) -> FakeHunter:
    hunter_server.reset()
    hunter_server.rate_limits = []
    hunter_server.add_account(KEY)
    settings.HUNTER_API_URL = hunter_server.url
    settings.HUNTER_RATE_LIMIT = []
    settings.SYNC_RETRY_DELAY = 0
    return hunter_server


@pytest.fixture
def team(db):
    """North: Mia manages Rob, Ria and Ray (created in that order: ids ascending). South: Sam."""
    north = Team.objects.create(name="North")
    people = {}
    for name, role in [
        ("mia", Role.MANAGER),
        ("rob", Role.REP),
        ("ria", Role.REP),
        ("ray", Role.REP),
    ]:
        user = UserFactory(username=name, first_name=name.title(), last_name="North")
        TeamMembership.objects.create(user=user, team=north, role=role)
        people[name] = user
    people["sam"] = UserFactory(username="sam")
    TeamMembership.objects.create(user=people["sam"], team=Team.objects.create(name="South"))
    return people


def connect(user, list_id: int, **settings) -> Integration:
    response = ApiClient(user).post(
        "/v1/integrations",
        {
            "provider": "hunter",
            "credentials": {"api_key": KEY},
            "settings": {"import_list_id": list_id, **settings},
        },
    )
    assert response.status_code == 201, response.content
    return Integration.objects.get(pk=response.json()["id"])


def run_import(integration: Integration) -> SyncRun:
    run = engine.run_claim(integration=integration, direction="import")
    assert engine.run_execute(run_id=run.pk) == engine.Done("succeeded")
    run.refresh_from_db()
    return run


def owners_in_order(user_ids: list[int], **filters) -> list[int]:
    return list(
        Lead.objects.filter(user_id__in=user_ids, **filters)
        .order_by("id")
        .values_list("user_id", flat=True)
    )


def test_round_robin_over_three_reps_continues_where_the_last_run_stopped(hunter, team):
    rob, ria, ray = team["rob"].pk, team["ria"].pk, team["ray"].pk
    list_id = hunter.add_list(KEY, "Fair")
    hunter.seed(KEY, 10, list_id=list_id)
    integration = connect(team["mia"], list_id, assign="round_robin")

    first = run_import(integration)
    assert (first.created, first.processed) == (10, 10)
    everyone = [team[name].pk for name in ("mia", "rob", "ria", "ray")]
    assert owners_in_order(everyone) == [rob, ria, ray] * 3 + [rob]
    integration.refresh_from_db()
    assert integration.assign_last_user_id == rob

    hunter.seed(KEY, 5, list_id=list_id)
    second = run_import(integration)
    assert (second.created, second.unchanged) == (5, 10)
    # The second run goes on after Rob, where the first one stopped.
    assert owners_in_order(everyone)[10:] == [ria, ray, rob, ria, ray]
    counts = {pk: Lead.objects.filter(user_id=pk).count() for pk in everyone}
    assert counts == {team["mia"].pk: 0, rob: 5, ria: 5, ray: 5}
    # Each lead sits in a company of its own owner's.
    assert not Lead.objects.exclude(company__user_id=F("user_id")).exists()
    # Nothing new at the vendor: a third run changes nothing and assigns nobody.
    third = run_import(integration)
    assert (third.created, third.updated) == (0, 0)
    integration.refresh_from_db()
    assert integration.assign_last_user_id == ray


def add_people(hunter: FakeHunter, list_id: int, n: int, *, start: int = 0, **extra) -> list[int]:
    return [
        hunter.add_raw_lead(
            KEY,
            {
                "email": f"person{i}@acme.com",
                "first_name": f"Person{i}",
                "last_name": "Acme",
                "company": "Acme",
                "website": "https://acme.com",
                **extra,
            },
            list_id=list_id,
        )
        for i in range(start, start + n)
    ]


def test_least_loaded_gives_each_new_lead_to_whoever_has_fewest_open_leads(hunter, team):
    rob, ria, ray = team["rob"], team["ria"], team["ray"]
    for i in range(3):
        make_lead(user=rob, email=f"rob{i}@x.com")
    for i in range(4):  # closed leads are no load
        make_lead(user=rob, email=f"won{i}@x.com", status=Status.CONVERTED)
    make_lead(user=ria, email="ria@x.com", status=Status.CONTACTED)
    make_lead(user=ray, email="lost@x.com", status=Status.LOST)
    list_id = hunter.add_list(KEY, "Fair")
    add_people(hunter, list_id, 6)
    integration = connect(team["mia"], list_id, assign="least_loaded")

    assert run_import(integration).created == 6
    open_leads = {
        user.username: Lead.objects.filter(user=user).exclude(status__in=["converted", "lost"])
        for user in (rob, ria, ray)
    }
    # Ray (0 open) first, then Ria and Ray alternate as they draw level, then Rob (3) once.
    assert {name: leads.count() for name, leads in open_leads.items()} == {
        "rob": 4,
        "ria": 3,
        "ray": 3,
    }
    assert Lead.objects.filter(user=team["mia"]).count() == 0


def test_inactive_reps_are_skipped_at_the_time_of_the_run(hunter, team):
    list_id = hunter.add_list(KEY, "Fair")
    add_people(hunter, list_id, 6)
    # Chosen while Ria was active; she leaves before the import runs.
    integration = connect(
        team["mia"], list_id, assign="round_robin", assign_to=[team["ria"].pk, team["ray"].pk]
    )
    team["ria"].is_active = False
    team["ria"].save()
    assert run_import(integration).created == 6
    assert Lead.objects.filter(user=team["ray"]).count() == 6
    assert not Lead.objects.exclude(user=team["ray"]).exists()

    # The default (every active rep) skips her too.
    Integration.objects.filter(pk=integration.pk).update(assign_to=None)
    integration.refresh_from_db()
    add_people(hunter, list_id, 4, start=100)
    assert run_import(integration).created == 4
    assert Lead.objects.filter(user=team["ria"]).count() == 0
    assert Lead.objects.filter(user=team["rob"]).count() == 2
    assert Lead.objects.filter(user=team["ray"]).count() == 8


def test_assign_to_a_subset_spreads_over_those_only(hunter, team):
    list_id = hunter.add_list(KEY, "Fair")
    add_people(hunter, list_id, 7)
    # The manager may name herself too: assign_to is anyone active in her scope.
    chosen = [team["mia"].pk, team["ray"].pk]
    integration = connect(team["mia"], list_id, assign="round_robin", assign_to=chosen)
    assert run_import(integration).created == 7
    counts = {name: Lead.objects.filter(user=team[name]).count() for name in team}
    assert counts == {"mia": 4, "rob": 0, "ria": 0, "ray": 3, "sam": 0}


def test_a_person_a_rep_owns_is_updated_in_place_and_keeps_their_owner(hunter, team):
    ria = team["ria"]
    acme = CompanyFactory(user=ria, name="Acme", domain="acme.com")
    theirs = make_lead(user=ria, company=acme, email="person0@acme.com", first_name="")
    list_id = hunter.add_list(KEY, "Fair")
    add_people(hunter, list_id, 3, position="CTO")
    integration = connect(team["mia"], list_id, assign="round_robin")

    run = run_import(integration)
    assert (run.created, run.updated) == (2, 1)
    theirs.refresh_from_db()
    assert (theirs.user_id, theirs.first_name, theirs.position) == (ria.pk, "Person0", "CTO")
    assert Lead.objects.filter(email="person0@acme.com").count() == 1  # nobody else got it
    link = ExternalLink.objects.get(integration=integration, lead=theirs)
    # The change is in Ria's history; it is no new lead, so nobody was assigned.
    update = LeadEvent.objects.get(lead=theirs, kind=LeadEvent.Kind.UPDATE)
    assert (update.user_id, update.source, update.provider) == (ria.pk, "import", "hunter")
    assert not LeadEvent.objects.filter(lead=theirs, changes__has_key="to_user_id").exists()
    # The two new people went to Rob and Ria in turn, not to Ria's lead's company.
    new = Lead.objects.exclude(pk=theirs.pk).order_by("id")
    assert [lead.user_id for lead in new] == [team["rob"].pk, ria.pk]
    assert new[1].company_id == acme.pk  # Ria's own Acme takes her new lead

    # Reassigned to Rob later, the record is still that lead: found by its link, in place.
    mia = ApiClient(team["mia"])
    moved = mia.patch(f"/v1/leads/{theirs.pk}", {"user_id": team["rob"].pk})
    assert moved.status_code == 200, moved.content
    with hunter._store_lock:
        hunter.accounts[KEY].leads[int(link.vendor_id)]["_raw"]["phone_number"] = "+1 555 0100"
    again = run_import(integration)
    assert (again.created, again.updated, again.unchanged) == (0, 1, 2)
    theirs.refresh_from_db()
    assert (theirs.user_id, theirs.phone) == (team["rob"].pk, "+1 555 0100")
    assert Lead.objects.filter(email="person0@acme.com").count() == 1


def test_a_reps_own_import_leaves_a_lead_handed_to_someone_else_alone(hunter, team):
    """Rob's own integration imported a person; Mia hands the lead to Ria. Rob's next import
    must not make the person again under Rob (nor fail on the vendor link)."""
    rob, ria = team["rob"], team["ria"]
    list_id = hunter.add_list(KEY, "Fair")
    vendor_ids = add_people(hunter, list_id, 2)
    integration = connect(rob, list_id)
    assert run_import(integration).created == 2
    handed = Lead.objects.get(email="person0@acme.com")
    response = ApiClient(team["mia"]).patch(f"/v1/leads/{handed.pk}", {"user_id": ria.pk})
    assert response.status_code == 200, response.content
    with hunter._store_lock:
        hunter.accounts[KEY].leads[vendor_ids[0]]["_raw"]["position"] = "CEO"

    again = run_import(integration)
    assert (again.created, again.updated, again.skipped, again.failed) == (0, 0, 1, 0)
    assert Lead.objects.filter(email="person0@acme.com").count() == 1
    handed.refresh_from_db()
    assert (handed.user_id, handed.position) == (ria.pk, "")


def test_the_first_history_entry_names_who_the_lead_was_assigned_to(hunter, team):
    list_id = hunter.add_list(KEY, "Fair")
    add_people(hunter, list_id, 2)
    integration = connect(team["mia"], list_id, assign="round_robin")
    run_import(integration)
    lead = Lead.objects.get(user=team["rob"])

    first = LeadEvent.objects.get(lead=lead)
    assert (first.user_id, first.actor_id, first.from_status) == (
        team["rob"].pk,
        team["mia"].pk,
        None,
    )
    for viewer in ("mia", "rob"):
        history = ApiClient(team[viewer]).get(f"/v1/leads/{lead.pk}/history").json()["data"]
        assert len(history) == 1
        assert history[0]["kind"] == "status"
        assert (history[0]["from_status"], history[0]["to_status"]) == (None, "new")
        assert (history[0]["source"], history[0]["provider"]) == ("import", "hunter")
        assert history[0]["to_user_id"] == team["rob"].pk
        assert "from_user_id" not in history[0]
    assert ApiClient(team["ria"]).get(f"/v1/leads/{lead.pk}/history").status_code == 404

    web = Client()
    web.force_login(team["rob"])
    page = web.get(f"/leads/{lead.pk}/").content.decode()
    assert 'data-testid="history-assigned"' in page
    assert "assigned to <strong>Rob North</strong>" in page
    assert 'data-testid="history-actor">mia<' in page  # whose import assigned it


def test_a_reps_integration_keeps_every_new_lead_whatever_is_stored(hunter, team):
    """A rule stored while Mia managed (or written by hand) does nothing for a rep."""
    list_id = hunter.add_list(KEY, "Fair")
    add_people(hunter, list_id, 3)
    integration = connect(team["rob"], list_id)
    Integration.objects.filter(pk=integration.pk).update(assign="round_robin")
    integration.refresh_from_db()
    assert run_import(integration).created == 3
    assert Lead.objects.filter(user=team["rob"]).count() == 3
    assert not LeadEvent.objects.filter(changes__has_key="to_user_id").exists()


def _records(start: int, size: int) -> list[VendorRecord]:
    return [
        VendorRecord(
            vendor_id=str(i),
            email=f"u{i}@c{i}.com",
            first_name="U",
            company_name=f"C{i}",
            company_domain=f"c{i}.com",
        )
        for i in range(start, start + size)
    ]


def test_an_assigned_page_costs_the_same_queries_whatever_its_size(team):
    integration = Integration.objects.create(
        user=team["mia"], provider="hunter", credentials_encrypted="x", assign="round_robin"
    )
    with CaptureQueriesContext(connection) as small:
        import_records(integration=integration, records=_records(0, 6), source_label="Hunter")
    with CaptureQueriesContext(connection) as large:
        import_records(integration=integration, records=_records(100, 90), source_label="Hunter")
    # New companies for three reps: one check and one insert per rep, whatever the count.
    assert len(large) <= len(small)
    assert Lead.objects.filter(user=team["mia"]).count() == 0
    for name in ("rob", "ria", "ray"):
        assert Lead.objects.filter(user=team[name]).count() == 32
    assert not Lead.objects.exclude(company__user_id=F("user_id")).exists()
