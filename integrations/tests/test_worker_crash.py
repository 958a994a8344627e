"""A worker killed (SIGKILL) in the middle of an import: a new worker finishes the run with
the same result as an uninterrupted one. Real processes, a fake Hunter on 127.0.0.1, and the
database and broker the suite runs on: the embedded SQLite database and SQLite-backed broker,
or (DATABASE_URL and CELERY_BROKER_URL set) a database of its own on that PostgreSQL server
and a Redis database of its own."""

from __future__ import annotations

import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from integrations.tests.fakes.hunter import FakeHunter

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
KEY = "hunter-crash-test-key-0123456789"
LEADS = 3000

SETUP = """
from django.contrib.auth import get_user_model
from integrations import services
user = get_user_model().objects.create_user("crash")
integration = services.integration_create(
    user=user, provider="hunter", credentials={"api_key": %(key)r},
    settings={"import_list_id": %(list_id)d},
)
run = services.sync_start(integration=integration, direction="import")
print(run.pk)
"""


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


class Database:
    """The workers' database, read here through a plain DB-API connection."""

    def __init__(self, url: str | None, data_dir: Path) -> None:
        self.url = url
        self.sqlite_path = data_dir / "db.sqlite3"

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...]:
        if self.url is None:
            with sqlite3.connect(self.sqlite_path, timeout=30) as conn:
                return conn.execute(sql.replace("%s", "?"), params).fetchone()
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchone()


@contextmanager
def _services(data_dir: Path) -> Iterator[tuple[Database, dict[str, str]]]:
    """A fresh database (and broker) for the workers; its environment variables."""
    db_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    env: dict[str, str] = {}
    created = None
    if broker_url.startswith("redis://"):
        # The last Redis database, emptied: nothing another test queued can reach the workers.
        import redis

        broker_url = _with_path(broker_url, "/15")
        redis.Redis.from_url(broker_url).flushdb()
        env["CELERY_BROKER_URL"] = broker_url
    if db_url.startswith(("postgres://", "postgresql://", "pgsql://")):
        import psycopg

        created = f"crm_crash_{secrets.token_hex(4)}"
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {created}")
        env["DATABASE_URL"] = _with_path(db_url, f"/{created}")
    try:
        yield Database(env.get("DATABASE_URL"), data_dir), env
    finally:
        if created is not None:
            _drop_database(db_url, created)


def _drop_database(db_url: str, name: str) -> None:
    """Drop the workers' database. Not WITH (FORCE): that must terminate every backend in it,
    and an autovacuum worker analysing the fresh leads belongs to no role the test user may
    signal, so the drop failed whenever autovacuum had started. A plain DROP DATABASE stops
    autovacuum workers itself; the killed workers' own connections are ended first, and a
    connection still closing is waited for."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        for attempt in range(20):
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND usename = current_user AND pid <> pg_backend_pid()",
                (name,),
            )
            try:
                conn.execute(f"DROP DATABASE IF EXISTS {name}")
                return
            except psycopg.errors.ObjectInUse:
                if attempt == 19:
                    raise
                time.sleep(0.5)


def _run_state(db: Database, run_id: int) -> tuple[str, int]:
    row = db.query("SELECT state, processed FROM integrations_syncrun WHERE id = %s", (run_id,))
    return row[0], row[1]


def _start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crm", "worker", "--pool", "threads",
         "--concurrency", "2", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def test_killed_worker_leaves_a_run_that_a_new_worker_finishes_exactly(tmp_path):
    with _services(tmp_path) as (db, service_env):
        _crash_and_recover(tmp_path, db, service_env)


def _crash_and_recover(tmp_path: Path, db: Database, service_env: dict[str, str]) -> None:
    fake = FakeHunter().start()
    fake.rate_limits = []
    fake.add_account(KEY)
    list_id = fake.add_list(KEY, "Crash test")
    fake.seed(KEY, LEADS, list_id=list_id)
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "HUNTER_API_URL": fake.url,
        "HUNTER_RATE_LIMIT": "8/s",  # slow enough to be killed in the middle
        "SYNC_LEASE_SECONDS": "3",
        "SYNC_REQUEUE_AFTER": "2",
        "LOG_LEVEL": "WARNING",
        **service_env,
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    created = subprocess.run(
        [*manage, "shell", "-c", SETUP % {"key": KEY, "list_id": list_id}],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    run_id = int(created.stdout.strip().splitlines()[-1])

    first = _start_worker(env)
    second = None
    try:
        deadline = time.monotonic() + 60
        while _run_state(db, run_id)[1] < 600:
            assert time.monotonic() < deadline, "the first worker never got going"
            time.sleep(0.1)
        _kill(first)
        state, processed_at_kill = _run_state(db, run_id)
        assert state == "running"
        assert processed_at_kill < LEADS

        second = _start_worker(env)
        deadline = time.monotonic() + 120
        while _run_state(db, run_id)[0] in ("queued", "running"):
            assert time.monotonic() < deadline, f"run still {_run_state(db, run_id)}"
            time.sleep(0.2)
    finally:
        _kill(first)
        if second is not None:
            _kill(second)
        fake.stop()

    run = db.query(
        "SELECT state, processed, created, updated, unchanged, failed, attempts "
        "FROM integrations_syncrun WHERE id = %s",
        (run_id,),
    )
    (lead_count,) = db.query("SELECT COUNT(*) FROM leads_lead")
    links = db.query(
        "SELECT COUNT(*), COUNT(DISTINCT vendor_id), COUNT(DISTINCT lead_id) "
        "FROM integrations_externallink"
    )
    (events,) = db.query("SELECT COUNT(*) FROM leads_leadevent WHERE from_status IS NULL")
    # The same as an uninterrupted run: every record exactly once, counted exactly once.
    assert run[:6] == ("succeeded", LEADS, LEADS, 0, 0, 0), run
    assert run[6] >= 2  # the run really was picked up again
    assert lead_count == LEADS
    assert links == (LEADS, LEADS, LEADS)
    assert events == LEADS
