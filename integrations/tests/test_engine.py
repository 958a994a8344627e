"""The sync engine against a scripted in-memory client: mapping, idempotence, faults, resume."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations import engine
from integrations.http import AuthError, QuotaExceeded
from integrations.models import ExternalLink, Integration, SyncFailure, SyncRun
from integrations.records import VendorRecord
from integrations.tests.conftest import ScriptedClient, transient
from leads.models import Company, Lead, LeadEvent
from leads.services import lead_update
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = pytest.mark.django_db


def rec(vendor_id: str, email: str = "", **fields) -> VendorRecord:
    return VendorRecord(vendor_id=vendor_id, email=email, **fields)


def run_import(integration, client) -> SyncRun:
    run = engine.run_claim(integration=integration, direction="import")
    outcome = engine.run_execute(run_id=run.pk, client=client)
    assert isinstance(outcome, engine.Done), outcome
    run.refresh_from_db()
    return run


def test_import_creates_leads_companies_links_and_history(hunter_integration, rep):
    client = ScriptedClient(
        [
            [
                rec("1", "Ann@Acme.com", first_name="Ann", company_name="Acme",
                    website="https://www.acme.com/x", status_hint="contacted",
                    signals={"confidence": 90, "verification": "valid"},
                    custom_attributes={"plan": "pro"}),
                rec("2", "bob@acme.com", first_name="Bob", company_name="Acme Inc",
                    company_domain="acme.com"),
            ],
            [rec("3", "cy@gmail.com", first_name="Cy", company_name="Cy Consulting"),
             rec("4", "", first_name="Nameless")],
        ],
        total=4,
    )  # fmt: skip
    run = run_import(hunter_integration, client)
    assert run.state == "succeeded"
    assert (run.processed, run.total, run.created, run.updated, run.unchanged) == (4, 4, 4, 0, 0)
    ann = Lead.objects.get(email="ann@acme.com")
    assert ann.status == "contacted"
    assert ann.score == 56  # 90 x 0.4 + 20 for a valid address
    assert ann.score_is_manual is False
    assert ann.custom_attributes == {"plan": "pro"}
    assert ann.source == "Hunter"
    assert ann.company.domain == "acme.com"  # www. is not part of a company's domain
    # Bob's company came by its domain, acme.com: the same company as Ann's website's.
    assert Lead.objects.get(email="bob@acme.com").company_id == ann.company_id
    # A webmail address says nothing about the company: found by name.
    assert Lead.objects.get(email="cy@gmail.com").company.name == "Cy Consulting"
    assert Lead.objects.get(first_name="Nameless").email == ""
    assert ExternalLink.objects.filter(integration=hunter_integration).count() == 4
    first = LeadEvent.objects.get(lead=ann)
    assert (first.from_status, first.to_status, first.source, first.provider) == (
        None,
        "contacted",
        "import",
        "hunter",
    )
    assert client.fetches == [None, {"page": 1}]


def test_reimport_changes_nothing(hunter_integration):
    pages = [[rec(str(i), f"p{i}@corp{i % 3}.com", first_name=f"P{i}",
                  company_name=f"Corp {i % 3}", signals={"confidence": i})
              for i in range(10)]]  # fmt: skip
    run_import(hunter_integration, ScriptedClient(pages))
    counts = (Lead.objects.count(), Company.objects.count(), LeadEvent.objects.count())
    snapshot = list(Lead.objects.order_by("id").values())
    again = run_import(hunter_integration, ScriptedClient(pages))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 10)
    assert (Lead.objects.count(), Company.objects.count(), LeadEvent.objects.count()) == counts
    assert list(Lead.objects.order_by("id").values()) == snapshot


def test_reimport_checks_only_the_emails_of_changed_records(hunter_integration, monkeypatch):
    from leads import normalize

    checked: list[str] = []
    real = normalize.normalize_email

    def counting(value):
        checked.append(value)
        return real(value)

    monkeypatch.setattr(normalize, "normalize_email", counting)
    first = [rec("1", "a@x.com", first_name="A"), rec("2", "b@x.com", first_name="B")]
    run_import(hunter_integration, ScriptedClient([first]))
    assert sorted(checked) == ["a@x.com", "b@x.com"]
    checked.clear()
    # Record 1 is as imported: its email was checked then, and the digest covers it. Record 2
    # now carries an address that is no email: it is checked, fails, and its lead keeps the
    # address it had.
    again = run_import(
        hunter_integration,
        ScriptedClient([[rec("1", "a@x.com", first_name="A"), rec("2", "b@", first_name="B")]]),
    )
    assert checked == ["b@"]
    assert (again.unchanged, again.updated, again.failed) == (1, 0, 1)
    assert SyncFailure.objects.get(run=again).detail == "invalid email 'b@'"
    assert sorted(Lead.objects.values_list("email", flat=True)) == ["a@x.com", "b@x.com"]


def test_existing_lead_matched_by_email_and_local_edits_survive(hunter_integration, rep):
    company = CompanyFactory(user=rep, name="Mine", domain="mine.com")
    lead = make_lead(user=rep, company=company, email="kim@mine.com", first_name="Kimberly",
                     score=77, custom_attributes={"plan": "mine"})  # fmt: skip
    record = rec(
        "9",
        "KIM@mine.com",
        first_name="Kim",
        last_name="Lee",
        position="CTO",
        signals={"confidence": 10},
        custom_attributes={"plan": "theirs", "seats": "5"},
    )
    run = run_import(hunter_integration, ScriptedClient([[record]]))
    assert (run.created, run.updated) == (0, 1)
    lead.refresh_from_db()
    assert lead.first_name == "Kimberly"  # a value a person entered is kept
    assert lead.last_name == "Lee"  # empty fields are filled
    assert lead.position == "CTO"
    assert lead.score == 77  # set by hand: never replaced by a sync
    assert lead.custom_attributes == {"plan": "mine", "seats": "5"}
    assert ExternalLink.objects.get(integration=hunter_integration).lead_id == lead.pk
    update = LeadEvent.objects.get(lead=lead, kind="update")
    assert set(update.changes) == {"last_name", "position", "custom_attributes", "source"}
    assert update.provider == "hunter"


@pytest.mark.parametrize(
    ("current", "hint", "expected"),
    [
        ("new", "contacted", "contacted"),
        ("qualified", "contacted", "qualified"),  # never back
        ("converted", "lost", "converted"),  # closed stays closed
        ("lost", "qualified", "lost"),
        ("contacted", "converted", "converted"),
        ("new", None, "new"),
    ],
)
def test_status_only_advances(hunter_integration, rep, current, hint, expected):
    lead = make_lead(user=rep, email="s@x.com", status=current)
    run_import(hunter_integration, ScriptedClient([[rec("1", "s@x.com", status_hint=hint)]]))
    lead.refresh_from_db()
    assert lead.status == expected
    history = LeadEvent.objects.filter(lead=lead, kind="status").order_by("id")
    if expected != current:
        last = history.last()
        assert (last.from_status, last.to_status, last.source) == (current, expected, "import")
    else:
        assert history.count() == 1


def test_linked_lead_keeps_its_email_when_another_lead_holds_the_vendor_email(
    hunter_integration, rep
):
    run_import(hunter_integration, ScriptedClient([[rec("1", "", first_name="NoMail")]]))
    make_lead(user=rep, email="taken@x.com")
    run = run_import(hunter_integration, ScriptedClient([[rec("1", "taken@x.com")]]))
    assert run.state == "succeeded"
    assert Lead.objects.get(first_name="NoMail").email == ""


def test_duplicates_within_a_page_and_bad_records(hunter_integration):
    client = ScriptedClient(
        [[rec("1", "a@x.com"), rec("1", "a@x.com"), rec("2", "A@x.com"),
          rec("", "noid@x.com"), rec("3", "not-an-email")]]
    )  # fmt: skip
    run = run_import(hunter_integration, client)
    assert run.state == "partial"
    assert (run.created, run.unchanged, run.failed, run.processed) == (1, 2, 2, 5)
    assert Lead.objects.count() == 1
    details = sorted(SyncFailure.objects.values_list("detail", flat=True))
    assert any("invalid email" in d for d in details)
    assert any("without an id" in d for d in details)


def test_snovio_prospects_without_email_are_skipped(rep):
    from integrations import services

    integration = services.integration_create(
        user=rep,
        provider="snovio",
        credentials={"client_id": "cid", "client_secret": "secret"},
        settings={"import_list_id": "L1"},
    )
    client = ScriptedClient([[rec("a1", "x@y.com"), rec("a2", "")]])
    run = run_import(integration, client)
    assert (run.created, run.skipped, run.processed, run.state) == (1, 1, 2, "succeeded")


def test_page_write_costs_a_constant_number_of_queries(hunter_integration):
    def page(start, size):
        return [rec(str(i), f"u{i}@c{i}.com", first_name="U", company_name=f"C{i}")
                for i in range(start, start + size)]  # fmt: skip

    from integrations.importer import import_records

    with CaptureQueriesContext(connection) as small:
        import_records(integration=hunter_integration, records=page(0, 5), source_label="Hunter")
    with CaptureQueriesContext(connection) as large:
        import_records(integration=hunter_integration, records=page(100, 50), source_label="H")
    # Companies are created one by one (their domains are unique); every other write is bulk.
    # (PostgreSQL runs one more query in each: the user's import lock, a no-op on SQLite.)
    assert len(large) - 50 <= len(small) - 5 + 2
    with CaptureQueriesContext(connection) as again:
        import_records(integration=hunter_integration, records=page(100, 50), source_label="H")
    assert len(again) <= 5


def test_transient_fault_retries_and_resumes_from_checkpoint(hunter_integration, settings):
    settings.SYNC_RETRY_DELAY = 2
    pages = [[rec("1", "a@x.com")], [rec("2", "b@x.com")], [rec("3", "c@x.com")]]
    client = ScriptedClient(pages)
    run = engine.run_claim(integration=hunter_integration, direction="import")
    assert isinstance(engine.run_execute(run_id=run.pk, client=client), engine.Done) is True
    # Now a run that breaks after its first page:
    Lead.objects.all().delete()
    ExternalLink.objects.all().delete()
    client = ScriptedClient(pages)
    original = client.fetch_page
    calls = {"n": 0}

    def flaky(list_id, checkpoint):
        calls["n"] += 1
        if calls["n"] == 2:
            raise transient("vendor hiccup", retry_after=7)
        return original(list_id, checkpoint)

    client.fetch_page = flaky
    run = engine.run_claim(integration=hunter_integration, direction="import")
    outcome = engine.run_execute(run_id=run.pk, client=client)
    assert isinstance(outcome, engine.Retry)
    assert outcome.delay == 7  # Retry-After wins
    run.refresh_from_db()
    assert (run.state, run.processed, run.checkpoint) == ("running", 1, {"page": 1})
    assert "vendor hiccup" in run.error
    assert run.next_attempt_at is not None
    outcome = engine.run_execute(run_id=run.pk, client=client)
    assert isinstance(outcome, engine.Done)
    run.refresh_from_db()
    assert (run.state, run.processed, run.created, run.error) == ("succeeded", 3, 3, None)
    assert Lead.objects.count() == 3
    assert client.fetches == [None, {"page": 1}, {"page": 2}]


def test_gives_up_after_max_attempts(hunter_integration, settings):
    settings.SYNC_MAX_ATTEMPTS = 2
    client = ScriptedClient([[rec("1", "a@x.com")]])
    client.fail_next = [transient("down"), transient("still down")]
    run = engine.run_claim(integration=hunter_integration, direction="import")
    assert isinstance(engine.run_execute(run_id=run.pk, client=client), engine.Retry)
    outcome = engine.run_execute(run_id=run.pk, client=client)
    assert outcome == engine.Done("failed")
    run.refresh_from_db()
    assert "Gave up after 2 attempts" in run.error
    assert "still down" in run.error


def test_auth_error_fails_the_run_and_flags_the_integration(hunter_integration):
    client = ScriptedClient([[rec("1", "a@x.com")]])
    client.fail_next = [AuthError("hunter: invalid key", status=401)]
    run = engine.run_claim(integration=hunter_integration, direction="import")
    assert engine.run_execute(run_id=run.pk, client=client) == engine.Done("failed")
    run.refresh_from_db()
    hunter_integration.refresh_from_db()
    assert hunter_integration.state == Integration.State.NEEDS_CREDENTIALS
    assert "Enter new credentials" in run.error
    assert "hk_test" not in run.error


def test_quota_is_permanent(hunter_integration):
    client = ScriptedClient([[rec("1", "a@x.com")]])
    client.fail_next = [QuotaExceeded("hunter: usage limit reached", status=402)]
    run = engine.run_claim(integration=hunter_integration, direction="import")
    assert engine.run_execute(run_id=run.pk, client=client) == engine.Done("failed")


def test_one_active_run_per_integration_and_direction(hunter_integration):
    first = engine.run_claim(integration=hunter_integration, direction="import")
    with pytest.raises(engine.RunAlreadyActive) as caught:
        engine.run_claim(integration=hunter_integration, direction="import")
    assert caught.value.run.pk == first.pk
    # The other direction is independent.
    engine.run_claim(integration=hunter_integration, direction="export")


def test_cancel(hunter_integration):
    queued = engine.run_claim(integration=hunter_integration, direction="import")
    engine.run_cancel(run=queued)
    queued.refresh_from_db()
    assert queued.state == "cancelled"
    # A running run stops before its next page.
    client = ScriptedClient([[rec("1", "a@x.com")], [rec("2", "b@x.com")]])
    run = engine.run_claim(integration=hunter_integration, direction="import")

    def cancel_after_first_page(progress):
        SyncRun.objects.filter(pk=run.pk).update(cancel_requested=True)

    outcome = engine.run_execute(run_id=run.pk, client=client, on_progress=cancel_after_first_page)
    assert outcome == engine.Done("cancelled")
    run.refresh_from_db()
    assert run.processed == 1


def test_a_second_worker_does_not_run_a_leased_run(hunter_integration):
    run = engine.run_claim(integration=hunter_integration, direction="import")
    assert engine._take_lease(run.pk, "worker-a")
    outcome = engine.run_execute(run_id=run.pk, owner="worker-b", client=ScriptedClient([[]]))
    assert outcome == engine.Done("running")


def test_lapsed_lease_is_recovered(hunter_integration, settings):
    from datetime import timedelta

    from django.utils import timezone

    run = engine.run_claim(integration=hunter_integration, direction="import")
    assert engine._take_lease(run.pk, "dead-worker")
    assert engine.runs_to_recover() == []
    SyncRun.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert engine.runs_to_recover() == [run.pk]
    client = ScriptedClient([[rec("1", "a@x.com")]])
    assert engine.run_execute(run_id=run.pk, owner="new", client=client) == engine.Done("succeeded")


def test_finished_run_is_a_no_op(hunter_integration):
    client = ScriptedClient([[rec("1", "a@x.com")]])
    run = run_import(hunter_integration, client)
    assert engine.run_execute(run_id=run.pk, client=client) == engine.Done("succeeded")
    assert client.fetches == [None]


# --- export ----------------------------------------------------------------------------------


def test_export_links_vendor_ids_records_failures_and_is_idempotent(hunter_integration, rep):
    leads = [make_lead(user=rep, email=f"e{i}@x.com", status="qualified") for i in range(7)]
    client = ScriptedClient()
    client.export_failures = {"e3@x.com": "invalid address"}
    run = engine.run_claim(integration=hunter_integration, direction="export")
    assert engine.run_execute(run_id=run.pk, client=client) == engine.Done("partial")
    run.refresh_from_db()
    assert (run.total, run.processed, run.created, run.failed) == (7, 7, 6, 1)
    assert [len(batch) for _, batch in client.exported] == [3, 3, 1]
    assert client.exported[0][0] == {"list_id": 8}
    assert ExternalLink.objects.filter(integration=hunter_integration).count() == 6
    assert SyncFailure.objects.get(run=run).record == "e3@x.com"
    again = engine.run_claim(integration=hunter_integration, direction="export")
    engine.run_execute(run_id=again.pk, client=client)
    again.refresh_from_db()
    assert (again.created, again.updated) == (0, 6)
    assert ExternalLink.objects.filter(integration=hunter_integration).count() == 6
    # The second export sends the vendor ids it linked the first time.
    second_run = [lead for _, batch in client.exported[3:] for lead in batch]
    assert {lead.lead_id: lead.vendor_id for lead in second_run}[leads[0].pk] == f"v-{leads[0].pk}"


def test_export_selected_ids_and_filters(hunter_integration, rep):
    wanted = make_lead(user=rep, email="w@x.com", status="qualified")
    make_lead(user=rep, email="n@x.com", status="new")
    client = ScriptedClient()
    run = engine.run_claim(
        integration=hunter_integration, direction="export", params={"lead_ids": [wanted.pk]}
    )
    engine.run_execute(run_id=run.pk, client=client)
    assert [lead.email for lead in client.exported[0][1]] == ["w@x.com"]
    client = ScriptedClient()
    run = engine.run_claim(
        integration=hunter_integration,
        direction="export",
        params={"filters": {"status": "qualified"}},
    )
    engine.run_execute(run_id=run.pk, client=client)
    assert [lead.email for lead in client.exported[0][1]] == ["w@x.com"]


def test_export_resumes_after_the_last_written_batch(hunter_integration, rep):
    for i in range(7):
        make_lead(user=rep, email=f"e{i}@x.com")
    client = ScriptedClient()
    original = client.export_batch
    calls = {"n": 0}

    def flaky(target, leads):
        calls["n"] += 1
        if calls["n"] == 2:
            raise transient("timeout")
        return original(target, leads)

    client.export_batch = flaky
    run = engine.run_claim(integration=hunter_integration, direction="export")
    assert isinstance(engine.run_execute(run_id=run.pk, client=client), engine.Retry)
    assert engine.run_execute(run_id=run.pk, client=client) == engine.Done("succeeded")
    run.refresh_from_db()
    assert (run.processed, run.created) == (7, 7)
    sent = [lead.email for _, batch in client.exported for lead in batch]
    assert sorted(sent) == sorted(f"e{i}@x.com" for i in range(7))


def test_export_needs_a_target_for_snovio(rep):
    from integrations import services

    integration = services.integration_create(
        user=rep, provider="snovio", credentials={"client_id": "c", "client_secret": "s"},
        settings={},
    )  # fmt: skip
    make_lead(user=rep, email="a@x.com")
    run = engine.run_claim(integration=integration, direction="export")
    assert engine.run_execute(run_id=run.pk, client=ScriptedClient()) == engine.Done("failed")
    run.refresh_from_db()
    assert "Choose the Snov.io list" in run.error


def test_manual_status_change_after_import_is_not_undone(hunter_integration, rep):
    run_import(hunter_integration, ScriptedClient([[rec("1", "a@x.com", status_hint="contacted")]]))
    lead = Lead.objects.get()
    lead_update(lead=lead, data={"status": "converted"}, source="ui")
    run_import(hunter_integration, ScriptedClient([[rec("1", "a@x.com", status_hint="lost")]]))
    lead.refresh_from_db()
    assert lead.status == "converted"


def test_a_changed_vendor_record_is_applied_an_unchanged_one_is_not_reapplied(
    hunter_integration, rep
):
    run_import(hunter_integration, ScriptedClient([[rec("1", "a@x.com", first_name="A")]]))
    lead = Lead.objects.get()
    # The vendor now says the lead was contacted: the re-import applies it.
    changed = run_import(
        hunter_integration,
        ScriptedClient([[rec("1", "a@x.com", first_name="A", status_hint="contacted")]]),
    )
    assert (changed.updated, changed.unchanged) == (1, 0)
    lead.refresh_from_db()
    assert lead.status == "contacted"
    # A person moves it back; the same vendor data again does not undo their decision.
    lead_update(lead=lead, data={"status": "new", "phone": ""}, source="ui")
    same = run_import(
        hunter_integration,
        ScriptedClient([[rec("1", "a@x.com", first_name="A", status_hint="contacted")]]),
    )
    assert (same.updated, same.unchanged) == (0, 1)
    lead.refresh_from_db()
    assert lead.status == "new"


def test_a_finished_import_ends_with_the_planner_statistics_finish(hunter_integration, monkeypatch):
    """The run's end merges what its ANALYZEs leave behind on PostgreSQL
    (PlannerStatistics.finish): called once, after the last page, with every created lead."""
    from leads.services import PlannerStatistics

    calls: list[int] = []
    monkeypatch.setattr(PlannerStatistics, "finish", lambda self: calls.append(self.written))
    pages = [[rec(str(i), f"p{i}@corp.com") for i in range(3)], [rec("9", "q@corp.com")]]
    run_import(hunter_integration, ScriptedClient(pages))
    assert calls == [4]
