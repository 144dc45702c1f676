"""The History tab every record form has: who changed what, when, with names, not ids.

It reads ``services.history.named_history`` through a query when it is first shown, and again
when the record changes while it is visible (a hidden tab only notes that it is stale).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services.history import named_history
from itsmdesk.views.timefmt import local_text
from itsmdesk.words import WORDS, action_word, field_label, word


def _value(entry: Any, text: str | None) -> str:
    if text is None:
        return ""
    if entry.action == "set":
        if text in ("true", "false"):
            text = word("yes" if text == "true" else "no")
        elif text in WORDS:  # a stored value (status, type...) as a word
            text = word(text)
    return text.replace("\n", " ⏎ ")


class HistoryView(QWidget):
    """A tree of history lines, newest first."""

    def __init__(self, ctx, kind: str, parent: QWidget | None = None,  # noqa: ANN001
                 source: Any = None) -> None:
        """``source(kind, record_id)``: the service read giving the lines (default
        ``named_history``; the CI's adds relations created by imports)."""
        super().__init__(parent)
        self.ctx = ctx
        self.kind = kind
        self.source = source or named_history
        self.record_id: Any = None
        self.stale = True
        self.entries: list[Any] = []
        self.setObjectName("historyView")
        self.tree = QTreeWidget()
        self.tree.setObjectName("historyTree")
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setHeaderLabels([QCoreApplication.translate("HistoryView", "When"), QCoreApplication.translate("HistoryView", "Who"), QCoreApplication.translate("HistoryView", "What"), QCoreApplication.translate("HistoryView", "Field"), QCoreApplication.translate("HistoryView", "Before"),
                                   QCoreApplication.translate("HistoryView", "After")])
        header = self.tree.header()
        for col, width in enumerate((130, 130, 80, 140, 180)):
            header.resizeSection(col, width)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)

    def set_record(self, record_id: Any) -> None:
        self.record_id = record_id
        self.stale = True
        if self.isVisible():
            self.refresh()

    def mark_stale(self) -> None:
        self.stale = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        super().showEvent(event)
        if self.stale:
            self.refresh()

    def refresh(self) -> None:
        if self.record_id is None:
            self.show_entries([])
            return
        self.stale = False
        self.ctx.query(self.source, self.kind, self.record_id, on_done=self.show_entries,
                       key=f"history-{self.kind}-{self.record_id}", owner=self)

    def show_entries(self, entries: list[Any]) -> None:
        self.entries = entries
        self.tree.clear()
        items = []
        for e in entries:
            field = field_label(e.field) if e.field else ""
            item = QTreeWidgetItem([local_text(e.at), e.who or "", action_word(e.action), field,
                                    _value(e, e.old), _value(e, e.new)])
            for col in (4, 5):
                text = e.old if col == 4 else e.new
                if text and len(text) > 60:
                    item.setToolTip(col, text)
            if e.action in ("created", "deleted"):
                font = item.font(2)
                font.setBold(True)
                item.setFont(2, font)
            item.setData(0, Qt.ItemDataRole.UserRole, e.version)
            items.append(item)
        self.tree.addTopLevelItems(items)
