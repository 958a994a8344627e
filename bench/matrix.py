"""The whole benchmark: SQLite and PostgreSQL, 10,000 / 100,000 / 1,000,000 leads, one table.

    .venv/bin/python bench/matrix.py                 # what `make bench` runs
    .venv/bin/python bench/matrix.py --sizes 10000 --backends sqlite --requests 30   # quick

For each database and size it loads the data set (``seedleads``: 10 users, a company per 50
leads), then runs bench/latency.py (each case beside its no-framework baseline, in the same
process, alternately), then serves the app with gunicorn and loads ``GET /v1/leads`` with
32 concurrent connections for a bounded time with wrk. Once per database it runs
bench/bench_sync.py (import and export against the local fakes). PostgreSQL and Redis are
throwaway servers started by scripts/with-services.sh with their durable defaults.

The table goes to stdout and, with the raw figures, to bench/results/ (not committed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    print("  $", " ".join(cmd[1:] if cmd[0] == PYTHON else cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, env=env, check=True, **kwargs)


def manage(env: dict[str, str], *args: str) -> None:
    run([PYTHON, "manage.py", *args], env)


def load(env: dict[str, str], *, seconds: int, connections: int) -> dict:
    """Requests per second of GET /v1/leads through gunicorn, with wrk on loopback."""
    if shutil.which("wrk") is None:
        return {"error": "wrk is not installed (apt-get install wrk)"}
    token = subprocess.run(
        [PYTHON, "manage.py", "createapitoken", "bench1", "--name", "load"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    port = free_port()
    workers = str(os.cpu_count() or 2)
    server = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "crm.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            workers,
            "--threads",
            "4",
            "--log-level",
            "warning",
            "--no-control-socket",
            # As deploy/systemd/crm-web.service: a socket per worker, so the 32 keep-alive
            # connections spread over the workers instead of all landing on one.
            "--reuse-port",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}/v1/leads"
        header = f"Authorization: Bearer {token}"
        # The master listens at once; wait until a worker has booted and answers.
        deadline = time.monotonic() + 60
        while True:
            try:
                request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        # Warm every worker's connection and caches, then measure.
        subprocess.run(["wrk", "-t2", "-c8", "-d2s", "-H", header, url], capture_output=True)
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", header, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}
    return {
        "rps": rps,
        "requests": total,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "none",
        "p50_ms": float(p50.group(1)) * scale[p50.group(2)] if p50 else None,
        "workers": int(workers),
        "connections": connections,
        "seconds": seconds,
    }


# What every benchmark serves with (bench/paired.py's checkouts too): quiet logs, loopback,
# no rate limit, plain HTTP.
RUN_SETTINGS = {
    "LOG_LEVEL": "WARNING",
    "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "API_RATE_LIMIT": "100000000/min",
    "SECURE_SSL_REDIRECT": "0",
    "SECURE_COOKIES": "0",
}


def seed_arguments(size: int) -> list[str]:
    """manage.py's command and options that load a data set of ``size`` leads: 10 users, a
    company per 50 leads (bench/paired.py seeds both its checkouts with them too)."""
    companies = str(max(size // 50, 100))
    return ["seedleads", "--leads", str(size), "--users", "10", "--companies", companies, "--reset"]


def bench_backend(backend: str, args: argparse.Namespace, base: Path) -> dict:
    env = dict(os.environ)
    env.update(RUN_SETTINGS, DATA_DIR=str(base / backend), PYTHONPATH=str(ROOT))
    if backend == "sqlite":
        for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"):
            env.pop(name, None)
    elif "DATABASE_URL" not in env:
        raise SystemExit("postgresql needs DATABASE_URL (matrix.py starts it for itself)")
    result: dict = {"backend": backend, "sizes": {}}
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    manage(env, "createcachetable")
    for size in args.sizes:
        print(f"\n== {backend}, {size:,} leads", flush=True)
        started = time.perf_counter()
        manage(env, *seed_arguments(size))
        seeded = time.perf_counter() - started
        out = base / f"{backend}-{size}.json"
        run(
            [
                PYTHON,
                "bench/latency.py",
                "--requests",
                str(args.requests),
                "--max-seconds",
                str(args.max_seconds),
                "--json",
                str(out),
            ],
            env,
        )
        latency = json.loads(out.read_text())
        rps = load(env, seconds=args.load_seconds, connections=32)
        print(f"  load: {rps}", flush=True)
        result["sizes"][size] = {"seed_seconds": seeded, "latency": latency, "load": rps}
    if args.sync_leads:
        sync_env = dict(env, DATA_DIR=str(base / f"{backend}-sync"))
        out = base / f"{backend}-sync.json"
        run(
            [PYTHON, "bench/bench_sync.py", "--leads", str(args.sync_leads), "--json", str(out)],
            sync_env,
        )
        result["sync"] = json.loads(out.read_text())
    return result


def case_name(name: str) -> str:
    """Older result files name cases with the data set's own values (the term, the page)."""
    name = re.sub(r"q=\S+", "q, a common term", name)
    return re.sub(r"page [\d,]+ by cursor", "deep page by cursor", name)


def table(results: list[dict], args: argparse.Namespace) -> str:
    for r in results:
        for size in r["sizes"].values():
            for row in size["latency"]["rows"]:
                row["case"] = case_name(row["case"])
    lines = []
    sizes = args.sizes
    head = "| case | " + " | ".join(
        f"{r['backend']} {s // 1000:,}k p50 / p95 (baseline) x" for r in results for s in sizes
    )
    lines.append(head + " |")
    lines.append("|---|" + "---:|" * (len(results) * len(sizes)))
    names = [row["case"] for row in results[0]["sizes"][sizes[0]]["latency"]["rows"]]
    for name in names:
        cells = []
        for r in results:
            for s in sizes:
                rows = {x["case"]: x for x in r["sizes"][s]["latency"]["rows"]}
                x = rows.get(name)
                cells.append(
                    f"{x['p50']:.2f} / {x['p95']:.2f} ({x['base_p50']:.2f}) x{x['ratio']:.1f}"
                    if x
                    else "—"
                )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    cells = []
    for r in results:
        for s in sizes:
            load = r["sizes"][s]["load"]
            cells.append(
                f"{load['rps']:,.0f} req/s, {load['non_2xx']} errors"
                if "rps" in load
                else load.get("error", "—")
            )
    lines.append("| GET /v1/leads, 32 clients (wrk) | " + " | ".join(cells) + " |")
    cells = [f"{r['sizes'][s]['seed_seconds']:.0f} s" for r in results for s in sizes]
    lines.append("| seeding (seedleads) | " + " | ".join(cells) + " |")
    lines.append("")
    if any("sync" in r for r in results):
        lines.append(f"Import and export, {args.sync_leads:,} leads, local fakes:")
        lines.append("")
        lines.append("| step | " + " | ".join(r["backend"] for r in results if "sync" in r) + " |")
        lines.append("|---|" + "---:|" * sum("sync" in r for r in results))
        steps = [row["step"] for row in next(r for r in results if "sync" in r)["sync"]["rows"]]
        for step in steps:
            cells = []
            for r in results:
                if "sync" not in r:
                    continue
                row = next(x for x in r["sync"]["rows"] if x["step"] == step)
                cells.append(f"{row['rate']:,.0f} leads/s ({row['peak_mb']:+.0f} MB)")
            lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a whole run, which bench/compare.py and bench/paired.py take too."""
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    # 300: a p50 of 100 requests moved by up to 5 % between runs of the same code.
    parser.add_argument("--requests", type=int, default=300, help="timed requests per case")
    parser.add_argument("--load-seconds", type=int, default=10, help="wrk seconds per size")
    parser.add_argument("--sync-leads", type=int, default=100_000, help="0 skips import/export")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_run_arguments(parser)
    parser.add_argument("--max-seconds", type=float, default=15.0, help="time budget per case")
    parser.add_argument("--data", help="working folder (default: a new temporary one)")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--table-from", help="only print the table of an earlier run's JSON")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    if args.table_from:
        results = json.loads(Path(args.table_from).read_text())
        for r in results:
            r["sizes"] = {int(k): v for k, v in r["sizes"].items()}
        print(table(results, args))
        return
    backends = args.backends.split(",")

    base = Path(args.data or tempfile.mkdtemp(prefix="crm-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    if "postgresql" in backends and not args.inner:
        # Re-run this script for PostgreSQL inside throwaway servers, durable as in production.
        others = [b for b in backends if b != "postgresql"]
        results = [bench_backend(b, args, base) for b in others]
        argv = [
            f"--sizes={','.join(map(str, args.sizes))}",
            f"--requests={args.requests}",
            f"--max-seconds={args.max_seconds}",
            f"--load-seconds={args.load_seconds}",
            f"--sync-leads={args.sync_leads}",
        ]
        env = dict(os.environ, SERVICES_DURABLE="1")
        subprocess.run(
            [
                str(ROOT / "scripts" / "with-services.sh"),
                PYTHON,
                __file__,
                *argv,
                "--backends",
                "postgresql",
                "--data",
                str(base),
                "--inner",
            ],
            cwd=ROOT,
            env=env,
            check=True,
        )
        inner = json.loads((base / "postgresql-result.json").read_text())
        inner["sizes"] = {int(k): v for k, v in inner["sizes"].items()}  # JSON keys are text
        results.append(inner)
    else:
        results = [bench_backend(b, args, base) for b in backends]
        if args.inner:
            (base / "postgresql-result.json").write_text(json.dumps(results[0]))
            return

    text = table(results, args)
    machine = (
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    )
    print("\n" + machine + "\n\n" + text)
    RESULTS.mkdir(exist_ok=True)
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}"
    (RESULTS / f"{stamp}.md").write_text(machine + "\n\n" + text + "\n")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(results, indent=1))
    if not args.data:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
