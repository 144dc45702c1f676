"""File > Connect to shared database…: the URL is kept without its password, the password in
the keyring only when asked (and only when there is one); the CLI takes a PostgreSQL password
from $ITSMDESK_PASSWORD or the keyring, never from the URL.  And a database with people but no
accounts gets its administrator from the person menu."""

from __future__ import annotations

import os

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from PySide6.QtCore import QEventLoop, QTimer

from itsmdesk.services import accounts, credentials


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):  # noqa: ANN001, ANN201
        return self.store.get((service, username))

    def set_password(self, service, username, password):  # noqa: ANN001, ANN201
        self.store[(service, username)] = password

    def delete_password(self, service, username):  # noqa: ANN001, ANN201
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring():
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(before)


@pytest.fixture
def no_keyring():
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(before)


SECRET = "kr-secret-Passw0rd"


def _pg_parts():
    """A PostgreSQL server and login that answer (the test server trusts 127.0.0.1, so any
    password is accepted: what is checked is where the password goes)."""
    from urllib.parse import urlsplit

    from tests.conftest import _admin_connection

    conn, url = _admin_connection()
    if conn is None:
        pytest.skip(f"PostgreSQL not reachable ({url})")
    conn.close()
    return urlsplit(url)


def _wait_for(predicate, timeout_ms: int = 10000) -> None:  # noqa: ANN001
    loop = QEventLoop()
    timer = QTimer(interval=20)
    timer.timeout.connect(lambda: loop.quit() if predicate() else None)
    QTimer.singleShot(timeout_ms, loop.quit)
    timer.start()
    loop.exec()
    timer.stop()


def _fill(dialog, parts, password: str, remember: bool) -> None:  # noqa: ANN001
    dialog.host.setText(parts.hostname)
    dialog.port.setValue(parts.port or 5432)
    dialog.database.setText(parts.path.lstrip("/"))
    dialog.login.setText(parts.username)
    dialog.password.setText(password)
    dialog.remember.setChecked(remember)


def test_connect_remembers_the_password_in_the_keyring_not_the_settings(
        qapp, qtbot, settings, memory_keyring, tmp_path):
    from itsmdesk.views.signin.connect_dialog import SETTINGS_KEY, ConnectDialog

    parts = _pg_parts()
    dialog = ConnectDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.remember.isEnabled()
    _fill(dialog, parts, SECRET, True)
    dialog.port.setValue(1)  # nothing listens there: refused, nothing kept
    dialog.submit()
    _wait_for(lambda: dialog.buttons.isEnabled())
    assert "Cannot use the PostgreSQL database" in dialog.message.text()
    assert dialog.result() == 0
    assert memory_keyring.store == {} and settings.value(SETTINGS_KEY) is None

    _fill(dialog, parts, SECRET, True)
    dialog.submit()
    _wait_for(lambda: dialog.url_with_password != "")
    key = f"{parts.username}@{parts.hostname}:{parts.port or 5432}{parts.path}"
    assert memory_keyring.store == {("itsmdesk", key): SECRET}
    assert settings.value(SETTINGS_KEY) == \
        f"postgresql://{parts.username}@{parts.hostname}:{parts.port or 5432}{parts.path}"
    settings.sync()
    text = (tmp_path / "settings.ini").read_text()
    assert SECRET not in text and parts.hostname in text
    # the next start finds the password in the keyring, asking nothing
    from itsmdesk.views.signin.connect_dialog import password_at_start

    os.environ.pop("ITSMDESK_PASSWORD", None)
    start_url = password_at_start(settings.value(SETTINGS_KEY), settings)
    assert start_url is not None and credentials.known_password(start_url) == SECRET
    assert credentials.check_connection(start_url)


def test_without_a_keyring_it_says_so_and_remembers_nothing(qapp, qtbot, settings, no_keyring,
                                                           tmp_path):
    from itsmdesk.views.signin.connect_dialog import SETTINGS_KEY, ConnectDialog

    parts = _pg_parts()
    dialog = ConnectDialog(settings)
    qtbot.addWidget(dialog)
    assert not dialog.remember.isEnabled() and "keyring" in dialog.remember.toolTip()
    _fill(dialog, parts, SECRET, True)
    dialog.remember.setEnabled(True)  # even if ticked somehow
    dialog.remember.setChecked(True)
    dialog.submit()
    _wait_for(lambda: dialog.url_with_password != "")
    assert "no keyring" in dialog.keyring_note
    assert settings.value(SETTINGS_KEY).startswith("postgresql://")
    settings.sync()
    assert SECRET not in (tmp_path / "settings.ini").read_text()


def test_cli_reads_the_postgresql_password_from_env_or_keyring(memory_keyring, monkeypatch):
    from itsmdesk.commands.base import _with_pg_password

    parts = _pg_parts()
    bare = credentials.without_password(
        f"postgresql://{parts.username}:{SECRET}@{parts.hostname}:{parts.port or 5432}{parts.path}")
    assert SECRET not in bare
    monkeypatch.setenv("ITSMDESK_PASSWORD", "from-env")
    assert credentials.known_password(bare) == "from-env"
    monkeypatch.delenv("ITSMDESK_PASSWORD")
    credentials.remember_password(bare, SECRET)
    url = _with_pg_password(bare)
    assert SECRET in url and credentials.check_connection(url)
    memory_keyring.store.clear()
    assert _with_pg_password(bare) == bare  # none known: libpq's own ways (.pgpass) may serve


def test_create_administrator_from_the_person_menu(ctx, qtbot, settings):
    from itsmdesk.services import people
    from itsmdesk.views.main_window import MainWindow

    people.create_person({"name": "Existing Person"})
    ctx.accounts_enabled = False
    window = MainWindow(ctx, settings)
    qtbot.addWidget(window)
    window._pick_person()
    action = window.person_menu.findChild(type(window.connect_action), "createAdministrator")
    assert action is not None and action.isEnabled()
    window.person_menu.close()
    action.trigger()
    dialog = window.first_run_dialog
    dialog.name.setText("Big Boss")
    dialog.login.setText("boss")
    dialog.password.setText("correct horse")
    dialog.again.setText("correct horse")
    dialog.submit()
    assert accounts.has_accounts()
    assert ctx.actor.name == "Big Boss" and ctx.accounts_enabled
    window._pick_person()
    assert window.person_menu.findChild(type(window.connect_action), "createAdministrator") is None
    window.person_menu.close()
    assert window.connect_action.text().startswith("&Connect")
