"""A worker killed (SIGKILL) in the middle of an import: a new worker finishes the run with
the same result as an uninterrupted one. Real processes, the embedded SQLite database and the
SQLite-backed broker, a fake Hunter on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

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


def _run_state(db: Path, run_id: int) -> tuple[str, int]:
    with sqlite3.connect(db, timeout=30) as conn:
        row = conn.execute(
            "SELECT state, processed FROM integrations_syncrun WHERE id = ?", (run_id,)
        ).fetchone()
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
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    created = subprocess.run(
        [*manage, "shell", "-c", SETUP % {"key": KEY, "list_id": list_id}],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    run_id = int(created.stdout.strip().splitlines()[-1])
    db = tmp_path / "db.sqlite3"

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

    with sqlite3.connect(db) as conn:
        run = conn.execute(
            "SELECT state, processed, created, updated, unchanged, failed, attempts "
            "FROM integrations_syncrun WHERE id = ?",
            (run_id,),
        ).fetchone()
        leads = conn.execute("SELECT COUNT(*), COUNT(DISTINCT search_text) FROM leads_lead")
        lead_count, _ = leads.fetchone()
        links = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT vendor_id), COUNT(DISTINCT lead_id) "
            "FROM integrations_externallink"
        ).fetchone()
        events = conn.execute(
            "SELECT COUNT(*) FROM leads_leadevent WHERE from_status IS NULL"
        ).fetchone()[0]
    # The same as an uninterrupted run: every record exactly once, counted exactly once.
    assert run[:6] == ("succeeded", LEADS, LEADS, 0, 0, 0), run
    assert run[6] >= 2  # the run really was picked up again
    assert lead_count == LEADS
    assert links == (LEADS, LEADS, LEADS)
    assert events == LEADS
