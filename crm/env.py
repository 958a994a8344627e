"""Reading settings from the environment, failing loudly.

Every setting the project reads from the environment goes through these helpers so that a
bad value stops start-up with a message that names the variable, instead of surfacing later
as a confusing error deep inside Django or Celery.
"""

from __future__ import annotations

import base64
import os
import secrets
import stat
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


def env_currency(name: str, default: str) -> str:
    """A three-letter ISO 4217 code, upper-cased: ``eur`` reads as ``EUR``."""
    value = env_str(name, default).upper()
    if not (len(value) == 3 and value.isascii() and value.isalpha()):
        raise ImproperlyConfigured(
            f"{name}: expected a three-letter currency code such as USD, got {value!r}"
        )
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


_DB_SCHEMES = ("sqlite://", "postgres://", "postgresql://", "pgsql://")


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "<not a URL>"
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = f"{userinfo.split(':', 1)[0]}:***@{host}"
    elif at:
        authority = f"{userinfo}@{host}"
    return f"{scheme}://{authority}{slash}{path}"


def env_db(name: str, default: str) -> dict:
    url = env_str(name, default)
    if not url.startswith(_DB_SCHEMES):
        raise ImproperlyConfigured(
            f"{name}: expected sqlite:///path or postgres://user:password@host/db, "
            f"got {redact_url(url)!r}"
        )
    try:
        return environ.Env.db_url_config(url)
    except Exception as exc:  # django-environ raises several types for a bad URL
        # The parser's message may quote the URL, password and all: name the type only.
        raise ImproperlyConfigured(
            f"{name}: not a database URL ({type(exc).__name__}): {redact_url(url)!r}"
        ) from None


def env_cache(name: str, default: str) -> dict:
    url = env_str(name, default)
    try:
        return environ.Env.cache_url_config(url)
    except Exception as exc:
        raise ImproperlyConfigured(
            f"{name}: not a cache URL ({type(exc).__name__}): {redact_url(url)!r}"
        ) from None


def env_email(name: str) -> dict:
    """Django's EMAIL_* settings from a URL such as ``smtp+tls://user:password@host:587``;
    {} when the variable is unset (no mail: the product then offers nothing that sends any)."""
    url = env_str(name, "")
    if not url:
        return {}
    try:
        config = environ.Env.email_url_config(url)
    except Exception as exc:
        raise ImproperlyConfigured(
            f"{name}: not a mail URL ({type(exc).__name__}): {redact_url(url)!r}"
        ) from None
    return {key: value for key, value in config.items() if value is not None}


# What the app keeps in DATA_DIR: the SQLite database (and its -wal/-shm), the generated
# secrets, the embedded broker and rate-limit databases, beat's schedule.
_PRIVATE_FILES = (
    "db.sqlite3",
    "secret_key",
    "field_encryption_keys",
    "broker.sqlite3",
    "ratelimit.sqlite3",
    "celerybeat-schedule",
)


def private_data_dir(path: Path) -> Path:
    """``DATA_DIR``, created 0700, with the app's files in it (the database, the generated
    secrets, the broker) kept from other local users: an existing folder or file of ours
    that group or others may read is narrowed to 0700 / 0600 on every start. A shared
    folder (sticky, like /tmp) and files the app did not make are left alone."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    uid = os.getuid() if hasattr(os, "getuid") else None

    def ours_and_open(info: os.stat_result) -> bool:
        return (uid is None or info.st_uid == uid) and bool(info.st_mode & 0o077)

    info = path.stat()
    if ours_and_open(info) and not info.st_mode & stat.S_ISVTX:
        path.chmod(info.st_mode & 0o700)
    for entry in path.iterdir():
        if not entry.name.startswith(_PRIVATE_FILES):
            continue
        info = entry.lstat()
        if stat.S_ISREG(info.st_mode) and ours_and_open(info):
            entry.chmod(info.st_mode & 0o600)
    return path


def require_shared_secrets(*names: str) -> None:
    """With a database server the app may run on several machines: each would generate its
    own secret key and encryption keys into its own DATA_DIR (sessions signed on one are
    refused by the next; credentials one encrypts the other cannot read). Stop instead."""
    missing = [name for name in names if not (_raw(name) or "").strip()]
    if missing:
        raise ImproperlyConfigured(
            f"{' and '.join(missing)} must be set when DATABASE_URL points at PostgreSQL: "
            "every web and worker process, on every machine, needs the same values. "
            "Generate them once (see docs/deploy.md, 'Secrets') and set them everywhere."
        )


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
        existing: str | None = path.read_text().strip()
    except FileNotFoundError:
        existing = None
    if existing:
        return existing
    if existing is None:
        data_dir.mkdir(parents=True, exist_ok=True)
        value = make()
        # O_EXCL: when two processes start at once, only one of them writes the secret.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(value + "\n")
            return value
    # Another process won the race: it has created the file, and until it has written the
    # secret the file is empty (two gunicorn workers starting at once: one of them read the
    # empty file and ran with an empty SECRET_KEY). Give it a moment to finish writing.
    for _ in range(50):
        existing = path.read_text().strip()
        if existing:
            return existing
        time.sleep(0.05)
    raise ImproperlyConfigured(f"{path} exists but is empty: delete it or set the variable")


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
