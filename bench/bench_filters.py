"""Every pair and triple of list filters, right after a bulk load and after the statistics step.

    DATA_DIR=... [DATABASE_URL=...] .venv/bin/python bench/bench_filters.py --leads 1000000

Loads ``--leads`` leads with ``manage.py seedleads --no-analyze`` for two users (the first holds
half, spread over ``--companies``/2 companies), leaving the planner without statistics, as a
bulk load by any other means would. Then ``GET /v1/leads`` with every pair and triple of the
filters status, company, score range, creation window and ``q``, each filter with a
selective and a wide value (a rare and a common status, the smallest and the largest company,
a narrow and a wide score range, a week and ten years; a rare, a middling and a common search
term), is timed in-process (the WSGI application, as latency.py does): p50 of ``--requests``
requests.
The same after ``refresh_planner_statistics()`` (what an import, a CSV import or a restore
runs after its writes), and after a full ANALYZE. The board and the dashboard with the worst
combination are timed in each state too, and with ``--pages`` with every combination (one
request each after a warm-up). Prints a table and the worst combination of each state;
``--json`` writes every figure.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count

from bench import latency  # sets the environment and Django up, as it does for itself
from leads.models import Company, Lead
from leads.services import refresh_planner_statistics

ROOT = Path(__file__).resolve().parent.parent


def seed(leads: int, companies: int) -> None:
    for command in (["migrate", "--noinput"], ["createcachetable"], ["collectstatic", "--noinput"]):
        subprocess.run([sys.executable, "manage.py", *command, "-v", "0"], cwd=ROOT, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "seedleads", "--reset", "--no-analyze", "--users", "2",
         "--leads", str(leads), "--companies", str(companies)],
        cwd=ROOT,
        check=True,
    )  # fmt: skip


def filter_values(user) -> dict[str, dict[str, dict[str, str]]]:
    """Each filter: its selective and its wide value, from the user's own data."""
    leads = Lead.objects.filter(user=user)
    by_company = list(
        leads.values("company_id").annotate(n=Count("id")).order_by("n").values_list("company_id")
    )
    last = leads.order_by("-id").values("created_at").first()["created_at"].date()
    names = list(leads.order_by("-id").values_list("last_name", flat=True)[:5000])
    # Three search terms by how many leads they match (at 500,000 leads of seedleads' names):
    # the smallest company's name (0.1 %); the first five letters of the rarest last name,
    # which are also a first name's ("rober": 1.5 %, where walking and listing cost the
    # most); the commonest ending of a last name ("son": 10 %).
    rare = Company.objects.get(id=by_company[0][0]).name.lower()
    middle = min(set(names), key=names.count).lower()[:5]
    common = statistics.mode(name.lower()[-3:] for name in names)
    return {
        "status": {"rare": {"status": "converted"}, "common": {"status": "new"}},
        "company": {
            "small": {"company_id": str(by_company[0][0])},
            "large": {"company_id": str(by_company[-1][0])},
        },
        "score": {
            "narrow": {"min_score": "95", "max_score": "100"},
            "wide": {"min_score": "10", "max_score": "90"},
        },
        "created": {
            "week": {
                "created_after": str(last.replace(day=1)),
                "created_before": str(last.replace(day=7)),
            },
            "10 years": {
                "created_after": str(last.replace(year=last.year - 10)),
                "created_before": str(last),
            },
        },
        "q": {"rare": {"q": rare}, "middling": {"q": middle}, "common": {"q": common}},
    }


def combinations(values):
    for size in (2, 3):
        for names in itertools.combinations(values, size):
            for choice in itertools.product(*(values[name].items() for name in names)):
                label = " + ".join(
                    f"{name} {kind}" for name, (kind, _) in zip(names, choice, strict=True)
                )
                params: dict[str, str] = {}
                for _, value in choice:
                    params |= value
                yield label, params


def p50(send, requests: int) -> float:
    send()  # warm-up: caches, the statement's first plan
    timings = []
    for _ in range(requests):
        t0 = time.perf_counter()
        answer = send()
        timings.append((time.perf_counter() - t0) * 1000)
        assert answer.status_code == 200, answer.status_code
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=7, help="timed requests per case")
    parser.add_argument("--skip-seed", action="store_true", help="use the data already loaded")
    parser.add_argument("--json", help="write every figure here")
    parser.add_argument(
        "--pages",
        action="store_true",
        help="also time the board and the dashboard with every combination (one request each)",
    )
    args = parser.parse_args()

    if not args.skip_seed:
        seed(args.leads, args.companies)
    elif connection.vendor == "sqlite":
        # An earlier run's statistics: back to the state of a fresh bulk load.
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE 'sqlite_stat%'")
            for (name,) in cursor.fetchall():
                cursor.execute(f"DELETE FROM {name}")
            cursor.execute("ANALYZE sqlite_schema")  # reloads the (now empty) statistics
    user = get_user_model().objects.get(username="bench1")
    token, api, web = latency.signed_in_clients(user, "bench-filters")
    values = filter_values(user)
    cases = list(combinations(values))
    total = Lead.objects.filter(user=user).count()
    print(f"{connection.vendor}: bench1 has {total:,} leads; {len(cases)} combinations")

    def state(name: str) -> dict[str, float]:
        figures = {}
        for label, params in cases:
            url = f"/v1/leads?{urlencode(params)}"
            figures[label] = p50(lambda url=url: api.get(url), args.requests)
        worst = max(figures, key=figures.get)
        query = urlencode(dict(next(p for lbl, p in cases if lbl == worst)))
        figures["board (worst filters)"] = p50(lambda: web.get(f"/board/?{query}"), 3)
        figures["dashboard (worst filters)"] = p50(lambda: web.get(f"/dashboard/?{query}"), 3)
        if args.pages:
            for page in ("board", "dashboard"):
                timed = {
                    label: p50(lambda p=params, page=page: web.get(f"/{page}/?{urlencode(p)}"), 1)
                    for label, params in cases
                }
                slowest = max(timed, key=timed.get)
                print(
                    f"  {page}, every combination: median {statistics.median(timed.values()):.0f}"
                    f" ms; {sum(ms <= 15 for ms in timed.values())} at most 15 ms, "
                    f"{sum(ms > 100 for ms in timed.values())} over 100 ms; "
                    f"worst {slowest} {timed[slowest]:.0f} ms"
                )
                figures |= {f"{page}: {label}": ms for label, ms in timed.items()}
        over = sum(1 for label, ms in figures.items() if ms > 15 and label in dict(cases))
        print(
            f"{name}: worst {worst} {figures[worst]:.1f} ms; median of all "
            f"{statistics.median(figures[c] for c, _ in cases):.2f} ms; {over} over 15 ms; "
            f"board {figures['board (worst filters)']:.1f} ms, "
            f"dashboard {figures['dashboard (worst filters)']:.1f} ms"
        )
        return figures

    results = {}
    try:
        results["after bulk load"] = state("after bulk load (no statistics)")
        t0 = time.perf_counter()
        refresh_planner_statistics()
        spent = time.perf_counter() - t0
        print(f"refresh_planner_statistics(): {spent * 1000:.0f} ms")
        results["after the import's statistics step"] = state("after the statistics step")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        results["after full ANALYZE"] = state("after full ANALYZE")
    finally:
        token.delete()

    names = list(results)
    print(f"\n| combination | {' | '.join(names)} |")
    print(f"| --- | {' | '.join('---:' for _ in names)} |")
    for label in results[names[0]]:
        row = " | ".join(f"{results[n][label]:.1f}" for n in names)
        print(f"| {label} | {row} |")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"vendor": connection.vendor, "leads_of_user": total, **results}, indent=1)
        )


if __name__ == "__main__":
    main()
