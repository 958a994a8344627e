from __future__ import annotations

import pytest
from django.test import Client

from integrations import crypto, engine, providers, services
from integrations.models import Integration, SyncFailure, SyncRun
from integrations.tests.conftest import ScriptedClient
from leads.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SECRET = "hk_page_SECRET_0123456789abcd"


@pytest.fixture
def web(rep):
    client = Client()
    client.force_login(rep)
    client.user = rep
    return client


@pytest.fixture
def scripted(monkeypatch):
    client = ScriptedClient([[]])
    monkeypatch.setattr(providers, "client_for", lambda integration, **kw: client)
    return client


def test_pages_need_sign_in():
    for path in ["/integrations/", "/integrations/1/", "/sync-runs/1/"]:
        assert Client().get(path).status_code == 302


def test_connect_tests_the_credentials_and_never_shows_them(web, scripted):
    response = web.post("/integrations/connect/hunter/", {"api_key": SECRET}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "connected: the credentials work" in html
    assert SECRET not in html
    integration = Integration.objects.get(user=web.user)
    assert crypto.decrypt_json(integration.credentials_encrypted) == {"api_key": SECRET}
    for path in ["/integrations/", f"/integrations/{integration.pk}/"]:
        assert SECRET not in web.get(path).content.decode()


def test_connect_with_missing_credentials_explains_and_stores_nothing(web, scripted):
    response = web.post("/integrations/connect/snovio/", {"client_id": "abc"}, follow=True)
    assert "client_secret is required" in response.content.decode()
    assert Integration.objects.count() == 0
    assert web.post("/integrations/connect/salesforce/", {}).status_code == 404


def test_settings_lists_come_from_the_vendor(web, scripted):
    integration = services.integration_create(
        user=web.user, provider="hunter", credentials={"api_key": SECRET}, settings={}
    )
    page = web.get(f"/integrations/{integration.pk}/").content.decode()
    assert "Main (1)" in page  # the scripted vendor's one list
    response = web.post(
        f"/integrations/{integration.pk}/settings/",
        {"import_list_id": "1", "export_target": "list:1", "schedule": "daily"},
        follow=True,
    )
    assert "Settings saved." in response.content.decode()
    integration.refresh_from_db()
    assert (integration.import_list_id, integration.export_list_id, integration.schedule) == (
        1,
        1,
        "daily",
    )
    bad = web.post(
        f"/integrations/{integration.pk}/settings/",
        {"import_list_id": "999", "schedule": "daily"},
        follow=True,
    )
    assert "Import from" in bad.content.decode()
    integration.refresh_from_db()
    assert integration.import_list_id == 1


def test_start_watch_cancel_and_failures(web, scripted):
    integration = services.integration_create(
        user=web.user, provider="hunter", credentials={"api_key": SECRET}, settings={}
    )
    web.post(f"/integrations/{integration.pk}/import/")
    run = SyncRun.objects.get()
    assert run.state == "queued"
    again = web.post(f"/integrations/{integration.pk}/import/", follow=True)
    assert "already queued" in again.content.decode()
    progress = web.get(f"/sync-runs/{run.pk}/progress/").content.decode()
    assert 'hx-trigger="every 1s"' in progress  # it keeps polling while active
    cancelled = web.post(f"/sync-runs/{run.pk}/cancel/", HTTP_HX_REQUEST="true")
    assert "Cancelled" in cancelled.content.decode()
    assert 'hx-trigger="every 1s"' not in cancelled.content.decode()
    SyncFailure.objects.create(run=run, record="bad@x", detail="invalid email")
    SyncRun.objects.filter(pk=run.pk).update(failed=1)
    assert "invalid email" in web.get(f"/sync-runs/{run.pk}/").content.decode()


def test_another_users_integration_and_runs_are_404(web, scripted):
    other = UserFactory(username="someone-else")
    theirs = services.integration_create(
        user=other, provider="hunter", credentials={"api_key": SECRET}, settings={}
    )
    run = engine.run_claim(integration=theirs, direction="import")
    for method, path in [
        ("get", f"/integrations/{theirs.pk}/"),
        ("post", f"/integrations/{theirs.pk}/settings/"),
        ("post", f"/integrations/{theirs.pk}/test/"),
        ("post", f"/integrations/{theirs.pk}/disconnect/"),
        ("post", f"/integrations/{theirs.pk}/import/"),
        ("get", f"/sync-runs/{run.pk}/"),
        ("get", f"/sync-runs/{run.pk}/progress/"),
        ("post", f"/sync-runs/{run.pk}/cancel/"),
    ]:
        assert getattr(web, method)(path).status_code == 404, path
    assert Integration.objects.filter(pk=theirs.pk).exists()
    run.refresh_from_db()
    assert run.state == "queued"
    assert "someone-else" not in web.get("/integrations/").content.decode()


def test_disconnect_keeps_leads(web, scripted):
    from leads.tests.factories import make_lead

    integration = services.integration_create(
        user=web.user, provider="hunter", credentials={"api_key": SECRET}, settings={}
    )
    lead = make_lead(user=web.user, email="stay@x.com")
    web.post(f"/integrations/{integration.pk}/disconnect/")
    assert not Integration.objects.exists()
    lead.refresh_from_db()


def test_export_selected_leads_or_the_current_filters(web, scripted):
    from leads.tests.factories import make_lead

    integration = services.integration_create(
        user=web.user,
        provider="hunter",
        credentials={"api_key": SECRET},
        settings={"export_list_id": 5},
    )
    mine = make_lead(user=web.user, email="m@x.com")
    theirs = make_lead(user=UserFactory(username="x"), email="t@x.com")
    response = web.post(
        "/integrations/export/",
        {"integration": integration.pk, "lead_ids": [mine.pk, theirs.pk]},
    )
    assert response.status_code == 302
    run = SyncRun.objects.get()
    assert run.params == {"lead_ids": [mine.pk]}  # another user's id is simply not exported
    SyncRun.objects.update(state="succeeded")
    web.post("/integrations/export/", {"integration": integration.pk, "status": "qualified"})
    assert SyncRun.objects.order_by("-id").first().params == {"filters": {"status": "qualified"}}
    SyncRun.objects.update(state="succeeded")
    bad = web.post(
        "/integrations/export/",
        {"integration": integration.pk, "min_score": "x", "next": "//evil.example"},
    )
    assert bad["Location"] == "/leads/"
    assert SyncRun.objects.count() == 2
    other = services.integration_create(
        user=UserFactory(username="y"), provider="hunter", credentials={"api_key": SECRET},
        settings={},
    )  # fmt: skip
    assert web.post("/integrations/export/", {"integration": other.pk}).status_code == 404
    assert web.post("/integrations/export/", {"integration": "abc"}).status_code == 404


def test_leads_list_offers_csv_and_provider_export_with_its_filters(web, scripted):
    from leads.tests.factories import make_lead

    lead = make_lead(user=web.user, email="list@x.com", status="qualified")
    page = web.get("/leads/", {"status": "qualified", "q": "list"}).content.decode()
    assert "/leads/export.csv?q=list&amp;status=qualified" in page
    assert "Export to provider" not in page  # nothing connected yet
    integration = services.integration_create(
        user=web.user, provider="hunter", credentials={"api_key": SECRET}, settings={}
    )
    page = web.get("/leads/").content.decode()
    assert "Export to provider" in page
    # The list's checkboxes are named "ids".
    web.post("/integrations/export/", {"integration": integration.pk, "ids": [lead.pk]})
    assert SyncRun.objects.get().params == {"lead_ids": [lead.pk]}


def test_lead_page_has_an_export_button_per_connected_provider(web, scripted):
    from leads.tests.factories import make_lead

    lead = make_lead(user=web.user, email="one@x.com")
    assert "Export to Hunter" not in web.get(f"/leads/{lead.pk}/").content.decode()
    integration = services.integration_create(
        user=web.user, provider="hunter", credentials={"api_key": SECRET}, settings={}
    )
    assert "Export to Hunter" in web.get(f"/leads/{lead.pk}/").content.decode()
    response = web.post(
        "/integrations/export/",
        {"integration": integration.pk, "lead_ids": lead.pk, "next": f"/leads/{lead.pk}/"},
    )
    assert response.status_code == 302
    assert SyncRun.objects.get().params == {"lead_ids": [lead.pk]}


def test_an_instantly_campaign_option_is_not_prefixed_twice(web, monkeypatch):
    """Issue 15 item 9: the option value read ``campaign:campaign:<uuid>``."""
    from integrations.records import VendorList

    client = ScriptedClient()
    client.lists = lambda: [
        VendorList(id="campaign:8f2c", name="Q4 outreach", kind="campaign"),
        VendorList(id="list-1", name="Fair leads", kind="list"),
    ]
    monkeypatch.setattr(providers, "client_for", lambda integration, **kw: client)
    integration = services.integration_create(
        user=web.user, provider="instantly", credentials={"api_key": SECRET}, settings={}
    )
    page = web.get(f"/integrations/{integration.pk}/").content.decode()
    assert 'value="campaign:8f2c"' in page and "campaign:campaign:" not in page
    assert 'value="list:list-1"' in page
    web.post(
        f"/integrations/{integration.pk}/settings/",
        {"import_list_id": "", "export_target": "campaign:8f2c", "schedule": "manual"},
    )
    integration.refresh_from_db()
    assert integration.export_campaign_id == "campaign:8f2c"  # what the client reads
    page = web.get(f"/integrations/{integration.pk}/").content.decode()
    assert 'value="campaign:8f2c" selected' in page
