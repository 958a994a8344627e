"""The import job: row validation, create vs upsert, companies, rejections, resume."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from csvimport import services
from csvimport.models import CsvImport, CsvRejection
from csvimport.services import RowRejected, parse_row
from csvimport.tasks import run_csv_import
from csvimport.tests.conftest import make_import
from leads.models import Company, Lead, LeadEvent
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = pytest.mark.django_db

MAPPING = {
    "0": "email",
    "1": "first_name",
    "2": "company",
    "3": "company_domain",
    "4": "status",
    "5": "score",
    "6": "custom:Region",
}


def row(*cells):
    return list(cells) + [""] * (7 - len(cells))


def test_parse_row_validates_like_the_api():
    parsed = parse_row(
        row(" Ann@Example.COM ", "Ann", "Acme", "https://WWW.Acme.com/x", "Qualified", "42", "EU"),
        MAPPING,
    )
    assert parsed.lead == {
        "email": "ann@example.com",
        "first_name": "Ann",
        "status": "qualified",
        "score": 42,
    }
    assert (parsed.company_name, parsed.company_domain) == ("Acme", "acme.com")
    assert parsed.custom == {"Region": "EU"}
    only_name = parse_row(row("", "Li", "", "", "", "7.0"), {**MAPPING, "1": "last_name"})
    assert only_name.lead == {"last_name": "Li", "score": 7}


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        (row("not-an-email", "Ann"), "“not-an-email” is not a valid email address."),
        (row("a@x.io", "", "", "", "hot"), "Status “hot” is not one of"),
        (row("a@x.io", "", "", "", "", "high"), "Score “high” is not a whole number"),
        (row("a@x.io", "", "", "", "", "101"), "Score “101” is not a whole number"),
        (row("a@x.io", "", "", "", "", "4.5"), "Score “4.5”"),
        (row("a@x.io", "x" * 151), "First name is longer than 150 characters."),
        (row("a@x.io", "", "", "not a domain"), "“not a domain” is not a valid company domain."),
        (row("", "", "", "", "new", "5", "EU"), "no email, no name and no company"),
        (row("a@x.io", "Ann", "", "", "", "", "", "surprise"), "has 8 cells but the header"),
    ],
)
def test_parse_row_rejects_with_a_plain_reason(cells, reason):
    with pytest.raises(RowRejected, match=reason.replace("(", r"\(")):
        parse_row(cells, MAPPING)


def test_create_mode_imports_with_companies_history_and_rejections(user):
    existing = make_lead(user=user, email="old@acme.com")
    acme = CompanyFactory(user=user, name="Acme Corp", domain="acme.com")
    text = (
        "Email,First name,Company,Website,Status,Score,Region\n"
        "ann@acme.com,Ann,Acme,acme.com,contacted,40,EU\n"  # existing company by domain
        "bob@new.io,Bob,New Co,https://new.io,,,\n"  # new company from name + domain
        "cy@nodomain.io,Cy,Solo Inc,,,,\n"  # company by name
        ",Dee,,,,,\n"  # no company at all
        "OLD@acme.com,Dup,,,,,\n"  # already exists: rejected in create mode
        "bad-email,Eve,,,,,\n"
        "ann@acme.com,Ann again,,,,,\n"  # duplicate within the file
    )
    csv_import = make_import(user, text)
    assert run_csv_import(csv_import.pk) == "partial"
    csv_import.refresh_from_db()
    assert (csv_import.processed, csv_import.created, csv_import.updated) == (7, 4, 0)
    assert csv_import.rejected == 3
    assert csv_import.next_row == 7
    assert csv_import.finished_at is not None

    ann = Lead.objects.get(user=user, email="ann@acme.com")
    assert (ann.company, ann.status, ann.score, ann.custom_attributes) == (
        acme,
        "contacted",
        40,
        {"Region": "EU"},
    )
    bob = Lead.objects.get(user=user, email="bob@new.io")
    assert (bob.company.name, bob.company.domain) == ("New Co", "new.io")
    assert Lead.objects.get(user=user, email="cy@nodomain.io").company.name == "Solo Inc"
    assert Lead.objects.get(user=user, first_name="Dee").company.name == "No company"
    assert LeadEvent.objects.filter(lead=ann, source="csv").count() == 1
    existing.refresh_from_db()
    assert existing.first_name == ""

    reasons = list(CsvRejection.objects.order_by("row_number").values_list("row_number", "reason"))
    assert reasons == [
        (6, "A lead with the email old@acme.com already exists."),
        (7, "“bad-email” is not a valid email address."),
        (8, "A lead with the email ann@acme.com already exists."),
    ]
    assert CsvRejection.objects.get(row_number=7).values == ["bad-email", "Eve", "", "", "", "", ""]


def test_overwrite_updates_mapped_non_empty_fields_through_the_service(user):
    lead = make_lead(
        user=user,
        email="ann@acme.com",
        first_name="Ann",
        position="CTO",
        custom_attributes={"a": 1},
    )
    text = (
        "email,first_name,position,status,Region\n"
        "ANN@acme.com,,CEO,qualified,EU\n"  # empty first name leaves it alone
        "new@acme.com,Neo,,,\n"
        "ann@acme.com,,CEO,qualified,EU\n"  # the same again: unchanged
    )
    csv_import = make_import(user, text, mode="overwrite")
    assert run_csv_import(csv_import.pk) == "succeeded"
    csv_import.refresh_from_db()
    assert (csv_import.created, csv_import.updated, csv_import.unchanged) == (1, 1, 1)
    lead.refresh_from_db()
    assert (lead.first_name, lead.position, lead.status) == ("Ann", "CEO", "qualified")
    assert lead.custom_attributes == {"a": 1, "Region": "EU"}
    status, fields = LeadEvent.objects.filter(lead=lead, source="csv").order_by("id")
    assert (status.from_status, status.to_status) == ("new", "qualified")
    # Each value the file replaced is in the history, with what it was.
    assert fields.changes == {
        "position": ["CTO", "CEO"],
        "custom_attributes": [None, {"Region": "EU"}],
    }


def test_fill_only_fills_what_the_lead_lacks_and_says_so_in_the_history(user):
    lead = make_lead(
        user=user,
        email="ann@acme.com",
        first_name="Ann",
        position="CTO",
        status="qualified",
        custom_attributes={"Region": "US"},
    )
    text = (
        "email,first_name,last_name,position,status,Region,Tier\n"
        "ann@acme.com,Anna,Lee,CEO,contacted,EU,gold\n"
    )
    csv_import = make_import(user, text, mode="upsert")
    assert run_csv_import(csv_import.pk) == "succeeded"
    lead.refresh_from_db()
    # Typed values stay; the empty last name and the missing attribute are filled; the
    # status does not move back.
    assert (lead.first_name, lead.last_name, lead.position) == ("Ann", "Lee", "CTO")
    assert lead.status == "qualified"
    assert lead.custom_attributes == {"Region": "US", "Tier": "gold"}
    event = LeadEvent.objects.filter(lead=lead, source="csv").get()
    assert event.changes == {
        "last_name": ["", "Lee"],
        "custom_attributes": [None, {"Tier": "gold"}],
    }


def test_overwrite_moves_the_lead_to_the_mapped_company_and_fill_does_not(user):
    lead = make_lead(user=user, email="ann@acme.com")
    before = lead.company_id
    csv_import = make_import(user, "email,domain\nann@acme.com,globex.com\n", mode="upsert")
    run_csv_import(csv_import.pk)
    lead.refresh_from_db()
    assert lead.company_id == before
    csv_import = make_import(user, "email,domain\nann@acme.com,globex.com\n", mode="overwrite")
    run_csv_import(csv_import.pk)
    lead.refresh_from_db()
    assert lead.company.domain == "globex.com"
    event = LeadEvent.objects.filter(lead=lead, source="csv").get()
    assert event.changes["company"][1] == "globex.com"


def test_companies_are_per_user(user, other_user):
    theirs = CompanyFactory(user=other_user, name="Acme", domain="acme.com")
    csv_import = make_import(user, "email,domain\nann@acme.com,acme.com\n")
    run_csv_import(csv_import.pk)
    mine = Lead.objects.get(user=user).company
    assert mine != theirs and mine.user == user and mine.domain == "acme.com"
    assert Lead.objects.filter(user=other_user).count() == 0


class SimulatedCrash(BaseException):
    """Like a worker killed mid-run: not an error the job can catch and record."""


def test_resume_after_a_crash_writes_no_row_twice(user, monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 3)
    lines = [f"lead{i}@example.com,Lead {i},{'high' if i == 4 else i}" for i in range(8)]
    csv_import = make_import(user, "email,first_name,score\n" + "\n".join(lines) + "\n")

    def crash(next_row: int) -> None:
        raise SimulatedCrash

    with pytest.raises(SimulatedCrash):
        services.csv_import_run(import_id=csv_import.pk, owner="delivery-1", after_batch=crash)
    csv_import.refresh_from_db()
    assert (csv_import.state, csv_import.next_row, csv_import.processed) == ("running", 3, 3)
    assert Lead.objects.filter(user=user).count() == 3

    # Another task cannot take the import while the first one's lease holds.
    assert run_csv_import(csv_import.pk) == "running"
    assert Lead.objects.filter(user=user).count() == 3
    # The redelivered task (the same task id) continues from row 3; a third run changes
    # nothing.
    assert run_csv_import.apply(args=[csv_import.pk], task_id="delivery-1").get() == "partial"
    assert run_csv_import(csv_import.pk) == "partial"
    csv_import.refresh_from_db()
    assert (csv_import.processed, csv_import.created, csv_import.rejected) == (8, 7, 1)
    assert Lead.objects.filter(user=user).count() == 7
    assert LeadEvent.objects.filter(user=user).count() == 7
    assert CsvRejection.objects.get().row_number == 6


def test_an_unexpected_error_rolls_back_the_batch_and_fails_with_a_message(user, monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    calls = {"n": 0}
    real = services.lead_bulk_upsert

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(services, "lead_bulk_upsert", flaky)
    text = "email\n" + "".join(f"l{i}@x.io\n" for i in range(4))
    csv_import = make_import(user, text)
    assert run_csv_import(csv_import.pk) == "failed"
    csv_import.refresh_from_db()
    assert csv_import.next_row == 2
    assert "stopped at row 4" in csv_import.error
    assert Lead.objects.filter(user=user).count() == 2  # the second batch rolled back whole


def test_every_row_rejected_is_a_failure_and_finished_imports_do_not_rerun(user):
    csv_import = make_import(user, "email\nnope\n")
    assert run_csv_import(csv_import.pk) == "failed"
    csv_import.refresh_from_db()
    assert "every row was rejected" in csv_import.error
    assert run_csv_import(csv_import.pk) == "failed"
    assert CsvRejection.objects.count() == 1
    assert run_csv_import(999_999) == "missing"


def test_a_pending_import_is_not_run(user):
    csv_import = services.csv_import_create(user=user, filename="a.csv", raw=b"email\na@x.io\n")
    assert run_csv_import(csv_import.pk) == "pending"
    assert Lead.objects.count() == 0


def test_start_queues_once_after_commit(user, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    from csvimport import tasks

    monkeypatch.setattr(tasks.run_csv_import, "delay", lambda import_id: queued.append(import_id))
    csv_import = services.csv_import_create(user=user, filename="a.csv", raw=b"email\na@x.io\n")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.csv_import_start(
            csv_import=csv_import, mapping={"0": "email"}, mode="upsert"
        )
        assert not services.csv_import_start(
            csv_import=csv_import, mapping={"0": "email"}, mode="upsert"
        )
    assert queued == [csv_import.pk]
    csv_import.refresh_from_db()
    assert (csv_import.state, csv_import.mode) == (CsvImport.State.QUEUED, "upsert")
    assert Company.objects.count() == 0


# --- cancel and the sweep of stalled imports -------------------------------------------------


def test_cancel_a_queued_import_and_the_job_then_does_nothing(user):
    csv_import = make_import(user, "email\na@x.io\nb@x.io\n")
    assert services.csv_import_cancel(csv_import=csv_import)
    assert csv_import.state == "cancelled" and csv_import.finished_at is not None
    assert run_csv_import(csv_import.pk) == "cancelled"
    assert Lead.objects.filter(user=user).count() == 0
    # A finished import cannot be cancelled again, nor changed by trying.
    assert not services.csv_import_cancel(csv_import=csv_import)


def test_cancel_mid_run_keeps_the_committed_batches_and_stops(user, monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    csv_import = make_import(user, "email\n" + "".join(f"l{i}@x.io\n" for i in range(7)))

    def cancel_after_first_batch(next_row: int) -> None:
        if next_row == 2:
            services.csv_import_cancel(csv_import=CsvImport.objects.get(pk=csv_import.pk))

    result = services.csv_import_run(import_id=csv_import.pk, after_batch=cancel_after_first_batch)
    assert result == "cancelled"
    csv_import.refresh_from_db()
    assert (csv_import.processed, csv_import.created, csv_import.next_row) == (2, 2, 2)
    assert sorted(Lead.objects.filter(user=user).values_list("email", flat=True)) == [
        "l0@x.io",
        "l1@x.io",
    ]
    assert run_csv_import(csv_import.pk) == "cancelled"
    assert Lead.objects.filter(user=user).count() == 2


def _quiet_for(csv_import, seconds: int) -> None:
    """As if the import's worker last renewed its lease (or it was queued) ``seconds`` ago."""
    from django.conf import settings

    then = timezone.now() - dt.timedelta(seconds=seconds)
    lease = dt.timedelta(seconds=settings.CSV_IMPORT_STALL_SECONDS)
    held = CsvImport.objects.filter(pk=csv_import.pk).exclude(lease_owner="")
    held.update(lease_until=then + lease)
    CsvImport.objects.filter(pk=csv_import.pk, lease_owner="").update(next_attempt_at=then)


def test_sweep_requeues_a_stalled_import_once_and_it_resumes(user, settings, monkeypatch):
    from csvimport import tasks

    settings.CSV_IMPORT_STALL_SECONDS = 60
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    queued = []
    monkeypatch.setattr(tasks.run_csv_import, "delay", lambda import_id: queued.append(import_id))
    stalled = make_import(user, "email\n" + "".join(f"s{i}@x.io\n" for i in range(5)))
    lively = make_import(user, "email\nlive@x.io\n")
    finished = make_import(user, "email\ndone@x.io\n")
    assert run_csv_import(finished.pk) == "succeeded"

    def crash(next_row: int) -> None:
        raise SimulatedCrash

    with pytest.raises(SimulatedCrash):  # the worker dies after the first batch
        services.csv_import_run(import_id=stalled.pk, after_batch=crash)
    for csv_import in (stalled, finished):
        _quiet_for(csv_import, 61)
    _quiet_for(lively, 30)

    assert tasks.resume_stalled_imports() == 1
    assert queued == [stalled.pk]
    assert tasks.resume_stalled_imports() == 0  # due again from now: not queued twice
    assert run_csv_import(stalled.pk) == "succeeded"
    stalled.refresh_from_db()
    assert (stalled.processed, stalled.created, stalled.attempts) == (5, 5, 2)
    assert Lead.objects.filter(user=user, email__startswith="s").count() == 5


def test_sweep_gives_up_after_the_attempts_with_a_message(user, settings, monkeypatch):
    from csvimport import tasks

    settings.CSV_IMPORT_STALL_SECONDS = 60
    settings.CSV_IMPORT_MAX_ATTEMPTS = 2
    monkeypatch.setattr(tasks.run_csv_import, "delay", lambda import_id: None)
    csv_import = make_import(user, "email\na@x.io\n")
    CsvImport.objects.filter(pk=csv_import.pk).update(state="running", attempts=2, next_row=0)
    _quiet_for(csv_import, 120)
    assert tasks.resume_stalled_imports() == 0
    csv_import.refresh_from_db()
    assert csv_import.state == "failed"
    assert "stopped responding 2 times, at row 2" in csv_import.error
    assert run_csv_import(csv_import.pk) == "failed"


def test_the_sweep_runs_from_beat(settings):
    entries = {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "csvimport.tasks.resume_stalled_imports" in entries


NAMELESS = {"0": "email", "1": "first_name", "2": "last_name", "3": "company", "4": "position"}


def test_rows_without_email_match_by_name_and_company_on_a_second_import(user):
    """Issue 15 item 4: importing the same file again duplicated every row without an email."""
    text = (
        "email,first,last,company,position\n"
        ",Émilie,Dupré,Acme,CTO\n"
        ",Bob,Baker,Acme,\n"
        ",Bob,Baker,Globex,\n"  # the same name in another company: another person
        ",Bob,Baker,Acme,VP\n"  # the same person twice in the file: one lead
        "ann@acme.com,Ann,Archer,Acme,\n"
    )
    first = make_import(user, text, mapping=NAMELESS, mode="upsert")
    assert run_csv_import(first.pk) == "succeeded"
    first.refresh_from_db()
    assert (first.created, first.updated) == (4, 1)
    assert Lead.objects.filter(user=user).count() == 4
    bob = Lead.objects.get(user=user, first_name="Bob", company__name="Acme")
    assert bob.position == "VP"  # the second row filled what the first left empty

    again = make_import(user, text.replace(",Émilie,", ",emilie,"), mapping=NAMELESS,
                        mode="upsert")  # fmt: skip
    assert run_csv_import(again.pk) == "succeeded"
    again.refresh_from_db()
    assert again.created == 0
    assert Lead.objects.filter(user=user).count() == 4


def test_create_only_rejects_a_known_person_without_email_and_says_why(user):
    text = "email,first,last,company,position\n,Bob,Baker,Acme,\n"
    assert run_csv_import(make_import(user, text, mapping=NAMELESS).pk) == "succeeded"
    again = make_import(user, text, mapping=NAMELESS, mode="create")
    assert run_csv_import(again.pk) == "failed"  # its only row was rejected
    assert CsvRejection.objects.get(csv_import=again).reason == (
        "A lead named Bob Baker without an email already exists there."
    )
    assert Lead.objects.filter(user=user).count() == 1


def test_a_finished_import_ends_with_the_planner_statistics_finish(user, monkeypatch):
    """The run's end merges what its ANALYZEs leave behind on PostgreSQL
    (PlannerStatistics.finish): called once, after the last batch; not for a cancelled run."""
    from leads.services import PlannerStatistics

    calls: list[int] = []
    monkeypatch.setattr(PlannerStatistics, "finish", lambda self: calls.append(self.written))
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    csv_import = make_import(user, "email\n" + "".join(f"l{i}@x.io\n" for i in range(5)))
    assert services.csv_import_run(import_id=csv_import.pk) == "succeeded"
    assert calls == [5]
