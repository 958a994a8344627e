"""Reading settings from the environment, failing loudly.

Every setting the project reads from the environment goes through these helpers so that a
bad value stops start-up with a message that names the variable, instead of surfacing later
as a confusing error deep inside Django or Celery.
"""

from __future__ import annotations

import base64
import os
import secrets
import time
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from crm.ids import ascii_digits

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return value.strip()


def env_str(name: str, default: str) -> str:
    value = _raw(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    # Empty means unset, as for every other helper: `SECURE_COOKIES=` keeps the default.
    if value is None or value == "":
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: expected true or false, got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum}, got {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


_DB_SCHEMES = ("sqlite://", "postgres://", "postgresql://", "pgsql://")


def env_db(name: str, default: str) -> dict:
    url = env_str(name, default)
    if not url.startswith(_DB_SCHEMES):
        raise ImproperlyConfigured(
            f"{name}: expected sqlite:///path or postgres://user:password@host/db, got {url!r}"
        )
    try:
        return environ.Env.db_url_config(url)
    except Exception as exc:  # django-environ raises several types for a bad URL
        raise ImproperlyConfigured(f"{name}: not a database URL ({exc})") from None


def env_cache(name: str, default: str) -> dict:
    url = env_str(name, default)
    try:
        return environ.Env.cache_url_config(url)
    except Exception as exc:
        raise ImproperlyConfigured(f"{name}: not a cache URL ({exc})") from None


def env_rate(name: str, default: str) -> str:
    """A DRF-style rate such as ``1000/min``."""
    value = env_str(name, default)
    count, _, period = value.partition("/")
    if not ascii_digits(count) or int(count) < 1 or not period or period[0] not in "smhd":
        raise ImproperlyConfigured(
            f"{name}: expected a rate like 1000/min (per s, min, hour or day), got {value!r}"
        )
    return value


def secret_from_file(data_dir: Path, filename: str, make) -> str:
    """Read a generated secret from ``data_dir``, creating it (mode 0600) on first use.

    This is what lets a laptop install run without any configuration, while a real
    deployment passes its secrets through the environment instead.
    """
    path = data_dir / filename
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    value = make()
    # O_EXCL: when two processes start at once, only one of them writes the secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process won the race; give it a moment to finish writing.
        for _ in range(50):
            existing = path.read_text().strip()
            if existing:
                return existing
            time.sleep(0.05)
        raise ImproperlyConfigured(f"{path} exists but is empty: delete it or set the variable")
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def make_fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def make_secret_key() -> str:
    return secrets.token_urlsafe(50)


def parse_limits(text: str) -> list[tuple[int, float]]:
    """``"10/s,450/min"`` → ``[(10, 1.0), (450, 60.0)]``; ``"off"`` → no limit."""
    periods = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0}
    if text.strip().lower() in {"", "off", "none"}:
        return []
    windows = []
    for part in text.split(","):
        count, _, unit = part.strip().partition("/")
        if not ascii_digits(count.strip()) or unit.strip() not in periods:
            raise ValueError(f"bad rate {part!r}: expected forms like 10/s or 450/min")
        windows.append((int(count), periods[unit.strip()]))
    return windows


def env_limits(name: str, default: str) -> list[tuple[int, float]]:
    """Client-side rate limits such as ``10/s,450/min``, or ``off``."""
    value = env_str(name, default)
    try:
        return parse_limits(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None
