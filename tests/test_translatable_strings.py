"""Every user-facing string can be found by the translation tool (pyside6-lupdate).

lupdate takes the context from ``QCoreApplication.translate("Context", ...)`` and from
``self.tr(...)`` inside a class.  A module-level helper such as ``def tr(text): return
QCoreApplication.translate("Form", text)`` called with a literal is extracted with an *empty*
context, so its Swedish never shows.  This test finds such calls."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "itsmdesk"
FOLDERS = ("views", "reports", "commands")


def bare_tr_calls(root: Path = ROOT) -> list[str]:
    out = []
    paths = [p for f in FOLDERS for p in sorted((root / f).rglob("*.py"))]
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in ("tr", "_t", "_") and node.args \
                    and isinstance(node.args[0], (ast.Constant, ast.JoinedStr)):
                out.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    return out


def test_no_string_is_hidden_from_the_translation_tool():
    assert bare_tr_calls() == []


def test_the_check_finds_a_hidden_string(tmp_path):
    (tmp_path / "itsmdesk" / "views").mkdir(parents=True)
    (tmp_path / "itsmdesk" / "views" / "x.py").write_text(
        "def tr(t):\n    return t\n\nLABEL = tr('Hidden')\nOK = tr(LABEL)\n")
    assert bare_tr_calls(tmp_path / "itsmdesk") == ["itsmdesk/views/x.py:4"]
