"""The import contract of DESIGN.md's layers, checked on every module (CI runs it with the
tests): no Qt in services or models; no models, peewee or database drivers in views or reports.
Imports inside functions count as much as those at the top."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "itsmdesk"

# layer (folder under itsmdesk/) -> import prefixes it must not use
FORBIDDEN = {
    "services": ("PySide6", "shiboken6", "itsmdesk.views", "itsmdesk.reports", "itsmdesk.commands",
                 "itsmdesk.cli", "itsmdesk.app", "itsmdesk.words", "itsmdesk.i18n"),
    "models": ("PySide6", "shiboken6", "itsmdesk.services", "itsmdesk.views", "itsmdesk.reports",
               "itsmdesk.commands"),
    "views": ("itsmdesk.models", "peewee", "playhouse", "psycopg2", "psycopg", "sqlite3"),
    "reports": ("itsmdesk.models", "peewee", "playhouse", "psycopg2", "psycopg", "sqlite3",
                "itsmdesk.views"),
}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def violations(root: Path = ROOT) -> list[str]:
    out = []
    for layer, banned in FORBIDDEN.items():
        for path in sorted((root / layer).rglob("*.py")):
            for line, name in _imports(path):
                if any(name == b or name.startswith(b + ".") for b in banned):
                    out.append(f"{path.relative_to(root.parent)}:{line} imports {name}")
    return sorted(set(out))


def test_layers_import_only_downwards():
    assert violations() == []


def test_the_contract_catches_a_view_reading_models(tmp_path):
    """Not vacuous: a view importing a model and a service importing Qt are both found."""
    (tmp_path / "itsmdesk" / "views").mkdir(parents=True)
    (tmp_path / "itsmdesk" / "services").mkdir(parents=True)
    (tmp_path / "itsmdesk" / "views" / "x.py").write_text(
        "def f():\n    from itsmdesk.models.incident import Incident\n    return Incident\n")
    (tmp_path / "itsmdesk" / "services" / "y.py").write_text("import PySide6.QtCore\n")
    found = violations(tmp_path / "itsmdesk")
    assert {v.split(":")[0] for v in found} == {"itsmdesk/services/y.py", "itsmdesk/views/x.py"}
    assert any("itsmdesk.models.incident" in v for v in found)
