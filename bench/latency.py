"""Server latency of the API and the main pages, each beside a no-framework baseline.

    DATA_DIR=... [DATABASE_URL=...] .venv/bin/python bench/latency.py --json out.json

Run against a database loaded by ``manage.py seedleads`` (bench/matrix.py does both). Each case
is timed in-process as bench1, by calling the WSGI application the way gunicorn does (all
middleware, URL routing, authentication, throttle, validation, queries, rendering) with no
network in the way and without django.test.Client's own bookkeeping (it records every
template rendered and keeps the request on the response).

The baseline of a case is the same database work without the framework: the data statements
the request ran (recorded once through ``connection.execute_wrapper``; the token, session and
user look-ups left out) replayed through the bare driver (sqlite3 or psycopg), with the rows
turned into dicts and ``json.dumps``. Writes replay inside BEGIN/COMMIT, a POST with a new
email each time. The two are timed alternately, request by request, so both see the same
machine; the ratio says what everything but the data costs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# Thousands of requests a minute, in-process over plain HTTP: no throttle, no HTTPS redirect.
os.environ.setdefault("API_RATE_LIMIT", "100000000/min")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECURE_COOKIES", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.services import api_token_create  # noqa: E402
from crm.wsgi import application  # noqa: E402
from leads.models import Lead  # noqa: E402

WARMUP = 5
PAGE_SIZE = 50
DEEP_PAGE = 1000
# Statements that belong to authentication, not to the data a case asks for.
NOT_DATA = ("accounts_apitoken", "django_session", '"auth_user"')
# Transaction control: the replay brackets writes itself.
CONTROL = ("BEGIN", "SAVEPOINT", "RELEASE", "COMMIT", "ROLLBACK")


@dataclass
class Row:
    case: str
    n: int
    p50: float
    p95: float
    base_p50: float
    base_p95: float
    statements: int

    @property
    def ratio(self) -> float:
        return self.p50 / self.base_p50 if self.base_p50 else float("nan")


def _pct(timings: list[float], q: float) -> float:
    ordered = sorted(timings)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


@dataclass
class Answer:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


class WsgiClient:
    """Requests straight into the WSGI application, as a WSGI server makes them."""

    def __init__(self, **headers: str) -> None:
        self.headers = headers

    def request(self, method: str, url: str, body: bytes = b"", content_type: str = "") -> Answer:
        path, _, query = url.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            **self.headers,
        }
        if body:
            environ["CONTENT_LENGTH"] = str(len(body))
            environ["CONTENT_TYPE"] = content_type
        status: list[str] = []
        chunks = application(environ, lambda line, headers, exc_info=None: status.append(line))
        try:
            content = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        return Answer(int(status[0].split()[0]), content)

    def get(self, url: str) -> Answer:
        return self.request("GET", url)

    def post(self, url: str, data: Any, content_type: str) -> Answer:
        return self.request("POST", url, json.dumps(data).encode(), content_type)

    def patch(self, url: str, data: Any, content_type: str) -> Answer:
        return self.request("PATCH", url, json.dumps(data).encode(), content_type)


class Recorder:
    """Keeps the statements a request runs, as the driver receives them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, bool]] = []

    def __call__(self, execute, sql, params, many, context):
        self.calls.append((sql, params, many))
        return execute(sql, params, many, context)

    def data(self) -> list[tuple[str, Any, bool]]:
        return [
            c
            for c in self.calls
            if not any(word in c[0] for word in NOT_DATA)
            and not c[0].lstrip().upper().startswith(CONTROL)
        ]


class RawDriver:
    """The same database through its bare driver: no ORM, no connection wrapper."""

    def __init__(self) -> None:
        db = settings.DATABASES["default"]
        self.vendor = connection.vendor
        if self.vendor == "sqlite":
            self.conn = sqlite3.connect(str(db["NAME"]), isolation_level=None)
            # The same pragmas as the app's own connections (crm/settings.py).
            for pragma in db.get("OPTIONS", {}).get("init_command", "").split(";"):
                if pragma.strip():
                    self.conn.execute(pragma)
        else:
            import psycopg

            self.conn = psycopg.connect(
                host=db["HOST"] or None,
                port=db["PORT"] or None,
                dbname=db["NAME"],
                user=db["USER"],
                password=db["PASSWORD"],
                autocommit=True,
                cursor_factory=psycopg.ClientCursor,  # client-side binding, as Django does
                # The same session settings as the app's connections (crm/settings.py).
                options=db.get("OPTIONS", {}).get("options", ""),
            )

    def sql(self, text: str) -> str:
        if self.vendor == "sqlite":
            return re.sub(r"(?<!%)%s", "?", text).replace("%%", "%")
        return text

    def run(self, statements: list[tuple[str, Any, bool]], *, write: bool = False) -> bytes:
        """Run the statements and serialise every row they return, as a view would."""
        return self.run_with(lambda _i, params: params, statements, write=write)

    def run_with(
        self,
        change: Callable[[int, list[Any]], list[Any]],
        statements: list[tuple[str, Any, bool]],
        *,
        write: bool = False,
        on_rows: Callable[[int, list[Any]], None] | None = None,
    ) -> bytes:
        out: list[Any] = []
        cursor = self.conn.cursor()
        if write:
            cursor.execute("BEGIN IMMEDIATE" if self.vendor == "sqlite" else "BEGIN")
        try:
            for i, (sql, params, many) in enumerate(statements):
                if many:
                    cursor.executemany(self.sql(sql), params)
                    continue
                cursor.execute(self.sql(sql), change(i, list(params or ())))
                if cursor.description:
                    rows = cursor.fetchall()
                    if on_rows:
                        on_rows(i, rows)
                    names = [d[0] for d in cursor.description]
                    out.extend(dict(zip(names, row, strict=True)) for row in rows)
        except BaseException:
            if write:
                cursor.execute("ROLLBACK")
            raise
        if write:
            cursor.execute("COMMIT")
        return json.dumps({"data": out}, default=str).encode()


class Bench:
    def __init__(self, requests: int, max_seconds: float) -> None:
        self.requests = requests
        self.max_seconds = max_seconds
        self.raw = RawDriver()
        self.rows: list[Row] = []

    def record(self, send: Callable[[], Any]) -> list[tuple[str, Any, bool]]:
        recorder = Recorder()
        with connection.execute_wrapper(recorder):
            response = send()
        assert response.status_code in (200, 201), (response.status_code, response.content[:300])
        return recorder.data()

    def case(
        self,
        name: str,
        send: Callable[[], Any],
        baseline: Callable[[], bytes] | None = None,
        *,
        write: bool = False,
    ) -> Row:
        statements = self.record(send)
        if baseline is None:

            def baseline() -> bytes:
                return self.raw.run(statements, write=write)

        for _ in range(WARMUP):
            send()
            baseline()
        ours: list[float] = []
        base: list[float] = []
        deadline = time.perf_counter() + self.max_seconds
        while len(ours) < self.requests and (len(ours) < 20 or time.perf_counter() < deadline):
            t0 = time.perf_counter()
            response = send()
            t1 = time.perf_counter()
            baseline()
            t2 = time.perf_counter()
            assert response.status_code in (200, 201), (name, response.status_code)
            ours.append(t1 - t0)
            base.append(t2 - t1)
        row = Row(
            name,
            len(ours),
            _pct(ours, 0.5),
            _pct(ours, 0.95),
            _pct(base, 0.5),
            _pct(base, 0.95),
            len(statements),
        )
        self.rows.append(row)
        print(
            f"  {name:<28} p50 {row.p50:8.2f} ms  baseline {row.base_p50:7.2f} ms"
            f"  x{row.ratio:5.1f}  ({row.n} requests, {row.statements} statements)",
            flush=True,
        )
        return row


def list_cases(user) -> dict[str, dict[str, Any]]:
    """The filters of the table, with values taken from bench1's own data."""
    leads = Lead.objects.filter(user=user)
    first = leads.order_by("id").values("created_at").first()
    last = leads.order_by("-id").values("created_at").first()
    middle = first["created_at"] + (last["created_at"] - first["created_at"]) / 2
    month_start = middle.date().replace(day=1)
    month_end = month_start.replace(day=28)
    sample = leads.order_by("-id").values("status", "company_id", "score", "last_name").first()
    recent = leads.order_by("-id").values_list("last_name", flat=True)[:2000]
    common = statistics.mode(recent).lower()[:4]
    return {
        "list: no filter": {},
        "list: status": {"status": "qualified"},
        "list: score 50-100": {"min_score": 50, "max_score": 100},
        "list: one month": {
            "created_after": month_start.isoformat(),
            "created_before": month_end.isoformat(),
        },
        "list: all filters": {
            "status": sample["status"],
            "company_id": sample["company_id"],
            "min_score": max(0, sample["score"] - 20),
            "max_score": min(100, sample["score"] + 20),
            "created_after": (last["created_at"].date().replace(day=1)).isoformat(),
            "q": sample["last_name"].lower()[:4],
        },
        # The most common 4-letter start of a recent last name: many matches, the hard case.
        "list: q (common term)": {"q": common},
    }


def deep_cursor(user, owners: list[int] | None = None) -> tuple[int, int]:
    """The cursor of page DEEP_PAGE (or of the last full page of a smaller data set) of the
    leads of ``owners`` (a manager's team), by default the user's own."""
    leads = Lead.objects.filter(user__in=owners or [user.pk])
    total = leads.count()
    page = max(1, min(DEEP_PAGE, total // PAGE_SIZE - 1))
    ids = leads.order_by("-id").values_list("id", flat=True)
    return page, ids[(page - 1) * PAGE_SIZE - 1] if page > 1 else ids[0] + 1


def signed_in_clients(user, name: str) -> tuple[Any, WsgiClient, WsgiClient]:
    """(the API token to delete afterwards, an API client with it, a signed-in page client)."""
    token, raw = api_token_create(user=user, name=name)
    api = WsgiClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    login = Client()
    login.force_login(user)
    session = login.cookies[settings.SESSION_COOKIE_NAME].value
    web = WsgiClient(HTTP_COOKIE=f"{settings.SESSION_COOKIE_NAME}={session}")
    return token, api, web


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # 300: a p50 of 100 requests moved by up to 5 % between runs of the same code.
    parser.add_argument("--requests", type=int, default=300, help="timed requests per case")
    parser.add_argument("--max-seconds", type=float, default=15.0, help="time budget per case")
    parser.add_argument("--json", help="write the rows here as JSON")
    parser.add_argument(
        "--pages-only",
        action="store_true",
        help="only the leads list page (/leads/) with each filter set of the list cases",
    )
    args = parser.parse_args()

    user = get_user_model().objects.filter(username="bench1").first()
    if user is None:
        raise SystemExit("No user bench1: run manage.py seedleads first (see bench/README.md)")
    token, api, web = signed_in_clients(user, "bench")
    bench = Bench(args.requests, args.max_seconds)
    total = Lead.objects.filter(user=user).count()
    print(f"{connection.vendor}: bench1 has {total:,} leads; {args.requests} requests per case")
    try:
        # The web list page (/leads/) with the same filter sets: what a person waits for.
        page_cases = {
            name.replace("list:", "leads page:"): params
            for name, params in list_cases(user).items()
        }
        for name, params in page_cases.items():
            url = f"/leads/?{urlencode(params)}" if params else "/leads/"
            bench.case(name, lambda url=url: web.get(url))
        if not args.pages_only:
            for name, params in list_cases(user).items():
                url = f"/v1/leads?{urlencode(params)}" if params else "/v1/leads"
                if "q" in params:
                    print(f"  ({name}: {url})")
                bench.case(name, lambda url=url: api.get(url))
            page, cursor = deep_cursor(user)
            print(f"  (deep page: page {page:,}, cursor {cursor})")
            bench.case("list: deep page by cursor", lambda: api.get(f"/v1/leads?cursor={cursor}"))

            company_id = Lead.objects.filter(user=user).values_list("company_id", flat=True).first()
            created: list[int] = []

            def post():
                body = {"email": f"bench-{uuid.uuid4().hex}@example.com", "company_id": company_id}
                body |= {"first_name": "Bench", "last_name": "Lead", "score": 10}
                response = api.post("/v1/leads", body, content_type="application/json")
                if response.status_code == 201:
                    created.append(response.json()["id"])
                return response

            statements = bench.record(post)
            bench.case("POST /v1/leads", post, _insert_replay(bench.raw, statements), write=True)

            target = Lead.objects.filter(user=user).order_by("-id").values_list("id", flat=True)[10]
            scores = iter(range(10**9))

            def patch():
                body = {"score": next(scores) % 100, "notes": "benchmark"}
                return api.patch(f"/v1/leads/{target}", body, content_type="application/json")

            bench.case("PATCH /v1/leads/{id}", patch, write=True)
            bench.case("board", lambda: web.get("/board/"))
            bench.case("dashboard", lambda: web.get("/dashboard/"))
    finally:
        token.delete()
        Lead.objects.filter(email__startswith="bench-", email__endswith="@example.com").delete()

    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "vendor": connection.vendor,
                    "leads_of_user": total,
                    "rows": [asdict(r) | {"ratio": r.ratio} for r in bench.rows],
                },
                indent=1,
            )
        )


def _insert_replay(raw: RawDriver, statements: list[tuple[str, Any, bool]]) -> Callable[[], bytes]:
    """The POST's statements with a new email each time, and the new lead's id where the
    recorded one was used (its history entry)."""
    email = next(
        p for _, params, _ in statements for p in (params or ()) if isinstance(p, str) and "@" in p
    )
    inserted_at = next(i for i, (sql, _, _) in enumerate(statements) if sql.startswith("INSERT"))
    recorded_id = Lead.objects.get(email=email).id

    def run() -> bytes:
        new_email = f"bench-{uuid.uuid4().hex}@example.com"
        new_id: list[Any] = []

        def change(i: int, params: list[Any]) -> list[Any]:
            params = [email_text(p, email, new_email) for p in params]
            if new_id and i > inserted_at:
                params = [new_id[0] if p == recorded_id else p for p in params]
            return params

        def on_rows(i: int, rows: list[Any]) -> None:
            if i == inserted_at:
                new_id.append(rows[0][0])

        return raw.run_with(change, statements, write=True, on_rows=on_rows)

    return run


def email_text(value: Any, old: str, new: str) -> Any:
    """The value with the recorded email replaced: the email itself, or the search text."""
    return value.replace(old, new) if isinstance(value, str) and old in value else value


if __name__ == "__main__":
    main()
