"""Pickers for the ticket form: a line edit that completes people or CIs from the database, and
the CI ids a drag from the CMDB tree carries."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

CI_MIME = "application/x-itsmdesk-ci"


class RecordPicker(QLineEdit):
    """Type a few letters, pick a record; ``value()`` is its id (None when empty).

    ``lookup(text) -> [(id, label)]`` is a service read; it runs as a query (``ctx.query``, one
    key per picker, so a newer search supersedes an older one) and typing never waits on SQL.
    """

    sig_value_changed = Signal(object)

    def __init__(self, ctx, lookup: Callable[..., list[tuple[Any, str]]],  # noqa: ANN001
                 parent: QWidget | None = None, *lookup_args: Any) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.lookup = lookup
        self.lookup_args = lookup_args
        self._id: Any = None
        self._labels: dict[str, Any] = {}
        self._model = QStringListModel(self)
        completer = QCompleter(self._model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.activated.connect(self._picked)
        self.setCompleter(completer)
        self.setClearButtonEnabled(True)
        self._timer = QTimer(self, singleShot=True, interval=200)
        self._timer.timeout.connect(self.search)
        self.textEdited.connect(lambda _t: self._timer.start())
        self.editingFinished.connect(self._finish)

    def search(self) -> None:
        """Ask for the records matching the text (off the GUI thread)."""
        self.ctx.query(self.lookup, self.text(), *self.lookup_args, on_done=self._found,
                       key=f"picker-{id(self)}", owner=self)

    def _found(self, items: list[tuple[Any, str]]) -> None:
        for value, label in items:
            self._labels[label] = value
        self._model.setStringList([label for _v, label in items])
        if self.hasFocus() and items:
            self.completer().complete()

    def _picked(self, label: str) -> None:
        self.set_value(self._labels.get(label), label)

    def _finish(self) -> None:
        text = self.text().strip()
        if not text:
            self.set_value(None, "")
        elif text in self._labels:
            self.set_value(self._labels[text], text)

    def set_value(self, value: Any, label: str) -> None:
        changed = str(value) != str(self._id)
        self._id = value
        if label:
            self._labels[label] = value
        self.setText(label)
        if changed:
            self.sig_value_changed.emit(value)

    def value(self) -> Any:
        return self._id


def ci_ids_from_mime(mime) -> list[uuid.UUID]:  # noqa: ANN001 - QMimeData
    if not mime.hasFormat(CI_MIME):
        return []
    out = []
    for line in bytes(mime.data(CI_MIME)).decode("utf-8", "replace").splitlines():
        try:
            out.append(uuid.UUID(line.strip()))
        except ValueError:
            continue
    return out
