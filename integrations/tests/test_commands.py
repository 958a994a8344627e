from __future__ import annotations

import io
import logging

import pytest
from django.core.management import CommandError, call_command

from integrations import crypto, engine, providers, services
from integrations.models import Integration, SyncRun
from integrations.records import VendorRecord
from integrations.tests.conftest import ScriptedClient, transient
from leads.models import Lead

pytestmark = pytest.mark.django_db


def test_sync_command_runs_in_the_foreground(hunter_integration, monkeypatch, settings):
    settings.SYNC_RETRY_DELAY = 0
    client = ScriptedClient(
        [[VendorRecord("1", "a@x.com")], [VendorRecord("2", "b@x.com")]], total=2
    )
    client.fail_next = [transient("blip")]
    monkeypatch.setattr(providers, "client_for", lambda integration, **kw: client)
    out = io.StringIO()
    call_command("sync", "rep", "hunter", "import", stdout=out)
    text = out.getvalue()
    assert "waiting 0s to retry: blip" in text
    assert "2/2 processed" in text
    assert "succeeded: processed 2 of 2, created 2" in text
    assert Lead.objects.count() == 2
    assert SyncRun.objects.get().trigger == "command"


def test_sync_command_errors(hunter_integration):
    with pytest.raises(CommandError, match="No user"):
        call_command("sync", "nobody", "hunter", "import")
    with pytest.raises(CommandError, match="no snovio integration"):
        call_command("sync", "rep", "snovio", "import")
    engine.run_claim(integration=hunter_integration, direction="import")
    with pytest.raises(CommandError, match="already queued"):
        call_command("sync", "rep", "hunter", "import")


def test_sync_command_reports_a_failed_run(hunter_integration, monkeypatch):
    client = ScriptedClient([[]])
    from integrations.http import AuthError

    client.fail_next = [AuthError("hunter: authentication_failed")]
    monkeypatch.setattr(providers, "client_for", lambda integration, **kw: client)
    out = io.StringIO()
    with pytest.raises(CommandError, match="failed"):
        call_command("sync", "rep", "hunter", "import", stdout=out)
    assert "Enter new credentials" in out.getvalue()


def test_rotatekeys_with_the_key_file(hunter_integration, settings, tmp_path):
    path = tmp_path / "field_encryption_keys"
    old = list(settings.FIELD_ENCRYPTION_KEYS)
    path.write_text(",".join(old))
    settings.FIELD_ENCRYPTION_KEYS_FILE = path
    settings.FIELD_ENCRYPTION_KEYS_FROM_ENV = False
    before = Integration.objects.get().credentials_encrypted
    call_command("rotatekeys", stdout=io.StringIO())
    keys = path.read_text().strip().split(",")
    assert len(keys) == 2 and keys[1:] == old
    after = Integration.objects.get().credentials_encrypted
    assert after != before
    # Readable with the new key alone.
    settings.FIELD_ENCRYPTION_KEYS = keys[:1]
    assert crypto.decrypt_json(after) == {"api_key": "hk_test_0123456789abcdef"}
    settings.FIELD_ENCRYPTION_KEYS = keys
    call_command("rotatekeys", "--drop-old", stdout=io.StringIO())
    assert path.read_text().strip() == keys[0]
    assert path.stat().st_mode & 0o777 == 0o600
    settings.FIELD_ENCRYPTION_KEYS = old
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_json(Integration.objects.get().credentials_encrypted)


def test_rotatekeys_with_keys_from_the_environment(hunter_integration, settings):
    new = crypto.new_key()
    settings.FIELD_ENCRYPTION_KEYS = [new, *settings.FIELD_ENCRYPTION_KEYS]
    settings.FIELD_ENCRYPTION_KEYS_FROM_ENV = True
    out = io.StringIO()
    call_command("rotatekeys", stdout=out)
    assert "remove the older keys" in out.getvalue()
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert crypto.decrypt_json(Integration.objects.get().credentials_encrypted)["api_key"]


def test_new_key_prints_a_usable_key():
    out = io.StringIO()
    call_command("rotatekeys", "--new-key", stdout=out)
    from cryptography.fernet import Fernet

    Fernet(out.getvalue().strip().encode())


def test_admin_never_shows_credentials(admin_client, rep):
    secret = "hk_admin_VISIBLE_SECRET_123456"
    integration = services.integration_create(
        user=rep, provider="hunter", credentials={"api_key": secret}, settings={}
    )
    run = engine.run_claim(integration=integration, direction="import")
    for path in [
        "/admin/integrations/integration/",
        f"/admin/integrations/integration/{integration.pk}/change/",
        "/admin/integrations/syncrun/",
        f"/admin/integrations/syncrun/{run.pk}/change/",
    ]:
        response = admin_client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert secret not in html
        assert integration.credentials_encrypted not in html
    assert "…3456" in admin_client.get("/admin/integrations/integration/").content.decode()


def test_no_credential_in_logs_of_a_failing_sync(hunter_integration, caplog, monkeypatch):
    from integrations.http import HttpClient

    class Client(HttpClient):
        provider = "hunter"
        export_batch_size = 10

        def auth_headers(self):
            return {"X-API-KEY": "hk_test_0123456789abcdef"}

        def fetch_page(self, list_id, checkpoint):
            return self.request("GET", "/leads", params={"offset": 0})

    client = Client("http://127.0.0.1:9")  # nothing listens on port 9
    caplog.set_level(logging.DEBUG)
    run = engine.run_claim(integration=hunter_integration, direction="import")
    outcome = engine.run_execute(run_id=run.pk, client=client)
    assert isinstance(outcome, engine.Retry)
    run.refresh_from_db()
    assert "hk_test_0123456789abcdef" not in caplog.text
    assert "hk_test_0123456789abcdef" not in (run.error or "")
