from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from crm import running
from crm.models import RunningProcess
from crm.running import key_set_fingerprints
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


def _process(keys, *, role="worker", host=None, pid=None):
    """A running process as it records itself at start (crm.running.announce)."""
    return RunningProcess.objects.create(
        role=role,
        host=host or socket.gethostname(),
        pid=pid or os.getpid(),  # alive, so not forgotten as dead
        started_at=timezone.now(),
        key_fingerprints=key_set_fingerprints(keys),
    )


def _key_file(settings, tmp_path):
    path = tmp_path / "field_encryption_keys"
    path.write_text(",".join(settings.FIELD_ENCRYPTION_KEYS))
    settings.FIELD_ENCRYPTION_KEYS_FILE = path
    settings.FIELD_ENCRYPTION_KEYS_FROM_ENV = False
    return path


def test_rotatekeys_with_the_key_file_in_the_safe_order(hunter_integration, settings, tmp_path):
    path = _key_file(settings, tmp_path)
    old = list(settings.FIELD_ENCRYPTION_KEYS)
    worker = _process(old)
    before = Integration.objects.get().credentials_encrypted

    # 1. A new key first; nothing is re-encrypted yet, so the running worker still reads all.
    out = io.StringIO()
    call_command("rotatekeys", "--add", stdout=out)
    keys = path.read_text().strip().split(",")
    assert len(keys) == 2 and keys[1:] == old
    assert Integration.objects.get().credentials_encrypted == before
    assert "restart them" in out.getvalue()

    # 2. Re-encrypting before the worker restarted would cut it off: refused, naming it.
    with pytest.raises(CommandError, match=rf"Cannot re-encrypt yet.*worker {os.getpid()}@"):
        call_command("rotatekeys", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Cannot drop the old keys yet"):
        call_command("rotatekeys", "--drop-old", stdout=io.StringIO())
    assert Integration.objects.get().credentials_encrypted == before
    assert path.read_text().strip().split(",") == keys

    # 3. Once it runs with the new key set, re-encrypt.
    worker.key_fingerprints = key_set_fingerprints(keys)
    worker.save()
    call_command("rotatekeys", stdout=io.StringIO())
    after = Integration.objects.get().credentials_encrypted
    assert after != before
    settings.FIELD_ENCRYPTION_KEYS = keys[:1]
    assert crypto.decrypt_json(after) == {"api_key": "hk_test_0123456789abcdef"}
    settings.FIELD_ENCRYPTION_KEYS = keys

    # 4. Drop the old key.
    call_command("rotatekeys", "--drop-old", stdout=io.StringIO())
    assert path.read_text().strip() == keys[0]
    assert path.stat().st_mode & 0o777 == 0o600
    settings.FIELD_ENCRYPTION_KEYS = old
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_json(Integration.objects.get().credentials_encrypted)


def test_a_process_with_the_new_and_old_keys_does_not_hold_the_rotation(
    hunter_integration, settings, tmp_path
):
    _key_file(settings, tmp_path)
    old = list(settings.FIELD_ENCRYPTION_KEYS)
    call_command("rotatekeys", "--add", stdout=io.StringIO())
    _process(list(settings.FIELD_ENCRYPTION_KEYS), role="web")
    _process(old, role="beat", pid=1)  # pid 1 runs, but it is not this machine's: stays
    RunningProcess.objects.filter(role="beat").update(host="gone.example")
    with pytest.raises(CommandError, match=r"beat 1@gone.example"):
        call_command("rotatekeys", stdout=io.StringIO())
    out = io.StringIO()
    call_command("rotatekeys", "--forget", "1@gone.example", stdout=out)
    assert "Forgot process 1 on gone.example" in out.getvalue()
    call_command("rotatekeys", stdout=io.StringIO())


def test_a_dead_process_on_this_machine_is_forgotten(hunter_integration, settings, tmp_path):
    _key_file(settings, tmp_path)
    old = list(settings.FIELD_ENCRYPTION_KEYS)
    call_command("rotatekeys", "--add", stdout=io.StringIO())
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    _process(old, pid=int(dead.stdout))
    call_command("rotatekeys", stdout=io.StringIO())
    assert not RunningProcess.objects.exists()


@pytest.mark.parametrize("name", ["12", "x@host", "12@", "1" * 30 + "@host", "²@host"])
def test_forget_names_what_is_wrong(name):
    with pytest.raises(CommandError, match="pid@host"):
        call_command("rotatekeys", "--forget", name, stdout=io.StringIO())


def test_forget_an_unknown_process():
    with pytest.raises(CommandError, match="No process 12 on nowhere is recorded"):
        call_command("rotatekeys", "--forget", "12@nowhere", stdout=io.StringIO())


def test_rotatekeys_with_keys_from_the_environment(hunter_integration, settings):
    old = list(settings.FIELD_ENCRYPTION_KEYS)
    settings.FIELD_ENCRYPTION_KEYS_FROM_ENV = True
    with pytest.raises(CommandError, match="cannot change: put the key that --new-key prints"):
        call_command("rotatekeys", "--add", stdout=io.StringIO())
    new = crypto.new_key()
    settings.FIELD_ENCRYPTION_KEYS = [new, *old]
    machine_b = _process(old, role="web", host="b.example", pid=4242)
    with pytest.raises(CommandError, match=r"web 4242@b.example"):
        call_command("rotatekeys", stdout=io.StringIO())
    machine_b.key_fingerprints = key_set_fingerprints([new, *old])
    machine_b.save()
    out = io.StringIO()
    call_command("rotatekeys", stdout=out)
    assert "rotatekeys --drop-old" in out.getvalue()
    out = io.StringIO()
    call_command("rotatekeys", "--drop-old", stdout=out)
    assert "remove the older keys from FIELD_ENCRYPTION_KEYS" in out.getvalue()
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert crypto.decrypt_json(Integration.objects.get().credentials_encrypted)["api_key"]


def test_a_process_records_its_key_set_and_removes_it_at_exit(settings, monkeypatch):
    """What rotatekeys reads: each process's key fingerprints, never the keys."""
    at_exit = []
    monkeypatch.setattr(running, "hold_shared", lambda role: None)
    monkeypatch.setattr(running.atexit, "register", at_exit.append)
    running.announce("web")
    row = RunningProcess.objects.get()
    assert (row.role, row.pid, row.host) == ("web", os.getpid(), socket.gethostname())
    assert row.key_fingerprints == key_set_fingerprints(list(settings.FIELD_ENCRYPTION_KEYS))
    assert all(key not in row.key_fingerprints for key in settings.FIELD_ENCRYPTION_KEYS)
    (remove,) = at_exit
    remove()
    assert not RunningProcess.objects.exists()


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
