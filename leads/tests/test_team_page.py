"""The Team page (issue 16): a manager's members with their pipelines, and "Reassign all of
X's leads to…" for a deactivated member. Nobody else has the page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.db.models import Max
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Company, Lead, LeadEvent, Role, Source, Status, Team, TeamMembership
from leads.reassign import ASSIGNEE_ERROR
from leads.services import lead_set_status
from leads.team_selectors import month_start
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db

MISSING = 10**9


@pytest.fixture
def org():
    """Team North: manager Mia, reps Rob and Ria, Dan (a rep, deactivated, with leads) and
    Dee (deactivated, no leads); team South: manager Max and rep Sam; Lou in no team."""
    north, south = Team.objects.create(name="North"), Team.objects.create(name="South")
    people = {}
    for name, team, role in [
        ("mia", north, Role.MANAGER), ("rob", north, Role.REP), ("ria", north, Role.REP),
        ("dan", north, Role.REP), ("dee", north, Role.REP), ("max", south, Role.MANAGER),
        ("sam", south, Role.REP), ("lou", None, None),
    ]:  # fmt: skip
        user = UserFactory(username=name)
        if team is not None:
            TeamMembership.objects.create(user=user, team=team, role=role)
        people[name] = user
    rob = people["rob"]
    acme = CompanyFactory(user=rob, name="Acme", domain="acme.com")
    for i, status in enumerate(
        ["new", "new", "new", "contacted", "contacted", "qualified", "lost", "converted"]
    ):
        make_lead(user=rob, company=acme, first_name=f"Rob{i}", status=status)
    # Converted long ago: not this month.
    old = make_lead(user=rob, company=acme, first_name="Old", status="converted")
    Lead.objects.filter(pk=old.pk).update(status_changed_at=month_start() - dt.timedelta(days=40))
    dan = people["dan"]
    dan_co = CompanyFactory(user=dan, name="Globex", domain="globex.com")
    make_lead(user=dan, company=dan_co, first_name="Dana", email="dana@globex.com")
    make_lead(user=dan, company=dan_co, first_name="Dora", email="dora@globex.com",
              status="qualified")  # fmt: skip
    make_lead(user=people["sam"], first_name="Samuel")
    make_lead(user=people["lou"], first_name="Louis")
    for name in ("dan", "dee"):
        people[name].is_active = False
        people[name].save()
    return people


def web(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def _without_csrf(html: bytes) -> bytes:
    return re.sub(
        rb'(csrf-token" content="|X-CSRFToken": "|csrfmiddlewaretoken" value=")[^"]+', rb"\1", html
    )


def _owners() -> dict[str, str]:
    return dict(Lead.objects.values_list("first_name", "user__username"))


# --- the page -------------------------------------------------------------------------------


def test_the_page_lists_the_team_with_figures_equal_to_the_orms(org):
    response = web(org["mia"]).get("/team/")
    assert response.status_code == 200
    page = response.context["page"]
    assert page.team_name == "North"
    # Managers first, then by username; nobody of South and nobody without a team.
    assert [m.username for m in page.members] == ["mia", "dan", "dee", "ria", "rob"]
    since = month_start()
    for member in page.members:
        user = org[member.username]
        leads = Lead.objects.filter(user=user)
        assert member.open_by_status == {
            s: leads.filter(status=s).count() for s in ("new", "contacted", "qualified")
        }, member.username
        assert member.converted_this_month == (
            leads.filter(status="converted", status_changed_at__gte=since).count()
        )
        latest = LeadEvent.objects.filter(user=user).aggregate(at=Max("at"))["at"]
        assert member.last_activity == latest
        assert member.is_active == user.is_active
        # Counted in full for deactivated members only.
        assert member.leads_total == (None if user.is_active else leads.count())
    rob = next(m for m in page.members if m.username == "rob")
    assert (rob.open_by_status, rob.converted_this_month) == (
        {"new": 3, "contacted": 2, "qualified": 1},
        1,
    )
    ria = next(m for m in page.members if m.username == "ria")
    assert ria.last_activity is None and ria.open_total == 0


def test_the_page_shows_roles_accounts_and_links_into_the_list(org):
    html = web(org["mia"]).get("/team/").content.decode()
    rob_id = org["rob"].pk
    row = re.search(r'data-testid="member-rob">(.*?)</tr>', html, re.S).group(1)
    assert f'href="/leads/?user_id={rob_id}"' in row
    assert f'href="/leads/?user_id={rob_id}&amp;status=new"' in row
    assert ">3</a>" in row and ">Rep<" in row and ">Active<" in row
    assert "ago</time>" in row or "just now</time>" in row
    dan_row = re.search(r'data-testid="member-dan">(.*?)</tr>', html, re.S).group(1)
    assert "Deactivated" in dan_row
    mia_row = re.search(r'data-testid="member-mia">(.*?)</tr>', html, re.S).group(1)
    assert ">Manager<" in mia_row
    for outsider in (">max<", ">sam<", ">lou<", "Samuel", "Louis"):
        assert outsider not in html
    # The list opens filtered by that member.
    listed = web(org["mia"]).get(f"/leads/?user_id={rob_id}&status=new").content.decode()
    assert "Rob0" in listed and "Rob3" not in listed and "Dana" not in listed


def test_the_handover_form_is_offered_for_deactivated_members_with_leads_only(org):
    html = web(org["mia"]).get("/team/").content.decode()
    assert 'data-testid="handover-dan"' in html
    assert "Reassign all 2 of dan's leads to…" in html
    # Dee is deactivated without leads; Rob is active.
    assert 'data-testid="handover-dee"' not in html and 'data-testid="handover-rob"' not in html
    form = re.search(r'data-testid="handover-dan">(.*?)</form>', html, re.S).group(1)
    assert "csrfmiddlewaretoken" in form
    # Only active members are offered: never a deactivated one or another team's.
    offered = re.findall(r'<option value="(\d+)"', form)
    assert sorted(map(int, offered)) == sorted(org[n].pk for n in ("mia", "ria", "rob"))


def test_only_a_manager_has_the_page_and_the_link(org):
    assert 'data-testid="nav-team"' in web(org["mia"]).get("/leads/").content.decode()
    for name in ("rob", "lou"):
        client = web(org[name])
        assert 'data-testid="nav-team"' not in client.get("/leads/").content.decode()
        theirs = client.get("/team/")
        nobody = client.get("/no-such-page/")
        assert theirs.status_code == nobody.status_code == 404
        assert _without_csrf(theirs.content) == _without_csrf(nobody.content)
    # Another team's manager sees their own team, nothing of North.
    html = web(org["max"]).get("/team/").content.decode()
    assert ">sam<" in html and ">rob<" not in html and ">dan<" not in html
    # Signed out: the sign-in page, as for every page.
    assert Client().get("/team/")["Location"].startswith("/accounts/login/")


def test_the_page_costs_the_same_statements_for_a_bigger_team(org):
    def count() -> int:
        client = web(org["mia"])
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/team/").status_code == 200
        return len(ctx.captured_queries)

    small = count()
    north = Team.objects.get(name="North")
    for i in range(4):
        user = UserFactory(username=f"new{i}")
        TeamMembership.objects.create(user=user, team=north, role=Role.REP)
        make_lead(user=user, first_name=f"New{i}")
    assert count() == small
    # session, user with membership, the team's members, the tally, the members' statement
    assert small <= 5


# --- "Reassign all of X's leads to…" --------------------------------------------------------


def _handover(client: Client, member, to_user, confirm: bool = False):
    data = {"to_user": "" if to_user is None else getattr(to_user, "pk", to_user)}
    if confirm:
        data["confirm"] = "1"
    return client.post(f"/team/members/{member.pk}/reassign/", data)


def test_handover_confirms_the_count_then_moves_every_lead(org):
    mia, dan, ria = web(org["mia"]), org["dan"], org["ria"]
    confirm = _handover(mia, dan, ria)
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "Reassign 2 leads of dan to ria?" in html
    assert 'data-testid="confirm-count">2 leads<' in html
    assert "csrfmiddlewaretoken" in html
    assert _owners()["Dana"] == "dan"  # nothing moved yet
    done = _handover(mia, dan, ria, confirm=True)
    assert done.status_code == 302 and done["Location"] == "/team/"
    page = mia.get("/team/")
    assert "2 leads of dan reassigned to ria." in page.content.decode()
    assert _owners()["Dana"] == _owners()["Dora"] == "ria"
    # Each lead went to Ria's company of that domain, and its history names the manager.
    moved_to = set(
        Lead.objects.filter(first_name__in=["Dana", "Dora"]).values_list("company", flat=True)
    )
    assert moved_to == set(
        Company.objects.filter(user=ria, domain="globex.com").values_list("pk", flat=True)
    )
    assert len(moved_to) == 1
    entries = LeadEvent.objects.filter(kind=LeadEvent.Kind.OWNER, user=ria)
    assert entries.count() == 2
    assert {e.actor_id for e in entries} == {org["mia"].pk}
    assert {e.changes["from_user_id"] for e in entries} == {dan.pk}
    # Dan's row now shows no lead and no form.
    members = {m.username: m for m in page.context["page"].members}
    assert members["dan"].leads_total == 0 and not members["dan"].awaits_handover
    assert members["ria"].open_by_status == {"new": 1, "contacted": 0, "qualified": 1}


def test_handover_to_an_inactive_member_is_a_form_error_and_moves_nothing(org):
    mia = web(org["mia"])
    for confirm in (False, True):
        response = _handover(mia, org["dan"], org["dee"], confirm=confirm)
        assert response.status_code == 400
        html = response.content.decode()
        form = re.search(r'data-testid="handover-dan">(.*?)</form>', html, re.S).group(1)
        assert "That user is inactive: choose an active member." in form
        assert 'aria-invalid="true"' in form
    assert _owners()["Dana"] == "dan"
    assert not LeadEvent.objects.filter(kind=LeadEvent.Kind.OWNER).exists()


def test_handover_to_someone_outside_the_team_reads_like_nobody(org):
    mia = web(org["mia"])
    answers = []
    for target in (org["sam"], org["lou"], MISSING):
        response = _handover(mia, org["dan"], target, confirm=True)
        assert response.status_code == 400
        form = re.search(
            r'data-testid="handover-dan">(.*?)</form>', response.content.decode(), re.S
        ).group(1)
        assert ASSIGNEE_ERROR in form
        # The chosen value is kept only when it is one of the choices; the error is the same.
        answers.append(re.search(r'data-testid="handover-error">(.*?)<', form).group(1))
    assert len(set(answers)) == 1
    for bad in ("", "abc"):
        response = _handover(mia, org["dan"], bad, confirm=True)
        assert response.status_code == 400
        assert "Choose who the leads go to." in response.content.decode()
    assert _owners()["Dana"] == "dan"


def test_handover_with_an_email_the_colleague_has_names_the_lead_and_moves_nothing(org):
    ria = org["ria"]
    taken = make_lead(user=ria, first_name="Ria's Dora", email="dora@globex.com")
    mia = web(org["mia"])
    response = _handover(mia, org["dan"], ria, confirm=True)
    assert response.status_code == 409
    html = response.content.decode()
    form = re.search(r'data-testid="handover-dan">(.*?)</form>', html, re.S).group(1)
    assert "ria already has a lead with the email dora@globex.com" in form
    assert f'<a href="/leads/{taken.pk}/">lead {taken.pk}</a>' in form
    assert "nothing was reassigned" in form
    # The choice is kept, to change it or to come back after merging.
    assert f'<option value="{ria.pk}" selected>' in form
    assert _owners()["Dana"] == _owners()["Dora"] == "dan"
    assert not LeadEvent.objects.filter(kind=LeadEvent.Kind.OWNER).exists()


def test_handover_needs_the_csrf_token(org):
    mia = web(org["mia"], enforce_csrf_checks=True)
    response = _handover(mia, org["dan"], org["ria"], confirm=True)
    assert response.status_code == 403
    assert _owners()["Dana"] == "dan"
    # With the page's token it goes through.
    token = mia.get("/team/").cookies["csrftoken"].value
    moved = mia.post(
        f"/team/members/{org['dan'].pk}/reassign/",
        {"to_user": org["ria"].pk, "confirm": "1", "csrfmiddlewaretoken": token},
    )
    assert moved.status_code == 302 and _owners()["Dana"] == "ria"


def test_handover_of_someone_outside_the_team_is_the_missing_404(org):
    mia = web(org["mia"])
    for outsider in (org["sam"], org["lou"], org["max"]):
        theirs = _handover(mia, outsider, org["ria"], confirm=True)
        nobody = mia.post(f"/team/members/{MISSING}/reassign/", {"to_user": org["ria"].pk,
                                                                  "confirm": "1"})  # fmt: skip
        assert theirs.status_code == nobody.status_code == 404
        assert _without_csrf(theirs.content) == _without_csrf(nobody.content)
    # A rep, and someone in no team: the page does not exist for them.
    for name in ("rob", "lou"):
        response = _handover(web(org[name]), org["dan"], org[name], confirm=True)
        assert response.status_code == 404
    assert mia.get(f"/team/members/{org['dan'].pk}/reassign/").status_code == 405
    assert _owners()["Samuel"] == "sam" and _owners()["Dana"] == "dan"


def test_handover_of_an_active_members_leads_shows_its_error_on_the_page(org):
    """The page offers the form for deactivated members; the same request for an active one
    works like the list's bulk Assign, and its errors still reach the page."""
    mia = web(org["mia"])
    response = _handover(mia, org["ria"], org["dee"], confirm=True)
    assert response.status_code == 400
    assert 'data-testid="team-error">That user is inactive' in response.content.decode()
    response = _handover(mia, org["rob"], org["rob"], confirm=True)
    assert response.status_code == 400
    assert "Choose someone else: these are rob&#x27;s leads already." in response.content.decode()


def test_a_handover_with_no_leads_left_says_so(org):
    mia = web(org["mia"])
    confirm = _handover(mia, org["dee"], org["ria"])
    assert "Reassign 0 leads of dee to ria?" in confirm.content.decode()
    assert 'data-testid="confirm-reassign"' not in confirm.content.decode()
    done = _handover(mia, org["dee"], org["ria"], confirm=True)
    assert done.status_code == 302
    assert "dee has no leads to reassign" in mia.get("/team/").content.decode()


def test_last_activity_follows_the_newest_history_entry(org):
    rob = org["rob"]
    lead = Lead.objects.filter(user=rob, first_name="Rob0").get()
    LeadEvent.objects.filter(user=rob).update(at=timezone.now() - dt.timedelta(days=3))
    page = web(org["mia"]).get("/team/").context["page"]
    member = next(m for m in page.members if m.username == "rob")
    assert timezone.now() - member.last_activity > dt.timedelta(days=2)
    lead_set_status(lead=lead, status=Status.CONTACTED, source=Source.UI)
    page = web(org["mia"]).get("/team/").context["page"]
    member = next(m for m in page.members if m.username == "rob")
    assert timezone.now() - member.last_activity < dt.timedelta(minutes=1)
