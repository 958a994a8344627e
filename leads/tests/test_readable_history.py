"""History entries read as words (issue 15 item 7): field names and values, one line per
custom attribute, never a Python dict or list."""

from __future__ import annotations

import pytest
from django.test import Client

from leads.models import LeadEvent, Source
from leads.page_selectors import readable_changes
from leads.services import lead_update
from leads.tests.factories import UserFactory, make_lead

pytestmark = pytest.mark.django_db


def test_each_custom_attribute_and_field_on_its_own_line():
    lines = readable_changes(
        {
            "custom_attributes": [{"Region": "EU", "Tier": "1"}, {"Region": "US", "Plan": "Pro"}],
            "linkedin_url": ["", "https://linkedin.com/in/x"],
            "do_not_contact": [False, True],
            "company": ["Acme", "Globex"],
            "score": [10, 40],
        }
    )
    assert lines == [
        {"field": "Plan", "old": "", "new": "Pro"},
        {"field": "Region", "old": "EU", "new": "US"},
        {"field": "Tier", "old": "1", "new": ""},
        {"field": "LinkedIn", "old": "", "new": "https://linkedin.com/in/x"},
        {"field": "Do not contact", "old": "no", "new": "yes"},
        {"field": "Company", "old": "Acme", "new": "Globex"},
        {"field": "Score", "old": "10", "new": "40"},
    ]
    # An import that added attributes stores [None, {...}].
    assert readable_changes({"custom_attributes": [None, {"Source list": "Fair"}]}) == [
        {"field": "Source list", "old": "", "new": "Fair"}
    ]


def test_the_lead_page_shows_no_python_values():
    user = UserFactory()
    lead = make_lead(user=user, email="a@x.com", custom_attributes={"Region": "EU"})
    LeadEvent.objects.create(
        lead=lead, user=user, kind=LeadEvent.Kind.UPDATE, to_status=lead.status,
        source=Source.IMPORT, provider="hunter", at=lead.created_at,
        changes={"custom_attributes": [None, {"Region": "EU", "Seniority": "senior"}]},
    )  # fmt: skip
    lead_update(lead=lead, data={"custom_attributes": {"Region": "US"}}, source=Source.UI)
    client = Client()
    client.force_login(user)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    timeline = page[page.index('id="timeline"') :]
    assert "{" not in timeline.split("</section>")[0]
    assert "<strong>Seniority</strong>: senior" in timeline
    assert "<strong>Region</strong>: <del>EU</del> → US" in timeline


def test_editing_attributes_on_the_page_keeps_history_and_names_problems():
    user = UserFactory()
    lead = make_lead(user=user, email="a@x.com", custom_attributes={"Region": "EU", "Old": "x"})
    client = Client()
    client.force_login(user)
    url = f"/leads/{lead.pk}/attributes/"
    form = client.get(url, {"edit": "1"}).content.decode()
    assert 'value="Region"' in form and 'name="key"' in form
    refused = client.post(url, {"key": ["Region", "", "Region"], "value": ["US", "orphan", "EU"]})
    assert refused.status_code == 422
    text = refused.content.decode()
    assert "Give the value “orphan” a name." in text and "“Region” is there twice" in text
    lead.refresh_from_db()
    assert lead.custom_attributes == {"Region": "EU", "Old": "x"}
    saved = client.post(url, {"key": ["Region", "", "Plan"], "value": ["US", "", "Pro"]})
    assert saved.status_code == 302
    lead.refresh_from_db()
    assert lead.custom_attributes == {"Region": "US", "Plan": "Pro"}
    entry = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.UPDATE)
    assert entry.source == Source.UI
    assert readable_changes(entry.changes) == [
        {"field": "Old", "old": "x", "new": ""},
        {"field": "Plan", "old": "", "new": "Pro"},
        {"field": "Region", "old": "EU", "new": "US"},
    ]


def test_another_users_attributes_are_a_404():
    lead = make_lead(user=UserFactory(), email="a@x.com")
    client = Client()
    client.force_login(UserFactory())
    assert client.get(f"/leads/{lead.pk}/attributes/").status_code == 404
    assert (
        client.post(f"/leads/{lead.pk}/attributes/", {"key": "a", "value": "b"}).status_code == 404
    )
