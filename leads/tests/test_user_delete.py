"""Deleting a user who owns leads (issue 14 item 11): the admin explains and offers to reassign
their leads, to deactivate instead, or to delete them too; it never errors."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Company, Lead, LeadEvent, Source
from leads.reassign import owner_reassign_all
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def alice():
    user = UserFactory(username="alice", first_name="Alice", last_name="Leaver")
    acme = CompanyFactory(user=user, name="Acme Old Name", domain="acme.com")
    solo = CompanyFactory(user=user, name="Solo", domain="solo.io")
    make_lead(user=user, company=acme, email="ann@acme.com", first_name="Ann")
    make_lead(user=user, company=solo, email="sam@solo.io", status="contacted")
    return user


@pytest.fixture
def bob():
    user = UserFactory(username="bob")
    CompanyFactory(user=user, name="Acme Inc", domain="acme.com")
    return user


def _delete_url(user) -> str:
    return f"/admin/auth/user/{user.pk}/delete/"


def test_the_delete_page_explains_and_offers_the_ways(admin_client, alice, bob):
    page = admin_client.get(_delete_url(alice)).content.decode()
    assert "owns 2 leads and 2 companies" in page
    assert "Cannot delete" not in page
    for offer in ("Reassign their leads and companies", "Deactivate the user instead",
                  "Delete the user and all their leads"):  # fmt: skip
        assert offer in page
    # Offered to bob, not to alice herself.
    assert f'<option value="{bob.pk}">bob</option>' in page
    assert f'<option value="{alice.pk}">' not in page


def test_reassign_then_delete(admin_client, alice, bob):
    answer = admin_client.post(
        _delete_url(alice), {"choice": "reassign", "to_user": bob.pk}, follow=True
    )
    assert "2 lead(s) and 2 compan(ies) of alice now belong to bob; alice is deleted." in (
        answer.content.decode()
    )
    assert not User.objects.filter(username="alice").exists()
    ann, sam = Lead.objects.order_by("email")
    assert ann.user == bob and sam.user == bob
    # acme.com: bob had it, so Ann joined his company (and searches by its name); solo.io moved.
    assert ann.company.name == "Acme Inc" and ann.company.user == bob
    assert "acme inc" in ann.search_text
    assert sam.company.name == "Solo" and sam.company.user == bob
    assert Company.objects.filter(domain="acme.com").count() == 1
    entry = LeadEvent.objects.filter(lead=sam, kind=LeadEvent.Kind.UPDATE).get()
    assert entry.changes == {"owner": ["Alice Leaver", "bob"]}
    assert entry.source == Source.ADMIN and entry.to_status == "contacted"
    assert set(LeadEvent.objects.values_list("user", flat=True)) == {bob.pk}


def test_an_email_clash_moves_nothing_and_names_it(admin_client, alice, bob):
    clash = make_lead(user=bob, email="ann@acme.com")
    page = admin_client.post(_delete_url(alice), {"choice": "reassign", "to_user": bob.pk})
    text = page.content.decode()
    assert page.status_code == 200
    assert "bob already has a lead with the email of 1 of alice&#x27;s leads" in text
    assert "ann@acme.com (lead" in text and str(clash.pk) not in text.split("ann@acme.com")[0][-5:]
    assert User.objects.filter(username="alice").exists()
    assert Lead.objects.filter(user=alice).count() == 2
    assert Company.objects.filter(user=alice).count() == 2


def test_reassign_needs_someone_active_and_other(admin_client, alice, bob):
    bob.is_active = False
    bob.save()
    for data in ({"choice": "reassign"}, {"choice": "reassign", "to_user": bob.pk},
                 {"choice": "reassign", "to_user": alice.pk}, {"choice": "nonsense"}):  # fmt: skip
        page = admin_client.post(_delete_url(alice), data)
        assert page.status_code == 200
        assert "errorlist" in page.content.decode()
    assert Lead.objects.filter(user=alice).count() == 2
    with pytest.raises(Exception, match="inactive"):
        owner_reassign_all(from_user=alice, to_user=bob, source=Source.ADMIN)


def test_deactivate_instead_keeps_everything(admin_client, alice):
    admin_client.post(_delete_url(alice), {"choice": "deactivate"})
    alice.refresh_from_db()
    assert not alice.is_active
    assert Lead.objects.filter(user=alice).count() == 2


def test_delete_with_their_leads(admin_client, alice, bob):
    answer = admin_client.post(_delete_url(alice), {"choice": "delete"}, follow=True)
    assert "lice is deleted with their 2 lead(s)." in answer.content.decode()
    assert not User.objects.filter(username="alice").exists()
    assert not Lead.objects.exists() and Company.objects.filter(user=bob).count() == 1


def test_a_user_without_leads_is_deleted_as_usual(admin_client, bob):
    Company.objects.filter(user=bob).delete()
    page = admin_client.get(_delete_url(bob)).content.decode()
    assert "Are you sure" in page
    admin_client.post(_delete_url(bob), {"post": "yes"})
    assert not User.objects.filter(username="bob").exists()


def test_the_bulk_action_names_the_owners_instead_of_erroring(admin_client, alice, bob):
    carol = UserFactory(username="carol")
    data = {"action": "delete_selected", "_selected_action": [alice.pk, carol.pk]}
    page = admin_client.post("/admin/auth/user/", data)
    text = page.content.decode()
    assert page.status_code == 200
    assert "alice owns 2 lead(s)" in text and _delete_url(alice) in text
    admin_client.post("/admin/auth/user/", {**data, "post": "yes"})
    assert User.objects.filter(username__in=["alice", "carol"]).count() == 2
    admin_client.post(
        "/admin/auth/user/",
        {"action": "delete_selected", "_selected_action": [carol.pk], "post": "yes"},
    )
    assert not User.objects.filter(username="carol").exists()


def test_reassigning_costs_queries_by_companies_not_by_leads(alice, bob):
    def reassign(leads: int) -> int:
        source, target = UserFactory(), UserFactory()
        company = CompanyFactory(user=source)
        for i in range(leads):
            make_lead(user=source, company=company, email=f"p{i}@x.com")
        with CaptureQueriesContext(connection) as queries:
            owner_reassign_all(from_user=source, to_user=target, source=Source.ADMIN)
        assert Lead.objects.filter(user=target).count() == leads
        return len(queries)

    assert reassign(40) == reassign(3)
