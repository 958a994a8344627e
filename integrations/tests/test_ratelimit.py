"""The vendor rate limit shared by every process: on the SQLite file of the embedded layout,
or on Redis when the suite runs scaled out (CACHE_URL=redis://…)."""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid

import pytest
from django.conf import settings as django_settings

from integrations import providers, services
from integrations.ratelimit import SharedRateLimiter, account_key
from integrations.tests.fakes.instantly import FakeInstantly


@pytest.fixture
def store(settings, tmp_path):
    """The configured store: a fresh SQLite file on the embedded layout, else Redis."""
    if settings.RATE_LIMIT_DB:
        settings.RATE_LIMIT_DB = str(tmp_path / "ratelimit.sqlite3")
        return "sqlite"
    return "redis"


def _over_limit(times: list[float], count: int, period: float) -> int:
    """How many calls had ``count`` or more others in the ``period`` before them."""
    times = sorted(times)
    slack = 1e-6
    return sum(1 for i in range(count, len(times)) if times[i] - times[i - count] < period - slack)


def test_threads_together_stay_under_the_limit(store):
    limiter = SharedRateLimiter(f"test:{uuid.uuid4().hex}", [(10, 0.5)])
    times: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(10):
            granted = limiter.acquire()
            with lock:
                times.append(granted)

    threads = [threading.Thread(target=work) for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(times) == 40
    assert _over_limit(times, 10, 0.5) == 0
    # 40 calls at 10 per half second: at least 1.5 s, and not much more (no lost turns).
    assert 1.4 < time.monotonic() - started < 4.0


def _process(key: str, windows, n: int, queue) -> None:
    limiter = SharedRateLimiter(key, windows)
    for _ in range(n):
        # The time the store counted the call: the property under test is the store's, and
        # a clock read after acquire() returns may come late on a busy machine.
        queue.put(limiter.acquire())


def test_two_processes_share_one_window(store):
    key = f"test:{uuid.uuid4().hex}"
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [
        context.Process(target=_process, args=(key, [(8, 0.5)], 12, queue)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    times = [queue.get(timeout=30) for _ in range(24)]
    for worker in workers:
        worker.join(timeout=30)
    assert _over_limit(times, 8, 0.5) == 0


def test_a_full_window_says_how_long_to_wait(store):
    limiter = SharedRateLimiter(f"test:{uuid.uuid4().hex}", [(2, 10.0)])
    assert limiter.try_acquire() == 0
    assert limiter.try_acquire() == 0
    wait = limiter.try_acquire()
    assert 9.0 < wait <= 10.0


def test_account_keys_name_the_account_without_showing_it():
    key = account_key("hunter", "hk_secret_0123456789")
    assert key.startswith("hunter:") and "secret" not in key
    assert key == account_key("hunter", "hk_secret_0123456789")
    assert key != account_key("hunter", "hk_secret_0123456780")


@pytest.fixture
def instantly(settings):
    server = FakeInstantly().start()
    settings.INSTANTLY_API_URL = server.url
    yield server
    server.stop()


@pytest.mark.django_db
def test_two_instantly_integrations_on_one_workspace_share_its_limit(instantly, store):
    from leads.tests.factories import UserFactory

    instantly.add_account("key-one-0123456789", workspace="shared")
    instantly.add_account("key-two-0123456789", workspace="shared")
    instantly.add_account("key-other-01234567", workspace="elsewhere")
    clients = []
    for name, key in (("a", "key-one-0123456789"), ("b", "key-two-0123456789"),
                      ("c", "key-other-01234567")):  # fmt: skip
        integration = services.integration_create(
            user=UserFactory(username=name), provider="instantly",
            credentials={"api_key": key}, settings={},
        )  # fmt: skip
        clients.append(providers.client_for(integration))
        integration.refresh_from_db()
        assert integration.options["workspace_id"]
    one, two, other = (client.limiter.key for client in clients)
    assert one == two != other
    assert one.startswith("instantly:")


def test_store_is_the_one_configured():
    # The embedded layout keeps the window beside the main database; scaled out, in Redis.
    if django_settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache"):
        assert django_settings.RATE_LIMIT_DB
    else:
        assert not django_settings.RATE_LIMIT_DB
