"""The dashboard's per-rep table for a team's manager (issue 16, "Team dashboard"): open
leads, moved this week, converted this month, conversion rate and median time in stage per
member, under the dashboard's own filters."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads import team_selectors
from leads.dashboard import lead_stage_times
from leads.filters import GROUP_BY_USER
from leads.models import Lead, LeadEvent, Role, Source, Status, Team, TeamMembership
from leads.selectors import LeadFilters, lead_stats
from leads.services import lead_set_status
from leads.team_selectors import month_start
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db

OPEN = ("new", "contacted", "qualified")


def _history(lead: Lead, created_days_ago: float, *moves: tuple[str, float]) -> None:
    """The lead was created ``created_days_ago``, then moved to each status on its day."""
    now = timezone.now()
    first = LeadEvent.objects.filter(lead=lead).latest("id")
    LeadEvent.objects.filter(pk=first.pk).update(at=now - dt.timedelta(days=created_days_ago))
    for status, days_ago in moves:
        lead_set_status(lead=lead, status=status, source=Source.UI)
        event = LeadEvent.objects.filter(lead=lead).latest("id")
        LeadEvent.objects.filter(pk=event.pk).update(at=now - dt.timedelta(days=days_ago))


@pytest.fixture
def org():
    """North: manager Mia, reps Rob and Ria, Dan (deactivated); South: Max and Sam."""
    north, south = Team.objects.create(name="North"), Team.objects.create(name="South")
    people = {}
    for name, team, role in [
        ("mia", north, Role.MANAGER), ("rob", north, Role.REP), ("ria", north, Role.REP),
        ("dan", north, Role.REP), ("max", south, Role.MANAGER), ("sam", south, Role.REP),
    ]:  # fmt: skip
        people[name] = UserFactory(username=name)
        TeamMembership.objects.create(user=people[name], team=team, role=role)
    rob, ria = people["rob"], people["ria"]
    acme = CompanyFactory(user=rob, name="Acme", domain="acme.com")
    grace = make_lead(user=rob, company=acme, first_name="Grace", score=90)
    gina = make_lead(user=rob, company=acme, first_name="Gina", score=20)
    gus = make_lead(user=rob, company=acme, first_name="Gus", score=60)
    make_lead(user=rob, company=acme, first_name="Greta", score=70, status=Status.QUALIFIED)
    # Rob's leads spent 4, 2 and 6 days in New, and Olaf (below) 5.
    _history(grace, 10, (Status.CONTACTED, 6), (Status.CONVERTED, 1))
    _history(gina, 5, (Status.CONTACTED, 3), (Status.LOST, 1))
    _history(gus, 8, (Status.CONTACTED, 2))
    # Converted long ago: counts in the rate, not in "this month", and its move is old.
    old = make_lead(user=rob, company=acme, first_name="Olaf", score=55)
    _history(old, 50, (Status.CONVERTED, 45))
    Lead.objects.filter(pk=old.pk).update(
        status_changed_at=month_start() - dt.timedelta(days=40),
        created_at=timezone.now() - dt.timedelta(days=90),
    )
    _history(make_lead(user=ria, first_name="Rita", score=40), 3, (Status.CONTACTED, 2))
    make_lead(user=ria, first_name="Rhea", score=95)
    make_lead(user=people["mia"], first_name="Mila", score=50)
    make_lead(user=people["dan"], first_name="Dave", status=Status.LOST)
    _history(make_lead(user=people["sam"], first_name="Sven", score=99), 4, (Status.CONVERTED, 2))
    people["dan"].is_active = False
    people["dan"].save()
    people["acme"] = acme
    return people


def web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _rows(response) -> dict[str, team_selectors.RepRow]:
    assert response.status_code == 200, response.content[:500]
    reps = response.context["reps"]
    return {row.name: row for row in reps.rows}


def _expected(user, leads, events) -> dict:
    """A member's figures read straight from the ORM (``leads``/``events``: querysets of the
    matching leads and their history, any owner)."""
    mine = leads.filter(user=user)
    converted = mine.filter(status=Status.CONVERTED).count()
    closed = converted + mine.filter(status=Status.LOST).count()
    since = timezone.now() - dt.timedelta(days=7)
    return {
        "open": mine.filter(status__in=OPEN).count(),
        "moved_this_week": events.filter(
            lead__in=mine, kind="status", from_status__isnull=False, at__gte=since
        ).count(),
        "converted_this_month": mine.filter(
            status=Status.CONVERTED, status_changed_at__gte=month_start()
        ).count(),
        "conversion_rate": converted / closed if closed else None,
    }


def _figures(row: team_selectors.RepRow) -> dict:
    return {
        "open": row.open,
        "moved_this_week": row.moved_this_week,
        "converted_this_month": row.converted_this_month,
        "conversion_rate": row.conversion_rate,
    }


def test_each_member_has_a_row_with_figures_equal_to_the_orms(org):
    response = web(org["mia"]).get("/dashboard/")
    rows = _rows(response)
    assert list(rows) == ["mia", "dan", "ria", "rob"]  # managers first; no one of South
    for name, row in rows.items():
        assert _figures(row) == _expected(org[name], Lead.objects, LeadEvent.objects), name
    rob = rows["rob"]
    assert (rob.open, rob.moved_this_week, rob.converted_this_month) == (2, 5, 1)
    assert (rob.converted, rob.closed) == (2, 3)
    assert rob.conversion_rate == pytest.approx(2 / 3)
    assert rows["ria"].conversion_rate is None and not rows["dan"].is_active
    # Median time in stage: the dashboard's own medians, owner by owner.
    new = {row.name: row.stages[0] for row in rows.values()}
    # 2, 4, 5 and 6 days: the mean of the middle two.
    assert new["rob"]["median_text"] == "4.5 days" and new["rob"]["transitions"] == 4
    assert new["ria"]["median_text"] == "1 day"
    assert new["mia"]["median_text"] == "—"
    assert [s["status"] for s in rob.stages] == list(OPEN)
    # The same medians as each rep's own dashboard shows them.
    for name in ("rob", "ria"):
        own = lead_stage_times(user=org[name], filters=LeadFilters())
        assert rows[name].stages == own.stages[:3]
    html = response.content.decode()
    assert 'data-testid="per-rep"' in html
    rob_row = html.split(f'data-testid="rep-{org["rob"].pk}"')[1].split("</tr>")[0]
    assert 'data-testid="rep-open">2<' in rob_row and 'data-testid="rep-moved">5<' in rob_row
    assert ">67%<" in rob_row and "4.5 days" in rob_row
    assert "(inactive)" in html.split(f'data-testid="rep-{org["dan"].pk}"')[1].split("</tr>")[0]
    assert "Sven" not in html and ">sam<" not in html


@pytest.mark.parametrize(
    "query, narrow",
    [
        ({"q": "grace"}, {"first_name__icontains": "grace"}),
        ({"q": "gr"}, {"first_name__icontains": "gr"}),
        ({"min_score": "50"}, {"score__gte": 50}),
        ({"max_score": "60"}, {"score__lte": 60}),
        ({"created_after": "today"}, {"created_at__gte": "today"}),
        ({"created_before": "long ago"}, {"created_at__lt": "long ago"}),
        ({"company_id": "acme"}, {"company__domain": "acme.com"}),
    ],
)
def test_the_table_follows_the_dashboards_filters(org, query, narrow):
    today = timezone.localdate()
    values = {"today": today, "long ago": today - dt.timedelta(days=30), "acme": org["acme"].pk}
    query = {k: str(values.get(v, v)) for k, v in query.items()}
    if "created_at__gte" in narrow:
        narrow = {"created_at__date__gte": today}
    elif "created_at__lt" in narrow:
        narrow = {"created_at__date__lte": values["long ago"]}
    rows = _rows(web(org["mia"]).get("/dashboard/", query))
    leads = Lead.objects.filter(**narrow)
    assert leads.exists() and leads.count() < Lead.objects.count()  # the filter narrows
    events = LeadEvent.objects.filter(lead__in=leads)
    for name, row in rows.items():
        assert _figures(row) == _expected(org[name], leads, events), (query, name)


def test_the_owner_filter_leaves_that_owners_row(org):
    mia = web(org["mia"])
    rows = _rows(mia.get("/dashboard/", {"user_id": org["ria"].pk}))
    assert list(rows) == ["ria"]
    # Another team's member: no row, no figure (as for an id nobody has).
    for outside in (org["sam"].pk, 10**9):
        response = mia.get("/dashboard/", {"user_id": outside})
        assert response.context["reps"].rows == []
        html = response.content.decode()
        assert 'data-testid="per-rep"' not in html and "Sven" not in html


def test_reps_and_people_without_a_team_have_no_table(org):
    lou = UserFactory(username="lou")
    make_lead(user=lou, first_name="Louis")
    for user in (org["rob"], lou):
        response = web(user).get("/dashboard/")
        assert response.status_code == 200
        assert response.context["reps"] is None
        assert 'data-testid="per-rep"' not in response.content.decode()


def test_the_table_costs_three_statements_and_one_median_per_member(org):
    """Names, converted this month and moved this week: three statements for any team;
    the median time in stage is dashboard.lead_stage_times once per member. The counts
    come from the dashboard's own statistics."""

    def count() -> tuple[int, int]:
        by_user = lead_stats(user=org["mia"], filters=LeadFilters(), group_by=GROUP_BY_USER)
        with CaptureQueriesContext(connection) as ctx:
            table = team_selectors.team_rep_table(
                user=org["mia"], filters=LeadFilters(), by_user=by_user["by_user"]
            )
        assert table is not None
        return len(ctx.captured_queries), len(table.rows)

    statements, members = count()
    assert (statements, members) == (3 + 4, 4)
    north = Team.objects.get(name="North")
    for i in range(3):
        user = UserFactory(username=f"new{i}")
        TeamMembership.objects.create(user=user, team=north, role=Role.REP)
        _history(make_lead(user=user, first_name=f"New{i}"), 2, (Status.CONTACTED, 1))
    org["mia"].__dict__.pop("_crm_scope", None)  # the scope read again, with the newcomers
    assert count() == (3 + 7, 7)


def test_each_reps_median_reads_a_share_of_the_dashboards_sample(org, monkeypatch):
    from leads import dashboard

    monkeypatch.setattr(dashboard, "STAGE_SAMPLE", 8)
    monkeypatch.setattr(team_selectors, "REP_STAGE_SAMPLE_MIN", 2)
    table = team_selectors.team_rep_table(user=org["mia"], filters=LeadFilters())
    assert table is not None and table.sample == 2  # 8 status changes over 4 members
    assert table.sampled  # Rob has more than 2
    html = web(org["mia"]).get("/dashboard/").content.decode()
    assert "Medians from each member's 2 most recent status changes." in html
