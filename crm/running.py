"""Which processes run on this install's SQLite database, and keeping restore away from them.

Every web, worker and beat process holds a *shared* lock on ``DATA_DIR/processes.lock`` for
its lifetime and leaves a note of who it is in ``DATA_DIR/processes/``. ``manage.py restore``
needs the *exclusive* lock: while any of them runs it refuses and names them, because a running
process keeps its open database file and would go on writing into the one the restore set
aside (a split database). A process starting during a restore waits for it to finish.

PostgreSQL installs restore with pg_restore, and none of this applies.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import fcntl
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from crm.ids import ascii_digits

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
    atexit.register(note.unlink, missing_ok=True)


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
