"""manage.py backup while leads are being written, and manage.py restore into a fresh DATA_DIR."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from crm import backup
from integrations import services as integration_services
from leads.models import Source
from leads.services import lead_create
from leads.tests.factories import CompanyFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hk_backup_canary_0123456789abcdef"
SEEDED = 20_000

pytestmark = pytest.mark.django_db(transaction=True)
sqlite_only = pytest.mark.skipif(
    not settings.DATABASE_IS_SQLITE, reason="backs up SQLite; PostgreSQL uses pg_dump"
)


def _manage(data_dir: Path, *args: str, code: str | None = None) -> subprocess.CompletedProcess:
    """manage.py (or Python ``code``) in another process whose install lives in ``data_dir``."""
    # Only DATA_DIR says where the install is: no database URL or keys from this environment.
    unset = {"DATABASE_URL", "FIELD_ENCRYPTION_KEYS", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="crm.settings")
    command = ["-c", code] if code else ["manage.py", *args]
    return subprocess.run(
        [sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


class Writer(threading.Thread):
    """Creates leads through the service, one transaction each, until stopped."""

    def __init__(self, user, company) -> None:
        super().__init__(daemon=True)
        self.user, self.company = user, company
        self.committed: list[tuple[int, float]] = []  # (lead id, when its commit returned)
        self.error: BaseException | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            n = 0
            while not self.stop.is_set():
                lead = lead_create(
                    user=self.user,
                    company=self.company,
                    data={"email": f"writer{n}@example.com", "first_name": f"W{n}"},
                    source=Source.API,
                )
                self.committed.append((lead.pk, time.monotonic()))
                n += 1
        except BaseException as exc:
            self.error = exc
        finally:
            connection.close()

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 60
        while len(self.committed) < count and self.error is None:
            assert time.monotonic() < deadline, "the writer is stuck"
            time.sleep(0.005)


@sqlite_only
def test_backup_while_writing_then_restore_into_a_fresh_data_dir(tmp_path):
    call_command(
        "seedleads",
        "--leads",
        str(SEEDED),
        "--users",
        "1",
        "--companies",
        "50",
        "--no-analyze",  # a database without planner statistics, as many are
        stdout=io.StringIO(),
    )
    owner = UserFactory(username="writer")
    company = CompanyFactory(user=owner)
    integration = integration_services.integration_create(
        user=owner, provider="hunter", credentials={"api_key": SECRET}, settings={}
    )

    writer = Writer(owner, company)
    writer.start()
    writer.wait_for(50)
    committed_before = {pk for pk, _ in list(writer.committed)}
    started = time.monotonic()
    out = io.StringIO()
    call_command("backup", str(tmp_path / "backup"), stdout=out)
    finished = time.monotonic()
    writer.wait_for(len(writer.committed) + 50)  # and it carries on after the backup
    writer.stop.set()
    writer.join(30)
    assert writer.error is None
    during = [pk for pk, at in writer.committed if started <= at <= finished]
    print(
        f"backup took {(finished - started) * 1000:.0f} ms; the writer committed "
        f"{len(committed_before)} leads before it, {len(during)} during it and "
        f"{len(writer.committed)} in all"
    )
    assert "with the encryption keys" in out.getvalue()
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert set(manifest["files"]) == {"db.sqlite3", "field_encryption_keys"} | (
        {"secret_key"} if (Path(settings.DATA_DIR) / "secret_key").exists() else set()
    )
    assert "0001_initial" in manifest["migrations"]["leads"]
    assert (tmp_path / "backup").stat().st_mode & 0o777 == 0o700

    # Restore into a new, empty DATA_DIR in another process, as on a new machine.
    fresh = tmp_path / "fresh"
    result = _manage(fresh, "restore", str(tmp_path / "backup"))
    assert result.returncode == 0, result.stderr
    assert "1 stored credential(s) decrypt with the restored keys" in result.stdout

    with closing(sqlite3.connect(fresh / "db.sqlite3")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        restored = {
            pk for (pk,) in db.execute("SELECT id FROM leads_lead WHERE user_id = ?", (owner.pk,))
        }
        total = db.execute("SELECT count(*) FROM leads_lead").fetchone()[0]
        without_history = db.execute(
            "SELECT count(*) FROM leads_lead l WHERE NOT EXISTS "
            "(SELECT 1 FROM leads_leadevent e WHERE e.lead_id = l.id)"
        ).fetchone()[0]
        search_rows = db.execute("SELECT count(*) FROM leads_lead_search").fetchone()[0]
        # The restore gave the planner statistics for the leads' indexes.
        analyzed = db.execute(
            "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'leads_lead'"
        ).fetchone()[0]
    assert analyzed > 0
    # Every lead committed before the backup began is there...
    assert committed_before <= restored
    # ...and the copy is one moment of the database: a prefix of the writer's leads, each with
    # its history entry and its search row (all written in the lead's transaction).
    written = sorted(pk for pk, _ in writer.committed)
    assert restored == {pk for pk in written if pk <= max(restored)}
    assert total == SEEDED + len(restored)
    assert without_history == 0
    assert search_rows == total
    print(f"restored {len(restored)} of the writer's leads ({total} in all)")

    # The app in the fresh DATA_DIR reads the credentials with the restored keys.
    assert (fresh / "field_encryption_keys").read_text().strip() == ",".join(
        settings.FIELD_ENCRYPTION_KEYS
    )
    read = _manage(
        fresh,
        code=(
            "import django, json; django.setup(); from integrations import crypto; "
            "from integrations.models import Integration; "
            f"print(json.dumps(crypto.decrypt_json(Integration.objects.get(pk={integration.pk})"
            ".credentials_encrypted)))"
        ),
    )
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout.strip().splitlines()[-1]) == {"api_key": SECRET}

    # A second restore refuses to replace that database, unless told to.
    again = _manage(fresh, "restore", str(tmp_path / "backup"))
    assert again.returncode != 0
    assert "already holds a database" in again.stderr
    assert "--force" in again.stderr
    forced = _manage(fresh, "restore", "--force", str(tmp_path / "backup"))
    assert forced.returncode == 0, forced.stderr
    assert list(fresh.glob("db.sqlite3.before-restore-*"))


@pytest.fixture
def made_backup(tmp_path) -> Path:
    integration_services.integration_create(
        user=UserFactory(), provider="hunter", credentials={"api_key": SECRET}, settings={}
    )
    path = tmp_path / "backup"
    call_command("backup", str(path), stdout=io.StringIO())
    return path


def _refused(path: Path, match: str) -> None:
    with pytest.raises(backup.BackupError, match=match):
        backup.backup_verify(path)


@sqlite_only
def test_missing_or_corrupt_backups_are_refused_with_a_reason(made_backup, tmp_path):
    backup.backup_verify(made_backup)  # intact
    _refused(tmp_path / "nowhere", "no backup directory")
    (made_backup / "manifest.json").rename(tmp_path / "manifest.json")
    _refused(made_backup, "has no manifest.json: not a backup, or one that did not finish")
    (made_backup / "manifest.json").write_text("{not json")
    _refused(made_backup, "corrupt")
    (tmp_path / "manifest.json").rename(made_backup / "manifest.json")
    database = made_backup / "db.sqlite3"
    intact = database.read_bytes()
    damaged = bytearray(intact)
    damaged[len(damaged) // 2] ^= 0xFF
    database.write_bytes(bytes(damaged))
    _refused(made_backup, r"db.sqlite3 is corrupt: its checksum does not match")
    database.write_bytes(intact[:-4096])
    _refused(made_backup, r"db.sqlite3 is corrupt")
    database.write_bytes(intact)
    (made_backup / "field_encryption_keys").unlink()
    _refused(made_backup, "missing field_encryption_keys")


@sqlite_only
def test_restore_refuses_keys_that_cannot_read_the_credentials(made_backup, tmp_path):
    from integrations import crypto

    manifest = json.loads((made_backup / "manifest.json").read_text())
    keys = made_backup / "field_encryption_keys"
    keys.write_text(crypto.new_key() + "\n")  # a consistent backup, but with the wrong key
    manifest["files"]["field_encryption_keys"] = {
        "bytes": keys.stat().st_size,
        "sha256": backup._sha256(keys),
    }
    (made_backup / "manifest.json").write_text(json.dumps(manifest))
    result = _manage(tmp_path / "fresh", "restore", str(made_backup))
    assert result.returncode != 0
    assert "1 stored credential(s) cannot be decrypted with the backup's keys" in result.stderr
    assert not (tmp_path / "fresh" / "db.sqlite3").exists()


@sqlite_only
def test_backup_needs_a_new_or_empty_directory(made_backup):
    with pytest.raises(CommandError, match="not an empty directory"):
        call_command("backup", str(made_backup))


def test_postgresql_is_pointed_at_pg_dump(monkeypatch, tmp_path):
    monkeypatch.setattr(connection, "vendor", "postgresql")
    with pytest.raises(CommandError, match="pg_dump --format=custom"):
        call_command("backup", str(tmp_path / "b"))
    # A dump holds no planner statistics: the restore is followed by an ANALYZE.
    with pytest.raises(CommandError, match=r"pg_restore .* then vacuumdb --analyze-only"):
        call_command("restore", str(tmp_path / "b"))


@sqlite_only
def test_restore_refuses_while_a_process_runs_on_the_database(made_backup, tmp_path):
    """A running process keeps its open database file: restoring under it splits the data
    (security review, issue 14 item 6). The web server, worker and beat hold a shared lock;
    restore needs the exclusive one and names what runs."""
    target = tmp_path / "live"
    unset = {"DATABASE_URL", "FIELD_ENCRYPTION_KEYS", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(DATA_DIR=str(target), DJANGO_SETTINGS_MODULE="crm.settings")
    code = (
        "import time, django; django.setup(); from crm.running import hold_shared; "
        "hold_shared('web'); print('ready', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        refused = _manage(target, "restore", str(made_backup))
        assert refused.returncode != 0
        assert f"still run on this database (web, pid {holder.pid} on" in refused.stderr
        assert not (target / "db.sqlite3").exists()
    finally:
        holder.terminate()
        holder.wait(timeout=30)
    restored = _manage(target, "restore", str(made_backup))
    assert restored.returncode == 0, restored.stderr
    assert (target / "db.sqlite3").exists()


@sqlite_only
def test_the_worker_and_beat_hold_the_lock_from_their_start_signals(tmp_path):
    code = (
        "import django; django.setup(); from pathlib import Path; from django.conf import "
        "settings; from celery import signals; import crm.celery; "
        "signals.worker_init.send(sender=None); "
        "from crm.running import running_notes; print(running_notes(Path(settings.DATA_DIR)))"
    )
    result = _manage(tmp_path / "worker", code=code)
    assert result.returncode == 0, result.stderr
    assert "worker, pid" in result.stdout
