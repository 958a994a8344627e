"""Several workers at the same moment, on real database connections (one per thread).

SQLite takes its write lock at BEGIN (IMMEDIATE), so its writers queue; PostgreSQL runs them
side by side under READ COMMITTED and only row locks and unique indexes keep them apart. The
same assertions hold on both.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from integrations import engine, services
from integrations.models import ExternalLink, SyncRun
from integrations.records import VendorRecord
from integrations.tests.conftest import ScriptedClient
from leads import bulk
from leads import services as services_leads
from leads.models import NO_COMPANY_NAME, Company, Lead, LeadEvent, Source
from leads.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(*targets: Callable[[], Any]) -> list[Any]:
    """Run each target in a thread of its own, released together; their results or errors."""
    start = threading.Barrier(len(targets))
    results: list[Any] = [None] * len(targets)

    def run(index: int, target: Callable[[], Any]) -> None:
        try:
            start.wait(timeout=10)
            results[index] = target()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a worker thread hung"
    return results


@pytest.fixture
def rep():
    return UserFactory(username="rep")


def _integration(user, provider: str):
    credentials = {"api_key": f"{provider}-key-0123456789abcdef"}
    return services.integration_create(
        user=user, provider=provider, credentials=credentials, settings={"import_list_id": 7}
    )


def test_claims_at_the_same_moment_make_one_run(rep):
    integration = _integration(rep, "hunter")
    results = at_once(*[lambda: engine.run_claim(integration=integration, direction="import")] * 4)
    runs = [r for r in results if isinstance(r, SyncRun)]
    refused = [r for r in results if isinstance(r, engine.RunAlreadyActive)]
    assert len(runs) == 1 and len(refused) == 3, results
    assert {r.run.pk for r in refused} == {runs[0].pk}
    assert SyncRun.objects.count() == 1


def test_workers_taking_one_lease_at_the_same_moment_one_wins(rep):
    run = engine.run_claim(integration=_integration(rep, "hunter"), direction="import")
    owners = [f"worker-{i}" for i in range(4)]
    results = at_once(*[lambda owner=owner: engine._take_lease(run.pk, owner) for owner in owners])
    assert results.count(True) == 1 and results.count(False) == 3, results
    run.refresh_from_db()
    assert run.lease_owner == owners[results.index(True)]
    assert run.attempts == 1 and run.state == "running"


def _people(prefix: str) -> list[VendorRecord]:
    """The same 30 people as two vendors list them: their own ids, the same emails.

    Webmail addresses, so a company without a domain is found by its name (or is the
    "No company" company), not by the email's domain.
    """
    records = []
    for i in range(30):
        company: dict[str, str] = {}
        if i % 3 == 0:
            company = {"company_name": f"Domain Co {i % 6}", "company_domain": f"co{i % 6}.com"}
        elif i % 3 == 1:
            company = {"company_name": f"Named Co {i % 4}"}
        records.append(
            VendorRecord(vendor_id=f"{prefix}-{i}", email=f"person{i}@gmail.com", **company)
        )
    return records


def test_two_imports_of_one_user_at_the_same_moment_write_each_person_once(rep, monkeypatch):
    """Hunter and Instantly import the same people for one user at once.

    Both page writes read "nobody is there yet" unless the second waits for the first; it
    must wait: otherwise, on PostgreSQL, the second page fails on the email index (and is
    retried) and companies found by name are created twice. The reads of each page are held
    at a barrier for a moment, so the two writes really do overlap when nothing orders them.
    """
    hunter, instantly = _integration(rep, "hunter"), _integration(rep, "instantly")
    meet = threading.Barrier(2)
    original = bulk.CompanyResolver.__init__

    def read_then_meet(self, *args, **kwargs):
        original(self, *args, **kwargs)
        # Broken when the other page waits for this one to commit: nothing to meet then.
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait(timeout=2)

    monkeypatch.setattr(bulk.CompanyResolver, "__init__", read_then_meet)
    runs = [
        engine.run_claim(integration=integration, direction="import")
        for integration in (hunter, instantly)
    ]
    clients = [ScriptedClient([_people("h")]), ScriptedClient([_people("i")])]
    outcomes = at_once(
        *[
            lambda run=run, client=client: engine.run_execute(run_id=run.pk, client=client)
            for run, client in zip(runs, clients, strict=True)
        ]
    )
    assert outcomes == [engine.Done("succeeded")] * 2
    for run in runs:
        run.refresh_from_db()
        assert (run.attempts, run.processed, run.failed) == (1, 30, 0)
    assert sorted(run.created for run in runs) == [0, 30]

    assert Lead.objects.filter(user=rep).count() == 30
    names = list(Company.objects.filter(user=rep).values_list("name", flat=True))
    assert sorted(names) == sorted(
        [NO_COMPANY_NAME, "Domain Co 0", "Domain Co 3"] + [f"Named Co {i}" for i in range(4)]
    ), "a company was created twice, or not at all"
    for integration in (hunter, instantly):
        links = ExternalLink.objects.filter(integration=integration)
        assert links.count() == 30
        assert links.values("lead_id").distinct().count() == 30
    created = LeadEvent.objects.filter(user=rep, from_status__isnull=True)
    assert created.count() == 30


def _merged_person(rep) -> tuple[Lead, ScriptedClient]:
    """A lead of rep's, and a vendor page with the same person that the import merges into it
    (filling names and notes, advancing the status, scoring it)."""
    lead = services_leads.lead_create(
        user=rep,
        company=Company.objects.create(user=rep, name="Acme", domain="acme.com"),
        data={"email": "ann@acme.com"},
        source=Source.API,
    )
    record = VendorRecord(
        vendor_id="h-1",
        email="ann@acme.com",
        first_name="Ann",
        notes="from the vendor",
        status_hint="contacted",
        signals={"confidence": 70, "verification": "valid"},
    )
    return lead, ScriptedClient([[record]])


def test_a_change_saved_while_an_import_merges_the_same_lead_is_kept(rep, monkeypatch):
    """The import reads the lead, a person saves a change, the import writes its merge.

    The import writes back whole fields of what it read; unless the person's save waits for
    the import's page to commit, their change is overwritten with the values read before it
    (PostgreSQL: the load-with-faults test lost acknowledged PATCHes this way). The page is
    held for a moment after its read so the save really comes in between.
    """
    lead, client = _merged_person(rep)
    stale = Lead.objects.get(pk=lead.pk)
    read = threading.Event()
    original = bulk._merge

    def merge_then_pause(*args, **kwargs):
        changes = original(*args, **kwargs)
        read.set()
        time.sleep(1)  # the person's save comes now, or waits for this page
        return changes

    monkeypatch.setattr(bulk, "_merge", merge_then_pause)
    run = engine.run_claim(integration=_integration(rep, "hunter"), direction="import")

    def person():
        assert read.wait(timeout=30)
        return services_leads.lead_update(
            lead=stale,
            data={"status": "lost", "score": 90, "notes": "Called: not now"},
            source=Source.API,
        )

    outcome, saved = at_once(lambda: engine.run_execute(run_id=run.pk, client=client), person)
    assert outcome == engine.Done("succeeded") and isinstance(saved, Lead), (outcome, saved)
    lead.refresh_from_db()
    # The person's values, and what the import filled in that the person left alone.
    assert (lead.status, lead.score, lead.notes) == ("lost", 90, "Called: not now")
    assert (lead.first_name, lead.score_is_manual) == ("Ann", True)
    moves = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.STATUS).order_by("id")
    assert [(e.from_status, e.to_status) for e in moves] == [
        (None, "new"),
        ("new", "contacted"),
        ("contacted", "lost"),
    ]


def test_a_change_to_a_lead_read_before_an_import_changed_it_is_applied(rep):
    """A request reads the lead, an import page changes it, then the request saves values
    that equal what it read: compared with its stale copy they look like no change, yet the
    row holds the import's values. The update compares with the row as stored."""
    lead, client = _merged_person(rep)
    stale = Lead.objects.get(pk=lead.pk)  # status new, score 0
    run = engine.run_claim(integration=_integration(rep, "hunter"), direction="import")
    assert engine.run_execute(run_id=run.pk, client=client) == engine.Done("succeeded")
    lead.refresh_from_db()
    assert (lead.status, lead.score > 0) == ("contacted", True)

    saved = services_leads.lead_update(
        lead=stale, data={"status": "new", "score": 0}, source=Source.API
    )
    lead.refresh_from_db()
    assert (saved.status, saved.score) == (lead.status, lead.score) == ("new", 0)
    assert lead.score_is_manual
    last = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.STATUS).latest("id")
    assert (last.from_status, last.to_status, last.source) == ("contacted", "new", Source.API)


def test_a_managers_import_and_a_reps_own_import_at_once_write_each_person_once():
    """Mia's integration hands new leads to Rob (assign_to) while Rob's own integration imports
    the same 30 people. Both write Rob's leads: the second must wait for the first (on
    PostgreSQL, for the row locks of every member the manager's import may write), and then
    find the people the first one made; otherwise it fails on the email index, or the same
    person lands twice."""
    from leads.models import Role, Team, TeamMembership

    team = Team.objects.create(name="North")
    manager, rob = UserFactory(username="mia"), UserFactory(username="rob")
    TeamMembership.objects.create(user=manager, team=team, role=Role.MANAGER)
    TeamMembership.objects.create(user=rob, team=team, role=Role.REP)
    managers = _integration(manager, "hunter")
    managers.assign, managers.assign_to = "round_robin", [rob.pk]
    managers.save(update_fields=["assign", "assign_to"])
    robs = _integration(rob, "instantly")
    meet = threading.Barrier(2)
    original = bulk.CompanyResolver.__init__

    def read_then_meet(self, *args, **kwargs):
        original(self, *args, **kwargs)
        # Broken when the other page waits for this one to commit: nothing to meet then.
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait(timeout=2)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bulk.CompanyResolver, "__init__", read_then_meet)
        runs = [
            engine.run_claim(integration=integration, direction="import")
            for integration in (managers, robs)
        ]
        clients = [ScriptedClient([_people("h")]), ScriptedClient([_people("i")])]
        outcomes = at_once(
            *[
                lambda run=run, client=client: engine.run_execute(run_id=run.pk, client=client)
                for run, client in zip(runs, clients, strict=True)
            ]
        )
    assert outcomes == [engine.Done("succeeded")] * 2
    for run in runs:
        run.refresh_from_db()
        assert (run.attempts, run.processed, run.failed) == (1, 30, 0)
    assert sorted(run.created for run in runs) == [0, 30]
    assert Lead.objects.filter(user=rob).count() == 30
    assert Lead.objects.count() == 30
    names = list(Company.objects.filter(user=rob).values_list("name", flat=True))
    assert len(names) == len(set(names)), "a company was created twice"
