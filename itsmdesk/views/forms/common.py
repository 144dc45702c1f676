"""Pieces every record form shares: the bold reference header and the unsaved-changes prompt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QMessageBox, QWidget


def header_label(text: str) -> QLabel:
    """The form's reference/heading label: bold, a quarter larger than the body text."""
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.25)
    label.setFont(font)
    return label


def confirm_close(parent: QWidget, dirty: bool, question: str, save: Callable[[], bool]) -> bool:
    """May a form with unsaved edits close?  Save / Discard / Cancel; True when it may."""
    if not dirty:
        return True
    answer = QMessageBox.question(
        parent, parent.tr("Unsaved changes"), question,
        QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
        | QMessageBox.StandardButton.Cancel)
    if answer == QMessageBox.StandardButton.Save:
        return save()
    return answer == QMessageBox.StandardButton.Discard


def save_failed(form: QWidget, exc: BaseException) -> bool:
    """A save the service refused: a stale edit is also shown in the form's message line."""
    from itsmdesk.errors import ConflictError
    from itsmdesk.views.messages import error_text, show_error

    if isinstance(exc, ConflictError):
        form.message.setText(error_text(exc))
    show_error(form, exc)
    return False


def saved(form: QWidget, kind: str, record) -> bool:  # noqa: ANN001 - the saved record
    """After a save: remember the record, tell the other panels, reload the form."""
    from PySide6.QtCore import QCoreApplication

    form.record_id = record.id
    form.ctx.records_changed(kind, [record.id])
    form.message.setText(QCoreApplication.translate("RecordForm", "Saved {ref}.").format(ref=record.ref))
    form.reload()
    return True


class RecordForm(QWidget):
    """What the simple record forms share: the app context, the record (None while new), the
    version read with it (for the stale-edit check) and whether there are unsaved edits."""

    sig_title_changed = Signal(str)
    """(tab title) after a load, a save or an edit of the title."""

    def __init__(self, ctx, record_id: Any = None, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.record_id = record_id
        self.version: int | None = None
        self._dirty = False

    def title_header(self, new_text: str, placeholder: str) -> QHBoxLayout:
        """The reference label (``new_text`` until saved) and the title edit, side by side."""
        self.ref_label = header_label(new_text)
        self.title_edit = QLineEdit()
        self.title_edit.setObjectName("titleEdit")
        self.title_edit.setPlaceholderText(placeholder)
        header = QHBoxLayout()
        header.addWidget(self.ref_label)
        header.addWidget(self.title_edit, 1)
        return header
