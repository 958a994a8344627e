"""One client-side rate limit per vendor account, shared by every process and thread.

A vendor's limit belongs to the account (Instantly: the workspace, whatever key or API
version calls it), not to one worker process: two workers, or two integrations on one
Instantly workspace, each keeping their own window would together exceed it. So the window
lives in the shared store:

* Redis (``CACHE_URL=redis://…``, the scaled-out layout): a sorted set of call times per
  account, checked and appended by one Lua script, atomic for every process on every machine,
  timed by Redis's own clock so machines' clocks need not agree;
* otherwise the small SQLite file beside the main database that already holds the API's
  request counters (``RATE_LIMIT_DB``), writers taking turns on its flock: every process of
  the embedded layout is on this machine.

``acquire`` takes a slot when every window has room and otherwise sleeps until the oldest call
that fills a window leaves it; it never spins. Keys name the account without revealing it:
``hunter:<hash of the key>``, ``snovio:<hash of the client id>``, ``instantly:<workspace id>``.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings

from crm import throttling

# Never sleep longer than this at once: a slot freed early (a run cancelled elsewhere) is
# taken within this time, and a process stopping is not held up for long.
MAX_SLEEP = 5.0

_LUA = """
local key = KEYS[1]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local longest = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.6f', now - longest))
local wait = 0
for i = 3, #ARGV, 2 do
  local count = tonumber(ARGV[i])
  local period = tonumber(ARGV[i + 1])
  -- Numbers formatted by hand: Lua's own conversion keeps 14 digits, a tenth of a
  -- millisecond at today's UNIX times.
  local rows = redis.call('ZREVRANGEBYSCORE', key, '+inf', string.format('(%.6f', now - period),
                          'WITHSCORES', 'LIMIT', count - 1, 1)
  if #rows > 0 then
    local w = tonumber(rows[2]) + period - now
    if w > wait then wait = w end
  end
end
if wait <= 0 then
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('EXPIRE', key, math.ceil(longest) + 1)
end
return {string.format("%.6f", wait), string.format("%.6f", now)}
"""


def smoothed(windows: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The windows plus one a tenth as long, so a window's calls cannot all go at once.

    A sliding window alone lets its whole budget out in one burst when it opens (a run
    starting, or the window of the previous burst ending). The vendor counts calls when they
    arrive, and a burst reaches it spread over the time it takes to serve it: the next
    window's burst then meets the tail of the last in the vendor's count (measured: a few
    429s a minute at 95 % of the vendor's limit). A tenth of the budget per tenth of the
    period, with some room to catch up, keeps the average and spreads the calls.
    """
    if not windows:
        return windows
    count, period = min(windows, key=lambda window: window[1])
    if count < 10:
        return windows
    return [*windows, (math.ceil(count / 10) + 1, period / 10)]


def account_key(provider: str, secret: str) -> str:
    """``provider:<digest>``: the same account gives the same key, and the key tells nothing."""
    digest = hashlib.sha256(f"{provider}\\0{secret}".encode()).hexdigest()[:24]
    return f"{provider}:{digest}"


class SharedRateLimiter:
    """Sliding windows such as ``[(10, 1.0), (450, 60.0)]`` for one vendor account."""

    def __init__(
        self,
        key: str,
        windows: list[tuple[int, float]],
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.key = key
        self.windows = smoothed([(count, period) for count, period in windows if count > 0])
        self._sleep = sleep
        self._script: Any = None
        self._lock = threading.Lock()

    def try_acquire(self) -> float:
        """Take a slot and return 0, or return the seconds until one may be free."""
        return self._try()[0]

    def _try(self) -> tuple[float, float]:
        """(seconds to wait, 0 when a slot was taken; the store's time of the attempt)."""
        if not self.windows:
            return 0.0, time.time()
        if settings.RATE_LIMIT_DB:
            return self._sqlite_try()
        return self._redis_try()

    def acquire(self) -> float:
        """Wait for a slot and take it; the time it was taken (as the store counts it)."""
        while True:
            wait, at = self._try()
            if wait <= 0:
                return at
            self._sleep(min(wait, MAX_SLEEP))

    # --- stores -----------------------------------------------------------------------------

    def _sqlite_try(self) -> tuple[float, float]:
        with throttling.sqlite_exclusive() as db:
            # Read the clock once the turn is ours: a time read before waiting for it would
            # record the call earlier than it is made, and let the window overfill.
            now = time.time()
            try:
                return self._sqlite_window(db, now), now
            except sqlite3.OperationalError as exc:
                if "no such table" not in str(exc):
                    raise
            # A new counters file: its table is made once, not checked on every call.
            db.execute(_CREATE_TABLE)
            db.execute(_CREATE_INDEX)
            return self._sqlite_window(db, now), now

    def _sqlite_window(self, db: sqlite3.Connection, now: float) -> float:
        """Check every window and take the slot if all have room, in one transaction."""
        longest = max(period for _, period in self.windows)
        db.execute("BEGIN")
        try:
            db.execute(
                "DELETE FROM vendor_calls WHERE key = ? AND at <= ?", (self.key, now - longest)
            )
            wait = 0.0
            for count, period in self.windows:
                # The count-th newest call inside the window: while it is there, the window
                # is full, until it leaves.
                row = db.execute(
                    "SELECT at FROM vendor_calls WHERE key = ? AND at > ? "
                    "ORDER BY at DESC LIMIT 1 OFFSET ?",
                    (self.key, now - period, count - 1),
                ).fetchone()
                if row is not None:
                    wait = max(wait, row[0] + period - now)
            if wait <= 0:
                db.execute("INSERT INTO vendor_calls (key, at) VALUES (?, ?)", (self.key, now))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return wait

    def _redis_try(self) -> tuple[float, float]:
        client = throttling.redis_client()
        with self._lock:
            if self._script is None:
                self._script = client.register_script(_LUA)
        longest = max(period for _, period in self.windows)
        args: list[float | str] = [longest, secrets.token_hex(8)]
        for count, period in self.windows:
            args += [count, period]
        wait, now = self._script(keys=[f"vendor-rate:{self.key}"], args=args, client=client)
        return float(wait), float(now)


_CREATE_TABLE = "CREATE TABLE IF NOT EXISTS vendor_calls (key TEXT NOT NULL, at REAL NOT NULL)"
_CREATE_INDEX = "CREATE INDEX IF NOT EXISTS vendor_calls_key_at ON vendor_calls (key, at)"
