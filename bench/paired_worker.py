"""One side of bench/paired.py: times read requests of one checkout, on demand, in-process.

    cd CHECKOUT && DATA_DIR=... CHECKOUT/.venv/bin/python /path/to/bench/paired_worker.py

bench/paired.py starts one of these per checkout, with that checkout as the working folder:
this file may come from another checkout, but everything it times (the WSGI application,
and bench/latency.py's clients and case values) is imported from the working folder's code.
It signs in bench1 as bench/latency.py does (an API token for the list, a session for the
pages) and prints one JSON line: the URL of each case and which files it imported. Then each
line ``<case> <count>`` on stdin gets 3 untimed requests and ``count`` timed ones, answered
with one JSON line: ``{"timings": [seconds, ...]}``, or ``{"error": ...}`` when a request did
not answer 200. It ends when stdin closes, deleting its token.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

# The checkout to time is the working folder, not this file's: put it first, and drop this
# file's folder (another checkout's bench/), so `bench.latency`, `crm` and the apps resolve
# to the working folder's code even when its bench/ has no __init__.py.
CHECKOUT = Path.cwd().resolve()
sys.path[0] = str(CHECKOUT)
os.environ["DJANGO_SETTINGS_MODULE"] = "crm.settings"

# The answers go to a copy of stdout; whatever the app or a library prints goes to stderr
# instead, so it cannot be taken for an answer.
ANSWERS = os.fdopen(os.dup(sys.stdout.fileno()), "w")
os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

# bench/latency.py sets Django up with the checkout's settings as it is imported.
import bench.latency as latency  # noqa: E402
import crm  # noqa: E402

WARMUP = 3


def answer(value: Any) -> None:
    ANSWERS.write(json.dumps(value) + "\n")
    ANSWERS.flush()


def clients(user) -> tuple[Any, Any, Any]:
    """(the token to delete, an API client with it, a signed-in page client)."""
    if hasattr(latency, "signed_in_clients"):
        return latency.signed_in_clients(user, "paired")
    # Older checkouts build them inline in latency.main(); the same steps.
    from django.conf import settings
    from django.test import Client

    from accounts.services import api_token_create

    token, raw = api_token_create(user=user, name="paired")
    api = latency.WsgiClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    login = Client()
    login.force_login(user)
    session = login.cookies[settings.SESSION_COOKIE_NAME].value
    web = latency.WsgiClient(HTTP_COOKIE=f"{settings.SESSION_COOKIE_NAME}={session}")
    return token, api, web


def main() -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    user = get_user_model().objects.filter(username="bench1").first()
    if user is None:
        raise SystemExit("No user bench1: run manage.py seedleads first")
    token, api, web = clients(user)
    try:
        cases: dict[str, tuple[Any, str]] = {}
        for name, params in latency.list_cases(user).items():
            cases[name] = (api, f"/v1/leads?{urlencode(params)}" if params else "/v1/leads")
        # Older checkouts' deep_cursor takes the user alone.
        _page, cursor = latency.deep_cursor(user)
        cases["list: deep page by cursor"] = (api, f"/v1/leads?cursor={cursor}")
        cases["board"] = (web, "/board/")
        cases["dashboard"] = (web, "/dashboard/")
        answer(
            {
                "cases": {name: url for name, (_client, url) in cases.items()},
                "files": [latency.__file__, crm.__file__],
                "vendor": connection.vendor,
                "leads_of_user": latency.Lead.objects.filter(user=user).count(),
            }
        )
        for line in sys.stdin:
            name, count = line.rstrip("\n").rsplit(" ", 1)
            client, url = cases[name]
            timings: list[float] = []
            for i in range(WARMUP + int(count)):
                started = time.perf_counter()
                response = client.get(url)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    answer({"error": f"{url}: {response.status_code} {response.content[:300]!r}"})
                    return
                if i >= WARMUP:
                    timings.append(elapsed)
            answer({"timings": timings})
    finally:
        token.delete()


if __name__ == "__main__":
    main()
