"""From an Integration row to a working vendor client (``integrations.registry``), with its
credentials decrypted."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from integrations import crypto
from integrations.models import Integration
from integrations.records import ProviderClient
from integrations.registry import PROVIDERS, provider_spec

# Which credential fields each provider takes (api.md, "Integrations and sync runs").
CREDENTIAL_FIELDS = {key: spec.credential_fields for key, spec in PROVIDERS.items()}


def credentials_hint(provider: str, credentials: dict[str, str]) -> str:
    """``…4f2a``: enough to recognise a key, useless to anyone who sees it."""
    return provider_spec(provider).credentials_hint(credentials)


class IntegrationTokenStore:
    """Keeps Snov.io's access token on the integration row, encrypted, across runs."""

    def __init__(self, integration: Integration) -> None:
        self.integration = integration

    def load(self) -> tuple[str, float] | None:
        row = self.integration
        if not row.access_token_encrypted or row.access_token_expires_at is None:
            return None
        try:
            token = crypto.decrypt_json(row.access_token_encrypted)
        except crypto.DecryptionError:
            return None
        return str(token), float(row.access_token_expires_at)

    def save(self, token: str, expires_at: float) -> None:
        self.integration.access_token_encrypted = crypto.encrypt_json(token)
        self.integration.access_token_expires_at = expires_at
        Integration.objects.filter(pk=self.integration.pk).update(
            access_token_encrypted=self.integration.access_token_encrypted,
            access_token_expires_at=expires_at,
        )


def client_for(integration: Integration, **overrides: Any) -> ProviderClient:
    """The vendor's client for this integration, its credentials decrypted for it alone."""
    credentials = crypto.decrypt_json(integration.credentials_encrypted)
    overrides.setdefault(
        "timeout", (float(settings.VENDOR_CONNECT_TIMEOUT), float(settings.VENDOR_READ_TIMEOUT))
    )
    return provider_spec(integration.provider).make_client(integration, credentials, overrides)
