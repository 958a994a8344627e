from __future__ import annotations

import os
import subprocess
import sys
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
