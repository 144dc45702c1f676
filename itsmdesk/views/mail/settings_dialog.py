"""Mail settings (Tools → Mail settings…): two tabs, the Service Desk mailbox (IMAP) mail is
taken from, how often, and "Test connection"; and the SMTP server notifications go out by
(:class:`~itsmdesk.views.mail.smtp_settings.SmtpSettingsWidget`), with "Send test mail".  Both
read and write the settings of ``services/mail/account.py``; Save saves both tabs (the SMTP tab
first: only what changed is written).  Passwords go to the keyring, never to a setting.

It opens at once and fills in when its read answers; Test connection and Save run off the GUI
thread (a server that does not answer never stops the window)."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services.mail import account, imap_fetch
from itsmdesk.services.mail.account import MailAccount
from itsmdesk.views.mail.smtp_settings import SmtpSettingsWidget
from itsmdesk.views.messages import error_text, show_error

SECURITY_LABELS = {"ssl": QT_TRANSLATE_NOOP("MailSettings", "SSL/TLS (IMAPS)"),
                   "starttls": QT_TRANSLATE_NOOP("MailSettings", "STARTTLS"),
                   "none": QT_TRANSLATE_NOOP("MailSettings", "None (loopback only)")}


PLACEHOLDER_PAD = 16  # a line edit's frame and text margins around its placeholder


class MailSettingsDialog(QDialog):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.view: account.MailSettingsView | None = None
        self.setObjectName("mailSettingsDialog")
        self.setWindowTitle(QCoreApplication.translate("MailSettings", "Mail settings"))
        self.host = QLineEdit()
        self.host.setObjectName("imapHost")
        self.host.setPlaceholderText("imap.example.com")
        self.port = QSpinBox()
        self.port.setObjectName("imapPort")
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText(QCoreApplication.translate("MailSettings", "usual port"))
        self.security = QComboBox()
        self.security.setObjectName("imapSecurity")
        for key in account.SECURITIES:
            self.security.addItem(QCoreApplication.translate("MailSettings", SECURITY_LABELS[key]), key)
        self.user = QLineEdit()
        self.user.setObjectName("imapUser")
        self.user.setPlaceholderText("servicedesk@example.com")
        self.password = QLineEdit()
        self.password.setObjectName("imapPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.folder = QLineEdit("INBOX")
        self.folder.setObjectName("imapFolder")
        self.done_folder = QLineEdit()
        self.done_folder.setObjectName("imapDoneFolder")
        self.done_folder.setPlaceholderText(QCoreApplication.translate("MailSettings", "leave mail in the folder, flagged as done"))
        self.cafile = QLineEdit()
        self.cafile.setObjectName("imapCafile")
        self.cafile.setPlaceholderText(QCoreApplication.translate("MailSettings", "the system's certificates"))
        self.minutes = QSpinBox()
        self.minutes.setObjectName("fetchMinutes")
        self.minutes.setRange(0, 1440)
        self.minutes.setSuffix(QCoreApplication.translate("MailSettings", " min"))
        self.minutes.setSpecialValueText(QCoreApplication.translate("MailSettings", "only on demand"))
        self.test_button = QPushButton(QCoreApplication.translate("MailSettings", "Test connection"))
        self.test_button.setObjectName("testConnection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel()
        self.test_result.setObjectName("testResult")
        self.test_result.setWordWrap(True)
        form = QFormLayout()
        form.addRow(QCoreApplication.translate("MailSettings", "Server"), self.host)
        form.addRow(QCoreApplication.translate("MailSettings", "Port"), self.port)
        form.addRow(QCoreApplication.translate("MailSettings", "Security"), self.security)
        form.addRow(QCoreApplication.translate("MailSettings", "Login"), self.user)
        form.addRow(QCoreApplication.translate("MailSettings", "Password"), self.password)
        form.addRow(QCoreApplication.translate("MailSettings", "Folder"), self.folder)
        form.addRow(QCoreApplication.translate("MailSettings", "Move done mail to"), self.done_folder)
        form.addRow(QCoreApplication.translate("MailSettings", "CA certificate file"), self.cafile)
        form.addRow(QCoreApplication.translate("MailSettings", "Fetch every"), self.minutes)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)
        imap_page = QWidget()
        imap_layout = QVBoxLayout(imap_page)
        imap_layout.addLayout(form)
        imap_layout.addLayout(test_row)
        imap_layout.addStretch(1)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mailSettingsTabs")
        self.tabs.addTab(imap_page, QCoreApplication.translate("MailSettings", "Incoming mail (IMAP)"))
        self.smtp = SmtpSettingsWidget(ctx, embedded=True)
        self.smtp.saved.connect(self._save_imap)
        self.smtp.failed.connect(lambda: self.save_button.setEnabled(True))
        self.add_tab(self.smtp, QCoreApplication.translate("MailSettings", "Outgoing mail (SMTP)"))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.buttons)
        self.resize(560, 440)
        ctx.query(account.settings_view, on_done=self.fill,
                  on_error=lambda exc: show_error(self, exc), owner=self)

    def add_tab(self, page: QWidget, title: str) -> None:
        """Another part of the mail settings (outgoing mail) as a tab of its own."""
        self.tabs.addTab(page, title)

    def fill(self, view: account.MailSettingsView) -> None:
        self.view = view
        imap = view.imap
        self.host.setText(imap.host)
        self.port.setValue(imap.port)
        self.security.setCurrentIndex(max(0, self.security.findData(imap.security)))
        self.user.setText(imap.user)
        self.folder.setText(imap.folder)
        self.done_folder.setText(imap.done_folder)
        self.cafile.setText(imap.cafile)
        self.minutes.setValue(view.fetch_minutes)
        if view.imap_password_known:
            self.password.setPlaceholderText(QCoreApplication.translate("MailSettings", "kept in the keyring (type to change)"))
        elif not view.keyring:
            self.password.setPlaceholderText(QCoreApplication.translate("MailSettings", "this computer has no keyring: set "
                                                "ITSMDESK_MAIL_PASSWORD"))
        self.save_button.setEnabled(True)
        self.widen_to_placeholders()

    def widen_to_placeholders(self) -> None:
        """Wide enough that no field's hint is cut (the Swedish keyring hint was, at 560 px);
        each hint is its field's tooltip as well."""
        field = self.password.width() if self.password.isVisible() else 0
        need = 0
        for edit in self.findChildren(QLineEdit):
            hint = edit.placeholderText()
            edit.setToolTip(hint)
            if hint and field:
                need = max(need, edit.fontMetrics().horizontalAdvance(hint) + PLACEHOLDER_PAD)
        if field and need > field:
            screen = self.screen().availableGeometry().width() if self.screen() else 1400
            self.resize(min(self.width() + need - field, screen - 40), self.height())

    def account(self) -> MailAccount:
        base = self.view.imap if self.view else MailAccount("imap")
        return replace(base, host=self.host.text().strip(), port=self.port.value(),
                       security=self.security.currentData(), user=self.user.text().strip(),
                       folder=self.folder.text().strip() or "INBOX",
                       done_folder=self.done_folder.text().strip(),
                       cafile=self.cafile.text().strip())

    def test_connection(self) -> None:
        self.test_button.setEnabled(False)
        self.test_result.setText(QCoreApplication.translate("MailSettings", "Connecting…"))

        def done(count: int) -> None:
            self.test_button.setEnabled(True)
            self.test_result.setText(QCoreApplication.translate("MailSettings", "Connected: {n} mails in the folder.").format(n=count))

        def failed(exc: BaseException) -> None:
            self.test_button.setEnabled(True)
            self.test_result.setText(error_text(exc))

        self.ctx.query(imap_fetch.test_connection, self.account(), self.password.text() or None,
                       on_done=done, on_error=failed, owner=self)

    def save(self) -> None:
        """The SMTP tab first (it writes only what changed, and reads its versions again), then
        the mailbox: a refusal of either leaves the dialog open to correct and save again."""
        self.save_button.setEnabled(False)
        if not self.smtp.save():
            self._save_imap()

    def _save_imap(self) -> None:
        def done(kept: bool) -> None:
            if not kept:
                QMessageBox.warning(self, QCoreApplication.translate("MailSettings", "Mail settings"), QCoreApplication.translate("MailSettings",
                    "The settings were saved, but this computer has no keyring to keep the "
                    "password: set ITSMDESK_MAIL_PASSWORD where mail is fetched."))
            self.accept()

        def failed(exc: BaseException) -> None:
            self.save_button.setEnabled(True)
            show_error(self, exc)

        self.ctx.write(account.save_settings, self.account(), self.minutes.value(),
                       self.password.text() or None, self.ctx.actor,
                       self.view.version if self.view else None,
                       on_done=done, on_error=failed, owner=self)
