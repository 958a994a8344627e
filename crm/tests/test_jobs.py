"""The one background-job protocol (crm.jobs), run against every kind of job.

Vendor syncs and CSV imports share it: the claim and its lease, renewals that carry the
progress, cancel, release after a transient fault, and the sweep that requeues what a dead
worker left behind or gives up after the kind's attempts.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm import jobs
from csvimport import services as csv_services
from csvimport.models import CsvImport
from integrations import services as integration_services
from integrations.models import Integration, SyncRun
from leads.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _sync_run(user) -> SyncRun:
    integration = Integration.objects.filter(
        user=user
    ).first() or integration_services.integration_create(
        user=user,
        provider="hunter",
        credentials={"api_key": "hk_test_0123456789abcdef"},
        settings={},
    )
    return SyncRun.objects.create(
        integration=integration, user=user, provider="hunter", direction="import"
    )


def _csv_import(user) -> CsvImport:
    csv_import = csv_services.csv_import_create(
        user=user, filename="leads.csv", raw=b"email\na@x.io\n"
    )
    assert jobs.job_queue(CsvImport, csv_import.pk, mapping={"0": "email"}, mode="create")
    csv_import.refresh_from_db()
    return csv_import


@pytest.fixture
def user(db):
    return UserFactory(username="worker-owner")


@pytest.fixture(params=["sync", "csv"])
def job(request, user):
    return _sync_run(user) if request.param == "sync" else _csv_import(user)


def _reload(job):
    job.refresh_from_db()
    return job


def test_one_worker_holds_the_lease_and_renews_it_with_progress(job):
    model = type(job)
    assert jobs.job_claim(model, job.pk, "w1")
    assert not jobs.job_claim(model, job.pk, "w2")  # held by a live worker
    assert jobs.job_claim(model, job.pk, "w1")  # the same delivery again
    job = _reload(job)
    assert (job.state, job.lease_owner, job.attempts) == ("running", "w1", 2)
    assert job.started_at is not None
    jobs.job_renew(model, job.pk, "w1", processed=5)
    assert _reload(job).processed == 5
    with pytest.raises(jobs.LeaseLost):
        jobs.job_renew(model, job.pk, "w2", processed=9)
    assert _reload(job).processed == 5


def test_a_lapsed_lease_passes_to_another_worker(job):
    model = type(job)
    assert jobs.job_claim(model, job.pk, "w1")
    model.objects.filter(pk=job.pk).update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    assert jobs.job_claim(model, job.pk, "w2")
    with pytest.raises(jobs.LeaseLost):  # the first worker wakes up: it must stop
        jobs.job_renew(model, job.pk, "w1")
    assert not jobs.job_finish(model, job.pk, "w1", "succeeded")
    assert jobs.job_finish(model, job.pk, "w2", "succeeded")
    job = _reload(job)
    assert (job.state, job.lease_owner, job.lease_until) == ("succeeded", "", None)
    assert not jobs.job_claim(model, job.pk, "w3")  # finished is final


def test_cancel_stops_an_unheld_job_at_once_and_asks_a_running_one(job, user):
    model = type(job)
    assert jobs.job_cancel(model, job).state == "cancelled"
    assert not jobs.job_claim(model, job.pk, "w1")

    other = _sync_run(user) if model is SyncRun else _csv_import(user)
    assert jobs.job_claim(model, other.pk, "w1")
    other = jobs.job_cancel(model, other)
    assert (other.state, other.cancel_requested) == ("running", True)
    assert jobs.job_cancel_requested(model, other.pk)


def test_release_after_a_transient_fault_makes_it_due_later(job):
    model = type(job)
    assert jobs.job_claim(model, job.pk, "w1")
    jobs.job_release(model, job.pk, "w1", retry_in=600, error="Waiting to retry: 429")
    job = _reload(job)
    assert (job.state, job.lease_owner, job.error) == ("running", "", "Waiting to retry: 429")
    assert jobs.jobs_to_recover(model) == []  # not due yet
    model.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now() - dt.timedelta(days=1))
    assert jobs.jobs_to_recover(model) == [job.pk]
    assert jobs.jobs_to_recover(model) == []  # due again from now: not queued twice
    assert jobs.job_claim(model, job.pk, "w2")


def test_the_sweep_requeues_what_a_dead_worker_left_and_gives_up_after_the_attempts(job):
    model = type(job)
    policy = model.policy()
    past = timezone.now() - dt.timedelta(seconds=policy.lease_seconds + 1)
    assert jobs.jobs_to_recover(model) == []  # just queued, its message is on the way
    assert jobs.job_claim(model, job.pk, "w1")
    assert jobs.jobs_to_recover(model) == []  # a live lease
    model.objects.filter(pk=job.pk).update(lease_until=past)
    assert jobs.jobs_to_recover(model) == [job.pk]
    model.objects.filter(pk=job.pk).update(
        lease_owner="w2", lease_until=past, attempts=policy.max_attempts
    )
    assert jobs.jobs_to_recover(model) == []
    job = _reload(job)
    assert job.state == "failed"
    assert f"stopped responding {policy.max_attempts} times" in job.error
    assert job.finished_at is not None


def test_a_queued_job_whose_message_was_lost_is_requeued(job):
    model = type(job)
    policy = model.policy()
    long_ago = timezone.now() - dt.timedelta(seconds=policy.requeue_after + 1)
    model.objects.filter(pk=job.pk).update(next_attempt_at=long_ago, created_at=long_ago)
    assert jobs.jobs_to_recover(model) == [job.pk]
