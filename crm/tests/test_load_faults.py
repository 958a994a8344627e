"""Load with faults: 32 clients against the real server while an import runs and its worker
is killed (SIGKILL) and replaced.

Real processes on loopback: gunicorn serving the app (the Procfile's command) and Celery
workers (threads pool), on the database this test runs on (the suite's SQLite file, or its
PostgreSQL test database) and the suite's broker (a SQLite broker file, or Redis). A fake
Hunter serves a list of leads; the import is started through the API. Meanwhile 32 client
threads with real API tokens (and four with a signed-in session for the pages) read, create,
re-send, change and delete leads. Halfway through the import the worker is killed and a new
one started; the run's lease lapses and the new worker finishes it.

Then: no failed request (no 5xx, no 429, no connection error), no "database is locked" in any
log, every acknowledged create in the database exactly once with its last acknowledged values,
every acknowledged delete gone, and the import complete with each vendor lead exactly once.
The figures go to stdout and to test-artifacts/load-faults-<database>.json.

    .venv/bin/pytest crm/tests/test_load_faults.py -n 0 -s
    scripts/with-services.sh .venv/bin/pytest crm/tests/test_load_faults.py -n 0 -s
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import Lower

from accounts.services import api_token_create
from integrations.models import ExternalLink, SyncRun
from integrations.tests.fakes.hunter import FakeHunter
from leads.models import Company, Lead, Source
from leads.services import lead_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

CLIENTS = 32
USERS = 4  # clients 0-7 act for user 0 (who also runs the import), 8-15 for user 1, ...
LOAD_SECONDS = float(os.environ.get("LOAD_FAULTS_SECONDS", "32"))
VENDOR_LEADS = 6000
SHARED_EVERY = 10  # every 10th vendor lead is already a lead of the importing user's
KILL_AT_SECONDS = 8  # into the load, once the import is writing
HUNTER_KEY = "hunter-load-test-key-0123456789"
PASSWORD = "a-long-load-test-password-42"
STATUSES = ("new", "contacted", "qualified", "converted", "lost")
LEAD_FIELDS = ("email", "first_name", "last_name", "status", "score", "notes", "company_id")


# --- the servers ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


def _service_env(tmp_path: Path) -> dict[str, str]:
    """The environment of the app's processes: this test's database, the suite's broker."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")
        and not key.startswith(("PYTEST_", "DJANGO_"))
    }
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = _with_path(os.environ["DATABASE_URL"], f"/{db['NAME']}")
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if broker.startswith("redis://"):
        # A Redis database of its own, emptied (the worker-crash test uses 15).
        import redis

        broker = _with_path(broker, "/14")
        redis.Redis.from_url(broker).flushdb()
        env["CELERY_BROKER_URL"] = broker
    # else: the embedded default, a SQLite broker file in DATA_DIR.
    if os.environ.get("CACHE_URL"):
        env["CACHE_URL"] = os.environ["CACHE_URL"]
    env.update(
        DJANGO_SETTINGS_MODULE="crm.tests.server_settings",
        DATA_DIR=str(tmp_path / "data"),
        API_RATE_LIMIT="1000000/min",  # the clients, not the limiter, are under test
        LOG_LEVEL="INFO",
        SYNC_LEASE_SECONDS="3",
        SYNC_REQUEUE_AFTER="2",
        SYNC_RETRY_DELAY="1",
        PYTHONUNBUFFERED="1",
    )
    return env


class Process:
    """A server process in a session (process group) of its own, its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log = logs / f"{name}.log"
        self._file = self.log.open("wb")
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        self._file.close()

    def stop(self, grace: float = 10) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=grace)
        self.kill()

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def _gunicorn(env: dict[str, str], port: int, logs: Path) -> Process:
    # The Procfile's web command.
    return Process(
        "gunicorn",
        [sys.executable, "-m", "gunicorn", "crm.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "4", "--access-logfile", "-", "--graceful-timeout", "4"],
        env,
        logs,
    )  # fmt: skip


def _worker(env: dict[str, str], logs: Path, n: int) -> Process:
    # The Procfile's worker command, with fewer threads: one run is all there is to do.
    return Process(
        f"worker-{n}",
        [sys.executable, "-m", "celery", "-A", "crm", "worker", "--pool", "threads",
         "--concurrency", "4", "--loglevel", "INFO", "--hostname", f"load{n}@%h"],
        env,
        logs,
    )  # fmt: skip


def _wait_until_up(base: str, server: Process, deadline: float) -> None:
    while True:
        assert server.popen.poll() is None, f"gunicorn exited:\n{server.text()[-3000:]}"
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, f"gunicorn did not answer:\n{server.text()[-3000:]}"
        time.sleep(0.2)


# --- the clients ------------------------------------------------------------------------------


@dataclass
class Expected:
    """What the server acknowledged about one lead a client created."""

    values: dict[str, Any]
    custom_attributes: dict[str, str]
    patches: int = 0


@dataclass
class LoadClient:
    index: int
    base: str
    token: str
    company_ids: list[int]
    deadline: float
    session_cookies: dict[str, str] | None = None
    # Leads the import will merge into (same emails as vendor records), this client's to
    # change while the import writes them; id → {field: last acknowledged value}.
    shared: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Where each shared lead comes in the import (the vendor serves newest first), and how
    # far the import has got (kept current by the test): the client changes leads close to
    # the page being written, where a lost update would happen.
    shared_rank: dict[int, int] = field(default_factory=dict)
    progress: list[int] = field(default_factory=lambda: [0])
    counts: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # requests that failed
    wrong: list[str] = field(default_factory=list)  # answers contradicting acknowledged writes
    created: dict[int, Expected] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    resent: list[str] = field(default_factory=list)  # emails POSTed twice
    seen_ids: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.index)
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {self.token}"
        self.web: requests.Session | None = None
        if self.session_cookies is not None:
            self.web = requests.Session()
            self.web.cookies.update(self.session_cookies)
        self.serial = 0

    # One request; anything but an expected status (or an exception) is a failure.
    def call(
        self, kind: str, method: str, path: str, expect: tuple[int, ...] = (200,), **kwargs: Any
    ) -> requests.Response | None:
        http = self.web if kind.startswith("page") else self.api
        assert http is not None
        started = time.monotonic()
        try:
            response = http.request(method, f"{self.base}{path}", timeout=30, **kwargs)
        except requests.RequestException as exc:
            self.counts[kind] += 1
            self.failures.append(f"{kind} {method} {path}: {exc!r}")
            return None
        self.latencies.append(time.monotonic() - started)
        self.counts[kind] += 1
        self.statuses[response.status_code] += 1
        if response.status_code not in expect:
            self.failures.append(
                f"{kind} {method} {path}: {response.status_code} {response.text[:300]!r}"
            )
            return None
        return response

    def run(self) -> None:
        try:
            while time.monotonic() < self.deadline:
                self.step()
        except Exception as exc:  # a bug in the test's own client must not pass silently
            self.failures.append(f"client {self.index} crashed: {exc!r}")

    def step(self) -> None:
        roll = self.rng.random()
        if self.shared and self.rng.random() < 0.4:
            self.patch_shared()
        elif self.web is not None and roll < 0.35:
            self.page()
        elif roll < 0.55:
            self.list_leads()
        elif roll < 0.62:
            self.stats()
        elif roll < 0.70:
            self.get_one()
        elif roll < 0.85:
            self.create()
        elif roll < 0.95:
            self.patch()
        else:
            self.delete()

    def _alive(self) -> list[int]:
        return [lead_id for lead_id in self.created if lead_id not in self.deleted]

    def list_leads(self) -> None:
        params: dict[str, Any] = {"limit": self.rng.choice([10, 50, 200])}
        for name, value in (
            ("status", self.rng.choice(STATUSES)),
            ("min_score", self.rng.randint(0, 50)),
            ("max_score", self.rng.randint(50, 100)),
            ("q", self.rng.choice(["ali", "load", "acme", "martin", "c1"])),
            ("company_id", self.rng.choice(self.company_ids)),
            ("created_after", date.today().isoformat()),
        ):
            if self.rng.random() < 0.25:
                params[name] = value
        response = self.call("list", "GET", "/v1/leads", params=params)
        if response is None:
            return
        body = response.json()
        # Imported leads are never deleted: safe to read again (another client's own lead
        # may be gone by then).
        imported = [lead["id"] for lead in body["data"] if not lead["email"].endswith(".test")]
        self.seen_ids = imported[:20] or self.seen_ids
        if body["next_cursor"] is not None and self.rng.random() < 0.5:
            self.call("list", "GET", "/v1/leads", params={**params, "cursor": body["next_cursor"]})

    def stats(self) -> None:
        params = {"status": self.rng.choice(STATUSES)} if self.rng.random() < 0.3 else {}
        self.call("stats", "GET", "/v1/leads/stats", params=params)

    def get_one(self) -> None:
        candidates = self._alive() + self.seen_ids + list(self.shared)
        if not candidates:
            return self.list_leads()
        lead_id = self.rng.choice(candidates)
        response = self.call("get", "GET", f"/v1/leads/{lead_id}")
        if response is not None and lead_id in self.created:
            self._check(lead_id, response.json())
        if response is not None and lead_id in self.shared:
            self._check_shared(lead_id, response.json())

    def create(self) -> None:
        self.serial += 1
        email = f"c{self.index}-{self.serial}@load.test"
        body = {
            "company_id": self.rng.choice(self.company_ids),
            "email": email,
            "first_name": f"Load{self.index}",
            "last_name": f"N{self.serial}",
            "status": self.rng.choice(STATUSES),
            "score": self.rng.randint(0, 100),
            "notes": f"created by client {self.index}",
            "custom_attributes": {"client": str(self.index), "serial": str(self.serial)},
        }
        response = self.call("create", "POST", "/v1/leads", expect=(201,), json=body)
        if response is None:
            return
        lead = response.json()
        self.created[lead["id"]] = Expected(
            {name: body[name] for name in LEAD_FIELDS}, dict(body["custom_attributes"])
        )
        self._check(lead["id"], lead)
        if self.rng.random() < 0.2:
            # The same request sent again (a client that never saw the answer): refused on
            # the email, and the lead stays there once.
            again = self.call("create-resent", "POST", "/v1/leads", expect=(400,), json=body)
            if again is not None:
                if "email" not in again.json():
                    self.wrong.append(f"resent create not refused on email: {again.text}")
                self.resent.append(email)

    def patch(self) -> None:
        alive = self._alive()
        if not alive:
            return self.create()
        lead_id = self.rng.choice(alive)
        changes: dict[str, Any] = {}
        if self.rng.random() < 0.6:
            changes["status"] = self.rng.choice(STATUSES)
        if self.rng.random() < 0.6:
            changes["score"] = self.rng.randint(0, 100)
        if self.rng.random() < 0.5:
            changes["notes"] = f"patch {self.rng.random():.6f} by {self.index}"
        if self.rng.random() < 0.3:
            changes["custom_attributes"] = {"client": str(self.index), "p": str(self.serial)}
        if not changes:
            changes["first_name"] = f"Patched{self.index}"
        response = self.call("patch", "PATCH", f"/v1/leads/{lead_id}", json=changes)
        if response is None:
            return
        expected = self.created[lead_id]
        for name, value in changes.items():
            if name == "custom_attributes":
                expected.custom_attributes = dict(value)
            else:
                expected.values[name] = value
        expected.patches += 1
        self._check(lead_id, response.json())

    def patch_shared(self) -> None:
        """Change a lead the import is merging into, in fields an import never overwrites:
        a closed status, a score set by hand, notes that are not empty."""
        at = self.progress[0]
        near = [lead_id for lead_id in self.shared if -50 <= self.shared_rank[lead_id] - at < 250]
        lead_id = self.rng.choice(near or list(self.shared))
        changes: dict[str, Any] = {}
        if self.rng.random() < 0.6:
            changes["status"] = self.rng.choice(("converted", "lost"))
        if self.rng.random() < 0.6:
            changes["score"] = self.rng.randint(0, 100)
        if self.rng.random() < 0.5 or not changes:
            self.serial += 1
            changes["notes"] = f"shared note {self.serial} by {self.index}"
        response = self.call("patch-shared", "PATCH", f"/v1/leads/{lead_id}", json=changes)
        if response is None:
            return
        self.shared[lead_id].update(changes)
        self._check_shared(lead_id, response.json())

    def delete(self) -> None:
        alive = self._alive()
        if not alive:
            return self.create()
        lead_id = self.rng.choice(alive)
        if self.call("delete", "DELETE", f"/v1/leads/{lead_id}", expect=(204,)) is not None:
            self.deleted.add(lead_id)
            self.call("get-deleted", "GET", f"/v1/leads/{lead_id}", expect=(404,))

    def page(self) -> None:
        alive = self._alive()
        paths = ["/", "/leads/", "/leads/?status=qualified", "/board/", "/dashboard/"]
        paths += ["/companies/", f"/companies/{self.rng.choice(self.company_ids)}/"]
        if alive:
            paths.append(f"/leads/{self.rng.choice(alive)}/")
        self.call("page", "GET", self.rng.choice(paths))

    def _check(self, lead_id: int, lead: dict[str, Any]) -> None:
        expected = self.created[lead_id]
        got = {name: lead[name] for name in LEAD_FIELDS}
        if got != expected.values or lead["custom_attributes"] != expected.custom_attributes:
            self.wrong.append(f"lead {lead_id} answered {lead}, expected {expected}")

    def _check_shared(self, lead_id: int, lead: dict[str, Any]) -> None:
        want = self.shared[lead_id]
        got = {name: lead[name] for name in want}
        if got != want:
            self.wrong.append(f"shared lead {lead_id} answered {got}, acknowledged {want}")


def _sign_in(base: str, username: str) -> dict[str, str]:
    """Sign in through the login page, as a browser does; the session's cookies."""
    web = requests.Session()
    web.get(f"{base}/accounts/login/", timeout=30).raise_for_status()
    response = web.post(
        f"{base}/accounts/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": web.cookies["csrftoken"],
        },
        timeout=30,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    return dict(web.cookies)


# --- the test ---------------------------------------------------------------------------------


def _run(run_id: int) -> SyncRun:
    return SyncRun.objects.get(pk=run_id)


def test_32_clients_an_import_and_a_killed_worker(tmp_path, django_user_model):
    started = time.monotonic()
    vendor = connection.vendor
    logs = tmp_path / "logs"
    logs.mkdir()
    env = _service_env(tmp_path)

    werkzeug_log = logging.getLogger("werkzeug")
    werkzeug_level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)  # no line per vendor request
    fake = FakeHunter().start()
    fake.rate_limits = []
    fake.add_account(HUNTER_KEY)
    list_id = fake.add_list(HUNTER_KEY, "Load test")
    fake.seed(HUNTER_KEY, VENDOR_LEADS, list_id=list_id)
    # Paced (3 pages of 100 a second) so that the import lasts through most of the load.
    env.update(HUNTER_API_URL=fake.url, HUNTER_RATE_LIMIT="3/s")

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _gunicorn(env, port, logs)
    workers = [_worker(env, logs, 1)]
    processes = [server, *workers]
    try:
        users = []
        tokens: dict[int, list[str]] = {}
        companies: dict[int, list[int]] = {}
        for n in range(USERS):
            user = django_user_model.objects.create_user(f"load{n}", password=PASSWORD)
            users.append(user)
            tokens[user.pk] = [
                api_token_create(user=user, name=f"client {i}")[1] for i in range(CLIENTS // USERS)
            ]
            companies[user.pk] = [
                Company.objects.create(
                    user=user, name=f"Company {n}-{i}", domain=f"c{n}-{i}.test"
                ).pk
                for i in range(4)
            ]
        # Leads with the emails of every SHARED_EVERY-th vendor record: the import merges
        # into them while the clients change them.
        shared_ids = []
        shared_rank = {}
        with transaction.atomic():
            for i in range(0, VENDOR_LEADS, SHARED_EVERY):
                email = FakeHunter._seed_email(i)
                if email:
                    lead = lead_create(
                        user=users[0],
                        company=Company.objects.get(pk=companies[users[0].pk][0]),
                        data={"email": email},
                        source=Source.API,
                    )
                    shared_ids.append(lead.pk)
                    shared_rank[lead.pk] = VENDOR_LEADS - 1 - i
        _wait_until_up(base, server, time.monotonic() + 30)
        cookies = {user.pk: _sign_in(base, user.username) for user in users}

        # The import, started through the API as a client would.
        importer = requests.Session()
        importer.headers["Authorization"] = f"Bearer {tokens[users[0].pk][0]}"
        made = importer.post(
            f"{base}/v1/integrations",
            json={
                "provider": "hunter",
                "credentials": {"api_key": HUNTER_KEY},
                "settings": {"import_list_id": list_id},
            },
            timeout=30,
        )
        assert made.status_code == 201, made.text
        queued = importer.post(f"{base}/v1/integrations/{made.json()['id']}/import", timeout=30)
        assert queued.status_code == 202, queued.text
        run_id = queued.json()["id"]

        progress = [0]
        load_started = time.monotonic()
        startup_seconds = load_started - started
        deadline = load_started + LOAD_SECONDS
        clients = []
        for i in range(CLIENTS):
            user = users[i // (CLIENTS // USERS)]
            clients.append(
                LoadClient(
                    index=i,
                    base=base,
                    token=tokens[user.pk][i % (CLIENTS // USERS)],
                    company_ids=companies[user.pk],
                    deadline=deadline,
                    session_cookies=cookies[user.pk] if i % (CLIENTS // USERS) == 0 else None,
                    shared={
                        lead_id: {}
                        for lead_id in shared_ids[i :: CLIENTS // USERS]
                        if user == users[0]
                    },
                    shared_rank=shared_rank,
                    progress=progress,
                )
            )
        threads = [threading.Thread(target=client.run, daemon=True) for client in clients]
        for thread in threads:
            thread.start()

        # The fault: once the import is well under way (and the clients at full speed), kill
        # its worker outright and start another.
        kills = []
        while time.monotonic() < deadline:
            run = _run(run_id)
            progress[0] = run.processed
            if not kills and run.processed and time.monotonic() - load_started > KILL_AT_SECONDS:
                assert run.state == "running", run.state
                workers[-1].kill()
                kills.append(
                    {
                        "at_seconds": round(time.monotonic() - load_started, 1),
                        "processed_at_kill": _run(run_id).processed,
                    }
                )
                workers.append(_worker(env, logs, len(workers) + 1))
                processes.append(workers[-1])
            time.sleep(0.2)
        for thread in threads:
            thread.join(timeout=40)
        load_seconds = time.monotonic() - load_started
        assert not any(thread.is_alive() for thread in threads), "a client hung"

        # The import goes on after the load if it must; it should be done or nearly so.
        finish_by = time.monotonic() + 40
        while _run(run_id).state in ("queued", "running"):
            assert time.monotonic() < finish_by, f"import still {_run(run_id).state}"
            time.sleep(0.2)
        import_seconds = (_run(run_id).finished_at - _run(run_id).started_at).total_seconds()
    finally:
        for process in processes:
            process.stop()
        fake.stop()
        werkzeug_log.setLevel(werkzeug_level)

    # --- what the server acknowledged is what the database holds ----------------------------
    failures = [failure for client in clients for failure in client.failures]
    wrong_answers = [answer for client in clients for answer in client.wrong]
    counts = sum((client.counts for client in clients), Counter())
    statuses = sum((client.statuses for client in clients), Counter())
    log_text = {process.name: process.text() for process in processes}
    locked = {
        name: len(re.findall(r"database is locked", text, re.IGNORECASE))
        for name, text in log_text.items()
    }
    tracebacks = {name: text.count("Traceback") for name, text in log_text.items()}
    access_5xx = len(re.findall(r'" 5\d\d ', log_text["gunicorn"]))
    retries = sum(text.count("retry in") for name, text in log_text.items() if "worker" in name)

    expected = {lead_id: e for c in clients for lead_id, e in c.created.items()}
    deleted = {lead_id for c in clients for lead_id in c.deleted}
    stored = {
        lead["id"]: lead
        for lead in Lead.objects.filter(email__endswith="@load.test").values(
            "id", "custom_attributes", *[n for n in LEAD_FIELDS if n != "company_id"], "company_id"
        )
    }
    mismatched = []
    for lead_id, want in expected.items():
        if lead_id in deleted:
            continue
        got = stored.get(lead_id)
        if got is None:
            mismatched.append(f"lead {lead_id} acknowledged but missing")
            continue
        values = {name: got[name] for name in LEAD_FIELDS}
        if values != want.values or got["custom_attributes"] != want.custom_attributes:
            mismatched.append(f"lead {lead_id}: stored {got}, acknowledged {want}")
    shared_wanted = {lead_id: want for c in clients for lead_id, want in c.shared.items() if want}
    shared_stored = Lead.objects.in_bulk(list(shared_wanted))
    for lead_id, want in shared_wanted.items():
        got = {name: getattr(shared_stored[lead_id], name) for name in want}
        if got != want:
            mismatched.append(f"shared lead {lead_id}: stored {got}, acknowledged {want}")
    resurrected = sorted(deleted & set(stored))
    unexpected = sorted(set(stored) - set(expected))
    twice = list(
        Lead.objects.filter(email__endswith="@load.test")
        .values("user_id", "email")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )

    run = _run(run_id)
    importer_user = users[0]
    links = ExternalLink.objects.filter(integration_id=run.integration_id)
    linked_leads = Lead.objects.filter(pk__in=links.values("lead_id"))
    vendor_emails = {
        email.lower()
        for i in range(VENDOR_LEADS)
        if (email := FakeHunter._seed_email(i)) is not None
    }
    imported_emails = Counter(
        linked_leads.exclude(email="").annotate(e=Lower("email")).values_list("e", flat=True)
    )
    duplicate_emails = list(
        Lead.objects.filter(user=importer_user)
        .exclude(email="")
        .values(e=Lower("email"))
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )

    summary = {
        "database": vendor,
        "clients": CLIENTS,
        "startup_seconds": round(startup_seconds, 1),
        "load_seconds": round(load_seconds, 1),
        "total_seconds": round(time.monotonic() - started, 1),
        "requests": sum(counts.values()),
        "requests_per_second": round(sum(counts.values()) / load_seconds, 1),
        "requests_by_kind": dict(sorted(counts.items())),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "failed_requests": len(failures),
        "answers_contradicting_acknowledged_writes": len(wrong_answers),
        "latency_p50_ms": _percentile(clients, 0.50),
        "latency_p99_ms": _percentile(clients, 0.99),
        "database_is_locked": sum(locked.values()),
        "server_5xx_in_access_log": access_5xx,
        "tracebacks_in_logs": sum(tracebacks.values()),
        "writes_verified": {
            "creates": len(expected),
            "creates_resent_and_refused": sum(len(c.resent) for c in clients),
            "patches": sum(e.patches for e in expected.values()),
            "leads_patched_during_their_import": len(shared_wanted),
            "deletes": len(deleted),
            "mismatched": len(mismatched),
            "resurrected": len(resurrected),
            "unacknowledged_rows": len(unexpected),
            "stored_twice": len(twice),
        },
        "worker_kills": len(kills),
        "kills": kills,
        "import": {
            "state": run.state,
            "vendor_leads": VENDOR_LEADS,
            "processed": run.processed,
            "created": run.created,
            "updated": run.updated,
            "failed": run.failed,
            "attempts": run.attempts,
            "transient_retries": retries,
            "leads_linked": linked_leads.count(),
            "seconds": round(import_seconds, 1),
        },
    }
    line = json.dumps(summary)
    print(f"\nLOAD-FAULTS {line}")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"load-faults-{vendor}.json").write_text(json.dumps(summary, indent=2) + "\n")

    assert failures == [], failures[:20]
    assert wrong_answers == [], wrong_answers[:20]
    assert locked == dict.fromkeys(log_text, 0), locked
    assert tracebacks == dict.fromkeys(log_text, 0), {
        name: text[text.find("Traceback") :][:3000]
        for name, text in log_text.items()
        if "Traceback" in text
    }
    assert access_5xx == 0
    assert mismatched == [], mismatched[:10]
    assert resurrected == []
    assert unexpected == []
    assert twice == []
    assert len(expected) > 100 and len(deleted) > 10 and summary["writes_verified"]["patches"] > 50
    assert counts["page"] > 20

    assert len(kills) == 1, "the import finished before the worker could be killed"
    assert kills[0]["processed_at_kill"] < VENDOR_LEADS
    # Every vendor lead exactly once, counted once; picked up again exactly once (a retry
    # for a busy database would show as a third attempt).
    assert (run.state, run.processed, run.created, run.updated, run.failed) == (
        "succeeded",
        VENDOR_LEADS,
        VENDOR_LEADS - len(shared_ids),
        len(shared_ids),
        0,
    ), run.__dict__
    assert run.attempts == 2 and retries == 0, (run.attempts, retries)
    assert links.count() == links.values("vendor_id").distinct().count() == VENDOR_LEADS
    assert linked_leads.count() == VENDOR_LEADS
    assert set(imported_emails) == vendor_emails
    assert max(imported_emails.values()) == 1
    assert duplicate_emails == []


def _percentile(clients: list[LoadClient], q: float) -> float:
    values = sorted(v for client in clients for v in client.latencies)
    if not values:
        return 0.0
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)
