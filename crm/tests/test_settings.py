from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from crm import env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("name", "value", "reader"),
    [
        ("DEBUG", "maybe", lambda: env.env_bool("DEBUG", False)),
        ("CONN_MAX_AGE", "ten", lambda: env.env_int("CONN_MAX_AGE", 0)),
        ("CONN_MAX_AGE", "-1", lambda: env.env_int("CONN_MAX_AGE", 0, minimum=0)),
        ("API_RATE_LIMIT", "lots", lambda: env.env_rate("API_RATE_LIMIT", "1/s")),
        ("API_RATE_LIMIT", "10/fortnight", lambda: env.env_rate("API_RATE_LIMIT", "1/s")),
        ("DATABASE_URL", "nonsense://", lambda: env.env_db("DATABASE_URL", "sqlite://")),
        ("CURRENCY", "dollars", lambda: env.env_currency("CURRENCY", "USD")),
        ("CURRENCY", "€", lambda: env.env_currency("CURRENCY", "USD")),
    ],
)
def test_bad_values_name_the_variable(monkeypatch, name, value, reader):
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        reader()


def test_good_values(monkeypatch):
    monkeypatch.setenv("DEBUG", "Yes")
    monkeypatch.setenv("ALLOWED_HOSTS", "a.com, b.com ,")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db:5432/crm")
    monkeypatch.setenv("CURRENCY", " eur ")
    assert env.env_currency("CURRENCY", "USD") == "EUR"
    assert env.env_bool("DEBUG", False) is True
    assert env.env_list("ALLOWED_HOSTS", []) == ["a.com", "b.com"]
    config = env.env_db("DATABASE_URL", "")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "crm"


def test_secret_is_generated_once_with_private_mode(tmp_path):
    first = env.secret_from_file(tmp_path, "secret_key", env.make_secret_key)
    second = env.secret_from_file(tmp_path, "secret_key", env.make_secret_key)
    assert first == second
    assert len(first) > 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_a_secret_file_another_process_has_created_but_not_written_yet_is_waited_for(tmp_path):
    """Two processes starting at once (gunicorn's workers): the one that lost the race to
    create the file must wait for the winner's write, not take the empty file for the secret."""
    path = tmp_path / "secret_key"
    path.touch(mode=0o600)  # created by the other process, which has not written it yet
    writer = threading.Timer(0.2, lambda: path.write_text("the-winners-secret\n"))
    writer.start()
    try:
        assert env.secret_from_file(tmp_path, "secret_key", env.make_secret_key) == (
            "the-winners-secret"
        )
    finally:
        writer.join()
    assert path.read_text() == "the-winners-secret\n"  # not overwritten


def test_start_up_stops_on_a_bad_value_naming_it(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**os.environ, "DATA_DIR": str(tmp_path), "API_RATE_LIMIT": "often"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "API_RATE_LIMIT" in result.stderr


def test_env_example_lists_every_variable_the_settings_read():
    settings_source = (ROOT / "crm" / "settings.py").read_text()
    example = (ROOT / ".env.example").read_text()
    import re

    read = set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', settings_source))
    listed = set(re.findall(r"^([A-Z_]+)=", example, flags=re.MULTILINE))
    assert read <= listed, f"missing from .env.example: {sorted(read - listed)}"


# --- Secrets and files (security review, issue 14 item 9) ---------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgres://crm:hunter2-secret@db:notaport/crm",
        "mysql://crm:hunter2-secret@db/crm",
        "postgres://crm:hunter2-secret@[::1:5432/crm",
    ],
)
def test_a_bad_database_url_is_named_without_its_password(monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ImproperlyConfigured) as caught:
        env.env_db("DATABASE_URL", "sqlite://")
    assert "hunter2-secret" not in str(caught.value)
    assert "DATABASE_URL" in str(caught.value)


def test_redact_url_keeps_what_helps_and_drops_the_password():
    assert env.redact_url("postgres://crm:pw@db:5432/crm") == "postgres://crm:***@db:5432/crm"
    assert env.redact_url("redis://:pw@cache:6379/1") == "redis://:***@cache:6379/1"
    assert env.redact_url("sqlite:///var/db.sqlite3") == "sqlite:///var/db.sqlite3"
    assert env.redact_url("nonsense") == "<not a URL>"


def test_data_dir_and_its_files_are_private(tmp_path):
    data = tmp_path / "data"
    env.private_data_dir(data)
    assert data.stat().st_mode & 0o777 == 0o700
    # An older install: folder 0755, database 0644; narrowed at the next start.
    data.chmod(0o755)
    database = data / "db.sqlite3"
    database.write_text("")
    database.chmod(0o644)
    mine = data / "notes.txt"  # not the app's: left as it is
    mine.write_text("")
    mine.chmod(0o644)
    env.private_data_dir(data)
    assert data.stat().st_mode & 0o777 == 0o700
    assert database.stat().st_mode & 0o777 == 0o600
    assert mine.stat().st_mode & 0o777 == 0o644


def test_a_shared_sticky_folder_is_never_narrowed(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    env.private_data_dir(shared)
    assert shared.stat().st_mode & 0o7777 == 0o1777


def _check(tmp_path, **variables):
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS")}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**base, "DATA_DIR": str(tmp_path), **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_postgresql_without_shared_secrets_stops_start_up_naming_them(tmp_path):
    url = "postgres://crm:pw@127.0.0.1:1/crm"
    result = _check(tmp_path, DATABASE_URL=url)
    assert result.returncode != 0
    assert "SECRET_KEY and FIELD_ENCRYPTION_KEYS must be set" in result.stderr
    assert not (tmp_path / "secret_key").exists()
    result = _check(tmp_path, DATABASE_URL=url, SECRET_KEY="k" * 50)
    assert "FIELD_ENCRYPTION_KEYS must be set" in result.stderr
    assert "SECRET_KEY and" not in result.stderr
