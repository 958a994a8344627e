"""Writes for integrations: connect, change settings or credentials, test, start runs."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from integrations import crypto, engine, providers
from integrations.http import AuthError, ProviderError
from integrations.models import Integration, SyncRun
from integrations.records import VendorList
from integrations.registry import provider_spec

SETTING_FIELDS = (
    "import_list_id",
    "export_list_id",
    "export_campaign_id",
    "schedule",
    # Checked against the owner's team by the doors (leads.assignment) before they get here.
    "assign",
    "assign_to",
)


def integration_create(
    *, user, provider: str, credentials: dict[str, str], settings: dict[str, Any]
) -> Integration:
    integration = Integration(
        user=user,
        provider=provider,
        credentials_encrypted=crypto.encrypt_json(credentials),
        credentials_hint=providers.credentials_hint(provider, credentials),
    )
    for name, value in settings.items():
        if name in SETTING_FIELDS:
            setattr(integration, name, value)
        elif name in provider_spec(provider).options:
            integration.options = {**(integration.options or {}), name: value}
    integration.save()
    return integration


def integration_update(
    *,
    integration: Integration,
    credentials: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
) -> Integration:
    fields = ["updated_at"]
    if credentials is not None:
        integration.credentials_encrypted = crypto.encrypt_json(credentials)
        integration.credentials_hint = providers.credentials_hint(integration.provider, credentials)
        # New credentials: forget the old session token and the old complaint.
        integration.access_token_encrypted = ""
        integration.access_token_expires_at = None
        integration.state = Integration.State.ACTIVE
        integration.last_error = ""
        fields += [
            "credentials_encrypted",
            "credentials_hint",
            "access_token_encrypted",
            "access_token_expires_at",
            "state",
            "last_error",
        ]
    for name, value in (settings or {}).items():
        if name in SETTING_FIELDS:
            setattr(integration, name, value)
            fields.append(name)
        elif name in integration.spec.options:
            integration.options = {**(integration.options or {}), name: value}
            if "options" not in fields:
                fields.append("options")
    integration.save(update_fields=fields)
    return integration


def integration_delete(*, integration: Integration) -> None:
    """Disconnect. Leads stay; only the links to the vendor's records and the runs go."""
    integration.delete()


def integration_test(*, integration: Integration, client=None) -> tuple[bool, str]:
    """Check the saved credentials against the vendor for real."""
    try:
        (client or providers.client_for(integration)).check()
    except AuthError as exc:
        Integration.objects.filter(pk=integration.pk).update(
            state=Integration.State.NEEDS_CREDENTIALS, last_error=exc.message
        )
        return False, f"The credentials were refused: {exc.message}"
    except crypto.DecryptionError as exc:
        return False, str(exc)
    except ProviderError as exc:
        return False, exc.message
    Integration.objects.filter(pk=integration.pk).update(
        state=Integration.State.ACTIVE, last_error=""
    )
    return True, ""


def integration_lists(*, integration: Integration, client=None) -> list[VendorList]:
    return (client or providers.client_for(integration)).lists()


def sync_start(
    *, integration: Integration, direction: str, params: dict[str, Any] | None = None
) -> SyncRun:
    """Claim a run and queue it; raises engine.RunAlreadyActive when one is under way."""
    from integrations.tasks import enqueue_run

    with transaction.atomic():
        run = engine.run_claim(integration=integration, direction=direction, params=params)
        enqueue_run(run)
    return run
