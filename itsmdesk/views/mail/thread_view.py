"""A ticket's mail thread: the mails that came in and the notifications that went out (or wait
in the outbox) about it, in time order, newest at the bottom, each with who, when and subject,
and its text below the list."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt
from PySide6.QtWidgets import (
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.kinds import Kind
from itsmdesk.services.mail import intake
from itsmdesk.views.fit_columns import fit_columns
from itsmdesk.views.timefmt import local_text

OUTBOX = "mail_outbox"  # (the outbox's record kind: a notification queued or sent)
OUT_LABELS = {"sent": QT_TRANSLATE_NOOP("MailThread", "Sent to {who}"),
              "queued": QT_TRANSLATE_NOOP("MailThread", "To be sent to {who}"),
              "failed": QT_TRANSLATE_NOOP("MailThread", "Not sent to {who}")}


class MailThreadView(QWidget):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.ticket_id: Any = None
        self.setObjectName("mailThread")
        self.list = QTreeWidget()
        self.list.setObjectName("mailThreadList")
        self.list.setRootIsDecorated(False)
        self.list.setHeaderLabels([QCoreApplication.translate("MailThread", "From"), QCoreApplication.translate("MailThread", "Date"), QCoreApplication.translate("MailThread", "Subject")])
        fit_columns(self.list, 2, fixed=(1,))  # the subject takes what who and when leave
        self.list.currentItemChanged.connect(self._show_current)
        self.text = QPlainTextEdit()
        self.text.setObjectName("mailThreadText")
        self.text.setReadOnly(True)
        self.empty = QLabel(QCoreApplication.translate("MailThread", "No mail about this ticket."))
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.list)
        split.addWidget(self.text)
        split.setSizes([120, 400])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.empty)
        layout.addWidget(split, 1)
        self.lines: list[intake.MailLine] = []
        ctx.sig_changes.connect(self._changed)

    def show_ticket(self, ticket_id: Any) -> None:
        self.ticket_id = ticket_id
        if ticket_id is None:
            self.show_lines([])
            return
        self.ctx.query(intake.mail_thread, ticket_id, on_done=self.show_lines,
                       key=f"mail-thread-{id(self)}", owner=self)

    def show_lines(self, lines: list[intake.MailLine]) -> None:
        self.lines = lines
        self.list.clear()
        for line in lines:
            who = line.sender_name or line.sender  # (the address in the tooltip)
            tip = line.sender
            if line.direction == "out":
                to = line.recipients or who
                tip = to
                name, address = parseaddr(to)
                template = OUT_LABELS.get(line.status, OUT_LABELS["sent"])
                who = QCoreApplication.translate("MailThread", template).format(
                    who=name or address or to)
                if line.status == "failed" and line.reason:
                    tip = f"{to}\n{line.reason}"
            item = QTreeWidgetItem([who, local_text(line.sent_at or line.received_at),
                                    line.subject])
            item.setToolTip(0, tip)
            item.setToolTip(2, line.subject)
            self.list.addTopLevelItem(item)
        self.empty.setVisible(not lines)
        self.text.clear()
        if lines:
            self.list.setCurrentItem(self.list.topLevelItem(len(lines) - 1))

    def _show_current(self, item: QTreeWidgetItem | None, _previous: Any = None) -> None:
        if item is None:
            return
        self.text.setPlainText(self.lines[self.list.indexOfTopLevelItem(item)].text)

    def _changed(self, changes: Any) -> None:
        if self.ticket_id is not None and (changes.touches(Kind.MAIL, OUTBOX) and
                                           self.ticket_id in changes.ids(Kind.INCIDENT)):
            self.show_ticket(self.ticket_id)
