from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.models import ApiToken, hash_token, new_raw_token


def api_token_create(
    *, user: Any, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its raw value, which is never stored or shown again."""
    raw = new_raw_token()
    token = ApiToken.objects.create(
        user=user,
        name=name.strip() or "API token",
        digest=hash_token(raw),
        hint=raw[:8],
        expires_at=expires_at,
    )
    return token, raw


def api_token_revoke(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def api_tokens_revoke_all(*, user_id: int) -> int:
    """Revoke every token of the user that still works; how many that was."""
    return ApiToken.objects.filter(user_id=user_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
