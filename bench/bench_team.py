"""A team's manager against one rep: the list, stats per owner, the board and the dashboard,
the Team page and the dashboard's per-rep table, and a reassignment of one rep's 100,000
leads (issue 16's figures).

    DATA_DIR=... [DATABASE_URL=...] .venv/bin/python bench/bench_team.py
    DATA_DIR=... .venv/bin/python bench/bench_team.py --team-only   # the Team page and table
    DATA_DIR=... .venv/bin/python bench/bench_team.py --handover    # the page's hand-over

Run against a database loaded by ``manage.py seedleads --users 10`` (each benchN owns a tenth
of the leads). It makes bench1 the manager of a team whose reps are bench2..bench10 (once;
idempotent), times each request as bench1 (the manager: the whole team's leads) and as
bench2 (a rep: their own), beside the no-framework baseline of bench/latency.py, then moves
every lead of bench10 to bench9 and back through ``POST /v1/leads/reassign`` and prints how
long each took. The database is left as it was found, team included.

For the manager it also times the Team page, the dashboard under filters, the dashboard with
its per-rep table left out (the table's share of the page is the difference), and the
per-rep table's selector alone, in-process, with the counts per owner given as the
dashboard gives them. ``--handover`` deactivates bench10 and hands their leads to a
newcomer through the Team page's form (its confirmation, then the move), then reactivates
bench10 and moves the leads back through the API.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.latency import (  # sets Django up
    WARMUP,
    Bench,
    Recorder,
    _pct,
    deep_cursor,
    list_cases,
    signed_in_clients,
)
from leads import team_selectors
from leads.filters import GROUP_BY_USER
from leads.models import Lead, Role, Team, TeamMembership
from leads.selectors import LeadFilters, lead_stats

TEAM = "Bench team"


def _team() -> tuple[list, Team, bool]:
    users = list(get_user_model().objects.filter(username__regex=r"^bench([1-9]|10)$"))
    users.sort(key=lambda u: int(u.username[5:]))
    if len(users) < 3:
        raise SystemExit("Needs bench1..bench3 at least: seedleads --users 10")
    team, created = Team.objects.get_or_create(name=TEAM)
    for user in users:
        role = Role.MANAGER if user.username == "bench1" else Role.REP
        TeamMembership.objects.update_or_create(user=user, defaults={"team": team, "role": role})
    return users, team, created


def time_calls(name: str, call: Callable[[], Any], requests: int) -> None:
    """p50 and p95 of an in-process call (no request around it), and its statements."""
    for _ in range(WARMUP):
        call()
    with CaptureQueriesContext(connection) as ctx:
        call()
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    print(
        f"  {name:<28} p50 {_pct(timings, 0.5):8.2f} ms  p95 {_pct(timings, 0.95):7.2f} ms"
        f"  ({requests} calls, {len(ctx.captured_queries)} statements)",
        flush=True,
    )


def team_cases(bench: Bench, manager, web, requests: int) -> None:
    """The Team page, the dashboard (whole, under filters, without the per-rep table) and
    the per-rep table's selector alone."""
    common = list_cases(manager)["list: q (common term)"]["q"]
    # The page's one statement reads FROM auth_user, which bench/latency.py's baseline
    # leaves out as the sign-in's: the baseline here replays every statement on leads_ tables.
    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        assert web.get("/team/").status_code == 200
    reads = [call for call in recorder.calls if "leads_" in call[0]]
    bench.case("manager team page", lambda: web.get("/team/"), lambda: bench.raw.run(reads))
    filtered = {"score 50-100": "?min_score=50&max_score=100", f"q={common}": f"?q={common}"}
    for label, query in filtered.items():
        bench.case(f"manager dashboard {label}", lambda q=query: web.get(f"/dashboard/{q}"))
    with mock.patch.object(team_selectors, "team_rep_table", lambda **kwargs: None):
        bench.case("manager dashboard, no table", lambda: web.get("/dashboard/"))
    user = get_user_model().objects.select_related("crm_membership").get(pk=manager.pk)
    cases = {
        "per-rep table": LeadFilters(),
        "per-rep table score 50-100": LeadFilters(min_score=50, max_score=100),
        f"per-rep table q={common}": LeadFilters(q=common),
    }
    for name, filters in cases.items():
        by_user = lead_stats(user=user, filters=filters, group_by=GROUP_BY_USER)["by_user"]
        time_calls(
            name,
            lambda f=filters, b=by_user: team_selectors.team_rep_table(
                user=user, filters=f, by_user=b
            ),
            requests,
        )


def reassignment(manager, source, team: Team, *, handover_page: bool, tokens: list) -> None:
    """bench10's whole pipeline to a newcomer with no leads yet (a leaver's hand-over),
    then back: the newcomer gets a company for each of bench10's. Through
    ``POST /v1/leads/reassign`` by filters, or (``handover_page``) the Team page's form;
    back by ids, 10,000 at a time (the most one request takes), the first timed."""
    token, api, _ = signed_in_clients(manager, "bench-team-reassign")
    tokens.append(token)
    target, _ = get_user_model().objects.get_or_create(username="bench-newcomer")
    TeamMembership.objects.update_or_create(user=target, defaults={"team": team, "role": Role.REP})
    moved_ids = list(Lead.objects.filter(user=source).values_list("id", flat=True))
    if handover_page:
        there = handover(manager, source, target)
        label = "Team page hand-over"
    else:
        started = time.perf_counter()
        answer = api.post(
            "/v1/leads/reassign",
            {"to_user_id": target.pk, "filters": {"user_id": source.pk}},
            "application/json",
        )
        there = time.perf_counter() - started
        assert answer.status_code == 200, answer.content[:300]
        label = "reassign by filters"
    timings = []
    for start in range(0, len(moved_ids), 10_000):
        began = time.perf_counter()
        back = api.post(
            "/v1/leads/reassign",
            {"to_user_id": source.pk, "lead_ids": moved_ids[start : start + 10_000]},
            "application/json",
        )
        timings.append(time.perf_counter() - began)
        assert back.status_code == 200, back.content[:300]
    print(
        f"  {label}: {len(moved_ids):,} leads in {there:.1f} s; "
        f"back by ids, 10,000 a request: {timings[0]:.2f} s each (median "
        f"{sorted(timings)[len(timings) // 2]:.2f} s)"
    )
    newcomer = get_user_model().objects.filter(username="bench-newcomer").first()
    if newcomer is not None and not Lead.objects.filter(user=newcomer).exists():
        newcomer.delete()


def handover(manager, source, target) -> float:
    """``source`` deactivated and their leads handed to ``target`` through the Team page:
    the confirmation (timed and printed), then the move (timed, returned); ``source`` is
    active again afterwards."""
    web = Client()
    web.force_login(manager)
    source.is_active = False
    source.save(update_fields=["is_active"])
    try:
        url = f"/team/members/{source.pk}/reassign/"
        started = time.perf_counter()
        confirm = web.post(url, {"to_user": target.pk})
        print(
            f"  team page hand-over confirmation: {(time.perf_counter() - started) * 1000:.0f} ms"
        )
        assert confirm.status_code == 200, confirm.content[:300]
        started = time.perf_counter()
        done = web.post(url, {"to_user": target.pk, "confirm": "1"})
        took = time.perf_counter() - started
        assert done.status_code == 302, done.content[:300]
        assert not Lead.objects.filter(user=source).exists()
        return took
    finally:
        source.is_active = True
        source.save(update_fields=["is_active"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--max-seconds", type=float, default=15.0)
    parser.add_argument("--json", help="write the rows here as JSON")
    parser.add_argument("--reassign-only", action="store_true", help="only the reassignment")
    parser.add_argument(
        "--team-only", action="store_true", help="only the Team page and the per-rep table"
    )
    parser.add_argument(
        "--handover",
        action="store_true",
        help="reassign bench10's leads through the Team page's hand-over instead of the API",
    )
    args = parser.parse_args()
    users, team, created = _team()
    manager, rep = users[0], users[1]
    bench = Bench(args.requests, args.max_seconds)
    tokens = []
    try:
        if args.team_only:
            token, _, web = signed_in_clients(manager, "bench-team-page")
            tokens.append(token)
            bench.case("manager dashboard", lambda: web.get("/dashboard/"))
            team_cases(bench, manager, web, args.requests)
        for who, user in (
            () if args.reassign_only or args.team_only else (("manager", manager), ("rep", rep))
        ):
            token, api, web = signed_in_clients(user, f"bench-team-{who}")
            tokens.append(token)
            owners = [u.pk for u in users] if who == "manager" else [user.pk]
            in_scope = Lead.objects.filter(user__in=owners).count()
            print(f"{who} ({user.username}): {in_scope:,} leads in scope")
            for name, params in list_cases(rep).items():
                url = "/v1/leads" + (f"?{urlencode(params)}" if params else "")
                bench.case(f"{who} {name}", lambda url=url, api=api: api.get(url))
            page, cursor = deep_cursor(user, owners)
            bench.case(
                f"{who} list: page {page:,} by cursor",
                lambda api=api, cursor=cursor: api.get(f"/v1/leads?cursor={cursor}"),
            )
            bench.case(f"{who} stats", lambda api=api: api.get("/v1/leads/stats"))
            if who == "manager":
                bench.case(
                    f"{who} stats by user",
                    lambda api=api: api.get("/v1/leads/stats?group_by=user"),
                )
            bench.case(f"{who} board", lambda web=web: web.get("/board/"))
            bench.case(f"{who} dashboard", lambda web=web: web.get("/dashboard/"))
            if who == "manager":
                team_cases(bench, user, web, args.requests)
        if not args.team_only:
            reassignment(manager, users[-1], team, handover_page=args.handover, tokens=tokens)
    finally:
        for token in tokens:
            token.delete()
        if created:
            TeamMembership.objects.filter(team=team).delete()
            team.delete()
    if args.json:
        with open(args.json, "w") as out:
            json.dump([row.__dict__ for row in bench.rows], out, indent=2)


if __name__ == "__main__":
    main()
