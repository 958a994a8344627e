"""Connect Hunter in the browser against a fake Hunter and watch a real import finish."""

from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker

from crm.celery import app as celery_app
from integrations.tests.fakes.hunter import FakeHunter
from leads.models import Lead

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

KEY = "hunter-browser-key-0123456789"


@pytest.fixture
def hunter(settings):
    server = FakeHunter().start()
    server.rate_limits = []
    server.add_account(KEY)
    settings.HUNTER_API_URL = server.url
    settings.HUNTER_RATE_LIMIT = [(20, 1.0)]  # slow enough to see the progress bar move
    yield server
    server.stop()


@pytest.fixture
def worker():
    # The broker is set for the whole test process by the root conftest.
    with start_worker(
        celery_app, pool="threads", concurrency=1, perform_ping_check=False, shutdown_timeout=30
    ):
        yield


def test_connect_pick_a_list_import_and_watch_it_finish(signed_in, hunter, worker):
    list_id = hunter.add_list(KEY, "Trade fair 2026")
    hunter.seed(KEY, 1200, list_id=list_id)
    session = signed_in("importer")
    page = session.go("/integrations/")
    card = page.get_by_test_id("provider-hunter")
    card.get_by_label("API key").fill(KEY)
    card.get_by_role("button", name="Connect Hunter").click()
    page.get_by_text("connected: the credentials work").wait_for()
    assert KEY not in page.content()

    page.get_by_label("Import from").select_option(label="Trade fair 2026 (1200)")
    page.get_by_label("Schedule").select_option("daily")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("Settings saved.").wait_for()

    page.get_by_test_id("start-import").click()
    page.locator("[data-state='running'], [data-state='queued']").first.wait_for()
    session.screenshot("integrations-running")
    page.locator("[data-state='succeeded']").first.wait_for(timeout=30_000)
    counts = page.get_by_test_id("run-counts").first.inner_text()
    assert "1200 of 1200 processed" in counts
    assert "created 1200" in counts
    assert Lead.objects.filter(user=session.user).count() == 1200
    session.screenshot("integrations")
    assert session.console_errors == []
