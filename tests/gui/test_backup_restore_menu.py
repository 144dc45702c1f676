"""File > Back up now… and File > Restore from backup…: a backup written off the GUI thread, a
restore on the writer thread while the readers hold no connection, after a confirmation, and
every panel told to refresh."""

from __future__ import annotations

import sqlite3

import pytest
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

from itsmdesk.models import db as proxy
from itsmdesk.services.servicedesk import incidents
from itsmdesk.views.main_window import MainWindow

pytestmark = pytest.mark.gui


def titles(path) -> list[str]:  # noqa: ANN001
    con = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in con.execute("SELECT title FROM incident"))
    finally:
        con.close()


def _answer(monkeypatch, save=None, open_=None, confirm=QMessageBox.StandardButton.Yes):  # noqa: ANN001
    if save is not None:
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(save), "")))
    if open_ is not None:
        monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(open_), "")))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: confirm))


def test_file_menu_backs_up_and_restores_after_confirmation(ctx, qtbot, settings, monkeypatch,
                                                            tmp_path):
    window = MainWindow(ctx, settings)
    qtbot.addWidget(window)
    names = [a.objectName() for a in window.menus["File"].actions()]
    assert names.index("backupNow") < names.index("restoreFromBackup")
    statuses, changes = [], []
    ctx.sig_status.connect(statuses.append)
    ctx.sig_changes.connect(changes.append)
    incidents.create_incident({"title": "old"})
    target = tmp_path / "monday.db"
    _answer(monkeypatch, save=target)
    window.findChild(type(window.backup_actions.backup_action), "backupNow").trigger()
    assert titles(target) == ["old"]
    assert statuses[-1] == f"Backup written to {target}"
    incidents.create_incident({"title": "new"})

    _answer(monkeypatch, open_=target, confirm=QMessageBox.StandardButton.Cancel)
    window.backup_actions.restore_action.trigger()
    assert titles(ctx.info.path) == ["new", "old"]  # cancelled: nothing replaced

    other = sqlite3.connect(ctx.info.path)  # another program has the file open
    other.execute("SELECT count(*) FROM incident").fetchone()
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(
        lambda _parent, _title, text, *a, **k: shown.append(text)))
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(
        lambda _parent, _title, text, *a, **k: shown.append(text)))
    _answer(monkeypatch, open_=target)
    window.backup_actions.restore_action.trigger()
    other.close()
    assert any(f"{ctx.info.path} is open in another program" in t for t in shown), shown
    assert titles(ctx.info.path) == ["new", "old"]

    window.backup_actions.restore_action.trigger()
    assert titles(ctx.info.path) == ["old"]
    assert statuses[-1].startswith(f"Restored from {target}; the previous database was saved as")
    assert changes and changes[-1].is_wholesale("incident")
    assert [i.title for i in incidents.Incident.select()] == ["old"]  # the connection works


def test_restore_runs_on_the_writer_while_the_readers_hold_no_connection(qapp, qtbot, sqlite_db,
                                                                         monkeypatch, tmp_path):
    from itsmdesk.services.maintenance import backup
    from itsmdesk.views.context import AppContext
    from itsmdesk.views.dialogs.backup_actions import BackupActions

    incidents.create_incident({"title": "old"})
    copy = backup(sqlite_db, tmp_path / "monday.db")
    incidents.create_incident({"title": "new"})
    proxy.obj.close()  # (the window's threads are the only users now)
    ctx = AppContext(sqlite_db)  # real reader and writer threads, connections warmed
    try:
        window = QMainWindow()
        qtbot.addWidget(window)
        menu = window.menuBar().addMenu("File")
        quit_action = menu.addAction("Quit")
        actions = BackupActions(window, ctx, menu, quit_action)
        seen = []
        ctx.query(lambda: incidents.Incident.select().count(), on_done=seen.append)
        qtbot.waitUntil(lambda: seen == [2])
        statuses = []
        ctx.sig_status.connect(statuses.append)
        actions.start_restore(copy)
        qtbot.waitUntil(lambda: statuses and statuses[-1].startswith("Restored from"), timeout=20000)
        assert titles(sqlite_db.path) == ["old"]
        ctx.query(lambda: [i.title for i in incidents.Incident.select()], on_done=seen.append)
        qtbot.waitUntil(lambda: seen[-1] == ["old"])  # the readers reconnected to the new file
    finally:
        ctx.ops.stop()
