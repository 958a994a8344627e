"""A manager's dashboard figures are the team's, read owner by owner where one owner's index
range is cheaper than the team's ``IN``: the same numbers as the whole team read at once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads import dashboard
from leads.models import Lead, LeadEvent, Role, Status, Team, TeamMembership
from leads.selectors import LeadFilters, lead_stats
from leads.services import lead_set_status
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    """Manager Mia with reps Rob and Ria; Sam outside the team. Each owns three leads."""
    north = Team.objects.create(name="North")
    people = {}
    for name, role in [("mia", Role.MANAGER), ("rob", Role.REP), ("ria", Role.REP), ("sam", None)]:
        user = UserFactory(username=name)
        if role is not None:
            TeamMembership.objects.create(user=user, team=north, role=role)
        company = CompanyFactory(user=user, name=f"{name} corp")
        people[name] = [
            make_lead(user=user, company=company, first_name=f"{name}{i}", email=f"{name}{i}@x.io")
            for i in range(3)
        ]
    return people


def _mia():
    return next(iter(TeamMembership.objects.filter(role=Role.MANAGER))).user


def test_recent_activity_is_the_teams_newest_merged_across_owners(team):
    mia = _mia()
    now = timezone.now()
    # Interleave the owners' history so that a merge by owner would be visible.
    for i, lead in enumerate([*team["rob"], *team["ria"], *team["mia"], *team["sam"]]):
        LeadEvent.objects.filter(lead=lead).update(at=now - dt.timedelta(minutes=(i * 7) % 12))
    expected = list(
        LeadEvent.objects.filter(user__username__in=["mia", "rob", "ria"])
        .order_by("-at", "-id")
        .values_list("id", flat=True)[:5]
    )
    rows = dashboard.leadevent_recent(user=mia, filters=LeadFilters(), limit=5)
    assert [row["id"] for row in rows] == expected
    assert not {row["lead_id"] for row in rows} & {lead.pk for lead in team["sam"]}
    # An owner filter reads that owner's history alone.
    rob = team["rob"][0].user_id
    only_rob = dashboard.leadevent_recent(user=mia, filters=LeadFilters(user_id=rob))
    assert {row["lead_id"] for row in only_rob} == {lead.pk for lead in team["rob"]}


def test_stage_times_sample_each_owner_equally_and_say_so(team):
    mia = _mia()
    for name in ("rob", "ria"):
        for lead in team[name]:
            lead_set_status(lead=lead, status=Status.CONTACTED, source="ui")
    # Nine creations and six moves are status changes in the team's history (mia's three
    # leads were only created); a sample of 6 takes the newest 2 of each of the 3 owners.
    times = dashboard.lead_stage_times(user=mia, filters=LeadFilters(), sample=6)
    assert times.transitions == 6 and times.sampled
    whole = dashboard.lead_stage_times(user=mia, filters=LeadFilters())
    assert whole.transitions == 15 and not whole.sampled
    contacted = next(s for s in whole.stages if s["status"] == Status.NEW)
    assert contacted["transitions"] == 6  # six leads left "new"; Sam's are not counted
    rob = team["rob"][0].user_id
    own = dashboard.lead_stage_times(user=mia, filters=LeadFilters(user_id=rob))
    assert own.transitions == 6 and not own.sampled


def test_weeks_and_expected_closes_count_the_whole_team_and_only_it(team):
    mia = _mia()
    today = timezone.localdate()
    for name, days in (("rob", 3), ("ria", 40), ("sam", 3)):
        lead = team[name][0]
        Lead.objects.filter(pk=lead.pk).update(
            created_at=timezone.now() - dt.timedelta(days=days),
            expected_close_date=today + dt.timedelta(days=days),
            deal_value=Decimal("100.10"),
        )
    Lead.objects.filter(pk=team["ria"][1].pk).update(
        expected_close_date=today - dt.timedelta(days=400), deal_value=Decimal("0.29")
    )
    weeks = dashboard.lead_new_per_week(user=mia, filters=LeadFilters())
    team_leads = Lead.objects.filter(user__username__in=["mia", "rob", "ria"])
    since = dashboard._midnight(weeks[0]["week"])
    assert sum(w["count"] for w in weeks) == team_leads.filter(created_at__gte=since).count()
    closes = {c["key"]: c for c in dashboard.lead_expected_closes(user=mia, filters=LeadFilters())}
    assert closes["overdue"]["count"] == 1 and closes["overdue"]["value"] == Decimal("0.29")
    dated = sum(c["count"] for c in closes.values())
    assert dated == 3  # rob's, ria's two; not sam's
    assert sum(c["value"] for c in closes.values()) == Decimal("200.49")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plan")
def test_time_in_stage_walks_the_status_changes_index(team):
    mia = _mia()
    sql, params, _, _ = dashboard._newest_status_events(
        user=mia, filters=LeadFilters(), sample=dashboard.STAGE_SAMPLE
    )
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert plan.count("leadevent_status_at") == 3  # one walk per owner
    assert "TEMP B-TREE" not in plan


def test_a_search_counts_weeks_and_closes_in_one_pass_with_the_same_figures(team):
    """With ``q`` the parts are counted in one pass over the search index's matches instead of
    one range each; both ways give the same numbers."""
    mia = _mia()
    today = timezone.localdate()
    for i, lead in enumerate([*team["rob"], *team["ria"]]):
        Lead.objects.filter(pk=lead.pk).update(
            created_at=timezone.now() - dt.timedelta(days=9 * i),
            expected_close_date=today + dt.timedelta(days=25 * i - 30),
            deal_value=Decimal("10.05") * i,
        )
    filters = LeadFilters(q="ro")  # rob0..rob2 (and their emails)
    qs = Lead.objects.filter(user__username__in=["mia", "rob", "ria"], first_name__startswith="rob")
    parts = [Q(expected_close_date__lt=today), Q(expected_close_date__gte=today)]
    within = Q(expected_close_date__isnull=False)
    ranges = dashboard._counts_of(qs, parts, within=within, cents=True)
    one_pass = dashboard._counts_of(qs, parts, within=within, cents=True, one_pass=True)
    assert ranges == one_pass == [(2, 1005), (1, 2010)]
    weeks = dashboard.lead_new_per_week(user=mia, filters=filters)
    assert sum(w["count"] for w in weeks) == 3
    closes = dashboard.lead_expected_closes(user=mia, filters=filters)
    assert sum(c["value"] for c in closes) == Decimal("30.15")


def test_a_search_is_looked_up_once_for_the_team_not_once_per_owner(team):
    mia = _mia()
    north = Team.objects.get(name="North")

    def statements() -> int:
        with CaptureQueriesContext(connection) as ctx:
            stats = lead_stats(user=mia, filters=LeadFilters(q="rob"), group_by="user")
        assert stats["total"] == 3
        return len(ctx.captured_queries)

    before = statements()
    for _ in range(3):
        TeamMembership.objects.create(user=UserFactory(), team=north, role=Role.REP)
    mia = type(mia).objects.select_related("crm_membership").get(pk=mia.pk)  # a new scope
    assert statements() == before  # owner by owner, it would grow by two per member
