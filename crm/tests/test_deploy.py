"""What docs/deploy.md tells an operator to install works with this code: the example
environment file passes `check --deploy`; the systemd units and Procfile.scaled start commands
that exist, with options the installed gunicorn and Celery accept; the nginx example lets the
largest CSV import through to the port gunicorn listens on."""

from __future__ import annotations

import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from honcho.environ import expand_processes, parse_procfile

from csvimport import parsing

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / "deploy" / "env.example"
UNITS = ROOT / "deploy" / "systemd"
VENV_BIN = Path(sys.executable).parent
PLACEHOLDER = "REPLACE-ME"


def read_env_file(path: Path) -> dict[str, str]:
    """NAME=value lines, as systemd's EnvironmentFile= and `set -a; . file` both read them."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", name), f"not NAME=value: {line!r}"
        # Quotes and spaces mean different things to systemd and to a shell: keep to neither.
        assert not re.search(r"[\"'\s$`\\]", value), f"{name}: quote-free values only"
        values[name] = value
    return values


def read_env_file_names(path: Path) -> list[str]:
    return [
        line.partition("=")[0]
        for line in path.read_text().splitlines()
        if line and not line.startswith("#") and "=" in line
    ]


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The example file with its placeholders filled in as the doc says, and nothing else from
    this process's environment (systemd starts services with a clean one)."""
    values = read_env_file(ENV_EXAMPLE)
    values["SECRET_KEY"] = secrets.token_urlsafe(50)
    values["FIELD_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    values["DATABASE_URL"] = values["DATABASE_URL"].replace(PLACEHOLDER, "s3cret")
    return {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        **values,
        "DATA_DIR": str(tmp_path),  # /var/lib/crm in production
        **overrides,
    }


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_env_example_sets_the_production_settings_and_only_known_names():
    values = read_env_file(ENV_EXAMPLE)
    known = set(read_env_file_names(ROOT / ".env.example"))
    assert set(values) <= known, f"not in .env.example: {set(values) - known}"
    assert values["DEBUG"] == "false"
    assert values["BEHIND_TLS_PROXY"] == "true"
    assert values["DATABASE_URL"].startswith("postgres://")
    assert values["CELERY_BROKER_URL"].startswith("redis://")
    assert values["CACHE_URL"].startswith("redis://")
    assert values["CELERY_BROKER_URL"] != values["CACHE_URL"]
    # The secrets are left for the operator to make, never shipped.
    assert {name for name, value in values.items() if PLACEHOLDER in value} == {
        "SECRET_KEY",
        "FIELD_ENCRYPTION_KEYS",
        "DATABASE_URL",
    }


def test_check_deploy_is_clean_with_the_env_example(tmp_path):
    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_catches_a_placeholder_left_in(tmp_path):
    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(tmp_path, SECRET_KEY=PLACEHOLDER),
    )
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def read_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file: sections of NAME=value (repeatable), backslash continuations."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        name, _, value = line.partition("=")
        current.setdefault(name.strip(), []).append(value.strip())
    return sections


def exec_start(unit: dict) -> list[str]:
    (command,) = unit["Service"]["ExecStart"]
    # systemd turns %% into a literal %; Celery then expands %h itself.
    return shlex.split(command.replace("%%", "%"))


# What each unit must start, and how to make the real program validate its options and load
# the app without serving: gunicorn's --check-config imports crm.wsgi; Celery's --help loads
# the app given to -A and rejects unknown options.
EXPECTED_UNITS = {
    "crm-web.service": (["gunicorn", "crm.wsgi"], "--check-config"),
    "crm-worker.service": (["celery", "-A", "crm", "worker"], "--help"),
    "crm-beat.service": (["celery", "-A", "crm", "beat"], "--help"),
}


def test_exactly_the_three_units():
    assert sorted(p.name for p in UNITS.glob("*.service")) == sorted(EXPECTED_UNITS)


@pytest.mark.parametrize("name", sorted(EXPECTED_UNITS))
def test_unit_runs_a_real_command_with_the_env_file(tmp_path, name):
    unit = read_unit(UNITS / name)
    service = unit["Service"]
    assert service["EnvironmentFile"] == ["/etc/crm/env"]
    assert service["WorkingDirectory"] == ["/opt/crm"]
    assert service["User"] == ["crm"]
    # DATA_DIR in the env file is the state directory systemd makes for the service user.
    assert service["StateDirectory"] == ["crm"]
    assert read_env_file(ENV_EXAMPLE)["DATA_DIR"] == "/var/lib/crm"
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]

    argv = exec_start(unit)
    expected, validate = EXPECTED_UNITS[name]
    program = Path(argv[0])
    assert program.parent == Path("/opt/crm/.venv/bin")
    assert [program.name, *argv[1 : len(expected)]] == expected
    # The same command from this checkout's virtualenv, told to validate and stop.
    local = [str(VENV_BIN / program.name), *argv[1:], validate]
    result = run(local, production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze here")
def test_units_pass_systemd_analyze_verify(tmp_path):
    # Pointed at this checkout (systemd checks that each ExecStart program exists).
    for unit in UNITS.glob("*.service"):
        text = unit.read_text().replace("/opt/crm/.venv/bin", str(VENV_BIN))
        text = text.replace("/opt/crm", str(ROOT))
        text = re.sub(r"^(User|Group)=crm$", r"\1=root", text, flags=re.M)
        (tmp_path / unit.name).write_text(text)
    units = sorted(str(p) for p in tmp_path.glob("*.service"))
    result = subprocess.run(
        ["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_procfile_scaled_gives_each_web_process_its_own_port(tmp_path):
    procfile = parse_procfile((ROOT / "Procfile.scaled").read_text())
    assert list(procfile.processes) == ["web", "worker", "beat"]
    # As scripts/run-scaled.sh starts it.
    script = (ROOT / "scripts" / "run-scaled.sh").read_text()
    assert '--port "$PORT_BASE" --concurrency web=2,worker=2' in script
    processes = expand_processes(
        procfile.processes, concurrency={"web": 2, "worker": 2}, env={}, port=8001
    )
    by_name = {p.name: p for p in processes}
    assert sorted(by_name) == ["beat.1", "web.1", "web.2", "worker.1", "worker.2"]
    assert by_name["web.1"].env["PORT"] == "8001"
    assert by_name["web.2"].env["PORT"] == "8002"

    for name, validate in [
        ("web.1", "--check-config"),
        ("worker.2", "--help"),
        ("beat.1", "--help"),
    ]:
        process = by_name[name]
        env = production_env(tmp_path, **process.env)
        # honcho runs each line through the shell, which expands $PORT and friends.
        result = run(["/bin/sh", "-c", f"{process.cmd} {validate}"], env)
        assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"
    assert "--bind 127.0.0.1:$PORT" in procfile.processes["web"]
    assert "--hostname $HONCHO_PROCESS_NAME@%h" in procfile.processes["worker"]


def test_run_scaled_script_parses():
    result = subprocess.run(
        ["bash", "-n", str(ROOT / "scripts" / "run-scaled.sh")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_nginx_example_fits_the_app():
    conf = (ROOT / "deploy" / "nginx" / "crm.conf").read_text()
    # Big enough for the largest CSV the import accepts, with room for the multipart form.
    (size,) = re.findall(r"client_max_body_size (\d+)m;", conf)
    assert int(size) * 1024 * 1024 > parsing.MAX_BYTES + 64 * 1024
    assert int(size) * 1024 * 1024 > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    # The upstream is where crm-web.service listens.
    argv = exec_start(read_unit(UNITS / "crm-web.service"))
    bind = argv[argv.index("--bind") + 1]
    assert f"server {bind};" in conf
    # The headers BEHIND_TLS_PROXY makes the app trust are set by nginx, never passed on.
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in conf
    assert "proxy_set_header Host $host;" in conf


def _listening_sockets(port: int) -> int:
    """How many TCP sockets listen on ``port`` (any address), from /proc/net/tcp."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
            count += 1
    return count


def test_each_web_worker_listens_on_its_own_socket(tmp_path):
    # With one shared socket, whichever worker wakes first accepts, and a burst of keep-alive
    # connections (nginx's upstream pool, 32 clients in the bench) can all stay on one worker
    # while the others idle. --reuse-port gives each worker its own socket, which the kernel
    # spreads connections over: as many listening sockets as workers.
    argv = exec_start(read_unit(UNITS / "crm-web.service"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    argv[argv.index("--workers") + 1] = "3"
    local = [str(VENV_BIN / Path(argv[0]).name), *argv[1:]]
    server = subprocess.Popen(
        local,
        cwd=ROOT,
        env=production_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while _listening_sockets(port) < 3 and time.monotonic() < deadline:
            assert server.poll() is None, "gunicorn exited"
            time.sleep(0.2)
        assert _listening_sockets(port) == 3
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_scaled_web_processes_listen_as_the_unit_does():
    procfile = parse_procfile((ROOT / "Procfile.scaled").read_text())
    assert "--reuse-port" in shlex.split(procfile.processes["web"])
