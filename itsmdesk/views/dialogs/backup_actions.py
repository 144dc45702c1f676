"""File > Back up now… and File > Restore from backup… (services/backup.py does the work).

Both run off the GUI thread: a backup as a read operation (it takes one snapshot; editing goes
on), a restore as an exclusive operation on the writer thread while the readers hold no
connection.  After a restore every panel refreshes whole.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox

from itsmdesk.kinds import Kind
from itsmdesk.services.records import Changes


class BackupActions(QObject):
    """The two File-menu actions of a main window on ``ctx``."""

    def __init__(self, window: QMainWindow, ctx, menu: QMenu, before: QAction) -> None:  # noqa: ANN001
        super().__init__(window)
        self.window, self.ctx = window, ctx
        self.backup_action = QAction(self.tr("&Back up now…"), window)
        self.backup_action.setObjectName("backupNow")
        self.backup_action.setShortcut(QKeySequence("Ctrl+Shift+B"))
        self.backup_action.triggered.connect(self.back_up)
        self.restore_action = QAction(self.tr("&Restore from backup…"), window)
        self.restore_action.setObjectName("restoreFromBackup")
        self.restore_action.triggered.connect(self.restore)
        menu.insertAction(before, self.backup_action)
        menu.insertAction(before, self.restore_action)

    def _folder(self) -> str:
        path = self.ctx.info.path
        return str(path.parent) if path is not None else str(Path.home())

    # -- back up ----------------------------------------------------------------------------------
    def back_up(self) -> None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M")
        suffix = "db" if self.ctx.info.backend == "sqlite" else "dump"
        default = str(Path(self._folder()) / f"itsmdesk-{stamp}.{suffix}")
        # a filter naming what is written (the dialog said only "All files (*)")
        kinds = self.tr("itsmdesk backups (*.db *.bak *.sqlite);;All files (*)") \
            if suffix == "db" else self.tr("PostgreSQL dumps (*.dump);;All files (*)")
        path, _filter = QFileDialog.getSaveFileName(self.window, self.tr("Back up the database"),
                                                    default, kinds)
        if path:
            self.start_backup(Path(path))

    def start_backup(self, target: Path) -> None:
        from itsmdesk.services.maintenance import backup

        self.ctx.sig_status.emit(self.tr("Backing up…"))
        self.ctx.query(backup, self.ctx.info, target, owner=self.window,
                       on_done=lambda written: self.ctx.sig_status.emit(
                           self.tr("Backup written to {path}").format(path=written)))

    # -- restore ----------------------------------------------------------------------------------
    def restore(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self.window, self.tr("Restore from backup"), self._folder(),
            self.tr("itsmdesk backups (*.db *.bak *.sqlite);;All files (*)"))
        if not path:
            return
        answer = QMessageBox.question(
            self.window, self.tr("Restore from backup"),
            # (each path on its own line: in the sentence they broke at any character)
            self.tr("Replace the database\n{db}\nwith the backup\n{file}?\n\nThe current "
                    "database is saved beside it first. Other itsmdesk windows and commands "
                    "using it must be closed.").format(db=self.ctx.info.display, file=path),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Yes:
            self.start_restore(Path(path))

    def start_restore(self, source: Path) -> None:
        from itsmdesk.services.backup import restore_open

        self.ctx.sig_status.emit(self.tr("Restoring…"))
        self.ctx.ops.exclusive(restore_open, self.ctx.info, source, owner=self.window,
                               on_done=self._restored)

    def _restored(self, done) -> None:  # noqa: ANN001 - services.backup.Restored
        everything = Changes()
        for kind in Kind:
            everything.note_many(kind)
        self.ctx.broadcast(everything)
        if done.safety_backup is not None:
            text = self.tr("Restored from {file}; the previous database was saved as {saved}")
        else:
            text = self.tr("Restored from {file}")
        self.ctx.sig_status.emit(text.format(file=done.source, saved=done.safety_backup))
