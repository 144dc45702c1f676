"""Who may do what: the one place that says it, per record kind and state.

Services call :func:`require` before they write (a person without the role gets a
:class:`PermissionDeniedError` saying what was refused and which role would allow it); the GUI
calls :func:`allowed` to grey an action out, and :func:`needed_role` for its tooltip.  Both
look only at the actor (its ``roles``, read when the person signed in) and at the record
handed in, never at the database, so the GUI can ask on its own thread.

On a shared PostgreSQL database the same rules are enforced a second time by PostgreSQL itself
(GRANTs per role, row-level security); the rules here give the clear message first.

The roles (``itsmdesk.models.people.ROLES``)::

    requester        raises tickets and changes, sees only their own tickets and public notes
    agent            works tickets, problems' investigation, knowledge articles
    team_lead        an agent who also reassigns across teams and keeps the team's queues
    problem_manager  problems and known errors
    change_manager   changes: approves, schedules, runs the CAB (decides, overrides a quorum)
    cab_member       votes on changes before the CAB
    release_manager  releases, their plans, waves and the definitive media library
    cmdb_owner       configuration items and their relations
    administrator    people, their roles and passwords, organisation-wide settings

A database without accounts gives every person every role (see ``services.accounts``), and the
``SYSTEM`` actor holds every role (migrations, the demo build, system jobs, the tests).
"""

from __future__ import annotations

from typing import Any

from itsmdesk.errors import N_, PermissionDeniedError, Phrase
from itsmdesk.services.context import Actor

REQUESTER, AGENT, TEAM_LEAD = "requester", "agent", "team_lead"
PROBLEM_MANAGER, CHANGE_MANAGER, CAB_MEMBER = "problem_manager", "change_manager", "cab_member"
RELEASE_MANAGER, CMDB_OWNER, ADMIN = "release_manager", "cmdb_owner", "administrator"
STAFF = (AGENT, TEAM_LEAD, PROBLEM_MANAGER, CHANGE_MANAGER, RELEASE_MANAGER, CMDB_OWNER, ADMIN)
ANYONE = (REQUESTER, *STAFF, CAB_MEMBER)

# action -> (roles that may do it, what it is in a sentence)
RULES: dict[str, tuple[tuple[str, ...], str]] = {
    # people and organisation
    "people.manage": ((ADMIN,), N_("manage people, their roles and passwords")),
    "settings.manage": ((ADMIN,), N_("change organisation settings")),
    "org.edit": ((ADMIN,), N_("edit organisations, sites and teams")),
    # service desk
    "ticket.create": (ANYONE, N_("raise a ticket")),
    "ticket.work": ((AGENT, TEAM_LEAD), N_("work on tickets")),
    "ticket.reassign_team": ((TEAM_LEAD,), N_("move a ticket to another team")),
    "ticket.see_all": (STAFF + (CAB_MEMBER,), N_("see other people's tickets")),
    "ticket.see": (STAFF + (CAB_MEMBER,), N_("see this ticket")),
    "note.private": ((AGENT, TEAM_LEAD, PROBLEM_MANAGER, CHANGE_MANAGER),
                     N_("read and write private notes")),
    "queue.shared": ((TEAM_LEAD, ADMIN), N_("edit a shared saved queue")),
    "queue.private": (ANYONE, N_("edit a private saved queue")),
    "announcement.manage": ((AGENT, TEAM_LEAD, CHANGE_MANAGER, ADMIN),
                            N_("publish service announcements")),
    "catalog.manage": ((TEAM_LEAD, ADMIN), N_("change categories, SLA targets and calendars")),
    # knowledge
    "knowledge.edit": ((AGENT, TEAM_LEAD, PROBLEM_MANAGER), N_("write knowledge articles")),
    # problems
    "problem.manage": ((PROBLEM_MANAGER, TEAM_LEAD, AGENT), N_("work on problems")),
    "problem.close": ((PROBLEM_MANAGER,), N_("close a problem or publish a known error")),
    # changes
    "change.edit": (ANYONE, N_("raise and edit a change")),
    "change.approve": ((CHANGE_MANAGER,), N_("approve or reject a change")),
    "change.schedule": ((CHANGE_MANAGER,), N_("schedule a change")),
    "change.manage": ((CHANGE_MANAGER,), N_("move a change through its lifecycle")),
    "change.implement": ((CHANGE_MANAGER, AGENT, TEAM_LEAD, RELEASE_MANAGER),
                         N_("implement a change")),
    "change.windows": ((CHANGE_MANAGER,), N_("edit change windows and templates")),
    # CAB
    "cab.vote": ((CAB_MEMBER,), N_("vote on a change")),
    "cab.record_votes": ((CHANGE_MANAGER,), N_("record another member's vote")),
    "cab.decide": ((CHANGE_MANAGER,), N_("record a CAB decision")),
    "cab.override_quorum": ((CHANGE_MANAGER,), N_("decide against the CAB's votes")),
    "cab.manage": ((CHANGE_MANAGER,), N_("run CAB meetings (members, agenda, minutes)")),
    # CMDB
    "ci.edit": ((CMDB_OWNER,), N_("edit configuration items and their relations")),
    # releases
    "release.manage": ((RELEASE_MANAGER,), N_("manage releases, their plans and waves")),
}

ROLE_NAMES = {
    REQUESTER: N_("requester"), AGENT: N_("agent"), TEAM_LEAD: N_("team lead"),
    PROBLEM_MANAGER: N_("problem manager"), CHANGE_MANAGER: N_("change manager"),
    CAB_MEMBER: N_("CAB member"), RELEASE_MANAGER: N_("release manager"),
    CMDB_OWNER: N_("CMDB owner"), ADMIN: N_("administrator"),
}


def _field(record: Any, name: str) -> Any:
    if record is None:
        return None
    if isinstance(record, dict):
        return record.get(name)
    data = getattr(record, "__data__", None)
    if data is not None and name in data:
        return data[name]
    return getattr(record, name, None)


def _owner_check(actor: Actor, action: str, record: Any) -> bool | None:
    """Rules that look at the record: None when the record does not decide."""
    if action == "queue.private":
        owner = _field(record, "owner")
        return owner is not None and owner == actor.person_id
    if action == "cab.vote":
        voter = _field(record, "person")
        if voter is not None and voter != actor.person_id:
            return CHANGE_MANAGER in actor.roles  # the chair records the board's votes
    if action == "ticket.see":
        if ticket_filter_for(actor) is None:
            return True
        if actor.person_id is None:  # nobody signed in (a database without accounts: require)
            return None
        return _field(record, "caller") == actor.person_id or \
            _field(record, "created_by") == actor.person_id
    return None


def allowed(actor: Actor, action: str, record: Any = None) -> bool:
    """Whether ``actor`` may do ``action`` (to ``record``, when the rule looks at it)."""
    decided = _owner_check(actor, action, record)
    if decided is not None:
        return decided
    roles, _what = RULES[action]
    return any(r in actor.roles for r in roles)


def needed_role(action: str) -> str:
    """The role to name when ``action`` is refused (the first that allows it)."""
    roles, _what = RULES.get(action, ((), ""))
    return roles[0] if roles else ""


def describe(action: str) -> str:
    """What the action is, as an untranslated N_() sentence part."""
    return RULES.get(action, ((), action))[1]


def holds_every_role(actor: Actor) -> bool:
    """A person without roles on a database without accounts: the open, single-user database,
    where everyone may do everything (asks the database only for an actor with no roles)."""
    if actor.roles:
        return False
    from itsmdesk.services.accounts import has_accounts

    return not has_accounts()


def require(actor: Actor, action: str, record: Any = None) -> None:
    """Raise :class:`PermissionDeniedError` unless ``actor`` may do ``action``."""
    if allowed(actor, action, record) or holds_every_role(actor):
        return
    if action == "queue.private":
        raise PermissionDeniedError(
            N_("Only its owner may change the private saved queue {name}."), action=action,
            name=_field(record, "name") or "")
    if action == "cab.vote" and _field(record, "person") not in (None, actor.person_id):
        raise PermissionDeniedError(
            N_("{who} may not record another member's vote: that needs the role change "
               "manager."), action=action, role=CHANGE_MANAGER, who=actor.name)
    role = needed_role(action)
    raise PermissionDeniedError(
        N_("{who} may not {what}: that needs the role {role_name}."), action=action, role=role,
        who=actor.name, what=Phrase(describe(action)),
        role_name=Phrase(ROLE_NAMES.get(role, role)))


# -- what a person may see --------------------------------------------------------------------------
def ticket_filter_for(actor: Actor) -> Any:
    """None when ``actor`` sees every ticket; else the person id whose tickets alone they see
    (a requester: the tickets they raised or reported)."""
    if any(r in actor.roles for r in RULES["ticket.see_all"][0]):
        return None
    return actor.person_id


# -- changes: the lifecycle's roles from the person's ---------------------------------------------
def lifecycle_roles(actor: Actor) -> tuple[str, ...]:
    """The change lifecycle's roles (``requester``, ``change_manager``, ``implementer``) that the
    actor's roles give.  The lifecycle's ``cab`` role is given only by a CAB decision
    (:func:`itsmdesk.services.change.cab.decide`, change managers)."""
    out = []
    if CHANGE_MANAGER in actor.roles:
        out.append("change_manager")
    if allowed(actor, "change.implement"):
        out.append("implementer")
    if allowed(actor, "change.edit"):
        out.append("requester")
    return tuple(out)


def transition_action(source: str, target: str) -> str:
    """The action a change's step is (to name the role when it is refused)."""
    if target in ("approved", "rejected") and source in ("submitted", "assessed", "awaiting_cab"):
        return "change.approve"
    if target == "scheduled" or (source == "scheduled" and target == "approved"):
        return "change.schedule"
    if target in ("implementing", "implemented", "failed", "backed_out"):
        return "change.implement"
    if target in ("submitted", "draft") and source in ("draft", "rejected"):
        return "change.edit"
    return "change.manage"
