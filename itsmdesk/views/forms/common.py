"""Pieces every record form shares: the bold reference header and the unsaved-changes prompt."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QMessageBox, QWidget


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
