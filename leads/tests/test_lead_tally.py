"""LeadTally, the counts and deal values per owner and status that database triggers keep:
after every kind of write it equals what counting the leads gives, and the stats it answers
equal the stats counted from the leads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads import tasks
from leads.bulk import CompanyFacts, LeadRow, MergePolicy, lead_bulk_upsert
from leads.list_sql import start_of_day
from leads.models import (
    SEARCH_TRIGRAM_INDEX,
    Lead,
    LeadTally,
    Role,
    Source,
    Status,
    Team,
    TeamMembership,
)
from leads.reassign import leads_reassign
from leads.selectors import LeadFilters, lead_stats
from leads.services import (
    company_delete,
    lead_bulk_set_status,
    lead_create,
    lead_delete,
    lead_set_status,
    lead_update,
    leads_delete,
    refresh_planner_statistics,
)
from leads.tally import lead_tally_compact
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db


def _counted() -> dict[tuple[int, str], tuple[int, int]]:
    """What the tally must say, counted from the leads (zeros left out)."""
    found = {}
    rows = Lead.objects.values("user_id", "status").annotate(n=Count("id"), value=Sum("deal_value"))
    for row in rows.order_by():
        cents = round((row["value"] or Decimal(0)) * 100)
        found[(row["user_id"], row["status"])] = (row["n"], int(cents))
    return found


def _tallied() -> dict[tuple[int, str], tuple[int, int]]:
    rows = LeadTally.objects.values("user_id", "status").annotate(n=Sum("n"), c=Sum("cents"))
    return {
        (row["user_id"], row["status"]): (int(row["n"]), int(row["c"]))
        for row in rows.order_by()
        if row["n"] or row["c"]
    }


def _holds() -> None:
    assert _tallied() == _counted()


@pytest.fixture
def team():
    north = Team.objects.create(name="North")
    mia, rob, ria = (UserFactory(username=n) for n in ("mia", "rob", "ria"))
    TeamMembership.objects.create(user=mia, team=north, role=Role.MANAGER)
    TeamMembership.objects.create(user=rob, team=north, role=Role.REP)
    TeamMembership.objects.create(user=ria, team=north, role=Role.REP)
    return mia, rob, ria


def test_every_kind_of_write_moves_the_tally(team):
    mia, rob, ria = team
    company = CompanyFactory(user=rob, name="Acme", domain="acme.com")
    _holds()
    ada = lead_create(
        user=rob,
        company=company,
        data={"email": "ada@acme.com", "deal_value": Decimal("1250.29")},
        source=Source.UI,
    )
    bob = make_lead(user=rob, company=company, email="bob@acme.com", deal_value=Decimal("0.29"))
    cy = make_lead(user=rob, company=company, email="cy@acme.com")
    _holds()
    lead_set_status(lead=ada, status=Status.CONTACTED, source=Source.UI)
    lead_update(lead=bob, data={"deal_value": Decimal("99.99")}, source=Source.UI)
    lead_update(lead=cy, data={"notes": "no change to the figures"}, source=Source.UI)
    _holds()
    lead_bulk_set_status(user=rob, lead_ids=[ada.pk, bob.pk], status=Status.LOST, source="ui")
    Lead.objects.filter(pk=cy.pk).update(status=Status.QUALIFIED, deal_value=Decimal("10"))
    _holds()
    # An import: one row updates Ada, another creates a lead.
    with transaction.atomic():
        lead_bulk_upsert(
            user_id=rob.pk,
            rows=[
                LeadRow(email="ada@acme.com", status=Status.CONVERTED, deal_value=Decimal("5")),
                LeadRow(
                    email="dee@acme.com",
                    company=CompanyFacts(name="Acme", domain="acme.com"),
                    deal_value=Decimal("7.5"),
                ),
            ],
            policy=MergePolicy.OVERWRITE,
            source=Source.IMPORT,
        )
    _holds()
    # A manager moves Rob's pipeline to Ria, then deletes one lead and a company.
    moved = leads_reassign(
        actor=mia, leads=Lead.objects.filter(user=rob), to_user_id=ria.pk, source=Source.UI
    )
    assert moved == 4
    _holds()
    lead_delete(lead=Lead.objects.get(email="dee@acme.com"))
    leads_delete(leads=Lead.objects.filter(email="bob@acme.com"))
    _holds()
    acme = Lead.objects.get(email="cy@acme.com").company
    leads_delete(leads=Lead.objects.filter(company=acme))
    company_delete(company=acme)
    _holds()
    # A plain queryset delete (no service) moves the figures too.
    make_lead(user=ria, company=CompanyFactory(user=ria), deal_value=Decimal("3"))
    Lead.objects.filter(user=ria).delete()
    _holds()
    assert not _tallied()


def test_stats_from_the_tally_equal_stats_counted_from_the_leads(team):
    mia, rob, ria = team
    for user, statuses in ((mia, [Status.NEW]), (rob, [Status.NEW, Status.LOST]), (ria, [])):
        company = CompanyFactory(user=user)
        for i, status in enumerate(statuses * 3):
            make_lead(user=user, company=company, status=status, deal_value=Decimal(i) / 3)
    outsider = UserFactory()
    make_lead(user=outsider, company=CompanyFactory(user=outsider), deal_value=Decimal(5))
    # min_score=0 matches every lead but is not served by the tally: the leads are counted.
    for who in (mia, rob, ria):
        for extra in ({}, {"status": Status.NEW}, {"user_id": rob.pk}):
            if "user_id" in extra and who != mia:
                continue
            tallied = lead_stats(user=who, filters=LeadFilters(**extra), group_by="user")
            counted = lead_stats(
                user=who, filters=LeadFilters(min_score=0, **extra), group_by="user"
            )
            assert tallied == counted, (who, extra)
    assert lead_stats(user=mia, filters=LeadFilters())["total"] == 9


def test_compaction_folds_the_rows_and_drops_empty_ones(team):
    _, rob, _ = team
    company = CompanyFactory(user=rob)
    for _ in range(3):
        make_lead(user=rob, company=company, deal_value=Decimal("1.10"))
    # PostgreSQL's statement triggers append a row per statement; SQLite adds in place.
    appended = 3 if connection.vendor == "postgresql" else 1
    assert LeadTally.objects.filter(user_id=rob.pk).count() == appended
    before = _tallied()
    tasks.lead_tally_compact()  # what beat runs hourly
    assert LeadTally.objects.filter(user_id=rob.pk).count() == 1
    assert _tallied() == before == _counted()
    Lead.objects.filter(user=rob).delete()
    assert LeadTally.objects.exists()
    tasks.lead_tally_compact()
    assert not LeadTally.objects.exists()  # rows that sum to nothing are dropped


def test_the_refresh_after_a_bulk_write_folds_the_tally_too(team):
    """Imports and restores refresh the planner's statistics when they have written; the
    tally's rows (one per statement on PostgreSQL) are folded then, not an hour later."""
    _, rob, _ = team
    company = CompanyFactory(user=rob)
    for _ in range(4):
        make_lead(user=rob, company=company)
    refresh_planner_statistics()
    assert LeadTally.objects.filter(user_id=rob.pk).count() == 1
    assert _tallied() == _counted()


def test_the_refresh_after_a_bulk_write_merges_the_trigram_indexs_pending_list(team):
    """On PostgreSQL new rows wait in the GIN index's pending list, which every search reads
    whole, until autovacuum merges them; the refresh after an import merges them at once."""
    if connection.vendor != "postgresql":
        pytest.skip("GIN's pending list is PostgreSQL's")
    _, rob, _ = team
    make_lead(user=rob, company=CompanyFactory(user=rob), first_name="Pending")
    with CaptureQueriesContext(connection) as ctx:
        refresh_planner_statistics()
    assert any("gin_clean_pending_list" in query["sql"] for query in ctx.captured_queries)
    with connection.cursor() as cursor:  # merged: nothing is left to merge
        cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [SEARCH_TRIGRAM_INDEX])
        assert cursor.fetchone()[0] == 0


def test_a_window_that_leaves_out_no_lead_is_no_filter_for_the_figures(team, client):
    """A creation window that holds every lead of the scope (ten years back, say) leaves the
    figures as they are without it, so they are read as without it: the counts from the
    tally, not every lead in the window. One that leaves out a single lead, before its
    start or after its end, or a team member's lead for the manager, is kept."""
    mia, rob, ria = team
    company = CompanyFactory(user=rob)
    for i, status in enumerate([Status.NEW, Status.NEW, Status.LOST, Status.CONVERTED]):
        make_lead(user=rob, company=company, status=status, deal_value=Decimal(i))
    ria_lead = make_lead(user=ria, company=CompanyFactory(user=ria))
    today = timezone.localdate()
    oldest = Lead.objects.filter(user=rob).order_by("id").first()
    Lead.objects.filter(pk=oldest.pk).update(created_at=start_of_day(today - dt.timedelta(days=40)))
    every = {"created_after": today - dt.timedelta(days=40), "created_before": today}

    def figures(user, filters: dict) -> tuple[dict, bool]:
        with CaptureQueriesContext(connection) as ctx:
            stats = lead_stats(user=user, filters=LeadFilters(**filters))
        return stats, any("leads_leadtally" in q["sql"] for q in ctx.captured_queries)

    # Rob's window holds all his leads: read from the tally, equal to counting them.
    stats, tallied = figures(rob, every)
    assert tallied
    assert stats == lead_stats(user=rob, filters=LeadFilters(min_score=0))
    assert stats["total"] == 4
    assert figures(rob, {"created_after": every["created_after"]})[1]
    assert figures(rob, {"created_before": today})[1]
    # One day later it leaves out his oldest lead: counted in the window, without it.
    later = {**every, "created_after": today - dt.timedelta(days=39)}
    stats, tallied = figures(rob, later)
    assert not tallied
    assert stats["total"] == 3
    # A window that ends before today leaves out the newer leads.
    stats, tallied = figures(rob, {**every, "created_before": today - dt.timedelta(days=1)})
    assert not tallied
    assert stats["total"] == 1
    # The manager's scope holds Ria's lead too: a window that leaves it out is kept.
    Lead.objects.filter(pk=ria_lead.pk).update(
        created_at=start_of_day(today - dt.timedelta(days=400))
    )
    stats, tallied = figures(mia, every)
    assert not tallied
    assert stats["total"] == 4
    assert figures(rob, every)[1]  # Rob's own scope still holds all of his

    # The dashboard: the same figures with that window as without any.
    client.force_login(rob)
    plain = client.get("/dashboard/").context
    windowed = client.get("/dashboard/", every).context
    for key in ("total", "funnel", "open_value", "won", "closes", "weeks", "scores", "recent"):
        assert windowed[key] == plain[key], key
    assert windowed["stage_times"].stages == plain["stage_times"].stages
    assert windowed["state"].filters.created_after == every["created_after"]


@pytest.mark.django_db(transaction=True)
def test_compaction_outside_a_transaction_vacuums_the_rows_it_replaced():
    """On PostgreSQL the fold leaves each replaced row as a dead tuple that every read of the
    tally visits until a VACUUM; run outside a transaction (beat, seeding, the end of an
    import), the compaction vacuums the table itself. Inside one it cannot, and does not try."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's tally is updated in place")
    rob = UserFactory()
    company = CompanyFactory(user=rob)
    for _ in range(3):
        make_lead(user=rob, company=company)

    def vacuums() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'leads_leadtally'"
            )
            return cursor.fetchone()[0]

    before = vacuums()
    with transaction.atomic():
        lead_tally_compact()  # folded, but no VACUUM inside a transaction
    assert vacuums() == before
    make_lead(user=rob, company=company)
    with CaptureQueriesContext(connection) as ctx:
        lead_tally_compact()
    assert [q["sql"] for q in ctx.captured_queries if "VACUUM" in q["sql"]] == [
        "VACUUM leads_leadtally"
    ]
    assert vacuums() == before + 1
    assert LeadTally.objects.filter(user_id=rob.pk).count() == 1
