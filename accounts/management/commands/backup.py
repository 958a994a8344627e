"""manage.py backup PATH: an online backup of the embedded SQLite database and its keys."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crm.backup import PG_HINT, BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Back up the SQLite database (safely, while the app keeps running and writing) and the "
        "keys that encrypt vendor credentials into the directory PATH, with a manifest of "
        "checksums. The backup holds the keys: store it as safely. Restore with "
        f"'manage.py restore PATH'. On PostgreSQL use {PG_HINT}."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="a new (or empty) directory to write to")

    def handle(self, *args, path: Path, **options):
        try:
            manifest = backup_create(destination=path.resolve())
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        counts = manifest["counts"]
        size = manifest["files"]["db.sqlite3"]["bytes"]
        self.stdout.write(
            f"Backed up {counts['leads']} leads and {counts['integrations']} integration(s) "
            f"({size / 1_048_576:.1f} MB) with the encryption keys to {path}."
        )
