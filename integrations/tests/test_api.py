"""/v1/integrations and /v1/sync-runs: contract, validation, secrecy and ownership."""

from __future__ import annotations

import pytest

from integrations import crypto, engine, providers
from integrations.http import AuthError, TransientError
from integrations.models import Integration, SyncFailure, SyncRun
from integrations.tests.conftest import ScriptedClient
from leads.tests.conftest import ApiClient
from leads.tests.factories import UserFactory, make_lead

pytestmark = pytest.mark.django_db

SECRET = "hk_live_SUPERSECRET_0123456789"


def _create(api, provider="hunter", credentials=None, settings=None):
    body = {
        "provider": provider,
        "credentials": {"api_key": SECRET} if credentials is None else credentials,
    }
    if settings is not None:
        body["settings"] = settings
    return api.post("/v1/integrations", body)


def test_create_hides_credentials_and_stores_them_encrypted(rep_api):
    response = _create(rep_api, settings={"import_list_id": 12, "schedule": "daily"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert SECRET not in response.content.decode()
    assert body["credentials_hint"] == "…6789"
    assert body["settings"] == {
        "import_list_id": 12,
        "export_list_id": None,
        "export_campaign_id": None,
        "schedule": "daily",
        "assign": "owner",  # new leads are the owner's unless a manager spreads them
        "assign_to": None,
    }
    assert body["state"] == "active"
    row = Integration.objects.get()
    assert SECRET not in row.credentials_encrypted
    assert crypto.decrypt_json(row.credentials_encrypted) == {"api_key": SECRET}
    for path in ["/v1/integrations", f"/v1/integrations/{row.pk}"]:
        assert SECRET not in rep_api.get(path).content.decode()


def test_one_integration_per_provider(rep_api):
    assert _create(rep_api).status_code == 201
    second = _create(rep_api)
    assert second.status_code == 400
    assert "provider" in second.json()


@pytest.mark.parametrize(
    ("provider", "credentials"),
    [
        ("hunter", {}),
        ("hunter", {"api_key": ""}),
        ("hunter", {"api_key": 5}),
        ("hunter", {"api_key": "k", "extra": "x"}),
        ("snovio", {"api_key": "k"}),
        ("snovio", {"client_id": "c"}),
        ("instantly", {"api_key": "a\nb"}),
    ],
)
def test_bad_credentials_shape_is_400(rep_api, provider, credentials):
    response = _create(rep_api, provider=provider, credentials=credentials)
    assert response.status_code == 400
    assert "credentials" in response.json()
    assert Integration.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"provider": "salesforce", "credentials": {"api_key": "k"}},
        {"provider": "hunter"},
        {"provider": "hunter", "credentials": "k"},
        {"provider": "hunter", "credentials": {"api_key": "k"}, "settings": {"schedule": "weekly"}},
        {"provider": "hunter", "credentials": {"api_key": "k"}, "settings": {"import_list_id": []}},
        {"provider": "hunter", "credentials": {"api_key": "k"}, "settings": {"colour": "red"}},
        {"provider": "hunter", "credentials": {"api_key": "k"}, "bogus": 1},
    ],
)
def test_bad_bodies_are_400(rep_api, body):
    assert rep_api.post("/v1/integrations", body).status_code == 400
    assert Integration.objects.count() == 0


def test_patch_settings_and_credentials(rep_api):
    integration_id = _create(rep_api).json()["id"]
    Integration.objects.filter(pk=integration_id).update(
        state=Integration.State.NEEDS_CREDENTIALS, last_error="refused"
    )
    response = rep_api.patch(
        f"/v1/integrations/{integration_id}",
        {"settings": {"export_list_id": "99"}, "credentials": {"api_key": "new_key_abcdefgh"}},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["settings"]["export_list_id"] == "99"
    assert body["state"] == "active"
    assert body["credentials_hint"] == "…efgh"
    row = Integration.objects.get()
    assert crypto.decrypt_json(row.credentials_encrypted) == {"api_key": "new_key_abcdefgh"}
    assert (
        rep_api.patch(f"/v1/integrations/{integration_id}", {"provider": "snovio"}).json()[
            "provider"
        ]
        == "hunter"
    )  # read-only, ignored


def test_lists_and_test_connection(rep_api, monkeypatch):
    integration_id = _create(rep_api).json()["id"]
    monkeypatch.setattr(providers, "client_for", lambda integration, **kw: ScriptedClient([[]]))
    lists = rep_api.get(f"/v1/integrations/{integration_id}/lists")
    assert lists.json() == {"data": [{"id": "1", "name": "Main", "count": 1, "kind": "list"}]}
    assert rep_api.post(f"/v1/integrations/{integration_id}/test").json() == {"ok": True}

    class Refusing(ScriptedClient):
        def check(self):
            raise AuthError("hunter: authentication_failed", status=401)

        def lists(self):
            raise TransientError("hunter did not answer in time")

    monkeypatch.setattr(providers, "client_for", lambda integration, **kw: Refusing())
    result = rep_api.post(f"/v1/integrations/{integration_id}/test").json()
    assert result["ok"] is False
    assert "refused" in result["detail"]
    assert Integration.objects.get().state == "needs_credentials"
    failed = rep_api.get(f"/v1/integrations/{integration_id}/lists")
    assert failed.status_code == 424
    assert "did not answer" in failed.json()["detail"]


def test_import_queues_a_run_and_a_second_is_409(rep_api):
    integration_id = _create(rep_api).json()["id"]
    response = rep_api.post(f"/v1/integrations/{integration_id}/import")
    assert response.status_code == 202
    run = response.json()
    assert run["state"] == "queued"
    assert run["direction"] == "import"
    assert run["provider"] == "hunter"
    assert run["total"] is None
    assert set(run) == {
        "id", "integration_id", "provider", "direction", "state", "processed", "total",
        "created", "updated", "unchanged", "skipped", "failed", "error", "started_at",
        "finished_at",
    }  # fmt: skip
    again = rep_api.post(f"/v1/integrations/{integration_id}/import")
    assert again.status_code == 409
    assert again.json()["run_id"] == run["id"]
    assert rep_api.post(f"/v1/integrations/{integration_id}/export").status_code == 202


def test_export_body_validation(rep_api):
    integration_id = _create(rep_api).json()["id"]
    mine = make_lead(user=rep_api.user, email="m@x.com")
    theirs = make_lead(user=UserFactory(username="other"), email="t@x.com")
    path = f"/v1/integrations/{integration_id}/export"
    for body, field in [
        ({"lead_ids": [theirs.pk]}, "lead_ids"),
        ({"lead_ids": []}, "lead_ids"),
        ({"lead_ids": ["x"]}, "lead_ids"),
        ({"lead_ids": [mine.pk], "status": "new"}, "lead_ids"),
        ({"status": "won"}, "status"),
        ({"min_score": 80, "max_score": 20}, "min_score"),
        ({"shoe_size": 9}, "shoe_size"),
    ]:
        response = rep_api.post(path, body)
        assert response.status_code == 400, (body, response.content)
        assert field in response.json(), (body, response.json())
    assert SyncRun.objects.count() == 0
    response = rep_api.post(path, {"lead_ids": [mine.pk]})
    assert response.status_code == 202
    assert SyncRun.objects.get().params == {"lead_ids": [mine.pk]}


def test_export_with_filters_stores_them(rep_api):
    integration_id = _create(rep_api).json()["id"]
    response = rep_api.post(
        f"/v1/integrations/{integration_id}/export", {"status": "qualified", "min_score": 50}
    )
    assert response.status_code == 202
    assert SyncRun.objects.get().params == {"filters": {"status": "qualified", "min_score": "50"}}


def test_export_takes_every_list_filter(rep_api):
    """The body takes the list's filters from their one declaration, the two added with
    do-not-contact included (they were missing from the body until it was derived)."""
    from integrations.engine import export_queryset

    integration_id = _create(rep_api).json()["id"]
    keep = make_lead(user=rep_api.user, email="keep@x.com")
    make_lead(user=rep_api.user, email="stop@x.com", do_not_contact=True)
    response = rep_api.post(
        f"/v1/integrations/{integration_id}/export",
        {"do_not_contact": False, "email_status": "unknown"},
    )
    assert response.status_code == 202, response.content
    run = SyncRun.objects.get()
    assert run.params == {"filters": {"do_not_contact": "False", "email_status": "unknown"}}
    assert list(export_queryset(run).values_list("id", flat=True)) == [keep.pk]
    bad = rep_api.post(f"/v1/integrations/{integration_id}/export", {"email_status": "great"})
    assert bad.status_code == 400
    assert "email_status" in bad.json()


def test_sync_runs_list_get_cancel_failures(rep_api):
    integration_id = _create(rep_api).json()["id"]
    run_id = rep_api.post(f"/v1/integrations/{integration_id}/import").json()["id"]
    run = SyncRun.objects.get(pk=run_id)
    SyncFailure.objects.create(run=run, record="a@x.com", detail="invalid email")
    listed = rep_api.get("/v1/sync-runs", {"integration_id": integration_id, "state": "queued"})
    assert [r["id"] for r in listed.json()["data"]] == [run_id]
    assert rep_api.get("/v1/sync-runs", {"state": "failed"}).json()["data"] == []
    assert rep_api.get("/v1/sync-runs", {"state": "nope"}).status_code == 400
    assert rep_api.get(f"/v1/sync-runs/{run_id}").json()["state"] == "queued"
    failures = rep_api.get(f"/v1/sync-runs/{run_id}/failures").json()
    assert failures["data"][0]["record"] == "a@x.com"
    assert failures["data"][0]["detail"] == "invalid email"
    cancelled = rep_api.post(f"/v1/sync-runs/{run_id}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    # A new import may start once the old one is over.
    assert rep_api.post(f"/v1/integrations/{integration_id}/import").status_code == 202


def test_another_users_integrations_and_runs_are_404(rep_api):
    integration_id = _create(rep_api).json()["id"]
    run_id = rep_api.post(f"/v1/integrations/{integration_id}/import").json()["id"]
    intruder = ApiClient(UserFactory(username="intruder"))
    missing = 10**9
    for method, template, body in [
        ("get", "/v1/integrations/{}", None),
        ("patch", "/v1/integrations/{}", {"settings": {"schedule": "hourly"}}),
        ("delete", "/v1/integrations/{}", None),
        ("get", "/v1/integrations/{}/lists", None),
        ("post", "/v1/integrations/{}/test", None),
        ("post", "/v1/integrations/{}/import", None),
        ("post", "/v1/integrations/{}/export", None),
    ]:
        args = (body,) if body is not None else ()
        theirs = getattr(intruder, method)(template.format(integration_id), *args)
        nobody = getattr(intruder, method)(template.format(missing), *args)
        assert theirs.status_code == 404, (method, template)
        assert theirs.content == nobody.content
    for method, template in [
        ("get", "/v1/sync-runs/{}"),
        ("post", "/v1/sync-runs/{}/cancel"),
        ("get", "/v1/sync-runs/{}/failures"),
    ]:
        assert getattr(intruder, method)(template.format(run_id)).status_code == 404
    assert intruder.get("/v1/integrations").json() == {"data": [], "next_cursor": None}
    assert intruder.get("/v1/sync-runs").json() == {"data": [], "next_cursor": None}
    assert SyncRun.objects.get(pk=run_id).state == "queued"
    assert Integration.objects.get().schedule == "manual"


def test_delete_integration_keeps_leads(rep_api):
    integration_id = _create(rep_api).json()["id"]
    lead = make_lead(user=rep_api.user, email="keep@x.com")
    assert rep_api.delete(f"/v1/integrations/{integration_id}").status_code == 204
    assert Integration.objects.count() == 0
    lead.refresh_from_db()


def test_claim_conflict_maps_engine_errors(rep_api):
    integration = Integration.objects.get(pk=_create(rep_api).json()["id"])
    engine.run_claim(integration=integration, direction="export")
    response = rep_api.post(f"/v1/integrations/{integration.pk}/export")
    assert response.status_code == 409
    assert "already queued" in response.json()["detail"]


def test_a_managers_export_reads_the_teams_leads_and_a_reps_only_their_own(rep_api):
    """api.md: exports by a manager may include every lead in scope; user_id narrows them."""
    from integrations.engine import export_queryset
    from leads.models import Role, Team, TeamMembership

    manager, other = UserFactory(username="boss"), UserFactory(username="elsewhere")
    team = Team.objects.create(name="T")
    TeamMembership.objects.create(user=manager, team=team, role=Role.MANAGER)
    TeamMembership.objects.create(user=rep_api.user, team=team, role=Role.REP)
    own = make_lead(user=manager, email="own@x.com")
    reps = make_lead(user=rep_api.user, email="rep@x.com")
    make_lead(user=other, email="other@x.com")
    boss = ApiClient(manager)
    integration_id = _create(boss).json()["id"]
    assert boss.post(f"/v1/integrations/{integration_id}/export", {}).status_code == 202
    run = SyncRun.objects.get(integration_id=integration_id)
    assert set(export_queryset(run).values_list("id", flat=True)) == {own.pk, reps.pk}
    run.delete()
    narrowed = boss.post(f"/v1/integrations/{integration_id}/export", {"user_id": rep_api.user.pk})
    assert narrowed.status_code == 202, narrowed.content
    run = SyncRun.objects.get(integration_id=integration_id)
    assert list(export_queryset(run).values_list("id", flat=True)) == [reps.pk]
    # The rep's own export holds only the rep's leads.
    rep_integration = _create(rep_api).json()["id"]
    assert rep_api.post(f"/v1/integrations/{rep_integration}/export", {}).status_code == 202
    rep_run = SyncRun.objects.get(integration_id=rep_integration)
    assert list(export_queryset(rep_run).values_list("id", flat=True)) == [reps.pk]
