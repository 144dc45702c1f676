"""The sign-in dialog signs a person in; what they may not do is greyed out naming the role."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton

from itsmdesk.services import accounts
from itsmdesk.services.context import ANONYMOUS


def test_sign_in_dialog_signs_in_and_refuses_a_wrong_password(ctx, qtbot):
    from itsmdesk.views.signin import SignInDialog

    accounts.create_first_administrator("boss", "Big Boss", "correct horse")
    ctx.set_actor(ANONYMOUS)
    dialog = SignInDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.login.setText("boss")
    dialog.password.setText("wrong")
    dialog.submit()
    assert dialog.message.text() == "Wrong login or password."
    assert ctx.actor.person_id is None
    dialog.password.setText("correct horse")
    dialog.submit()
    assert ctx.actor.name == "Big Boss" and "administrator" in ctx.actor.roles


def test_action_disabled_for_a_person_without_the_role(ctx, qtbot):
    from itsmdesk.views.signin import gate

    accounts.create_first_administrator("boss", "Big Boss", "correct horse")
    admin = accounts.sign_in("boss", "correct horse")
    accounts.create_account("ann", "Ann", "ann password", ["agent"], admin)
    ctx.set_actor(accounts.sign_in("ann", "ann password"))
    decide = QPushButton("Record decision")
    qtbot.addWidget(decide)
    gate(decide, ctx, "cab.decide")
    assert not decide.isEnabled()
    assert decide.toolTip() == "Needs the role change manager"
    people = QPushButton("Manage people")
    qtbot.addWidget(people)
    gate(people, ctx, "people.manage")
    assert not people.isEnabled() and "administrator" in people.toolTip()
    ctx.set_actor(admin)
    assert people.isEnabled() and people.toolTip() == ""


def test_first_administrator_dialog(ctx, qtbot):
    from itsmdesk.views.signin import FirstAdministratorDialog

    dialog = FirstAdministratorDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.name.setText("Big Boss")
    dialog.login.setText("boss")
    dialog.password.setText("correct horse")
    dialog.again.setText("correct horse")
    dialog.submit()
    assert accounts.has_accounts()
    assert ctx.actor.name == "Big Boss" and ctx.actor.roles == {"administrator"}


def test_the_demo_says_who_to_sign_in_as_and_those_logins_work(ctx, qtbot):
    """A new user starting the demo meets the sign-in dialog: it names logins that exist in the
    demo, with the roles it says, and the password that works."""
    from itsmdesk.demo import builder
    from itsmdesk.views.signin import SignInDialog

    builder.generate("small", 42)
    ctx.set_actor(ANONYMOUS)
    ctx.demo = True
    dialog = SignInDialog(ctx)
    qtbot.addWidget(dialog)
    hint = dialog.findChild(type(dialog.message), "demoHint").text()
    assert "emma.haddad" in hint and "henrik.nilsson" in hint and "<b>demo</b>" in hint
    head = accounts.sign_in("emma.haddad", "demo")
    assert {"administrator", "change_manager"} <= head.roles
    assert "agent" in accounts.sign_in("henrik.nilsson", "demo").roles
    dialog.login.setText("henrik.nilsson")
    dialog.password.setText("demo")
    dialog.submit()
    assert ctx.actor.name == "Henrik Nilsson"
