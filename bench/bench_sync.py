"""Import N leads from a local fake Hunter, re-import them, export them to a local fake
Instantly: leads/s and memory for each step.

    DATA_DIR=/tmp/crm-sync-bench .venv/bin/python bench/bench_sync.py --leads 100000
    ... bench_sync.py --leads 100000 --assign round_robin --reps 10   # a manager's import

With ``--assign`` the importing user manages a team of ``--reps`` reps and the import spreads
the new leads over them (``settings.assign``; every lead is then looked for in the whole
team's pipeline).

The fakes run in a process of their own (so they do not share this one's CPU and GIL) with
rate limits off on both sides; the engine runs in the foreground, as `manage.py sync` does.
Memory is this process's anonymous resident set (RssAnon: the Python heap and SQLite's page
cache, not the database file's mapped pages), sampled every 50 ms: its peak above the level
before the step shows whether a run streams (flat) or accumulates (grows with N). SQLite's
page cache is capped at 64 MB by the connection's cache_size; it fills as the database grows.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATA_DIR", "/tmp/crm-sync-bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ["HUNTER_RATE_LIMIT"] = "off"
os.environ["INSTANTLY_RATE_LIMIT"] = "off"
os.environ.setdefault("LOG_LEVEL", "WARNING")


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakMemory:
    def __init__(self) -> None:
        self.start = self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep DATA_DIR afterwards")
    parser.add_argument(
        "--assign",
        choices=["owner", "round_robin", "least_loaded"],
        default="owner",
        help="who the imported leads go to (a manager's integration when not owner)",
    )
    parser.add_argument("--reps", type=int, default=10, help="the team's reps, with --assign")
    parser.add_argument("--json", help="also write the figures here (bench/matrix.py reads it)")
    parser.add_argument(
        "--parts",
        action="store_true",
        help="instead: where an import page's time goes (fetch alone, write alone), per page",
    )
    args = parser.parse_args()

    data_dir = Path(os.environ["DATA_DIR"])
    if data_dir.exists():
        shutil.rmtree(data_dir)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    fakes = subprocess.Popen(
        [sys.executable, "-m", "integrations.tests.fakes.serve", "--hunter-leads", str(args.leads)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(fakes.stdout.readline())
        if args.parts:
            run_parts(args.leads, info)
            return
        rows = run_bench(args.leads, info, assign=args.assign, reps=args.reps)
        if args.json:
            keys = ("step", "leads", "seconds", "rate", "peak_mb", "result")
            figures = [dict(zip(keys, r, strict=True)) for r in rows]
            Path(args.json).write_text(json.dumps({"rows": figures}))
    finally:
        fakes.stdin.close()
        fakes.wait(timeout=10)
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def run_bench(count: int, info: dict, *, assign: str = "owner", reps: int = 10) -> list[tuple]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection

    from integrations import engine, services
    from leads.scope import Scope

    settings.HUNTER_API_URL = info["hunter_url"]
    settings.INSTANTLY_API_URL = info["instantly_url"]
    user = get_user_model().objects.create_user("sync-bench")
    if assign != "owner":
        from leads.models import Role
        from leads.teams import team_ensure, team_member_set

        team, _ = team_ensure(name="Sync bench")
        team_member_set(team=team, user=user, role=Role.MANAGER)
        for number in range(1, reps + 1):
            rep = get_user_model().objects.create_user(f"sync-bench-rep{number}")
            team_member_set(team=team, user=rep, role=Role.REP)
    hunter = services.integration_create(
        user=user,
        provider="hunter",
        credentials={"api_key": info["hunter_key"]},
        settings={"import_list_id": info["hunter_list"], "assign": assign},
    )
    instantly = services.integration_create(
        user=user,
        provider="instantly",
        credentials={"api_key": info["instantly_key"]},
        settings={"export_list_id": info["instantly_list"]},
    )

    rows = []

    def step(name: str, integration, direction: str) -> None:
        run = engine.run_claim(integration=integration, direction=direction, trigger="command")
        with PeakMemory() as memory:
            started = time.perf_counter()
            outcome = engine.run_execute(run_id=run.pk)
            elapsed = time.perf_counter() - started
        run.refresh_from_db()
        assert isinstance(outcome, engine.Done) and run.state in ("succeeded", "partial"), (
            outcome,
            run.error,
        )
        reasons = Counter(run.failures.values_list("detail", flat=True))
        rows.append(
            (
                name,
                run.processed,
                elapsed,
                run.processed / elapsed,
                memory.peak - memory.start,
                f"created {run.created}, updated {run.updated}, unchanged {run.unchanged}, "
                f"failed {run.failed}"
                + "".join(f" ({n} x {reason!r})" for reason, n in reasons.most_common(2)),
            )
        )

    step("import (first)", hunter, "import")
    assert Scope.of_person(user.pk).leads().count() == count
    step("import (again, unchanged)", hunter, "import")
    step("export to Instantly", instantly, "export")
    step("export again", instantly, "export")

    team = f", assign {assign} over {reps} reps" if assign != "owner" else ""
    print(
        f"\n{count:,} leads, {connection.vendor}, rate limits off, fakes in a separate "
        f"process{team}\n"
    )
    print(f"{'step':<28} {'leads':>8} {'seconds':>8} {'leads/s':>9} {'peak MB':>8}  result")
    for name, processed, seconds, rate, peak, result in rows:
        print(f"{name:<28} {processed:>8,} {seconds:>8.1f} {rate:>9,.0f} {peak:>+8.1f}  {result}")
    first, again = rows[0][2], rows[1][2]
    print(f"\nre-import is {first / again:.1f}x faster than the first import")
    return rows


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_parts(count: int, info: dict) -> None:
    """Time the real import runs, then the two halves of a page apart.

    * the real runs (into an empty database, as in the main benchmark), where the next page
      is fetched while one is written;
    * fetch: the Hunter client reading every page over HTTP from the fake, nothing written;
    * write: the engine writing the same pages held in memory (no HTTP), for a second user,
      first as new leads, then again unchanged.

    Per page of 100: wall time and this process's CPU time (both threads). The fake runs in
    its own process, so its time shows in fetch's wall time, not in its CPU time.
    """
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection

    from integrations import engine, services
    from integrations.hunter.client import HunterClient
    from integrations.records import Page

    class HeldPages:
        """Pages already fetched, served from memory: the engine's write path alone."""

        provider = "hunter"

        def __init__(self, held: list[list], total: int) -> None:
            self.held, self.total = held, total

        def check(self) -> None:
            return None

        def fetch_page(self, list_id: str | None, checkpoint: dict | None) -> Page:
            index = (checkpoint or {}).get("page", 0)
            after = {"page": index + 1} if index + 1 < len(self.held) else None
            return Page(list(self.held[index]) if self.held else [], after, self.total)

    settings.HUNTER_API_URL = info["hunter_url"]

    def integration(username: str):
        return services.integration_create(
            user=get_user_model().objects.create_user(username),
            provider="hunter",
            credentials={"api_key": info["hunter_key"]},
            settings={"import_list_id": info["hunter_list"]},
        )

    pages: list[list] = []

    def held_pages() -> HeldPages:
        """The fetched pages, served from memory: the engine's write path alone. Copied
        outside the timing: the importer normalises records in place."""
        return HeldPages([copy.deepcopy(records) for records in pages], total=count)

    def fetch_all() -> None:
        client = HunterClient(info["hunter_key"], base_url=info["hunter_url"])
        pages.clear()
        checkpoint = None
        while True:
            page = client.fetch_page(str(info["hunter_list"]), checkpoint)
            pages.append(page.records)
            checkpoint = page.next_checkpoint
            if checkpoint is None:
                return

    def import_run(hunter, client=None) -> None:
        run = engine.run_claim(integration=hunter, direction="import", trigger="command")
        outcome = engine.run_execute(run_id=run.pk, client=client)
        assert isinstance(outcome, engine.Done) and outcome.state == "succeeded", outcome

    n_pages = -(-count // 100)
    figures: dict[str, float] = {}

    def timed(name: str, action) -> None:
        cpu, started = cpu_seconds(), time.perf_counter()
        action()
        wall = (time.perf_counter() - started) / n_pages * 1000
        used = (cpu_seconds() - cpu) / n_pages * 1000
        figures[name] = wall
        print(f"{name:<36} {wall:>7.2f} {used:>7.2f}", flush=True)

    print(f"\n{count:,} leads, {connection.vendor}, ms per page of 100\n")
    print(f"{'part':<36} {'wall':>7} {'CPU':>7}")
    # The real runs first, into an empty database as in the main benchmark; then the parts,
    # as a second user with an integration of their own (the same records, new leads).
    real, parts = integration("sync-parts-real"), integration("sync-parts")
    timed("first import (fetch and write)", lambda: import_run(real))
    timed("re-import (fetch and write)", lambda: import_run(real))
    timed("fetch only (HTTP, nothing written)", fetch_all)
    held = held_pages()
    timed("write only, first import", lambda: import_run(parts, held))
    held = held_pages()
    timed("write only, unchanged", lambda: import_run(parts, held))
    timed("fetch only, again", fetch_all)
    alone = figures["write only, first import"] / figures["write only, unchanged"]
    whole = figures["first import (fetch and write)"] / figures["re-import (fetch and write)"]
    print(f"\nunchanged pages: {alone:.1f}x faster to write, {whole:.1f}x faster to import")


if __name__ == "__main__":
    main()
