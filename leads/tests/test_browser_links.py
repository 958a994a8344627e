"""Everything that names a lead or a count opens it (issue 15 item 5), in headless Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from leads.models import Status
from leads.pages.leads import _contact_href
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def rep(signed_in):
    session = signed_in("rita")
    company = CompanyFactory(user=session.user, name="Initech", domain="initech.com")
    grace = make_lead(user=session.user, company=company, first_name="Grace", last_name="Hopper",
                      email="grace@initech.com", phone="+1 (415) 555-0199",
                      linkedin_url="https://www.linkedin.com/in/grace")  # fmt: skip
    make_lead(user=session.user, company=company, first_name="Linus", email="linus@initech.com",
              status=Status.CONTACTED)  # fmt: skip
    return session, grace


def test_names_and_counts_open_what_they_name(rep):
    session, grace = rep
    page = session.go("/")
    page.get_by_test_id("funnel-contacted").click()
    page.wait_for_url(re.compile(r"/leads/\?status=contacted"))
    expect(page.get_by_test_id("leads-table").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("leads-table")).to_contain_text("Linus")

    page = session.go("/board/")
    page.get_by_test_id(f"open-card-{grace.pk}").click()
    page.wait_for_url(re.compile(rf"/leads/{grace.pk}/$"))
    expect(page.get_by_test_id("lead-name")).to_have_text("Grace Hopper")

    page = session.go("/dashboard/")
    page.get_by_test_id("activity").get_by_role("link", name="Grace Hopper").click()
    page.wait_for_url(re.compile(rf"/leads/{grace.pk}/$"))
    assert session.console_errors == []


def test_contact_details_open_mail_phone_and_profile_with_edit_beside(rep):
    session, grace = rep
    page = session.go(f"/leads/{grace.pk}/")
    expect(page.get_by_test_id("open-email")).to_have_attribute("href", "mailto:grace@initech.com")
    expect(page.get_by_test_id("open-phone")).to_have_attribute("href", "tel:+14155550199")
    profile = page.get_by_test_id("open-linkedin_url")
    expect(profile).to_have_attribute("href", "https://www.linkedin.com/in/grace")
    expect(profile).to_have_attribute("target", "_blank")
    session.screenshot("lead-contact-links")
    # The editor is the button beside the value, not the value itself.
    page.get_by_test_id("edit-phone").click()
    field = page.locator("#field-phone input[name=phone]")
    expect(field).to_be_visible()
    field.fill("+44 20 7946 0958")
    page.get_by_test_id("save-phone").click()
    expect(page.get_by_test_id("open-phone")).to_have_attribute("href", "tel:+442079460958")
    assert session.console_errors == []


def test_the_email_already_taken_links_to_that_lead(rep):
    session, grace = rep
    linus = make_lead(user=session.user, company=grace.company, first_name="Linus2")
    page = session.go(f"/leads/{linus.pk}/")
    page.get_by_test_id("edit-email").click()
    page.locator("#field-email input[name=email]").fill("GRACE@initech.com")
    page.get_by_test_id("save-email").click()
    holder = page.get_by_test_id("email-holder")
    expect(holder).to_be_visible()
    holder.click()
    page.wait_for_url(re.compile(rf"/leads/{grace.pk}/$"))


@pytest.mark.parametrize(
    ("name", "value", "href"),
    [
        ("linkedin_url", "javascript:alert(1)", ""),
        ("linkedin_url", "linkedin.com/in/x", "https://linkedin.com/in/x"),
        ("phone", "call me", ""),
        ("phone", "+1 415 \uff15\uff15", "tel:+1415"),  # full-width digits are not dialled
        ("email", "", ""),
    ],
)
def test_only_safe_addresses_become_links(name, value, href):
    assert _contact_href(name, value) == href


def test_edit_custom_attributes_in_place(rep):
    """Issue 15 item 7: custom attributes are editable on the lead page."""
    session, grace = rep
    page = session.go(f"/leads/{grace.pk}/")
    page.get_by_test_id("edit-attributes").click()
    page.get_by_label("Name of attribute 1").fill("Region")
    page.get_by_label("Value of attribute 1").fill("EU")
    page.get_by_test_id("save-attributes").click()
    expect(page.get_by_test_id("attributes")).to_contain_text("Region")
    expect(page.get_by_test_id("attributes")).to_contain_text("EU")
    expect(page.locator("#timeline")).to_contain_text("Region: EU")
    assert session.console_errors == []


def test_on_a_phone_the_filters_fold_behind_a_button(rep):
    """Issue 15 item 9: the search stays, the other filters open from "Filters"."""
    session, _ = rep
    page = session.go("/leads/")
    page.set_viewport_size({"width": 390, "height": 844})
    toggle = page.get_by_test_id("filters-toggle")
    expect(toggle).to_be_visible()
    expect(page.get_by_label("Search")).to_be_visible()
    expect(page.get_by_label("Minimum score")).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_label("Minimum score")).to_be_visible()
    session.screenshot("leads-filters-phone-open")
    page = session.go("/board/")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_label("Score from")).to_be_hidden()
    page.get_by_test_id("filters-toggle").click()
    expect(page.get_by_label("Score from")).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 860})
    expect(page.get_by_test_id("filters-toggle")).to_be_hidden()
