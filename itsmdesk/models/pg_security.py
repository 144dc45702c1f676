"""PostgreSQL enforces who may do what on a shared database (issue 15).

The services check every rule first, to give a clear message (``services/permissions.py``);
this module makes PostgreSQL refuse the same things, so that a person who opens ``psql`` with
their own credentials can do no more than the app lets them.  Installed by
``itsmdesk admin setup-shared`` (``services/shared_setup.py``), as a superuser, idempotently:
running it again after an upgrade puts every grant and policy back as this module says.

The model
---------

Roles (``P`` is the prefix, ``itsmdesk`` unless setup is told otherwise; roles belong to the
whole PostgreSQL cluster, so two itsmdesk databases on one server need two prefixes)::

    P_owner        NOLOGIN.  Owns the schema ``public``, every table, sequence and function.
                   Nobody logs in as it; setup-shared (a superuser) assumes it to migrate.
    P_rolemaker    NOLOGIN CREATEROLE.  Owns only the login functions below.
    P_user         NOLOGIN.  Every person's login role is a member (granted by the login
                   functions only: the mark of a login they manage).  CONNECT, schema USAGE,
                   the reads everybody has.
    P_<role>       NOLOGIN, one per ``models.people.ROLES``: requester, agent, team_lead,
                   problem_manager, change_manager, cab_member, release_manager, cmdb_owner,
                   administrator.  A person's login is a member of the groups of their roles.
    <login>        LOGIN, one per person (``person.login``), NOSUPERUSER NOCREATEDB
                   NOCREATEROLE NOBYPASSRLS NOREPLICATION, created by ``itsmdesk_login_create``.

No app login is a superuser, owns anything, holds BYPASSRLS or CREATEROLE, or is a member of
``P_owner``/``P_rolemaker``: row-level security applies to every query they run.

Every table has row-level security ENABLED and FORCED (so even the owner's own sessions, i.e.
the SECURITY DEFINER functions, go through policies), and a policy per group:

* reads: configuration, people, teams, CIs, categories, announcements and articles: every
  login.  Problems, changes, CAB, releases, baselines: every role but requester.  Incidents:
  staff see all; a requester sees those they are the caller of or raised.  Work-log notes:
  agents, team leads, problem and change managers see private ones; everybody else public ones
  only, a requester those of their own tickets.  Saved queues: one's own and shared ones;
  notifications: a requester their own (staff all: peewee's ``INSERT ... RETURNING`` of a
  notification for someone else must see the row).  The journal: staff see it all except
  others' work-log rows (which hold the note's text) unless they read private notes; a
  requester the rows of their own tickets other than notes and attachments; everyone the rows
  they wrote.
* writes (as :data:`WRITERS` says, matching the services' rules): administrator: people,
  their roles, organisations, sites, teams, settings; team lead and administrator: catalogue
  (categories, SLA, calendars), shared saved queues; cmdb_owner: CI classes, CIs, relations,
  baselines; problem_manager, team lead, agent: problems and known errors; change_manager:
  templates, windows, CAB meetings, agendas, actions, membership; release_manager: releases;
  a CAB member: only their own vote rows (the change manager may record a member's vote, as
  the services allow); incidents: agents, team leads, problem and change managers; everybody
  may raise a ticket (a requester only for themselves) and bump a visible ticket's version
  (adding a note); everyone may raise and edit a change (a requester only their own).
* a change's status moves only as the lifecycle allows (trigger ``itsmdesk_change_guard``):
  a requester/anyone: draft -> submitted, rejected -> draft; implementers (agent, team lead,
  release manager): into implementing / implemented / failed / backed_out; every other step
  the change manager; and ``awaiting_cab -> approved`` only when the CAB's votes reach the
  quorum and approve, counted by ``itsmdesk_cab_quorum_approves`` (SECURITY DEFINER: it sees
  every vote and membership, which the caller may not) -- the board's decision cannot be
  overridden by a flag.  A new change starts as draft or submitted.
* reference counters only count up (trigger): a reset counter would hand out references twice.

The journal is append-only: every login may INSERT and SELECT (as above); nobody is granted
UPDATE, DELETE or TRUNCATE, and triggers refuse all three even to the owner.  A ``BEFORE
INSERT`` trigger (``itsmdesk_journal_who``) sets ``who_id``/``who_name`` from the person whose
``login`` is ``session_user``: the client cannot forge who wrote a row (``SET ROLE`` does not
change ``session_user``).  The journal's ``chain`` column (models/journal_guard.py) stays NULL
here: the grants do the work, and chaining would serialise every save on every workstation.
(So a later migration cannot rewrite journal rows on a secured database either: the owner has
no UPDATE policy on it.)

Workflow steps that need more than the caller's grants are SECURITY DEFINER functions with
``SET search_path = pg_catalog, public, pg_temp`` (``pg_temp`` last: a temporary table cannot
shadow a table they read), EXECUTE revoked from PUBLIC and granted only to the group that may:

* ``itsmdesk_me()`` (every login): the signed-in person's id, used by the policies;
* ``itsmdesk_cab_quorum_approves(change)`` (change managers): the quorum rule, asked by the
  change guard when a change manager approves;
* ``itsmdesk_login_create(login, verifier, roles)``, ``itsmdesk_login_roles(login, roles)``,
  ``itsmdesk_login_enable(login, on)`` (administrator) and ``itsmdesk_login_password(login,
  verifier)`` (administrator, or the person for their own login), owned by ``P_rolemaker``.
  On PostgreSQL 15 a CREATEROLE role may grant itself or anyone any non-superuser role,
  ``P_owner`` included; these functions therefore grant only the fixed list of ``P_<role>``
  groups and ``P_user``, touch only roles that are members of ``P_user`` (their own
  creations), refuse an existing role name, and accept only a SCRAM-SHA-256 verifier: the
  client hashes the password (:func:`scram_verifier`), so the plain password is never sent
  to the server nor written to its log.

The app holds neither CREATEROLE nor the owner.  When a superuser sets up, the database
itself is also ``P_owner``'s, so no login owns it (a database set up the old way, every
workstation logging in as its owner, is taken over: that role may not even connect after).
There are no views (were there any, they
would be ``security_invoker``).  The database's CONNECT and TEMPORARY privileges are taken
from PUBLIC and CONNECT given to ``P_user``; CREATE on schema ``public`` is PUBLIC's no more.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Iterable

import peewee as pw

from itsmdesk.models.people import ROLES

DEFAULT_PREFIX = "itsmdesk"
PREFIX_RE = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
LOGIN_RE = r"^[a-z][a-z0-9._-]{0,62}$"
SETTING_KEY = "pg_role_prefix"  # schema_info row naming the prefix of a secured database
PATH = "SET search_path = pg_catalog, public, pg_temp"

# Role sets (models.people.ROLES names).
REQ, AGENT, LEAD, PM, CM, CAB, RM, CMDB, ADMIN = ROLES
STAFF = tuple(r for r in ROLES if r != REQ)  # see every ticket, change, problem
NOTES = (AGENT, LEAD, PM, CM)  # read and write private work-log notes
WORKERS = (AGENT, LEAD, PM, CM)  # update any ticket
IMPLEMENTERS = (AGENT, LEAD, RM)  # (and the change manager) implement a change

# table -> (who reads every row: "user" | "staff", roles that write every row)
WRITERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "schema_info": ("user", ()),
    "setting": ("user", (ADMIN,)),
    "organisation": ("user", (ADMIN,)),
    "site": ("user", (ADMIN,)),
    "person": ("user", (ADMIN,)),
    "person_role": ("user", (ADMIN,)),
    "team": ("user", (ADMIN,)),
    "team_member": ("user", (ADMIN,)),
    "ci_class": ("user", (CMDB,)),
    "ci": ("user", (CMDB,)),
    "relation": ("user", (CMDB,)),
    "baseline": ("staff", (CMDB,)),
    "baseline_item": ("staff", (CMDB,)),
    "category": ("user", (LEAD, ADMIN)),
    "business_calendar": ("user", (LEAD, ADMIN)),
    "holiday": ("user", (LEAD, ADMIN)),
    "sla_definition": ("user", (LEAD, ADMIN)),
    "announcement": ("user", (AGENT, LEAD, CM, ADMIN)),
    "announcement_service": ("user", (AGENT, LEAD, CM, ADMIN)),
    "article": ("user", (AGENT, LEAD, PM)),
    "article_link": ("user", (AGENT, LEAD, PM)),
    "problem": ("staff", (PM, LEAD, AGENT)),
    "problem_ci": ("staff", (PM, LEAD, AGENT)),
    "known_error": ("staff", (PM, LEAD, AGENT)),
    "known_error_ci": ("staff", (PM, LEAD, AGENT)),
    "change_template": ("user", (CM,)),
    "schedule_window": ("staff", (CM,)),
    "cab_member": ("staff", (CM,)),
    "cab_meeting": ("staff", (CM,)),
    "cab_attendee": ("staff", (CM,)),
    "cab_agenda_item": ("staff", (CM,)),
    "cab_action": ("staff", (CM,)),
    "release": ("staff", (RM,)),
    "release_change": ("staff", (RM,)),
    "release_step": ("staff", (RM,)),
    "step_dependency": ("staff", (RM,)),
    "release_item": ("staff", (RM,)),
    "change_incident": ("staff", WORKERS),
    "service_subscription": ("user", (CMDB,)),  # journalled on the service (a CI)
    "interaction": ("staff", WORKERS),  # service desk contacts (schema 13)
    "mail_message": ("staff", WORKERS),
}
# Tables whose policies are written out below (not from WRITERS).
SPECIAL = ("journal", "ref_counter", "incident", "work_log", "attachment", "change", "change_ci",
           "approval", "saved_queue", "notification", "mail_outbox")
BUMP = "version, updated_at, updated_by"  # what a child row's write changes on its parent


class Names:
    """The role names of one prefix."""

    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        if not PREFIX_RE.match(prefix):
            raise ValueError(f"bad role prefix {prefix!r}")
        self.prefix = prefix
        self.owner = f"{prefix}_owner"
        self.rolemaker = f"{prefix}_rolemaker"
        self.user = f"{prefix}_user"

    def group(self, role: str) -> str:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        return f"{self.prefix}_{role}"

    def groups(self, roles: Iterable[str] = ROLES) -> list[str]:
        return [self.group(r) for r in roles]

    def to(self, roles: Iterable[str]) -> str:
        """A policy's or grant's role list."""
        return ", ".join(_q(g) for g in self.groups(roles))

    @property
    def fixed(self) -> list[str]:
        return [self.owner, self.rolemaker, self.user, *self.groups()]


def _q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- the password: hashed here, never sent --------------------------------------------------------
def scram_verifier(password: str, iterations: int = 4096, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802/7677, as libpq's
    PQencryptPasswordConn makes it): ``CREATE ROLE ... PASSWORD '<verifier>'`` stores it as is."""
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


# -- roles ----------------------------------------------------------------------------------------
def _role_exists(database: pw.Database, name: str) -> bool:
    return database.execute_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() \
        is not None


def create_roles(database: pw.Database, names: Names) -> None:
    """The NOLOGIN roles (idempotent; an existing one is put back to NOLOGIN and the rest)."""
    attrs = "NOLOGIN NOSUPERUSER NOCREATEDB NOREPLICATION NOBYPASSRLS"
    for name in names.fixed:
        create = "CREATEROLE" if name == names.rolemaker else "NOCREATEROLE"
        verb = "ALTER" if _role_exists(database, name) else "CREATE"
        database.execute_sql(f"{verb} ROLE {_q(name)} {attrs} {create}"
                             + (" PASSWORD NULL" if verb == "ALTER" else ""))
    pg16 = database.server_version >= 160000
    for group in [names.user, *names.groups()]:
        # PG 16: a CREATEROLE role needs ADMIN OPTION to grant a role (PG 15: it may grant any)
        if pg16:
            database.execute_sql(f"GRANT {_q(group)} TO {_q(names.rolemaker)} "
                                 "WITH ADMIN OPTION, INHERIT FALSE, SET FALSE")


# -- ownership ------------------------------------------------------------------------------------
def take_ownership(database: pw.Database, names: Names) -> None:
    """The schema and everything in it (tables, sequences, views, functions) owned by the
    owner role, except the login functions (the role maker's)."""
    owner = _q(names.owner)
    database.execute_sql(f"ALTER SCHEMA public OWNER TO {owner}")
    rows = database.execute_sql(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
        "AND d.objid = c.oid AND d.deptype = 'e') AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = %s)", (names.owner,)).fetchall()
    for relname, kind in rows:
        what = {"v": "VIEW", "m": "MATERIALIZED VIEW", "f": "FOREIGN TABLE"}.get(kind, "TABLE")
        database.execute_sql(f"ALTER {what} {_q(relname)} OWNER TO {owner}")
    rows = database.execute_sql(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'S' "
        "AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = %s)", (names.owner,)).fetchall()
    for (relname,) in rows:  # (an identity/serial sequence follows its table; others here)
        try:
            with database.atomic():
                database.execute_sql(f"ALTER SEQUENCE {_q(relname)} OWNER TO {owner}")
        except pw.DatabaseError:
            pass
    for signature, _owner in _functions(database):
        if not signature.startswith("itsmdesk_login_"):
            database.execute_sql(f"ALTER FUNCTION {signature} OWNER TO {owner}")


def _functions(database: pw.Database) -> list[tuple[str, str]]:
    return database.execute_sql(
        "SELECT p.oid::regprocedure::text, r.rolname FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_roles r ON r.oid = p.proowner "
        "WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_depend d "
        "WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')"
    ).fetchall()


def _tables(database: pw.Database) -> list[str]:
    return [r[0] for r in database.execute_sql(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT EXISTS (SELECT 1 "
        "FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid "
        "AND d.deptype = 'e') ORDER BY 1").fetchall()]


# -- functions ------------------------------------------------------------------------------------
def _function_sql(names: Names) -> list[str]:
    N = names  # noqa: N806
    mgr = _lit(N.group(CM))
    implementers = " OR ".join(f"pg_has_role(current_user, {_lit(N.group(r))}, 'MEMBER')"
                               for r in IMPLEMENTERS)
    return [
        f"""CREATE OR REPLACE FUNCTION itsmdesk_me() RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER {PATH} AS $fn$
            SELECT id FROM person WHERE login = session_user::text
        $fn$""",
        f"""CREATE OR REPLACE FUNCTION itsmdesk_journal_who() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER {PATH} AS $fn$
        DECLARE pid uuid; pname text;
        BEGIN
            SELECT id, name INTO pid, pname FROM person WHERE login = session_user::text;
            IF FOUND THEN
                NEW.who_id := pid;
                NEW.who_name := pname;
            ELSIF pg_has_role(session_user, {_lit(N.user)}, 'MEMBER')
                  AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN
                RAISE EXCEPTION 'login % is not a person of this database', session_user
                    USING ERRCODE = '42501';
            ELSE  -- a superuser's maintenance (setup-shared): says which role wrote it
                NEW.who_id := NULL;
                NEW.who_name := coalesce(NEW.who_name || ' ', '') || '(' || session_user || ')';
            END IF;
            RETURN NEW;
        END $fn$""",
        f"""CREATE OR REPLACE FUNCTION itsmdesk_journal_append_only() RETURNS trigger
        LANGUAGE plpgsql {PATH} AS $fn$
        BEGIN
            RAISE EXCEPTION 'the journal is append-only: % refused', TG_OP
                USING ERRCODE = '42501';
        END $fn$""",
        f"""CREATE OR REPLACE FUNCTION itsmdesk_ref_counter_forward() RETURNS trigger
        LANGUAGE plpgsql {PATH} AS $fn$
        BEGIN
            IF NEW.prefix IS DISTINCT FROM OLD.prefix OR NEW.value < OLD.value THEN
                RAISE EXCEPTION 'reference counters only count up' USING ERRCODE = '42501';
            END IF;
            RETURN NEW;
        END $fn$""",
        f"""CREATE OR REPLACE FUNCTION itsmdesk_cab_quorum_approves(p_change uuid) RETURNS boolean
        LANGUAGE plpgsql STABLE SECURITY DEFINER {PATH} AS $fn$
        -- The quorum rule of services/change/cab.py: at one of the meetings with the change on
        -- its agenda (votes cast there or outside a meeting), or with no meeting (every vote),
        -- enough eligible members voted and more approve than reject.
        DECLARE
            c_type text; c_category text; m record; emerg boolean; quorum int;
            n_app int; n_rej int; n_abs int; anyone boolean;
        BEGIN
            SELECT type, category INTO c_type, c_category FROM change WHERE id = p_change;
            IF NOT FOUND THEN RETURN false; END IF;
            FOR m IN
                SELECT mt.id, mt.quorum, mt.emergency FROM cab_agenda_item a
                  JOIN cab_meeting mt ON mt.id = a.meeting_id WHERE a.change_id = p_change
                UNION ALL SELECT NULL::uuid, NULL::int, false
            LOOP
                emerg := c_type = 'emergency' OR coalesce(m.emergency, false);
                quorum := coalesce(m.quorum, CASE WHEN emerg THEN 2 ELSE 3 END);
                anyone := NOT EXISTS (
                    SELECT 1 FROM cab_member
                     WHERE (category IS NULL OR (c_category IS NOT NULL AND category = c_category))
                       AND (emergency OR NOT emerg));
                SELECT count(*) FILTER (WHERE v.vote = 'approve'),
                       count(*) FILTER (WHERE v.vote = 'reject'),
                       count(*) FILTER (WHERE v.vote = 'abstain')
                  INTO n_app, n_rej, n_abs
                  FROM approval v
                 WHERE v.change_id = p_change
                   AND (v.meeting_id IS NULL OR m.id IS NULL OR v.meeting_id = m.id)
                   AND (anyone OR v.person_id IN (
                        SELECT person_id FROM cab_member
                         WHERE (category IS NULL OR (c_category IS NOT NULL
                                                     AND category = c_category))
                           AND (emergency OR NOT emerg)));
                IF n_app + n_rej + n_abs >= quorum AND n_app > n_rej THEN
                    RETURN true;
                END IF;
            END LOOP;
            RETURN false;
        END $fn$""",
        f"""CREATE OR REPLACE FUNCTION itsmdesk_change_guard() RETURNS trigger
        LANGUAGE plpgsql {PATH} AS $fn$
        DECLARE
            mgr boolean := pg_has_role(current_user, {mgr}, 'MEMBER');
            impl boolean;
        BEGIN
            IF current_user = {_lit(N.owner)} THEN RETURN NEW; END IF;
            IF TG_OP = 'INSERT' THEN
                IF NEW.status NOT IN ('draft', 'submitted')
                   AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                    RAISE EXCEPTION 'a new change starts as draft or submitted, not %',
                        NEW.status USING ERRCODE = '42501';
                END IF;
                RETURN NEW;
            END IF;
            IF NEW.status IS NOT DISTINCT FROM OLD.status THEN RETURN NEW; END IF;
            impl := mgr OR {implementers};
            IF OLD.status = 'awaiting_cab' AND NEW.status = 'approved' THEN
                IF NOT mgr THEN
                    RAISE EXCEPTION 'change %: % -> % needs the change manager', OLD.ref,
                        OLD.status, NEW.status USING ERRCODE = '42501';
                END IF;
                IF NOT itsmdesk_cab_quorum_approves(NEW.id) THEN
                    RAISE EXCEPTION 'change % cannot be approved: the CAB''s votes do not '
                        'reach the quorum and approve', OLD.ref USING ERRCODE = '42501';
                END IF;
            ELSIF mgr THEN
                NULL;
            ELSIF (OLD.status = 'draft' AND NEW.status = 'submitted')
               OR (OLD.status = 'rejected' AND NEW.status = 'draft') THEN
                NULL;
            ELSIF impl AND OLD.status IN ('approved', 'scheduled', 'implementing')
                  AND NEW.status IN ('implementing', 'implemented', 'failed', 'backed_out') THEN
                NULL;
            ELSE
                RAISE EXCEPTION 'change %: % -> % needs the change manager', OLD.ref,
                    OLD.status, NEW.status USING ERRCODE = '42501';
            END IF;
            RETURN NEW;
        END $fn$""",
    ]


def _login_function_sql(names: Names) -> list[str]:
    """The login functions (owned by the role maker).  Groups granted come from this fixed
    list only; only roles that are members of P_user (made by these functions) are touched."""
    N = names  # noqa: N806
    groups = "ARRAY[" + ", ".join(_lit(g) for g in N.groups()) + "]::text[]"
    admin = _lit(N.group(ADMIN))
    user = _lit(N.user)
    prefix = _lit(N.prefix + "_")
    check_managed = f"""
            SELECT r.rolsuper OR r.rolcreaterole OR r.rolbypassrls OR r.rolreplication
                   OR NOT pg_has_role(r.oid, (SELECT oid FROM pg_roles WHERE rolname = {user}),
                                      'MEMBER')
                   OR r.rolname = ANY({groups}) OR left(r.rolname, length({prefix})) = {prefix}
              INTO bad FROM pg_roles r WHERE r.rolname = p_login;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'there is no login %', p_login USING ERRCODE = '42704';
            END IF;
            IF bad THEN
                RAISE EXCEPTION 'login % is not a person''s login of this database', p_login
                    USING ERRCODE = '42501';
            END IF;"""
    set_roles = f"""
            FOREACH g IN ARRAY p_roles LOOP
                IF {_lit(N.prefix)} || '_' || g <> ALL({groups}) THEN
                    RAISE EXCEPTION 'unknown role %', g USING ERRCODE = '22023';
                END IF;
            END LOOP;
            FOREACH g IN ARRAY {groups} LOOP
                IF substr(g, length({prefix}) + 1) = ANY(p_roles) THEN
                    EXECUTE format('GRANT %I TO %I', g, p_login);
                ELSIF pg_has_role(p_login, g, 'MEMBER') THEN
                    EXECUTE format('REVOKE %I FROM %I', g, p_login);
                END IF;
            END LOOP;"""
    is_admin = f"pg_has_role(session_user, {admin}, 'MEMBER')"
    refuse_admin = f"""
            IF NOT {is_admin} THEN
                RAISE EXCEPTION 'only an administrator may change logins' USING ERRCODE = '42501';
            END IF;"""
    check_verifier = """
            IF p_verifier !~ '^SCRAM-SHA-256\\$[0-9]+:[A-Za-z0-9+/=]+\\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$' THEN
                RAISE EXCEPTION 'a password is given as its SCRAM-SHA-256 verifier'
                    USING ERRCODE = '22023';
            END IF;"""
    return [
        f"""CREATE OR REPLACE FUNCTION itsmdesk_login_create(p_login text, p_verifier text,
                                                          p_roles text[]) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER {PATH} AS $fn$
        DECLARE g text;
        BEGIN
            {refuse_admin}
            IF p_login !~ {_lit(LOGIN_RE)} OR left(p_login, 3) = 'pg_'
               OR left(p_login, length({prefix})) = {prefix} THEN
                RAISE EXCEPTION 'bad login name %', p_login USING ERRCODE = '22023';
            END IF;
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_login) THEN
                RAISE EXCEPTION 'a role named % exists already', p_login USING ERRCODE = '42710';
            END IF;
            IF NOT EXISTS (SELECT 1 FROM person WHERE login = p_login) THEN
                RAISE EXCEPTION 'no person has the login %', p_login USING ERRCODE = '42704';
            END IF;
            {check_verifier}
            EXECUTE format('CREATE ROLE %I LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE '
                           'NOREPLICATION NOBYPASSRLS PASSWORD %L', p_login, p_verifier);
            EXECUTE format('GRANT %I TO %I', {user}, p_login);
            {set_roles}
        END $fn$""",
        f"""CREATE OR REPLACE FUNCTION itsmdesk_login_roles(p_login text, p_roles text[])
            RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER {PATH} AS $fn$
        DECLARE g text; bad boolean;
        BEGIN
            {refuse_admin}
            {check_managed}
            {set_roles}
        END $fn$""",
        f"""CREATE OR REPLACE FUNCTION itsmdesk_login_password(p_login text, p_verifier text)
            RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER {PATH} AS $fn$
        DECLARE bad boolean;
        BEGIN
            IF NOT ({is_admin} OR session_user::text = p_login) THEN
                RAISE EXCEPTION 'only an administrator may set another person''s password'
                    USING ERRCODE = '42501';
            END IF;
            {check_managed}
            {check_verifier}
            EXECUTE format('ALTER ROLE %I PASSWORD %L', p_login, p_verifier);
        END $fn$""",
        f"""CREATE OR REPLACE FUNCTION itsmdesk_login_enable(p_login text, p_on boolean)
            RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER {PATH} AS $fn$
        DECLARE bad boolean;
        BEGIN
            {refuse_admin}
            {check_managed}
            EXECUTE format('ALTER ROLE %I ' || CASE WHEN p_on THEN 'LOGIN' ELSE 'NOLOGIN' END,
                           p_login);
        END $fn$""",
    ]


LOGIN_FUNCTIONS = {
    "itsmdesk_login_create(text,text,text[])": ADMIN,
    "itsmdesk_login_roles(text,text[])": ADMIN,
    "itsmdesk_login_enable(text,boolean)": ADMIN,
    "itsmdesk_login_password(text,text)": "user",
}


# -- policies -------------------------------------------------------------------------------------
def _policies(names: Names, tables: set[str]) -> list[str]:
    """GRANTs and policies per table (after every grant and policy was cleared)."""
    N = names  # noqa: N806
    user = _q(N.user)
    staff = N.to(STAFF)
    everyone = N.to(ROLES)
    me = "(SELECT itsmdesk_me())"  # (a sub-select: evaluated once per query, not per row)
    out: list[str] = []

    def policy(table: str, name: str, cmd: str, to: str, using: str | None = None,
               check: str | None = None) -> None:
        sql = f"CREATE POLICY {_q(table + '_' + name)} ON {_q(table)} FOR {cmd} TO {to}"
        if using is not None:
            sql += f" USING ({using})"
        if check is not None:
            sql += f" WITH CHECK ({check})"
        out.append(sql)

    def grant(table: str, what: str, to: str) -> None:
        out.append(f"GRANT {what} ON {_q(table)} TO {to}")

    for table, (reads, writers) in WRITERS.items():
        if table not in tables:
            continue
        readers = user if reads == "user" else staff
        grant(table, "SELECT", readers)
        policy(table, "read", "SELECT", readers, "true")
        if writers:
            to = N.to(writers)
            grant(table, "SELECT, INSERT, UPDATE, DELETE", to)
            policy(table, "write", "ALL", to, "true", "true")

    # sync's keys (services/sync/replica.py): the hub's identity and a site's signing key are
    # written when an administrator makes the first replica (added only, never changed)
    grant("schema_info", "INSERT", N.to((ADMIN,)))
    policy("schema_info", "sync_keys", "INSERT", N.to((ADMIN,)),
           check="key LIKE 'sync.%'")

    # the reference counters: whoever creates a record draws a number
    grant("ref_counter", "SELECT, INSERT, UPDATE", everyone)
    policy("ref_counter", "read", "SELECT", user, "true")
    policy("ref_counter", "draw", "INSERT", everyone, check="true")
    policy("ref_counter", "bump", "UPDATE", everyone, "true", "true")

    # the journal: append-only; who is set by the trigger
    grant("journal", "SELECT, INSERT", user)
    policy("journal", "append", "INSERT", user, check="true")
    notes_rows = "(field LIKE 'work\\_log%' OR field LIKE 'attachment%')"
    policy("journal", "read_mine", "SELECT", user, f"who_id = {me}")
    policy("journal", "read_notes", "SELECT", N.to(NOTES), "true")
    policy("journal", "read_staff", "SELECT", staff,
           f"NOT (field LIKE 'work\\_log%') OR who_id = {me}")
    policy("journal", "read_own", "SELECT", N.to((REQ,)),
           f"who_id = {me} OR (record_kind = 'incident' AND NOT {notes_rows} AND EXISTS "
           f"(SELECT 1 FROM incident i WHERE i.id = record_id))")

    # incidents: staff see all; a requester their own
    own_ticket = f"(caller_id = {me} OR created_by = {me})"
    grant("incident", "SELECT, INSERT", everyone)
    grant("incident", "UPDATE", N.to(WORKERS))
    grant("incident", f"UPDATE ({BUMP})", everyone)
    grant("incident", "DELETE", N.to((LEAD,)))
    policy("incident", "read_staff", "SELECT", staff, "true")
    policy("incident", "read_own", "SELECT", N.to((REQ,)), own_ticket)
    policy("incident", "raise_staff", "INSERT", staff, check="true")
    policy("incident", "raise_own", "INSERT", N.to((REQ,)), check=own_ticket)
    policy("incident", "update_staff", "UPDATE", staff, "true", "true")
    policy("incident", "update_own", "UPDATE", N.to((REQ,)), own_ticket, own_ticket)
    policy("incident", "delete", "DELETE", N.to((LEAD,)), "true")
    visible_ticket = "EXISTS (SELECT 1 FROM incident i WHERE i.id = incident_id)"

    # work-log notes: private ones for NOTES only
    grant("work_log", "SELECT, INSERT", everyone)
    grant("work_log", "UPDATE, DELETE", N.to((AGENT, LEAD)))
    policy("work_log", "read_private", "SELECT", N.to(NOTES), "true")
    policy("work_log", "read_public", "SELECT", everyone, f"public AND {visible_ticket}")
    policy("work_log", "write_private", "INSERT", N.to(NOTES), check="true")
    policy("work_log", "write_public", "INSERT", everyone,
           check=f"public AND author_id = {me} AND {visible_ticket}")
    policy("work_log", "edit", "UPDATE", N.to((AGENT, LEAD)), "true", "true")
    policy("work_log", "remove", "DELETE", N.to((AGENT, LEAD)), "true")

    grant("attachment", "SELECT, INSERT", everyone)
    grant("attachment", "UPDATE, DELETE", N.to((AGENT, LEAD)))
    policy("attachment", "read", "SELECT", everyone, visible_ticket)
    policy("attachment", "add", "INSERT", everyone, check=visible_ticket)
    policy("attachment", "edit", "UPDATE", N.to((AGENT, LEAD)), "true", "true")
    policy("attachment", "remove", "DELETE", N.to((AGENT, LEAD)), "true")

    # changes: everyone raises and edits (a requester their own); the guard trigger keeps the
    # lifecycle; only the change manager deletes
    own_change = f"(requester_id = {me} OR created_by = {me})"
    grant("change", "SELECT, INSERT, UPDATE", everyone)
    grant("change", "DELETE", N.to((CM,)))
    policy("change", "read_staff", "SELECT", staff, "true")
    policy("change", "read_own", "SELECT", N.to((REQ,)), own_change)
    policy("change", "raise_staff", "INSERT", staff, check="true")
    policy("change", "raise_own", "INSERT", N.to((REQ,)), check=own_change)
    policy("change", "edit_staff", "UPDATE", staff, "true", "true")
    policy("change", "edit_own", "UPDATE", N.to((REQ,)), own_change, own_change)
    policy("change", "delete", "DELETE", N.to((CM,)), "true")
    visible_change = "EXISTS (SELECT 1 FROM change c WHERE c.id = change_id)"
    grant("change_ci", "SELECT, INSERT, UPDATE, DELETE", everyone)
    policy("change_ci", "all", "ALL", everyone, visible_change, visible_change)

    # votes: a CAB member writes their own; the change manager records the board's
    grant("approval", "SELECT", everyone)
    grant("approval", "INSERT, UPDATE, DELETE", N.to((CAB, CM)))
    policy("approval", "read", "SELECT", everyone, visible_change)
    policy("approval", "own_vote", "ALL", N.to((CAB,)), f"person_id = {me}", f"person_id = {me}")
    policy("approval", "record", "ALL", N.to((CM,)), "true", "true")

    # saved queues: one's own; shared ones kept by team leads and administrators
    grant("saved_queue", "SELECT, INSERT, UPDATE, DELETE", user)
    policy("saved_queue", "read", "SELECT", user, f"owner_id = {me} OR shared OR owner_id IS NULL")
    policy("saved_queue", "own", "ALL", user, f"owner_id = {me}", f"owner_id = {me}")
    policy("saved_queue", "shared", "ALL", N.to((LEAD, ADMIN)), "shared OR owner_id IS NULL",
           "shared OR owner_id IS NULL")

    grant("notification", "SELECT, INSERT, UPDATE, DELETE", user)
    policy("notification", "read", "SELECT", user, f"person_id = {me}")
    # (staff read all: an INSERT ... RETURNING of a notification for someone else must see it)
    policy("notification", "read_staff", "SELECT", staff, "true")
    policy("notification", "send", "INSERT", user, check="true")
    policy("notification", "mark", "UPDATE", user, f"person_id = {me}", f"person_id = {me}")
    policy("notification", "remove", "DELETE", user, f"person_id = {me}")

    # the mail outbox: whoever's write tells someone queues the mail (a requester's new ticket
    # too); staff read and deliver it (the sender marks rows sent or failed)
    grant("mail_outbox", "SELECT, INSERT, UPDATE", user)
    policy("mail_outbox", "read_own", "SELECT", user, f"created_by = {me}")
    policy("mail_outbox", "read_staff", "SELECT", staff, "true")
    policy("mail_outbox", "queue", "INSERT", user, check="true")
    policy("mail_outbox", "deliver", "UPDATE", staff, "true", "true")

    # the role maker reads people (to check a login is a person's)
    grant("person", "SELECT", _q(N.rolemaker))
    policy("person", "rolemaker", "SELECT", _q(N.rolemaker), "true")
    known = set(WRITERS) | set(SPECIAL)
    return [s for s in out if _table_of(s) in tables and _table_of(s) in known]


def _table_of(sql: str) -> str:
    m = re.search(r' ON "([^"]+)"', sql)
    return m.group(1) if m else ""


# -- install --------------------------------------------------------------------------------------
def install(database: pw.Database, names: Names, dbname: str) -> None:
    """Grants, row-level security, policies, functions and triggers (as a superuser, after the
    schema is migrated and owned by the owner role).  Idempotent."""
    def ex(sql: str, params: tuple | None = None):  # noqa: ANN202 - a cursor
        # (psycopg2 formats even without parameters: a literal % is written %%)
        return database.execute_sql(sql if params else sql.replace("%", "%%"), params)

    owner, user = _q(names.owner), _q(names.user)
    tables = _tables(database)
    everybody = ", ".join(["PUBLIC"] + [_q(n) for n in [names.user, *names.groups(),
                                                          names.rolemaker]])
    # the database (owned by the owner role when a superuser sets up: no login owns it) and
    # the schema
    if database.execute_sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
                            ).fetchone()[0]:
        ex(f"ALTER DATABASE {_q(dbname)} OWNER TO {owner}")
    ex(f"REVOKE ALL ON DATABASE {_q(dbname)} FROM PUBLIC")
    ex(f"GRANT CONNECT ON DATABASE {_q(dbname)} TO {user}")
    ex("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    ex(f"GRANT USAGE ON SCHEMA public TO {user}, {_q(names.rolemaker)}")
    # functions (owned by the owner; the login functions by the role maker)
    for sql in _function_sql(names):
        ex(sql)
    ex(f"GRANT USAGE ON SCHEMA public TO {_q(names.rolemaker)}")
    for sql in _login_function_sql(names):
        ex(sql)
    # every function: owner's, no PUBLIC execute (trigger functions need none)
    for signature, _fn_owner in _functions(database):
        target = names.rolemaker if signature.startswith("itsmdesk_login_") else names.owner
        ex(f"ALTER FUNCTION {signature} OWNER TO {_q(target)}")
        ex(f"REVOKE ALL ON FUNCTION {signature} FROM {everybody}")
    ex(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC")
    ex(f"GRANT EXECUTE ON FUNCTION itsmdesk_me() TO {user}, {_q(names.rolemaker)}")
    # (only the change manager's approval asks it: nobody else learns how a vote stands)
    ex(f"GRANT EXECUTE ON FUNCTION itsmdesk_cab_quorum_approves(uuid) TO "
       f"{_q(names.group(CM))}")
    for signature, role in LOGIN_FUNCTIONS.items():
        to = user if role == "user" else _q(names.group(role))
        ex(f"GRANT EXECUTE ON FUNCTION {signature} TO {to}")
    # tables: a clean slate, then row-level security forced on every one
    for table in tables:
        ex(f"REVOKE ALL ON {_q(table)} FROM {everybody}")
        for (policy,) in ex("SELECT policyname FROM pg_policies WHERE schemaname = 'public' "
                            "AND tablename = %s", (table,)).fetchall():
            ex(f"DROP POLICY {_q(policy)} ON {_q(table)}")
        ex(f"ALTER TABLE {_q(table)} ENABLE ROW LEVEL SECURITY")
        ex(f"ALTER TABLE {_q(table)} FORCE ROW LEVEL SECURITY")
        if table == "journal":  # the owner (SECURITY DEFINER code) appends and reads only
            ex(f'CREATE POLICY "journal_owner_read" ON "journal" FOR SELECT TO {owner} USING (true)')
            ex(f'CREATE POLICY "journal_owner_append" ON "journal" FOR INSERT TO {owner} '
               "WITH CHECK (true)")
        else:
            ex(f"CREATE POLICY {_q(table + '_owner')} ON {_q(table)} FOR ALL TO {owner} "
               "USING (true) WITH CHECK (true)")
    for sql in _policies(names, set(tables)):
        ex(sql)
    ex(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {everybody}")
    ex(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {user}")
    # triggers
    ex('DROP TRIGGER IF EXISTS journal_who ON "journal"')
    ex('CREATE TRIGGER journal_who BEFORE INSERT ON "journal" FOR EACH ROW '
       "EXECUTE FUNCTION itsmdesk_journal_who()")
    ex('DROP TRIGGER IF EXISTS journal_append_only ON "journal"')
    ex('CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON "journal" FOR EACH ROW '
       "EXECUTE FUNCTION itsmdesk_journal_append_only()")
    ex('DROP TRIGGER IF EXISTS journal_no_truncate ON "journal"')
    ex('CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON "journal" FOR EACH STATEMENT '
       "EXECUTE FUNCTION itsmdesk_journal_append_only()")
    if "ref_counter" in tables:  # (a reset counter would hand out references again)
        ex('DROP TRIGGER IF EXISTS ref_counter_forward ON "ref_counter"')
        ex('CREATE TRIGGER ref_counter_forward BEFORE UPDATE ON "ref_counter" FOR EACH ROW '
           "EXECUTE FUNCTION itsmdesk_ref_counter_forward()")
    if "change" in tables:
        ex('DROP TRIGGER IF EXISTS change_guard ON "change"')
        ex('CREATE TRIGGER change_guard BEFORE INSERT OR UPDATE ON "change" FOR EACH ROW '
           "EXECUTE FUNCTION itsmdesk_change_guard()")
    # the prefix, for the app to find the group names
    ex("INSERT INTO schema_info (key, value) VALUES (%s, %s) ON CONFLICT (key) "
       "DO UPDATE SET value = EXCLUDED.value", (SETTING_KEY, names.prefix))


def secured_prefix(database: pw.Database) -> str | None:
    """The role prefix of a database set up by setup-shared, else None."""
    if not isinstance(database, pw.PostgresqlDatabase):
        return None
    try:
        with database.atomic():
            row = database.execute_sql("SELECT value FROM schema_info WHERE key = %s",
                                       (SETTING_KEY,)).fetchone()
    except pw.DatabaseError:
        return None
    return row[0] if row else None


# -- the login functions, called by the app -------------------------------------------------------
def create_login(database: pw.Database, login: str, password: str, roles: Iterable[str]) -> None:
    database.execute_sql("SELECT itsmdesk_login_create(%s, %s, %s)",
                         (login, scram_verifier(password), sorted(set(roles))))


def set_login_roles(database: pw.Database, login: str, roles: Iterable[str]) -> None:
    database.execute_sql("SELECT itsmdesk_login_roles(%s, %s)", (login, sorted(set(roles))))


def set_login_password(database: pw.Database, login: str, password: str) -> None:
    database.execute_sql("SELECT itsmdesk_login_password(%s, %s)",
                         (login, scram_verifier(password)))


def enable_login(database: pw.Database, login: str, on: bool) -> None:
    database.execute_sql("SELECT itsmdesk_login_enable(%s, %s)", (login, bool(on)))
