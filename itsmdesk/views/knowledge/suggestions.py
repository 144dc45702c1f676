"""Known errors and articles suggested while an incident is typed (for the incident form).

``SuggestionsWidget(ctx)``: call ``set_text(title, description)`` as the person types (debounced
here) and ``set_incident(incident_id)`` once the incident exists; a known error can then be linked
or its workaround applied in one click.  Emits ``sig_applied(incident_id)`` after a write.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services.knowledge import articles as knowledge
from itsmdesk.services.problem import kedb
from itsmdesk.views.messages import show_error

ROLE = Qt.ItemDataRole.UserRole


class SuggestionsWidget(QWidget):
    sig_applied = Signal(object)
    """(incident id) after a known error was linked or its workaround applied."""

    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.incident_id: Any = None
        self._text = ""
        self.list = QListWidget()
        self.list.setObjectName("suggestionList")
        self.list.setWordWrap(True)
        self.link_button = QPushButton(self.tr("&Link"))
        self.apply_button = QPushButton(self.tr("Apply &workaround"))
        self.open_button = QPushButton(self.tr("Open"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.link_button)
        buttons.addWidget(self.apply_button)
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(self.tr("Known errors and articles that may match")))
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self._debounce = QTimer(self, singleShot=True, interval=300)
        self._debounce.timeout.connect(self.refresh)
        self.link_button.clicked.connect(lambda: self._act(apply=False))
        self.apply_button.clicked.connect(lambda: self._act(apply=True))
        self.open_button.clicked.connect(self._open)
        self.list.itemActivated.connect(lambda _i: self._open())
        self.list.currentItemChanged.connect(lambda *_a: self._update_buttons())
        self._update_buttons()

    def set_incident(self, incident_id: Any) -> None:
        self.incident_id = incident_id
        self._update_buttons()

    def set_text(self, title: str, description: str = "") -> None:
        self._text = f"{title or ''} {description or ''}".strip()
        self._debounce.start()

    def refresh(self) -> None:
        if not self._text:
            self.list.clear()
            return
        self.ctx.query(knowledge.suggest_for_incident, self._text, "",
                       on_done=self._show, key=f"suggest-{id(self)}", owner=self)

    def _show(self, found: dict[str, list]) -> None:
        self.list.clear()
        for ke in found["known_errors"]:
            item = QListWidgetItem(f"{ke.ref}  {ke.title}\n{self.tr('Workaround')}: "
                                   f"{ke.workaround or '—'}")
            item.setData(ROLE, ("known_error", ke.id, bool(ke.workaround)))
            self.list.addItem(item)
        for art in found["articles"]:
            item = QListWidgetItem(f"{art.ref}  {art.title}")
            item.setData(ROLE, ("article", art.id, False))
            self.list.addItem(item)
        self._update_buttons()

    def _current(self) -> tuple[str, Any, bool] | None:
        item = self.list.currentItem()
        return item.data(ROLE) if item is not None else None

    def _update_buttons(self) -> None:
        cur = self._current()
        is_ke = bool(cur and cur[0] == "known_error")
        self.link_button.setEnabled(is_ke and self.incident_id is not None)
        self.apply_button.setEnabled(is_ke and self.incident_id is not None and bool(cur[2]))
        self.open_button.setEnabled(cur is not None)

    def _open(self) -> None:
        cur = self._current()
        if cur:
            self.ctx.open_record(cur[0], cur[1])

    def _act(self, apply: bool) -> None:
        cur = self._current()
        if not cur or cur[0] != "known_error" or self.incident_id is None:
            return
        fn = kedb.apply_workaround if apply else kedb.link_incident
        incident_id = self.incident_id
        self.ctx.write(fn, incident_id, cur[1], self.ctx.actor, owner=self,
                       on_done=lambda _inc: self.sig_applied.emit(incident_id),
                       on_error=lambda exc: show_error(self, exc))
