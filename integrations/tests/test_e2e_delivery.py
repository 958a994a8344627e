"""End to end through a real Celery worker: delivery facts travel between vendors. An
unsubscribed Instantly lead and a bounced or unsubscribed Hunter lead arrive marked, and the
next export to any vendor skips the do-not-contact ones; a CRM edit reaches Instantly."""

from __future__ import annotations

import pytest

from integrations.tests.test_e2e import (  # noqa: F401  (fixtures)
    HUNTER_KEY,
    INSTANTLY_KEY,
    connect,
    e2e_settings,
    hunter,
    hunter_server,
    instantly,
    instantly_server,
    rep_api,
    start,
    wait,
    worker,
)
from leads.models import Lead

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_delivery_facts_cross_vendors_and_edits_reach_instantly(
    worker,
    hunter,
    instantly,
    rep_api,
):
    source = instantly.add_list(INSTANTLY_KEY, "Outreach")
    instantly.seed(INSTANTLY_KEY, source, 70)  # status cycles 1, 1, 3, 2, -1, 1, -2
    instantly_id = connect(
        rep_api, "instantly", {"api_key": INSTANTLY_KEY}, {"import_list_id": source}
    )
    assert wait(rep_api, start(rep_api, instantly_id, "import"))["created"] == 70
    unsubscribed = Lead.objects.filter(do_not_contact=True)
    assert unsubscribed.count() == 10
    assert set(unsubscribed.values_list("do_not_contact_reason", flat=True)) == {
        "unsubscribed (Instantly)"
    }
    assert Lead.objects.filter(email_status="invalid", email_verified_by="instantly").count() == 10

    hunter_list = hunter.add_list(HUNTER_KEY, "Fair")
    hunter.seed(HUNTER_KEY, 90, list_id=hunter_list)  # sending status cycles, with bounces
    hunter_id = connect(rep_api, "hunter", {"api_key": HUNTER_KEY}, {"import_list_id": hunter_list})
    assert wait(rep_api, start(rep_api, hunter_id, "import"))["state"] == "succeeded"
    assert Lead.objects.filter(email_status="invalid", email_verified_by="hunter").exists()
    assert Lead.objects.filter(do_not_contact_reason="unsubscribed (Hunter)").exists()

    # A rep edits a lead that came from Instantly; the export sends the change to it.
    edited = Lead.objects.filter(source="Instantly", do_not_contact=False).order_by("id").first()
    response = rep_api.patch(f"/v1/leads/{edited.pk}", {"position": "VP Growth"})
    assert response.status_code == 200
    target = instantly.add_list(INSTANTLY_KEY, "Chosen")
    rep_api.patch(f"/v1/integrations/{instantly_id}", {"settings": {"export_list_id": target}})
    run = wait(rep_api, start(rep_api, instantly_id, "export"), timeout=120)
    # Instantly takes no lead without an email: Hunter's names-only leads fail, and say so.
    no_email = Lead.objects.filter(email="", do_not_contact=False).exclude(email_status="invalid")
    no_email = no_email.count()
    assert run["failed"] == no_email > 0, run
    from django.db.models import Q

    held = Lead.objects.filter(Q(do_not_contact=True) | Q(email_status="invalid"))
    # Instantly's and Hunter's unsubscribed leads, and their bounced addresses.
    assert run["skipped"] == held.count() > 20
    vendor_id = edited.external_links.get(integration_id=instantly_id).vendor_id
    assert instantly.lead(INSTANTLY_KEY, vendor_id)["job_title"] == "VP Growth"
    assert instantly.lead(INSTANTLY_KEY, vendor_id)["list_id"] == target
    sent = {lead["email"] for lead in instantly.leads_in(INSTANTLY_KEY, target)}
    assert not sent & set(held.values_list("email", flat=True))
