"""leads.assignment: who an import's new leads go to, read at each page or batch."""

from __future__ import annotations

import pytest

from leads.assignment import Assignment, import_assignment
from leads.models import Role, Status, Team, TeamMembership
from leads.scope import Scope
from leads.tests.factories import UserFactory, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    north = Team.objects.create(name="North")
    people = {}
    for name, role in [("mia", Role.MANAGER), ("rob", Role.REP), ("ria", Role.REP)]:
        people[name] = UserFactory(username=name)
        TeamMembership.objects.create(user=people[name], team=north, role=role)
    return people


def test_round_robin_goes_on_after_the_last_owner_even_when_the_members_changed():
    assignment = Assignment(rule="round_robin", owners=(3, 5, 9), names={}, last_user_id=5)
    assert [assignment.next_owner() for _ in range(4)] == [9, 3, 5, 9]
    # The last one served (7) has left the list since: the next id after them goes on.
    gone = Assignment(rule="round_robin", owners=(3, 5, 9), names={}, last_user_id=7)
    assert gone.next_owner() == 9
    first = Assignment(rule="round_robin", owners=(3, 5, 9), names={})
    assert first.next_owner() == 3


def test_least_loaded_counts_open_leads_and_closed_new_leads_add_no_load():
    assignment = Assignment(rule="least_loaded", owners=(3, 5), names={}, open_leads={3: 1, 5: 0})
    assert assignment.next_owner() == 5  # 0 < 1
    assert assignment.next_owner(is_open=False) == 3  # a tie goes to the lower id
    assert assignment.next_owner() == 3  # the closed lead weighed nothing
    assert assignment.open_leads == {3: 2, 5: 1}


def test_no_assignment_for_the_owner_rule_a_rep_or_nobody_active(team):
    manager = Scope.of_person(team["mia"].pk)
    assert (
        import_assignment(scope=manager, assign="owner", assign_to=None, last_user_id=None) is None
    )
    rep = Scope.of_person(team["rob"].pk)
    assert (
        import_assignment(scope=rep, assign="round_robin", assign_to=None, last_user_id=None)
        is None
    )
    for name in ("rob", "ria"):
        team[name].is_active = False
        team[name].save()
    assert (
        import_assignment(scope=manager, assign="round_robin", assign_to=None, last_user_id=None)
        is None
    )


def test_a_run_counts_the_load_once_and_then_keeps_it_up(team, django_assert_num_queries):
    make_lead(user=team["rob"], email="a@x.com")
    make_lead(user=team["rob"], email="b@x.com", status=Status.LOST)
    scope = Scope.of_person(team["mia"].pk)
    loads: dict[int, int] = {}
    with django_assert_num_queries(2):  # the members, then their open leads
        first = import_assignment(
            scope=scope, assign="least_loaded", assign_to=None, last_user_id=None, open_leads=loads
        )
    assert first is not None
    assert loads == {team["rob"].pk: 1, team["ria"].pk: 0}
    assert first.next_owner() == team["ria"].pk
    with django_assert_num_queries(1):  # the members only: the run's counts are kept
        second = import_assignment(
            scope=scope, assign="least_loaded", assign_to=None, last_user_id=None, open_leads=loads
        )
    assert second is not None
    assert second.next_owner() == team["rob"].pk  # 1 each: the lower id
    assert loads == {team["rob"].pk: 2, team["ria"].pk: 1}
