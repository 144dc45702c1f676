"""The SMTP half of the mail settings page: server, port, security, user, sender, password
(kept in the keyring, never in the database) and "Send test mail".

A widget, not a dialog: the mail settings dialog (``settings_dialog.py``) places it as its
"Outgoing mail (SMTP)" tab.  It fills in from one read (``account.smtp_form``: the same settings
intake reads) and saves in one write checked against the versions read, so an edit made
elsewhere meanwhile conflicts instead of being overwritten.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services.mail import account, outgoing
from itsmdesk.views.messages import show_error
from itsmdesk.views.signin import enable, gate


class SmtpSettingsWidget(QGroupBox):
    """Outgoing mail (SMTP) settings with Save and Send test mail."""

    saved = Signal()
    failed = Signal()  # a save was refused (the error is shown)

    def __init__(self, ctx, parent: QWidget | None = None,  # noqa: ANN001
                 embedded: bool = False) -> None:
        """``embedded``: a tab of the mail settings dialog, whose Save saves it (no title
        and no Save button of its own)."""
        super().__init__(parent)
        self.ctx = ctx
        self.form: account.SmtpForm | None = None
        self.setObjectName("smtpSettings")
        if embedded:
            self.setFlat(True)
            self.setStyleSheet("QGroupBox#smtpSettings { border: 0; margin-top: 0; }")
        else:
            self.setTitle(self.tr("Outgoing mail (SMTP)"))
        self.host = QLineEdit(objectName="smtpHost")
        self.host.setPlaceholderText(self.tr("e.g. smtp.example.org"))
        self.port = QLineEdit(objectName="smtpPort")
        self.port.setPlaceholderText(self.tr("587 for STARTTLS, 465 for SMTPS"))
        self.security = QComboBox(objectName="smtpSecurity")
        for value, text in (("starttls", self.tr("STARTTLS")),
                            ("ssl", self.tr("SSL/TLS (SMTPS)")),
                            ("none", self.tr("None (a relay on this network only)"))):
            self.security.addItem(text, value)
        self.user = QLineEdit(objectName="smtpUser")
        self.password = QLineEdit(objectName="smtpPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.sender = QLineEdit(objectName="smtpFrom")
        self.sender.setPlaceholderText(self.tr("e.g. Service desk <servicedesk@example.org>"))
        self.cafile = QLineEdit(objectName="smtpCafile")
        self.cafile.setPlaceholderText(self.tr("only for a server with a private certificate"))
        form = QFormLayout()
        form.addRow(self.tr("Server"), self.host)
        form.addRow(self.tr("Port"), self.port)
        form.addRow(self.tr("Security"), self.security)
        form.addRow(self.tr("Login"), self.user)
        form.addRow(self.tr("Password"), self.password)
        form.addRow(self.tr("From"), self.sender)
        form.addRow(self.tr("CA certificate file"), self.cafile)
        self.test_to = QLineEdit(objectName="smtpTestTo")
        self.test_to.setPlaceholderText(self.tr("your address"))
        form.addRow(self.tr("Send test mail to"), self.test_to)
        self.status = QLabel(objectName="smtpStatus")
        self.status.setWordWrap(True)
        self.save_button = QPushButton(self.tr("Save"), objectName="smtpSave")
        self.test_button = QPushButton(self.tr("Send test mail"), objectName="smtpTest")
        self.save_button.clicked.connect(self.save)
        self.test_button.clicked.connect(self.send_test)
        enable(self.save_button, False)  # until the settings are read
        gate(self.save_button, ctx, "settings.manage")
        buttons = QHBoxLayout()
        if embedded:  # (as the IMAP tab: the test button, then what it said)
            self.save_button.hide()
            buttons.addWidget(self.test_button)
            buttons.addWidget(self.status, 1)
        else:
            buttons.addStretch(1)
            buttons.addWidget(self.test_button)
            buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        if not embedded:
            layout.addWidget(self.status)
        layout.addLayout(buttons)
        if embedded:
            layout.addStretch(1)
        ctx.query(account.smtp_form, on_done=self._fill, owner=self)

    def _fill(self, form: account.SmtpForm) -> None:
        self.form = form
        values = form.values
        self.host.setText(values["host"])
        self.port.setText(values["port"])
        index = self.security.findData(values["security"] or "starttls")
        self.security.setCurrentIndex(max(0, index))
        self.user.setText(values["user"])
        self.sender.setText(values["sender"])
        self.cafile.setText(values["cafile"])
        self.password.clear()
        if form.password_kept:
            self.password.setPlaceholderText(self.tr("(kept in the keyring; type to replace)"))
        elif not form.keyring:
            self.password.setPlaceholderText(self.tr("(no keyring here: use ITSMDESK_SMTP_PASSWORD)"))
        else:
            self.password.setPlaceholderText("")
        enable(self.save_button, True)

    def values(self) -> dict[str, str]:
        return {"host": self.host.text(), "port": self.port.text(),
                "security": self.security.currentData(), "user": self.user.text(),
                "sender": self.sender.text(), "cafile": self.cafile.text()}

    def save(self) -> bool:
        """Save (a write off the GUI thread); False when the settings were not read yet."""
        if self.form is None:
            return False
        self.save_button.setEnabled(False)

        def done(form: account.SmtpForm) -> None:
            self._fill(form)
            self.status.setText(self.tr("Saved."))
            self.saved.emit()

        def failed(exc: BaseException) -> None:
            self.save_button.setEnabled(True)
            show_error(self, exc)
            self.failed.emit()

        self.ctx.write(account.save_smtp, self.values(), dict(self.form.versions),
                       self.password.text() or None, self.ctx.actor,
                       on_done=done, on_error=failed, owner=self)
        return True

    def send_test(self) -> None:
        """Test the *saved* settings (a network call on a reader thread, not the GUI's)."""
        to = self.test_to.text().strip()
        if not to:
            self.status.setText(self.tr("Type the address to send the test mail to."))
            return
        self.test_button.setEnabled(False)
        self.status.setText(self.tr("Sending a test mail to {to}…").format(to=to))

        def done(server: str) -> None:
            self.test_button.setEnabled(True)
            self.status.setText(self.tr("{server} took the test mail for {to}.").format(
                server=server, to=to))

        def failed(exc: BaseException) -> None:
            from itsmdesk.i18n import error_text

            self.test_button.setEnabled(True)
            self.status.setText(error_text(exc))

        self.ctx.query(outgoing.check_smtp, to, on_done=done, on_error=failed,
                       key="smtp-test", owner=self)
