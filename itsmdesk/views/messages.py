"""Showing domain errors to a person, translated, never as a traceback."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QMessageBox, QWidget

from itsmdesk.i18n import error_text  # QtCore only: the command line translates errors alike

__all__ = ["error_text", "show_error"]


def show_error(parent: QWidget | None, error: BaseException, title: str | None = None) -> None:
    QMessageBox.warning(parent, title or QCoreApplication.translate("errors", "itsmdesk"),
                        error_text(error))
