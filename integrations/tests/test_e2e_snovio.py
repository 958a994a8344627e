"""Snov.io end to end through a real Celery worker against the strict fake: full profiles on
import, only the account's custom fields and country names on export."""

from __future__ import annotations

import pytest

from integrations.models import Integration
from integrations.snovio.client import country_code
from integrations.tests.test_e2e import (  # noqa: F401  (fixtures)
    SNOV_ID,
    SNOV_SECRET,
    connect,
    e2e_settings,
    rep_api,
    snovio,
    snovio_server,
    start,
    wait,
    worker,
)
from leads.models import Lead

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_import_of_500_prospects_lands_their_profiles(worker, snovio, rep_api):
    snovio.seed(SNOV_ID, 501, 500, name="Webinar")
    integration_id = connect(
        rep_api, "snovio", {"client_id": SNOV_ID, "client_secret": SNOV_SECRET},
        {"import_list_id": 501},
    )  # fmt: skip
    run = wait(rep_api, start(rep_api, integration_id, "import"), timeout=120)
    assert run["state"] == "succeeded", run
    assert (run["processed"], run["created"], run["skipped"]) == (500, 450, 50)
    # One profile request per prospect with an email: the list entries hold no more.
    assert snovio.profile_requests == 450

    leads = {lead.email: lead for lead in Lead.objects.select_related("company")}
    countries: dict[int, set[str]] = {}
    checked = 0
    for prospect in snovio.prospects(501):
        emails = sorted(prospect["emails"], key=lambda e: -e["probability"])
        if not emails:
            continue
        lead = leads[emails[0]["email"]]
        assert lead.company.name == prospect["companyName"]  # the real name, not the domain
        assert lead.position == prospect["position"]
        assert lead.linkedin_url == (prospect["social"] or {}).get("linkedIn", "")
        if prospect["country"]:
            countries.setdefault(lead.company_id, set()).add(country_code(prospect["country"]))
        checked += 1
    assert checked == 450
    # The country is the company's in the CRM: each company carries an ISO code that one of
    # its prospects' profiles named.
    for lead in leads.values():
        if lead.company_id in countries:
            assert lead.company.country_code in countries[lead.company_id]
    assert Lead.objects.exclude(linkedin_url="").count() > 250
    assert Lead.objects.filter(company__country_code="US").exists()

    # Nothing changed at Snov.io: no profile is fetched again.
    again = wait(rep_api, start(rep_api, integration_id, "import"), timeout=120)
    assert (again["created"], again["unchanged"]) == (0, 450)
    assert snovio.profile_requests == 450


def test_export_sends_only_the_accounts_fields(worker, snovio, rep_api):
    """Leads carrying other vendors' attributes: 0 failures, only the account's fields."""
    company = rep_api.post(
        "/v1/companies", {"name": "Acme", "domain": "acme.example", "country_code": "GB"}
    ).json()
    for n in range(30):
        response = rep_api.post(
            "/v1/leads",
            {
                "company_id": company["id"],
                "email": f"p{n}@acme.example",
                "first_name": f"P{n}",
                "custom_attributes": {
                    "lead source": "Hunter import",  # the account's "Lead source"
                    "company_type": "privately held",  # another vendor's field
                    "favorite_color": "teal",
                },
            },
        )
        assert response.status_code == 201, response.content
    list_id = snovio.add_list(SNOV_ID, "Export")
    integration_id = connect(
        rep_api, "snovio", {"client_id": SNOV_ID, "client_secret": SNOV_SECRET},
        {"export_list_id": list_id},
    )  # fmt: skip
    run = wait(rep_api, start(rep_api, integration_id, "export"), timeout=120)
    assert run["state"] == "succeeded", run
    assert (run["created"], run["failed"]) == (30, 0)
    for prospect in snovio.prospects(list_id):
        assert prospect["customFields"] == {"Lead source": "Hunter import"}
        assert prospect["country"] == "United Kingdom"
        assert prospect["companySite"] == "https://acme.example"
    assert Integration.objects.get(pk=integration_id).state == "active"
