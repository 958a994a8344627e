"""Time GET /v1/leads (each filter, all filters, a deep page), /stats and /companies in-process.

    DATA_DIR=/tmp/bench-data .venv/bin/python bench/bench_leads.py [--requests 200]

Runs against a database already loaded by ``manage.py seedleads`` and measures the server's
own latency (URL routing, authentication, throttle, filters, query, JSON) through
django.test.Client, with no network or HTTP server in the way. Cases are for user bench1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# Thousands of requests in a few minutes: keep the per-user throttle out of the figures.
os.environ.setdefault("API_RATE_LIMIT", "100000000/min")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.services import api_token_create  # noqa: E402
from leads.models import Company, Lead  # noqa: E402

WARMUP = 5
DEEP_PAGE = 1000
PAGE_SIZE = 50


@dataclass
class Result:
    case: str
    timings: list[float]
    rows: str

    @property
    def p50(self) -> float:
        return statistics.median(self.timings) * 1000

    @property
    def p95(self) -> float:
        ordered = sorted(self.timings)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


class Bench:
    def __init__(self, client: Client, requests: int, max_seconds: float) -> None:
        self.client = client
        self.requests = requests
        self.max_seconds = max_seconds
        self.results: list[Result] = []

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        url = f"{path}?{urlencode(params)}" if params else path
        response = self.client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}: {response.content!r}")
        return response.json()

    def run(
        self,
        case: str,
        path: str,
        params: dict[str, Any] | None = None,
        rows: Callable[[dict[str, Any]], str] = lambda body: str(len(body["data"])),
    ) -> Result:
        body = {}
        for _ in range(WARMUP):
            body = self.get(path, params)
        url = f"{path}?{urlencode(params)}" if params else path
        timings: list[float] = []
        deadline = time.perf_counter() + self.max_seconds
        # At least 20 samples; slow cases stop at the time budget instead of all --requests.
        while len(timings) < self.requests and (
            len(timings) < 20 or time.perf_counter() < deadline
        ):
            t0 = time.perf_counter()
            response = self.client.get(url)
            timings.append(time.perf_counter() - t0)
            assert response.status_code == 200, (url, response.status_code)
        result = Result(case, timings, rows(body))
        self.results.append(result)
        print(f"  {case:<34} p50 {result.p50:8.2f} ms   ({len(timings)} requests)", flush=True)
        return result


def pick_cases(user) -> dict[str, dict[str, Any]]:
    """Filter values taken from bench1's own data, so every case matches what it should."""
    leads = Lead.objects.filter(user=user)
    first = leads.order_by("id").values("id", "created_at").first()
    last = leads.order_by("-id").values("id", "created_at").first()
    if first is None:
        raise SystemExit("bench1 has no leads: run manage.py seedleads first (see bench/README.md)")

    # A one-month range in the middle of the data.
    middle = first["created_at"] + (last["created_at"] - first["created_at"]) / 2
    month_start = middle.date().replace(day=1)
    month_end = (month_start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)

    # A lead from the middle of the table; the all-filters case is built to find exactly it.
    lead = (
        leads.filter(id__lte=(first["id"] + last["id"]) // 2)
        .order_by("-id")
        .values("email", "status", "company_id", "score", "created_at", "last_name")
        .first()
    )
    company_id = lead["company_id"]
    # A frequent first-name fragment: the most common first name of the newest 2,000 leads.
    recent = leads.order_by("-id").values_list("first_name", flat=True)[:2000]
    common = statistics.mode(recent).lower()[:4]
    created = lead["created_at"].date()

    return {
        "no filter (page 1)": {},
        "status=qualified": {"status": "qualified"},
        "company_id": {"company_id": company_id},
        "min_score=50&max_score=100": {"min_score": 50, "max_score": 100},
        "created one month (middle)": {
            "created_after": month_start.isoformat(),
            "created_before": month_end.isoformat(),
        },
        "email (existing)": {"email": lead["email"].upper()},
        f"q={common} (common)": {"q": common},
        "q=zzqxj (no match)": {"q": "zzqxj"},
        "all filters": {
            "status": lead["status"],
            "company_id": company_id,
            "min_score": max(0, lead["score"] - 10),
            "max_score": min(100, lead["score"] + 10),
            "created_after": (created - dt.timedelta(days=15)).isoformat(),
            "created_before": (created + dt.timedelta(days=15)).isoformat(),
            "email": lead["email"],
            "q": lead["last_name"].lower()[:4],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per case")
    parser.add_argument(
        "--max-seconds", type=float, default=20.0, help="time budget per case (min 20 requests)"
    )
    args = parser.parse_args()

    user = get_user_model().objects.filter(username="bench1").first()
    if user is None:
        raise SystemExit("No user bench1: run manage.py seedleads first (see bench/README.md)")
    token, raw = api_token_create(user=user, name="bench")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    bench = Bench(client, args.requests, args.max_seconds)
    n_leads = Lead.objects.filter(user=user).count()
    n_companies = Company.objects.filter(user=user).count()
    print(f"bench1: {n_leads:,} leads, {n_companies:,} companies; {args.requests} requests/case")

    try:
        # Warm the page cache and the connection before anything is timed.
        bench.get("/v1/leads/stats")

        for case, params in pick_cases(user).items():
            bench.run(case, "/v1/leads", params)

        # Page 1,000: follow next_cursor through 999 pages, then time the 1,000th page.
        t0 = time.perf_counter()
        cursor = None
        for _ in range(DEEP_PAGE - 1):
            params = {"limit": PAGE_SIZE} | ({"cursor": cursor} if cursor else {})
            cursor = bench.get("/v1/leads", params)["next_cursor"]
            if cursor is None:
                raise SystemExit(f"Fewer than {DEEP_PAGE} pages of leads for bench1.")
        walk = time.perf_counter() - t0
        per_page = walk / (DEEP_PAGE - 1) * 1000
        print(f"  (walked {DEEP_PAGE - 1} pages in {walk:.1f} s, {per_page:.2f} ms/page)")
        page1 = bench.run("page 1 (limit=50)", "/v1/leads", {"limit": PAGE_SIZE})
        deep = bench.run(
            f"page {DEEP_PAGE:,} (cursor={cursor})",
            "/v1/leads",
            {"limit": PAGE_SIZE, "cursor": cursor},
        )

        bench.run(
            "stats (no filter)",
            "/v1/leads/stats",
            rows=lambda body: f"total={body['total']:,}",
        )
        bench.run("companies (page 1)", "/v1/companies")
    finally:
        token.delete()  # a bench token is never needed again

    print()
    header = f"| {'case':<40} | {'p50 ms':>8} | {'p95 ms':>8} | {'rows':>14} | {'n':>4} |"
    print(header)
    print(f"|{'-' * 42}|{'-' * 9}:|{'-' * 9}:|{'-' * 15}:|{'-' * 5}:|")
    for r in bench.results:
        print(
            f"| {r.case:<40} | {r.p50:8.2f} | {r.p95:8.2f} | {r.rows:>14} | {len(r.timings):>4} |"
        )
    print(f"\npage {DEEP_PAGE:,} / page 1 (p50): {deep.p50 / page1.p50:.2f}")


if __name__ == "__main__":
    main()
