"""The Celery door onto the CSV import job. It takes an id and is safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

from csvimport import services

logger = logging.getLogger(__name__)


@shared_task(name="csvimport.tasks.run_csv_import", bind=True, acks_late=True)
def run_csv_import(self, import_id: int) -> str:
    # A redelivered or repeated task resumes from the import's checkpoint (next_row).
    return services.csv_import_run(import_id=import_id, owner=self.request.id or None)


@shared_task(name="csvimport.tasks.resume_stalled_imports")
def resume_stalled_imports() -> int:
    """Queue again the imports whose worker died or whose message was lost (beat, every
    minute). A rerun resumes from the checkpoint, so a slow import queued twice is harmless."""
    ids = services.csv_imports_resume_stalled()
    for import_id in ids:
        run_csv_import.delay(import_id)
    if ids:
        logger.info("requeued stalled CSV imports %s", ids)
    return len(ids)
