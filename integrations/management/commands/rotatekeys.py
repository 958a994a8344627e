"""Rotate the keys that encrypt provider credentials at rest."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from integrations import crypto
from integrations.models import Integration


def reencrypt_all() -> int:
    """Re-encrypt every stored secret under the newest configured key."""
    count = 0
    with transaction.atomic():
        for integration in Integration.objects.select_for_update().only(
            "id", "credentials_encrypted", "access_token_encrypted"
        ):
            integration.credentials_encrypted = crypto.rotate(integration.credentials_encrypted)
            fields = ["credentials_encrypted"]
            if integration.access_token_encrypted:
                integration.access_token_encrypted = crypto.rotate(
                    integration.access_token_encrypted
                )
                fields.append("access_token_encrypted")
            integration.save(update_fields=fields)
            count += 1
    return count


class Command(BaseCommand):
    help = (
        "Rotate FIELD_ENCRYPTION_KEYS. With the generated key file (no FIELD_ENCRYPTION_KEYS "
        "set): add a new key and re-encrypt every credential with it. With keys from "
        "the environment: put a new key first (--new-key prints one), then run this to "
        "re-encrypt, then remove the old keys from the environment."
    )

    def add_arguments(self, parser):
        parser.add_argument("--new-key", action="store_true", help="print a fresh key and exit")
        parser.add_argument(
            "--drop-old",
            action="store_true",
            help="re-encrypt everything under the newest key and remove the older keys from "
            "the key file (restart web and workers after a rotation first)",
        )

    def handle(self, *args, new_key, drop_old, **options):
        if new_key:
            self.stdout.write(crypto.new_key())
            return
        if settings.FIELD_ENCRYPTION_KEYS_FROM_ENV:
            count = reencrypt_all()
            self.stdout.write(
                f"Re-encrypted {count} integration(s) with the first key of "
                "FIELD_ENCRYPTION_KEYS. You may now remove the older keys from it."
            )
            return
        path = settings.FIELD_ENCRYPTION_KEYS_FILE
        keys = list(settings.FIELD_ENCRYPTION_KEYS)
        if drop_old:
            # Make sure everything is under the newest key before forgetting the others.
            count = reencrypt_all()
            self._write_keys(path, keys[:1])
            settings.FIELD_ENCRYPTION_KEYS = keys[:1]
            self.stdout.write(
                f"Checked {count} integration(s); dropped {len(keys) - 1} old key(s)."
            )
            return
        fresh = crypto.new_key()
        # Newest first; the old keys stay readable so running processes keep working.
        self._write_keys(path, [fresh, *keys])
        settings.FIELD_ENCRYPTION_KEYS = [fresh, *keys]
        try:
            count = reencrypt_all()
        except crypto.DecryptionError as exc:
            raise CommandError(f"{exc}; the key file keeps both old and new keys.") from None
        self.stdout.write(f"Added a new key and re-encrypted {count} integration(s) with it.")
        self.stdout.write(
            "Restart the web and worker processes so they load the new key, then run "
            "this again with --drop-old to forget the old ones."
        )

    @staticmethod
    def _write_keys(path, keys: list[str]) -> None:
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(",".join(keys) + "\n")
        os.replace(temporary, path)
