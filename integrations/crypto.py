"""Provider credentials at rest: Fernet with key rotation (MultiFernet, newest key first).

Keys come from ``FIELD_ENCRYPTION_KEYS`` (comma-separated, newest first) or, on a laptop
install without it, from a key file generated once into ``DATA_DIR`` (mode 0600).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """Stored credentials cannot be read with the configured keys."""


def _keys() -> list[str]:
    return list(settings.FIELD_ENCRYPTION_KEYS)


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS: each key must be 32 url-safe base64-encoded bytes "
            "(make one with manage.py rotatekeys --new-key)"
        ) from None


def fernet() -> MultiFernet:
    return _fernet(tuple(_keys()))


def encrypt_json(value: Any) -> str:
    return fernet().encrypt(json.dumps(value).encode()).decode()


def decrypt_json(token: str) -> Any:
    try:
        return json.loads(fernet().decrypt(token.encode()))
    except InvalidToken:
        raise DecryptionError(
            "stored credentials cannot be decrypted with the configured keys"
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt under the newest key (readable by any configured key)."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "a stored value cannot be decrypted with the configured keys"
        ) from None


def new_key() -> str:
    return Fernet.generate_key().decode()
