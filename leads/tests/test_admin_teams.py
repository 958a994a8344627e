"""Teams in the Django admin (issue 16): a team with its members inline, counts without a
query per row, the user's team on the user's page, and who may see any of it."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads.models import Lead, Role, Team, TeamMembership
from leads.teams import team_ensure, team_member_set
from leads.tests.factories import CompanyFactory, UserFactory, make_lead
from leads.tests.test_admin import form_data, post_form

pytestmark = pytest.mark.django_db

TEAMS_URL = reverse("admin:leads_team_changelist")
TEAM_ADD_URL = reverse("admin:leads_team_add")
USERS_URL = reverse("admin:auth_user_changelist")
PREFIX = "memberships"


def team_url(team: Team) -> str:
    return reverse("admin:leads_team_change", args=[team.pk])


def user_url(user) -> str:
    return reverse("admin:auth_user_change", args=[user.pk])


def members() -> set[tuple[str, str, str]]:
    return set(TeamMembership.objects.values_list("team__name", "user__username", "role"))


def text(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return re.sub(r"\s+", " ", response.content.decode())


def leads_for(user, statuses: list[str]) -> None:
    company = CompanyFactory(user=user)
    for i, status in enumerate(statuses):
        make_lead(user=user, company=company, email=f"{user.username}{i}@x.com", status=status)


@pytest.fixture
def people():
    return {name: UserFactory(username=name) for name in ("ann", "bob", "cat", "dan")}


@pytest.fixture
def sales(people):
    team, _ = team_ensure(name="Sales")
    team_member_set(team=team, user=people["ann"], role=Role.MANAGER)
    team_member_set(team=team, user=people["bob"], role=Role.REP)
    leads_for(people["ann"], ["new"])
    leads_for(people["bob"], ["new", "contacted", "qualified", "converted", "lost"])
    return team


def row_changes(data: dict[str, str], index: int, **changes: str) -> dict[str, str]:
    for key, value in changes.items():
        data[f"{PREFIX}-{index}-{key}"] = value
    return data


def inline_index(data: dict[str, str], user) -> int:
    for key, value in data.items():
        match = re.fullmatch(rf"{PREFIX}-(\d+)-user", key)
        if match and value == str(user.pk):
            return int(match.group(1))
    raise AssertionError(f"no row for {user}")


def add_row(data: dict[str, str], user, role: str) -> dict[str, str]:
    """Fill the blank row a team's page offers (its last one)."""
    index = int(data[f"{PREFIX}-TOTAL_FORMS"]) - 1
    return row_changes(data, index, user=str(user.pk), role=role)


# --- pages ----------------------------------------------------------------------------------


def test_pages_render_for_a_superuser(admin_client, sales, people):
    for url in [
        TEAMS_URL,
        f"{TEAMS_URL}?q=sal",
        f"{TEAMS_URL}?o=3",
        TEAM_ADD_URL,
        team_url(sales),
        reverse("admin:leads_team_delete", args=[sales.pk]),
        reverse("admin:leads_team_history", args=[sales.pk]),
        USERS_URL,
        user_url(people["bob"]),
        user_url(people["dan"]),
        reverse("admin:auth_user_add"),
    ]:
        assert admin_client.get(url).status_code == 200, url


def test_changelist_shows_managers_member_count_and_open_leads(admin_client, sales, people):
    west, _ = team_ensure(name="West")
    team_ensure(name="Empty")
    team_member_set(team=west, user=people["cat"], role=Role.REP)
    leads_for(people["cat"], ["qualified", "lost"])
    leads_for(people["dan"], ["new"])  # in no team: counted nowhere

    response = admin_client.get(TEAMS_URL)
    rows = {team.name: team for team in response.context["cl"].result_list}
    assert {name: (t.member_total, t.open_lead_total) for name, t in rows.items()} == {
        "Empty": (0, 0),
        "Sales": (2, 4),  # ann's new one and bob's three open ones
        "West": (1, 1),
    }
    page = text(response)
    assert re.search(r'<a href="[^"]*">Sales</a></th><td class="field-managers">ann</td>'
                     r'<td class="field-member_total">2</td>'
                     r'<td class="field-open_lead_total">4</td>', page)  # fmt: skip


def test_team_page_lists_members_with_roles_and_open_leads(admin_client, sales, people):
    response = admin_client.get(team_url(sales))
    inline = response.context["inline_admin_formsets"][0]
    rows = [(form.instance.user.username, form.instance.role, form.instance.open_lead_count)
            for form in inline.formset.initial_forms]  # fmt: skip
    assert rows == [("ann", "manager", 1), ("bob", "rep", 3)]
    page = text(response)
    bob_leads = (
        f"{reverse('admin:leads_lead_changelist')}?user__id__exact={people['bob'].pk}"
        "&amp;status__in=new%2Ccontacted%2Cqualified"
    )
    assert f'<a href="{bob_leads}">3</a>' in page
    # The link lists exactly bob's open leads.
    listed = admin_client.get(bob_leads.replace("&amp;", "&")).context["cl"].result_list
    assert sorted(lead.status for lead in listed) == ["contacted", "new", "qualified"]
    # Users already in another team are labelled as such in the choice.
    west, _ = team_ensure(name="West")
    team_member_set(team=west, user=people["cat"], role=Role.REP)
    assert ">cat (in West)</option>" in text(admin_client.get(team_url(sales)))


# --- query counts ---------------------------------------------------------------------------


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_team_changelist_queries_do_not_grow_with_teams(admin_client, people):
    def make(start: int, n: int) -> None:
        for i in range(start, start + n):
            team, _ = team_ensure(name=f"Team {i}")
            for j, role in enumerate((Role.MANAGER, Role.REP, Role.REP)):
                user = UserFactory(username=f"t{i}-{j}")
                team_member_set(team=team, user=user, role=role)
                leads_for(user, ["new", "lost"])

    make(0, 2)
    admin_client.get(TEAMS_URL)  # warm the session and content-type caches
    few = count_queries(admin_client, TEAMS_URL)
    make(2, 6)
    assert count_queries(admin_client, TEAMS_URL) == few
    assert few <= 8


def test_team_page_queries_do_not_grow_with_members(admin_client, sales):
    admin_client.get(team_url(sales))
    few = count_queries(admin_client, team_url(sales))
    for i in range(8):
        user = UserFactory(username=f"extra{i}")
        team_member_set(team=sales, user=user, role=Role.REP)
        leads_for(user, ["new", "contacted"])
    assert count_queries(admin_client, team_url(sales)) == few
    assert few <= 12


def test_user_changelist_queries_do_not_grow_with_team_members(admin_client, sales):
    admin_client.get(USERS_URL)
    few = count_queries(admin_client, USERS_URL)
    for i in range(8):
        team_member_set(team=sales, user=UserFactory(username=f"m{i}"), role=Role.REP)
    assert count_queries(admin_client, USERS_URL) == few


# --- writing --------------------------------------------------------------------------------


def test_adding_a_team_with_members_inline(admin_client, people):
    data = form_data(admin_client.get(TEAM_ADD_URL))
    data["name"] = " North  Team "
    add_row(data, people["ann"], "manager")
    data["_save"] = "Save"
    response = admin_client.post(TEAM_ADD_URL, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert members() == {("North Team", "ann", "manager")}
    # The admin's history of the team names the member added.
    entry = LogEntry.objects.get(object_repr="North Team")
    assert "ann (Manager of North Team)" in entry.get_change_message()


def test_adding_a_team_whose_name_exists_in_another_case_is_a_form_error(admin_client, sales):
    data = form_data(admin_client.get(TEAM_ADD_URL))
    data["name"] = "SALES"
    response = admin_client.post(TEAM_ADD_URL, data)
    assert "There is already a team named &#x27;Sales&#x27;." in text(response)
    assert Team.objects.count() == 1


def test_changing_a_role_adding_and_removing_members_inline(admin_client, sales, people):
    url = team_url(sales)
    data = form_data(admin_client.get(url))
    row_changes(data, inline_index(data, people["bob"]), role="manager")
    row_changes(data, inline_index(data, people["ann"]), DELETE="on")
    add_row(data, people["cat"], "rep")
    data["_save"] = "Save"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert members() == {("Sales", "bob", "manager"), ("Sales", "cat", "rep")}
    # Their leads stay theirs.
    assert Lead.objects.filter(user=people["ann"]).count() == 1
    message = LogEntry.objects.filter(object_id=str(sales.pk)).latest("pk").get_change_message()
    assert message == (
        "Added team membership “cat (Rep of Sales)”. "
        "Changed Role for team membership “bob (Manager of Sales)”. "
        "Deleted team membership “ann (Manager of Sales)”."
    )


def test_saving_the_page_unchanged_changes_nothing(admin_client, sales):
    before = list(TeamMembership.objects.values_list("pk", "team_id", "user_id", "role",
                                                     "joined_at"))  # fmt: skip
    assert post_form(admin_client, team_url(sales)).status_code == 302
    after = list(TeamMembership.objects.values_list("pk", "team_id", "user_id", "role",
                                                    "joined_at"))  # fmt: skip
    assert after == before


def test_a_row_changed_to_another_user_replaces_the_member(admin_client, sales, people):
    url = team_url(sales)
    data = form_data(admin_client.get(url))
    row_changes(data, inline_index(data, people["bob"]), user=str(people["dan"].pk))
    data["_save"] = "Save"
    assert admin_client.post(url, data).status_code == 302
    assert members() == {("Sales", "ann", "manager"), ("Sales", "dan", "rep")}


def test_a_user_in_another_team_is_a_form_error_naming_that_team(admin_client, sales, people):
    west, _ = team_ensure(name="West")
    team_member_set(team=west, user=people["cat"], role=Role.MANAGER)
    url = team_url(sales)
    data = form_data(admin_client.get(url))
    add_row(data, people["cat"], "rep")
    data["_save"] = "Save"
    response = admin_client.post(url, data)
    page = text(response)
    assert (
        "cat is already in team West (as manager); a user belongs to one team at most. "
        "Remove them from West first."
    ) in page
    assert "Team membership with this User already exists" not in page
    assert ("West", "cat", "manager") in members()
    assert ("Sales", "cat", "rep") not in members()


def test_a_user_twice_in_the_same_team_is_a_form_error(admin_client, sales, people):
    url = team_url(sales)
    data = form_data(admin_client.get(url))
    add_row(data, people["bob"], "manager")
    data["_save"] = "Save"
    page = text(admin_client.post(url, data))
    assert "bob is already a member of this team." in page
    assert ("Sales", "bob", "rep") in members()


def test_deleting_a_team_keeps_its_members_leads(admin_client, sales, people):
    url = reverse("admin:leads_team_delete", args=[sales.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Team.objects.exists()
    assert not TeamMembership.objects.exists()
    assert Lead.objects.filter(user=people["bob"]).count() == 5


def test_renaming_a_team(admin_client, sales):
    assert post_form(admin_client, team_url(sales), name="Sales EMEA").status_code == 302
    sales.refresh_from_db()
    assert sales.name == "Sales EMEA"


# --- the user's page ------------------------------------------------------------------------


def test_user_page_shows_team_and_role_read_only_linking_to_the_team(admin_client, sales, people):
    page = text(admin_client.get(user_url(people["ann"])))
    assert f'<a href="{team_url(sales)}">Sales</a>' in page
    assert re.search(r'<div class="readonly">Manager</div>', page)
    # Read-only: not in the form a browser posts.
    data = form_data(admin_client.get(user_url(people["ann"])))
    assert not {"crm_team", "crm_role"} & set(data)
    # A user in no team says so.
    dan_page = text(admin_client.get(user_url(people["dan"])))
    assert "field-crm_team" in dan_page
    assert team_url(sales) not in dan_page
    # And the user list has the team column.
    assert f'<td class="field-crm_team"><a href="{team_url(sales)}">Sales</a></td>' in text(
        admin_client.get(USERS_URL)
    )


# --- permissions ----------------------------------------------------------------------------


def test_staff_without_permission_cannot_see_teams(client, sales):
    staff = UserFactory(username="clerk", is_staff=True)
    client.force_login(staff)
    assert client.get(TEAMS_URL).status_code == 403
    assert client.get(team_url(sales)).status_code == 403
    assert client.get(TEAM_ADD_URL).status_code == 403
    index = text(client.get(reverse("admin:index")))
    assert TEAMS_URL not in index


def test_staff_with_view_permission_sees_but_cannot_change(client, sales, people):
    staff = UserFactory(username="viewer", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_team"))
    client.force_login(staff)
    assert client.get(TEAMS_URL).status_code == 200
    assert client.get(team_url(sales)).status_code == 200
    response = client.post(team_url(sales), {"name": "Hijacked"})
    assert response.status_code == 403
    sales.refresh_from_db()
    assert sales.name == "Sales"
