"""Which processes run on this install's SQLite database, and keeping restore away from them.

Every web, worker and beat process holds a *shared* lock on ``DATA_DIR/processes.lock`` for
its lifetime and leaves a note of who it is in ``DATA_DIR/processes/``. ``manage.py restore``
needs the *exclusive* lock: while any of them runs it refuses and names them, because a running
process keeps its open database file and would go on writing into the one the restore set
aside (a split database). A process starting during a restore waits for it to finish.

PostgreSQL installs restore with pg_restore, and none of this applies.

On both databases every process also records itself, with the fingerprints of the encryption
keys it loaded, in ``RunningProcess`` (``announce``): ``rotatekeys`` reads that to refuse a step
of a key rotation that a running process is not ready for.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import fcntl
import hashlib
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from crm.ids import ascii_digits

logger = logging.getLogger(__name__)

LOCK_FILE = "processes.lock"
NOTES_DIR = "processes"

_held: int | None = None


class ProcessesRunning(Exception):
    def __init__(self, notes: list[str]) -> None:
        self.notes = notes
        listed = "; ".join(notes) if notes else "a process that left no note"
        super().__init__(
            f"The web server, worker or beat still run on this database ({listed}). Stop them "
            "first (systemctl stop crm-web crm-worker crm-beat, or stop 'make run'), then "
            "restore, then start them again."
        )


def _lock_fd(data_dir: Path) -> int:
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)


def hold_shared(role: str) -> None:
    """Called once at start by the web server, the worker and beat (SQLite only). Blocks
    while a restore runs."""
    global _held
    if _held is not None or not settings.DATABASE_IS_SQLITE:
        return
    data_dir = Path(settings.DATA_DIR)
    fd = _lock_fd(data_dir)
    fcntl.flock(fd, fcntl.LOCK_SH)
    _held = fd
    notes = data_dir / NOTES_DIR
    notes.mkdir(mode=0o700, exist_ok=True)
    note = notes / str(os.getpid())
    since = dt.datetime.now().isoformat(timespec="seconds")
    note.write_text(f"{role}, pid {os.getpid()} on {socket.gethostname()}, since {since}")
    _at_own_exit(lambda: note.unlink(missing_ok=True))


def _at_own_exit(action) -> None:
    """Run ``action`` when this process exits, not when a child forked from it does (a forked
    gunicorn or Celery child inherits the parent's atexit handlers)."""
    pid = os.getpid()

    def run() -> None:
        if os.getpid() == pid:
            action()

    atexit.register(run)


def key_fingerprint(key: str) -> str:
    """Names a key without revealing it: the start of its SHA-256."""
    return hashlib.sha256(key.strip().encode()).hexdigest()[:12]


def key_set_fingerprints(keys: list[str]) -> str:
    return ",".join(key_fingerprint(key) for key in keys)


def announce(role: str) -> None:
    """Called once at start by the web server, the worker and beat: holds the SQLite lock and
    records this process and its key set in RunningProcess (removed again at exit)."""
    hold_shared(role)
    from crm.models import RunningProcess

    host, pid = socket.gethostname(), os.getpid()
    try:
        forget_dead_here()
        RunningProcess.objects.update_or_create(
            host=host,
            pid=pid,
            defaults={
                "role": role,
                "started_at": timezone.now(),
                "key_fingerprints": key_set_fingerprints(list(settings.FIELD_ENCRYPTION_KEYS)),
            },
        )
    except DatabaseError as exc:  # not migrated yet: rotatekeys cannot see this process
        logger.warning("could not record this %s process for rotatekeys: %s", role, exc)
        return

    def remove() -> None:
        with contextlib.suppress(DatabaseError):
            RunningProcess.objects.filter(host=host, pid=pid).delete()

    _at_own_exit(remove)


def forget_dead_here() -> int:
    """Remove the rows of processes on this machine whose pid no longer runs."""
    from crm.models import RunningProcess

    host = socket.gethostname()
    dead = [
        row.pk
        for row in RunningProcess.objects.filter(host=host).only("pk", "pid")
        if not _alive(row.pid)
    ]
    return RunningProcess.objects.filter(pk__in=dead).delete()[0] if dead else 0


def running_processes():
    """Every recorded process that may still run (dead ones on this machine removed first)."""
    from crm.models import RunningProcess

    forget_dead_here()
    return list(RunningProcess.objects.order_by("host", "started_at", "pid"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_notes(data_dir: Path) -> list[str]:
    """The notes of the processes that still run (stale notes of dead ones are removed)."""
    found = []
    for note in sorted((data_dir / NOTES_DIR).glob("*")):
        if ascii_digits(note.name) and _alive(int(note.name)):
            found.append(note.read_text().strip())
        else:
            note.unlink(missing_ok=True)
    return found


@contextlib.contextmanager
def exclusive(data_dir: Path) -> Iterator[None]:
    """Held while a restore replaces the database; ProcessesRunning if any process runs."""
    fd = _lock_fd(data_dir)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ProcessesRunning(running_notes(data_dir)) from None
        yield
    finally:
        os.close(fd)  # releases the lock
