"""Showing domain errors to a person, translated, never as a traceback."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QMessageBox, QWidget

from itsmdesk.i18n import error_text  # QtCore only: the command line translates errors alike

__all__ = ["error_text", "is_connection_error", "show_error"]


def is_connection_error(error: BaseException) -> bool:
    """The database could not be reached or was busy (shown in the status bar, not a dialog)."""
    from itsmdesk.errors import DatabaseBusyError, DatabaseUnavailableError

    return isinstance(error, (DatabaseUnavailableError, DatabaseBusyError))


def show_error(parent: QWidget | None, error: BaseException, title: str | None = None) -> None:
    QMessageBox.warning(parent, title or QCoreApplication.translate("errors", "itsmdesk"),
                        error_text(error))
