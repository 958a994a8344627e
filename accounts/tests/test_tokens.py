from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken, hash_token
from accounts.services import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return get_user_model().objects.create_user("carol", password="pw-for-tests-only")


def _get(token: str | None, header: str | None = None):
    headers = {}
    if header is not None:
        headers["HTTP_AUTHORIZATION"] = header
    elif token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return Client(**headers).get("/v1/leads")


def test_token_is_stored_only_as_a_hash(user):
    token, raw = api_token_create(user=user, name="laptop")
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.digest == hash_token(raw)
    assert raw not in {stored.digest, stored.hint, stored.name}
    assert len(stored.hint) < len(raw) // 2


def test_valid_token_works_and_records_use(user):
    token, raw = api_token_create(user=user, name="laptop")
    assert _get(raw).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_several_named_tokens_per_user(user):
    _, first = api_token_create(user=user, name="laptop")
    _, second = api_token_create(user=user, name="script")
    assert _get(first).status_code == 200
    assert _get(second).status_code == 200
    assert set(ApiToken.objects.filter(user=user).values_list("name", flat=True)) == {
        "laptop",
        "script",
    }


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer nope", "Bearer a b", "Token abc", "Basic Zm9vOmJhcg==", "Bearer \xff"],
)
def test_missing_or_bad_credentials_are_401_with_www_authenticate(header):
    response = _get(None, header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json()) == {"detail"}


def test_revoked_token_stops_at_once(user):
    token, raw = api_token_create(user=user, name="laptop")
    assert _get(raw).status_code == 200
    api_token_revoke(token=token)
    assert _get(raw).status_code == 401


def test_expired_token_is_refused(user):
    token, raw = api_token_create(
        user=user, name="short", expires_at=timezone.now() + dt.timedelta(hours=1)
    )
    assert _get(raw).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert _get(raw).status_code == 401


def test_inactive_user_token_is_refused(user):
    _, raw = api_token_create(user=user, name="laptop")
    user.is_active = False
    user.save()
    assert _get(raw).status_code == 401


def test_createapitoken_prints_a_working_token(user):
    out = io.StringIO()
    call_command("createapitoken", "carol", "--name", "cli", stdout=out)
    raw = out.getvalue().strip()
    assert _get(raw).status_code == 200
    assert ApiToken.objects.get(user=user).name == "cli"


def test_createapitoken_with_expiry_and_errors(user):
    out = io.StringIO()
    call_command("createapitoken", "carol", "--expires-in-days", "3", stdout=out)
    assert ApiToken.objects.get(user=user).expires_at is not None
    with pytest.raises(CommandError, match="nobody"):
        call_command("createapitoken", "nobody")
    with pytest.raises(CommandError, match="at least 1"):
        call_command("createapitoken", "carol", "--expires-in-days", "0")


def test_session_auth_works_and_needs_csrf_for_writes(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/v1/leads").status_code == 200
    response = client.post("/v1/companies", {"name": "X"}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_bearer_requests_need_no_csrf(user):
    _, raw = api_token_create(user=user, name="script")
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.post("/v1/companies", {"name": "X"}, content_type="application/json")
    assert response.status_code == 201


def test_ensureadmin_only_on_an_empty_database():
    out = io.StringIO()
    call_command("ensureadmin", stdout=out)
    admin = get_user_model().objects.get()
    assert admin.is_superuser
    password = next(
        line.split(":", 1)[1].strip() for line in out.getvalue().splitlines() if "password:" in line
    )
    assert admin.check_password(password)
    again = io.StringIO()
    call_command("ensureadmin", stdout=again)
    assert again.getvalue() == ""
    assert get_user_model().objects.count() == 1
