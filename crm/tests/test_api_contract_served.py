"""Schemathesis through gunicorn, as well as in-process (issue 14 item 8).

The in-process run (test_api_contract.py) calls the WSGI application directly. This one starts
the Procfile's web server as a real process on loopback and sends every operation's generated
requests over HTTP, so what gunicorn itself does with a request (its header and request-line
parsing, its own error pages, chunked bodies, keep-alive) is under the same checks: no 5xx,
every response one the served schema documents, valid requests accepted. The vendors are fake
servers on 127.0.0.1 that know no account, so every credential check is refused as a real
vendor would.

    .venv/bin/pytest crm/tests/test_api_contract_served.py -n 0 -s
"""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import given
from hypothesis import settings as hypothesis_settings

from accounts.services import api_token_create
from crm.tests.test_api_contract import CHECKS, HYPOTHESIS, _record
from crm.tests.test_load_faults import _free_port, _gunicorn, _service_env, _wait_until_up
from integrations.tests.fakes.hunter import FakeHunter
from integrations.tests.fakes.instantly import FakeInstantly
from integrations.tests.fakes.snovio import FakeSnovio
from leads.tests.factories import UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MAX_EXAMPLES = int(os.environ.get("CONTRACT_SERVED_MAX_EXAMPLES", "40"))


def test_every_operation_keeps_the_contract_through_gunicorn(tmp_path):
    fakes = [FakeHunter().start(), FakeSnovio().start(), FakeInstantly().start()]
    env = _service_env(tmp_path)
    env.update(
        HUNTER_API_URL=fakes[0].url, SNOVIO_API_URL=fakes[1].url, INSTANTLY_API_URL=fakes[2].url
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _gunicorn(env, port, logs)
    started = time.monotonic()
    try:
        _wait_until_up(base, server, time.monotonic() + 60)
        user = UserFactory(username="served-fuzzer")
        _, raw = api_token_create(user=user, name="schemathesis through gunicorn")
        headers = {"Authorization": f"Bearer {raw}"}
        served = requests.get(
            f"{base}/v1/schema", params={"format": "json"}, headers=headers, timeout=30
        )
        assert served.status_code == 200
        schema = schemathesis.openapi.from_dict(served.json())

        session = requests.Session()
        statuses: Counter[int] = Counter()
        cases = 0
        for result in schema.get_all_operations():
            operation = result.ok()

            @given(case=operation.as_strategy())
            @hypothesis_settings(max_examples=MAX_EXAMPLES, **HYPOTHESIS)
            def fuzz(case):
                nonlocal cases
                cases += 1
                response = case.call_and_validate(
                    base_url=base, session=session, headers=headers, timeout=30, **CHECKS
                )
                statuses[response.status_code] += 1

            fuzz()
        assert server.popen.poll() is None, "gunicorn exited"
        log = server.text()
        assert "Traceback" not in log, log[-3000:]
        assert cases > 0 and not any(code >= 500 for code in statuses)
        _record(
            "served_through_gunicorn",
            {
                "cases": cases,
                "seconds": round(time.monotonic() - started, 1),
                "statuses": {str(code): n for code, n in sorted(statuses.items())},
            },
        )
    finally:
        server.stop()
        for fake in fakes:
            fake.stop()
