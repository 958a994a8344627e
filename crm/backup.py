"""Online backup and restore of the embedded SQLite install: the database plus its keys.

A backup is a directory (mode 0700) holding

* ``db.sqlite3``: a consistent copy made with SQLite's online backup API while the web
  server and workers keep writing (the database is in WAL mode, so the copy's read
  transaction and their writes do not wait for each other);
* ``field_encryption_keys``: the keys the vendor credentials are encrypted with (without them
  the credentials in the copy cannot be read), and ``secret_key`` when it was generated into
  DATA_DIR;
* ``manifest.json``, written last: when, which applied migrations, counts, and the size and
  SHA-256 of every file, which ``restore`` checks before it touches anything.

A backup contains the keys: keep it as safe as the keys themselves.

PostgreSQL installs use pg_dump and pg_restore instead (see ``PG_HINT``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import django
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import connection

from crm.bulk import SQLITE_ANALYSIS_LIMIT

FORMAT = 1
MANIFEST = "manifest.json"
DB_FILE = "db.sqlite3"
KEYS_FILE = "field_encryption_keys"
SECRET_FILE = "secret_key"  # noqa: S105  (a file name)

PG_HINT = (
    'pg_dump --format=custom --file=crm.dump --dbname="$DATABASE_URL" to back up, and '
    'pg_restore --clean --if-exists --no-owner --dbname="$DATABASE_URL" crm.dump to restore, '
    'then vacuumdb --analyze-only --dbname="$DATABASE_URL" (a dump holds no planner '
    "statistics); keep FIELD_ENCRYPTION_KEYS with the dump, the credentials cannot be read "
    "without it"
)


class BackupError(Exception):
    """A backup cannot be made or restored; the message says why and what to do."""


@dataclass
class RestoreResult:
    database: Path
    leads: int
    credentials_checked: int
    set_aside: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, replacing any file there at once."""
    temporary = path.with_name(path.name + ".partial")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _sqlite_path() -> Path:
    if connection.vendor != "sqlite":
        raise BackupError(
            f"The database is {connection.vendor}, not the embedded SQLite: use {PG_HINT}."
        )
    return Path(connection.settings_dict["NAME"])


def _scalar(db: sqlite3.Connection, sql: str, default=None):
    try:
        row = db.execute(sql).fetchone()
    except sqlite3.DatabaseError:
        return default
    return default if row is None else row[0]


def _applied_migrations(db: sqlite3.Connection) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in db.execute("SELECT app, name FROM django_migrations ORDER BY id"):
        applied.setdefault(app, []).append(name)
    return applied


def _encrypted_values(db: sqlite3.Connection) -> list[str]:
    try:
        rows = db.execute(
            "SELECT credentials_encrypted, access_token_encrypted FROM integrations_integration"
        ).fetchall()
    except sqlite3.OperationalError:  # no such table: a database from before integrations
        return []
    return [value for row in rows for value in row if value]


def _undecryptable(values: list[str], keys: list[str]) -> int:
    fernet = MultiFernet([Fernet(key.encode()) for key in keys])
    failed = 0
    for value in values:
        try:
            fernet.decrypt(value.encode())
        except InvalidToken:
            failed += 1
    return failed


def _read_keys(text: str) -> list[str]:
    return [key.strip() for key in text.split(",") if key.strip()]


def backup_create(*, destination: Path) -> dict:
    """Copy the live database and its keys into ``destination``; return the manifest."""
    source = _sqlite_path()
    if not source.exists():
        raise BackupError(f"There is no database at {source} to back up.")
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise BackupError(f"{destination} already exists and is not an empty directory.")
    destination.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(destination, 0o700)

    started = dt.datetime.now(dt.UTC)
    partial = destination / (DB_FILE + ".partial")
    with (
        closing(sqlite3.connect(source, timeout=30)) as live,
        closing(sqlite3.connect(partial)) as copy,
    ):
        # One step (pages=-1): the whole copy is read in one read transaction, a snapshot of
        # the last commit before it began. Copying in several steps would restart every time
        # another process commits, which on a busy install may be forever.
        live.backup(copy)
    os.chmod(partial, 0o600)
    with closing(sqlite3.connect(partial, isolation_level=None)) as copy:
        # A single self-contained file: no -wal beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
        check = _scalar(copy, "PRAGMA integrity_check")
        if check != "ok":
            raise BackupError(f"The copy of {source} failed its integrity check: {check}")
        migrations = _applied_migrations(copy)
        counts = {
            "leads": _scalar(copy, "SELECT count(*) FROM leads_lead", 0),
            "integrations": _scalar(copy, "SELECT count(*) FROM integrations_integration", 0),
        }
    os.replace(partial, destination / DB_FILE)

    _write_private(destination / KEYS_FILE, ",".join(settings.FIELD_ENCRYPTION_KEYS) + "\n")
    generated_secret = Path(settings.DATA_DIR) / SECRET_FILE
    if generated_secret.exists():
        _write_private(destination / SECRET_FILE, generated_secret.read_text())

    names = [DB_FILE, KEYS_FILE] + ([SECRET_FILE] if generated_secret.exists() else [])
    manifest = {
        "format": FORMAT,
        "started_at": started.isoformat(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        "source": str(source),
        "api_version": settings.SPECTACULAR_SETTINGS.get("VERSION", ""),
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
        "keys_from_environment": bool(settings.FIELD_ENCRYPTION_KEYS_FROM_ENV),
        "migrations": migrations,
        "counts": counts,
        "files": {
            name: {
                "bytes": (destination / name).stat().st_size,
                "sha256": _sha256(destination / name),
            }
            for name in names
        },
    }
    # Last, so a directory without a manifest is known to be incomplete.
    _write_private(destination / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return manifest


def backup_verify(source: Path) -> dict:
    """The backup's manifest, once every file it lists has the size and checksum it records."""
    if not source.is_dir():
        raise BackupError(f"There is no backup directory at {source}.")
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(
            f"{source} has no {MANIFEST}: not a backup, or one that did not finish."
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise BackupError(f"{source / MANIFEST} is corrupt (not JSON).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source / MANIFEST} is not a backup manifest this version can read.")
    files = manifest.get("files") or {}
    for required in (DB_FILE, KEYS_FILE):
        if required not in files:
            raise BackupError(f"The backup's manifest lists no {required}.")
    for name, expected in files.items():
        path = source / name
        if Path(name).name != name or not path.is_file():
            raise BackupError(f"The backup is missing {name}.")
        if path.stat().st_size != expected.get("bytes") or _sha256(path) != expected.get("sha256"):
            raise BackupError(f"{path} is corrupt: its checksum does not match the manifest.")
    return manifest


def _has_tables(path: Path) -> int:
    if not path.exists() or path.stat().st_size == 0:
        return 0
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return _scalar(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'", 1)
    except sqlite3.DatabaseError:
        return 1  # something is there; never overwrite it silently


def backup_restore(*, source: Path, force: bool = False) -> RestoreResult:
    """Bring a backup back into this install's DATA_DIR (processes stopped first)."""
    target = _sqlite_path()
    manifest = backup_verify(source)
    tables = _has_tables(target)
    if tables and not force:
        raise BackupError(
            f"{target} already holds a database ({tables} tables). Stop the web server and "
            "workers, then pass --force to replace it (the old files are kept beside it)."
        )
    keys = _read_keys((source / KEYS_FILE).read_text())
    if not keys:
        raise BackupError(f"{source / KEYS_FILE} holds no key.")

    # Check the copy in place before anything of the install is touched.
    target.parent.mkdir(parents=True, exist_ok=True)
    incoming = target.with_name(target.name + ".restoring")
    shutil.copyfile(source / DB_FILE, incoming)
    os.chmod(incoming, 0o600)
    try:
        if _sha256(incoming) != manifest["files"][DB_FILE]["sha256"]:
            raise BackupError(f"Copying {source / DB_FILE} to {incoming} corrupted it.")
        with closing(sqlite3.connect(incoming)) as db:
            check = _scalar(db, "PRAGMA integrity_check")
            if check != "ok":
                raise BackupError(f"The backup's database fails its integrity check: {check}")
            encrypted = _encrypted_values(db)
            leads = _scalar(db, "SELECT count(*) FROM leads_lead", 0)
            # Planner statistics for the restored data (the backup may have none): without
            # them SQLite picks poor plans for the list's combined filters. A sampled ANALYZE
            # takes milliseconds even at a million leads.
            db.execute(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
            db.execute("ANALYZE")
            db.commit()
        unreadable = _undecryptable(encrypted, keys)
        if unreadable:
            raise BackupError(
                f"{unreadable} stored credential(s) cannot be decrypted with the backup's keys."
            )
    except BaseException:
        incoming.unlink(missing_ok=True)
        raise

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    result = RestoreResult(database=target, leads=leads, credentials_checked=len(encrypted))

    def set_aside(path: Path) -> None:
        if path.exists():
            kept = path.with_name(f"{path.name}.before-restore-{stamp}")
            os.replace(path, kept)
            result.set_aside.append(kept)

    # The old database's -wal and -shm belong to it: they must not be applied to the new one.
    for suffix in ("", "-wal", "-shm"):
        set_aside(target.with_name(target.name + suffix))
    os.replace(incoming, target)

    restored_files = {KEYS_FILE: Path(settings.FIELD_ENCRYPTION_KEYS_FILE)}
    if SECRET_FILE in manifest["files"]:
        restored_files[SECRET_FILE] = Path(settings.DATA_DIR) / SECRET_FILE
    for name, path in restored_files.items():
        text = (source / name).read_text()
        if path.exists() and path.read_text() != text:
            set_aside(path)
        _write_private(path, text)

    if settings.FIELD_ENCRYPTION_KEYS_FROM_ENV:
        env_keys = list(settings.FIELD_ENCRYPTION_KEYS)
        if _undecryptable(encrypted, env_keys):
            result.warnings.append(
                "FIELD_ENCRYPTION_KEYS in the environment overrides the restored key file and "
                f"cannot read the restored credentials: put the keys from {source / KEYS_FILE} "
                "into it."
            )
    if SECRET_FILE in manifest["files"] and os.environ.get("SECRET_KEY"):
        result.warnings.append(
            "SECRET_KEY in the environment overrides the restored secret_key: sessions made "
            "before the backup end."
        )
    return result
