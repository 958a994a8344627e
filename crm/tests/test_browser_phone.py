"""The main pages at phone width: nothing pushes the page sideways."""

from __future__ import annotations

import pytest

from leads.tests.factories import CompanyFactory, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_main_pages_fit_a_phone_screen(signed_in):
    session = signed_in("phone")
    company = CompanyFactory(user=session.user, name="Globex Corporation", domain="globex.com")
    lead = make_lead(user=session.user, company=company, first_name="Pat", last_name="Lee",
                     email="pat.lee@globex.com", score=64)  # fmt: skip
    session.page.set_viewport_size({"width": 390, "height": 844})
    for path, name in [
        ("/board/", "phone-board"),
        ("/leads/", "phone-leads"),
        (f"/leads/{lead.pk}/", "phone-lead"),
        ("/dashboard/", "phone-dashboard"),
        ("/integrations/", "phone-integrations"),
    ]:
        page = session.go(path)
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, (path, overflow)
        session.screenshot(name)
    assert session.console_errors == []
