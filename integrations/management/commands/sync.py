"""``manage.py sync USERNAME PROVIDER import|export``: the sync engine in the foreground."""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from integrations import engine
from integrations.models import Integration, Provider, SyncRun
from leads.scope import Scope


class Command(BaseCommand):
    help = "Run an import or export for USERNAME's PROVIDER integration now, printing progress."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("provider", choices=Provider.values)
        parser.add_argument("direction", choices=SyncRun.Direction.values)
        parser.add_argument(
            "--resume",
            action="store_true",
            help="continue the run already queued or running instead of refusing",
        )

    def handle(self, *args, username, provider, direction, resume, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        integration = Scope.of(user).own(Integration).filter(provider=provider).first()
        if integration is None:
            raise CommandError(f"{username} has no {provider} integration; connect it first.")
        try:
            run = engine.run_claim(integration=integration, direction=direction, trigger="command")
        except engine.RunAlreadyActive as exc:
            if not resume:
                raise CommandError(
                    f"Run {exc.run.pk} ({direction}) is already {exc.run.state}; "
                    "wait for it, cancel it, or pass --resume to continue it here."
                ) from None
            run = exc.run
        self.stdout.write(f"Run {run.pk}: {provider} {direction} for {username}")
        while True:
            outcome = engine.run_execute(run_id=run.pk, on_progress=self._progress)
            if isinstance(outcome, engine.Retry):
                self.stdout.write(f"  waiting {outcome.delay:.0f}s to retry: {outcome.reason}")
                time.sleep(outcome.delay)
                continue
            break
        run.refresh_from_db()
        self.stdout.write(
            f"{run.state}: processed {run.processed}"
            + (f" of {run.total}" if run.total is not None else "")
            + f", created {run.created}, updated {run.updated}, unchanged {run.unchanged}, "
            f"skipped {run.skipped}, failed {run.failed}"
        )
        if run.error:
            self.stdout.write(f"  {run.error}")
        for failure in run.failures.order_by("id")[:20]:
            self.stdout.write(f"  failed: {failure.record}: {failure.detail}")
        if run.state == SyncRun.State.FAILED:
            raise CommandError("The run failed.")

    def _progress(self, run: SyncRun) -> None:
        total = f"/{run.total}" if run.total is not None else ""
        self.stdout.write(
            f"  {run.processed}{total} processed (created {run.created}, updated "
            f"{run.updated}, unchanged {run.unchanged}, skipped {run.skipped}, failed {run.failed})"
        )
