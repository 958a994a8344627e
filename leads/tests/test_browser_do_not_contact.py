"""Do-not-contact on the lead page, in headless Chromium: the notice, clearing and setting."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from leads.models import Lead, LeadEvent
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_rep_sees_the_mark_clears_it_and_sets_it_again(signed_in):
    session = signed_in("rep")
    company = CompanyFactory(user=session.user, name="Acme", domain="acme.com")
    lead = make_lead(user=session.user, company=company, first_name="Kim", email="kim@acme.com")
    Lead.objects.filter(pk=lead.pk).update(
        do_not_contact=True,
        do_not_contact_reason="unsubscribed (Instantly)",
        email_status="invalid",
    )
    page = session.go("/leads/?do_not_contact=true")
    expect(page.get_by_test_id("dnc-badge")).to_have_count(1)
    page = session.go(f"/leads/{lead.pk}/")
    banner = page.get_by_test_id("dnc-banner")
    expect(banner).to_contain_text("Do not contact — unsubscribed (Instantly)")
    expect(banner).to_contain_text("Exports to Hunter, Snov.io and Instantly skip this lead")
    expect(page.get_by_test_id("email-status")).to_contain_text("Invalid")

    page.get_by_test_id("dnc-clear").click()
    expect(page.get_by_test_id("dnc-banner")).to_have_count(0)
    expect(page.get_by_text("Do-not-contact cleared")).to_be_visible()
    lead.refresh_from_db()
    assert (lead.do_not_contact, lead.do_not_contact_reason) == (False, "")

    page.get_by_label("Reason").fill("asked on the phone")
    page.get_by_test_id("dnc-mark").click()
    expect(page.get_by_test_id("dnc-banner")).to_contain_text("asked on the phone")
    lead.refresh_from_db()
    assert lead.do_not_contact is True
    sources = list(
        LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.UPDATE).values_list(
            "source", flat=True
        )
    )
    assert sources == ["ui", "ui"]
    assert session.console_errors == []
