"""GUI test guard: a message box a test did not expect must never block the run.

Offscreen, a modal QMessageBox waits forever for a click nobody makes (a dialog left with
unsaved edits asks "Save the changes?" when pytest-qt closes it at teardown).  Every static
QMessageBox call answers at once here -- Cancel to questions (nothing is saved or discarded by
accident), Ok to notices -- and is recorded in ``message_boxes``.  Tests that care about a box
monkeypatch it themselves, which takes precedence.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

SHOWN: list[tuple[str, str]] = []


@pytest.fixture(autouse=True)
def _no_blocking_message_boxes(monkeypatch):
    SHOWN.clear()

    def answer(kind: str, default):  # noqa: ANN001, ANN202
        def show(_parent, title, text, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            SHOWN.append((kind, str(text)))
            return default
        return staticmethod(show)

    monkeypatch.setattr(QMessageBox, "question", answer("question", QMessageBox.StandardButton.Cancel))
    for kind in ("information", "warning", "critical"):
        monkeypatch.setattr(QMessageBox, kind, answer(kind, QMessageBox.StandardButton.Ok))
    yield


@pytest.fixture
def message_boxes() -> list[tuple[str, str]]:
    """(kind, text) of every message box shown during the test."""
    return SHOWN


class GuiSql:
    """SQL statements the GUI thread ran outside an operation (the window would have waited on
    the database for each)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def clear(self) -> None:
        self.statements.clear()


@pytest.fixture
def gui_sql(monkeypatch):
    """Records every statement run on the GUI thread outside ``ctx.query``/``ctx.write``.

    In the tests operations run inline on the GUI thread, flagged as operations; anything else
    that reaches the database from the GUI thread is a form or panel waiting on it.  Assert
    ``gui_sql.statements == []`` around what the person does.
    """
    import threading

    import peewee

    from itsmdesk.views.ops import in_operation

    seen = GuiSql()
    original = peewee.Database.execute_sql

    def execute_sql(self, sql, params=None, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        if threading.current_thread() is threading.main_thread() and not in_operation():
            seen.statements.append(str(sql)[:120])
        return original(self, sql, params, *args, **kwargs)

    monkeypatch.setattr(peewee.Database, "execute_sql", execute_sql)
    return seen
