"""Instantly (API V2): lead lists and campaigns in, leads and their interest status out."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from integrations.http import ProviderError
from integrations.instantly.client import InstantlyClient, parse_lead
from integrations.ratelimit import SharedRateLimiter, account_key
from integrations.spec import ProviderSpec

__all__ = ["SPEC", "InstantlyClient", "parse_lead"]

logger = logging.getLogger(__name__)


def _account(integration: Any, client: InstantlyClient, api_key: str) -> str:
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
    type(integration).objects.filter(pk=integration.pk).update(options=integration.options)
    return f"instantly:{workspace}"


def _client(integration: Any, credentials: Mapping[str, str], overrides: dict[str, Any]):
    client = InstantlyClient(
        credentials["api_key"], base_url=settings.INSTANTLY_API_URL, **overrides
    )
    key = _account(integration, client, credentials["api_key"])
    client.limiter = SharedRateLimiter(key, settings.INSTANTLY_RATE_LIMIT)
    return client


SPEC = ProviderSpec(
    key="instantly",
    label="Instantly",
    credential_fields=("api_key",),
    credential_help="Instantly → Settings → Integrations → API: a V2 key with leads scope.",
    make_client=_client,
)
