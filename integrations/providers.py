"""From an Integration row to a working vendor client, with its credentials decrypted."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from integrations import crypto
from integrations.http import ProviderError
from integrations.models import Integration, Provider
from integrations.ratelimit import SharedRateLimiter, account_key
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


logger = logging.getLogger(__name__)


def _instantly_account(integration: Integration, client: Any, api_key: str) -> str:
    """The Instantly workspace the key belongs to: its rate limit is the workspace's, shared
    by every key (Instantly's docs). Asked once (``GET /workspaces/current``) and kept in the
    integration's options; a key that may not read it is limited on its own (a hash of it),
    which keeps each key under the limit but cannot see other keys of the workspace."""
    options = integration.options or {}
    workspace = options.get("workspace_id")
    if isinstance(workspace, str) and workspace:
        return f"instantly:{workspace}"
    try:
        workspace = client.workspace_id()
    except ProviderError as exc:
        logger.info("instantly integration %s: no workspace id (%s)", integration.pk, exc)
        return account_key("instantly", api_key)
    integration.options = {**options, "workspace_id": workspace}
    Integration.objects.filter(pk=integration.pk).update(options=integration.options)
    return f"instantly:{workspace}"


def client_for(integration: Integration, **overrides: Any) -> ProviderClient:
    credentials = crypto.decrypt_json(integration.credentials_encrypted)
    overrides.setdefault(
        "timeout", (float(settings.VENDOR_CONNECT_TIMEOUT), float(settings.VENDOR_READ_TIMEOUT))
    )
    if integration.provider == Provider.HUNTER:
        from integrations.hunter.client import HunterClient

        return HunterClient(
            credentials["api_key"],
            base_url=settings.HUNTER_API_URL,
            limiter=SharedRateLimiter(
                account_key("hunter", credentials["api_key"]), settings.HUNTER_RATE_LIMIT
            ),
            **overrides,
        )
    if integration.provider == Provider.SNOVIO:
        from integrations.snovio.client import SnovioClient

        return SnovioClient(
            credentials["client_id"],
            credentials["client_secret"],
            base_url=settings.SNOVIO_API_URL,
            limiter=SharedRateLimiter(
                account_key("snovio", credentials["client_id"]), settings.SNOVIO_RATE_LIMIT
            ),
            token_store=IntegrationTokenStore(integration),
            full_profiles=bool((integration.options or {}).get("full_profiles", True)),
            custom_field_map=(integration.options or {}).get("custom_field_map") or {},
            **overrides,
        )
    if integration.provider == Provider.INSTANTLY:
        from integrations.instantly.client import InstantlyClient

        client = InstantlyClient(
            credentials["api_key"], base_url=settings.INSTANTLY_API_URL, **overrides
        )
        key = _instantly_account(integration, client, credentials["api_key"])
        client.limiter = SharedRateLimiter(key, settings.INSTANTLY_RATE_LIMIT)
        return client
    raise ValueError(f"unknown provider {integration.provider!r}")
