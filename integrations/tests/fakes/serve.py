"""Serve fake vendors from a process of their own, for benchmarks and manual trials.

    python -m integrations.tests.fakes.serve --hunter-leads 100000

prints one JSON line with the URLs, keys and list ids, then serves until stdin closes or the
process is stopped. Rate limits are off unless --limits is given: a benchmark measures the
CRM, not the vendor's quota.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from integrations.tests.fakes.hunter import FakeHunter
from integrations.tests.fakes.instantly import FakeInstantly

HUNTER_KEY = "bench-hunter-key-0123456789"
INSTANTLY_KEY = "bench-instantly-key-0123456789"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hunter-leads", type=int, default=0)
    parser.add_argument("--limits", action="store_true", help="keep the vendors' rate limits")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

    hunter = FakeHunter()
    instantly = FakeInstantly()
    if not args.limits:
        hunter.rate_limits = []
        instantly.rate_limits = []
    hunter.start()
    instantly.start()
    hunter.add_account(HUNTER_KEY)
    hunter_list = hunter.add_list(HUNTER_KEY, "Benchmark")
    if args.hunter_leads:
        hunter.seed(HUNTER_KEY, args.hunter_leads, list_id=hunter_list)
    instantly.add_account(INSTANTLY_KEY)
    instantly_list = instantly.add_list(INSTANTLY_KEY, "Benchmark export")
    print(
        json.dumps(
            {
                "hunter_url": hunter.url,
                "hunter_key": HUNTER_KEY,
                "hunter_list": hunter_list,
                "instantly_url": instantly.url,
                "instantly_key": INSTANTLY_KEY,
                "instantly_list": instantly_list,
            }
        ),
        flush=True,
    )
    try:
        sys.stdin.read()  # until the parent closes our stdin
    finally:
        hunter.stop()
        instantly.stop()


if __name__ == "__main__":
    main()
