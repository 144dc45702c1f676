"""Showing domain errors to a person, translated, never as a traceback."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QMessageBox, QWidget

from itsmdesk.errors import ItsmError


def error_text(error: BaseException) -> str:
    if isinstance(error, ItsmError):
        template = QCoreApplication.translate("errors", error.template)
        try:
            return template.format(**error.params)
        except (KeyError, IndexError, ValueError):
            return error.message
    return QCoreApplication.translate("errors", "Unexpected error: {error}").format(
        error=f"{type(error).__name__}: {error}")


def show_error(parent: QWidget | None, error: BaseException, title: str | None = None) -> None:
    QMessageBox.warning(parent, title or QCoreApplication.translate("errors", "itsmdesk"),
                        error_text(error))
