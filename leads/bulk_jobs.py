"""Bulk actions on every lead that matches a list's filters ("select all N matching").

The filters travel as the list's query (never a list of ids from the browser) and are
evaluated here, through the scope, each time leads are read. Up to INLINE_LIMIT leads are
changed while the person waits; more become a ``LeadBulkJob`` that a worker runs in batches
of BATCH_SIZE, each batch written through ``leads.services`` (one history entry per lead
moved) in one transaction with the job's checkpoint and lease (``crm.jobs``), so a rerun
after a crash never does a batch twice, and a cancel stops it before the next batch.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, QuerySet

from crm import jobs
from crm.errors import NotFound
from leads import services
from leads.filters import LEAD_FILTER_NAMES, LeadFilterSet
from leads.models import Lead, LeadBulkJob, Source, Status
from leads.scope import Scope
from leads.selectors import LeadFilters, filter_leads, narrow_by_search_index

logger = logging.getLogger(__name__)

# Up to this many matching leads the action runs inline (a status change of 2,000 leads
# writes 4 batches, about a second on SQLite); beyond, a background job with progress.
INLINE_LIMIT = 2_000
BATCH_SIZE = 500


@dataclass(frozen=True)
class Matching:
    """The leads matching a list's filters, as a person asked for them."""

    query: dict[str, str]
    filters: LeadFilters


def matching_from_query(data: Mapping[str, Any], *, prefix: str = "") -> Matching:
    """The list filters named in ``data`` (each name after ``prefix``: a form's own fields
    may share the names), validated as the list validates them; ValidationError naming the
    bad filters otherwise."""
    query = {name: str(data.get(prefix + name) or "").strip() for name in LEAD_FILTER_NAMES}
    query = {name: value for name, value in query.items() if value}
    filterset = LeadFilterSet(query)
    if not filterset.is_valid():
        problems = "; ".join(
            f"{name}: {' '.join(str(m) for m in messages)}"
            for name, messages in filterset.errors.items()
        )
        raise ValidationError(f"The filters are not valid ({problems}).")
    return Matching(query, LeadFilters.from_cleaned(filterset.form.cleaned_data))


def leads_matching(*, user, filters: LeadFilters) -> QuerySet[Lead]:
    """The scope's leads that match ``filters``: the same tests as the list's page."""
    return narrow_by_search_index(filter_leads(Scope.of(user).leads(), filters), filters)


def matching_count(*, user, filters: LeadFilters) -> int:
    """How many leads match, exactly (the confirmation page states it)."""
    return leads_matching(user=user, filters=filters).order_by().count()


def _ids(*, user, filters: LeadFilters, after: int, up_to: int, limit: int) -> list[int]:
    rows = (
        leads_matching(user=user, filters=filters)
        .filter(id__gt=after, id__lte=up_to)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    return list(rows)


def _apply(*, user, action: str, status: str, ids: list[int]) -> int:
    """One batch through the leads services: how many leads changed."""
    if action == LeadBulkJob.Action.STATUS:
        return services.lead_bulk_set_status(
            user=user, lead_ids=ids, status=status, source=Source.UI
        )
    scope = Scope.of(user)
    return services.leads_delete(leads=scope.leads().filter(id__in=ids), actor=user, scope=scope)


@dataclass(frozen=True)
class Outcome:
    # Done now: how many leads changed. Or queued: the job that will do it.
    changed: int | None = None
    job: LeadBulkJob | None = None


def lead_bulk_matching(*, user, action: str, status: str, matching: Matching) -> Outcome:
    """Apply ``action`` to every lead matching the filters: inline when they are few, as a
    background job (queued when this transaction commits) when there are more."""
    if action not in LeadBulkJob.Action.values:
        raise ValidationError("Choose an action.")
    if action == LeadBulkJob.Action.STATUS and status not in Status.values:
        raise ValidationError("Choose the new status first.")
    matches = leads_matching(user=user, filters=matching.filters).order_by()
    up_to = matches.aggregate(top=Max("id"))["top"]
    if up_to is None:
        return Outcome(changed=0)
    first = _ids(user=user, filters=matching.filters, after=0, up_to=up_to, limit=INLINE_LIMIT + 1)
    if len(first) <= INLINE_LIMIT:
        changed = 0
        for start in range(0, len(first), BATCH_SIZE):
            batch = first[start : start + BATCH_SIZE]
            changed += _apply(user=user, action=action, status=status, ids=batch)
        return Outcome(changed=changed)
    with transaction.atomic():
        job = LeadBulkJob.objects.create(
            user=user,
            action=action,
            to_status=status if action == LeadBulkJob.Action.STATUS else "",
            filters=matching.query,
            total=matches.count(),
            max_id=up_to,
            next_attempt_at=None,
        )
        from leads.tasks import run_lead_bulk_job

        job_id = job.pk
        transaction.on_commit(lambda: run_lead_bulk_job.delay(job_id))
    return Outcome(job=job)


def lead_bulk_job_get(*, user, job_id: int) -> LeadBulkJob:
    """One of the person's bulk jobs, or NotFound (another person's is a missing one)."""
    job = Scope.of(user).own(LeadBulkJob).filter(pk=job_id).first()
    if job is None:
        raise NotFound
    return job


def lead_bulk_job_cancel(*, job: LeadBulkJob) -> bool:
    """Stop the job before its next batch; the batches done stay. False if it had ended."""
    if not job.is_active:
        job.refresh_from_db()
        if not job.is_active:
            return False
    jobs.job_cancel(LeadBulkJob, job)
    return True


def lead_bulk_jobs_recover() -> list[int]:
    """Jobs no live worker holds (see crm.jobs.jobs_to_recover): the ids to queue again."""
    return jobs.jobs_to_recover(LeadBulkJob)


def lead_bulk_job_run(
    *, job_id: int, owner: str | None = None, after_batch: Callable[[int], None] | None = None
) -> str:
    """Run a bulk job from its checkpoint to the end. Safe to run twice, or after a crash:
    each batch commits with the checkpoint and the lease renewal. ``after_batch`` is a test
    hook."""
    owner = owner or uuid.uuid4().hex
    if not jobs.job_claim(LeadBulkJob, job_id, owner):
        state = LeadBulkJob.objects.filter(pk=job_id).values_list("state", flat=True).first()
        return state or "missing"
    job = LeadBulkJob.objects.select_related("user").get(pk=job_id)
    try:
        matching = matching_from_query(job.filters)
        while True:
            ids = _ids(
                user=job.user,
                filters=matching.filters,
                after=job.last_id,
                up_to=job.max_id,
                limit=BATCH_SIZE,
            )
            if not ids:
                break
            if not _commit_batch(job, owner, ids):
                return job.state
            if after_batch:
                after_batch(job.processed)
    except Exception:
        logger.exception("Bulk job %s failed after lead %s", job_id, job.last_id)
        return _finish(
            job,
            owner,
            state=jobs.JobState.FAILED,
            error="The job stopped after an unexpected error; the leads done so far stay done.",
        )
    return _finish(job, owner, state=jobs.JobState.SUCCEEDED)


def _commit_batch(job: LeadBulkJob, owner: str, ids: list[int]) -> bool:
    """One batch with its checkpoint, in one transaction. False if the job was cancelled or
    another worker holds it."""
    with transaction.atomic():
        current = (
            LeadBulkJob.objects.filter(pk=job.pk)
            .values_list("state", "lease_owner", "last_id", "cancel_requested")
            .first()
        )
        if current is None or current[:3] != (jobs.JobState.RUNNING, owner, job.last_id):
            job.refresh_from_db()
            return False
        if current[3]:
            _finish(job, owner, state=jobs.JobState.CANCELLED, error=job.cancelled_message())
            return False
        changed = _apply(user=job.user, action=job.action, status=job.to_status, ids=ids)
        job.processed += len(ids)
        job.changed += changed
        job.last_id = ids[-1]
        jobs.job_renew(
            LeadBulkJob,
            job.pk,
            owner,
            processed=job.processed,
            changed=job.changed,
            last_id=job.last_id,
        )
    return True


def _finish(job: LeadBulkJob, owner: str, *, state: str, error: str = "") -> str:
    jobs.job_finish(LeadBulkJob, job.pk, owner, state, error or None)
    job.refresh_from_db()
    return job.state
