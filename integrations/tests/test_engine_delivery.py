"""The engine's side of issue 12: delivery facts, detail fetching, export outcomes, lists cut
short. Against scripted in-memory clients; the vendor clients have their own tests."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from integrations import engine
from integrations.importer import record_digest
from integrations.models import ExternalLink, SyncFailure, SyncRun
from integrations.records import ExportLead, ExportOutcome, Page, VendorRecord
from integrations.tests.conftest import ScriptedClient
from leads.models import Company, Lead, LeadEvent
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = pytest.mark.django_db


def rec(vendor_id: str, email: str = "", **fields) -> VendorRecord:
    return VendorRecord(vendor_id=vendor_id, email=email, **fields)


def run(integration, client, direction="import", params=None) -> SyncRun:
    sync = engine.run_claim(integration=integration, direction=direction, params=params)
    outcome = engine.run_execute(run_id=sync.pk, client=client)
    assert isinstance(outcome, engine.Done), outcome
    sync.refresh_from_db()
    return sync


# --- digests --------------------------------------------------------------------------------


def test_digest_of_a_record_without_the_new_fields_is_the_one_stored_before():
    record = rec("7", "a@x.com", first_name="A", signals={"confidence": 3})
    old_fields = {
        k: v
        for k, v in vars(record).items()
        if k
        not in {
            "email_status",
            "email_verified_at",
            "do_not_contact_reason",
            "needs_details",
            "digest",
        }
    }
    before = hashlib.blake2b(
        json.dumps(old_fields, sort_keys=True, default=str).encode(), digest_size=16
    ).hexdigest()
    assert record_digest(record) == before
    assert record_digest(replace(record, email_status="invalid")) != before
    assert record_digest(replace(record, digest="x")) == before


# --- delivery facts on import ---------------------------------------------------------------


def test_import_marks_unsubscribed_and_bounced_leads(hunter_integration, rep):
    checked = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    client = ScriptedClient(
        [
            [
                rec("1", "gone@acme.com", do_not_contact_reason="unsubscribed"),
                rec("2", "bounce@acme.com", email_status="invalid"),
                rec("3", "ok@acme.com", email_status="valid", email_verified_at=checked),
                rec("4", "plain@acme.com"),
            ]
        ]
    )
    sync = run(hunter_integration, client)
    assert sync.created == 4
    gone = Lead.objects.get(email="gone@acme.com")
    assert (gone.do_not_contact, gone.do_not_contact_reason) == (True, "unsubscribed")
    bounce = Lead.objects.get(email="bounce@acme.com")
    assert (bounce.email_status, bounce.email_verified_by) == ("invalid", "hunter")
    assert bounce.email_verified_at is not None
    ok = Lead.objects.get(email="ok@acme.com")
    assert (ok.email_status, ok.email_verified_at) == ("valid", checked)
    plain = Lead.objects.get(email="plain@acme.com")
    assert (plain.do_not_contact, plain.email_status, plain.email_verified_by) == (
        False,
        "unknown",
        None,
    )


def test_a_later_import_marks_an_existing_lead_and_writes_history(hunter_integration, rep):
    company = CompanyFactory(user=rep, name="Acme", domain="acme.com")
    lead = make_lead(user=rep, company=company, email="kim@acme.com")
    sync = run(
        hunter_integration,
        ScriptedClient(
            [[rec("9", "kim@acme.com", do_not_contact_reason="unsubscribed",
                  email_status="invalid")]]
        ),
    )  # fmt: skip
    assert sync.updated == 1
    lead.refresh_from_db()
    assert (lead.do_not_contact, lead.do_not_contact_reason, lead.email_status) == (
        True,
        "unsubscribed",
        "invalid",
    )
    event = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.UPDATE).get()
    assert event.changes["do_not_contact"] == [False, True]
    assert event.changes["email_status"] == ["unknown", "invalid"]


def test_an_older_verification_does_not_replace_a_newer_one(hunter_integration, rep):
    company = CompanyFactory(user=rep, name="Acme", domain="acme.com")
    newer = datetime(2026, 12, 1, tzinfo=UTC)
    lead = make_lead(user=rep, company=company, email="kim@acme.com")
    Lead.objects.filter(pk=lead.pk).update(
        email_status="valid", email_verified_at=newer, email_verified_by="snovio"
    )
    older = datetime(2026, 1, 1, tzinfo=UTC)
    run(
        hunter_integration,
        ScriptedClient(
            [[rec("9", "kim@acme.com", email_status="invalid", email_verified_at=older)]]
        ),
    )
    lead.refresh_from_db()
    assert (lead.email_status, lead.email_verified_by) == ("valid", "snovio")


def test_a_company_named_after_its_domain_gets_its_real_name(hunter_integration, rep):
    company = CompanyFactory(user=rep, name="acme.com", domain="acme.com")
    lead = make_lead(user=rep, company=company, email="kim@acme.com", first_name="Kim")
    run(
        hunter_integration,
        ScriptedClient([[rec("1", "new@acme.com", company_name="Acme Corp", website="acme.com")]]),
    )
    company.refresh_from_db()
    assert company.name == "Acme Corp"
    lead.refresh_from_db()
    assert "acme corp" in lead.search_text  # the search follows the rename
    assert Company.objects.filter(user=rep).count() == 1


# --- lists cut short ------------------------------------------------------------------------


class ShortClient(ScriptedClient):
    def fetch_page(self, list_id, checkpoint):
        page = super().fetch_page(list_id, checkpoint)
        if page.next_checkpoint is None:
            page.stopped_short = "read 2 of 5: the vendor serves no more"
        return page


def test_a_list_the_vendor_cannot_serve_to_its_end_ends_partial(hunter_integration):
    sync = run(hunter_integration, ShortClient([[rec("1", "a@x.com")], [rec("2", "b@x.com")]]))
    assert sync.state == "partial"
    assert sync.error == "read 2 of 5: the vendor serves no more"
    assert (sync.created, sync.failed) == (2, 0)


# --- summaries and details ------------------------------------------------------------------


class DetailedClient(ScriptedClient):
    """List pages of summaries; fill_details adds a position, counting what it was asked."""

    details_chunk = 2

    def __init__(self, pages, **kwargs):
        super().__init__(pages, **kwargs)
        self.detailed: list[str] = []
        self.fail_on: str | None = None

    def fetch_page(self, list_id, checkpoint):
        page = super().fetch_page(list_id, checkpoint)
        page.records = [replace(record, needs_details=True) for record in page.records]
        return page

    def fill_details(self, records):
        for record in records:
            if record.vendor_id == self.fail_on:
                self.fail_on = None
                raise engine.TransientError("detail endpoint down")
            self.detailed.append(record.vendor_id)
            record.position = f"Position of {record.vendor_id}"
            record.company_name = f"Company {record.vendor_id}"


def summaries(count: int, start: int = 0) -> list[VendorRecord]:
    return [rec(str(i), f"p{i}@corp{i}.com", first_name=f"P{i}") for i in range(start, count)]


def test_details_are_fetched_for_new_and_changed_summaries_only(snovio_integration):
    pages = [summaries(5), summaries(8, 5)]
    client = DetailedClient(pages)
    first = run(snovio_integration, client)
    assert (first.state, first.created, first.processed) == ("succeeded", 8, 8)
    assert sorted(client.detailed, key=int) == [str(i) for i in range(8)]
    assert Lead.objects.get(email="p3@corp3.com").position == "Position of 3"
    assert Lead.objects.get(email="p3@corp3.com").company.name == "Company 3"

    # Again, with one summary changed: only that one is fetched in detail.
    changed = [summaries(5), summaries(8, 5)]
    changed[1][1] = rec("6", "p6@corp6.com", first_name="Renamed")
    again_client = DetailedClient(changed)
    again = run(snovio_integration, again_client)
    assert again_client.detailed == ["6"]
    # The lead keeps the first name a person may have relied on (imports only fill empty
    # fields), so nothing changes on it.
    assert (again.created, again.unchanged, again.updated) == (0, 8, 0)
    # Details were written again under the new summary's digest: a third run fetches none.
    third_client = DetailedClient(changed)
    third = run(snovio_integration, third_client)
    assert (third_client.detailed, third.unchanged) == ([], 8)


def test_a_detailed_page_resumes_after_its_last_written_chunk(snovio_integration):
    client = DetailedClient([summaries(5)])
    client.fail_on = "3"  # the second chunk (2, 3) fails after chunk (0, 1) was written
    sync = engine.run_claim(integration=snovio_integration, direction="import")
    outcome = engine.run_execute(run_id=sync.pk, client=client)
    assert isinstance(outcome, engine.Retry)
    sync.refresh_from_db()
    assert (sync.created, sync.processed) == (2, 2)
    assert sync.checkpoint == {engine.WITHIN_KEY: 2}
    outcome = engine.run_execute(run_id=sync.pk, client=client)
    assert isinstance(outcome, engine.Done)
    sync.refresh_from_db()
    assert (sync.state, sync.created, sync.processed, sync.unchanged) == ("succeeded", 5, 5, 0)
    # Nothing doubled: the resumed run started at the third record.
    assert client.fetches[-1] is None
    assert client.detailed == ["0", "1", "2", "2", "3", "4"]
    assert Lead.objects.count() == 5


# --- export outcomes ------------------------------------------------------------------------


class RecordingClient(ScriptedClient):
    """Reports each lead unchanged when it carries what it exported last time."""

    def export_batch(self, target, leads: list[ExportLead]) -> list[ExportOutcome]:
        self.exported.append((target, leads))
        outcomes = []
        for lead in leads:
            now = {"first_name": lead.first_name}
            if lead.email.startswith("skip"):
                outcomes.append(ExportOutcome(lead.lead_id, ok=True, skipped=True))
            elif lead.last_exported == now:
                outcomes.append(
                    ExportOutcome(lead.lead_id, ok=True, vendor_id=lead.vendor_id, unchanged=True)
                )
            else:
                outcomes.append(
                    ExportOutcome(
                        lead.lead_id,
                        ok=True,
                        vendor_id=lead.vendor_id or f"v{lead.lead_id}",
                        created=lead.vendor_id is None,
                        exported=now,
                    )
                )
        return outcomes


def test_export_never_sends_a_do_not_contact_lead(hunter_integration, rep):
    company = CompanyFactory(user=rep, name="Acme", domain="acme.com")
    keep = make_lead(user=rep, company=company, email="keep@acme.com")
    gone = make_lead(user=rep, company=company, email="gone@acme.com")
    Lead.objects.filter(pk=gone.pk).update(do_not_contact=True, do_not_contact_reason="asked")
    client = RecordingClient()
    # Even when the export names the lead explicitly.
    sync = run(hunter_integration, client, "export", {"lead_ids": [keep.pk, gone.pk]})
    sent = [lead.email for _, batch in client.exported for lead in batch]
    assert sent == ["keep@acme.com"]
    assert (sync.state, sync.processed, sync.created, sync.skipped) == ("succeeded", 2, 1, 1)
    assert not ExternalLink.objects.filter(lead=gone).exists()


def test_export_never_sends_an_email_known_to_bounce(hunter_integration, rep):
    company = CompanyFactory(user=rep, name="Acme", domain="acme.com")
    make_lead(user=rep, company=company, email="keep@acme.com")
    bounced = make_lead(user=rep, company=company, email="bounced@acme.com")
    Lead.objects.filter(pk=bounced.pk).update(email_status="invalid")
    client = RecordingClient()
    sync = run(hunter_integration, client, "export")
    assert [lead.email for _, batch in client.exported for lead in batch] == ["keep@acme.com"]
    assert (sync.created, sync.skipped) == (1, 1)


def test_export_stores_what_was_sent_and_hands_it_back(hunter_integration, rep):
    company = CompanyFactory(user=rep, name="Acme", domain="acme.com")
    ann = make_lead(user=rep, company=company, email="ann@acme.com", first_name="Ann")
    make_lead(user=rep, company=company, email="skip@acme.com", first_name="S")
    first = run(hunter_integration, RecordingClient(), "export")
    assert (first.created, first.skipped) == (1, 1)
    link = ExternalLink.objects.get(lead=ann)
    assert link.exported == {"first_name": "Ann"}

    client = RecordingClient()
    again = run(hunter_integration, client, "export")
    assert (again.unchanged, again.updated, again.skipped) == (1, 0, 1)
    sent = {lead.email: lead for _, batch in client.exported for lead in batch}
    assert sent["ann@acme.com"].last_exported == {"first_name": "Ann"}
    assert sent["ann@acme.com"].vendor_id == link.vendor_id

    Lead.objects.filter(pk=ann.pk).update(first_name="Anne")
    third = run(hunter_integration, RecordingClient(), "export")
    assert (third.updated, third.unchanged) == (1, 0)
    link.refresh_from_db()
    assert link.exported == {"first_name": "Anne"}


def test_export_failures_name_their_lead(hunter_integration, rep):
    company = CompanyFactory(user=rep, name="Acme", domain="acme.com")
    bad = make_lead(user=rep, company=company, email="bad@acme.com")
    client = ScriptedClient()
    client.export_failures = {"bad@acme.com": "refused: field X"}
    sync = run(hunter_integration, client, "export")
    failure = SyncFailure.objects.get(run=sync)
    assert (failure.lead_id, failure.record, failure.detail) == (
        bad.pk,
        "bad@acme.com",
        "refused: field X",
    )


def test_page_carries_no_stopped_short_by_default():
    assert Page(records=[], next_checkpoint=None).stopped_short is None


# --- give-up messages and the Hunter field migration ----------------------------------------


def test_a_rate_limit_that_outlasts_the_retries_says_what_to_check(hunter_integration, settings):
    from integrations.http import RateLimited

    settings.SYNC_MAX_ATTEMPTS = 2
    client = ScriptedClient([[rec("1", "a@x.com")]])
    refusal = RateLimited("hunter: 403", status=403, give_up_message="check the key")
    client.fail_next = [refusal, refusal]
    sync = engine.run_claim(integration=hunter_integration, direction="import")
    assert isinstance(engine.run_execute(run_id=sync.pk, client=client), engine.Retry)
    assert isinstance(engine.run_execute(run_id=sync.pk, client=client), engine.Done)
    sync.refresh_from_db()
    assert (sync.state, sync.error) == ("failed", "check the key")


def test_migration_drops_hunter_fields_from_linked_leads_only(hunter_integration, rep):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("integrations.migrations.0004_hunter_known_fields")
    company = CompanyFactory(user=rep, name="Acme", domain="acme.com")
    linked = make_lead(
        user=rep,
        company=company,
        email="a@acme.com",
        custom_attributes={"company_type": "privately held", "updated_at": "x", "plan": "pro"},
    )
    mine = make_lead(
        user=rep, company=company, email="b@acme.com", custom_attributes={"updated_at": "mine"}
    )
    ExternalLink.objects.create(integration=hunter_integration, vendor_id="1", lead=linked)
    migration.drop_hunter_fields(apps, None)
    linked.refresh_from_db()
    mine.refresh_from_db()
    assert linked.custom_attributes == {"plan": "pro"}
    assert mine.custom_attributes == {"updated_at": "mine"}


def test_a_later_record_fills_what_the_company_lacks_and_never_replaces(hunter_integration, rep):
    company = CompanyFactory(user=rep, name="Acme", domain="acme.com", industry="Mine")
    run(
        hunter_integration,
        ScriptedClient([[rec("1", "new@acme.com", website="acme.com", country_code="DE",
                             industry="Theirs", size="11-50")]]),
    )  # fmt: skip
    company.refresh_from_db()
    assert (company.country_code, company.size, company.industry) == ("DE", "11-50", "Mine")


def test_snovio_settings_in_the_api(rep_api, rep):
    created = rep_api.post(
        "/v1/integrations",
        {
            "provider": "snovio",
            "credentials": {"client_id": "id-0123456789", "client_secret": "secret-0123"},
            "settings": {"full_profiles": False, "custom_field_map": {"src": "Lead source"}},
        },
    )
    assert created.status_code == 201, created.content
    settings_out = created.json()["settings"]
    assert (settings_out["full_profiles"], settings_out["custom_field_map"]) == (
        False,
        {"src": "Lead source"},
    )
    integration_id = created.json()["id"]
    changed = rep_api.patch(
        f"/v1/integrations/{integration_id}", {"settings": {"full_profiles": True}}
    )
    assert changed.json()["settings"]["full_profiles"] is True
    assert changed.json()["settings"]["custom_field_map"] == {"src": "Lead source"}
    bad = rep_api.patch(
        f"/v1/integrations/{integration_id}", {"settings": {"custom_field_map": {"a": "x[1]"}}}
    )
    assert bad.status_code == 400 and "custom_field_map" in bad.json()["settings"]
    hunter = rep_api.post(
        "/v1/integrations",
        {"provider": "hunter", "credentials": {"api_key": "hk_0123456789abcdef"},
         "settings": {"full_profiles": True}},
    )  # fmt: skip
    assert hunter.status_code == 400
    assert "only for Snov.io" in str(hunter.json())
