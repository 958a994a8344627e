"""The layering of docs/architecture.md, read from the code's own imports (function-level ones
included): which package may import which, so no cycle between apps can come back."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "leads", "integrations", "csvimport")
# Which apps each app may import. `crm` is the shared base every app may import.
ALLOWED = {
    "accounts": set(),
    "leads": set(),
    "integrations": {"leads"},
    "csvimport": {"leads"},
}
# The only crm modules that wire the apps together.
CRM_WIRING = {"urls.py", "celery.py"}


def _modules(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if "tests" in parts or "migrations" in parts:
            continue
        yield path


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def test_apps_import_only_the_apps_below_them():
    wrong = []
    for app, allowed in ALLOWED.items():
        for path in _modules(app):
            for name in _imported(path):
                top = _top(name)
                if top in APPS and top != app and top not in allowed:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_no_app_imports_another_apps_api_module():
    wrong = []
    for app in APPS:
        for path in _modules(app):
            for name in _imported(path):
                parts = name.split(".")
                if parts[0] in APPS and parts[0] != app and "api" in parts[1:2]:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_crm_imports_apps_only_where_it_wires_them_and_settings_import_none():
    wrong = []
    for path in _modules("crm"):
        if path.name in CRM_WIRING:
            continue
        for name in _imported(path):
            if _top(name) in APPS:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_the_engine_knows_no_vendor_by_name():
    """Vendor facts come from the registry (integrations/registry.py)."""
    for module in ("engine.py", "importer.py", "tasks.py", "services.py", "views.py"):
        text = (ROOT / "integrations" / module).read_text().lower()
        for vendor in ("hunter", "snov", "instantly"):
            assert f'"{vendor}' not in text, f"{module} names {vendor}"
