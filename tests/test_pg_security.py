"""PostgreSQL itself enforces the roles (models/pg_security.py, ``itsmdesk admin setup-shared``).

A fresh database is set up through the CLI as the superuser; people with different roles get
their login roles through the SECURITY DEFINER login function; then each test connects AS one
of them with psycopg2 directly (what a person with psql could do) and tries reads and writes
outside the role: PostgreSQL refuses them (an error, or rows that are not there).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.pg_secured import HOST, PORT, SUPER, cli, secured_database, superuser

psycopg2 = pytest.importorskip("psycopg2")


PASSWORD = "correct horse battery"


class Shared:
    """The secured database of this module: its name, role prefix, people and records."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:8]
        self.dbname = f"itsmdesk_sec_{self.tag}"
        self.prefix = f"itsec{self.tag}"
        self.people: dict[str, uuid.UUID] = {}
        self.logins: dict[str, str] = {}  # role -> login
        self.ids: dict[str, object] = {}

    def login(self, role: str) -> str:
        return self.logins[role]

    def connect(self, role_or_login: str):
        user = self.logins.get(role_or_login, role_or_login)
        conn = psycopg2.connect(host=HOST, port=PORT, dbname=self.dbname, user=user,
                                password=PASSWORD, connect_timeout=5)
        conn.autocommit = True
        return conn


ROLE_LOGINS = {"requester": "rita", "agent": "alf", "team_lead": "tess",
               "problem_manager": "pam", "change_manager": "cmo", "cab_member": "cab1",
               "release_manager": "rex", "cmdb_owner": "cody", "administrator": "ada"}


@pytest.fixture(scope="module")
def shared():
    s = Shared()
    s.logins = {role: f"{login}_{s.tag}" for role, login in ROLE_LOGINS.items()}
    # the superuser runs setup-shared: no password on the command line (trust here; the new
    # administrator's password comes from the environment)
    with secured_database(s.dbname, s.prefix, s.tag, s.login("administrator"), PASSWORD):
        _seed(s)
        yield s


def _seed(s: Shared) -> None:
    """People (logins through the login function) and a few records, written as the
    superuser through the services."""
    from itsmdesk.models.cmdb import CI, CIClass
    from itsmdesk.models.incident import Incident, WorkLog
    from itsmdesk.models.people import Person
    from itsmdesk.services import accounts, records, shared_setup
    from itsmdesk.services.context import SYSTEM

    database, _info = shared_setup.connect(f"{SUPER}/{s.dbname}")
    assert shared_setup.enable_login_hook()
    try:
        ada = Person.get(Person.login == s.login("administrator"))
        s.people["administrator"] = ada.id
        for role, login in s.logins.items():
            if role == "administrator":
                continue
            person = accounts.create_account(login, f"{role} person", PASSWORD, (role,), SYSTEM)
            s.people[role] = person.id
        for n in (2, 3):  # two more CAB members (the quorum is 3)
            login = f"cab{n}_{s.tag}"
            person = accounts.create_account(login, f"CAB member {n}", PASSWORD, ("cab_member",),
                                             SYSTEM)
            s.logins[f"cab{n}"] = login
            s.people[f"cab{n}"] = person.id
        other = records.create(Person, {"name": "Someone Else"}, SYSTEM)
        with records.atomic():
            mine = records.create(Incident, {"ref": records.next_ref("INC"), "title": "Rita's printer",
                                             "caller": s.people["requester"]}, SYSTEM)
            theirs = records.create(Incident, {"ref": records.next_ref("INC"),
                                               "title": "Someone else's laptop",
                                               "caller": other.id}, SYSTEM)
            records.add_child(WorkLog, {"incident": mine.id, "text": "We are on it",
                                        "public": True}, SYSTEM)
            records.add_child(WorkLog, {"incident": mine.id, "text": "PRIVATE: user is rude",
                                        "public": False}, SYSTEM)
            server = CIClass.get(CIClass.name == "server") if CIClass.select().where(
                CIClass.name == "server").exists() else CIClass.select().first()
            ci = records.create(CI, {"name": f"srv-{s.tag}", "ci_class": server.id}, SYSTEM)
        from itsmdesk.models.change import CABMember, Change

        with records.atomic():
            change = records.create(Change, {"ref": records.next_ref("CHG"), "title": "Patch",
                                             "status": "awaiting_cab"}, SYSTEM)
            for key in ("cab_member", "cab2", "cab3"):
                records.create(CABMember, {"person": s.people[key]}, SYSTEM)
        s.ids.update(mine=mine.id, theirs=theirs.id, ci=ci.id, change=change.id)
    finally:
        database.close()


def _count(conn, sql: str, params=()) -> int:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


def _run(conn, sql: str, params=()) -> int:
    """Run a write; its row count (a refused statement raises)."""
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount


def _refused(conn, sql: str, params=()) -> str:
    with pytest.raises(psycopg2.Error) as info:
        _run(conn, sql, params)
    return str(info.value)


# -- the roles themselves ----------------------------------------------------------------------------
def test_no_app_login_can_bypass_row_level_security(shared):
    su = shared.connect("postgres")
    try:
        with su.cursor() as cur:
            cur.execute("SELECT r.rolname, r.rolsuper, r.rolbypassrls, r.rolcreaterole, "
                        "r.rolcreatedb, r.rolreplication FROM pg_roles r "
                        "WHERE pg_has_role(r.oid, %s, 'MEMBER') AND NOT r.rolsuper "
                        "AND r.rolname <> %s", (f"{shared.prefix}_user", f"{shared.prefix}_user"))
            logins = cur.fetchall()
            assert {r[0] for r in logins} >= set(shared.logins.values())
            for name, *flags in logins:
                assert flags == [False] * 5, name
                cur.execute("SELECT pg_has_role(%s, %s, 'MEMBER'), pg_has_role(%s, %s, 'MEMBER')",
                            (name, f"{shared.prefix}_owner", name, f"{shared.prefix}_rolemaker"))
                assert cur.fetchone() == (False, False), name
            # nothing in the database is owned by a login role
            cur.execute("SELECT c.relname, r.rolname FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "JOIN pg_roles r ON r.oid = c.relowner WHERE n.nspname = 'public'")
            owners = {owner for _rel, owner in cur.fetchall()}
            assert owners == {f"{shared.prefix}_owner"}
            cur.execute("SELECT r.rolname FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner "
                        "WHERE n.nspname = 'public'")
            assert cur.fetchone()[0] == f"{shared.prefix}_owner"
            # the owner and the role maker cannot log in
            cur.execute("SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname IN (%s, %s)",
                        (f"{shared.prefix}_owner", f"{shared.prefix}_rolemaker"))
            assert dict(cur.fetchall()) == {f"{shared.prefix}_owner": False,
                                            f"{shared.prefix}_rolemaker": False}
            # row-level security enabled and forced on every table
            cur.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = 'public' AND c.relkind = 'r' "
                        "AND NOT (c.relrowsecurity AND c.relforcerowsecurity)")
            assert cur.fetchall() == []
            cur.execute("SELECT count(*) FROM pg_views WHERE schemaname = 'public'")
            assert cur.fetchone()[0] == 0  # (no views; any would need security_invoker)
    finally:
        su.close()
    with pytest.raises(psycopg2.OperationalError):
        shared.connect(f"{shared.prefix}_owner")


def test_functions_have_a_pinned_search_path_and_no_public_execute(shared):
    su = shared.connect("postgres")
    try:
        with su.cursor() as cur:
            cur.execute("SELECT p.oid::regprocedure::text, p.prosecdef, p.proconfig, "
                        "r.rolname, EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, "
                        "acldefault('f', p.proowner))) a WHERE a.grantee = 0) "
                        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                        "JOIN pg_roles r ON r.oid = p.proowner WHERE n.nspname = 'public'")
            functions = cur.fetchall()
    finally:
        su.close()
    names = {f[0].split("(")[0] for f in functions}
    assert {"itsmdesk_me", "itsmdesk_login_create", "itsmdesk_cab_quorum_approves",
            "itsmdesk_journal_who"} <= names
    definers = [f for f in functions if f[1]]
    assert len(definers) >= 6
    for signature, secdef, config, owner, public in functions:
        assert not public, f"{signature}: PUBLIC may execute it"
        assert owner in (f"{shared.prefix}_owner", f"{shared.prefix}_rolemaker"), signature
        if secdef:
            assert "search_path=pg_catalog, public, pg_temp" in (config or []), signature
        if signature.startswith("itsmdesk_login_"):
            assert owner == f"{shared.prefix}_rolemaker"
    # an agent may not even call the login function
    alf = shared.connect("agent")
    try:
        text = _refused(alf, "SELECT itsmdesk_login_create('mallory', 'x', ARRAY['administrator'])")
        assert "permission denied" in text
        assert "permission denied" in _refused(alf, "SELECT itsmdesk_cab_quorum_approves(%s)",
                                               (str(shared.ids["change"]),))
    finally:
        alf.close()


def test_the_login_function_grants_only_itsmdesk_groups(shared):
    from itsmdesk.models.pg_security import scram_verifier

    ada = shared.connect("administrator")
    try:
        verifier = scram_verifier("whatever12")
        # the owner role is not one of the groups: refused, whatever the spelling
        for roles in (["owner"], ["../owner"], ["administrator", "rolemaker"]):
            assert "unknown role" in _refused(ada, "SELECT itsmdesk_login_roles(%s, %s)",
                                              (shared.login("agent"), roles))
        # roles that are not a person's login are not touched
        for target in (f"{shared.prefix}_owner", "postgres", f"{shared.prefix}_agent"):
            _refused(ada, "SELECT itsmdesk_login_password(%s, %s)", (target, verifier))
            _refused(ada, "SELECT itsmdesk_login_roles(%s, %s)", (target, ["administrator"]))
        _refused(ada, "SELECT itsmdesk_login_create('postgres', %s, ARRAY['agent'])", (verifier,))
        # a plain password is refused: only a verifier is accepted
        assert "verifier" in _refused(ada, "SELECT itsmdesk_login_password(%s, %s)",
                                      (shared.login("agent"), "plaintext-password"))
    finally:
        ada.close()


def test_passwords_are_stored_as_scram_verifiers_made_by_the_client(shared):
    import base64
    import hashlib
    import hmac

    su = shared.connect("postgres")
    try:
        for role in ("administrator", "agent"):
            stored = _count(su, "SELECT rolpassword FROM pg_authid WHERE rolname = %s",
                            (shared.login(role),))
            assert stored.startswith("SCRAM-SHA-256$")
            head, keys = stored.split("$")[1:]
            iterations, salt = head.split(":")
            stored_key = keys.split(":")[0]
            salted = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), base64.b64decode(salt),
                                         int(iterations))
            client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
            assert base64.b64encode(hashlib.sha256(client_key).digest()).decode() == stored_key
    finally:
        su.close()


# -- reads and writes outside the role ---------------------------------------------------------------
def test_a_requester_sees_only_their_tickets_and_public_notes(shared):
    rita = shared.connect("requester")
    try:
        assert _count(rita, "SELECT count(*) FROM incident") == 1
        assert _count(rita, "SELECT count(*) FROM incident WHERE id = %s",
                      (str(shared.ids["theirs"]),)) == 0
        assert _count(rita, "SELECT count(*) FROM work_log") == 1
        assert _count(rita, "SELECT count(*) FROM work_log WHERE text LIKE 'PRIVATE%%'") == 0
        assert _count(rita, "SELECT count(*) FROM journal WHERE new LIKE '%%PRIVATE%%' "
                            "OR old LIKE '%%PRIVATE%%'") == 0
        assert _count(rita, "SELECT count(*) FROM journal WHERE record_id = %s",
                      (str(shared.ids["theirs"]),)) == 0
        assert "permission denied" in _refused(rita, "SELECT count(*) FROM problem")
        assert "permission denied" in _refused(rita, "SELECT count(*) FROM approval WHERE false "
                                                     "UNION ALL SELECT count(*) FROM cab_meeting")
        # writes: another's ticket is not there to change; fields of their own are not theirs
        assert _run(rita, "UPDATE incident SET version = version + 1 WHERE id = %s",
                    (str(shared.ids["theirs"]),)) == 0
        assert "permission denied" in _refused(rita, "UPDATE incident SET title = 'mine now'")
        assert "permission denied" in _refused(rita, "DELETE FROM work_log")
        # a ticket for someone else is refused; a private note too
        _refused(rita, "INSERT INTO incident (id, version, created_at, updated_at, ref, kind, "
                       "channel, title, impact, urgency, priority, status, major, opened_at, "
                       "paused_seconds, sla_state, escalation_level, caller_id) VALUES "
                       "(gen_random_uuid(), 1, now(), now(), 'INC-X', 'incident', 'web', 'x', "
                       "3, 3, 5, 'new', false, now(), 0, 'ok', 0, NULL)")
        _refused(rita, "INSERT INTO work_log (id, incident_id, author_id, created_at, public, "
                       "text, time_spent_minutes) VALUES (gen_random_uuid(), %s, %s, now(), false, "
                       "'sneaky', 0)", (str(shared.ids["mine"]), str(shared.people["requester"])))
        assert _run(rita, "INSERT INTO work_log (id, incident_id, author_id, created_at, public, "
                          "text, time_spent_minutes) VALUES (gen_random_uuid(), %s, %s, now(), "
                          "true, 'any news?', 0)",
                    (str(shared.ids["mine"]), str(shared.people["requester"]))) == 1
    finally:
        rita.close()


def test_only_a_cmdb_owner_writes_cis_and_relations(shared):
    ci = str(shared.ids["ci"])
    for role in ("agent", "team_lead", "change_manager", "administrator", "requester"):
        conn = shared.connect(role)
        try:
            assert _count(conn, "SELECT count(*) FROM ci WHERE id = %s", (ci,)) == 1  # may read
            assert "permission denied" in _refused(conn, "UPDATE ci SET description = 'x' "
                                                         "WHERE id = %s", (ci,))
            assert "permission denied" in _refused(conn, "DELETE FROM relation")
        finally:
            conn.close()
    cody = shared.connect("cmdb_owner")
    try:
        assert _run(cody, "UPDATE ci SET description = 'checked' WHERE id = %s", (ci,)) == 1
    finally:
        cody.close()


def test_a_cab_member_writes_only_their_own_vote(shared):
    change = str(shared.ids["change"])
    insert = ("INSERT INTO approval (id, change_id, person_id, vote, voted_at) "
              "VALUES (gen_random_uuid(), %s, %s, %s, now())")
    cab = shared.connect("cab_member")
    try:
        assert "row-level security" in _refused(cab, insert, (change, str(shared.people["cab2"]),
                                                              "approve"))
        assert _run(cab, insert, (change, str(shared.people["cab_member"]), "reject")) == 1
    finally:
        cab.close()
    cab2 = shared.connect("cab2")
    try:  # another member's vote is not theirs to change or remove
        assert _run(cab2, "UPDATE approval SET vote = 'approve' WHERE person_id = %s",
                    (str(shared.people["cab_member"]),)) == 0
        assert _run(cab2, "DELETE FROM approval WHERE person_id = %s",
                    (str(shared.people["cab_member"]),)) == 0
    finally:
        cab2.close()
    alf = shared.connect("agent")
    try:
        assert "permission denied" in _refused(alf, insert, (change, str(shared.people["agent"]),
                                                             "approve"))
    finally:
        alf.close()
    su = shared.connect("postgres")
    try:
        assert _count(su, "SELECT count(*) FROM approval WHERE vote = 'reject'") == 1
        assert _count(su, "SELECT count(*) FROM approval") == 1
        _run(su, "DELETE FROM approval")
    finally:
        su.close()


def test_the_quorum_cannot_be_overridden_by_the_change_manager(shared):
    change = str(shared.ids["change"])
    approve = "UPDATE change SET status = 'approved' WHERE id = %s"
    cmo = shared.connect("change_manager")
    alf = shared.connect("agent")
    try:
        assert "quorum" in _refused(cmo, approve, (change,))
        assert "change manager" in _refused(alf, approve, (change,))
        for key in ("cab_member", "cab2", "cab3"):
            voter = shared.connect(key)
            try:
                _run(voter, "INSERT INTO approval (id, change_id, person_id, vote, voted_at) "
                            "VALUES (gen_random_uuid(), %s, %s, 'approve', now())",
                     (change, str(shared.people[key])))
            finally:
                voter.close()
        assert "change manager" in _refused(alf, approve, (change,))  # still not the agent's
        assert _run(cmo, approve, (change,)) == 1
        # a new change cannot start approved
        assert "draft or submitted" in _refused(
            cmo, "INSERT INTO change (id, version, created_at, updated_at, ref, title, type, "
                 "status, outage) VALUES (gen_random_uuid(), 1, now(), now(), 'CHG-X', 'x', "
                 "'normal', 'approved', false)")
    finally:
        cmo.close()
        alf.close()


def test_people_roles_and_settings_only_by_an_administrator(shared):
    for role in ("agent", "team_lead", "change_manager", "cmdb_owner", "requester"):
        conn = shared.connect(role)
        try:
            assert _count(conn, "SELECT count(*) FROM person") >= 9  # may read the directory
            assert "permission denied" in _refused(conn, "UPDATE person SET name = 'x'")
            assert "permission denied" in _refused(
                conn, "INSERT INTO person_role (id, person_id, role) VALUES "
                      "(gen_random_uuid(), %s, 'administrator')", (str(shared.people[role]),))
            assert "permission denied" in _refused(conn, "DELETE FROM setting")
        finally:
            conn.close()
    ada = shared.connect("administrator")
    try:
        assert _run(ada, "UPDATE person SET phone = '123' WHERE id = %s",
                    (str(shared.people["agent"]),)) == 1
    finally:
        ada.close()


# -- the journal ---------------------------------------------------------------------------------------
def test_the_journal_is_append_only_for_every_app_role(shared):
    su = shared.connect("postgres")
    try:
        before = _count(su, "SELECT count(*) FROM journal")
        first = _count(su, "SELECT min(id) FROM journal")
    finally:
        su.close()
    for key in list(shared.logins):
        conn = shared.connect(key)
        try:
            for sql in ("UPDATE journal SET who_name = 'Forged Person'", "DELETE FROM journal",
                        f"DELETE FROM journal WHERE id = {first}", "TRUNCATE journal",
                        "DROP TABLE journal", "ALTER TABLE journal DISABLE TRIGGER ALL",
                        "ALTER TABLE journal NO FORCE ROW LEVEL SECURITY"):
                _refused(conn, sql)
        finally:
            conn.close()
    su = shared.connect("postgres")
    try:
        assert _count(su, "SELECT count(*) FROM journal") == before
        assert _count(su, "SELECT count(*) FROM journal WHERE who_name = 'Forged Person'") == 0
        # the owner (what SECURITY DEFINER code runs as) cannot either
        with su.cursor() as cur:
            cur.execute(f'SET ROLE "{shared.prefix}_owner"')
        assert _run(su, "UPDATE journal SET who_name = 'x'") == 0  # (no policy lets it)
        assert _run(su, "DELETE FROM journal") == 0
        assert "append-only" in _refused(su, "TRUNCATE journal")  # (the trigger)
    finally:
        su.close()


def test_a_forged_who_gets_the_session_s_person(shared):
    alf = shared.connect("agent")
    try:
        forged = str(uuid.uuid4())
        with alf.cursor() as cur:
            cur.execute(f'SET ROLE "{shared.prefix}_user"')  # (session_user stays alf)
            cur.execute("INSERT INTO journal (record_kind, record_id, field, old, new, who_id, "
                        "who_name, at, site) VALUES ('incident', %s, 'title', 'a', 'b', %s, "
                        "'Forged Person', now(), '') RETURNING who_id, who_name",
                        (str(shared.ids["theirs"]), forged))
            who_id, who_name = cur.fetchone()
        assert str(who_id) == str(shared.people["agent"])
        assert who_name == "agent person"
    finally:
        alf.close()


# -- the CLI ----------------------------------------------------------------------------------------
def test_an_administrator_adds_a_login_through_thecli(shared):
    login = f"rick_{shared.tag}"
    done = cli("--db", f"postgresql://{shared.login('administrator')}@{HOST}:{PORT}/"
                f"{shared.dbname}", "admin", "add-login", login, "--role", "release_manager",
                "--role", "agent", "--name", "Rick Release",
                env={"ITSMDESK_PASSWORD": PASSWORD, "ITSMDESK_NEW_PASSWORD": "rick's secret 1"})
    assert done.returncode == 0, done.stderr
    assert "secret" not in done.stdout + done.stderr
    su = shared.connect("postgres")
    try:
        assert _count(su, "SELECT count(*) FROM person p JOIN person_role r ON r.person_id = p.id "
                          "WHERE p.login = %s", (login,)) == 2
        assert _count(su, "SELECT count(*) FROM pg_roles WHERE rolname = %s AND rolcanlogin "
                          "AND pg_has_role(rolname, %s, 'MEMBER') "
                          "AND pg_has_role(rolname, %s, 'MEMBER') "
                          "AND NOT pg_has_role(rolname, %s, 'MEMBER')",
                      (login, f"{shared.prefix}_release_manager", f"{shared.prefix}_agent",
                       f"{shared.prefix}_administrator")) == 1
        # the journal says who added him: the administrator's session, not the client
        assert _count(su, "SELECT count(*) FROM journal WHERE record_ref = 'Rick Release' "
                          "AND who_name = 'Ada Admin'") >= 1
    finally:
        su.close()
    # someone who is not an administrator cannot
    done = cli("--db", f"postgresql://{shared.login('agent')}@{HOST}:{PORT}/{shared.dbname}",
                "admin", "add-login", f"eve_{shared.tag}", "--role", "administrator",
                env={"ITSMDESK_PASSWORD": PASSWORD, "ITSMDESK_NEW_PASSWORD": "eve's secret 1"})
    assert done.returncode != 0
    su = shared.connect("postgres")
    try:
        assert _count(su, "SELECT count(*) FROM pg_roles WHERE rolname = %s",
                      (f"eve_{shared.tag}",)) == 0
    finally:
        su.close()


def test_setup_shared_runs_again_as_an_upgrade(shared):
    done = cli("admin", "setup-shared", f"{SUPER}/{shared.dbname}", "--admin",
                shared.login("administrator"), "--prefix", shared.prefix)
    assert done.returncode == 0, done.stderr
    assert "was there already" in done.stdout
    rita = shared.connect("requester")
    try:
        assert _count(rita, "SELECT count(*) FROM incident") == 1
    finally:
        rita.close()


# -- the app itself, signed in as each person -------------------------------------------------------
def _as(shared, key: str):
    """Bind the app's database to a connection as ``key``'s own login; their Actor."""
    from itsmdesk.models.people import Person
    from itsmdesk.services import shared_setup
    from itsmdesk.services.accounts import roles_of
    from itsmdesk.services.context import Actor

    database, _info = shared_setup.connect(
        f"postgresql://{shared.logins[key]}@{HOST}:{PORT}/{shared.dbname}", PASSWORD)
    person = Person.get(Person.login == shared.logins[key])
    return database, Actor.for_person(person, "", roles_of(person.id))


def test_the_services_work_through_the_grants_as_each_person(shared):
    import peewee as pw

    from itsmdesk.models.cmdb import CI
    from itsmdesk.models.incident import Incident, WorkLog
    from itsmdesk.models.journal import JournalEntry
    from itsmdesk.services import records
    from itsmdesk.services.change.changes import cast_vote
    from itsmdesk.services.servicedesk import incidents

    database, rita = _as(shared, "requester")
    try:
        ticket = records.create(Incident, {"title": "VPN drops", "caller": rita.person_id},
                                rita, ref_prefix="INC")  # (what create_incident writes)
        incidents.add_work_log(ticket.id, "since Monday", rita, public=True)
        assert Incident.select().count() == 2  # the new one and her first
        last = JournalEntry.select().order_by(JournalEntry.id.desc()).first()
        assert (last.who_id, last.who_name) == (rita.person_id, "requester person")
    finally:
        database.close()
    database, alf = _as(shared, "agent")
    try:
        incidents.add_work_log(ticket.id, "PRIVATE: check the token", alf, public=False)
        records.update(Incident, ticket.id, None, {"status": "in_progress"}, alf)
        assert WorkLog.select().where(WorkLog.incident == ticket.id).count() == 2
        # the services are bypassed: PostgreSQL still refuses, and nothing is written
        before = JournalEntry.select().count()
        with pytest.raises(pw.ProgrammingError):
            records.update(CI, shared.ids["ci"], None, {"description": "agent was here"}, alf)
        assert JournalEntry.select().count() == before
    finally:
        database.close()
    database, cab = _as(shared, "cab_member")
    try:
        cast_vote(shared.ids["change"], cab.person_id, "abstain", "", None, cab)
    finally:
        database.close()
    database, cody = _as(shared, "cmdb_owner")
    try:
        records.update(CI, shared.ids["ci"], None, {"description": "patched"}, cody)
        assert CI.get_by_id(shared.ids["ci"]).description == "patched"
    finally:
        database.close()


def test_a_database_set_up_the_old_way_is_taken_over(tmp_path):
    """installer/README.md used to make every workstation the database's owner: setup-shared
    takes the tables, sequences, functions and the database itself away from that role."""
    su = superuser()
    tag = uuid.uuid4().hex[:8]
    name, prefix = f"itsmdesk_old_{tag}", f"itold{tag}"
    owner = f"shared_owner_{tag}"  # (what every workstation used to log in as)
    with su.cursor() as cur:
        cur.execute(f"CREATE ROLE \"{owner}\" LOGIN PASSWORD '{PASSWORD}'")
        cur.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
    old_url = f"postgresql://{owner}@{HOST}:{PORT}/{name}"
    try:
        # (with an administrator made the old way: a person with a login, no login role)
        done = cli("--db", old_url, "init", "--admin", f"boss_{tag}",
                    env={"ITSMDESK_PASSWORD": PASSWORD, "ITSMDESK_NEW_PASSWORD": PASSWORD})
        assert done.returncode == 0, done.stderr
        done = cli("admin", "setup-shared", f"{SUPER}/{name}", "--admin", f"boss_{tag}",
                    "--prefix", prefix, env={"ITSMDESK_NEW_PASSWORD": PASSWORD})
        assert done.returncode == 0, done.stderr
        def connect_old():
            return psycopg2.connect(host=HOST, port=PORT, dbname=name, user=owner,
                                    password=PASSWORD, connect_timeout=5)

        with pytest.raises(psycopg2.OperationalError, match="CONNECT privilege"):
            connect_old()  # (it may not even connect any more)
        with su.cursor() as cur:  # and if someone lets it connect again, it can do nothing
            cur.execute(f'GRANT CONNECT ON DATABASE "{name}" TO "{owner}"')
        old = connect_old()
        old.autocommit = True
        try:
            for sql in ("UPDATE journal SET who_name = 'Forged Person'", "DELETE FROM journal",
                        "DROP TABLE journal", "SELECT count(*) FROM incident",
                        "ALTER TABLE journal DISABLE ROW LEVEL SECURITY"):
                _refused(old, sql)
        finally:
            old.close()
        with su.cursor() as cur:
            cur.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                        (name,))
            assert cur.fetchone()[0] == f"{prefix}_owner"
            cur.execute("SELECT rolcanlogin AND pg_has_role(rolname, %s, 'MEMBER') FROM pg_roles "
                        "WHERE rolname = %s", (f"{prefix}_administrator", f"boss_{tag}"))
            assert cur.fetchone() == (True,)  # the administrator got their login role
    finally:
        with su.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cur.execute("SELECT rolname FROM pg_roles WHERE rolname IN (%s, %s) OR rolname LIKE %s "
                        "ORDER BY rolname LIKE %s", (f"boss_{tag}", owner, f"{prefix}\\_%",
                                                     f"{prefix}\\_%"))
            for (role,) in cur.fetchall():
                cur.execute(f'DROP ROLE IF EXISTS "{role}"')
        su.close()


def test_account_changes_follow_to_the_login_roles(shared):
    """On a secured database the accounts service's changes (roles, password, deactivation)
    go to the person's own login role through the login functions."""
    from itsmdesk.services import accounts

    login = f"pam2_{shared.tag}"
    database, ada = _as(shared, "administrator")
    try:  # (the app installs nothing: the accounts service follows a secured database itself)
        accounts.create_account(login, "Pam Two", "first password", ("problem_manager",), ada)
        accounts.set_roles(login, grant=("agent",), revoke=("problem_manager",), actor=ada)
        accounts.set_password(login, "second password", ada)
        accounts.set_active(login, False, ada)
        accounts.set_active(login, True, ada)
        su = shared.connect("postgres")
        with su.cursor() as cur:
            cur.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (login,))
            assert cur.fetchone() == (True,)  # let in again
        su.close()
        accounts.set_active(login, False, ada)
    finally:
        database.close()
    su = shared.connect("postgres")
    try:
        with su.cursor() as cur:
            cur.execute("SELECT rolcanlogin, pg_has_role(rolname, %s, 'MEMBER'), "
                        "pg_has_role(rolname, %s, 'MEMBER') FROM pg_roles WHERE rolname = %s",
                        (f"{shared.prefix}_agent", f"{shared.prefix}_problem_manager", login))
            assert cur.fetchone() == (False, True, False)
    finally:
        su.close()


def test_check_runs_only_with_the_superuser_s_connection(shared):
    from itsmdesk.errors import ItsmError
    from itsmdesk.models.database import parse_url
    from itsmdesk.services import maintenance, shared_setup

    database, _actor = _as(shared, "agent")
    try:
        info = parse_url(f"postgresql://x@{HOST}:{PORT}/{shared.dbname}")
        with pytest.raises(ItsmError, match="superuser"):
            maintenance.check(info)
    finally:
        database.close()
    database, info = shared_setup.connect(f"{SUPER}/{shared.dbname}")
    try:
        found = [str(p) for p in maintenance.check(info)]
        assert not [p for p in found if "journal" in p or "missing" in p], found
    finally:
        database.close()


def test_a_cab_decision_through_the_services_needs_the_votes(shared):
    """The change manager records the CAB's decision through the services: with the members'
    votes (each cast by the member, as themselves) the change is approved; without them
    PostgreSQL refuses the approval even when the services' own check is skipped."""
    import datetime as dt

    import peewee as pw

    from itsmdesk.errors import ItsmError
    from itsmdesk.models.change import CABAgendaItem, CABMeeting, Change
    from itsmdesk.services import records, shared_setup
    from itsmdesk.services.change import cab
    from itsmdesk.services.change.changes import transition
    from itsmdesk.services.context import SYSTEM

    database, _info = shared_setup.connect(f"{SUPER}/{shared.dbname}")
    try:
        with records.atomic():
            change = records.create(Change, {"ref": records.next_ref("CHG"), "title": "Firewall",
                                             "status": "awaiting_cab"}, SYSTEM)
            other = records.create(Change, {"ref": records.next_ref("CHG"), "title": "Switches",
                                            "status": "awaiting_cab"}, SYSTEM)
            meeting = records.create(CABMeeting, {"ref": records.next_ref("CAB"),
                                                  "title": "Weekly CAB", "quorum": 3,
                                                  "starts_at": dt.datetime(2026, 12, 7, 10)},
                                     SYSTEM)
            for n, c in enumerate((change, other)):
                records.add_child(CABAgendaItem, {"meeting": meeting.id, "change": c.id,
                                                  "position": n}, SYSTEM)
    finally:
        database.close()
    for key in ("cab_member", "cab2", "cab3"):
        database, member = _as(shared, key)
        try:
            cab.vote(meeting.id, change.id, member.person_id, "approve", actor=member)
        finally:
            database.close()
    database, cmo = _as(shared, "change_manager")
    try:
        assert cab.decide(meeting.id, change.id, actor=cmo).decision == "approved"
        assert Change.get_by_id(change.id).status == "approved"
        with pytest.raises(ItsmError, match="quorum"):  # the services say it first
            transition(other.id, None, "approved", cmo, role="cab")
        with pytest.raises(pw.DatabaseError, match="quorum"):  # and PostgreSQL too
            records.update(Change, other.id, None, {"status": "approved"}, cmo)
        assert Change.get_by_id(other.id).status == "awaiting_cab"
    finally:
        database.close()


def test_a_refusal_by_the_database_is_a_sentence_in_thecli(shared):
    """What PostgreSQL refuses a login (here: a requester counting problems and CAB meetings)
    reaches the person as a sentence naming the refusal, never as the catch-all with the
    driver's exception type."""
    done = cli("--db", f"postgresql://{shared.login('requester')}@{HOST}:{PORT}/{shared.dbname}",
                "stats", env={"ITSMDESK_PASSWORD": PASSWORD, "ITSMDESK_USER": ""})
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "The shared database refused this for your account" in done.stderr
    assert "ProgrammingError" not in done.stderr and "InsufficientPrivilege" not in done.stderr


def test_on_a_secured_database_connecting_is_signing_in(shared, tmp_path):
    """The person is the connection's own login role: the accounts service names them (no
    password hash is kept there), and the CLI acts for them without --user."""
    from itsmdesk.services import accounts

    database, agent = _as(shared, "agent")
    try:
        seen = accounts.session_actor()
        assert seen is not None and seen.person_id == agent.person_id
        assert "agent" in seen.roles and "administrator" not in seen.roles
    finally:
        database.close()
    # an agent may not add a login: refused as the agent (the CLI knew who it was), in a sentence
    done = cli("--db", f"postgresql://{shared.login('agent')}@{HOST}:{PORT}/{shared.dbname}",
                "people", "add", f"mal_{shared.tag}", "--name", "Mal", "--role", "administrator",
                env={"ITSMDESK_PASSWORD": PASSWORD, "ITSMDESK_NEW_PASSWORD": "mal's secret 1",
                     "ITSMDESK_USER": ""})
    assert done.returncode == 2, done.stderr
    assert "sign in" not in done.stderr.lower(), done.stderr  # not "nobody signed in"
    assert "needs the role administrator" in done.stderr, done.stderr


def test_mail_is_queued_by_whoever_writes_and_delivered_by_staff(shared):
    """Outgoing mail (services/mail, docs/mail.md) through the grants: an agent's resolve
    queues the caller's mail (INSERT ... RETURNING under the outbox policies); a requester
    cannot read or deliver it; the agent's desk delivers it and the ticket's history says so."""
    import sys as _sys

    _sys.path.insert(0, str(Path(__file__).parent))
    from mail_out_server import SmtpServer

    from itsmdesk.models.incident import Incident
    from itsmdesk.models.mail_outbox import MailOutbox
    from itsmdesk.models.people import Person
    from itsmdesk.services import records, shared_setup
    from itsmdesk.services.context import SYSTEM
    from itsmdesk.services.mail import outgoing
    from itsmdesk.services.servicedesk import incidents

    with SmtpServer() as server:
        database, _info = shared_setup.connect(f"{SUPER}/{shared.dbname}")
        try:
            with records.atomic():
                for key, value in ((outgoing.HOST, "127.0.0.1"), (outgoing.PORT, str(server.port)),
                                   (outgoing.SECURITY, "none")):
                    records.set_setting(key, value, SYSTEM)
                records.update(Person, shared.people["requester"], None,
                               {"email": f"rita-{shared.tag}@example.org"}, SYSTEM)
                ticket = records.create(Incident, {"ref": records.next_ref("INC"),
                                                   "title": "Mail me",
                                                   "caller": shared.people["requester"]}, SYSTEM)
        finally:
            database.close()
        database, alf = _as(shared, "agent")
        try:
            incidents.transition(ticket.id, None, "resolved", alf,
                                 resolution_code="solved_workaround", solution="Done.")
            assert MailOutbox.select().count() == 1
        finally:
            database.close()
        database, _rita = _as(shared, "requester")
        try:
            assert MailOutbox.select().count() == 0  # not hers to read (an agent queued it)
            assert outgoing.send_queued().sent == []
        finally:
            database.close()
        database, alf = _as(shared, "agent")
        try:
            assert outgoing.send_queued().sent == [f"rita-{shared.tag}@example.org"]
            assert any(h.field == "!mail" for h in records.history("incident", ticket.id))
            from itsmdesk.models.mail import MailMessage

            [sent] = MailMessage.select().where(MailMessage.direction == "out")
            assert sent.ticket_id == ticket.id  # (in the ledger: a reply threads by it)
        finally:
            database.close()
        assert [m.rcpt_tos for m in server.messages] == [[f"rita-{shared.tag}@example.org"]]
