"""Quick open (Ctrl+K): type a reference, a source-system key (a record's external key, any
case) or words, pick any record, Enter opens it.

The search runs off the GUI thread (a newer search supersedes an older one); opening a record
hands its kind and id to the main window, which opens the form."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from itsmdesk.services import search
from itsmdesk.words import word

KIND_LABELS = {"incident": QT_TRANSLATE_NOOP("QuickOpen", "Incident"),
               "request": QT_TRANSLATE_NOOP("QuickOpen", "Request"),
               "problem": QT_TRANSLATE_NOOP("QuickOpen", "Problem"),
               "known_error": QT_TRANSLATE_NOOP("QuickOpen", "Known error"),
               "change": QT_TRANSLATE_NOOP("QuickOpen", "Change"),
               "release": QT_TRANSLATE_NOOP("QuickOpen", "Release"),
               "article": QT_TRANSLATE_NOOP("QuickOpen", "Article"),
               "ci": QT_TRANSLATE_NOOP("QuickOpen", "CI"),
               "cab_meeting": QT_TRANSLATE_NOOP("QuickOpen", "CAB meeting")}


class QuickOpen(QDialog):
    def __init__(self, ctx, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("quickOpen")
        self.setWindowTitle(QCoreApplication.translate("QuickOpen", "Quick open"))
        self.resize(620, 420)
        self.edit = QLineEdit()
        self.edit.setObjectName("quickOpenEdit")
        self.edit.setPlaceholderText(QCoreApplication.translate("QuickOpen", "A reference (INC-123, CHG-7…), a source-system key or words"))
        self.results = QListWidget()
        self.results.setObjectName("quickOpenResults")
        self.hint = QLabel(QCoreApplication.translate("QuickOpen", "↑↓ to choose, Enter to open, Esc to close"))
        self.hint.setStyleSheet("color: palette(mid);")
        layout = QVBoxLayout(self)
        layout.addWidget(self.edit)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.hint)
        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self.search)
        self.edit.textChanged.connect(lambda _t: self._timer.start())
        self.edit.returnPressed.connect(self.open_current)
        self.results.itemActivated.connect(lambda _i: self.open_current())
        self.edit.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802, ANN001 - arrows move in the list
        from PySide6.QtCore import QEvent

        if obj is self.edit and event.type() == QEvent.Type.KeyPress and event.key() in (
                Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
            QCoreApplication.sendEvent(self.results, event)
            return True
        return super().eventFilter(obj, event)

    def search(self) -> None:
        text = self.edit.text()
        self.ctx.query(search.quick_open, text, 30, self.ctx.actor, on_done=self.show_hits,
                       key=f"quick-open-{id(self)}", owner=self)

    def show_hits(self, hits: list) -> None:
        self.results.clear()
        for hit in hits:
            kind = QCoreApplication.translate("QuickOpen", KIND_LABELS.get(hit.kind, hit.kind))
            label = f"{hit.ref}   {hit.title}" if hit.ref != hit.title else hit.title
            text = f"[{kind}]  {label}" + (f"   · {word(hit.status)}" if hit.status else "")
            if hit.external_key:
                text += "   · " + QCoreApplication.translate(
                    "QuickOpen", "source key %s") % hit.external_key
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, (hit.kind, hit.id))
            self.results.addItem(item)
        if hits:
            self.results.setCurrentRow(0)

    def open_current(self) -> None:
        item = self.results.currentItem()
        if item is None:
            return
        kind, record_id = item.data(Qt.ItemDataRole.UserRole)
        self.accept()
        self.ctx.open_record(kind, record_id)
