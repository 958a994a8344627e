"""End to end: the /v1 API queues runs, a real Celery worker executes them against fake vendor
servers on 127.0.0.1 that page, authenticate, fail and rate-limit like the real ones."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django.db.models import Q

from crm.celery import app as celery_app
from integrations.models import ExternalLink, Integration, SyncRun
from integrations.tests.fakes.hunter import FakeHunter
from integrations.tests.fakes.instantly import FakeInstantly
from integrations.tests.fakes.snovio import FakeSnovio
from leads.models import Company, Lead, LeadEvent
from leads.tests.conftest import ApiClient
from leads.tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

HUNTER_KEY = "hunter-e2e-key-000111222333"
SNOV_ID, SNOV_SECRET = "snov-e2e-client-0001", "snov-e2e-secret-9999"
INSTANTLY_KEY = "instantly-e2e-key-000111222333"


@pytest.fixture(scope="module")
def worker() -> Iterator[None]:
    # The broker is set for the whole test process by the root conftest.
    with start_worker(
        celery_app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=30
    ):
        yield


@pytest.fixture(scope="module")
def hunter_server():
    server = FakeHunter().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def snovio_server():
    server = FakeSnovio().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def instantly_server():
    server = FakeInstantly().start()
    yield server
    server.stop()


@pytest.fixture
def e2e_settings(settings):
    settings.SYNC_RETRY_DELAY = 0
    settings.SYNC_RETRY_MAX_DELAY = 2
    # Short, so that the fakes' "timeout" fault (a 3 s sleep) costs little; not so short that
    # a page answered slowly on a loaded machine times out as well: at 1 s the 500-fault run
    # once took an attempt more than its four faults.
    settings.VENDOR_READ_TIMEOUT = 2
    settings.HUNTER_RATE_LIMIT = []
    settings.SNOVIO_RATE_LIMIT = []
    settings.INSTANTLY_RATE_LIMIT = []
    return settings


@pytest.fixture
def hunter(hunter_server, e2e_settings):
    hunter_server.reset()
    hunter_server.rate_limits = []
    hunter_server.add_account(HUNTER_KEY)
    e2e_settings.HUNTER_API_URL = hunter_server.url
    return hunter_server


@pytest.fixture
def snovio(snovio_server, e2e_settings):
    snovio_server.reset()
    snovio_server.rate_limits = []
    snovio_server.add_account(SNOV_ID, SNOV_SECRET)
    e2e_settings.SNOVIO_API_URL = snovio_server.url
    return snovio_server


@pytest.fixture
def instantly(instantly_server, e2e_settings):
    instantly_server.reset()
    instantly_server.rate_limits = []
    instantly_server.add_account(INSTANTLY_KEY)
    e2e_settings.INSTANTLY_API_URL = instantly_server.url
    return instantly_server


@pytest.fixture
def rep_api(db) -> ApiClient:
    return ApiClient(UserFactory(username="e2e-rep"))


def connect(api: ApiClient, provider: str, credentials: dict, settings: dict) -> int:
    response = api.post(
        "/v1/integrations",
        {"provider": provider, "credentials": credentials, "settings": settings},
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def start(api: ApiClient, integration_id: int, direction: str, body=None) -> int:
    response = api.post(f"/v1/integrations/{integration_id}/{direction}", body)
    assert response.status_code == 202, response.content
    return response.json()["id"]


def wait(api: ApiClient, run_id: int, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = api.get(f"/v1/sync-runs/{run_id}").json()
        if run["state"] not in ("queued", "running"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still {run['state']} after {timeout}s: {run}")


def hunter_import(api: ApiClient, hunter: FakeHunter, n: int) -> tuple[int, int]:
    list_id = hunter.add_list(HUNTER_KEY, "Fair")
    hunter.seed(HUNTER_KEY, n, list_id=list_id)
    integration_id = connect(api, "hunter", {"api_key": HUNTER_KEY}, {"import_list_id": list_id})
    return integration_id, start(api, integration_id, "import")


def test_hunter_import_of_5000_lands_exactly_and_again_changes_nothing(worker, hunter, rep_api):
    integration_id, run_id = hunter_import(rep_api, hunter, 5000)
    run = wait(rep_api, run_id)
    assert run["state"] == "succeeded", run
    assert (run["processed"], run["total"], run["created"], run["failed"]) == (5000, 5000, 5000, 0)
    user = rep_api.user
    assert Lead.objects.filter(user=user).count() == 5000
    assert ExternalLink.objects.count() == 5000
    # Companies are deduplicated: never more than one per domain.
    domains = list(
        Company.objects.filter(user=user).exclude(domain="").values_list("domain", flat=True)
    )
    assert len(domains) == len(set(domains))
    assert Company.objects.filter(user=user).count() < 5000
    # Statuses and scores come from the vendor's signals; custom attributes are kept.
    assert Lead.objects.filter(user=user, status="contacted").exists()
    assert Lead.objects.filter(user=user, score__gt=0).exists()
    assert Lead.objects.filter(user=user, email="").exists()  # Hunter leads with names only
    assert Lead.objects.filter(user=user).exclude(custom_attributes={}).exists()
    snapshot = (Lead.objects.count(), Company.objects.count(), LeadEvent.objects.count())

    again = wait(rep_api, start(rep_api, integration_id, "import"))
    assert again["state"] == "succeeded"
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 5000)
    assert (Lead.objects.count(), Company.objects.count(), LeadEvent.objects.count()) == snapshot


def test_local_edits_survive_and_converted_is_never_moved_back(worker, hunter, rep_api):
    integration_id, run_id = hunter_import(rep_api, hunter, 60)
    assert wait(rep_api, run_id)["state"] == "succeeded"
    contacted = Lead.objects.filter(user=rep_api.user, status="contacted").first()
    other = Lead.objects.filter(user=rep_api.user).exclude(pk=contacted.pk).first()
    rep_api.patch(f"/v1/leads/{contacted.pk}", {"status": "converted"})
    rep_api.patch(
        f"/v1/leads/{other.pk}", {"first_name": "Edited by hand", "score": 3, "notes": "mine"}
    )
    run = wait(rep_api, start(rep_api, integration_id, "import"))
    assert run["state"] == "succeeded"
    contacted.refresh_from_db()
    other.refresh_from_db()
    assert contacted.status == "converted"
    assert (other.first_name, other.score, other.notes) == ("Edited by hand", 3, "mine")


def test_hunter_export_twice_duplicates_nothing(worker, hunter, rep_api):
    _, run_id = hunter_import(rep_api, hunter, 120)
    assert wait(rep_api, run_id)["state"] == "succeeded"
    target = hunter.add_list(HUNTER_KEY, "Export target")
    integration = Integration.objects.get(user=rep_api.user)
    rep_api.patch(f"/v1/integrations/{integration.pk}", {"settings": {"export_list_id": target}})
    before = hunter.count(HUNTER_KEY)
    first = wait(rep_api, start(rep_api, integration.pk, "export"))
    assert first["state"] in ("succeeded", "partial"), first
    assert first["processed"] == 120
    # Every lead with an email was upserted by email: none is new at Hunter.
    with_email = Lead.objects.filter(user=rep_api.user).exclude(email="")
    assert hunter.count(HUNTER_KEY) == before
    # Leads Hunter reported unsubscribed (do-not-contact) or bounced (an invalid email) are
    # never sent: counted skipped.
    held = Lead.objects.filter(user=rep_api.user).filter(
        Q(do_not_contact=True) | Q(email_status="invalid")
    )
    assert held.filter(do_not_contact=True).exists()
    assert first["skipped"] == held.count()
    assert first["updated"] >= with_email.exclude(pk__in=held).count()
    second = wait(rep_api, start(rep_api, integration.pk, "export"))
    assert second["created"] == 0
    assert hunter.count(HUNTER_KEY) == before


@pytest.mark.parametrize(
    ("fault", "times"),
    [("429", 3), ("500", 4), ("timeout", 2), ("drop", 3), ("garbage", 2)],
)
def test_transient_faults_end_with_nothing_lost_or_doubled(worker, hunter, rep_api, fault, times):
    hunter.inject(fault, times=times, path="/leads", after=3)
    _, run_id = hunter_import(rep_api, hunter, 1000)
    run = wait(rep_api, run_id, timeout=90)
    assert run["state"] == "succeeded", run
    assert (run["created"], run["processed"]) == (1000, 1000)
    assert Lead.objects.filter(user=rep_api.user).count() == 1000
    assert ExternalLink.objects.count() == 1000
    assert SyncRun.objects.get(pk=run_id).attempts == times + 1


def test_401_mid_run_fails_clearly_keeps_what_landed_and_resumes_with_new_credentials(
    worker, hunter, rep_api
):
    hunter.inject("401", times=1, path="/leads", after=4)
    integration_id, run_id = hunter_import(rep_api, hunter, 1000)
    run = wait(rep_api, run_id)
    assert run["state"] == "failed"
    assert "Enter new credentials" in run["error"]
    assert HUNTER_KEY not in run["error"]
    integration = rep_api.get(f"/v1/integrations/{integration_id}").json()
    assert integration["state"] == "needs_credentials"
    assert Lead.objects.filter(user=rep_api.user).count() == 400  # four pages landed
    rep_api.patch(f"/v1/integrations/{integration_id}", {"credentials": {"api_key": HUNTER_KEY}})
    rerun = wait(rep_api, start(rep_api, integration_id, "import"))
    assert rerun["state"] == "succeeded"
    assert (rerun["created"], rerun["unchanged"]) == (600, 400)
    assert Lead.objects.filter(user=rep_api.user).count() == 1000


def test_client_never_exceeds_the_vendors_rate_limit(worker, hunter, rep_api, e2e_settings):
    hunter.rate_limits = [(5, 1.0)]
    e2e_settings.HUNTER_RATE_LIMIT = [(4, 1.0)]
    _, run_id = hunter_import(rep_api, hunter, 1500)  # 15 pages
    run = wait(rep_api, run_id)
    assert run["state"] == "succeeded"
    assert hunter.violations == 0
    assert run["created"] == 1500


def test_snovio_import_skips_prospects_without_email_and_survives_token_expiry(
    worker, snovio, rep_api
):
    snovio.seed(SNOV_ID, 777, 5000, name="Webinar")
    integration_id = connect(
        rep_api,
        "snovio",
        {"client_id": SNOV_ID, "client_secret": SNOV_SECRET},
        {"import_list_id": 777, "export_list_id": 778},
    )
    run = wait(rep_api, start(rep_api, integration_id, "import"))
    assert run["state"] == "succeeded", run
    assert run["processed"] == run["total"] == 5000
    assert run["created"] + run["skipped"] == 5000
    assert run["skipped"] == 500  # one prospect in ten has no email
    assert Lead.objects.filter(user=rep_api.user).count() == 4500
    assert Integration.objects.get().access_token_encrypted  # the token is cached, encrypted

    snovio.expire_tokens()
    again = wait(rep_api, start(rep_api, integration_id, "import"))
    assert again["state"] == "succeeded"
    assert (again["created"], again["unchanged"], again["skipped"]) == (0, 4500, 500)

    snovio.add_list(SNOV_ID, "Export", list_id=778)
    exported = wait(rep_api, start(rep_api, integration_id, "export", {"status": "new"}))
    assert exported["state"] == "succeeded", exported
    sent = len(snovio.prospects(778))
    assert sent == exported["created"] > 0
    twice = wait(rep_api, start(rep_api, integration_id, "export", {"status": "new"}))
    assert twice["created"] == 0
    assert len(snovio.prospects(778)) == sent


def test_cancel_a_running_import(worker, hunter, rep_api, e2e_settings):
    hunter.rate_limits = []
    e2e_settings.HUNTER_RATE_LIMIT = [(2, 1.0)]  # slow enough to cancel mid-way
    _, run_id = hunter_import(rep_api, hunter, 3000)
    deadline = time.monotonic() + 20
    while rep_api.get(f"/v1/sync-runs/{run_id}").json()["processed"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    rep_api.post(f"/v1/sync-runs/{run_id}/cancel")
    run = wait(rep_api, run_id)
    assert run["state"] == "cancelled"
    assert 0 < run["processed"] < 3000
    assert Lead.objects.filter(user=rep_api.user).count() == run["created"]
    connection.close()


def test_instantly_import_maps_interest_and_export_pushes_the_pipeline_back(
    worker, instantly, rep_api
):
    source = instantly.add_list(INSTANTLY_KEY, "Campaign replies")
    instantly.seed(INSTANTLY_KEY, source, 5000)
    target = instantly.add_list(INSTANTLY_KEY, "Qualified by the CRM")
    integration_id = connect(
        rep_api,
        "instantly",
        {"api_key": INSTANTLY_KEY},
        {"import_list_id": source, "export_list_id": target},
    )
    run = wait(rep_api, start(rep_api, integration_id, "import"))
    assert run["state"] == "succeeded", run
    assert (run["processed"], run["created"]) == (5000, 5000)
    by_status = rep_api.get("/v1/leads/stats").json()["by_status"]
    # Interest statuses became pipeline statuses: interested/meetings → qualified,
    # closed → converted, not interested/wrong person/lost → lost.
    assert by_status["qualified"] > 0
    assert by_status["converted"] > 0
    assert by_status["lost"] > 0
    again = wait(rep_api, start(rep_api, integration_id, "import"))
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 5000)

    exported = wait(rep_api, start(rep_api, integration_id, "export", {"status": "converted"}))
    assert exported["state"] == "succeeded", exported
    assert exported["processed"] == by_status["converted"]
    converted = Lead.objects.filter(user=rep_api.user, status="converted")
    # Unsubscribed at Instantly (status -2: do-not-contact) or bounced (-1: an invalid email):
    # never exported again.
    blocked = converted.filter(Q(do_not_contact=True) | Q(email_status="invalid")).count()
    assert exported["skipped"] == blocked
    # The leads came from the source list and are linked: they are moved to the chosen list,
    # not added a second time.
    in_target = instantly.count_leads(INSTANTLY_KEY, target)
    assert exported["created"] == 0
    assert in_target == exported["updated"] == by_status["converted"] - blocked
    assert {value for _, _, value, _ in instantly.interest_updates} == {4}
    twice = wait(rep_api, start(rep_api, integration_id, "export", {"status": "converted"}))
    assert (twice["created"], twice["updated"]) == (0, 0)
    assert twice["unchanged"] == in_target
    assert instantly.count_leads(INSTANTLY_KEY, target) == in_target
