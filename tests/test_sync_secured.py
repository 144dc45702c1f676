"""Sync against a SECURED PostgreSQL hub (``itsmdesk admin setup-shared``: a group role per
itsmdesk role, row-level security, the journal stamped by the ``journal_who`` trigger).

The hub's half of a sync (``services/sync/ops.py``) runs in the replica's process over the
operator's own connection, so PostgreSQL checks every merged row against the *operator's*
roles, and ``journal_who`` stamps every journal row the sync writes with the *operator*.  What
this file pins down (see docs/sync.md, "On a secured hub"):

* an administrator can make a replica (the hub's identity and the site's key go into
  ``schema_info``: an INSERT policy for administrators on ``sync.*`` keys);
* people there have no local password (PostgreSQL keeps them): the replica's maker signs in
  with the password the hub took, and (an administrator) gives the others site passwords,
  kept in the replica only; ``itsmdesk sync`` takes the hub's login as the operator when
  nobody is signed in;
* a sync whose rows the operator's roles may write is applied; the hub's journal names the
  OPERATOR as who wrote each row (the record's ``updated_by`` keeps the author from the site);
* a sync with a row the operator may not write (an incident's field for an administrator, a CI
  for an agent) is refused with one sentence naming the table and the role that may sync it;
  nothing of it is applied and the rows wait on the replica; someone with the role syncs them;
* a replica made, or pulled, by a login sees only what row-level security lets that login read:
  an administrator's replica lacks other people's private work-log notes, and an
  administrator's pull does not bring them (a known gap; the pull's watch for late journal ids
  fetches them when someone who may read them syncs within a day).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.pg_secured import HOST, PORT, SUPER, cli, secured_database

psycopg2 = pytest.importorskip("psycopg2")


PASSWORD = "correct horse battery"


class Hub:
    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:8]
        self.dbname = f"itsmdesk_ssync_{self.tag}"
        self.prefix = f"itss{self.tag}"
        self.logins = {role: f"{name}_{self.tag}" for role, name in
                       (("administrator", "ada"), ("agent", "alf"), ("team_lead", "tess"),
                        ("cmdb_owner", "cody"))}
        self.people: dict[str, uuid.UUID] = {}
        self.ids: dict[str, uuid.UUID] = {}

    def url(self, role: str) -> str:
        """The hub as a person names it: the login in the URL, no password."""
        return f"postgresql://{self.logins[role]}@{HOST}:{PORT}/{self.dbname}"

    def url_with_password(self, role: str) -> str:
        return (f"postgresql://{self.logins[role]}:{PASSWORD.replace(' ', '%20')}@{HOST}:{PORT}"
                f"/{self.dbname}")

    def read(self, sql: str, params=()) -> list[tuple]:
        """The hub as the superuser sees it (no row-level security)."""
        conn = psycopg2.connect(f"{SUPER}/{self.dbname}", connect_timeout=5)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        finally:
            conn.close()

    def journal_max(self) -> int:
        return self.read('SELECT COALESCE(MAX(id), 0) FROM "journal"')[0][0]


@pytest.fixture(scope="module")
def hub():
    h = Hub()
    with secured_database(h.dbname, h.prefix, h.tag, h.logins["administrator"], PASSWORD):
        _seed(h)
        yield h


def _seed(h: Hub) -> None:
    from itsmdesk.models.people import Person
    from itsmdesk.services import accounts, shared_setup
    from itsmdesk.services.cmdb import cis
    from itsmdesk.services.context import SYSTEM
    from itsmdesk.services.servicedesk import incidents

    database, _info = shared_setup.connect(f"{SUPER}/{h.dbname}")
    assert shared_setup.enable_login_hook()
    try:
        h.people["administrator"] = Person.get(Person.login == h.logins["administrator"]).id
        for role, login in h.logins.items():
            if role != "administrator":
                h.people[role] = accounts.create_account(login, f"{role} person", PASSWORD,
                                                         (role,), SYSTEM).id
        for n in (1, 2, 3):
            h.ids[f"inc{n}"] = incidents.create_incident({"title": f"Printer {n}"}, SYSTEM).id
            h.ids[f"ci{n}"] = cis.create_ci({"name": f"srv{n}-{h.tag}", "ci_class": "server"},
                                            SYSTEM).id
        # a private note the administrator may not read (row-level security)
        incidents.add_work_log(h.ids["inc3"], "PRIVATE hub note", SYSTEM, public=False)
    finally:
        database.close()


@contextlib.contextmanager
def replica_db(path: Path):
    """The replica bound for a while (as the desktop app or a CLI command at the site)."""
    from itsmdesk.models.base import db as proxy
    from itsmdesk.services.context import set_site
    from itsmdesk.services.session import open_database

    saved = proxy.obj
    database, _info = open_database(f"sqlite:///{path}")
    try:
        yield database
    finally:
        database.close()
        proxy.initialize(saved)
        set_site("")


def _person(h: Hub, role: str):
    """The actor of a person at the site: their roles as the replica has them."""
    from itsmdesk.models.people import Person
    from itsmdesk.services.context import Actor

    return Actor.for_person(Person.get(Person.login == h.logins[role]), "OSL")


def _make_replica(h: Hub, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.db"
    done = cli("replica", "create", "--from", h.url("administrator"), "--site", "OSL",
                str(path), env={"ITSMDESK_PASSWORD": PASSWORD})
    assert done.returncode == 0, done.stdout + done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    return path


def _sync(h: Hub, path: Path, role: str) -> subprocess.CompletedProcess:
    """``itsmdesk sync`` at the site, run by ``role``'s login (the hub's URL names it)."""
    return cli("--db", f"sqlite:///{path}", "sync", "--hub", h.url(role), "--json",
                env={"ITSMDESK_PASSWORD": PASSWORD})


def _waiting(path: Path) -> int:
    from itsmdesk.services.sync.replica import status

    with replica_db(path) as database:
        return status(database)["unpushed_rows"]


def test_only_the_maker_signs_in_on_a_replica_of_a_secured_hub(hub, tmp_path):
    """The people of a secured hub have no local password (PostgreSQL keeps it): the replica's
    maker signs in there with the password the hub took (kept as a local argon2 hash, not
    journalled); the others cannot, and a sync takes the hub's login as its operator."""
    from itsmdesk.errors import SignInError
    from itsmdesk.services import accounts

    path = _make_replica(hub, tmp_path, "signin")
    with replica_db(path) as database:
        maker = accounts.sign_in(hub.logins["administrator"], PASSWORD)
        assert maker.person_id is not None and "administrator" in maker.roles
        with pytest.raises(SignInError):
            accounts.sign_in(hub.logins["administrator"], "wrong " + PASSWORD)
        with pytest.raises(SignInError):
            accounts.sign_in(hub.logins["agent"], PASSWORD)
        assert not database.execute_sql(
            "SELECT COUNT(*) FROM journal WHERE field = 'password_hash'").fetchone()[0]
    done = cli("--db", f"sqlite:///{path}", "replica", "status", "--json",
                env={"ITSMDESK_USER": hub.logins["administrator"], "ITSMDESK_PASSWORD": PASSWORD})
    assert done.returncode == 0, done.stderr
    done = _sync(hub, path, "agent")  # nothing to send: a sync all the same
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["pushed_batches"] == 0


def test_the_maker_gives_the_site_local_passwords(hub, tmp_path):
    """The administrator who made the replica gives an agent of the site a password there
    (the CLI's ``people password``): kept in the replica only, the hub's PostgreSQL password
    unchanged; the agent signs in at the site, changes it, and syncs: nothing but a note in
    the person's history reaches the hub, and no conflict."""
    from itsmdesk.errors import SignInError
    from itsmdesk.services import accounts

    path = _make_replica(hub, tmp_path, "passwords")
    agent = hub.logins["agent"]
    before = hub.read("SELECT version FROM person WHERE login = %s", (agent,))
    done = cli("--db", f"sqlite:///{path}", "people", "password", agent,
               env={"ITSMDESK_USER": hub.logins["administrator"], "ITSMDESK_PASSWORD": PASSWORD,
                    "ITSMDESK_NEW_PASSWORD": "site password 1"})
    assert done.returncode == 0, done.stderr
    with replica_db(path) as database:
        me = accounts.sign_in(agent, "site password 1")
        accounts.set_own_password(me, "site password 1", "site password 2")
        accounts.sign_in(agent, "site password 2")
        with pytest.raises(SignInError):
            accounts.sign_in(agent, PASSWORD)  # (the hub's password is the hub's)
        rows = database.execute_sql("SELECT field, new FROM journal WHERE field LIKE '%password%'"
                                    ).fetchall()
        assert rows == [("!password", "(set on replica OSL)")]
    done = _sync(hub, path, "agent")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["conflicts"] == []
    assert hub.read("SELECT version FROM person WHERE login = %s", (agent,)) == before
    assert hub.read("SELECT new FROM journal WHERE field = '!password'") == [
        ("(set on replica OSL)",)]
    conn = psycopg2.connect(host=HOST, port=PORT, dbname=hub.dbname, user=agent,
                            password=PASSWORD, connect_timeout=5)  # unchanged on the hub
    conn.close()


def test_sync_applies_what_the_operator_may_write_journal_names_the_operator(hub, tmp_path):
    """Offline edits (a team lead's incident field, an agent's note); the administrator may not
    write incidents on the hub: refused in a sentence, nothing applied, the rows wait; the agent
    syncs them.  The hub's journal says the agent wrote every row (journal_who stamps the
    session's person), the incident's updated_by still names the team lead."""
    path = _make_replica(hub, tmp_path, "osl")
    from itsmdesk.models.incident import Incident
    from itsmdesk.services.servicedesk import incidents

    inc = hub.ids["inc1"]
    with replica_db(path):
        note = incidents.add_work_log(inc, "Oslo replaced the drum", _person(hub, "agent"))
        current = Incident.get_by_id(inc)
        incidents.update_incident(inc, current.version, {"title": "Printer 1 (Oslo)"},
                                  _person(hub, "team_lead"))
    waiting = _waiting(path)
    assert waiting == 2
    before = hub.journal_max()

    # (a) the administrator: PostgreSQL refuses the incident's UPDATE -> one sentence
    done = _sync(hub, path, "administrator")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "psycopg2" not in done.stderr
    # (the private note comes first: refused by work_log's row-level security)
    assert "Ada Admin may not write work_log" in done.stderr, done.stderr
    assert "roles agent, team_lead" in done.stderr
    assert hub.journal_max() == before  # nothing half-applied
    assert hub.read("SELECT title FROM incident WHERE id = %s", (str(inc),)) == [("Printer 1",)]
    assert _waiting(path) == waiting

    # (b) the agent: applied
    done = _sync(hub, path, "agent")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["pushed_batches"] == 2 and report["conflicts"] == []
    assert _waiting(path) == 0
    title, updated_by = hub.read("SELECT title, updated_by FROM incident WHERE id = %s",
                                 (str(inc),))[0]
    assert title == "Printer 1 (Oslo)"
    assert str(updated_by) == str(hub.people["team_lead"])  # the record keeps the author
    assert hub.read("SELECT text FROM work_log WHERE id = %s", (str(note.id),)) == [
        ("Oslo replaced the drum",)]
    # the hub's journal: every row the sync wrote (markers, the team lead's field, the agent's
    # note) stamped with the OPERATOR, whoever wrote it at the site (current, documented)
    rows = hub.read('SELECT record_kind, field, who_id, who_name FROM "journal" WHERE id > %s '
                    "ORDER BY id", (before,))
    assert [(k, f) for k, f, _w, _n in rows] == [
        ("replica", "!synced"), ("incident", "work_log+"), ("replica", "!synced"),
        ("incident", "title")]
    assert {(str(w), n) for _k, _f, w, n in rows} == {(str(hub.people["agent"]), "agent person")}

    # the replica pulled the hub's stamps back: its journal says so too
    with replica_db(path) as database:
        who = database.execute_sql(
            'SELECT who_name FROM "journal" WHERE record_kind = %s AND field = %s '
            "ORDER BY id DESC LIMIT 1".replace("%s", "?"), ("incident", "title")).fetchone()
    assert who == ("team_lead person",)  # (the replica keeps the author in its own journal)


def test_a_row_the_operator_may_not_write_is_refused_whole_then_synced_by_its_role(hub,
                                                                                  tmp_path):
    """A CI edited at the site by the CMDB owner; an agent's sync: PostgreSQL (row-level
    security, grants) refuses the agent the CI, so the sync stops with a sentence naming the
    table and the role, nothing applied, the row still waiting; the CMDB owner syncs it."""
    from itsmdesk.errors import ValidationError
    from itsmdesk.services.cmdb import cis
    from itsmdesk.services.sync import engine

    path = _make_replica(hub, tmp_path, "ci")
    ci = hub.ids["ci2"]
    with replica_db(path):
        cis.update_ci(ci, None, {"description": "rack 4, Oslo"}, _person(hub, "cmdb_owner"))
    before = hub.journal_max()

    with replica_db(path) as database:  # the service, for the error's class
        with pytest.raises(ValidationError) as caught:
            engine.sync(database, hub.url_with_password("agent"))
    text = str(caught.value)
    assert "may not write ci" in text and "cmdb_owner" in text, text
    assert hub.journal_max() == before
    assert hub.read("SELECT description FROM ci WHERE id = %s", (str(ci),)) == [(None,)]
    assert _waiting(path) == 1

    done = _sync(hub, path, "agent")  # the command: the same sentence, no traceback
    assert done.returncode != 0 and "may not write ci" in done.stderr
    assert "Traceback" not in done.stderr

    # carried to the hub instead and imported there by the agent: the same sentence
    carried = tmp_path / "ci.itsync"
    done = cli("--db", f"sqlite:///{path}", "sync", "export-bundle", str(carried))
    assert done.returncode == 0, done.stderr
    hub_url = f"postgresql://{hub.logins['agent']}@{HOST}:{PORT}/{hub.dbname}"
    done = cli("--db", hub_url, "sync", "import-bundle", str(carried),
                env={"ITSMDESK_PASSWORD": PASSWORD})
    assert done.returncode != 0 and "may not write ci" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert hub.journal_max() == before and _waiting(path) == 1

    done = _sync(hub, path, "cmdb_owner")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["conflicts"] == []
    assert hub.read("SELECT description FROM ci WHERE id = %s", (str(ci),)) == [
        ("rack 4, Oslo",)]
    assert {str(r[0]) for r in hub.read('SELECT who_id FROM "journal" WHERE id > %s',
                                        (before,))} == {str(hub.people["cmdb_owner"])}
    assert _waiting(path) == 0


def test_a_replica_holds_only_what_its_maker_may_read(hub, tmp_path):
    """KNOWN GAP (current behaviour): the copy and the pulls read the hub under the login's
    row-level security.  The administrator may not read other people's private work-log notes,
    so an administrator's replica has neither the note nor its journal row, and does not know
    it lacks them."""
    from itsmdesk.models.incident import WorkLog

    on_hub = hub.read("SELECT COUNT(*) FROM work_log WHERE incident_id = %s AND NOT public",
                      (str(hub.ids["inc3"]),))[0][0]
    assert on_hub == 1
    path = _make_replica(hub, tmp_path, "gap")
    with replica_db(path):
        assert WorkLog.select().where(WorkLog.incident == hub.ids["inc3"]).count() == 0


def test_the_administrator_syncs_what_an_administrator_may_write(hub, tmp_path):
    """The administrator's own kind of work done at the site (a person's e-mail, a new team)
    goes through the administrator's sync; the hub's journal names the administrator."""
    from itsmdesk.models.people import Person, Team
    from itsmdesk.services import people

    path = _make_replica(hub, tmp_path, "admin")
    ada = _person(hub, "administrator")
    with replica_db(path):
        alf = Person.get_by_id(hub.people["agent"])
        people.update_person(alf.id, alf.version, {"email": "alf@oslo.example"}, ada)
        team = people.create_team({"name": f"Oslo desk {hub.tag}"}, actor=ada)
    before = hub.journal_max()
    done = _sync(hub, path, "administrator")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["conflicts"] == []
    assert hub.read("SELECT email FROM person WHERE id = %s", (str(hub.people["agent"]),)) == [
        ("alf@oslo.example",)]
    assert hub.read("SELECT name FROM team WHERE id = %s", (str(team.id),)) == [
        (f"Oslo desk {hub.tag}",)]
    assert {str(r[0]) for r in hub.read('SELECT who_id FROM "journal" WHERE id > %s',
                                        (before,))} == {str(hub.people["administrator"])}
    assert _waiting(path) == 0
    with replica_db(path):
        assert Team.get_by_id(team.id).name == f"Oslo desk {hub.tag}"


def test_an_administrators_pull_misses_private_notes(hub, tmp_path):
    """KNOWN GAP (current behaviour), the pull's side: a private note synced to the hub by an
    agent from one replica does not reach another replica the administrator syncs (the journal
    row is not readable by the administrator's login); nothing says so.  The pull watches the
    ids it did not get as holes for a day, so a sync by someone who may read them within that
    day brings them after all."""
    from itsmdesk.models.incident import WorkLog
    from itsmdesk.services.servicedesk import incidents

    theirs = _make_replica(hub, tmp_path, "a")
    mine = _make_replica(hub, tmp_path, "b")
    with replica_db(theirs):
        note = incidents.add_work_log(hub.ids["inc2"], "PRIVATE: Oslo note",
                                      _person(hub, "agent"))
    assert _sync(hub, theirs, "agent").returncode == 0
    assert hub.read("SELECT COUNT(*) FROM work_log WHERE id = %s", (str(note.id),)) == [(1,)]
    done = _sync(hub, mine, "administrator")
    assert done.returncode == 0, done.stderr
    with replica_db(mine):
        assert not WorkLog.select().where(WorkLog.id == note.id).exists()
    # the journal ids the administrator could not read look like holes to the pull, which asks
    # for them again for a day (engine.pull's gap watch): an agent's sync within it fetches them
    done = _sync(hub, mine, "agent")
    assert done.returncode == 0, done.stderr
    with replica_db(mine):
        assert WorkLog.select().where(WorkLog.id == note.id).exists()
