"""Snov.io (https://snov.io) REST API: import and export of prospects in prospect lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from integrations.ratelimit import SharedRateLimiter, account_key
from integrations.snovio.client import MemoryTokenStore, SnovioClient, TokenStore
from integrations.spec import ProviderSpec

__all__ = ["SPEC", "MemoryTokenStore", "SnovioClient", "TokenStore"]


def _client(integration: Any, credentials: Mapping[str, str], overrides: dict[str, Any]):
    from integrations.providers import IntegrationTokenStore

    options = integration.options or {}
    return SnovioClient(
        credentials["client_id"],
        credentials["client_secret"],
        base_url=settings.SNOVIO_API_URL,
        limiter=SharedRateLimiter(
            account_key("snovio", credentials["client_id"]), settings.SNOVIO_RATE_LIMIT
        ),
        token_store=IntegrationTokenStore(integration),
        full_profiles=bool(options.get("full_profiles", True)),
        custom_field_map=options.get("custom_field_map") or {},
        **overrides,
    )


def _options_form():
    from integrations.snovio.forms import SnovioOptionsForm

    return SnovioOptionsForm


SPEC = ProviderSpec(
    key="snovio",
    label="Snov.io",
    credential_fields=("client_id", "client_secret"),
    credential_help="Snov.io → Account settings → API: copy the user ID and the secret.",
    make_client=_client,
    requires_email=True,
    # Profiles fetched on import (slower, complete), and where custom attributes go on export.
    options={"full_profiles": True, "custom_field_map": {}},
    options_form=_options_form,
)
