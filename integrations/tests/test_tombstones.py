"""Deletions that stick (issue 14 item 11): a lead a person deleted is not brought back by the
next import of the vendor record it came from, until someone restores that record."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations import engine
from integrations.models import ExternalLink, ImportTombstone, SyncRun
from integrations.records import VendorRecord
from integrations.tests.conftest import ScriptedClient
from leads.models import Lead
from leads.tests.conftest import ApiClient
from leads.tests.factories import UserFactory, make_lead

pytestmark = pytest.mark.django_db


def rec(vendor_id: str, email: str, **fields) -> VendorRecord:
    return VendorRecord(vendor_id=vendor_id, email=email, **fields)


def run_import(integration, records) -> SyncRun:
    run = engine.run_claim(integration=integration, direction="import")
    outcome = engine.run_execute(run_id=run.pk, client=ScriptedClient([records]))
    assert isinstance(outcome, engine.Done), outcome
    run.refresh_from_db()
    return run


def _page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_api_deletion_sticks_through_the_next_import(hunter_integration, rep):
    records = [rec("h1", "ada@acme.com", first_name="Ada", last_name="Lovelace"),
               rec("h2", "bob@acme.com")]  # fmt: skip
    run_import(hunter_integration, records)
    ada = Lead.objects.get(email="ada@acme.com")
    assert ApiClient(rep).client.delete(f"/v1/leads/{ada.pk}").status_code == 204

    tombstone = ImportTombstone.objects.get()
    assert (tombstone.vendor_id, tombstone.email, tombstone.name) == (
        "h1", "ada@acme.com", "Ada Lovelace"
    )  # fmt: skip
    assert tombstone.deleted_by == rep and tombstone.integration == hunter_integration

    again = run_import(hunter_integration, [*records, rec("h1-new", "ADA@acme.com")])
    assert not Lead.objects.filter(email="ada@acme.com").exists()
    # Skipped by its vendor id, and under a new vendor id by its email; counted, with why.
    assert (again.skipped, again.skipped_deleted, again.unchanged) == (2, 2, 1)
    assert again.processed == 3


def test_restoring_lets_the_next_import_bring_it_back(hunter_integration, rep):
    run_import(hunter_integration, [rec("h1", "ada@acme.com", first_name="Ada")])
    lead = Lead.objects.get()
    client = _page(rep)
    page = client.get(f"/leads/{lead.pk}/delete/").content.decode()
    assert "later imports will skip it" in page and "Hunter" in page
    client.post(f"/leads/{lead.pk}/delete/")

    detail = client.get(f"/integrations/{hunter_integration.pk}/").content.decode()
    assert "Imports skip 1 record whose lead you deleted" in detail
    listing = client.get(f"/integrations/{hunter_integration.pk}/deleted/").content.decode()
    assert "ada@acme.com" in listing and "<code>h1</code>" in listing

    restored = client.post(
        f"/integrations/{hunter_integration.pk}/deleted/restore/",
        {"ids": [ImportTombstone.objects.get().pk]},
        follow=True,
    )
    assert "1 record restored: the next import from Hunter brings it back" in (
        restored.content.decode()
    )
    run = run_import(hunter_integration, [rec("h1", "ada@acme.com", first_name="Ada")])
    assert run.created == 1 and run.skipped_deleted == 0
    assert Lead.objects.get().first_name == "Ada"


def test_restore_all_and_bad_choices(hunter_integration, rep):
    run_import(hunter_integration, [rec(f"h{i}", f"p{i}@acme.com") for i in range(3)])
    client = _page(rep)
    ids = list(Lead.objects.values_list("pk", flat=True))
    client.post("/leads/bulk/", {"action": "delete", "confirm": "on", "ids": ids})
    assert ImportTombstone.objects.count() == 3
    url = f"/integrations/{hunter_integration.pk}/deleted/restore/"
    for bad in ({}, {"ids": ["²"]}, {"ids": ["99999999999999999999999"]}):
        answer = client.post(url, bad, follow=True)
        assert answer.status_code == 200
        assert "Choose the records to restore" in answer.content.decode()
    assert ImportTombstone.objects.count() == 3
    answer = client.post(url, {"all": "1"}, follow=True)
    assert "3 records restored" in answer.content.decode()
    assert not ImportTombstone.objects.exists()


def test_another_user_can_neither_see_nor_restore_them(hunter_integration, rep):
    run_import(hunter_integration, [rec("h1", "ada@acme.com")])
    _page(rep).post(f"/leads/{Lead.objects.get().pk}/delete/")
    mallory = _page(UserFactory(username="mallory"))
    base = f"/integrations/{hunter_integration.pk}/deleted/"
    assert mallory.get(base).status_code == 404
    assert mallory.post(base + "restore/", {"all": "1"}).status_code == 404
    theirs = {"ids": [ImportTombstone.objects.get().pk]}
    assert mallory.post(base + "restore/", theirs).status_code == 404
    assert ImportTombstone.objects.count() == 1


def test_admin_deletions_leave_tombstones_too(hunter_integration, admin_client):
    run_import(hunter_integration, [rec("h1", "a@acme.com"), rec("h2", "b@acme.com")])
    first, second = Lead.objects.order_by("email")
    admin_client.post(f"/admin/leads/lead/{first.pk}/delete/", {"post": "yes"})
    admin_client.post(
        "/admin/leads/lead/",
        {"action": "delete_selected", "_selected_action": [second.pk], "post": "yes"},
    )
    assert not Lead.objects.exists()
    assert sorted(ImportTombstone.objects.values_list("vendor_id", flat=True)) == ["h1", "h2"]


def test_a_lead_without_a_vendor_link_leaves_no_tombstone(rep):
    lead = make_lead(user=rep, email="hand@made.com")
    assert ApiClient(rep).client.delete(f"/v1/leads/{lead.pk}").status_code == 204
    assert not ImportTombstone.objects.exists()


def test_a_bulk_delete_costs_a_constant_number_of_queries(hunter_integration, rep):
    run_import(hunter_integration, [rec(f"h{i}", f"p{i}@acme.com") for i in range(60)])
    client = _page(rep)
    ids = list(Lead.objects.values_list("pk", flat=True))

    def delete(chosen):
        with CaptureQueriesContext(connection) as queries:
            client.post("/leads/bulk/", {"action": "delete", "confirm": "on", "ids": chosen})
        return len(queries)

    few, many = delete(ids[:2]), delete(ids[2:])
    assert many == few
    assert ImportTombstone.objects.count() == 60 and not ExternalLink.objects.exists()


def test_an_import_page_reads_the_tombstones_in_one_query_and_a_reimport_in_none(
    hunter_integration,
):
    from integrations.importer import import_records

    def tombstone_queries(records) -> int:
        with CaptureQueriesContext(connection) as queries:
            import_records(integration=hunter_integration, records=records, source_label="H")
        return sum("integrations_importtombstone" in q["sql"] for q in queries)

    records = [rec(f"h{i}", f"p{i}@acme.com") for i in range(20)]
    assert tombstone_queries(records) == 1
    assert tombstone_queries(records) == 0  # all linked: they still have their leads


def test_tombstoned_finds_deleted_records_by_vendor_id_or_email_and_only_the_integrations(
    hunter_integration, snovio_integration, django_assert_num_queries
):
    from integrations.tombstones import tombstoned

    other = snovio_integration
    for integration, vendor_id, email in (
        (hunter_integration, "h1", "ann@acme.com"),
        (hunter_integration, "h2", ""),
        (other, "h3", "bob@acme.com"),
    ):
        ImportTombstone.objects.create(
            integration=integration, vendor_id=vendor_id, email=email, deleted_at=timezone.now()
        )
    with django_assert_num_queries(1):
        found = tombstoned(
            integration_id=hunter_integration.pk,
            vendor_ids=["h2", "h3", "h9"],
            emails=["ann@acme.com", "bob@acme.com", ""],
        )
    assert found == ({"h1", "h2"}, {"ann@acme.com"})
    with django_assert_num_queries(1):  # emails alone (records without ids are refused before)
        assert tombstoned(
            integration_id=hunter_integration.pk, vendor_ids=[], emails=["ann@acme.com"]
        ) == ({"h1"}, {"ann@acme.com"})
    with django_assert_num_queries(0):
        assert tombstoned(integration_id=hunter_integration.pk, vendor_ids=[], emails=[""]) == (
            set(),
            set(),
        )
