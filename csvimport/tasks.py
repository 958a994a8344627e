"""The Celery door onto the CSV import job. It takes an id and is safe to run twice."""

from __future__ import annotations

from celery import shared_task

from csvimport import services


@shared_task(name="csvimport.tasks.run_csv_import", acks_late=True)
def run_csv_import(import_id: int) -> str:
    # A redelivered or repeated task resumes from the import's checkpoint (next_row).
    return services.csv_import_run(import_id=import_id)
