"""Rotate the keys that encrypt provider credentials at rest, in the safe order.

1. ``--add`` puts a new key first (in the key file; with keys in the environment the
   administrator does it, ``--new-key`` prints one).
2. Every web, worker and beat process restarts, so each encrypts with the new key and still
   reads the old one.
3. ``rotatekeys`` re-encrypts every stored credential with the new key.
4. ``--drop-old`` forgets the old keys.

Steps 3 and 4 refuse while a running process (crm.models.RunningProcess, on any machine) still
encrypts with an older key: re-encrypting under it would leave that process unable to read the
credentials, and dropping the old key would make whatever it writes unreadable.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from crm.running import key_fingerprint, running_processes
from integrations import crypto
from integrations.models import Integration

RESTART = (
    "restart them (systemctl restart crm-web crm-worker crm-beat on every machine, or stop "
    "and start 'make run')"
)


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


def lagging_processes(first: str) -> list[str]:
    """The running processes that do not encrypt with the key whose fingerprint is ``first``."""
    return [
        f"{process.role} {process.pid}@{process.host} (since "
        f"{process.started_at:%Y-%m-%d %H:%M} UTC, key {process.encrypting_key})"
        for process in running_processes()
        if process.encrypting_key != first
    ]


class Command(BaseCommand):
    help = (
        "Rotate FIELD_ENCRYPTION_KEYS in the safe order: --add a new key (with keys in the "
        "environment: put --new-key's key first in FIELD_ENCRYPTION_KEYS on every machine), "
        "restart web, worker and beat, run rotatekeys to re-encrypt, then --drop-old. "
        "Re-encrypting and dropping refuse while a running process has not loaded the new key."
    )

    def add_arguments(self, parser):
        parser.add_argument("--new-key", action="store_true", help="print a fresh key and exit")
        parser.add_argument(
            "--add",
            action="store_true",
            help="put a new key first in the key file (step 1; then restart the processes)",
        )
        parser.add_argument(
            "--drop-old",
            action="store_true",
            help="re-encrypt under the newest key and forget the older ones (last step)",
        )
        parser.add_argument(
            "--forget",
            metavar="PID@HOST",
            help="remove the record of a process that no longer runs on a machine that is gone",
        )

    def handle(self, *args, new_key, add, drop_old, forget, **options):
        if new_key:
            self.stdout.write(crypto.new_key())
        elif forget:
            self._forget(forget)
        elif add:
            self._add()
        else:
            self._check_processes("drop the old keys" if drop_old else "re-encrypt")
            try:
                count = reencrypt_all()
            except crypto.DecryptionError as exc:
                raise CommandError(f"{exc}; nothing was changed.") from None
            if drop_old:
                self._drop_old(count)
            else:
                self.stdout.write(
                    f"Re-encrypted {count} integration(s) with the first key. Last step: "
                    "rotatekeys --drop-old."
                )

    def _check_processes(self, step: str) -> None:
        first = key_fingerprint(settings.FIELD_ENCRYPTION_KEYS[0])
        lagging = lagging_processes(first)
        if lagging:
            raise CommandError(
                f"Cannot {step} yet: these processes still encrypt with an older key than the "
                f"first configured one ({first}): " + "; ".join(lagging) + f". First {RESTART} "
                "so they load the new key, then run this again. A process on a machine that no "
                "longer runs can be forgotten with --forget pid@host."
            )

    def _add(self) -> None:
        if settings.FIELD_ENCRYPTION_KEYS_FROM_ENV:
            raise CommandError(
                "The keys come from FIELD_ENCRYPTION_KEYS in the environment, which this "
                "command cannot change: put the key that --new-key prints first in it on every "
                f"machine (NEW,OLD), {RESTART}, then run rotatekeys."
            )
        keys = list(settings.FIELD_ENCRYPTION_KEYS)
        fresh = crypto.new_key()
        # Newest first; the old keys stay readable so running processes keep working.
        self._write_keys(settings.FIELD_ENCRYPTION_KEYS_FILE, [fresh, *keys])
        settings.FIELD_ENCRYPTION_KEYS = [fresh, *keys]
        self.stdout.write(
            f"Added the key {key_fingerprint(fresh)} first in the key file. Next: {RESTART}, "
            "then run rotatekeys to re-encrypt with it."
        )

    def _drop_old(self, count: int) -> None:
        keys = list(settings.FIELD_ENCRYPTION_KEYS)
        if settings.FIELD_ENCRYPTION_KEYS_FROM_ENV:
            self.stdout.write(
                f"Re-encrypted {count} integration(s) with the first key, and every running "
                "process encrypts with it: remove the older keys from FIELD_ENCRYPTION_KEYS on "
                "every machine and restart the processes."
            )
            return
        self._write_keys(settings.FIELD_ENCRYPTION_KEYS_FILE, keys[:1])
        settings.FIELD_ENCRYPTION_KEYS = keys[:1]
        self.stdout.write(
            f"Re-encrypted {count} integration(s) with the first key; dropped "
            f"{len(keys) - 1} old key(s)."
        )

    def _forget(self, name: str) -> None:
        from crm.models import RunningProcess

        pid, _, host = name.partition("@")
        if not (pid.isascii() and pid.isdigit() and len(pid) <= 10 and host):
            raise CommandError(f"--forget takes pid@host, as the refusal names them, not {name!r}")
        removed = RunningProcess.objects.filter(host=host, pid=int(pid)).delete()[0]
        if not removed:
            raise CommandError(f"No process {pid} on {host} is recorded.")
        self.stdout.write(f"Forgot process {pid} on {host}.")

    @staticmethod
    def _write_keys(path, keys: list[str]) -> None:
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(",".join(keys) + "\n")
        os.replace(temporary, path)
