"""Per-user API rate limit: one counter per user and time window.

DRF's own throttles keep a list of every request time per user and rewrite it on each
request; on the database cache that is about ten queries per API call. Here a request costs
one atomic increment:

* scaled out (Redis cache), ``cache.add`` + ``cache.incr``, shared by every web process;
* on the embedded default, an UPSERT into a small SQLite file of its own, beside the main
  database, so counting never competes with real writes for the database's write lock.
  Writers take turns through an flock on a file beside it first: SQLite's own busy handler
  sleeps 1, 2, 5, 10 ms... before it retries, and with 32 clients on two gunicorn processes
  those sleeps cut requests/s by half to two thirds (measured: 240-780 req/s with them,
  1,080-1,200 without counting at all). The kernel wakes the next writer as soon as the
  lock is free.

The same fixed-window counters count failed sign-ins (``accounts.login_throttle``).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period[0]]


def _wal(db: sqlite3.Connection) -> None:
    """Switch the file to WAL once. The switch needs a moment alone with the file and SQLite
    answers "locked" at once, without its busy wait, while other threads open it: retry."""
    for attempt in range(200):
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 199:
                raise
            time.sleep(0.01)


class _SQLiteCounters:
    _local = threading.local()

    def _connection(self, path: Path) -> sqlite3.Connection:
        connections = getattr(self._local, "connections", None)
        if connections is None:
            connections = self._local.connections = {}
        db = connections.get(path)
        if db is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, timeout=10, isolation_level=None)
            # Counters may be lost in a power cut; they are worth no fsync.
            _wal(db)
            db.execute("PRAGMA synchronous=OFF")
            db.execute(
                "CREATE TABLE IF NOT EXISTS hits "
                "(key TEXT PRIMARY KEY, window INTEGER NOT NULL, count INTEGER NOT NULL)"
            )
            connections[path] = db
        return db

    def _turn(self, path: Path) -> int:
        """This thread's descriptor of the lock file that writers take turns on (its own open
        file, so that threads of one process exclude each other as processes do)."""
        turns = getattr(self._local, "turns", None)
        if turns is None:
            turns = self._local.turns = {}
        fd = turns.get(path)
        if fd is None:
            fd = turns[path] = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        return fd

    def _write(self, sql: str, params: tuple) -> list[tuple]:
        path = Path(settings.RATE_LIMIT_DB)
        db = self._connection(path)
        fd = self._turn(path)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[sqlite3.Connection]:
        """The counters' database, this writer's turn held (for a few statements that must
        run as one: the vendor rate limiter's read-then-insert)."""
        path = Path(settings.RATE_LIMIT_DB)
        db = self._connection(path)
        fd = self._turn(path)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield db
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def hit(self, key: str, window: int) -> int:
        ((count,),) = self._write(
            "INSERT INTO hits (key, window, count) VALUES (?, ?, 1) "
            "ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN window = excluded.window THEN count + 1 ELSE 1 END, "
            "window = excluded.window "
            "RETURNING count",
            (key, window),
        )
        return count

    def undo(self, key: str, window: int) -> None:
        self._write(
            "UPDATE hits SET count = count - 1 WHERE key = ? AND window = ? AND count > 0",
            (key, window),
        )

    def count(self, key: str, window: int) -> int:
        db = self._connection(Path(settings.RATE_LIMIT_DB))
        row = db.execute(
            "SELECT count FROM hits WHERE key = ? AND window = ?", (key, window)
        ).fetchone()
        return row[0] if row else 0

    def clear(self, key: str) -> None:
        self._write("DELETE FROM hits WHERE key = ?", (key,))


_redis = threading.local()


def _redis_client():
    """One Redis client per thread, kept: Django's RedisCache builds a new client object for
    every call (a third of a millisecond each here), on the same connection pool."""
    # RedisCache keeps its client in _cache (a private attribute the stubs do not list).
    backend: Any = getattr(cache, "_cache")  # noqa: B009
    client = getattr(_redis, "client", None)
    if client is None or _redis.cache is not backend:
        _redis.cache = backend
        client = _redis.client = backend.get_client(write=True)
    return client


def _cache_hit(key: str, window: int, period: int) -> int:
    window_key = f"throttle:{key}:{window}"
    if not hasattr(cache, "_cache") or not hasattr(cache._cache, "get_client"):
        # Another cache backend: its own add/incr (two round trips, not atomic together).
        if cache.add(window_key, 1, period + 1):
            return 1
        try:
            return cache.incr(window_key)
        except ValueError:  # expired between add() and incr()
            cache.add(window_key, 1, period + 1)
            return 1
    # Redis: create the counter with its expiry if it is missing, then count, in one
    # MULTI/EXEC round trip. Stored as a plain integer under the cache's own key, so
    # cache.get() and cache.delete() read and clear it.
    name = cache.make_and_validate_key(window_key)
    pipe = _redis_client().pipeline(transaction=True)
    pipe.set(name, 0, ex=period + 1, nx=True)
    pipe.incr(name)
    return pipe.execute()[1]


_sqlite_counters = _SQLiteCounters()
# For other shared counters (integrations.ratelimit): the same file and turn-taking, and the
# same kept Redis client.
sqlite_exclusive = _sqlite_counters.exclusive
redis_client = _redis_client


def window_hit(key: str, period: int, now: float | None = None) -> int:
    """Count one event for ``key`` in the current window of ``period`` seconds: the new total."""
    window = int((time.time() if now is None else now) // period)
    if settings.RATE_LIMIT_DB:
        return _sqlite_counters.hit(key, window)
    return _cache_hit(key, window, period)


# Take back one count, never below zero, in one round trip.
_REDIS_UNDO = (
    "local n = tonumber(redis.call('get', KEYS[1]) or '0') "
    "if n > 0 then return redis.call('decr', KEYS[1]) end return 0"
)


def window_undo(key: str, period: int, now: float) -> None:
    """Take back one event counted by ``window_hit(key, period, now)`` (an attempt counted
    before it was checked, which turned out not to count)."""
    window = int(now // period)
    if settings.RATE_LIMIT_DB:
        _sqlite_counters.undo(key, window)
        return
    window_key = f"throttle:{key}:{window}"
    if not hasattr(cache, "_cache") or not hasattr(cache._cache, "get_client"):
        try:
            if cache.get(window_key, 0) > 0:
                cache.decr(window_key)
        except ValueError:  # expired meanwhile: nothing to take back
            pass
        return
    _redis_client().eval(_REDIS_UNDO, 1, cache.make_and_validate_key(window_key))


def window_count(key: str, period: int) -> int:
    """Events counted for ``key`` so far in the current window."""
    window = int(time.time() // period)
    if settings.RATE_LIMIT_DB:
        return _sqlite_counters.count(key, window)
    return cache.get(f"throttle:{key}:{window}", 0)


def window_clear(key: str, period: int) -> None:
    if settings.RATE_LIMIT_DB:
        _sqlite_counters.clear(key)
    else:
        cache.delete(f"throttle:{key}:{int(time.time() // period)}")


def window_remaining(period: int, now: float | None = None) -> float:
    """Seconds until the current window of ``period`` seconds ends."""
    now = time.time() if now is None else now
    return (int(now // period) + 1) * period - now


def client_address(request) -> str:
    """The client's address; an IPv6 client is counted by its /64, which one host usually owns.

    X-Forwarded-For is read only behind a proxy we were told about (BEHIND_TLS_PROXY), and
    only its last entry, the one that proxy added: earlier entries come from the client.
    """
    address = request.META.get("REMOTE_ADDR", "")
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        address = forwarded or address
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


class UserRateLimit(BaseThrottle):
    def __init__(self) -> None:
        self.limit, self.period = parse_rate(settings.API_RATE_LIMIT)
        self._wait = 0.0

    def allow_request(self, request, view) -> bool:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            key = f"u{user.pk}"
        else:
            # Not DRF's get_ident: it trusts whatever X-Forwarded-For a client sends.
            key = f"ip{client_address(request)}"
        now = time.time()
        if window_hit(key, self.period, now) > self.limit:
            self._wait = (int(now // self.period) + 1) * self.period - now
            return False
        return True

    def wait(self) -> float:
        return max(1.0, self._wait)
