"""One model and one protocol for long work that runs on the workers.

Vendor syncs (``integrations.SyncRun``) and CSV imports (``csvimport.CsvImport``) are both a
``Job``; verification and bulk reassignment will be too. Each kind keeps its own table (what
it needs to resume differs: a vendor's page cursor, a row number), and shares:

- the states: ``pending`` (waiting for the person, e.g. a CSV mapping), ``queued``,
  ``running``, then ``succeeded``, ``partial``, ``failed`` or ``cancelled``;
- the claim: a worker takes a *lease* on a queued or running job (one atomic UPDATE), and
  renews it in the same transaction as each batch of work and its checkpoint. A lease that
  lapses means the worker died; ``jobs_to_recover`` finds those, and queued jobs whose message
  was lost, so the kind's sweep task queues them again and the run resumes at its checkpoint;
- the attempts: every claim counts one. A job recovered ``max_attempts`` times fails with the
  kind's message instead of being queued again;
- cancel: a job nobody holds stops at once; a running one at its next batch;
- transient faults: the worker releases the lease and names when the retry is due.

A job kind says its timings with ``policy()`` (from settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone


class JobState(models.TextChoices):
    PENDING = "pending", "Waiting for input"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Finished"
    PARTIAL = "partial", "Finished with failures"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)

FINISHED_STATES = (JobState.SUCCEEDED, JobState.PARTIAL, JobState.FAILED, JobState.CANCELLED)


def state_choices(
    *, without: tuple[str, ...] = (), labels: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """The states a kind of job uses, with its own words for some of them."""
    labels = labels or {}
    return [
        (value, labels.get(value, label))
        for value, label in JobState.choices
        if value not in without
    ]


@dataclass(frozen=True)
class JobPolicy:
    # How long a claim holds without a renewal; a lapsed lease means the worker died.
    lease_seconds: int
    # Claims in all before a job that keeps stalling fails instead of being queued again.
    max_attempts: int
    # A queued job nobody has claimed this long after it was due: its message was lost.
    requeue_after: int


class Job(models.Model):
    """The fields every kind of background job has (an abstract model: no table)."""

    ACTIVE_STATES: ClassVar = ACTIVE_STATES

    state = models.CharField(max_length=12, choices=JobState.choices, default=JobState.QUEUED)
    processed = models.PositiveIntegerField(default=0)
    error = models.TextField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    # Set while a worker executes the job; a lapsed lease means the worker died.
    lease_owner = models.CharField(max_length=64, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    # When the job is due: set when it is queued, and after a transient fault to when the
    # retry is (recovery leaves it alone until then). Null: due since it was created.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @classmethod
    def policy(cls) -> JobPolicy:
        raise NotImplementedError

    def cancelled_message(self) -> str:
        return "Cancelled."

    def gave_up_message(self) -> str:
        """Why the job failed after stalling ``max_attempts`` times (shown to the person)."""
        return f"The job stopped responding {self.attempts} times; its work so far is saved."

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES


J = TypeVar("J", bound=Job)


class LeaseLost(Exception):
    """Another worker took the job over (this one stalled past its lease)."""


def _lease_end(model: type[Job]) -> datetime:
    return timezone.now() + timedelta(seconds=model.policy().lease_seconds)


def job_claim(model: type[Job], pk: int, owner: str) -> bool:
    """Take the lease of a queued or running job nobody else holds, and mark it running.
    False if it is finished, waiting for input, or held by a live worker."""
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner)
    with transaction.atomic():
        taken = (
            model._default_manager.filter(pk=pk, state__in=ACTIVE_STATES)
            .filter(free)
            .update(
                state=JobState.RUNNING,
                lease_owner=owner,
                lease_until=_lease_end(model),
                next_attempt_at=None,
                attempts=F("attempts") + 1,
            )
        )
        if taken:
            model._default_manager.filter(pk=pk, started_at__isnull=True).update(started_at=now)
    return bool(taken)


def job_renew(model: type[Job], pk: int, owner: str, **fields: Any) -> None:
    """Extend the lease and save progress (inside the batch's transaction), or raise
    LeaseLost when this worker no longer holds the running job."""
    renewed = model._default_manager.filter(
        pk=pk, lease_owner=owner, state=JobState.RUNNING
    ).update(lease_until=_lease_end(model), **fields)
    if not renewed:
        raise LeaseLost()


def job_cancel_requested(model: type[Job], pk: int) -> bool:
    return model._default_manager.filter(pk=pk, cancel_requested=True).exists()


def job_finish(model: type[Job], pk: int, owner: str, state: str, error: str | None = None) -> bool:
    """End the job this worker holds; False if it no longer held it."""
    return bool(
        model._default_manager.filter(pk=pk, lease_owner=owner).update(
            state=state,
            error=error,
            finished_at=timezone.now(),
            lease_owner="",
            lease_until=None,
        )
    )


def job_release(model: type[Job], pk: int, owner: str, *, retry_in: float, error: str) -> None:
    """Let go of the job after a transient fault; it stays active, due in ``retry_in`` s."""
    model._default_manager.filter(pk=pk, lease_owner=owner).update(
        error=error,
        next_attempt_at=timezone.now() + timedelta(seconds=retry_in),
        lease_owner="",
        lease_until=None,
    )


def job_queue(model: type[Job], pk: int, **fields: Any) -> bool:
    """Move a job that waits for input to the queue (and save ``fields`` with it)."""
    return bool(
        model._default_manager.filter(pk=pk, state=JobState.PENDING).update(
            state=JobState.QUEUED, next_attempt_at=timezone.now(), **fields
        )
    )


def job_cancel(model: type[J], job: J) -> J:
    """Ask a job to stop: one nobody holds stops at once, a running one at its next batch.
    The work committed so far stays."""
    now = timezone.now()
    with transaction.atomic():
        model._default_manager.filter(pk=job.pk, state__in=ACTIVE_STATES).update(
            cancel_requested=True
        )
        unheld = Q(lease_owner="") | Q(lease_until__lt=now)
        model._default_manager.filter(unheld, pk=job.pk, state__in=ACTIVE_STATES).update(
            state=JobState.CANCELLED,
            finished_at=now,
            lease_owner="",
            lease_until=None,
            error=job.cancelled_message(),
        )
    job.refresh_from_db()
    return job


def jobs_to_recover(model: type[Job]) -> list[int]:
    """Jobs no live worker holds: lapsed leases, and queued jobs whose message was lost
    (unheld for ``requeue_after`` past when they were due). The ids to queue again; those
    already claimed ``max_attempts`` times fail instead, with the kind's message."""
    policy = model.policy()
    now = timezone.now()
    grace = now - timedelta(seconds=policy.requeue_after)
    lapsed = Q(state=JobState.RUNNING, lease_until__lt=now)
    unheld = Q(state__in=ACTIVE_STATES, lease_until__isnull=True) & (
        Q(next_attempt_at__isnull=True, created_at__lt=grace) | Q(next_attempt_at__lt=grace)
    )
    manager = model._default_manager
    recover: list[int] = []
    for job in manager.filter(lapsed | unheld).order_by("id"):
        if job.attempts >= policy.max_attempts:
            manager.filter(lapsed | unheld, pk=job.pk).update(
                state=JobState.FAILED,
                finished_at=now,
                lease_owner="",
                lease_until=None,
                error=job.gave_up_message(),
            )
            continue
        # Moving the due time keeps the next sweep from queueing it twice meanwhile.
        if manager.filter(lapsed | unheld, pk=job.pk).update(
            next_attempt_at=now, lease_owner="", lease_until=None
        ):
            recover.append(job.pk)
    return recover
