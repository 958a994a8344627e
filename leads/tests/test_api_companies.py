from __future__ import annotations

import pytest

from leads.models import Company, Lead
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = pytest.mark.django_db


def test_create_normalises_domain(api):
    response = api.post("/v1/companies", {"name": "Acme", "domain": "https://ACME.com/about"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["domain"] == "acme.com"
    assert body["lead_count"] == 0
    assert body["user_id"] == api.user.pk
    assert response["Location"] == f"/v1/companies/{body['id']}"
    assert set(body) == {
        "id", "user_id", "name", "domain", "website", "industry", "size", "country_code",
        "lead_count", "created_at", "updated_at",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("acme.com", "acme.com"),
        ("Sub.Acme.CO.uk", "sub.acme.co.uk"),
        ("http://acme.com:8080/x?y=1", "acme.com"),
        ("acme.com.", "acme.com"),
        ("", ""),
    ],
)
def test_domain_forms(api, given, stored):
    response = api.post("/v1/companies", {"name": "X", "domain": given})
    assert response.status_code == 201, response.content
    assert response.json()["domain"] == stored


@pytest.mark.parametrize("bad", ["not a domain", "localhost", "-acme.com", "acme..com", "a_b.com"])
def test_bad_domains_are_400(api, bad):
    response = api.post("/v1/companies", {"name": "X", "domain": bad})
    assert response.status_code == 400
    assert "domain" in response.json()


def test_domain_unique_per_user_not_across_users(api, other_api):
    assert api.post("/v1/companies", {"name": "A", "domain": "acme.com"}).status_code == 201
    clash = api.post("/v1/companies", {"name": "B", "domain": "ACME.com"})
    assert clash.status_code == 400
    assert "domain" in clash.json()
    assert other_api.post("/v1/companies", {"name": "A", "domain": "acme.com"}).status_code == 201
    # Several companies without a domain are fine.
    assert api.post("/v1/companies", {"name": "C"}).status_code == 201
    assert api.post("/v1/companies", {"name": "D", "domain": ""}).status_code == 201


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": None}, {"name": "x" * 256}, {"name": "A", "colour": "red"}],
)
def test_bad_company_bodies(api, body):
    response = api.post("/v1/companies", body)
    assert response.status_code == 400
    assert Company.objects.count() == 0


def test_patch_and_get(api, company):
    response = api.patch(f"/v1/companies/{company.pk}", {"industry": "Software", "size": "51-200"})
    assert response.status_code == 200
    assert response.json()["industry"] == "Software"
    assert api.get(f"/v1/companies/{company.pk}").json()["size"] == "51-200"


def test_patch_domain_clash(api, company):
    other = CompanyFactory(user=api.user, domain="other.com")
    response = api.patch(f"/v1/companies/{other.pk}", {"domain": "acme.com"})
    assert response.status_code == 400
    assert api.patch(f"/v1/companies/{company.pk}", {"domain": "ACME.COM"}).status_code == 200


def test_delete_with_leads_is_409_and_deletes_nothing(api, company):
    make_lead(user=api.user, company=company)
    make_lead(user=api.user, company=company)
    response = api.delete(f"/v1/companies/{company.pk}")
    assert response.status_code == 409
    assert "2" in response.json()["detail"]
    assert response.json()["lead_count"] == 2
    assert Lead.objects.filter(company=company).count() == 2
    assert Company.objects.filter(pk=company.pk).exists()


def test_delete_empty_company(api, company):
    assert api.delete(f"/v1/companies/{company.pk}").status_code == 204
    assert api.get(f"/v1/companies/{company.pk}").status_code == 404


def test_list_filters_and_lead_count(api):
    acme = CompanyFactory(user=api.user, name="Acme Corp", domain="acme.com")
    CompanyFactory(user=api.user, name="Globex", domain="globex.com")
    initech = CompanyFactory(user=api.user, name="Initech", domain="initech-acme.io")
    make_lead(user=api.user, company=acme)
    make_lead(user=api.user, company=acme)

    body = api.get("/v1/companies", {"q": "ACME"}).json()
    assert [c["id"] for c in body["data"]] == [initech.pk, acme.pk]  # name or domain
    assert {c["id"]: c["lead_count"] for c in body["data"]} == {initech.pk: 0, acme.pk: 2}
    assert [c["id"] for c in api.get("/v1/companies", {"domain": "ACME.com"}).json()["data"]] == [
        acme.pk
    ]
    assert api.get("/v1/companies", {"status": "new"}).status_code == 400


def test_company_cursor(api):
    ids = [CompanyFactory(user=api.user).pk for _ in range(7)]
    first = api.get("/v1/companies", {"limit": 4}).json()
    second = api.get("/v1/companies", {"limit": 4, "cursor": first["next_cursor"]}).json()
    assert [c["id"] for c in first["data"] + second["data"]] == sorted(ids, reverse=True)
    assert second["next_cursor"] is None
