"""Deployment checks, security headers, and the Content-Security-Policy the templates keep to."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
SECURITY_VARIABLES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "BEHIND_TLS_PROXY",
    "SECURE_COOKIES",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
}
PRODUCTION = {
    "DEBUG": "false",
    "ALLOWED_HOSTS": "crm.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://crm.example.com",
    "BEHIND_TLS_PROXY": "true",
}


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    # Without the test set-up's DJANGO_ALLOW_ASYNC_UNSAFE, which no deployment sets, and on
    # the embedded database (with PostgreSQL the settings require SECRET_KEY, dropped here).
    dropped = {*SECURITY_VARIABLES, "DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL"}
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    return {**base, "DATA_DIR": str(tmp_path), **values}


def _settings_in(env: dict[str, str], *names: str) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "crm.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = _env(tmp_path, **PRODUCTION, SECRET_KEY=secrets.token_urlsafe(64))
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_defaults_are_https_only(tmp_path):
    # Empty values (as a copied .env.example leaves them) keep the defaults.
    env = _env(tmp_path, **PRODUCTION, SECRET_KEY=secrets.token_urlsafe(64), SECURE_COOKIES="")
    values = _settings_in(
        {**env, "SECURE_SSL_REDIRECT": "", "SECURE_HSTS_SECONDS": ""},
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_PROXY_SSL_HEADER",
    )
    assert values == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # a laptop install: `make run` on http://127.0.0.1:8000
        {"ALLOWED_HOSTS": "crm.example.com", "DEBUG": "true"},
        {
            "ALLOWED_HOSTS": "crm.example.com",
            "SECURE_COOKIES": "false",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_HSTS_SECONDS": "0",
        },
    ],
)
def test_plain_http_where_it_is_meant(tmp_path, overrides):
    values = _settings_in(
        _env(tmp_path, **overrides),
        "SESSION_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_PROXY_SSL_HEADER",
    )
    assert values == {
        "SESSION_COOKIE_SECURE": False,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_PROXY_SSL_HEADER": None,
    }


EXPECTED_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/", "/v1/leads", "/v1/docs", "/nowhere/", "/static/css/app.css"]
)
def test_security_headers_on_every_response(path):
    response = Client().get(path)
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy == EXPECTED_POLICY
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    if response["Content-Type"].startswith("text/html"):
        assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_https_switches(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client()
    plain = client.get("/accounts/login/")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/accounts/login/"
    assert "Strict-Transport-Security" not in plain
    # Through the TLS proxy: served, with HSTS.
    secure = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    # Health checks over plain HTTP are not redirected.
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_secure_cookies(settings, django_user_model):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    django_user_model.objects.create_user("sec", password="a-long-test-password-42")
    client = Client()
    page = client.get("/accounts/login/", secure=True)
    assert page.cookies["csrftoken"]["secure"] is True
    response = client.post(
        "/accounts/login/",
        {"username": "sec", "password": "a-long-test-password-42"},
        secure=True,
    )
    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"] is True
    assert response.cookies["sessionid"]["httponly"] is True


@pytest.mark.django_db
def test_api_docs_page_has_no_inline_script_or_style():
    client = Client()
    html = client.get("/v1/docs").content.decode()
    assert "<style" not in html
    scripts = re.findall(r"<script([^>]*)>", html)
    assert len(scripts) == 3
    assert all("src=" in attributes for attributes in scripts)
    script = client.get("/v1/docs?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()
    assert '"validatorUrl": null' in script.content.decode()


# Inline code the policy refuses: <script> without src (JSON data blocks are fine), <style>,
# style="…" and on…="…" attributes, javascript: URLs.
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I), "inline script"),
    (re.compile(r"<style[\s>]", re.I), "<style> block"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_templates_have_no_inline_script_or_style():
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text()
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert found == []
