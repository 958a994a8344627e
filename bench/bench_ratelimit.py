"""The shared vendor rate limit under load: 4 worker processes, 2 integrations (two API keys)
on ONE fake Instantly workspace whose limit the fake enforces with 429s.

    DATA_DIR=/tmp/crm-rate-bench .venv/bin/python bench/bench_ratelimit.py [--seconds 20]

Each process runs two threads, one per integration, calling POST /leads/list through the real
InstantlyClient as fast as its limiter lets it. Printed: vendor 429s (must be 0), the achieved
rate against the workspace's allowed rate (must be at least 85 %), and the same run with the
old per-process limiter for contrast. Then the cost of one acquire on the configured store
(the SQLite file here; Redis when CACHE_URL is a redis:// URL).

The CRM's limit is set a little under the vendor's, as in production (crm/settings.py keeps
every vendor below its published limit): the fake counts calls when they arrive and the
limiter when they leave, and a few milliseconds of travel would otherwise tip a call over.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATA_DIR", "/tmp/crm-rate-bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

VENDOR_RATE = 40  # calls per second the fake workspace allows
CRM_RATE = 38  # what the CRM's limiter allows itself (95 %)
KEYS = ("bench-key-one-0123456789", "bench-key-two-0123456789")


def _worker(url: str, workspace: str, seconds: float, shared: bool, results) -> None:
    import django

    django.setup()
    from integrations.http import RateLimited, RateLimiter
    from integrations.instantly import InstantlyClient
    from integrations.ratelimit import SharedRateLimiter

    ok = limited = 0
    times: list[float] = []
    refused: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(key: str) -> None:
        nonlocal ok, limited
        # The workspace id is looked up once per integration and kept (providers.client_for);
        # here the parent looked it up before the clock started.
        client = InstantlyClient(key, base_url=url, timeout=(5, 5))
        client.limiter = (
            SharedRateLimiter(f"instantly:{workspace}", [(CRM_RATE, 1.0)])
            if shared
            else RateLimiter([(CRM_RATE, 1.0)])
        )
        while time.monotonic() < deadline:
            try:
                client.fetch_page(None, None)
                with lock:
                    ok += 1
                    times.append(time.time())
            except RateLimited:
                with lock:
                    limited += 1
                    refused.append(time.time())

    threads = [threading.Thread(target=run, args=(key,)) for key in KEYS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put((ok, limited, min(times, default=0.0), max(times, default=0.0), refused[:20]))


def measure(
    url: str, workspace: str, seconds: float, *, shared: bool, processes: int = 4
) -> tuple[int, int, float, list[float]]:
    """(calls answered, calls refused with 429, seconds from the first answer to the last,
    when the first refusals came, in seconds from the first answer)."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(target=_worker, args=(url, workspace, seconds, shared, results))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    totals = [results.get(timeout=seconds + 120) for _ in workers]
    for worker in workers:
        worker.join()
    first = min(t[2] for t in totals if t[0])
    last = max(t[3] for t in totals if t[0])
    refused = sorted(moment - first for t in totals for moment in t[4])
    return sum(t[0] for t in totals), sum(t[1] for t in totals), last - first, refused


def acquire_cost(n: int = 2000) -> float:
    from integrations.ratelimit import SharedRateLimiter

    limiter = SharedRateLimiter(f"bench:{time.time()}", [(10**9, 1.0)])
    started = time.perf_counter()
    for _ in range(n):
        limiter.acquire()
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    data_dir = Path(os.environ["DATA_DIR"])
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)

    import logging

    import django

    django.setup()
    from django.conf import settings

    from integrations.tests.fakes.instantly import FakeInstantly

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    fake = FakeInstantly().start()
    fake.rate_limits = [(VENDOR_RATE, 1.0)]
    for key in KEYS:
        fake.add_account(key, workspace="shared")
    fake.seed(KEYS[0], None, 50)
    from integrations.instantly import InstantlyClient

    workspace = InstantlyClient(KEYS[0], base_url=fake.url).workspace_id()
    time.sleep(1.1)  # that call leaves the fake's window before the measured runs
    store = "SQLite file" if settings.RATE_LIMIT_DB else "Redis"
    print(f"4 processes x 2 integrations on one Instantly workspace, {args.seconds:.0f} s each")
    print(f"vendor limit {VENDOR_RATE}/s (enforced by the fake), CRM limit {CRM_RATE}/s")
    print(f"{'limiter':<28}{'calls':>8}{'vendor 429s':>13}{'calls/s':>10}{'of allowed':>12}")
    for shared, label in ((True, f"shared ({store})"), (False, "per process (before)")):
        ok, limited, span, refused = measure(fake.url, workspace, args.seconds, shared=shared)
        rate = (ok - 1) / span  # calls per second between the first answer and the last
        print(f"{label:<28}{ok:>8,}{limited:>13,}{rate:>10.1f}{rate / VENDOR_RATE:>11.0%}")
        if refused and shared:
            print("  first refusals at (s):", ", ".join(f"{t:.2f}" for t in refused[:10]))
        time.sleep(1.1)
    print(f"one acquire on the {store}: {acquire_cost():.0f} us")
    fake.stop()


if __name__ == "__main__":
    main()
