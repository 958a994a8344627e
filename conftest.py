import os
import uuid
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # The manifest storage needs collectstatic; tests serve files straight from the finders.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture(autouse=True)
def _isolated_rate_limit(settings, tmp_path):
    # Test databases reuse user ids: give each test its own request counters.
    if settings.RATE_LIMIT_DB:
        settings.RATE_LIMIT_DB = str(tmp_path / "ratelimit.sqlite3")
    else:
        # Scaled out (CACHE_URL=redis://…) the counters live in the shared cache, as in
        # production; a key prefix of the test's own keeps them apart from other tests' and
        # from the other xdist worker's, which share that Redis.
        settings.CACHES = {
            **settings.CACHES,
            "default": {**settings.CACHES["default"], "KEY_PREFIX": f"t{uuid.uuid4().hex}"},
        }


@pytest.fixture
def clock(monkeypatch):
    """The rate counters' clock, held still and moved by hand (``clock.now += 900``).

    The counters count in fixed windows: a test that sends N requests and expects the last
    one refused would see it allowed whenever a new minute began between them. The clock
    starts on the first second of a window of any period up to an hour (1.8e9 is a
    whole number of hours).
    """
    import time
    from types import SimpleNamespace

    from crm import throttling

    fake = SimpleNamespace(now=1_800_000_000.0)
    monkeypatch.setattr(
        throttling, "time", SimpleNamespace(time=lambda: fake.now, sleep=time.sleep)
    )
    return fake


@pytest.fixture(autouse=True)
def _plan_choices_forgotten():
    # Test databases reuse user ids: a window's count, a tally's figures or a search's plan
    # kept by an earlier test would change the statements this one's assertions count.
    from leads import list_sql

    list_sql._NOT_WIDE.clear()
    list_sql._TALLIES.clear()
    list_sql._PLANS.clear()


@pytest.fixture(scope="session", autouse=True)
def _celery_broker_for_tests():
    """Where tasks queued by this test process go, set before anything is sent.

    Tests never publish to the embedded default's broker file in DATA_DIR (a developer's
    running worker would pick the tasks up): on the embedded default the broker is kombu's
    in-memory transport. When the suite runs on Redis (CELERY_BROKER_URL=redis://…) it stays
    Redis, as in production, with a queue of this process's own, so the other xdist worker's
    tasks never reach this process's worker (they belong to the other test database).
    Tests that need a worker start one in this process (celery.contrib.testing.worker).
    """
    from crm.celery import app

    if app.conf.broker_url.startswith(("redis://", "rediss://")):
        app.conf.task_default_queue = f"crm-tests-{os.getpid()}"
    else:
        app.conf.broker_url = "memory://"
    return app


# --- browser tests ----------------------------------------------------------------------------
# Playwright drives Debian's Chromium (installed by `make test`); it never downloads a browser.
# Its sync API runs an event loop in this thread, so Django's async-safety check must be off
# for the ORM calls the tests make beside it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parent / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


class BrowserSession:
    """A signed-in browser tab against the live server, and the user it belongs to."""

    def __init__(self, browser, live_server, user, password: str) -> None:
        self.base = live_server.url
        self.user = user
        self.context = browser.new_context(viewport={"width": 1280, "height": 860})
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.page.on("console", self._console)
        self.page.goto(f"{self.base}/accounts/login/")
        self.page.get_by_label("Username").fill(user.username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(f"{self.base}/**")

    def _console(self, message) -> None:
        # A 422 is a form re-rendered with its errors on purpose; Chromium still logs it.
        if message.type == "error" and "status of 422" not in message.text:
            self.console_errors.append(message.text)

    def go(self, path: str):
        self.page.goto(f"{self.base}{path}")
        return self.page

    def htmx_settled(self) -> None:
        """Wait until htmx has no request, swap or settle under way.

        Content htmx swaps in gets its hx-* behaviour only when it settles (20 ms later by
        default), while Chromium may already have given an autofocus element the focus. Typing
        into a swapped-in control before then goes unheard by htmx.
        """
        self.page.wait_for_function(
            "() => !document.querySelector("
            "'.htmx-request, .htmx-swapping, .htmx-added, .htmx-settling')"
        )

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def signed_in(browser, live_server, django_user_model):
    """``signed_in("alice")`` → a BrowserSession for a new user of that name."""
    sessions: list[BrowserSession] = []

    def make(username: str = "rep") -> BrowserSession:
        password = "a-long-test-password-42"  # noqa: S105  (a throwaway test account)
        user = django_user_model.objects.create_user(username, password=password)
        session = BrowserSession(browser, live_server, user, password)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()
