"""Two users attack each other's ids on every method: nothing is returned, changed or revealed."""

from __future__ import annotations

import pytest

from leads.models import Company, Lead, LeadEvent
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def victim(other_user):
    company = CompanyFactory(user=other_user, name="Secret Co", domain="secret.com")
    lead = make_lead(
        user=other_user, company=company, email="secret@secret.com", first_name="Hidden"
    )
    return {"company": company, "lead": lead}


def _missing_ids(api):
    """A lead and a company id that exist for nobody."""
    return 10**9, 10**9 + 1


def test_every_method_on_another_users_lead_is_the_same_404_as_a_missing_one(api, victim):
    lead = victim["lead"]
    missing, _ = _missing_ids(api)
    calls = [
        ("get", "/v1/leads/{}", None),
        ("patch", "/v1/leads/{}", {"status": "lost"}),
        ("delete", "/v1/leads/{}", None),
        ("get", "/v1/leads/{}/history", None),
    ]
    for method, template, body in calls:
        args = (body,) if body is not None else ()
        theirs = getattr(api, method)(template.format(lead.pk), *args)
        nobody = getattr(api, method)(template.format(missing), *args)
        assert theirs.status_code == 404, (method, template)
        assert theirs.content == nobody.content, (method, template)
        assert theirs.headers.get("Content-Type") == nobody.headers.get("Content-Type")
    lead.refresh_from_db()
    assert lead.status == "new"
    assert LeadEvent.objects.filter(lead=lead).count() == 1


def test_every_method_on_another_users_company_is_404(api, victim):
    company = victim["company"]
    _, missing = _missing_ids(api)
    for method, body in [("get", None), ("patch", {"name": "Mine"}), ("delete", None)]:
        args = (body,) if body is not None else ()
        theirs = getattr(api, method)(f"/v1/companies/{company.pk}", *args)
        nobody = getattr(api, method)(f"/v1/companies/{missing}", *args)
        assert theirs.status_code == 404
        assert theirs.content == nobody.content
    company.refresh_from_db()
    assert company.name == "Secret Co"


def test_lists_search_and_stats_reveal_nothing(api, victim):
    for path, params in [
        ("/v1/leads", {}),
        ("/v1/leads", {"q": "secret"}),
        ("/v1/leads", {"email": "secret@secret.com"}),
        ("/v1/leads", {"company_id": victim["company"].pk}),
        ("/v1/companies", {}),
        ("/v1/companies", {"q": "secret"}),
        ("/v1/companies", {"domain": "secret.com"}),
    ]:
        body = api.get(path, params).json()
        assert body == {"data": [], "next_cursor": None}, (path, params)
    stats = api.get("/v1/leads/stats", {"company_id": victim["company"].pk}).json()
    assert stats["total"] == 0


def test_cannot_link_a_lead_to_another_users_company(api, victim, company):
    response = api.post("/v1/leads", {"company_id": victim["company"].pk})
    assert response.status_code == 400
    assert "company_id" in response.json()
    # Same message as for a company that does not exist.
    missing = api.post("/v1/leads", {"company_id": 10**9})
    assert response.json() == missing.json()

    mine = make_lead(user=api.user, company=company)
    response = api.patch(f"/v1/leads/{mine.pk}", {"company_id": victim["company"].pk})
    assert response.status_code == 400
    assert "company_id" in response.json()
    mine.refresh_from_db()
    assert mine.company_id == company.pk


def test_another_users_email_or_domain_is_no_clash(api, victim, company):
    # A 400 here would reveal that the other user holds that email or domain.
    assert (
        api.post("/v1/leads", {"company_id": company.pk, "email": "secret@secret.com"}).status_code
        == 201
    )
    assert api.post("/v1/companies", {"name": "S", "domain": "secret.com"}).status_code == 201


def test_cursor_from_another_user_reveals_nothing(api, other_user, victim):
    for _ in range(3):
        make_lead(user=other_user, company=victim["company"])
    assert api.get("/v1/leads", {"cursor": Lead.objects.order_by("-id").first().pk + 1}).json() == {
        "data": [],
        "next_cursor": None,
    }
    assert Company.objects.filter(user=other_user).count() == 1
