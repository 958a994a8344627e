"""Hunter (https://hunter.io) Leads API v2: import and export of leads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from integrations.hunter.client import HunterClient
from integrations.ratelimit import SharedRateLimiter, account_key
from integrations.spec import ProviderSpec

__all__ = ["SPEC", "HunterClient"]


def _client(integration: Any, credentials: Mapping[str, str], overrides: dict[str, Any]):
    return HunterClient(
        credentials["api_key"],
        base_url=settings.HUNTER_API_URL,
        limiter=SharedRateLimiter(
            account_key("hunter", credentials["api_key"]), settings.HUNTER_RATE_LIMIT
        ),
        **overrides,
    )


SPEC = ProviderSpec(
    key="hunter",
    label="Hunter",
    credential_fields=("api_key",),
    credential_help="Hunter → API: copy your secret API key.",
    make_client=_client,
    imports_without_list=True,
    exports_without_list=True,
)
