"""No API token and no vendor credential is stored in plain text, anywhere in the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from integrations import crypto
from integrations.models import Integration
from leads.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

API_KEY = "hk_plaintext_canary_0123456789abcdef"


def _every_stored_value() -> str:
    """Every column of every row of every table, as text."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            parts.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(parts)


def _database_files() -> bytes:
    if connection.vendor != "sqlite":
        return b""
    path = Path(connection.settings_dict["NAME"])
    return b"".join(
        candidate.read_bytes()
        for candidate in [path, path.with_name(path.name + "-wal")]
        if candidate.exists()
    )


def test_tokens_and_credentials_are_never_stored_in_plain_text(monkeypatch):
    user = UserFactory(username="owner")
    user.set_password("a-long-test-password-42")
    user.save()
    client = Client()
    client.force_login(user)

    # An API token made on the tokens page; the page shows it once.
    page = client.post("/settings/tokens/", {"name": "laptop", "nonce": "n1", "expires_in": "90"})
    token = page.context["created"]["raw"]
    assert token.startswith("crm_")
    # Using it stores nothing readable either.
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/v1/leads").status_code == 200

    # Hunter credentials through the API; the vendor is not called on create.
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.post(
        "/v1/integrations",
        {"provider": "hunter", "credentials": {"api_key": API_KEY}, "settings": {}},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert API_KEY not in response.content.decode()

    stored = _every_stored_value()
    raw_files = _database_files()
    for secret in [token, token.removeprefix("crm_"), API_KEY]:
        assert secret not in stored
        assert secret.encode() not in raw_files
    # ...yet the credentials are there, readable with the keys.
    row = Integration.objects.get()
    assert crypto.decrypt_json(row.credentials_encrypted) == {"api_key": API_KEY}
    assert row.credentials_hint.endswith(API_KEY[-4:])
    if connection.vendor == "sqlite":  # the file scan did see the rows
        assert row.credentials_encrypted.encode() in raw_files
