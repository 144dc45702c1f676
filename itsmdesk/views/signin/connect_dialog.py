"""File > Connect to shared database…: where the shared PostgreSQL database is, who signs in,
and whether this computer's keyring keeps the password.

The workstation settings keep the URL *without* its password (``connection/url``); the password
goes to the operating system's keyring only when the person ticks "Remember password" (see
:mod:`itsmdesk.services.credentials`).  A computer without a keyring says so and remembers
nothing.  The connection is tried on a thread of its own, never on the GUI thread.
"""

from __future__ import annotations

import threading
from urllib.parse import quote, urlsplit

from PySide6.QtCore import QCoreApplication, QSettings, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services import credentials
from itsmdesk.views import gui_gc

SETTINGS_KEY = "connection/url"  # config.CONNECTION_URL


def saved_url(settings: QSettings) -> str:
    return str(settings.value(SETTINGS_KEY, "") or "")


class ConnectDialog(QDialog):
    """Host, port, database, login and password; OK tries the connection and, when it answers,
    saves the URL (no password) and, if asked, the password in the keyring.
    ``url_with_password`` holds what to connect with (in memory only) once accepted."""

    sig_result = Signal(object)  # (display name or an exception) from the trying thread

    def __init__(self, settings: QSettings, parent: QWidget | None = None, url: str = "",
                 password_only: bool = False) -> None:
        super().__init__(parent)
        self.settings = settings
        self.url_with_password = ""
        self.keyring_note = ""
        self.setObjectName("connectDialog")
        self.setWindowTitle(QCoreApplication.translate("Connect", "Connect to shared database"))
        url = url or saved_url(settings)
        parts = urlsplit(url) if url.startswith(("postgresql://", "postgres://")) else None
        self.host = QLineEdit(parts.hostname if parts and parts.hostname else "",
                              objectName="host")
        self.port = QSpinBox(objectName="port")
        self.port.setRange(1, 65535)
        self.port.setValue(parts.port if parts and parts.port else 5432)
        self.database = QLineEdit(parts.path.lstrip("/") if parts else "itsmdesk",
                                  objectName="database")
        self.login = QLineEdit(parts.username if parts and parts.username else "",
                               objectName="login")
        self.password = QLineEdit(objectName="password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox(QCoreApplication.translate("Connect", "&Remember password (in this computer's keyring)"),
                                  objectName="remember")
        if not credentials.keyring_available():
            self.remember.setEnabled(False)
            self.remember.setToolTip(QCoreApplication.translate("Connect", "This computer has no keyring: the password cannot be "
                                        "remembered."))
        self.message = QLabel(objectName="message")
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow(QCoreApplication.translate("Connect", "&Server"), self.host)
        form.addRow(QCoreApplication.translate("Connect", "P&ort"), self.port)
        form.addRow(QCoreApplication.translate("Connect", "&Database"), self.database)
        form.addRow(QCoreApplication.translate("Connect", "&Login"), self.login)
        form.addRow(QCoreApplication.translate("Connect", "&Password"), self.password)
        form.addRow("", self.remember)
        for widget in (self.host, self.port, self.database, self.login):
            widget.setEnabled(not password_only)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(QCoreApplication.translate("Connect", "Connect"))
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self.sig_result.connect(self._tried)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        (self.password if password_only or self.login.text() else self.host).setFocus()

    def url(self) -> str:
        """The URL without a password."""
        login = quote(self.login.text().strip(), safe="")
        return (f"postgresql://{login}@{self.host.text().strip()}:{self.port.value()}/"
                f"{quote(self.database.text().strip(), safe='')}")

    def submit(self) -> None:
        url, password = self.url(), self.password.text()
        target = credentials.with_password(url, password)
        self.message.setText(QCoreApplication.translate("Connect", "Connecting…"))
        self.buttons.setEnabled(False)

        def attempt() -> None:
            try:
                result: object = credentials.check_connection(target)
            except Exception as exc:  # noqa: BLE001 - shown as a sentence in the dialog
                result = exc
            self.sig_result.emit(result)

        gui_gc.install()  # (a thread that allocates: cycles are collected on this one)
        threading.Thread(target=attempt, name="itsmdesk-connect", daemon=True).start()

    def _tried(self, result: object) -> None:
        from itsmdesk.views.messages import error_text

        self.buttons.setEnabled(True)
        if isinstance(result, BaseException):
            self.message.setText(error_text(result))
            self.password.setFocus()
            return
        url, password = self.url(), self.password.text()
        self.settings.setValue(SETTINGS_KEY, url)  # never the password
        self.settings.sync()
        if self.remember.isChecked():
            if not credentials.remember_password(url, password):
                self.keyring_note = QCoreApplication.translate("Connect", "This computer has no keyring: the password is not "
                                       "remembered.")
        else:
            credentials.forget_password(url)
        self.url_with_password = credentials.with_password(url, password)
        self.password.clear()
        self.accept()


def connect_from_menu(window) -> ConnectDialog:  # noqa: ANN001 - the MainWindow
    """File > Connect to shared database…: once connected, offer to restart on it."""
    dialog = ConnectDialog(window.settings, window)
    window.connect_dialog = dialog

    def done() -> None:
        from PySide6.QtWidgets import QMessageBox

        text = QCoreApplication.translate("Connect", "itsmdesk opens {db} from its next start.").format(
            db=credentials.keyring_user(dialog.url()))
        if dialog.keyring_note:
            text += "\n" + dialog.keyring_note
        box = QMessageBox(QMessageBox.Icon.Information, QCoreApplication.translate("Connect", "Connect to shared database"),
                          text + "\n" + QCoreApplication.translate("Connect", "Restart now?"),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                          window)
        window.connect_done_box = box
        box.finished.connect(lambda code: _restart(window) if code == QMessageBox.StandardButton.Yes
                             else None)
        box.open()

    dialog.accepted.connect(done)
    dialog.open()
    return dialog


def _restart(window) -> None:  # noqa: ANN001
    import sys

    from PySide6.QtCore import QProcess

    if window.close():
        QProcess.startDetached(sys.executable, ["-m", "itsmdesk"])


def password_at_start(url: str, settings: QSettings) -> str | None:
    """The URL to connect with at start: a PostgreSQL URL without a password gets it from
    $ITSMDESK_PASSWORD or the keyring, else the person is asked (None: they cancelled)."""
    if not credentials.needs_password(url):
        return url
    known = credentials.known_password(url)
    if known is not None:
        return credentials.with_password(url, known)
    dialog = ConnectDialog(settings, None, url=url, password_only=True)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.url_with_password
