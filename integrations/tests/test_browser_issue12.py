"""In headless Chromium against a fake Hunter: a refused key switches the sync buttons off
until a test passes; "Export all leads" asks first, with the count."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from integrations.tests.test_browser_integrations import KEY, hunter  # noqa: F401
from leads.models import Lead
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_refused_key_then_a_working_one_and_a_confirmed_export(signed_in, hunter):  # noqa: F811
    session = signed_in("newrep")
    company = CompanyFactory(user=session.user, name="Acme", domain="acme.com")
    for n in range(3):
        make_lead(user=session.user, company=company, email=f"p{n}@acme.com")
    Lead.objects.filter(email="p2@acme.com").update(do_not_contact=True)

    page = session.go("/integrations/")
    card = page.get_by_test_id("provider-hunter")
    card.get_by_label("API key").fill("not-a-real-key-000000")
    card.get_by_role("button", name="Connect Hunter").click()
    expect(page.get_by_test_id("needs-credentials")).to_be_visible()
    expect(page.get_by_test_id("start-import")).to_be_disabled()
    expect(page.get_by_test_id("start-export")).to_be_disabled()

    # The credentials form is open already: that is what needs doing.
    page.get_by_label("API key").fill(KEY)
    page.get_by_role("button", name="Replace credentials").click()
    expect(page.get_by_test_id("start-import")).to_be_enabled()
    expect(page.get_by_test_id("needs-credentials")).to_have_count(0)

    page.get_by_test_id("start-export").click()
    expect(page.get_by_test_id("export-count")).to_contain_text("2 leads will be sent to Hunter")
    expect(page.get_by_test_id("export-skipped")).to_contain_text("1 lead marked do-not-contact")
    expect(page.get_by_test_id("confirm-export")).to_have_text("Export 2 leads")
    assert session.console_errors == []
