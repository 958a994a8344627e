"""Two checkouts measured in alternation, request round by request round, with every ratio.

    .venv/bin/python bench/paired.py /path/to/other/checkout [--label-other before]
    .venv/bin/python bench/paired.py ../before --backends sqlite --sizes 10000 --requests 60 \\
        --load-seconds 4 --sync-leads 2000 --sync-runs 1                        # quick

bench/compare.py runs each checkout's bench/matrix.py part, minutes long, one after the other;
this shared 2-core machine's speed moves by more than 10 % within minutes, so one side's part
may meet a faster machine than the other's. Here both checkouts are set up side by side and
take turns at the finest grain each figure allows, so that a drift falls on both alike:

- latency: one worker process per checkout (bench/paired_worker.py, running that checkout's
  code in-process as bench/latency.py does) times the list cases, the deep page, the board
  and the dashboard in rounds of --round requests, the side going first changing every
  round, until each has --requests timings per case;
- requests/s: both checkouts' gunicorn up at once, wrk with 32 connections in slices of
  --load-slice seconds, A B B A A B ..., until each had --load-seconds seconds;
- imports and exports (bench/bench_sync.py), in the 10,000-lead part: --sync-runs runs per
  side, A B B A A B ..., the median rate of each step.

Each checkout runs its own code with its own .venv, working folder and data: its own SQLite
files, or on PostgreSQL (re-run inside scripts/with-services.sh, durable) a database and Redis
database numbers of its own on the same servers. Both seed the same leads (seedleads draws
them from a fixed seed). The writes (POST, PATCH) and the no-framework baseline of
bench/latency.py are left out: this compares two versions of the app with each other.

It prints bench/compare.py's table of the p50s, and one of the p50 and p95 of each side, and
writes both sides' results (compare.py's shape: `compare.py --table-from` reprints them) and
the tables to bench/results/paired-<stamp>.json and .md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.compare import SYNC_SIZE, _checkout_env, add_other_arguments, table  # noqa: E402
from bench.matrix import (  # noqa: E402
    RUN_SETTINGS,
    add_run_arguments,
    case_name,
    free_port,
    seed_arguments,
)

PYTHON = sys.executable
RESULTS = ROOT / "bench" / "results"
WORKER = ROOT / "bench" / "paired_worker.py"
CONNECTIONS = 32
# scripts/with-services.sh gives the broker Redis database 0 and the cache 1; each side gets
# two of its own above those, so neither reads the other's cache or rate-limit counters.
REDIS_DATABASES = {"other": (2, 3), "ours": (4, 5)}  # (cache, broker)


@dataclass
class Side:
    """One checkout, set up for one database: its code, its environment, its data."""

    name: str  # "other" or "ours": the key of its results
    label: str  # what messages call it
    checkout: Path
    env: dict[str, str]
    database: str = ""  # its PostgreSQL database

    @property
    def python(self) -> str:
        return str(self.checkout / ".venv" / "bin" / "python")

    def run(self, *args: str, env: dict[str, str] | None = None) -> None:
        print(f"  [{self.label}] $ {' '.join(args)}", flush=True)
        subprocess.run([self.python, *args], cwd=self.checkout, env=env or self.env, check=True)

    def output(self, *args: str) -> str:
        done = subprocess.run(
            [self.python, *args],
            cwd=self.checkout,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout


def in_turn(sides: list[Side], turns: Iterator[int]) -> list[Side]:
    """Both sides, the first of them changing at every call: A B, B A, A B, ..."""
    return sides if next(turns) % 2 == 0 else sides[::-1]


def side_env(checkout: Path, data_dir: Path, backend: str, database_url: str, name: str) -> dict:
    """As matrix.py's bench_backend, for ``checkout``: its own code, data and databases."""
    env = _checkout_env()
    env.update(
        RUN_SETTINGS,
        DATA_DIR=str(data_dir),
        PYTHONPATH=str(checkout),
        DJANGO_SETTINGS_MODULE="crm.settings",
        # Its own gunicorn and its own Python for whatever a command starts by name.
        PATH=f"{checkout / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    if backend == "sqlite":
        for variable in ("CELERY_BROKER_URL", "CACHE_URL"):
            env.pop(variable, None)
    else:
        env["DATABASE_URL"] = database_url
        cache, broker = REDIS_DATABASES[name]
        for variable, number in (("CACHE_URL", cache), ("CELERY_BROKER_URL", broker)):
            if variable in env:
                env[variable] = urlsplit(env[variable])._replace(path=f"/{number}").geturl()
    return env


def pg_create(admin_url: str, name: str, template: str = "") -> str:
    """A new, empty (or copied) database on the server of ``admin_url``: its URL."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(create)
    return urlsplit(admin_url)._replace(path=f"/{name}").geturl()


def pg_drop(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def settle(sides: list[Side], backend: str) -> None:
    """On PostgreSQL, VACUUM (ANALYZE) both sides' databases once both are seeded, as
    autovacuum would within minutes. Otherwise which side autovacuum had reached when the
    timing began decided for it: rows not yet in the visibility map cost every index-only
    scan a visit to the heap (one side had 80,000 such leads at 1,000,000, the other none),
    and a trigram index's pending list, read whole by every search, is merged by only one
    of the two checkouts' seeding. SQLite has neither."""
    if backend != "postgresql":
        return
    import psycopg

    for side in sides:
        started = time.perf_counter()
        with psycopg.connect(side.env["DATABASE_URL"], autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")
        print(f"  [{side.label}] VACUUM (ANALYZE): {time.perf_counter() - started:.1f} s")


def _pct(timings: list[float], q: float) -> float:
    """As bench/latency.py: the nearest rank, in ms."""
    ordered = sorted(timings)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


# --- Latency ----------------------------------------------------------------------------------


class Worker:
    """A side's bench/paired_worker.py: the URL of each case, then timings on demand."""

    def __init__(self, side: Side) -> None:
        self.side = side
        self.process = subprocess.Popen(
            [side.python, str(WORKER)],
            cwd=side.checkout,
            env=side.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.hello: dict[str, Any] = {}

    def start(self) -> None:
        self.hello = self._answer("while starting")
        # It must time the side's own code, whichever checkout the worker file came from.
        for file in self.hello["files"]:
            if not Path(file).resolve().is_relative_to(self.side.checkout):
                raise SystemExit(f"{self.side.label}: its worker imported {file}, not its own code")

    @property
    def cases(self) -> dict[str, str]:
        return self.hello["cases"]

    def time(self, case: str, count: int) -> list[float]:
        try:
            self.process.stdin.write(f"{case} {count}\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # it died: reading its answer says so
        answer = self._answer(f"in case {case!r}")
        if "error" in answer:
            raise SystemExit(f"{self.side.label}, case {case!r}: {answer['error']}")
        return answer["timings"]

    def _answer(self, doing: str) -> dict[str, Any]:
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            raise SystemExit(
                f"{self.side.label}: its worker died {doing} (exit code {code}; its error is above)"
            )
        return json.loads(line)

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # its end: it deletes its token and exits
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def latency(sides: list[Side], args: argparse.Namespace, turns: Iterator[int]) -> dict[str, dict]:
    """Each case's p50 and p95 per side, both timed in alternating rounds."""
    with contextlib.ExitStack() as stack:
        workers: dict[str, Worker] = {}
        for side in sides:
            workers[side.name] = worker = Worker(side)
            stack.callback(worker.close)
        for worker in workers.values():
            worker.start()
        theirs, mine = workers["other"].cases, workers["ours"].cases
        for case in [c for c in theirs if c not in mine] + [c for c in mine if c not in theirs]:
            print(f"  warning: only one side has the case {case!r}; it is left out")
        cases = [case for case in mine if case in theirs]
        # Both seed the same leads, so the cases' values (a month, a term, a cursor) must agree:
        # different URLs would time different requests.
        differ = [case for case in cases if theirs[case] != mine[case]]
        for case in differ:
            print(
                f"  warning: {case!r} differs: {sides[0].label} {theirs[case]}, "
                f"{sides[1].label} {mine[case]}",
                flush=True,
            )
        if not differ:
            print(f"  (both sides built the same URL for each of the {len(cases)} cases)")
        timings: dict[str, dict[str, list[float]]] = {s.name: {c: [] for c in cases} for s in sides}
        # One untimed round of every case on both sides first: right after a seed of 1,000,000
        # leads the other side's pages may have left the page cache, and the first timed
        # rounds of each case would then measure reading them back (a worker warms each round
        # with 3 requests only).
        for case in cases:
            for side in in_turn(sides, turns):
                workers[side.name].time(case, args.round)
        for case in cases:
            while len(timings["ours"][case]) < args.requests:
                count = min(args.round, args.requests - len(timings["ours"][case]))
                for side in in_turn(sides, turns):
                    timings[side.name][case] += workers[side.name].time(case, count)
            cells = [
                f"{side.label} {_pct(timings[side.name][case], 0.5):7.2f} / "
                f"{_pct(timings[side.name][case], 0.95):7.2f}"
                for side in sides
            ]
            print(f"  {case:<28} p50 / p95 ms: " + "  |  ".join(cells), flush=True)
    return {
        side.name: {
            "vendor": workers[side.name].hello["vendor"],
            "leads_of_user": workers[side.name].hello["leads_of_user"],
            "rows": [
                {
                    "case": case,
                    "n": len(timings[side.name][case]),
                    "p50": _pct(timings[side.name][case], 0.5),
                    "p95": _pct(timings[side.name][case], 0.95),
                    "url": workers[side.name].cases[case],
                }
                for case in cases
            ],
        }
        for side in sides
    }


# --- Requests per second ------------------------------------------------------------------------


def gunicorn(side: Side, port: int) -> subprocess.Popen:
    """The side's own gunicorn, as matrix.py's load() starts it."""
    return subprocess.Popen(
        [
            str(side.checkout / ".venv" / "bin" / "gunicorn"),
            "crm.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(os.cpu_count() or 2),
            "--threads",
            "4",
            "--log-level",
            "warning",
            "--no-control-socket",
            "--reuse-port",  # as deploy/systemd/crm-web.service: the connections spread
        ],
        cwd=side.checkout,
        env=side.env,
    )


def wait_ready(side: Side, server: subprocess.Popen, url: str, token: str) -> None:
    """Until a worker has booted and answers (the master listens at once)."""
    deadline = time.monotonic() + 60
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    while True:
        if server.poll() is not None:
            raise SystemExit(f"{side.label}: gunicorn exited ({server.returncode}) while starting")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{side.label}: gunicorn did not answer {url} within 60 s")
            time.sleep(0.2)


TIME_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def wrk(url: str, token: str, seconds: int) -> dict[str, Any]:
    """One wrk run's requests, its own measured duration, non-2xx, socket errors and p50."""
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", out)
    if done is None:
        raise SystemExit(f"wrk printed no total:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s|m|h)", out)
    return {
        "requests": int(done.group(1)),
        "seconds": float(done.group(2)) * TIME_UNITS[done.group(3)],
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": {k: int(v) for k, v in re.findall(r"(\w+) (\d+)", errors.group(1))}
        if errors
        else {},
        "p50_ms": float(p50.group(1)) * TIME_UNITS[p50.group(2)] * 1000 if p50 else None,
    }


def load(sides: list[Side], args: argparse.Namespace, turns: Iterator[int]) -> dict[str, dict]:
    """Requests per second of GET /v1/leads per side, both servers up, in alternating slices."""
    if shutil.which("wrk") is None:
        return {s.name: {"error": "wrk is not installed (apt-get install wrk)"} for s in sides}
    tokens = {
        side.name: side.output("manage.py", "createapitoken", "bench1", "--name", "load").split()[
            -1
        ]
        for side in sides
    }
    servers: dict[str, subprocess.Popen] = {}
    urls: dict[str, str] = {}
    try:
        for side in sides:
            port = free_port()
            urls[side.name] = f"http://127.0.0.1:{port}/v1/leads"
            servers[side.name] = gunicorn(side, port)
        for side in sides:
            wait_ready(side, servers[side.name], urls[side.name], tokens[side.name])
        for side in sides:  # warm every worker's connection and caches, as matrix.py does
            header = f"Authorization: Bearer {tokens[side.name]}"
            warm = ["wrk", "-t2", "-c8", "-d2s", "-H", header, urls[side.name]]
            subprocess.run(warm, capture_output=True)
        slices: dict[str, list[dict[str, Any]]] = {side.name: [] for side in sides}
        for _ in range(math.ceil(args.load_seconds / args.load_slice)):
            for side in in_turn(sides, turns):
                for each in sides:
                    if servers[each.name].poll() is not None:
                        code = servers[each.name].returncode
                        raise SystemExit(f"{each.label}: its gunicorn exited ({code})")
                slices[side.name].append(wrk(urls[side.name], tokens[side.name], args.load_slice))
    finally:
        for server in servers.values():
            server.terminate()
        for server in servers.values():
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    result = {}
    for side in sides:
        runs = slices[side.name]
        requests = sum(r["requests"] for r in runs)
        seconds = sum(r["seconds"] for r in runs)
        errors: dict[str, int] = {}
        for r in runs:
            for kind, n in r["socket_errors"].items():
                errors[kind] = errors.get(kind, 0) + n
        p50s = [r["p50_ms"] for r in runs if r["p50_ms"] is not None]
        result[side.name] = {
            "rps": requests / seconds,
            "requests": requests,
            "non_2xx": sum(r["non_2xx"] for r in runs),
            "socket_errors": ", ".join(f"{k} {n}" for k, n in errors.items() if n) or "none",
            "p50_ms": statistics.median(p50s) if p50s else None,  # the slices' median p50
            "workers": os.cpu_count() or 2,
            "connections": CONNECTIONS,
            "seconds": seconds,
            "slices": len(runs),
        }
        print(
            f"  load, {side.label}: {result[side.name]['rps']:,.0f} req/s "
            f"({requests:,} in {seconds:.1f} s, {len(runs)} slices), "
            f"{result[side.name]['non_2xx']} non-2xx",
            flush=True,
        )
    return result


# --- Imports and exports ------------------------------------------------------------------------


def sync(
    sides: list[Side], backend: str, args: argparse.Namespace, base: Path, turns: Iterator[int]
) -> dict[str, dict]:
    """bench_sync.py --sync-runs times per side, A B B A ...: each step's median rate."""
    runs: dict[str, list[list[dict]]] = {side.name: [] for side in sides}
    admin_url = os.environ.get("DATABASE_URL", "")
    for number in range(args.sync_runs):
        for side in in_turn(sides, turns):
            # Its own DATA_DIR, as matrix.py (bench_sync.py empties it first); on PostgreSQL a
            # copy of the side's database as this part left it, the database matrix.py's sync
            # runs in, fresh for every run.
            env = dict(side.env, DATA_DIR=str(base / side.name / f"{backend}-sync"))
            if backend == "postgresql":
                env["DATABASE_URL"] = pg_create(
                    admin_url, f"{side.database}_sync", template=side.database
                )
            out = base / side.name / f"{backend}-sync-{number}.json"
            side.run(
                "bench/bench_sync.py", "--leads", str(args.sync_leads), "--json", str(out), env=env
            )
            runs[side.name].append(json.loads(out.read_text())["rows"])
    if backend == "postgresql":
        for side in sides:
            pg_drop(admin_url, f"{side.database}_sync")
    result = {}
    for side in sides:
        rows = []
        for first in runs[side.name][0]:
            same = [row for run in runs[side.name] for row in run if row["step"] == first["step"]]
            rates = [row["rate"] for row in same]
            rows.append(
                first
                | {
                    "rate": statistics.median(rates),
                    "rates": rates,
                    "seconds": statistics.median(row["seconds"] for row in same),
                    "peak_mb": statistics.median(row["peak_mb"] for row in same),
                }
            )
        result[side.name] = {"rows": rows, "runs": len(runs[side.name])}
    return result


# --- One database, both sides -------------------------------------------------------------------


def bench_backend(
    backend: str, args: argparse.Namespace, base: Path, turns: Iterator[int]
) -> dict[str, dict]:
    """Both sides' results for one database, in matrix.py's shape."""
    admin_url = ""
    if backend == "postgresql":
        admin_url = os.environ.get("DATABASE_URL", "")
        if not admin_url:
            raise SystemExit("postgresql needs DATABASE_URL (paired.py starts it for itself)")
    sides = []
    for name, label, checkout in (
        ("other", args.label_other, args.other),
        ("ours", "this checkout", ROOT),
    ):
        database = f"crm_{name}" if admin_url else ""
        url = pg_create(admin_url, database) if admin_url else ""
        env = side_env(checkout, base / name / backend, backend, url, name)
        sides.append(Side(name, label, checkout, env, database))
    results: dict[str, dict] = {s.name: {"backend": backend, "sizes": {}} for s in sides}
    for side in sides:
        side.run("manage.py", "migrate", "--noinput", "--verbosity", "0")
        side.run("manage.py", "createcachetable")
    for size in args.sizes:
        print(f"\n== {backend}, {size:,} leads", flush=True)
        seeded: dict[str, float] = {}
        for side in in_turn(sides, turns):
            started = time.perf_counter()
            side.run("manage.py", *seed_arguments(size))
            seeded[side.name] = time.perf_counter() - started
        settle(sides, backend)
        timed = latency(sides, args, turns)
        rps = load(sides, args, turns)
        for side in sides:
            results[side.name]["sizes"][size] = {
                "seed_seconds": seeded[side.name],
                "latency": timed[side.name],
                "load": rps[side.name],
            }
        if size == SYNC_SIZE and args.sync_leads:
            print(f"\n== {backend}, imports and exports of {args.sync_leads:,} leads", flush=True)
            for name, figures in sync(sides, backend, args, base, turns).items():
                results[name]["sync"] = figures
    if args.sync_leads and SYNC_SIZE not in args.sizes:
        print(f"  (no imports and exports: they run in the {SYNC_SIZE:,}-lead part)")
    return results


# --- Output -------------------------------------------------------------------------------------


def spread(other: list[dict], ours: list[dict], label: str) -> str:
    """Each side's p50 / p95 of every case: the tail that compare.py's table leaves out."""
    columns = [(o, m, size) for o, m in zip(other, ours, strict=True) for size in m["sizes"]]
    lines = [
        f"p50 / p95 in ms ({label} -> this checkout)",
        "",
        "| case | "
        + " | ".join(f"{m['backend']} {int(s) // 1000:,}k" for _, m, s in columns)
        + " |",
        "|---|" + "---:|" * len(columns),
    ]
    cases = list(
        dict.fromkeys(r["case"] for _, m, s in columns for r in m["sizes"][s]["latency"]["rows"])
    )
    for case in cases:
        cells = []
        for o, m, size in columns:
            a = {r["case"]: r for r in o["sizes"][size]["latency"]["rows"]}.get(case)
            b = {r["case"]: r for r in m["sizes"][size]["latency"]["rows"]}.get(case)
            cells.append(
                f"{a['p50']:.2f} / {a['p95']:.2f} -> {b['p50']:.2f} / {b['p95']:.2f}"
                if a and b
                else "—"
            )
        lines.append(f"| {case_name(case)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def method(args: argparse.Namespace) -> str:
    return (
        f"Taken in alternation (bench/paired.py), {args.label_other} and this checkout "
        f"taking turns: latency in rounds of {args.round} requests per side, the side going "
        f"first changing every round, {args.requests} timed requests per case and side; "
        f"requests/s in wrk slices of {args.load_slice} s, A B B A ..., {args.load_seconds} s "
        f"per side; imports and exports {args.sync_runs} run(s) per side, A B B A ..., the "
        "median rate."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_other_arguments(parser)
    add_run_arguments(parser)  # --requests and --load-seconds: per side
    parser.add_argument("--round", type=int, default=30, help="requests per side and turn")
    parser.add_argument("--load-slice", type=int, default=2, help="wrk seconds per turn")
    # Three: one run of the first import of 100,000 leads took 22 to 31 s on the same code
    # within minutes here; the median of two is their mean.
    parser.add_argument("--sync-runs", type=int, default=3, help="bench_sync.py runs per side")
    parser.add_argument("--data", help="working folder, kept (default: a new temporary one)")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.other = args.other.resolve()
    if not (args.other / "manage.py").exists() or not (args.other / ".venv").exists():
        raise SystemExit(f"{args.other}: not a checkout of this project with a .venv")
    if args.other == ROOT:
        raise SystemExit("the other checkout is this one")
    if min(args.requests, args.round, args.load_seconds, args.load_slice, args.sync_runs) < 1:
        raise SystemExit("--requests, --round, --load-seconds, --load-slice, --sync-runs: >= 1")
    backends = args.backends.split(",")
    started = time.monotonic()
    turns = itertools.count()

    if not args.inner:
        for checkout in (args.other, ROOT):  # as `make bench` does first: the pages need them
            python = str(checkout / ".venv" / "bin" / "python")
            collect = [python, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"]
            subprocess.run(collect, cwd=checkout, env=_checkout_env(), check=True)
    base = Path(args.data or tempfile.mkdtemp(prefix="crm-paired-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        if "postgresql" in backends and not args.inner:
            results = [bench_backend(b, args, base, turns) for b in backends if b != "postgresql"]
            # Re-run this script for PostgreSQL inside throwaway servers, durable as in
            # production; both sides get databases of their own on them.
            argv = [
                str(args.other),
                f"--label-other={args.label_other}",
                "--backends=postgresql",
                f"--sizes={','.join(map(str, args.sizes))}",
                f"--requests={args.requests}",
                f"--round={args.round}",
                f"--load-seconds={args.load_seconds}",
                f"--load-slice={args.load_slice}",
                f"--sync-leads={args.sync_leads}",
                f"--sync-runs={args.sync_runs}",
                f"--data={base}",
                "--inner",
            ]
            services = [str(ROOT / "scripts" / "with-services.sh"), PYTHON, __file__, *argv]
            env = dict(os.environ, SERVICES_DURABLE="1")
            if subprocess.run(services, cwd=ROOT, env=env).returncode:
                raise SystemExit("The PostgreSQL part failed (its error is above)")
            results.append(json.loads((base / "postgresql-paired.json").read_text()))
        else:
            results = [bench_backend(b, args, base, turns) for b in backends]
            if args.inner:
                (base / "postgresql-paired.json").write_text(json.dumps(results[0]))
                return
    finally:
        if not args.data:
            shutil.rmtree(base, ignore_errors=True)

    other = [r["other"] for r in results]
    ours = [r["ours"] for r in results]
    for entry in other + ours:  # JSON keys are text
        entry["sizes"] = {int(k): v for k, v in entry["sizes"].items()}
    machine = (
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {args.label_other} is {args.other}"
    )
    text = "\n\n".join(
        [
            machine,
            method(args),
            table(other, ours, args.label_other),
            spread(other, ours, args.label_other),
        ]
    )
    print("\n" + text)
    print(f"\n({(time.monotonic() - started) / 60:.1f} minutes)")
    RESULTS.mkdir(exist_ok=True)
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}"
    saved = {"label": args.label_other, "other": other, "ours": ours, "method": method(args)}
    (RESULTS / f"paired-{stamp}.json").write_text(json.dumps(saved, indent=1))
    (RESULTS / f"paired-{stamp}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
