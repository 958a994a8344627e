"""Do-not-contact and email verification on the lead (api.md, "Live vendor events,
do-not-contact and email verification"): the API fields, the filters, the write path."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from leads.models import Lead, LeadEvent
from leads.tests.factories import make_lead

pytestmark = pytest.mark.django_db


def test_a_person_sets_and_clears_the_mark_and_history_keeps_both(api, company):
    lead = make_lead(user=api.user, company=company, email="kim@acme.com")
    response = api.patch(
        f"/v1/leads/{lead.pk}", {"do_not_contact": True, "do_not_contact_reason": "asked us"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["do_not_contact"], body["do_not_contact_reason"]) == (True, "asked us")
    cleared = api.patch(f"/v1/leads/{lead.pk}", {"do_not_contact": False}).json()
    assert (cleared["do_not_contact"], cleared["do_not_contact_reason"]) == (False, "")
    changes = list(
        LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.UPDATE)
        .order_by("id")
        .values_list("changes", "source")
    )
    assert changes == [
        ({"do_not_contact": [False, True], "do_not_contact_reason": ["", "asked us"]}, "api"),
        ({"do_not_contact": [True, False], "do_not_contact_reason": ["asked us", ""]}, "api"),
    ]


def test_verification_fields_are_read_only_and_reset_by_a_new_email(api, company):
    lead = make_lead(user=api.user, company=company, email="kim@acme.com")
    checked = timezone.now() - dt.timedelta(days=3)
    Lead.objects.filter(pk=lead.pk).update(
        email_status="valid", email_verified_at=checked, email_verified_by="hunter"
    )
    ignored = api.patch(f"/v1/leads/{lead.pk}", {"email_status": "invalid"}).json()
    assert (ignored["email_status"], ignored["email_verified_by"]) == ("valid", "hunter")
    same = api.patch(f"/v1/leads/{lead.pk}", {"email": "KIM@acme.com"}).json()
    assert same["email_status"] == "valid"  # the same address, lower-cased: still verified
    moved = api.patch(f"/v1/leads/{lead.pk}", {"email": "kim@newco.com"}).json()
    assert (moved["email_status"], moved["email_verified_at"], moved["email_verified_by"]) == (
        "unknown",
        None,
        None,
    )


def test_a_vendors_unknown_verdict_is_reset_with_the_email_too(api, company):
    lead = make_lead(user=api.user, company=company, email="kim@acme.com")
    Lead.objects.filter(pk=lead.pk).update(
        email_status="unknown", email_verified_at=timezone.now(), email_verified_by="hunter"
    )
    moved = api.patch(f"/v1/leads/{lead.pk}", {"email": "kim@newco.com"}).json()
    assert (moved["email_verified_at"], moved["email_verified_by"]) == (None, None)


def test_the_mark_must_be_a_boolean(api, company):
    lead = make_lead(user=api.user, company=company)
    response = api.patch(f"/v1/leads/{lead.pk}", {"do_not_contact": "yes"})
    assert response.status_code == 400
    assert "do_not_contact" in response.json()


def test_list_and_stats_filter_by_the_mark_and_the_email_status(api, company):
    marked = make_lead(user=api.user, company=company, email="a@acme.com")
    bounced = make_lead(user=api.user, company=company, email="b@acme.com")
    make_lead(user=api.user, company=company, email="c@acme.com")
    Lead.objects.filter(pk=marked.pk).update(do_not_contact=True)
    Lead.objects.filter(pk=bounced.pk).update(email_status="invalid")
    ids = [row["id"] for row in api.get("/v1/leads?do_not_contact=true").json()["data"]]
    assert ids == [marked.pk]
    assert len(api.get("/v1/leads?do_not_contact=false").json()["data"]) == 2
    ids = [row["id"] for row in api.get("/v1/leads?email_status=invalid").json()["data"]]
    assert ids == [bounced.pk]
    stats = api.get("/v1/leads/stats?do_not_contact=false&min_score=0").json()
    assert stats["total"] == 2
    bad = api.get("/v1/leads?do_not_contact=maybe")
    assert bad.status_code == 400 and "do_not_contact" in bad.json()
    assert api.get("/v1/leads?email_status=bogus").status_code == 400


def test_the_admin_shows_and_filters_the_mark(admin_client, user, company):
    lead = make_lead(user=user, company=company, email="kim@acme.com")
    Lead.objects.filter(pk=lead.pk).update(do_not_contact=True, email_status="invalid")
    listing = admin_client.get("/admin/leads/lead/?do_not_contact__exact=1")
    assert listing.status_code == 200
    assert "kim@acme.com" in listing.content.decode()
    page = admin_client.get(f"/admin/leads/lead/{lead.pk}/change/").content.decode()
    assert 'name="do_not_contact"' in page
    assert 'name="email_status"' not in page  # read-only: shown, not editable
    assert "never exported to any provider" in page


def test_the_lead_page_marks_and_clears(client, user, company):
    client.force_login(user)
    lead = make_lead(user=user, company=company, email="kim@acme.com")
    response = client.post(f"/leads/{lead.pk}/contact/", {"action": "mark", "reason": "asked"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.do_not_contact, lead.do_not_contact_reason) == (True, "asked")
    assert client.post(f"/leads/{lead.pk}/contact/", {"action": "bogus"}).status_code == 302
    lead.refresh_from_db()
    assert lead.do_not_contact is True
    client.post(f"/leads/{lead.pk}/contact/", {"action": "clear"})
    lead.refresh_from_db()
    assert lead.do_not_contact is False


def test_another_users_lead_cannot_be_marked(client, other_user, company, user):
    client.force_login(other_user)
    lead = make_lead(user=user, company=company, email="kim@acme.com")
    assert client.post(f"/leads/{lead.pk}/contact/", {"action": "mark"}).status_code == 404
    lead.refresh_from_db()
    assert lead.do_not_contact is False
