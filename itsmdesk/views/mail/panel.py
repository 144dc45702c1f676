"""The "Unmatched mail" dock: mail no rule made a ticket of, waiting for an agent, who makes an
incident or a request of one or discards it.  The dock also fetches mail from the mailbox on the
schedule of the mail settings (and on demand) and takes in ``.eml``/``.msg`` files dropped on it
or on the main window.

Reads and writes run off the GUI thread; a write's Changes (kind ``mail``) make every such dock
read its list again."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.kinds import Kind
from itsmdesk.services.mail import account, files, imap_fetch, intake
from itsmdesk.views.lazy import WhenShown
from itsmdesk.views.messages import error_text, show_error
from itsmdesk.views.timefmt import local_text

BATCH = 25  # mails per write of a fetch


def mail_paths(urls: list[Any]) -> list[str]:
    """The local ``.eml``/``.msg`` files among dropped URLs."""
    out = []
    for url in urls:
        path = url.toLocalFile() if hasattr(url, "toLocalFile") else str(url)
        if path and path.lower().endswith(files.MAIL_SUFFIXES):
            out.append(path)
    return out


class UnmatchedMailPanel(QWidget):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("unmatchedMailPanel")
        self.setAcceptDrops(True)
        self.lazy = WhenShown(self, self._refresh_now)
        self.lines: list[intake.MailLine] = []
        self.list = QListWidget()
        self.list.setObjectName("unmatchedMailList")
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.setSpacing(1)  # (a gap between two mails' lines)
        self.list.currentRowChanged.connect(self._show_current)
        self.preview = QPlainTextEdit()
        self.preview.setObjectName("unmatchedMailText")
        self.preview.setReadOnly(True)
        self.status = QLabel()
        self.status.setObjectName("mailFetchStatus")
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        self.buttons: dict[str, QToolButton] = {}
        for key, text, tip, slot in (
                ("incident", QCoreApplication.translate("MailPanel", "Incident"), QCoreApplication.translate("MailPanel", "Make an incident of the selected mail"),
                 lambda: self.make_ticket("incident")),
                ("request", QCoreApplication.translate("MailPanel", "Request"), QCoreApplication.translate("MailPanel", "Make a service request of the selected mail"),
                 lambda: self.make_ticket("request")),
                ("discard", QCoreApplication.translate("MailPanel", "Discard"), QCoreApplication.translate("MailPanel", "Discard the selected mail (no ticket)"),
                 self.discard),
                ("fetch", QCoreApplication.translate("MailPanel", "Fetch"), QCoreApplication.translate("MailPanel", "Fetch new mail from the mailbox now"), self.fetch)):
            button = QToolButton()
            button.setObjectName(f"mail_{key}")
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            buttons.addWidget(button)
            self.buttons[key] = button
        buttons.addStretch(1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.list)
        split.addWidget(self.preview)
        split.setSizes([200, 200])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        self.timer = QTimer(self)
        self.timer.timeout.connect(lambda: None if self._fetching else self.fetch())
        self._fetching = self._stop = False
        self._taken = 0
        ctx.sig_changes.connect(self._changed)
        self._read_schedule()
        self.refresh()

    # -- the list --------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.lazy.request()

    def _refresh_now(self) -> None:
        self.ctx.query(intake.unmatched, on_done=self.show_lines, key=f"unmatched-{id(self)}",
                       owner=self)

    def show_lines(self, lines: list[intake.MailLine]) -> None:
        current = self.current()
        self.lines = lines
        self.list.clear()
        for line in lines:
            # the name only (the address is in the tooltip): a narrow dock wrapped "name
            # <address> · date" over two lines and the mails ran into each other
            who = line.sender_name or line.sender
            subject = line.subject or QCoreApplication.translate("MailPanel", "(no subject)")
            item = QListWidgetItem(f"{subject}\n{who} · "
                                   f"{local_text(line.sent_at or line.received_at)}")
            item.setData(Qt.ItemDataRole.UserRole, line.id)
            tip = [f"{line.sender_name} <{line.sender}>" if line.sender_name else line.sender]
            if line.reason and line.reason != "no rule matched":
                tip.append(line.reason)
            item.setToolTip("\n".join(tip))
            self.list.addItem(item)
        ids = [line.id for line in lines]
        if current is not None and current.id in ids:
            self.list.setCurrentRow(ids.index(current.id))
        elif lines:
            self.list.setCurrentRow(0)
        else:
            self.preview.setPlainText(QCoreApplication.translate(
                "MailPanel", "No mail is waiting. Mail that no rule turns into a ticket shows "
                "here, to make an incident or a request of, or to discard. Fetch takes in new "
                "mail now; .eml files can be dropped on this list."))
        for key in ("incident", "request", "discard"):
            self.buttons[key].setEnabled(bool(lines))

    def current(self) -> intake.MailLine | None:
        row = self.list.currentRow()
        return self.lines[row] if 0 <= row < len(self.lines) else None

    def _show_current(self, row: int) -> None:
        if 0 <= row < len(self.lines):
            self.preview.setPlainText(self.lines[row].text)

    def _changed(self, changes: Any) -> None:
        if changes.touches(Kind.MAIL):
            self.refresh()
        if changes.touches("setting"):
            self._read_schedule()

    # -- actions ---------------------------------------------------------------------------------
    def make_ticket(self, kind: str) -> None:
        line = self.current()
        if line is None:
            return

        def done(result: intake.IntakeResult) -> None:
            self.ctx.sig_status.emit(QCoreApplication.translate("MailPanel", "{ref} made from the mail").format(ref=result.ticket_ref))
            if result.ticket_id is not None:
                self.ctx.open_record(kind, result.ticket_id)

        self.ctx.write(intake.ticket_from_unmatched, line.id, line.version, {"kind": kind},
                       self.ctx.actor, on_done=done, on_error=lambda exc: show_error(self, exc),
                       owner=self)

    def discard(self) -> None:
        line = self.current()
        if line is None:
            return
        self.ctx.write(intake.discard, line.id, line.version, self.ctx.actor,
                       on_error=lambda exc: show_error(self, exc), owner=self)

    def fetch(self) -> None:
        """Fetch now (the scheduled fetch calls this too; one at a time).  Mail comes in
        batches of :data:`BATCH`, one write each, so a save by the agent never waits behind a
        long fetch; Fetch again while it runs stops after the current batch."""
        if self._fetching:
            self._stop = True
            self.status.setText(QCoreApplication.translate("MailPanel", "Stopping after this batch…"))
            return
        self._fetching, self._stop, self._taken = True, False, 0
        self.buttons["fetch"].setText(QCoreApplication.translate("MailPanel", "Stop"))
        self.status.setText(QCoreApplication.translate("MailPanel", "Fetching mail…"))
        self._fetch_batch()

    def _fetch_batch(self) -> None:
        def finish(text: str) -> None:
            self._fetching = False
            self.buttons["fetch"].setText(QCoreApplication.translate("MailPanel", "Fetch"))
            self.status.setText(text)

        def done(report: imap_fetch.FetchReport | None) -> None:
            if report is None:
                finish(QCoreApplication.translate("MailPanel", "No mailbox is set up (Tools > Mail settings)."))
                return
            self._taken += report.count(duplicate=False)
            text = QCoreApplication.translate("MailPanel", "{n} new mails taken in").format(n=self._taken)
            if report.found >= BATCH and not self._stop:
                self.status.setText(text + " …")
                QTimer.singleShot(0, self, self._fetch_batch)
            else:
                finish(text)

        def failed(exc: BaseException) -> None:
            finish(error_text(exc))  # (in the dock: no dialog every few minutes)

        self.ctx.write(imap_fetch.fetch_if_configured, self.ctx.actor, BATCH, on_done=done,
                       on_error=failed, owner=self)

    def import_paths(self, paths: list[str]) -> None:
        if not paths:
            return

        def done(outcome: tuple[list[intake.IntakeResult], list[Exception]]) -> None:
            results, problems = outcome
            new = [r for r in results if not r.duplicate]
            self.status.setText(QCoreApplication.translate("MailPanel", "{n} mails taken in, {d} already there").format(
                n=len(new), d=len(results) - len(new)))
            if problems:
                show_error(self, problems[0])

        self.ctx.write(files.import_files, paths, self.ctx.actor, on_done=done,
                       on_error=lambda exc: show_error(self, exc), owner=self)

    def choose_files(self) -> None:
        paths, _filter = QFileDialog.getOpenFileNames(
            self, QCoreApplication.translate("MailPanel", "Import mail"), "", QCoreApplication.translate("MailPanel", "Mail (*.eml *.msg)"))
        self.import_paths(paths)

    # -- the schedule ----------------------------------------------------------------------------
    def _read_schedule(self) -> None:
        self.ctx.query(_schedule, on_done=self.set_schedule, key=f"mail-schedule-{id(self)}",
                       on_error=lambda _exc: None, owner=self)

    def set_schedule(self, minutes: int) -> None:
        self.timer.stop()
        if minutes > 0:
            self.timer.start(minutes * 60 * 1000)

    # -- drops -------------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        if event.mimeData().hasUrls() and mail_paths(event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        paths = mail_paths(event.mimeData().urls())
        if paths:
            event.acceptProposedAction()
            self.import_paths(paths)


def _schedule() -> int:
    """Minutes between fetches (0 when no mailbox is set up)."""
    return account.fetch_minutes() if account.imap_account().configured else 0


def create_panel(ctx, window) -> QWidget:  # noqa: ANN001
    return UnmatchedMailPanel(ctx, window)


def menu_actions(ctx, window) -> list[tuple[str, QAction]]:  # noqa: ANN001
    if not hasattr(window, "panel"):
        return []

    def panel() -> UnmatchedMailPanel | None:
        return window.panel("mailDock")

    def settings() -> None:
        from itsmdesk.views.mail.settings_dialog import MailSettingsDialog

        dialog = MailSettingsDialog(ctx, window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    out = []
    for text, shortcut, slot in (
            (QCoreApplication.translate("MailPanel", "Fetch &mail"), "Ctrl+Alt+F", lambda: panel() and panel().fetch()),
            (QCoreApplication.translate("MailPanel", "&Import mail files…"), "", lambda: panel() and panel().choose_files()),
            (QCoreApplication.translate("MailPanel", "Mail &settings…"), "", settings)):
        action = QAction(text, window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        out.append(("Tools", action))
    return out
