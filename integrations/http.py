"""The one HTTP doorway every vendor client goes through.

It puts a timeout on every call, sends a User-Agent, waits for the account's client-side rate
limit, and turns every failure into one of a small family of exceptions that say whether
trying again can help. It never retries by itself: retries live in exactly one layer, the
runner of a sync (the Celery task, or the ``sync`` command), which resumes from the run's
checkpoint.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, Protocol

import requests

logger = logging.getLogger(__name__)

USER_AGENT = "leads-crm/1.0 (+self-hosted)"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0


# --- errors ---------------------------------------------------------------------------------


class ProviderError(Exception):
    """A call to a vendor failed. ``retryable`` says whether the same call may succeed later."""

    retryable = False

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


class TransientError(ProviderError):
    """Timeouts, dropped connections, 5xx, garbled answers: worth trying again later."""

    retryable = True


class RateLimited(TransientError):
    """The vendor said slow down (429, or Hunter's 403 rate limit).

    ``give_up_message``, when set, is what the run says if the retries run out: for an answer
    that may also mean something other than a rate limit (Hunter's 403), "gave up after N
    attempts" would hide what a person should check.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        give_up_message: str | None = None,
    ) -> None:
        super().__init__(message, status=status, retry_after=retry_after)
        self.give_up_message = give_up_message


class AuthError(ProviderError):
    """The credentials were refused: a person must enter new ones."""


class QuotaExceeded(ProviderError):
    """The account is out of credits or over its plan: waiting minutes will not help."""


class BadRequest(ProviderError):
    """The vendor refused this request as invalid (4xx): the same request will fail again."""


class NotFound(BadRequest):
    pass


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` is either seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# --- client-side rate limit -----------------------------------------------------------------


class Limiter(Protocol):
    """What a client needs of a rate limiter: ``acquire`` blocks until a call may go."""

    def acquire(self) -> object: ...


class RateLimiter:
    """Sliding-window limits such as ``[(10, 1.0), (450, 60.0)]`` (10/s and 450/min), kept in
    this process only.

    ``acquire`` blocks until a call is allowed under every window. It is thread-safe. The sync
    engine limits each vendor account across every process with
    ``integrations.ratelimit.SharedRateLimiter``; this one serves clients built by hand (tests,
    and the benchmark's contrast).
    """

    def __init__(self, windows: list[tuple[int, float]], clock=time.monotonic, sleep=time.sleep):
        self.windows = [(count, period) for count, period in windows if count > 0]
        longest = max((count for count, _ in self.windows), default=0)
        self._calls: deque[float] = deque(maxlen=longest or 1)
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def _wait_needed(self, now: float) -> float:
        wait = 0.0
        calls = self._calls
        for count, period in self.windows:
            if len(calls) >= count:
                # The call `count` places back must have left the window.
                oldest = calls[-count]
                wait = max(wait, oldest + period - now)
        return wait

    def acquire(self) -> None:
        if not self.windows:
            return
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait_needed(now)
                if wait <= 0:
                    self._calls.append(now)
                    return
            self._sleep(wait)


# --- the doorway ----------------------------------------------------------------------------


class HttpClient:
    """Base of every vendor client: ``base_url``, timeouts, rate limit, error mapping.

    Subclasses set ``provider`` and override ``auth_headers`` and ``error_for`` to read the
    vendor's error bodies.
    """

    provider = "vendor"

    def __init__(
        self,
        base_url: str,
        *,
        limiter: Limiter | None = None,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        # Vendors never legitimately redirect an API call elsewhere; following one could
        # send the credentials to another host.
        self.session.max_redirects = 0

    def auth_headers(self) -> dict[str, str]:
        return {}

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> Any:
        """Send one request and return its decoded JSON body (``None`` for an empty body)."""
        if self.limiter is not None:
            self.limiter.acquire()
        all_headers = {**(self.auth_headers() if auth else {}), **(headers or {})}
        url = f"{self.base_url}/{path.lstrip('/')}"
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=json,
                data=data,
                headers=all_headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise TransientError(f"{self.provider} did not answer in time") from None
        except requests.ConnectionError:
            raise TransientError(f"could not connect to {self.provider}") from None
        except requests.TooManyRedirects as exc:
            # With max_redirects = 0, requests refuses even to prepare the redirect it was
            # told not to follow. Nothing was sent elsewhere: report the vendor's 3xx itself
            # (a wrong API URL, said in words), not a retryable "request failed".
            if exc.response is None:
                raise TransientError(f"{self.provider} request failed: redirect") from None
            return self.handle(exc.response)
        except requests.RequestException as exc:
            raise TransientError(f"{self.provider} request failed: {type(exc).__name__}") from None
        return self.handle(response)

    def handle(self, response: requests.Response) -> Any:
        status = response.status_code
        body = self._decode(response)
        if 200 <= status < 300:
            if body is _UNDECODABLE:
                raise TransientError(
                    f"{self.provider} sent a response that is not valid JSON", status=status
                )
            self.check_body(body, status)
            return body
        if 300 <= status < 400:
            raise BadRequest(
                f"{self.provider} redirected the request to {response.headers.get('Location')!r};"
                " check the API URL",
                status=status,
            )
        raise self.error_for(status, None if body is _UNDECODABLE else body, response)

    def check_body(self, body: Any, status: int) -> None:
        """Vendors that report errors inside a 200 override this."""

    def error_for(self, status: int, body: Any, response: requests.Response) -> ProviderError:
        """Map an error response to an exception. Vendors refine this with their bodies."""
        message = self.error_message(body) or response.reason or f"HTTP {status}"
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        text = f"{self.provider}: {message}"
        if status == 429:
            return RateLimited(text, status=status, retry_after=retry_after)
        if status == 401:
            return AuthError(text, status=status)
        if status == 402:
            return QuotaExceeded(text, status=status)
        if status == 403:
            return AuthError(text, status=status)
        if status == 404:
            return NotFound(text, status=status)
        if status >= 500 or status == 408:
            return TransientError(text, status=status, retry_after=retry_after)
        return BadRequest(text, status=status)

    @staticmethod
    def error_message(body: Any) -> str:
        """A readable message from the common shapes of error bodies."""
        if isinstance(body, dict):
            for key in ("message", "error", "errors", "detail", "details"):
                value = body.get(key)
                if isinstance(value, str) and value:
                    return value[:300]
                if isinstance(value, list) and value:
                    first = value[0]
                    if isinstance(first, dict):
                        text = first.get("details") or first.get("message") or first.get("id")
                        if text:
                            return str(text)[:300]
                    return str(first)[:300]
        return ""

    @staticmethod
    def _decode(response: requests.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return _UNDECODABLE


class _Undecodable:
    pass


_UNDECODABLE = _Undecodable()
