"""CSV imports for a team (api.md "Teams, roles and assignment"; issue 16): the preview's "new
leads go to" choice, round robin going on from the user's previous import, and identity
across the manager's scope (a person a rep owns is updated in place and keeps their owner)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from csvimport.forecast import EXISTS_REASON
from csvimport.models import CsvImport, CsvRejection
from csvimport.tasks import run_csv_import
from leads.models import Company, Lead, LeadEvent, Role, Team, TeamMembership
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db

MAPPING = {"0": "email", "1": "first_name", "2": "last_name", "3": "company"}


@pytest.fixture
def team(db):
    north = Team.objects.create(name="North")
    people = {}
    for name, role in [
        ("mia", Role.MANAGER),
        ("rob", Role.REP),
        ("ria", Role.REP),
        ("ray", Role.REP),
    ]:
        people[name] = UserFactory(username=name, first_name=name.title())
        TeamMembership.objects.create(user=people[name], team=north, role=role)
    people["sam"] = UserFactory(username="sam")
    TeamMembership.objects.create(user=people["sam"], team=Team.objects.create(name="South"))
    return people


def people(n: int, start: int = 0, *, company: str = "Acme") -> str:
    rows = "".join(f"p{i}@acme.com,P{i},Acme,{company}\n" for i in range(start, start + n))
    return "email,first,last,company\n" + rows


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def start_from_the_preview(client: Client, text: str, **choices) -> CsvImport:
    """Upload ``text``, post the preview's form with ``choices``, run the queued job here."""
    upload = SimpleUploadedFile("team.csv", text.encode(), "text/csv")
    assert client.post("/leads/import/", {"file": upload}).status_code == 302
    csv_import = CsvImport.objects.order_by("-id").first()
    assert csv_import is not None
    form = {f"col-{i}": field for i, field in MAPPING.items()} | {"mode": "upsert"} | choices
    response = client.post(f"/leads/import/{csv_import.pk}/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert run_csv_import(csv_import.pk) == "succeeded"
    csv_import.refresh_from_db()
    return csv_import


def owners_in_order(team, names=("mia", "rob", "ria", "ray")) -> list[str]:
    by_id = {team[name].pk: name for name in names}
    rows = Lead.objects.filter(user_id__in=by_id).order_by("id").values_list("user_id", flat=True)
    return [by_id[pk] for pk in rows]


def test_the_preview_offers_the_choice_to_a_manager_only(team):
    upload = SimpleUploadedFile("team.csv", people(2).encode(), "text/csv")
    mia = signed_in(team["mia"])
    mia.post("/leads/import/", {"file": upload})
    csv_import = CsvImport.objects.get(user=team["mia"])
    html = mia.get(f"/leads/import/{csv_import.pk}/").content.decode()
    assert 'data-testid="import-assignment"' in html
    assert 'value="owner"' in html and 'value="round_robin"' in html
    assert f'name="assign_to" value="{team["rob"].pk}"' in html and "> Rob</label>" in html
    assert f'name="assign_to" value="{team["sam"].pk}"' not in html  # another team's

    rob = signed_in(team["rob"])
    rob.post("/leads/import/", {"file": SimpleUploadedFile("r.csv", people(2).encode())})
    theirs = CsvImport.objects.get(user=team["rob"])
    assert (
        'data-testid="import-assignment"'
        not in rob.get(f"/leads/import/{theirs.pk}/").content.decode()
    )


def test_round_robin_over_the_team_from_the_form_and_on_from_the_last_import(team):
    mia = signed_in(team["mia"])
    first = start_from_the_preview(mia, people(5), assign="round_robin")
    assert (first.assign, first.assign_to, first.created) == ("round_robin", None, 5)
    assert owners_in_order(team) == ["rob", "ria", "ray", "rob", "ria"]
    assert first.assign_last_user_id == team["ria"].pk
    progress = mia.get(f"/leads/import/{first.pk}/progress/").content.decode()
    assert "new leads: round robin over the team" in progress

    # The next file goes on after Ria, where the last one stopped.
    second = start_from_the_preview(mia, people(4, start=10), assign="round_robin")
    assert owners_in_order(team)[5:] == ["ray", "rob", "ria", "ray"]
    assert second.assign_last_user_id == team["ray"].pk
    # Each lead is in a company of its owner's; each first entry names the assignee.
    for lead in Lead.objects.select_related("company", "user"):
        assert lead.company.user_id == lead.user_id
        entry = LeadEvent.objects.get(lead=lead)
        assert entry.changes["to_user_id"] == lead.user_id
        assert entry.changes["owner"] == [None, lead.user.first_name]
        assert (entry.actor_id, entry.source) == (team["mia"].pk, "csv")
    assert Company.objects.filter(name="Acme").count() == 3  # one each for Rob, Ria, Ray


def test_the_form_names_a_subset_and_least_loaded(team):
    make_lead(user=team["ray"], email="busy1@x.com")
    make_lead(user=team["ray"], email="busy2@x.com")
    mia = signed_in(team["mia"])
    chosen = [str(team["rob"].pk), str(team["ray"].pk)]
    csv_import = start_from_the_preview(mia, people(4), assign="least_loaded", assign_to=chosen)
    assert csv_import.assign_to == sorted(int(pk) for pk in chosen)
    new = Lead.objects.filter(email__startswith="p").order_by("id")
    # Rob (0 open) takes two to draw level with Ray (2 open), then the tie goes to the lower
    # id (Rob), then Ray; Ria was not chosen.
    assert [lead.user.username for lead in new] == ["rob", "rob", "rob", "ray"]


def test_a_person_a_rep_owns_is_updated_in_place_and_keeps_their_owner(team):
    ria = team["ria"]
    acme = CompanyFactory(user=ria, name="Acme", domain="")
    theirs = make_lead(user=ria, company=acme, email="p1@acme.com", first_name="")
    mia = signed_in(team["mia"])
    csv_import = start_from_the_preview(mia, people(3), assign="round_robin")
    assert (csv_import.created, csv_import.updated) == (2, 1)
    theirs.refresh_from_db()
    assert (theirs.user_id, theirs.first_name) == (ria.pk, "P1")
    assert Lead.objects.filter(email="p1@acme.com").count() == 1
    update = LeadEvent.objects.get(lead=theirs, kind=LeadEvent.Kind.UPDATE)
    assert (update.user_id, update.source) == (ria.pk, "csv")

    # Create only: the forecast and the job both see the rep's lead as already there.
    upload = SimpleUploadedFile("again.csv", people(1, start=1).encode(), "text/csv")
    mia.post("/leads/import/", {"file": upload})
    again = CsvImport.objects.order_by("-id").first()
    assert again is not None and again.mode == "create"
    html = mia.get(f"/leads/import/{again.pk}/").content.decode()
    assert f"1 row: {EXISTS_REASON}" in html
    form = {f"col-{i}": field for i, field in MAPPING.items()} | {"mode": "create"}
    assert mia.post(f"/leads/import/{again.pk}/", form).status_code == 302
    assert run_csv_import(again.pk) == "failed"  # its only row was rejected
    assert "already exists" in CsvRejection.objects.get(csv_import=again).reason
    assert Lead.objects.filter(email="p1@acme.com").count() == 1


def test_a_second_import_of_the_same_file_duplicates_nobody_across_the_team(team):
    """Rows without an email went to three reps; importing the file again finds each of them
    by name in their owner's company, whoever that is."""
    text = "email,first,last,company\n" + "".join(f",First{i},Last{i},Globex\n" for i in range(6))
    mia = signed_in(team["mia"])
    start_from_the_preview(mia, text, assign="round_robin")
    assert owners_in_order(team) == ["rob", "ria", "ray"] * 2
    again = start_from_the_preview(mia, text, assign="round_robin")
    assert (again.created, again.updated) == (0, 0)
    assert Lead.objects.count() == 6


def test_refused_choices_are_a_400_and_nothing_starts(team):
    cases = [
        (team["rob"], {"assign": "round_robin"}, "Only a team&#x27;s manager"),
        (team["mia"], {"assign": "everybody"}, "Select a valid choice"),
        (team["mia"], {"assign": "round_robin", "assign_to": [str(team["sam"].pk)]}, "Each user"),
        (team["mia"], {"assign": "round_robin", "assign_to": [str(10**9)]}, "Each user"),
    ]
    for user, choices, words in cases:
        client = signed_in(user)
        upload = SimpleUploadedFile("x.csv", people(2).encode(), "text/csv")
        client.post("/leads/import/", {"file": upload})
        csv_import = CsvImport.objects.filter(user=user).order_by("-id").first()
        form = {f"col-{i}": field for i, field in MAPPING.items()} | {"mode": "upsert"}
        response = client.post(f"/leads/import/{csv_import.pk}/", form | choices)
        assert response.status_code == 400, (choices, response.status_code)
        assert words in response.content.decode()
        assert "New leads go to" in response.content.decode() or "Spread over" in (
            response.content.decode()
        )
        csv_import.refresh_from_db()
        assert (csv_import.state, csv_import.assign) == ("pending", "owner")
    assert not Lead.objects.exists()


def test_identity_is_across_the_team_even_when_new_leads_stay_the_managers(team):
    theirs = make_lead(user=team["rob"], email="p0@acme.com", last_name="")
    csv_import = start_from_the_preview(signed_in(team["mia"]), people(2))
    assert (csv_import.assign, csv_import.created, csv_import.updated) == ("owner", 1, 1)
    theirs.refresh_from_db()
    assert (theirs.user_id, theirs.last_name) == (team["rob"].pk, "Acme")
    assert Lead.objects.get(email="p1@acme.com").user_id == team["mia"].pk
    # No assignment: the new lead's first entry is a plain one, as before teams.
    assert LeadEvent.objects.get(lead__email="p1@acme.com").changes == {}
