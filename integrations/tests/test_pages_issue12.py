"""The integration pages as a new rep meets them: refused credentials switch the sync buttons
off, "Export all" asks first with a count, failures name their lead, runs estimate the end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from integrations import engine, providers, services
from integrations.http import AuthError
from integrations.models import Integration, SyncFailure, SyncRun
from integrations.tests.conftest import ScriptedClient
from leads.models import Lead
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(rep):
    client = Client()
    client.force_login(rep)
    return client


class RefusingClient(ScriptedClient):
    refuse = True

    def check(self) -> None:
        if self.refuse:
            raise AuthError("hunter: No user found for the API key supplied", status=401)


@pytest.fixture
def refusing(monkeypatch):
    client = RefusingClient([[]])
    monkeypatch.setattr(providers, "client_for", lambda integration, **kw: client)
    return client


def test_a_refused_key_switches_import_and_export_off_until_a_test_passes(
    web, hunter_integration, refusing
):
    url = f"/integrations/{hunter_integration.pk}/"
    web.post(f"{url}test/")
    hunter_integration.refresh_from_db()
    assert hunter_integration.state == Integration.State.NEEDS_CREDENTIALS
    html = web.get(url).content.decode()
    assert 'data-testid="needs-credentials"' in html
    assert 'data-testid="start-import" disabled' in html
    assert 'data-testid="start-export" disabled' in html
    # The server refuses too, whatever the page shows.
    response = web.post(f"{url}import/", follow=True)
    assert "refused the saved credentials" in response.content.decode()
    assert not SyncRun.objects.exists()

    refusing.refuse = False
    web.post(f"{url}test/")
    html = web.get(url).content.decode()
    assert 'data-testid="start-import" disabled' not in html
    assert 'data-testid="needs-credentials"' not in html


def test_export_all_asks_first_with_the_count_without_do_not_contact(
    web, rep, hunter_integration, monkeypatch
):
    monkeypatch.setattr("integrations.tasks.enqueue_run", lambda run: None)
    company = CompanyFactory(user=rep, name="Acme", domain="acme.com")
    for n in range(5):
        make_lead(user=rep, company=company, email=f"p{n}@acme.com")
    Lead.objects.filter(email="p0@acme.com").update(do_not_contact=True)
    Lead.objects.filter(email="p4@acme.com").update(email_status="invalid")
    url = f"/integrations/{hunter_integration.pk}/"
    # One click without the confirmation starts nothing: it lands on the question.
    response = web.post(f"{url}export/")
    assert response.status_code == 302 and response["Location"].endswith("/export-all/")
    assert not SyncRun.objects.exists()
    page = web.get(f"{url}export-all/").content.decode()
    assert "<strong>3</strong> leads will be sent to Hunter" in page
    assert "2 leads marked do-not-contact or with an email known to bounce" in page
    web.post(f"{url}export/", {"confirmed": "1"})
    assert SyncRun.objects.filter(direction="export").count() == 1


def test_failures_name_and_link_their_lead_in_one_query(
    web, rep, hunter_integration, django_assert_max_num_queries
):
    company = CompanyFactory(user=rep, name="Acme", domain="acme.com")
    run = SyncRun.objects.create(
        integration=hunter_integration, user=rep, provider="hunter", direction="export",
        state="partial", failed=6,
    )  # fmt: skip
    leads = [
        make_lead(user=rep, company=company, first_name=f"Ann{n}", email=f"a{n}@acme.com")
        for n in range(5)
    ]
    for lead in leads:
        SyncFailure.objects.create(run=run, lead=lead, record=f"lead {lead.pk}", detail="refused")
    SyncFailure.objects.create(run=run, record="gone@acme.com", detail="refused")
    with django_assert_max_num_queries(12):
        html = web.get(f"/sync-runs/{run.pk}/").content.decode()
    for lead in leads:
        assert f'href="/leads/{lead.pk}/"' in html
        assert f"Ann{leads.index(lead)}" in html
    assert "gone@acme.com" in html


def test_a_running_run_estimates_its_end(rep, hunter_integration):
    run = engine.run_claim(integration=hunter_integration, direction="import")
    SyncRun.objects.filter(pk=run.pk).update(
        state="running", total=5000, processed=500,
        started_at=timezone.now() - timedelta(minutes=10),
    )  # fmt: skip
    run.refresh_from_db()
    minutes, finish = run.eta
    assert minutes == 90  # 500 in 10 minutes: 4,500 more take 90
    assert timedelta(minutes=89) < finish - timezone.now() < timedelta(minutes=91)
    SyncRun.objects.filter(pk=run.pk).update(processed=3)
    run.refresh_from_db()
    assert run.eta is None  # too little done to tell


def test_services_keep_the_connect_flow(rep):
    integration = services.integration_create(
        user=rep, provider="hunter", credentials={"api_key": "hk_0123456789abcdef"}, settings={}
    )
    assert integration.state == Integration.State.ACTIVE


def test_snovio_settings_page_turns_full_profiles_off(web, snovio_integration, monkeypatch):
    from integrations.records import VendorList

    monkeypatch.setattr(
        services, "integration_lists", lambda integration: [VendorList(id="77", name="Fair")]
    )
    url = f"/integrations/{snovio_integration.pk}/"
    page = web.get(url).content.decode()
    assert 'name="full_profiles"' in page and "checked" in page
    web.post(f"{url}settings/", {"import_list_id": "77", "export_target": "", "schedule": "manual"})
    snovio_integration.refresh_from_db()
    assert snovio_integration.options["full_profiles"] is False
    web.post(
        f"{url}settings/",
        {"import_list_id": "77", "export_target": "", "schedule": "manual", "full_profiles": "on"},
    )
    snovio_integration.refresh_from_db()
    assert snovio_integration.options["full_profiles"] is True


def test_snovio_settings_page_maps_attributes_to_snov_fields(web, snovio_integration, monkeypatch):
    from integrations.records import VendorList

    monkeypatch.setattr(
        services, "integration_lists", lambda integration: [VendorList(id="77", name="Fair")]
    )
    url = f"/integrations/{snovio_integration.pk}/"
    form = {"import_list_id": "77", "export_target": "", "schedule": "manual"}
    mapped = {"lead_source": "Source", "plan": "Plan"}
    web.post(f"{url}settings/", {**form, "custom_field_map": "lead_source = Source\n\nplan=Plan"})
    snovio_integration.refresh_from_db()
    assert snovio_integration.options["custom_field_map"] == mapped
    assert "lead_source = Source" in web.get(url).content.decode()
    response = web.post(
        f"{url}settings/", {**form, "custom_field_map": "no equals sign"}, follow=True
    )
    assert "Line 1: write it as" in response.content.decode()
    snovio_integration.refresh_from_db()
    assert snovio_integration.options["custom_field_map"] == mapped


def test_snovio_settings_page_keeps_the_apis_limits_on_the_mapping(
    web, snovio_integration, monkeypatch
):
    from integrations.records import VendorList

    monkeypatch.setattr(
        services, "integration_lists", lambda integration: [VendorList(id="77", name="Fair")]
    )
    url = f"/integrations/{snovio_integration.pk}/"
    form = {"import_list_id": "77", "export_target": "", "schedule": "manual"}
    response = web.post(f"{url}settings/", {**form, "custom_field_map": "a = x[1]"}, follow=True)
    assert "may not contain brackets" in response.content.decode()
    snovio_integration.refresh_from_db()
    assert "custom_field_map" not in snovio_integration.options
