"""The Celery door onto bulk jobs (leads.bulk_jobs). Tasks take an id and are safe to run
twice."""

from __future__ import annotations

import logging

from celery import shared_task

from leads import bulk_jobs, tally

logger = logging.getLogger(__name__)


@shared_task(name="leads.tasks.run_lead_bulk_job", bind=True, acks_late=True)
def run_lead_bulk_job(self, job_id: int) -> str:
    # A redelivered or repeated task resumes from the job's checkpoint (last_id).
    return bulk_jobs.lead_bulk_job_run(job_id=job_id, owner=self.request.id or None)


@shared_task(name="leads.tasks.resume_stalled_bulk_jobs")
def resume_stalled_bulk_jobs() -> int:
    """Queue again the bulk jobs whose worker died or whose message was lost (beat, every
    minute)."""
    ids = bulk_jobs.lead_bulk_jobs_recover()
    for job_id in ids:
        run_lead_bulk_job.delay(job_id)
    if ids:
        logger.info("requeued stalled bulk jobs %s", ids)
    return len(ids)


@shared_task(name="leads.tasks.lead_tally_compact")
def lead_tally_compact() -> None:
    """Fold the rows PostgreSQL's tally triggers append (beat, hourly)."""
    tally.lead_tally_compact()
