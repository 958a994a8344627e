"""A team's manager against one rep: the list, stats per owner, the board and the dashboard,
and a reassignment of one rep's 100,000 leads (issue 16's figures).

    DATA_DIR=... [DATABASE_URL=...] .venv/bin/python bench/bench_team.py

Run against a database loaded by ``manage.py seedleads --users 10`` (each benchN owns a tenth
of the leads). It makes bench1 the manager of a team whose reps are bench2..bench10 (once;
idempotent), times each request as bench1 (the manager: the whole team's leads) and as
bench2 (a rep: their own), beside the no-framework baseline of bench/latency.py, then moves
every lead of bench10 to bench9 and back through ``POST /v1/leads/reassign`` and prints how
long each took. The database is left as it was found, team included.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django.contrib.auth import get_user_model

from bench.latency import Bench, list_cases, signed_in_clients  # sets Django up
from leads.models import Lead, Role, Team, TeamMembership

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--max-seconds", type=float, default=15.0)
    parser.add_argument("--json", help="write the rows here as JSON")
    parser.add_argument("--reassign-only", action="store_true", help="only the reassignment")
    args = parser.parse_args()
    users, team, created = _team()
    manager, rep = users[0], users[1]
    bench = Bench(args.requests, args.max_seconds)
    tokens = []
    try:
        for who, user in () if args.reassign_only else (("manager", manager), ("rep", rep)):
            token, api, web = signed_in_clients(user, f"bench-team-{who}")
            tokens.append(token)
            owners = [u.pk for u in users] if who == "manager" else [user.pk]
            in_scope = Lead.objects.filter(user__in=owners).count()
            print(f"{who} ({user.username}): {in_scope:,} leads in scope")
            for name, params in list_cases(rep).items():
                url = "/v1/leads" + (f"?{urlencode(params)}" if params else "")
                bench.case(f"{who} {name}", lambda url=url, api=api: api.get(url))
            bench.case(f"{who} stats", lambda api=api: api.get("/v1/leads/stats"))
            if who == "manager":
                bench.case(
                    f"{who} stats by user",
                    lambda api=api: api.get("/v1/leads/stats?group_by=user"),
                )
            bench.case(f"{who} board", lambda web=web: web.get("/board/"))
            bench.case(f"{who} dashboard", lambda web=web: web.get("/dashboard/"))
        # Reassignment of a whole rep's pipeline, there and back (the second restores it).
        _, api, _ = signed_in_clients(manager, "bench-team-reassign")
        # bench10's whole pipeline to a newcomer with no leads yet (a leaver's hand-over),
        # then back: the newcomer gets a company for each of bench10's.
        source = users[-1]
        target, _ = get_user_model().objects.get_or_create(username="bench-newcomer")
        TeamMembership.objects.update_or_create(
            user=target, defaults={"team": team, "role": Role.REP}
        )
        moved_ids = list(Lead.objects.filter(user=source).values_list("id", flat=True))
        started = time.perf_counter()
        answer = api.post(
            "/v1/leads/reassign",
            {"to_user_id": target.pk, "filters": {"user_id": source.pk}},
            "application/json",
        )
        there = time.perf_counter() - started
        assert answer.status_code == 200, answer.content[:300]
        # Back by ids, 10,000 at a time (the most one request takes): the first is timed.
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
            f"  reassign by filters: {answer.json()['reassigned']:,} leads in {there:.1f} s; "
            f"back by ids, 10,000 a request: {timings[0]:.2f} s each (median "
            f"{sorted(timings)[len(timings) // 2]:.2f} s)"
        )
        newcomer = get_user_model().objects.filter(username="bench-newcomer").first()
        if newcomer is not None and not Lead.objects.filter(user=newcomer).exists():
            newcomer.delete()
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
