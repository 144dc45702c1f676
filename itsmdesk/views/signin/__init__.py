"""Signing in: the sign-in dialog, the first-run page that creates the administrator, the
person menu (sign out, change password, manage people) and greying out what the person signed
in may not do.  Every check runs off the GUI thread (ctx.query / ctx.write)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from itsmdesk.services import permissions


def role_name(role: str) -> str:
    return QCoreApplication.translate("errors", permissions.ROLE_NAMES.get(role, role))


# -- greying out ------------------------------------------------------------------------------------
def gate(widget: QWidget, ctx, action: str, tooltip: str = "") -> None:  # noqa: ANN001
    """Enable ``widget`` only while the person signed in may do ``action``; when not, its
    tooltip names the role that would allow it.  Follows sign-in changes."""
    def update() -> None:
        ok = permissions.allowed(ctx.actor, action)
        was_out = bool(widget.property("gatedOut"))
        widget.setProperty("gatedOut", not ok)
        if ok:
            widget.setToolTip(tooltip)
            if was_out:  # back to what the record's state says (see enable())
                widget.setEnabled(widget.property("stateEnabled") is not False)
        else:
            widget.setEnabled(False)
            widget.setToolTip(QCoreApplication.translate("SignIn", "Needs the role {role}").format(
                role=role_name(permissions.needed_role(action))))

    update()
    ctx.sig_actor_changed.connect(update)
    widget.destroyed.connect(lambda *_a: _disconnect(ctx, update))


def enable(widget: QWidget, on: bool) -> None:
    """What a form's state says about a gated widget (a status with no move left, nothing
    selected): it is enabled only when the state allows it *and* the person may (see
    :func:`gate`), and a later sign-in restores the state's answer."""
    widget.setProperty("stateEnabled", bool(on))
    widget.setEnabled(bool(on) and not widget.property("gatedOut"))


def may(ctx, action: str) -> bool:  # noqa: ANN001
    return permissions.allowed(ctx.actor, action)


def _disconnect(ctx, slot) -> None:  # noqa: ANN001
    try:
        ctx.sig_actor_changed.disconnect(slot)
    except (RuntimeError, TypeError):
        pass


# -- the sign-in dialog -----------------------------------------------------------------------------
class SignInDialog(QDialog):
    """Login and password; the check runs in the background.  Signs the person in on
    ``ctx`` and accepts; a failure says "Wrong login or password." and keeps the login."""

    sig_signed_in = Signal(object)
    """(Actor) the person signed in."""

    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("signInDialog")
        self.setWindowTitle(QCoreApplication.translate("SignIn", "Sign in"))
        self.login = QLineEdit(objectName="login")
        self.password = QLineEdit(objectName="password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.message = QLabel(objectName="message")
        self.message.setStyleSheet("color: #b00020")
        self.message.setWordWrap(True)
        heading = QLabel(QCoreApplication.translate("SignIn", "<b>Sign in to itsmdesk</b>"))
        where = QLabel(ctx.info.display, objectName="database")
        where.setStyleSheet("color: #555")
        where.setWordWrap(True)
        self.login.setMinimumWidth(260)
        form = QFormLayout()
        form.addRow(QCoreApplication.translate("SignIn", "&Login"), self.login)
        form.addRow(QCoreApplication.translate("SignIn", "&Password"), self.password)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(QCoreApplication.translate("SignIn", "Sign in"))
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(where)
        layout.addLayout(form)
        if getattr(ctx, "demo", False):  # a new user trying the demo must know who to be
            hint = QLabel(QCoreApplication.translate(
                "SignIn", "Demo data: the IT staff sign in with their login, for example "
                "<b>emma.haddad</b> (head of IT, administrator and change manager) or "
                "<b>henrik.nilsson</b> (service desk agent); every password is <b>demo</b>."),
                objectName="demoHint")
            hint.setWordWrap(True)
            layout.addWidget(hint)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def submit(self) -> None:
        from itsmdesk.services import accounts

        self.message.clear()
        self.buttons.setEnabled(False)
        self.ctx.query(accounts.sign_in, self.login.text(), self.password.text(), self.ctx.site,
                       on_done=self._done, on_error=self._failed, owner=self)

    def _done(self, actor) -> None:  # noqa: ANN001
        self.buttons.setEnabled(True)
        self.password.clear()
        self.ctx.set_actor(actor)
        self.sig_signed_in.emit(actor)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        from itsmdesk.views.messages import error_text

        self.buttons.setEnabled(True)
        self.password.clear()
        self.password.setFocus()
        self.message.setText(error_text(error))


# -- first run: the administrator -------------------------------------------------------------------
class FirstAdministratorDialog(QDialog):
    """A fresh local database has no account: create its administrator, then sign them in."""

    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("firstAdministratorDialog")
        self.setWindowTitle(QCoreApplication.translate("SignIn", "Welcome: create the administrator"))
        intro = QLabel(QCoreApplication.translate("SignIn", "This database has no accounts yet. The administrator you create now "
                          "adds the other people and gives them their roles."))
        intro.setWordWrap(True)
        self.name = QLineEdit(objectName="name")
        self.login = QLineEdit(objectName="login")
        self.password = QLineEdit(objectName="password")
        self.again = QLineEdit(objectName="again")
        for edit in (self.password, self.again):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.message = QLabel(objectName="message")
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow(QCoreApplication.translate("SignIn", "&Name"), self.name)
        form.addRow(QCoreApplication.translate("SignIn", "&Login"), self.login)
        form.addRow(QCoreApplication.translate("SignIn", "&Password"), self.password)
        form.addRow(QCoreApplication.translate("SignIn", "&Again"), self.again)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def submit(self) -> None:
        from itsmdesk.services import accounts

        if self.password.text() != self.again.text():
            self.message.setText(QCoreApplication.translate("SignIn", "The two passwords differ."))
            return
        login, password = self.login.text(), self.password.text()

        def make():  # noqa: ANN202 - runs on the writer
            accounts.create_first_administrator(login, self.name.text().strip() or login,
                                                password)
            return accounts.sign_in(login, password, self.ctx.site)

        self.ctx.write(make, on_done=self._done, on_error=self._failed, owner=self,
                       label=QCoreApplication.translate("SignIn", "Create the administrator"))

    def _done(self, actor) -> None:  # noqa: ANN001
        self.ctx.accounts_enabled = True  # sign-in and roles are on from now
        self.ctx.set_actor(actor)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        from itsmdesk.views.messages import error_text

        self.message.setText(error_text(error))


# -- starting the window ----------------------------------------------------------------------------
def ask_at_start(ctx, window) -> None:  # noqa: ANN001
    """Once the database is open: a database with accounts asks who signs in
    ($ITSMDESK_USER / $ITSMDESK_PASSWORD sign in without asking); a fresh local database
    (nobody in it) asks for its administrator; any other database without accounts works as
    before (everyone holds every role)."""
    import os

    from itsmdesk.services import accounts
    from itsmdesk.services.context import ANONYMOUS

    def decide(result) -> None:  # noqa: ANN001
        has, anyone, connected_as = result
        ctx.accounts_enabled = has
        if connected_as is not None:  # a secured shared database: connecting was signing in
            ctx.set_actor(connected_as)
        elif has:
            ctx.set_actor(ANONYMOUS)
            user, password = os.environ.get("ITSMDESK_USER"), os.environ.get("ITSMDESK_PASSWORD")
            if user and password is not None:
                ctx.query(accounts.sign_in, user, password, ctx.site, on_done=ctx.set_actor,
                          on_error=lambda _e: show_sign_in(ctx, window), owner=window)
            else:
                show_sign_in(ctx, window)
        elif not anyone and ctx.info.backend == "sqlite":
            dialog = FirstAdministratorDialog(ctx, window)
            window.first_run_dialog = dialog
            dialog.open()

    def state() -> tuple:
        return (*accounts.start_state(), accounts.session_actor(ctx.site))

    ctx.query(state, on_done=decide, owner=window)


def create_first_administrator(ctx, window) -> FirstAdministratorDialog:  # noqa: ANN001
    """Tools / the person menu > Create administrator account…: a database that has people but
    no accounts yet gets its administrator (the first-run dialog); from then on people sign in."""
    dialog = FirstAdministratorDialog(ctx, window)
    window.first_run_dialog = dialog
    dialog.open()
    return dialog


def show_sign_in(ctx, window) -> SignInDialog:  # noqa: ANN001
    dialog = SignInDialog(ctx, window)
    window.sign_in_dialog = dialog
    dialog.open()
    return dialog
