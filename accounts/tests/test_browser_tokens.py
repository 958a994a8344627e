from __future__ import annotations

import pytest
from django.test import Client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_use_and_revoke_a_token(signed_in):
    session = signed_in("tokenuser")
    page = session.go("/settings/tokens/")
    page.get_by_label("Name").fill("Nightly export")
    page.get_by_label("Expires after").select_option("90")
    page.get_by_role("button", name="Create token").click()
    raw = page.get_by_test_id("new-token").inner_text().strip()
    assert raw.startswith("crm_")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/v1/leads").status_code == 200
    session.screenshot("tokens")

    page.reload()  # resubmits the form: no second token, and the value is not shown again
    assert raw not in page.content()
    assert page.get_by_text("already created").is_visible()
    assert page.get_by_test_id("token-row").count() == 1
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke", exact=True).click()
    page.wait_for_url("**/settings/tokens/")
    assert page.get_by_test_id("token-row").inner_text().count("Revoked") == 1
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/v1/leads").status_code == 401
    assert session.console_errors == []
