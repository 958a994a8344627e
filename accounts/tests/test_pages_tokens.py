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


# --- A changed password revokes the tokens (security review, issue 14 item 4) ---------------


def _api_status(raw: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/v1/leads").status_code


@pytest.mark.django_db(transaction=True)
def test_changing_the_password_by_any_door_revokes_every_token(django_user_model):
    user = UserFactory(username="paula")
    other = UserFactory(username="oscar")
    _, raw = api_token_create(user=user, name="script")
    _, second = api_token_create(user=user, name="laptop")
    _, theirs = api_token_create(user=other, name="theirs")
    assert _api_status(raw) == 200
    # Signing in (last_login) or renaming changes nothing.
    user.first_name = "Paula"
    user.save()
    user.save(update_fields=["last_login"])
    assert _api_status(raw) == 200
    user.set_password("a new and long passphrase")
    user.save()
    assert _api_status(raw) == 401
    assert _api_status(second) == 401
    assert _api_status(theirs) == 200
    assert ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_password_change_page_revokes_the_tokens_too():
    user = UserFactory(username="pete")
    user.set_password("the old passphrase 1")
    user.save()
    _, raw = api_token_create(user=user, name="script")
    client = Client()
    client.force_login(user)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": "the old passphrase 1",
            "new_password1": "a brand new passphrase 2",
            "new_password2": "a brand new passphrase 2",
        },
    )
    assert response.status_code == 302, response.content[:500]
    assert _api_status(raw) == 401


def test_revoke_all_my_tokens(web):
    _, raw = api_token_create(user=web.user, name="one")
    _, second = api_token_create(user=web.user, name="two")
    other = UserFactory(username="olga")
    _, theirs = api_token_create(user=other, name="theirs")
    page = web.get("/settings/tokens/").content.decode()
    assert "Revoke all my tokens" in page
    assert "Changing or resetting your password revokes all your tokens" in page
    assert web.get("/settings/tokens/revoke-all/").status_code == 405
    response = web.post("/settings/tokens/revoke-all/", follow=True)
    assert "Revoked 2 tokens." in response.content.decode()
    assert _api_status(raw) == 401
    assert _api_status(second) == 401
    assert _api_status(theirs) == 200
