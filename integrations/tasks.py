"""Celery doors onto the sync engine. Tasks take ids and are safe to run twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations import engine
from integrations.models import Integration, Schedule, SyncRun

logger = logging.getLogger(__name__)


@shared_task(name="integrations.tasks.run_sync", bind=True, max_retries=None, acks_late=True)
def run_sync(self, run_id: int) -> str:
    outcome = engine.run_execute(run_id=run_id, owner=self.request.id or None)
    if isinstance(outcome, engine.Retry):
        logger.info("sync run %s: retry in %.1fs (%s)", run_id, outcome.delay, outcome.reason)
        raise self.retry(countdown=outcome.delay)
    return outcome.state


def enqueue_run(run: SyncRun) -> None:
    """Queue the run's task once the transaction that created the run has committed."""
    run_id = run.pk
    transaction.on_commit(lambda: run_sync.delay(run_id))


@shared_task(name="integrations.tasks.recover_stalled_runs")
def recover_stalled_runs() -> int:
    """Requeue runs whose worker died or whose queued message was lost."""
    ids = engine.runs_to_recover()
    for run_id in ids:
        run_sync.delay(run_id)
    if ids:
        logger.info("requeued stalled sync runs %s", ids)
    return len(ids)


_PERIODS: dict[str, timedelta] = {
    Schedule.HOURLY: timedelta(hours=1),
    Schedule.DAILY: timedelta(days=1),
}


@shared_task(name="integrations.tasks.dispatch_scheduled_syncs")
def dispatch_scheduled_syncs() -> int:
    """Start the imports and exports that hourly and daily integrations are due for."""
    now = timezone.now()
    started = 0
    integrations = Integration.objects.filter(
        schedule__in=list(_PERIODS), state=Integration.State.ACTIVE
    )
    for integration in integrations:
        period = _PERIODS[integration.schedule]
        for direction in _scheduled_directions(integration):
            last = (
                SyncRun.objects.filter(
                    integration=integration, direction=direction, trigger="schedule"
                )
                .order_by("-id")
                .values_list("created_at", flat=True)
                .first()
            )
            # A little slack so a run started at 10:00:03 is not skipped at 11:00:01.
            if last is not None and now - last < period - timedelta(minutes=5):
                continue
            try:
                run = engine.run_claim(
                    integration=integration, direction=direction, trigger="schedule"
                )
            except engine.RunAlreadyActive:
                continue
            enqueue_run(run)
            started += 1
    return started


def _scheduled_directions(integration: Integration) -> list[str]:
    directions: list[str] = []
    if integration.import_list_id not in (None, "") or integration.spec.imports_without_list:
        directions.append(SyncRun.Direction.IMPORT)
    if integration.export_list_id not in (None, "") or integration.export_campaign_id not in (
        None,
        "",
    ):
        directions.append(SyncRun.Direction.EXPORT)
    return directions


@worker_ready.connect
def _recover_on_start(sender=None, **kwargs) -> None:
    # A worker that was killed leaves runs behind; pick them up as soon as one starts again.
    # Once now, and once more when a dead worker's lease has surely lapsed.
    try:
        recover_stalled_runs.delay()
        recover_stalled_runs.apply_async(countdown=settings.SYNC_LEASE_SECONDS + 1)
    except Exception:  # the broker may still be starting; beat sweeps every minute anyway
        logger.warning("could not queue stalled-run recovery at worker start", exc_info=True)
