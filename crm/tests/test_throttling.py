from __future__ import annotations

import time

import pytest
from django.test import Client

from accounts.services import api_token_create
from leads.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("counter", ["sqlite", "cache"])
def test_rate_limit_answers_429_with_retry_after(settings, tmp_path, counter, clock):
    settings.API_RATE_LIMIT = "3/min"
    if counter == "sqlite":
        settings.RATE_LIMIT_DB = str(tmp_path / "counters.sqlite3")
    else:
        settings.RATE_LIMIT_DB = ""
        # The suite's own Redis when it runs on one (CACHE_URL), else a cache in this process.
        if not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
            settings.CACHES = {
                "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
            }
    user = UserFactory()
    _, raw = api_token_create(user=user, name="t")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert [client.get("/v1/leads").status_code for _ in range(3)] == [200, 200, 200]
    response = client.get("/v1/leads")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 61
    assert "detail" in response.json()


def test_rate_limit_is_per_user(settings, clock):
    settings.API_RATE_LIMIT = "2/min"
    clients = []
    for name in ["u1", "u2"]:
        _, raw = api_token_create(user=UserFactory(username=name), name="t")
        clients.append(Client(HTTP_AUTHORIZATION=f"Bearer {raw}"))
    for client in clients:
        assert [client.get("/v1/leads").status_code for _ in range(2)] == [200, 200]
    assert clients[0].get("/v1/leads").status_code == 429


def test_anonymous_requests_are_counted_by_address_not_a_forged_header(settings, clock):
    # /v1/schema is open to anyone; a client cannot dodge the limit by inventing a new
    # X-Forwarded-For on each request (DRF's own get_ident would trust it).
    settings.API_RATE_LIMIT = "2/min"
    settings.BEHIND_TLS_PROXY = False
    client = Client()
    codes = [
        client.get("/v1/schema", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code for i in range(3)
    ]
    assert codes == [200, 200, 429]


def _hit_from_threads(key: str, period: int, threads: int = 8, each: int = 25) -> None:
    """``threads`` threads counting ``each`` hits at once."""
    import threading

    from crm import throttling

    def hits():
        for _ in range(each):
            throttling.window_hit(key, period)

    running = [threading.Thread(target=hits) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()


def test_redis_counters_count_every_hit_once_and_expire_with_their_window(settings):
    """On Redis a hit is one MULTI/EXEC (create with expiry if missing, then INCR) on a kept
    client; the counter is the cache's own key, so the cache reads and clears it too."""
    import threading

    from django.core.cache import cache

    from crm import throttling

    if not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        pytest.skip("needs the suite's Redis (make test-pg)")
    settings.RATE_LIMIT_DB = ""
    # A window of about eleven days: the test never straddles two.
    key, period = f"test-{threading.get_ident()}", 10**6

    _hit_from_threads(key, period)
    assert throttling.window_count(key, period) == 200
    name = cache.make_and_validate_key(f"throttle:{key}:{int(time.time() // period)}")
    assert 0 < throttling._redis_client().ttl(name) <= period + 1
    throttling.window_clear(key, period)
    assert throttling.window_count(key, period) == 0


def test_sqlite_counters_take_turns_through_a_lock_file_and_count_every_hit(settings, tmp_path):
    """Writers queue on an flock beside the counter file, which the kernel hands to the next
    writer at once, instead of meeting on SQLite's write lock, whose busy handler sleeps 1, 2,
    5, 10 ms... between tries (a halving of requests/s with 32 clients)."""
    import fcntl
    import os
    import threading

    from crm import throttling

    settings.RATE_LIMIT_DB = str(tmp_path / "counters.sqlite3")
    key, period = "turns", 10**6
    assert throttling.window_hit(key, period) == 1

    # While another process holds the lock, a hit waits for it rather than writing.
    holder = os.open(f"{settings.RATE_LIMIT_DB}.lock", os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    waiting = threading.Thread(target=throttling.window_hit, args=(key, period))
    waiting.start()
    waiting.join(0.3)
    assert waiting.is_alive()
    assert throttling.window_count(key, period) == 1
    fcntl.flock(holder, fcntl.LOCK_UN)
    os.close(holder)
    waiting.join(5)
    assert not waiting.is_alive()
    assert throttling.window_count(key, period) == 2

    _hit_from_threads(key, period)
    assert throttling.window_count(key, period) == 202
    throttling.window_clear(key, period)
    assert throttling.window_count(key, period) == 0
