"""Manage people (administrators): accounts with their roles; create one, change roles, reset
a password.  Reads and writes run off the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services import accounts
from itsmdesk.services.context import ALL_ROLES
from itsmdesk.services.permissions import ROLE_NAMES
from itsmdesk.views.signin import role_name

ORDER = [r for r in ROLE_NAMES if r in ALL_ROLES]


class RolesBox(QWidget):
    def __init__(self, held=(), parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.boxes = {}
        for role in ORDER:
            box = QCheckBox(role_name(role), objectName=f"role_{role}")
            box.setChecked(role in held)
            layout.addWidget(box)
            self.boxes[role] = box

    def roles(self) -> set[str]:
        return {r for r, b in self.boxes.items() if b.isChecked()}


class AccountDialog(QDialog):
    """A new account: name, login, password, roles."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(QCoreApplication.translate("SignIn", "New account"))
        self.name = QLineEdit(objectName="name")
        self.login = QLineEdit(objectName="login")
        self.email = QLineEdit(objectName="email")
        self.password = QLineEdit(objectName="password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.roles = RolesBox(("agent",))
        form = QFormLayout(self)
        form.addRow(QCoreApplication.translate("SignIn", "&Name"), self.name)
        form.addRow(QCoreApplication.translate("SignIn", "&Login"), self.login)
        form.addRow(QCoreApplication.translate("SignIn", "&E-mail"), self.email)
        form.addRow(QCoreApplication.translate("SignIn", "&Password"), self.password)
        form.addRow(QCoreApplication.translate("SignIn", "Roles"), self.roles)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class PeopleDialog(QDialog):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.rows: list = []
        self.setObjectName("peopleDialog")
        self.setWindowTitle(QCoreApplication.translate("SignIn", "Manage people"))
        self.resize(720, 420)
        self.table = QTableWidget(0, 3, objectName="accounts")
        self.table.setHorizontalHeaderLabels([QCoreApplication.translate("SignIn", "Login"), QCoreApplication.translate("SignIn", "Name"), QCoreApplication.translate("SignIn", "Roles")])
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.message = QLabel(objectName="message")
        self.message.setWordWrap(True)
        self.new_btn = QPushButton(QCoreApplication.translate("SignIn", "&New account…"), objectName="newAccount")
        self.roles_btn = QPushButton(QCoreApplication.translate("SignIn", "&Roles…"), objectName="editRoles")
        self.password_btn = QPushButton(QCoreApplication.translate("SignIn", "Reset &password…"), objectName="resetPassword")
        self.new_btn.clicked.connect(self.new_account)
        self.roles_btn.clicked.connect(self.edit_roles)
        self.password_btn.clicked.connect(self.reset_password)
        row = QHBoxLayout()
        for b in (self.new_btn, self.roles_btn, self.password_btn):
            row.addWidget(b)
        row.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(close)
        self.reload()

    def reload(self) -> None:
        self.ctx.query(accounts.list_accounts, self.ctx.actor, on_done=self._show,
                       on_error=self._failed, owner=self)

    def _show(self, rows: list) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            for j, text in enumerate((r.login or "", r.name,
                                      ", ".join(role_name(x) for x in r.roles))):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()  # logins and names whole; roles take the rest
        self.table.horizontalHeader().setStretchLastSection(True)

    def _failed(self, error: BaseException) -> None:
        from itsmdesk.views.messages import error_text

        self.message.setText(error_text(error))

    def _selected(self):  # noqa: ANN202
        i = self.table.currentRow()
        return self.rows[i] if 0 <= i < len(self.rows) else None

    def _write(self, fn, *args) -> None:  # noqa: ANN001, ANN002
        self.message.clear()
        self.ctx.write(fn, *args, on_done=lambda _r: self.reload(), on_error=self._failed,
                       owner=self)

    def new_account(self) -> None:
        dialog = AccountDialog(self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self._write(lambda: accounts.create_account(
            dialog.login.text(), dialog.name.text(), dialog.password.text(),
            dialog.roles.roles(), self.ctx.actor, email=dialog.email.text().strip() or None))

    def edit_roles(self) -> None:
        row = self._selected()
        if row is None:
            return
        dialog = QDialog(self)
        dialog.setWindowTitle(QCoreApplication.translate("SignIn", "Roles of {name}").format(name=row.name))
        box = RolesBox(row.roles)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(box)
        layout.addWidget(buttons)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        wanted = box.roles()
        self._write(accounts.set_roles, row.login, wanted - set(row.roles),
                    set(row.roles) - wanted, self.ctx.actor)

    def reset_password(self) -> None:
        row = self._selected()
        if row is None:
            return
        text, ok = QInputDialog.getText(self, QCoreApplication.translate("SignIn", "Reset password"),
                                        QCoreApplication.translate("SignIn", "New password for {login}").format(login=row.login),
                                        QLineEdit.EchoMode.Password)
        if ok:
            self._write(accounts.set_password, row.login, text, self.ctx.actor)
