from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import ApiToken, hash_token
from accounts.services import api_token_create
from leads.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(db):
    user = UserFactory(username="tina")
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def test_tokens_page_needs_sign_in():
    response = Client().get("/settings/tokens/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_create_shows_the_token_once_and_stores_only_its_hash(web):
    response = web.post(
        "/settings/tokens/", {"name": "Reporting", "expires_in": "30", "nonce": "n1"}
    )
    assert response.status_code == 200
    raw = response.context["created"]["raw"]
    assert raw in response.content.decode()
    token = ApiToken.objects.get(user=web.user)
    assert token.digest == hash_token(raw)
    assert token.expires_at is not None
    # Never again: the list shows only the first characters.
    page = web.get("/settings/tokens/").content.decode()
    assert raw not in page
    assert token.hint in page
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/v1/leads").status_code == 200


def test_create_without_expiry_and_bad_input(web):
    web.post("/settings/tokens/", {"name": "Forever", "expires_in": "", "nonce": "n2"})
    assert ApiToken.objects.get().expires_at is None
    for data in [
        {"name": "", "nonce": "a"},
        {"name": "   ", "nonce": "b"},
        {"name": "x" * 101, "nonce": "c"},
        {"name": "a", "expires_in": "7", "nonce": "d"},
        {"name": "no nonce"},
    ]:
        response = web.post("/settings/tokens/", data)
        assert response.status_code == 400, data
    assert ApiToken.objects.count() == 1


def test_revoke_and_ownership(web):
    token, raw = api_token_create(user=web.user, name="Old")
    other, _ = api_token_create(user=UserFactory(username="other"), name="Theirs")
    assert web.post(f"/settings/tokens/{other.pk}/revoke/").status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None
    assert web.get(f"/settings/tokens/{token.pk}/revoke/").status_code == 405
    assert web.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 302
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/v1/leads").status_code == 401
    page = web.get("/settings/tokens/").content.decode()
    assert "Revoked" in page
    assert "Theirs" not in page


def test_the_page_is_csrf_protected(db):
    user = UserFactory(username="csrf")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/settings/tokens/", {"name": "x", "nonce": "n"}).status_code == 403
    assert ApiToken.objects.count() == 0


def test_a_resubmitted_form_creates_no_second_token(web):
    form = {"name": "Once", "expires_in": "", "nonce": "same-form"}
    first = web.post("/settings/tokens/", form)
    raw = first.context["created"]["raw"]
    again = web.post("/settings/tokens/", form)
    assert again.status_code == 200
    assert again.context["created"] is None
    assert raw not in again.content.decode()
    assert "already created" in again.content.decode()
    assert ApiToken.objects.filter(user=web.user).count() == 1
