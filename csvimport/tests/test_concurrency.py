"""CSV imports beside other writers at the same moment, on real connections (one per thread).

SQLite runs one write transaction at a time; PostgreSQL runs them side by side, so there the
row locks do the ordering. The same assertions hold on both.
"""

from __future__ import annotations

import contextlib
import threading

import pytest

from csvimport import services
from csvimport.models import CsvImport
from csvimport.tests.conftest import make_import
from integrations import engine
from integrations import services as integration_services
from integrations.records import VendorRecord
from integrations.tests.conftest import ScriptedClient
from integrations.tests.test_concurrency import at_once
from leads import bulk
from leads.models import NO_COMPANY_NAME, Company, Lead, LeadEvent

pytestmark = pytest.mark.django_db(transaction=True)

PEOPLE = 20


def _company(i: int) -> tuple[str, str]:
    """(name, domain): a third with a domain, a third found by name, a third with none."""
    if i % 3 == 0:
        return f"Domain Co {i % 6}", f"co{i % 6}.com"
    if i % 3 == 1:
        return f"Named Co {i % 4}", ""
    return "", ""


def _csv() -> str:
    lines = ["email,first_name,company,company_domain"]
    for i in range(PEOPLE):
        name, domain = _company(i)
        lines.append(f"person{i}@gmail.com,Person {i},{name},{domain}")
    return "\n".join(lines) + "\n"


MAPPING = {"0": "email", "1": "first_name", "2": "company", "3": "company_domain"}
EXPECTED_COMPANIES = sorted(
    [NO_COMPANY_NAME, "Domain Co 0", "Domain Co 3"] + [f"Named Co {i}" for i in range(4)]
)


def _meet_after_reading(monkeypatch, *targets: tuple[object, str]) -> None:
    """Hold each writer, once it has read what exists, until the other has read too.

    When the database makes the second writer wait for the first to commit, they never
    meet: the first goes on after a moment.
    """
    meet = threading.Barrier(2)

    for owner, name in targets:
        original = getattr(owner, name)

        def held(*args, _original=original, **kwargs):
            with contextlib.suppress(threading.BrokenBarrierError):
                meet.wait(timeout=2)
            return _original(*args, **kwargs)

        monkeypatch.setattr(owner, name, held)


def test_two_deliveries_of_one_import_at_the_same_moment_write_each_row_once(user, monkeypatch):
    csv_import = make_import(user, _csv(), mapping=MAPPING)
    # Inside the batch's transaction, after the checkpoint was read under its row lock.
    _meet_after_reading(monkeypatch, (services, "_write_batch"))
    at_once(*[lambda: services.csv_import_run(import_id=csv_import.pk)] * 2)
    csv_import.refresh_from_db()
    assert csv_import.state == CsvImport.State.SUCCEEDED, csv_import.error
    assert (csv_import.processed, csv_import.created, csv_import.rejected) == (PEOPLE, PEOPLE, 0)
    assert Lead.objects.filter(user=user).count() == PEOPLE
    assert LeadEvent.objects.filter(user=user).count() == PEOPLE


def test_a_csv_import_and_a_vendor_sync_of_the_same_people_at_once(user, monkeypatch):
    """Neither fails on the email index nor creates a company the other just created."""
    csv_import = make_import(user, _csv(), mapping=MAPPING, mode=CsvImport.Mode.UPSERT)
    integration = integration_services.integration_create(
        user=user, provider="hunter", credentials={"api_key": "k" * 32}, settings={}
    )
    records = []
    for i in range(PEOPLE):
        name, domain = _company(i)
        records.append(
            VendorRecord(
                vendor_id=str(i),
                email=f"person{i}@gmail.com",
                company_name=name,
                company_domain=domain,
            )
        )
    run = engine.run_claim(integration=integration, direction="import")
    # Each side after reading which leads exist, before creating any.
    # Both write through leads.bulk: each holds once it has read which leads exist.
    _meet_after_reading(monkeypatch, (bulk._Batch, "create"))
    outcome, _ = at_once(
        lambda: engine.run_execute(run_id=run.pk, client=ScriptedClient([records])),
        lambda: services.csv_import_run(import_id=csv_import.pk),
    )
    assert outcome == engine.Done("succeeded")
    run.refresh_from_db()
    assert (run.attempts, run.processed, run.failed) == (1, PEOPLE, 0)
    csv_import.refresh_from_db()
    assert csv_import.state == CsvImport.State.SUCCEEDED, csv_import.error
    assert (csv_import.processed, csv_import.rejected) == (PEOPLE, 0)
    assert csv_import.created + run.created == PEOPLE
    assert Lead.objects.filter(user=user).count() == PEOPLE
    names = sorted(Company.objects.filter(user=user).values_list("name", flat=True))
    assert names == EXPECTED_COMPANIES, "a company was created twice, or not at all"
