"""From an Integration row to a working vendor client, with its credentials decrypted."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from integrations import crypto
from integrations.http import limiter_for
from integrations.models import Integration, Provider
from integrations.records import ProviderClient

# Which credential fields each provider takes (api.md, "Integrations and sync runs").
CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    Provider.HUNTER: ("api_key",),
    Provider.SNOVIO: ("client_id", "client_secret"),
    Provider.INSTANTLY: ("api_key",),
}
SOURCE_LABELS = {
    Provider.HUNTER: "Hunter",
    Provider.SNOVIO: "Snov.io",
    Provider.INSTANTLY: "Instantly",
}


def credentials_hint(credentials: dict[str, str]) -> str:
    """``…4f2a``: enough to recognise a key, useless to anyone who sees it."""
    secret = credentials.get("api_key") or credentials.get("client_id") or ""
    return f"…{secret[-4:]}" if len(secret) >= 12 else "…"


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
    credentials = crypto.decrypt_json(integration.credentials_encrypted)
    account = f"{integration.user_id}:{integration.pk}"
    overrides.setdefault(
        "timeout", (float(settings.VENDOR_CONNECT_TIMEOUT), float(settings.VENDOR_READ_TIMEOUT))
    )
    if integration.provider == Provider.HUNTER:
        from integrations.hunter.client import HunterClient

        return HunterClient(
            credentials["api_key"],
            base_url=settings.HUNTER_API_URL,
            limiter=limiter_for("hunter", account, settings.HUNTER_RATE_LIMIT),
            **overrides,
        )
    if integration.provider == Provider.SNOVIO:
        from integrations.snovio.client import SnovioClient

        return SnovioClient(
            credentials["client_id"],
            credentials["client_secret"],
            base_url=settings.SNOVIO_API_URL,
            limiter=limiter_for("snovio", account, settings.SNOVIO_RATE_LIMIT),
            token_store=IntegrationTokenStore(integration),
            full_profiles=bool((integration.options or {}).get("full_profiles", True)),
            custom_field_map=(integration.options or {}).get("custom_field_map") or {},
            **overrides,
        )
    if integration.provider == Provider.INSTANTLY:
        from integrations.instantly.client import InstantlyClient

        return InstantlyClient(
            credentials["api_key"],
            base_url=settings.INSTANTLY_API_URL,
            limiter=limiter_for("instantly", account, settings.INSTANTLY_RATE_LIMIT),
            **overrides,
        )
    raise ValueError(f"unknown provider {integration.provider!r}")
