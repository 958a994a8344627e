"""A base for fake vendor servers on 127.0.0.1 that behave like the real APIs.

Each fake is a small WSGI app served by werkzeug in a thread, with:

* the vendor's auth, pagination and error bodies (in the subclass);
* an enforced rate limit per account that answers 429 like the vendor, and remembers whether
  any client ever went over it (``violations``);
* faults injected on demand: ``fake.inject("500", times=3)``, ``"429"``, ``"timeout"``,
  ``"drop"`` (close the connection without answering), ``"garbage"`` (a body that is not
  JSON), ``"401"``; optionally only for paths containing ``path``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Fault:
    kind: str
    times: int
    path: str | None = None
    after: int = 0  # let this many matching requests through first


class FakeVendor:
    # (count, seconds) windows enforced per account; empty = no limit.
    rate_limits: list[tuple[int, float]] = []
    retry_after_seconds = 1
    timeout_sleep = 3.0

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, float]] = []
        self.violations = 0
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._server = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeVendor:
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        port = self._server.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}{self.base_path}"
        # A short poll interval: stop() waits for one, and tests start many servers.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    base_path = ""

    # --- faults and limits ------------------------------------------------------------------

    def inject(self, kind: str, *, times: int = 1, path: str | None = None, after: int = 0) -> None:
        with self._lock:
            self.faults.append(Fault(kind, times, path, after))

    def _take_fault(self, path: str) -> str | None:
        with self._lock:
            for fault in self.faults:
                if fault.path is not None and fault.path not in path:
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    return None
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault.kind
        return None

    def _over_limit(self, account: str) -> bool:
        if not self.rate_limits:
            return False
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(account, deque())
            longest = max(period for _, period in self.rate_limits)
            while hits and hits[0] <= now - longest:
                hits.popleft()
            for count, period in self.rate_limits:
                recent = sum(1 for t in hits if t > now - period)
                if recent >= count:
                    self.violations += 1
                    return True
            hits.append(now)
        return False

    # --- subclass hooks ---------------------------------------------------------------------

    def account_for(self, request: Request) -> str | None:
        """The account a request authenticates as, or None when its credentials are bad."""
        raise NotImplementedError

    def route(self, request: Request, account: str) -> Response:
        raise NotImplementedError

    def auth_error(self) -> Response:
        return self.json({"error": "unauthorized"}, 401)

    def rate_limited(self) -> Response:
        return self.json(
            {"error": "rate limited"},
            429,
            headers={"Retry-After": str(self.retry_after_seconds)},
        )

    def server_error(self) -> Response:
        return self.json({"error": "internal error"}, 500)

    # --- plumbing ---------------------------------------------------------------------------

    @staticmethod
    def json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(
            json.dumps(body), status=status, headers=headers, content_type="application/json"
        )

    def wsgi(self, environ, start_response):
        request = Request(environ)
        self.requests.append((request.method, request.path, time.monotonic()))
        fault = self._take_fault(request.path)
        if fault == "drop":
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            return []
        if fault == "timeout":
            time.sleep(self.timeout_sleep)
        if fault == "500":
            return self.server_error()(environ, start_response)
        if fault == "429":
            return self.rate_limited()(environ, start_response)
        if fault == "401":
            return self.auth_error()(environ, start_response)
        if fault == "garbage":
            return Response("<html>Bad gateway", status=200, content_type="application/json")(
                environ, start_response
            )
        account = self.account_for(request)
        if account is None:
            return self.auth_error()(environ, start_response)
        if self._over_limit(account):
            return self.rate_limited()(environ, start_response)
        return self.route(request, account)(environ, start_response)
