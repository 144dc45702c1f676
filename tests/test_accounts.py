"""Accounts: argon2 passwords, sign-in, roles; the hash never reaches the journal; the CLI
signs in with --user and refuses writes without it on a database with accounts."""

from __future__ import annotations

import pytest

from itsmdesk.errors import PermissionDeniedError, SignInError, ValidationError
from itsmdesk.models.journal import JournalEntry
from itsmdesk.models.people import Person, PersonRole
from itsmdesk.services import accounts
from itsmdesk.services.context import ALL_ROLES, Actor


def _journal_text() -> str:
    return " ".join(f"{r.field} {r.old} {r.new}" for r in JournalEntry.select())


def test_first_administrator_then_sign_in(sqlite_db):
    assert not accounts.has_accounts()
    boss = accounts.create_first_administrator("boss", "Big Boss", "correct horse")
    assert accounts.has_accounts()
    assert boss.password_hash.startswith("$argon2id$")
    actor = accounts.sign_in("boss", "correct horse")
    assert actor.person_id == boss.id and actor.roles == frozenset({"administrator"})
    with pytest.raises(PermissionDeniedError):  # only while there is no account
        accounts.create_first_administrator("eve", "Eve", "correct horse")


def test_wrong_password_refused_and_nothing_changes(sqlite_db):
    accounts.create_first_administrator("boss", "Big Boss", "correct horse")
    before = (JournalEntry.select().count(), Person.get(Person.login == "boss").version)
    for login, password in (("boss", "wrong horse"), ("nobody", "correct horse"), ("boss", "")):
        with pytest.raises(SignInError) as err:
            accounts.sign_in(login, password)
        assert str(err.value) == "Wrong login or password."
    assert (JournalEntry.select().count(), Person.get(Person.login == "boss").version) == before


def test_inactive_person_refused_with_the_same_sentence(sqlite_db):
    accounts.create_first_administrator("boss", "Big Boss", "correct horse")
    admin = accounts.sign_in("boss", "correct horse")
    accounts.create_account("ann", "Ann", "ann password", ["agent"], admin)
    accounts.set_active("ann", False, admin)
    with pytest.raises(SignInError, match="^Wrong login or password.$"):
        accounts.sign_in("ann", "ann password")


def test_hash_never_in_the_journal(sqlite_db):
    accounts.create_first_administrator("boss", "Big Boss", "correct horse")
    admin = accounts.sign_in("boss", "correct horse")
    accounts.create_account("ann", "Ann", "ann password", ["agent", "cab_member"], admin)
    accounts.set_password("ann", "another password", admin)
    text = _journal_text()
    assert "$argon2" not in text
    hashes = [p.password_hash for p in Person.select() if p.password_hash]
    assert len(hashes) == 2 and not any(h in text for h in hashes)
    assert '"password_hash": "(set)"' in text
    row = JournalEntry.get(JournalEntry.field == "password_hash")
    assert (row.old, row.new, row.who_name) == ("(set)", "(set)", "Big Boss")
    assert accounts.sign_in("ann", "another password").name == "Ann"


def test_roles_granted_and_revoked_by_an_administrator_only(db):
    accounts.create_account("boss", "Big Boss", "correct horse", ["administrator"])
    admin = Actor.for_person(Person.get(Person.login == "boss"))
    assert admin.roles == {"administrator"}
    accounts.create_account("ann", "Ann", "ann password", ["agent"], admin)
    ann = Actor.for_person(Person.get(Person.login == "ann"))
    with pytest.raises(PermissionDeniedError, match="needs the role administrator"):
        accounts.set_roles("ann", grant=["administrator"], actor=ann)
    with pytest.raises(PermissionDeniedError):
        accounts.create_account("eve", "Eve", "eve password", ["agent"], ann)
    held = accounts.set_roles("ann", grant=["cab_member"], revoke=["agent"], actor=admin)
    assert held == {"cab_member"}
    assert {r.role for r in PersonRole.select().where(PersonRole.person == ann.person_id)} \
        == {"cab_member"}
    with pytest.raises(ValidationError, match="last administrator"):
        accounts.set_roles("boss", revoke=["administrator"], actor=admin)


def test_first_account_must_be_an_administrator(sqlite_db):
    with pytest.raises(ValidationError, match="administrator"):
        accounts.create_account("ann", "Ann", "ann password", ["agent"])
    with pytest.raises(ValidationError, match="at least 8"):
        accounts.create_first_administrator("boss", "Boss", "short")
    with pytest.raises(ValidationError, match="lowercase"):
        accounts.create_first_administrator("Bad Login!", "Boss", "long enough")


def test_open_database_gives_every_role(sqlite_db):
    from itsmdesk.services import people

    person = people.create_person({"name": "Solo"})
    assert Actor.for_person(person).roles == ALL_ROLES


# -- the command line ---------------------------------------------------------------------------
def test_cli_write_as_user_is_journalled_with_that_person(tmp_path, monkeypatch, capsys):
    from itsmdesk.cli import main

    url = f"sqlite:///{tmp_path / 'a.db'}"
    monkeypatch.setenv("ITSMDESK_NEW_PASSWORD", "boss password")
    assert main(["--db", url, "init", "--admin", "boss", "--name", "Big Boss"]) == 0
    monkeypatch.setenv("ITSMDESK_PASSWORD", "boss password")
    monkeypatch.setenv("ITSMDESK_NEW_PASSWORD", "ann password")
    assert main(["--db", url, "--user", "boss", "people", "add", "ann", "--name", "Ann Agent",
                 "--role", "agent"]) == 0
    assert main(["--db", url, "--user", "boss", "business-calendar", "create", "Office"]) == 0
    from itsmdesk.services.session import open_database

    database, _info = open_database(url)
    rows = list(JournalEntry.select().where(JournalEntry.record_ref == "Office"))
    assert rows and {r.who_name for r in rows} == {"Big Boss"}
    assert {r.who_id for r in rows} == {Person.get(Person.login == "boss").id}
    person_rows = JournalEntry.select().where(JournalEntry.record_ref == "Ann Agent")
    assert {r.who_name for r in person_rows} == {"Big Boss"}
    database.close()


def test_cli_write_without_sign_in_refused_reads_allowed(tmp_path, monkeypatch, capsys):
    from itsmdesk.cli import main

    url = f"sqlite:///{tmp_path / 'a.db'}"
    monkeypatch.delenv("ITSMDESK_USER", raising=False)
    monkeypatch.setenv("ITSMDESK_NEW_PASSWORD", "boss password")
    assert main(["--db", url, "init", "--admin", "boss"]) == 0
    capsys.readouterr()
    assert main(["--db", url, "business-calendar", "create", "Office"]) == 2
    assert "sign in" in capsys.readouterr().err
    assert main(["--db", url, "business-calendar", "list"]) == 0  # a read runs
    monkeypatch.setenv("ITSMDESK_PASSWORD", "not it")
    assert main(["--db", url, "--user", "boss", "business-calendar", "create", "Office"]) == 2
    assert "Wrong login or password." in capsys.readouterr().err
    from itsmdesk.models.servicedesk import BusinessCalendar
    from itsmdesk.services.session import open_database

    database, _info = open_database(url)
    assert BusinessCalendar.select().count() == 0
    database.close()


def test_cli_role_flag_is_gone(capsys):
    from itsmdesk.cli import main

    with pytest.raises(SystemExit):
        main(["changes", "transition", "CHG-000001", "approved", "--role", "change_manager"])
