"""Sync with hub: a replica's sync run from the desktop app, with progress and Cancel.

The sync engine points the process-wide model proxy at one database, then the other
(``services/sync/link.bound``), so it never runs in the window's process: the dialog starts
``python -m itsmdesk --db <replica> sync --progress-json`` as a QProcess and reads its JSON
lines (``{"phase", "done", "total"}``, then a summary).  Cancel terminates the process: a sync
is safe to stop anywhere (docs/sync.md), what was sent stays on the hub and the next sync goes
on from there.  Afterwards the panels are refreshed from the summary's list of what changed
(plus the kind ``replica``, which the Conflicts dock and the status bar listen for).

The hub's password is never put on the command line: the process finds it in
``ITSMDESK_PASSWORD`` or the keyring, else the dialog asks and hands it over in the process's
environment only.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from typing import Any

from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QInputDialog,
    QLabel,
    QLineEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services.records import Changes
from itsmdesk.services.sync.overview import Overview, hub_password_needed, overview
from itsmdesk.views.conflicts.panel import SYNC_KIND

PASSWORD_ENV = "ITSMDESK_PASSWORD"


def sync_command(db_url: str) -> tuple[str, list[str]]:
    """The program and arguments of a sync of the replica at ``db_url`` (no password)."""
    return sys.executable, ["-m", "itsmdesk", "--db", db_url, "sync", "--progress-json"]


def changes_from(summary: dict[str, Any]) -> Changes:
    """The summary's "changed" (kind -> ids by how, or "*") as a Changes to broadcast."""
    changes = Changes()
    for kind, what in (summary.get("changed") or {}).items():
        if what == "*" or not isinstance(what, dict):
            changes.note_many(kind)
            continue
        for how, ids in what.items():
            if how in ("created", "changed", "deleted"):
                for text in ids:
                    changes.note(how, kind, uuid.UUID(text))
    changes.note_many(SYNC_KIND)
    return changes


class SyncDialog(QDialog):
    RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"

    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("syncDialog")
        self.setWindowTitle(self.tr("Sync with hub"))
        self.setMinimumWidth(520)
        self.state: str | None = None
        self.summary: dict[str, Any] | None = None
        self.error = ""
        self.process: QProcess | None = None
        self._buffer = b""
        self._cancelled = False
        self.hub_label = QLabel(self.tr("Looking up the hub…"))
        self.hub_label.setWordWrap(True)
        self.hub_label.setTextFormat(Qt.TextFormat.PlainText)
        self.progress = QProgressBar()
        self.progress.setObjectName("syncProgress")
        self.progress.setRange(0, 0)  # busy until the process says how much there is
        self.phase_label = QLabel()
        self.phase_label.setObjectName("syncPhase")
        self.phase_label.setWordWrap(True)
        self.result_label = QLabel()
        self.result_label.setObjectName("syncResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.PlainText)
        self.buttons = QDialogButtonBox()
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setObjectName("cancelSync")
        self.cancel_button.setToolTip(self.tr("Stop the sync; what was sent is safe on the hub "
                                              "and the next sync goes on from there"))
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.clicked.connect(self.accept)
        self.close_button.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.hub_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.phase_label)
        layout.addWidget(self.result_label)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

    # -- starting ------------------------------------------------------------------------------
    def start(self) -> None:
        """Look up the hub (off the GUI thread), then run the sync process."""
        self.state = self.RUNNING
        self.ctx.query(overview, False, on_done=self._found_hub, on_error=self._failed_lookup,
                       owner=self)

    def _failed_lookup(self, error: BaseException) -> None:
        from itsmdesk.views.messages import error_text

        self._finish(self.FAILED, error_text(error))

    def _found_hub(self, state: Overview) -> None:
        if self.state != self.RUNNING:
            return
        if not state.is_replica:
            self._finish(self.FAILED, self.tr("This database is not a replica: there is no hub "
                                              "to sync with."))
            return
        self.hub_label.setText(self.tr("Replica {site}: syncing with {hub}").format(
            site=state.site, hub=state.hub))
        environment = QProcessEnvironment.systemEnvironment()
        if hub_password_needed(state.hub):
            password, ok = QInputDialog.getText(
                self, self.tr("Hub password"),
                self.tr("Password for the hub {hub}:").format(hub=state.hub),
                QLineEdit.EchoMode.Password)
            if not ok:
                self._finish(self.CANCELLED, self.tr("Not synced: no password given."))
                return
            environment.insert(PASSWORD_ENV, password)  # (the process's environment only)
        self.run(environment)

    def run(self, environment: QProcessEnvironment | None = None) -> None:
        program, arguments = sync_command(self.ctx.info.url)
        process = QProcess(self)
        process.setProcessEnvironment(environment or QProcessEnvironment.systemEnvironment())
        process.readyReadStandardOutput.connect(self._read)
        process.finished.connect(self._process_finished)
        process.errorOccurred.connect(self._process_error)
        self.process = process
        self.phase_label.setText(self.tr("Starting…"))
        process.start(program, arguments)

    # -- while it runs -------------------------------------------------------------------------
    def _read(self) -> None:
        if self.process is None:
            return
        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            try:
                data = json.loads(raw.decode("utf-8"))
            except ValueError:
                continue
            if isinstance(data, dict):
                self.on_progress(data)

    def on_progress(self, data: dict[str, Any]) -> None:
        phase = str(data.get("phase", ""))
        if phase == "summary":
            self.summary = data
            return
        done, total = int(data.get("done") or 0), int(data.get("total") or 0)
        texts = {
            "start": self.tr("{n} change(s) to send; sending, then receiving the hub's").format(
                n=total),
            "push": self.tr("Sending changes: {done} of {total}").format(done=done, total=total),
            "pull": self.tr("Receiving the hub's changes: {done} of {total}").format(
                done=done, total=total),
            "done": self.tr("Finishing…"),
        }
        self.phase_label.setText(texts.get(phase, phase))
        if phase in ("push", "pull") and total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        elif phase == "done":
            self.progress.setRange(0, 1)
            self.progress.setValue(1)

    def cancel(self) -> None:
        """Stop the sync process (safe anywhere), or close when nothing runs."""
        if self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning:
            self._cancelled = True
            self.phase_label.setText(self.tr("Stopping…"))
            self.cancel_button.setEnabled(False)
            if os.name == "nt":  # (terminate asks a console program politely: it may not stop)
                self.process.kill()
            else:
                self.process.terminate()
            return
        if self.state == self.RUNNING:
            self._finish(self.CANCELLED, self.tr("Not synced."))
        self.reject()

    def _process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._finish(self.FAILED, self.tr("The sync could not be started: {why}").format(
                why=self.process.errorString() if self.process else ""))

    def _process_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read()
        stderr = bytes(self.process.readAllStandardError()).decode("utf-8", "replace").strip() \
            if self.process is not None else ""
        if self._cancelled:
            self._finish(self.CANCELLED, self.tr(
                "Sync stopped. What was sent is safe on the hub; sync again to finish."))
            self._refresh_panels({})
            return
        if code == 0 and status == QProcess.ExitStatus.NormalExit and self.summary is not None:
            s = self.summary
            text = self.tr("Synced: sent {pushed} change(s), received {pulled} journal row(s)"
                           ).format(pushed=s.get("pushed", 0), pulled=s.get("pulled", 0))
            n = int(s.get("conflicts") or 0)
            text += "; " + (self.tr("{n} new conflict(s) to decide in the Sync conflicts dock."
                                    ).format(n=n) if n else self.tr("no new conflicts."))
            self._finish(self.DONE, text)
            self._refresh_panels(s)
            return
        lines = [line for line in stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else self.tr("the sync process ended with code {code}"
                                                 ).format(code=code)
        if reason.startswith("error: "):
            reason = reason[len("error: "):]
        self._finish(self.FAILED, self.tr("Not synced: {reason}").format(reason=reason))
        self._refresh_panels({})

    def _refresh_panels(self, summary: dict[str, Any]) -> None:
        self.ctx.broadcast(changes_from(summary))

    def _finish(self, state: str, text: str) -> None:
        self.state = state
        self.result_label.setText(text)
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if state == self.DONE else 0)
        self.phase_label.setText("")
        self.cancel_button.hide()
        self.close_button.show()
        self.close_button.setDefault(True)
        self.fit_height()
        QTimer.singleShot(0, self.fit_height)  # (again once the new buttons are laid out)
        self.ctx.sig_status.emit(text)

    def fit_height(self) -> None:
        """Grow to the wrapped text's height (a shown dialog keeps its size when a label's text
        gets longer, and the result's second line was cut off)."""
        layout = self.layout()
        layout.activate()
        need = layout.totalHeightForWidth(self.width())
        if need > self.minimumHeight():
            self.setMinimumHeight(need)
        if need > self.height():
            self.resize(self.width(), need)

    def closeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        if self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning:
            self.cancel()
            self.process.waitForFinished(5000)
        super().closeEvent(event)

    def reject(self) -> None:
        if self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning:
            self.cancel()  # Esc stops the sync; the dialog stays to say so
            return
        super().reject()
