"""manage.py restore PATH: bring a backup made by manage.py backup into this DATA_DIR."""

from __future__ import annotations

import contextlib
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from crm.backup import PG_HINT, BackupError, backup_restore
from crm.running import ProcessesRunning, exclusive


class Command(BaseCommand):
    help = (
        "Restore a backup made by 'manage.py backup' into the configured DATA_DIR: checks every "
        "file against the manifest's checksums, the database's integrity and that the backup's "
        "keys decrypt every stored credential, then puts the database and the keys in place. "
        "Refuses to replace a database that already has tables unless --force (the old files "
        "are kept beside it). Stop the web server, worker and beat first; run "
        f"'manage.py migrate' after. On PostgreSQL use {PG_HINT}."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="the backup directory")
        parser.add_argument(
            "--force", action="store_true", help="replace an existing database (kept aside)"
        )

    def handle(self, *args, path: Path, force: bool, **options):
        # Only SQLite's file can be replaced under running processes (PostgreSQL is refused
        # with the pg_restore hint by backup_restore itself).
        guard = (
            exclusive(Path(settings.DATA_DIR))
            if connection.vendor == "sqlite"
            else contextlib.nullcontext()
        )
        try:
            with guard:
                result = backup_restore(source=path.resolve(), force=force)
        except (BackupError, ProcessesRunning) as exc:
            raise CommandError(str(exc)) from None
        for kept in result.set_aside:
            self.stdout.write(
                f"Kept the previous {kept.name.split('.before-restore')[0]} as {kept}"
            )
        self.stdout.write(
            f"Restored {result.leads} leads into {result.database}; "
            f"{result.credentials_checked} stored credential(s) decrypt with the restored keys."
        )
        for warning in result.warnings:
            self.stderr.write(f"Warning: {warning}")
        self.stdout.write("Run 'manage.py migrate' if this code is newer than the backup.")
