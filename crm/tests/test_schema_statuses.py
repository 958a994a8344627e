"""The schema documents what the server really answers (413, 414), and client generators can
build a working client from it."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from drf_spectacular.generators import SchemaGenerator

from crm.schema import REQUEST_LINE_LIMIT

ROOT = Path(__file__).resolve().parents[2]


def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_operation_documents_414_and_every_body_413(db):
    schema = _schema()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "patch", "put", "delete"}:
                continue
            assert "414" in operation["responses"], f"{method} {path}"
            if "requestBody" in operation:
                assert "413" in operation["responses"], f"{method} {path}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _web_command(port: int) -> list[str]:
    """The Procfile's web command, as `make run` starts it."""
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    command = line.removeprefix("web:").strip()
    command = command.replace("${WEB_BIND:-127.0.0.1:8000}", f"127.0.0.1:{port}")
    command = command.replace("${WEB_WORKERS:-2}", "1")
    args = shlex.split(command)
    assert args[0] == "gunicorn"
    return [sys.executable, "-m", "gunicorn", *args[1:]]


def test_gunicorn_answers_414_past_the_documented_request_line_limit(db, tmp_path):
    port = _free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DJANGO_DEBUG": "false"}
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        _web_command(port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "gunicorn exited"
            try:
                requests.get(f"{base}/healthz", timeout=2)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
        # "GET " + path + " HTTP/1.1": the path alone just under and just over the limit.
        under = "/v1/leads?q=" + "a" * (REQUEST_LINE_LIMIT - 100)
        assert requests.get(base + under, timeout=10).status_code != 414
        # Every operation the schema documents 414 for answers it.
        for path, item in _schema()["paths"].items():
            for method in item:
                url = path.replace("{id}", "1") + "?q=" + "a" * (REQUEST_LINE_LIMIT + 10)
                answer = requests.request(method.upper(), base + url, timeout=10)
                assert answer.status_code == 414, (method, path)
                # As documented: gunicorn's own page, not the API's JSON.
                assert answer.headers["Content-Type"].startswith("text/html")
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_openapi_python_client_generates_a_client_whose_every_operation_imports(db, tmp_path):
    """Generators must be able to use the schema: the integration body (one shape per
    provider) once made openapi-python-client write a module that failed to import."""
    schema_path = tmp_path / "schema.json"
    schema_path.write_text(json.dumps(_schema(), default=str))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"post_hooks": [], "project_name_override": "crm-client"}))
    tool = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(
        [str(tool), "generate", "--path", str(schema_path), "--config", str(config),
         "--output-path", str(tmp_path / "client"), "--fail-on-warning"],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    package = next(p for p in (tmp_path / "client").iterdir() if (p / "api").is_dir())
    sys.path.insert(0, str(tmp_path / "client"))
    try:
        api = importlib.import_module(f"{package.name}.api")
        operations = []
        for info in pkgutil.walk_packages(api.__path__, prefix=f"{package.name}.api."):
            module = importlib.import_module(info.name)
            if not info.ispkg:
                assert hasattr(module, "sync_detailed"), info.name
                operations.append(info.name.rsplit(".", 1)[1])
        assert "integrations_create" in operations
        assert len(operations) >= 20
        models = importlib.import_module(f"{package.name}.models")
        # One class per provider, chosen by the discriminator.
        assert hasattr(models, "HunterIntegrationCreate")
        assert hasattr(models, "SnovioIntegrationCreate")
    finally:
        sys.path.remove(str(tmp_path / "client"))
        for name in [m for m in sys.modules if m.split(".")[0] == package.name]:
            del sys.modules[name]


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
