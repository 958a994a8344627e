"""Setting up teams (issue 16): the services and the `team` command."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from leads.models import Role, Team, TeamMembership
from leads.teams import (
    Change,
    team_ensure,
    team_member_remove,
    team_member_set,
    team_rename,
)
from leads.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def team(*args: str) -> list[str]:
    out = StringIO()
    call_command("team", *args, stdout=out)
    return out.getvalue().splitlines()


def memberships() -> set[tuple[str, str, str]]:
    return set(TeamMembership.objects.values_list("team__name", "user__username", "role"))


@pytest.fixture
def people():
    return {name: UserFactory(username=name) for name in ("ann", "bob", "cat", "dan")}


# --- services -------------------------------------------------------------------------------


def test_team_ensure_finds_a_team_in_any_case_and_creates_a_missing_one():
    sales, created = team_ensure(name="  Sales   East ")
    assert created and sales.name == "Sales East"
    again, created = team_ensure(name="sales east")
    assert (again, created) == (sales, False)
    assert Team.objects.count() == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 151])
def test_team_ensure_rejects_a_bad_name(name):
    with pytest.raises(ValidationError) as raised:
        team_ensure(name=name)
    assert "name" in raised.value.message_dict
    assert not Team.objects.exists()


def test_team_rename_refuses_another_teams_name_in_any_case():
    sales, _ = team_ensure(name="Sales")
    west, _ = team_ensure(name="West")
    with pytest.raises(ValidationError, match="already a team named 'Sales'"):
        team_rename(team=west, name="SALES")
    assert team_rename(team=west, name="West Coast").name == "West Coast"
    assert team_rename(team=sales, name="sales").name == "sales"  # its own name, recased


def test_member_set_adds_changes_role_moves_and_is_idempotent(people):
    sales, _ = team_ensure(name="Sales")
    west, _ = team_ensure(name="West")
    ann = people["ann"]
    first = team_member_set(team=sales, user=ann, role=Role.REP)
    assert first.change is Change.ADDED
    assert team_member_set(team=sales, user=ann, role=Role.REP).change is Change.UNCHANGED
    promoted = team_member_set(team=sales, user=ann, role=Role.MANAGER)
    assert (promoted.change, promoted.old_role, promoted.role) == (Change.ROLE, "rep", "manager")
    moved = team_member_set(team=west, user=ann, role=Role.REP)
    assert (moved.change, moved.other_team) == (Change.MOVED, sales)
    assert moved.describe() == "ann: moved from Sales (manager) to West as rep."
    assert memberships() == {("West", "ann", "rep")}


def test_member_set_rejects_an_unknown_role_naming_the_user(people):
    sales, _ = team_ensure(name="Sales")
    with pytest.raises(ValidationError) as raised:
        team_member_set(team=sales, user=people["ann"], role="boss")
    assert raised.value.message_dict == {
        "role": ["Unknown role 'boss' for ann: use one of rep, manager."]
    }
    assert not TeamMembership.objects.exists()


def test_member_set_needs_a_saved_team(people):
    with pytest.raises(ValidationError, match="must be saved"):
        team_member_set(team=Team(name="Draft"), user=people["ann"], role=Role.REP)


def test_member_remove_leaves_a_member_of_another_team_alone(people):
    sales, _ = team_ensure(name="Sales")
    west, _ = team_ensure(name="West")
    team_member_set(team=west, user=people["bob"], role=Role.REP)
    outcome = team_member_remove(team=sales, user=people["bob"])
    assert outcome.change is Change.UNCHANGED
    assert outcome.describe() == "bob is not in Sales (they are in West); left as is."
    assert memberships() == {("West", "bob", "rep")}
    removed = team_member_remove(team=west, user=people["bob"])
    assert (removed.change, removed.old_role) == (Change.REMOVED, "rep")
    assert not TeamMembership.objects.exists()


# --- the command ----------------------------------------------------------------------------


def test_command_creates_the_team_and_lists_its_members(people):
    out = team("Sales", "--manager", "ann", "--member", "bob", "cat")
    assert out == [
        "Created team Sales.",
        "ann: added to Sales as manager.",
        "bob: added to Sales as rep.",
        "cat: added to Sales as rep.",
        "Members of Sales:",
        "  ann  manager",
        "  bob  rep",
        "  cat  rep",
    ]
    assert memberships() == {("Sales", "ann", "manager"), ("Sales", "bob", "rep"),
                             ("Sales", "cat", "rep")}  # fmt: skip


def test_command_run_twice_changes_nothing_and_says_unchanged(people):
    args = ("Sales", "--manager", "ann", "--member", "bob", "--member", "cat")
    team(*args)
    before = list(TeamMembership.objects.values_list("pk", "team_id", "user_id", "role",
                                                     "joined_at"))  # fmt: skip
    out = team(*args)
    assert out == [
        "Team Sales: unchanged.",
        "Members of Sales:",
        "  ann  manager",
        "  bob  rep",
        "  cat  rep",
    ]
    after = list(TeamMembership.objects.values_list("pk", "team_id", "user_id", "role",
                                                    "joined_at"))  # fmt: skip
    assert after == before
    assert Team.objects.count() == 1
    # The name in another case is the same team.
    assert team("SALES")[0] == "Team Sales: unchanged."


def test_command_gives_a_user_named_again_the_role_given(people):
    team("Sales", "--manager", "ann", "--member", "bob")
    out = team("Sales", "--member", "ann", "--manager", "bob")
    assert out[:2] == ["bob: rep → manager in Sales.", "ann: manager → rep in Sales."]
    assert memberships() == {("Sales", "ann", "rep"), ("Sales", "bob", "manager")}


def test_command_removes_members_and_their_leads_stay(people):
    from leads.tests.factories import make_lead

    lead = make_lead(user=people["bob"], email="x@acme.com")
    team("Sales", "--manager", "ann", "--member", "bob")
    out = team("Sales", "--remove", "bob")
    assert out == ["bob: removed from Sales (was rep).", "Members of Sales:", "  ann  manager"]
    assert memberships() == {("Sales", "ann", "manager")}
    lead.refresh_from_db()
    assert lead.user == people["bob"]
    # Again: nothing to remove, nothing changes.
    assert team("Sales", "--remove", "bob")[:2] == [
        "bob is not in Sales; nothing to remove.",
        "Team Sales: unchanged.",
    ]
    out = team("Sales", "--remove", "ann")
    assert out[-1] == "Sales has no members."


def test_command_moves_a_user_from_another_team_and_says_so(people):
    team("West", "--manager", "ann", "--member", "bob")
    out = team("Sales", "--member", "ann")
    assert out == [
        "Created team Sales.",
        "ann: moved from West (manager) to Sales as rep.",
        "Members of Sales:",
        "  ann  rep",
    ]
    assert memberships() == {("Sales", "ann", "rep"), ("West", "bob", "rep")}
    # Removing her from West now leaves her where she is.
    assert team("West", "--remove", "ann")[0] == (
        "ann is not in West (they are in Sales); left as is."
    )
    assert memberships() == {("Sales", "ann", "rep"), ("West", "bob", "rep")}


def test_command_marks_deactivated_members(people):
    people["cat"].is_active = False
    people["cat"].save()
    out = team("Sales", "--member", "cat")
    assert out[-1] == "  cat  rep  (deactivated)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--member", "bob", "zed"), "No user named 'zed'; nothing was changed."),
        (("--manager", "yan", "--member", "bob", "--remove", "zed"),
         "No users named 'yan', 'zed'; nothing was changed."),
    ],
)  # fmt: skip
def test_command_with_an_unknown_user_names_it_and_changes_nothing(people, args, message):
    team("Sales", "--manager", "ann")
    before = memberships()
    with pytest.raises(CommandError) as raised:
        team("Sales", *args)
    assert str(raised.value) == message
    assert memberships() == before
    # Nor is a new team created.
    with pytest.raises(CommandError, match="zed"):
        team("Brand New", "--member", "zed")
    assert list(Team.objects.values_list("name", flat=True)) == ["Sales"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--manager", "ann", "--member", "ann"),
         "'ann' is named in both --manager and --member: name each user once."),
        (("--member", "bob", "--remove", "bob"),
         "'bob' is named in both --member and --remove: name each user once."),
        (("--manager", "cat", "--remove", "cat"),
         "'cat' is named in both --manager and --remove: name each user once."),
    ],
)  # fmt: skip
def test_command_refuses_a_user_in_two_options(people, args, message):
    with pytest.raises(CommandError) as raised:
        team("Sales", *args)
    assert str(raised.value) == message
    assert not Team.objects.exists()
    assert not TeamMembership.objects.exists()


def test_command_accepts_a_user_twice_in_the_same_option(people):
    team("Sales", "--member", "bob", "--member", "bob")
    assert memberships() == {("Sales", "bob", "rep")}


def test_command_rejects_a_bad_team_name_without_a_traceback(people):
    with pytest.raises(CommandError) as raised:
        team("   ", "--member", "bob")
    assert str(raised.value) == "A team needs a name."
    assert not TeamMembership.objects.exists()


def test_command_is_all_or_nothing(people, monkeypatch):
    """A failure part-way (here: the third write) undoes the writes before it."""
    from leads.management.commands import team as command

    calls = {"n": 0}
    real = command.team_member_set

    def failing(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ValidationError({"role": "boom for cat"})
        return real(**kwargs)

    monkeypatch.setattr(command, "team_member_set", failing)
    with pytest.raises(CommandError, match="boom for cat"):
        team("Sales", "--manager", "ann", "--member", "bob", "cat")
    assert not Team.objects.exists()
    assert not TeamMembership.objects.exists()


# --- what the README promises -----------------------------------------------------------------


def test_a_team_set_up_with_the_command_shows_the_manager_every_members_leads(people):
    """The README's "Teams": the manager's board, list and dashboard show the team's leads,
    a deactivated member's included; a rep's show their own."""
    from django.test import Client

    from leads.tests.factories import make_lead

    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    make_lead(user=ann, email="mine@ann.com", first_name="Annlead")
    make_lead(user=bob, email="b@bob.com", first_name="Boblead")
    cats = make_lead(user=cat, email="c@cat.com", first_name="Catlead")
    make_lead(user=people["dan"], email="d@dan.com", first_name="Danlead")  # not in the team
    team("Sales", "--manager", "ann", "--member", "bob", "cat")
    cat.is_active = False
    cat.save()

    def seen(user, path: str) -> set[str]:
        client = Client()
        client.force_login(user)
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.content.decode()
        return {name for name in ("Annlead", "Boblead", "Catlead", "Danlead") if name in page}

    # The dashboard's recent activity names the leads.
    for path in ("/leads/", "/board/", "/dashboard/"):
        assert seen(ann, path) == {"Annlead", "Boblead", "Catlead"}, path
        assert seen(bob, path) == {"Boblead"}, path
    # The deactivated member's lead page opens for the manager, not for a rep.
    assert seen(ann, f"/leads/{cats.pk}/") >= {"Catlead"}
    client = Client()
    client.force_login(bob)
    assert client.get(f"/leads/{cats.pk}/").status_code == 404
