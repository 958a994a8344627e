from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations import engine, services, tasks
from integrations.models import SyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """Run ids the tasks would send to the broker."""
    sent: list[int] = []
    monkeypatch.setattr(tasks, "enqueue_run", lambda run: sent.append(run.pk))
    monkeypatch.setattr(tasks.run_sync, "delay", lambda run_id: sent.append(run_id))
    return sent


def _integration(user, provider="hunter", **settings):
    credentials = (
        {"client_id": "c", "client_secret": "s"} if provider == "snovio" else {"api_key": "k" * 16}
    )
    return services.integration_create(
        user=user, provider=provider, credentials=credentials, settings=settings
    )


def test_scheduled_syncs_start_when_due_and_not_before(rep, queued):
    hourly = _integration(rep, schedule="hourly", import_list_id=1, export_list_id=2)
    _integration(rep, provider="snovio", schedule="manual", import_list_id="L")
    assert tasks.dispatch_scheduled_syncs() == 2
    runs = SyncRun.objects.filter(integration=hourly, trigger="schedule")
    assert sorted(runs.values_list("direction", flat=True)) == ["export", "import"]
    assert sorted(queued) == sorted(runs.values_list("pk", flat=True))
    # Not due yet (and the first runs are still queued): nothing more.
    SyncRun.objects.update(state="succeeded")
    assert tasks.dispatch_scheduled_syncs() == 0
    # An hour later it is due again.
    SyncRun.objects.update(created_at=timezone.now() - timedelta(minutes=61))
    assert tasks.dispatch_scheduled_syncs() == 2


def test_a_scheduled_run_is_not_doubled_while_one_is_active(rep, queued):
    integration = _integration(rep, schedule="daily", import_list_id=1)
    engine.run_claim(integration=integration, direction="import")  # started by hand
    assert tasks.dispatch_scheduled_syncs() == 0
    assert SyncRun.objects.count() == 1


def test_integrations_needing_credentials_are_not_scheduled(rep, queued):
    integration = _integration(rep, schedule="hourly", import_list_id=1)
    integration.state = integration.State.NEEDS_CREDENTIALS
    integration.save()
    assert tasks.dispatch_scheduled_syncs() == 0


def test_recover_requeues_lapsed_and_lost_runs_only(rep, queued, settings):
    integration = _integration(rep, import_list_id=1, export_list_id=2)
    lapsed = engine.run_claim(integration=integration, direction="import")
    engine._take_lease(lapsed.pk, "dead")
    SyncRun.objects.filter(pk=lapsed.pk).update(lease_until=timezone.now() - timedelta(seconds=5))
    lost = engine.run_claim(integration=integration, direction="export")
    SyncRun.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.SYNC_REQUEUE_AFTER + 5)
    )
    assert tasks.recover_stalled_runs() == 2
    assert sorted(queued) == sorted([lapsed.pk, lost.pk])
    # A run waiting for its retry is left alone until the retry is overdue.
    queued.clear()
    SyncRun.objects.filter(pk=lost.pk).update(
        next_attempt_at=timezone.now() + timedelta(seconds=30)
    )
    SyncRun.objects.filter(pk=lapsed.pk).update(state="succeeded")
    assert tasks.recover_stalled_runs() == 0
