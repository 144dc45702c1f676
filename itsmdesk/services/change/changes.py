"""Change Management: RFCs, affected CIs, CAB meetings and votes, schedule windows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, NotFoundError, ValidationError
from itsmdesk.models.base import utcnow
from itsmdesk.models.change import (
    CHANGE_STATUSES,
    CHANGE_TYPES,
    RISK_LEVELS,  # noqa: F401 - re-exported for the views (no view imports the models)
    VOTES,
    Approval,
    CABAgendaItem,
    CABAttendee,
    CABMeeting,
    Change,
    ChangeCI,
    ChangeTemplate,
    ScheduleWindow,
)
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import require
from itsmdesk.services.validation import one_of, ordered_times, required_text


def _validate(values: dict[str, Any], creating: bool, current: dict | None = None) -> None:
    required_text(values, "title", "Title", 300, creating)
    one_of(values, "type", CHANGE_TYPES, "Change type")
    one_of(values, "status", CHANGE_STATUSES, "Status")
    ordered_times(values, "planned_start", "planned_end", "Planned window", current)
    ordered_times(values, "downtime_start", "downtime_end", "Downtime window", current)


# A change may be rescheduled until it starts; its review (PIR) follows implementation.
RESCHEDULABLE = ("draft", "submitted", "assessed", "awaiting_cab", "approved", "scheduled")
PIR_STATUSES = ("implemented", "in_review", "failed", "backed_out", "closed")


def create_change(values: dict[str, Any], actor: Actor = SYSTEM, cis: list | None = None) -> Change:
    require(actor, "change.edit")
    values = dict(values)
    _validate(values, True)
    with records.atomic():
        change = records.create(Change, values, actor, ref_prefix="CHG")
        if cis:
            set_affected_cis(change.id, cis, actor)
        return change


def update_change(change_id, version: int | None, changes: dict[str, Any],
                  actor: Actor = SYSTEM) -> Change:
    require(actor, "change.edit")
    with records.atomic():
        current = records.get(Change, change_id)
        _validate(changes, False, records.snapshot(current))
        return records.update(Change, current.id, version, changes, actor, current=current)


def set_affected_cis(change_id, cis: list, actor: Actor = SYSTEM,  # noqa: ANN001
                     version: int | None = None) -> None:
    """The change's affected CIs become exactly ``cis`` (a stale ``version`` conflicts)."""
    records.set_links(ChangeCI, change_id, "ci", [getattr(ci, "id", ci) for ci in cis], actor,
                      version)


def create_template(values: dict[str, Any], actor: Actor = SYSTEM) -> ChangeTemplate:
    require(actor, "change.windows")
    required_text(values, "name", "Name", 200)
    with records.atomic():
        return records.create(ChangeTemplate, values, actor)


def create_meeting(values: dict[str, Any], actor: Actor = SYSTEM, attendees: list | None = None,
                   changes: list | None = None) -> CABMeeting:
    require(actor, "cab.manage")
    required_text(values, "title", "Title")
    if not values.get("starts_at"):
        raise ValidationError(N_("A CAB meeting needs a date and time"), field="starts_at")
    ordered_times(values, "starts_at", "ends_at", "Meeting")
    with records.atomic():
        meeting = records.create(CABMeeting, values, actor, ref_prefix="CAB")
        records.add_children(CABAttendee, [{"meeting": meeting.id, "person": getattr(p, "id", p)}
                                           for p in attendees or []], actor)
        ids = [getattr(change, "id", change) for change in changes or []]
        if ids:
            standard = [c.ref for c in Change.select(Change.ref).where(
                Change.id.in_(ids) & (Change.type == "standard")).order_by(Change.ref)]
            if standard:
                raise ValidationError(not_for_cab(), field="changes", refs=", ".join(standard))
        records.add_children(CABAgendaItem, [{"meeting": meeting.id, "change": change_id,
                                              "position": pos} for pos, change_id in enumerate(ids)],
                             actor)
        return meeting


def not_for_cab() -> str:
    return N_("Standard changes are pre-approved and do not go before the CAB: {refs}")


def cast_vote(change_id, person_id, vote: str, comment: str = "", meeting_id=None,  # noqa: ANN001
              actor: Actor = SYSTEM, version: int | None = None) -> Approval:
    """A person's vote on a change (a new vote replaces theirs); ``version``: the change's, as
    the caller read it (a stale change conflicts)."""
    if vote not in VOTES:
        raise ValidationError(N_("Vote '{value}' is not one of: {allowed}"), field="vote",
                              value=vote, allowed=", ".join(VOTES))
    require(actor, "cab.vote", {"person": person_id})
    with records.atomic():
        change = records.get(Change, change_id)
        records.check_version(Change, change.id, version)
        existing = Approval.get_or_none((Approval.change == change.id)
                                        & (Approval.person == person_id))
        if existing:
            return records.update_child(Approval, existing.id, {
                "vote": vote, "comment": comment, "voted_at": utcnow(),
                "meeting": meeting_id or existing.meeting_id}, actor, version)
        return records.add_child(Approval, {"change": change.id, "person": person_id,
                                            "vote": vote, "comment": comment,
                                            "voted_at": utcnow(), "meeting": meeting_id}, actor,
                                 version)


def create_window(values: dict[str, Any], actor: Actor = SYSTEM) -> ScheduleWindow:
    require(actor, "change.windows")
    required_text(values, "name", "Name", 200)
    one_of(values, "kind", ("blackout", "maintenance"), "Window kind")
    ordered_times(values, "starts_at", "ends_at", "Window")
    if values.get("rrule"):
        from dateutil.rrule import rrulestr

        try:
            rrulestr(values["rrule"], dtstart=values["starts_at"])
        except (ValueError, TypeError) as exc:
            raise ValidationError(N_("'{value}' is not a valid recurrence rule: {reason}"),
                                  field="rrule", value=values["rrule"], reason=str(exc)) from None
    with records.atomic():
        return records.create(ScheduleWindow, values, actor)


# -- lifecycle -----------------------------------------------------------------------------------

def get_change(ref_or_id) -> Change:  # noqa: ANN001
    """A change by its reference (``CHG-000012``) or id."""
    import uuid as _uuid

    from itsmdesk.errors import NotFoundError

    change = None
    if isinstance(ref_or_id, _uuid.UUID):
        change = Change.get_or_none(Change.id == ref_or_id)
    else:
        text = str(ref_or_id).strip()
        change = Change.get_or_none(Change.ref == text.upper())
        if change is None:
            try:
                change = Change.get_or_none(Change.id == _uuid.UUID(text))
            except ValueError:
                change = None
    if change is None:
        raise NotFoundError(N_("No change {ref}"), ref=ref_or_id)
    return change


def _touches_services(change: Change) -> bool:
    from itsmdesk.services.change.risk import impacted_services

    ci_ids = [r[0] for r in ChangeCI.select(ChangeCI.ci).where(ChangeCI.change == change.id)
              .tuples()]
    return bool(impacted_services(ci_ids))


def _lifecycle_role(actor: Actor, change: Change, target: str, role: str | None) -> str | None:
    """The lifecycle role this step is taken in: one the actor's roles give (see
    ``permissions.lifecycle_roles``); ``cab`` only for a change manager recording the CAB's
    decision.  A person without one is refused, naming the role the step needs."""
    from itsmdesk.services import permissions
    from itsmdesk.services.change import lifecycle as change_lifecycle

    if role == "cab":
        require(actor, "cab.decide")
        return role
    step = permissions.transition_action(change.status, target)
    if step in ("change.approve", "change.schedule") and not (
            change.type == "standard" and change.status == "submitted"):  # pre-approved
        require(actor, step)  # a change manager's, whatever else the lifecycle allows
    held = permissions.lifecycle_roles(actor)
    if role is not None:
        if role not in held:
            require(actor, {"change_manager": "change.manage", "implementer": "change.implement"}
                    .get(role, "change.edit"))
        return role
    rules = [r for r in change_lifecycle.RULES if r.source == change.status
             and r.target == target and change.type in r.types]
    for rule in rules:
        for mine in held:
            if mine in rule.roles:
                return mine
    if rules:  # the step exists, but not for this person
        require(actor, permissions.transition_action(change.status, target))
        return held[0] if held else None
    return None  # no such step: the lifecycle says so


def transition(change_id, version: int | None, target: str, actor: Actor = SYSTEM,  # noqa: ANN001
               role: str | None = None, reason: str | None = None,
               meeting_id=None) -> Change:  # noqa: ANN001
    """Move a change to ``target`` if the lifecycle allows it (see change_lifecycle).

    ``meeting_id``: the CAB meeting deciding (:func:`cab.decide`): its votes and its quorum count,
    not the default quorum over every vote.

    Moving a change to ``assessed`` or to the CAB stores its risk assessment when it has none
    (:func:`itsmdesk.services.change.risk.assess_if_new`).  Normal and emergency changes reach ``approved`` only with the CAB's quorum outcome
    "approved" (votes recorded with :func:`cast_vote`).  Sets the actual start/end and the
    closing time on the way; an approved change that touches business services is announced.
    """
    from itsmdesk.services.change import lifecycle as change_lifecycle

    with records.atomic():
        change = records.get(Change, change_id)
        overriding = role == "change_manager"  # asked for explicitly: decide without the CAB
        role = _lifecycle_role(actor, change, target, role)
        change_lifecycle.check(change.status, target, change.type, role)
        values: dict[str, Any] = {"status": target}
        now = utcnow()
        if target in ("submitted", "scheduled") and not change.planned_start:
            raise ValidationError(N_("{ref} needs a planned start before it can be {target}"),
                                  field="planned_start", ref=change.ref, target=target)
        if target == "submitted" and change.type != "standard" and not (
                change.implementation_plan and change.backout_plan):
            raise ValidationError(
                N_("{ref} needs an implementation plan and a backout plan before submission"),
                field="implementation_plan", ref=change.ref)
        if target == "approved" and change.type in ("normal", "emergency"):
            from itsmdesk.services.change import cab

            outcome = cab.outcome(change.id, meeting_id)
            if outcome.decision != "approved":
                raise ValidationError(
                    N_("{ref} has no CAB approval ({detail})"), field="status", ref=change.ref,
                    detail=outcome.explain)
        if target == "rejected" and change.type in ("normal", "emergency") \
                and change.status == "awaiting_cab" and not overriding:
            from itsmdesk.services.change import cab

            outcome = cab.outcome(change.id, meeting_id)
            if outcome.decision not in ("rejected",) and reason is None:
                raise ValidationError(N_("{ref} was not rejected by the CAB ({detail})"),
                                      field="status", ref=change.ref, detail=outcome.explain)
        if target == "implementing" and not change.actual_start:
            values["actual_start"] = now
        if target in ("implemented", "failed", "backed_out") and not change.actual_end:
            values["actual_end"] = now
        if target == "closed":
            values["closed_at"] = now
        change = records.update(Change, change.id, version, values, actor)
        if target in ("assessed", "awaiting_cab") and change.type != "standard":
            from itsmdesk.services.change import risk

            change = risk.assess_if_new(change, actor)  # the assessment step assesses the risk
        if reason:
            records.note(Change, change.id, "transition_reason", reason, actor)
    if target == "approved" and _touches_services(change):
        from itsmdesk.services.servicedesk import announcements

        announcements.announce_change(change, actor)
    return change


def reschedule(change_id, version: int | None, start, end, actor: Actor = SYSTEM,  # noqa: ANN001
               ) -> Change:
    """Move a change's planned window (and its downtime window by the same amount)."""
    if start is None or end is None:
        raise ValidationError(N_("A planned window needs a start and an end"), field="planned_start")
    with records.atomic():
        change = records.get(Change, change_id)
        require(actor, "change.schedule" if change.status in ("approved", "scheduled")
                else "change.edit")
        if change.status not in RESCHEDULABLE:
            raise ValidationError(N_("{ref} is {status}; only changes not yet started can be "
                                     "rescheduled"), field="planned_start", ref=change.ref,
                                  status=change.status)
        values: dict[str, Any] = {"planned_start": start, "planned_end": end}
        if change.downtime_start and change.planned_start:
            shift = start - change.planned_start
            values["downtime_start"] = change.downtime_start + shift
            if change.downtime_end:
                values["downtime_end"] = change.downtime_end + shift
        _validate(values, False, records.snapshot(change))
        row = records.update(Change, change.id, version, values, actor)
        from itsmdesk.models.servicedesk import Announcement

        if Announcement.select().where(Announcement.change_id == row.id).exists():
            from itsmdesk.services.servicedesk import announcements

            announcements.announce_change(row, actor)  # its window moves (and is mailed again)
        return row


def create_from_template(template_id, values: dict[str, Any], actor: Actor = SYSTEM,  # noqa: ANN001
                         cis: list | None = None) -> Change:
    """A standard change pre-filled from a template (plans, category, outage, duration)."""
    import datetime as _dt

    template = records.get(ChangeTemplate, template_id)
    if not template.active:
        raise ValidationError(N_("Template {name} is not active"), field="template",
                              name=template.name)
    data = {"title": template.name, "type": "standard", "category": template.category,
            "description": template.description,
            "implementation_plan": template.implementation_plan,
            "backout_plan": template.backout_plan, "test_plan": template.test_plan,
            "outage": template.outage, "template": template.id}
    data.update(values)
    if data.get("planned_start") and not data.get("planned_end"):
        data["planned_end"] = data["planned_start"] + _dt.timedelta(
            minutes=template.default_duration_minutes or 60)
    return create_change(data, actor, cis=cis)


def affected_ci_rows(change_id) -> list[dict]:  # noqa: ANN001
    """Affected CIs of a change: id, name, class label, criticality (sorted by name)."""
    from itsmdesk.models.cmdb import CI, CIClass

    rows = (CI.select(CI.id, CI.name, CIClass.label, CI.criticality)
            .join(ChangeCI, on=(ChangeCI.ci == CI.id)).switch(CI).join(CIClass)
            .where(ChangeCI.change == change_id).order_by(CI.name).tuples())
    return [{"id": i, "name": n, "class": c, "criticality": k} for i, n, c, k in rows]


def affected_ci_rows_many(change_ids) -> dict:  # noqa: ANN001
    """change id -> affected CI rows (as :func:`affected_ci_rows`), in one query per 900."""
    from collections import defaultdict

    from itsmdesk.models.cmdb import CI, CIClass

    out: dict = defaultdict(list)
    ids = list(change_ids)
    for i in range(0, len(ids), 900):
        rows = (CI.select(ChangeCI.change, CI.id, CI.name, CIClass.label, CI.criticality)
                .join(ChangeCI, on=(ChangeCI.ci == CI.id)).switch(CI).join(CIClass)
                .where(ChangeCI.change.in_(ids[i:i + 900])).order_by(CI.name).tuples())
        for cid, ci, name, label, crit in rows:
            out[cid].append({"id": ci, "name": name, "class": label, "criticality": crit})
    return out


def changes_between(start, end, statuses=None, team_id=None, ci_ids=None) -> list[Change]:  # noqa: ANN001
    """Changes whose planned window overlaps ``[start, end)`` (the calendar's query)."""
    query = (Change.select().where(Change.planned_start.is_null(False)
                                   & (Change.planned_start < end)
                                   & (Change.planned_end.is_null(True)
                                      | (Change.planned_end > start)))
             .order_by(Change.planned_start, Change.ref))
    if statuses:
        query = query.where(Change.status.in_(list(statuses)))
    if team_id:
        query = query.where(Change.team == team_id)
    if ci_ids is not None:
        query = query.where(Change.id.in_(
            ChangeCI.select(ChangeCI.change).where(ChangeCI.ci.in_(list(ci_ids)))))
    return list(query)


def cis_of_changes(change_ids) -> dict:  # noqa: ANN001
    """change id -> [(ci id, ci name)] for many changes at once (calendar timeline rows)."""
    from collections import defaultdict

    from itsmdesk.models.cmdb import CI

    out: dict = defaultdict(list)
    ids = list(change_ids)
    for i in range(0, len(ids), 900):
        for cid, ci, name in (ChangeCI.select(ChangeCI.change, CI.id, CI.name).join(CI)
                              .where(ChangeCI.change.in_(ids[i:i + 900])).tuples()):
            out[cid].append((ci, name))
    return out


def page_changes(search: str = "", status: str | None = None, after=None, limit: int = 200,  # noqa: ANN001
                 ) -> list[Change]:
    """A page of changes, newest reference first (keyset on ``ref``)."""
    query = Change.select().order_by(Change.ref.desc()).limit(limit)
    if search:
        like = f"%{search}%"
        query = query.where(Change.ref.contains(search) | Change.title ** like)
    if status:
        query = query.where(Change.status == status)
    if after:
        query = query.where(Change.ref < after)
    return list(query)


def templates(active_only: bool = True) -> list[ChangeTemplate]:
    query = ChangeTemplate.select().order_by(ChangeTemplate.name)
    if active_only:
        query = query.where(ChangeTemplate.active == True)  # noqa: E712
    return list(query)


def record_pir(change_id, version: int | None, outcome: str, lessons: str = "",  # noqa: ANN001
               incident_ids: list | None = None, actor: Actor = SYSTEM) -> Change:
    """Post-implementation review: outcome, lessons and the incidents the change caused."""
    require(actor, "change.manage")
    from itsmdesk.models.incident import ChangeIncident

    if outcome not in ("successful", "partially", "failed"):
        raise ValidationError(N_("PIR outcome '{value}' is not one of: {allowed}"),
                              field="pir_outcome", value=outcome,
                              allowed="successful, partially, failed")
    with records.atomic():
        change = records.get(Change, change_id)
        if change.status not in PIR_STATUSES:
            raise ValidationError(N_("{ref} is {status}; a review follows implementation"),
                                  field="pir_outcome", ref=change.ref, status=change.status)
        change = records.update(Change, change.id, version,
                                {"pir_outcome": outcome, "pir_lessons": lessons}, actor)
        if incident_ids is not None:
            records.set_links(ChangeIncident, change.id, "incident",
                              [getattr(i, "id", i) for i in incident_ids], actor)
        return change


def describe_cis(ci_ids) -> list[dict]:  # noqa: ANN001
    """id, name, class, criticality of the given CIs (unknown ids are left out)."""
    import uuid as _uuid

    from itsmdesk.models.cmdb import CI, CIClass

    ids = []
    for value in ci_ids:
        try:
            ids.append(value if isinstance(value, _uuid.UUID) else _uuid.UUID(str(value).strip()))
        except ValueError:
            continue
    if not ids:
        return []
    rows = (CI.select(CI.id, CI.name, CIClass.label, CI.criticality).join(CIClass)
            .where(CI.id.in_(ids)).order_by(CI.name).tuples())
    return [{"id": i, "name": n, "class": c, "criticality": k} for i, n, c, k in rows]


def find_ci_by_name(name: str) -> dict | None:
    from itsmdesk.models.cmdb import CI

    ci = CI.get_or_none(CI.name == name.strip())
    return describe_cis([ci.id])[0] if ci else None


def caused_incident_refs(change_id) -> list[str]:  # noqa: ANN001
    from itsmdesk.models.incident import ChangeIncident, Incident

    return [r[0] for r in (Incident.select(Incident.ref).join(ChangeIncident)
                           .where(ChangeIncident.change == change_id)
                           .order_by(Incident.ref).tuples())]


def record_pir_refs(change_id, version: int | None, outcome: str, lessons: str,  # noqa: ANN001
                    refs: list[str], actor: Actor = SYSTEM) -> Change:
    """:func:`record_pir` with incidents given by reference (``INC-000123``)."""
    from itsmdesk.errors import NotFoundError
    from itsmdesk.models.incident import Incident

    ids = []
    for ref in refs:
        ref = ref.strip().upper()
        if not ref:
            continue
        inc = Incident.get_or_none(Incident.ref == ref)
        if inc is None:
            raise NotFoundError(N_("No incident {ref}"), ref=ref)
        ids.append(inc.id)
    return record_pir(change_id, version, outcome, lessons, ids, actor)


def names_for(change: Change) -> dict[str, str | None]:
    """Display names of a change's people and team (one query each, only when set)."""
    from itsmdesk.models.people import Person, Team

    def person(pid):  # noqa: ANN001, ANN202
        p = Person.get_or_none(Person.id == pid) if pid else None
        return p.name if p else None

    team = Team.get_or_none(Team.id == change.team_id) if change.team_id else None
    return {"requester": person(change.requester_id), "assignee": person(change.assignee_id),
            "team": team.name if team else None}


# -- the change form ------------------------------------------------------------------------------

PIR_OUTCOMES = ("successful", "partially", "failed")


@dataclass(frozen=True)
class AffectedCI:
    id: Any
    name: str
    ci_class: str
    criticality: str | None


@dataclass(frozen=True)
class FactorRow:
    """One risk factor as stored on the change (its reason as an N_() template + parameters)."""

    factor: str
    points: Any
    weight: Any
    why: str
    why_template: str | None = None
    why_params: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class ChangeChoices:
    """What the change form's pickers offer: teams as (id, name)."""

    teams: tuple[tuple[Any, str], ...]


@dataclass(frozen=True)
class ChangeView:
    """Everything the change form shows."""

    id: Any
    version: int
    ref: str
    title: str
    type: str
    category: str | None
    status: str
    team_id: Any
    team_name: str | None
    requester_name: str | None
    assignee_name: str | None
    planned_start: dt.datetime | None
    planned_end: dt.datetime | None
    downtime_start: dt.datetime | None
    downtime_end: dt.datetime | None
    outage: bool
    reason: str | None
    description: str | None
    implementation_plan: str | None
    backout_plan: str | None
    test_plan: str | None
    risk_score: int | None
    risk_level: str | None
    risk_factors: tuple[FactorRow, ...]
    risk_override: str | None
    risk_override_reason: str | None
    pir_outcome: str | None
    pir_lessons: str | None
    incident_refs: tuple[str, ...]  # incidents the change caused (its PIR)
    cis: tuple[AffectedCI, ...]
    conflicts: tuple[Any, ...]  # conflicts.Conflict
    next_steps: tuple[tuple[str, str], ...]  # (target status, N_() button label)
    choices: ChangeChoices
    # kept from another tool's export (shown read-only)
    opened_at: dt.datetime | None = None
    requested_end: dt.datetime | None = None
    cab_approval_needed: bool | None = None
    external_key: str | None = None

    @property
    def ci_ids(self) -> list:
        return [c.id for c in self.cis]


def change_choices() -> ChangeChoices:
    """The new change form's choices (one query)."""
    from itsmdesk.models.people import Team

    return ChangeChoices(tuple(Team.select(Team.id, Team.name).order_by(Team.name).tuples()))


def ci_rows(ci_ids) -> tuple[AffectedCI, ...]:  # noqa: ANN001
    """CIs dropped on the form (ids; unknown or malformed ids are left out), by name."""
    return tuple(AffectedCI(r["id"], r["name"], r["class"], r["criticality"])
                 for r in describe_cis(ci_ids))


def ci_row_by_name(name: str) -> AffectedCI | None:
    """A CI typed by its exact name, or None."""
    row = find_ci_by_name(name or "")
    return AffectedCI(row["id"], row["name"], row["class"], row["criticality"]) if row else None


def change_view(change_id) -> ChangeView:  # noqa: ANN001
    """The change form's read model: the change with its people and team (one query), its CIs,
    the team choices, then either its conflicts (a change still planned: the changes overlapping
    it with their CIs, the schedule windows, the names of other changes' CIs in a conflict, and
    for overlaps without a shared CI the CMDB's impact walk) or the incidents its review linked
    (a finished change): four to six queries, and the impact walk's."""
    from itsmdesk.models.cmdb import CI, CIClass
    from itsmdesk.models.incident import ChangeIncident, Incident
    from itsmdesk.models.people import Person, Team
    from itsmdesk.services.batch import select_many
    from itsmdesk.services.change import conflicts
    from itsmdesk.services.change.lifecycle import PLANNED, allowed_next

    requester, assignee = Person.alias(), Person.alias()
    own = list(Change._meta.sorted_fields)
    change_q = (Change.select(*own, requester.name, assignee.name, Team.name)
                .join(requester, pw.JOIN.LEFT_OUTER, on=(Change.requester == requester.id))
                .switch(Change).join(assignee, pw.JOIN.LEFT_OUTER, on=(Change.assignee == assignee.id))
                .switch(Change).join(Team, pw.JOIN.LEFT_OUTER, on=(Change.team == Team.id))
                .where(Change.id == change_id))
    cis_q = (CI.select(CI.id, CI.name, CIClass.label, CI.criticality)
             .join(ChangeCI, on=(ChangeCI.ci == CI.id)).switch(CI)
             .join(CIClass, on=(CI.ci_class == CIClass.id))
             .where(ChangeCI.change == change_id).order_by(CI.name))
    teams_q = Team.select(Team.id, Team.name).order_by(Team.name)
    refs_q = (Incident.select(Incident.ref).join(ChangeIncident)
              .where(ChangeIncident.change == change_id).order_by(Incident.ref))
    # one round trip for the change, its CIs, the team choices and its review's incidents
    rows, ci_rows_, teams, ref_rows = select_many(change_q, cis_q, teams_q, refs_q)
    if not rows:
        raise NotFoundError(N_("No change {ref}"), ref=change_id)
    names = dict(zip(("requester_name", "assignee_name", "team_name"), rows[0][len(own):],
                     strict=True))
    row = Change(**{f.name: v for f, v in zip(own, rows[0], strict=False)})
    row.requester_name, row.assignee_name, row.team_name = (
        names["requester_name"], names["assignee_name"], names["team_name"])
    cis = tuple(AffectedCI(*r) for r in ci_rows_)
    found: tuple = ()
    refs: tuple = ()
    if row.status in PLANNED:  # only a planned change conflicts; only a finished one has a PIR
        found = tuple(conflicts.for_change_at(row.id, row.status, row.planned_start,
                                              row.planned_end, {c.id: c.name for c in cis}))
    else:
        refs = tuple(r[0] for r in ref_rows)
    factors = tuple(FactorRow(f.get("factor", ""), f.get("points"), f.get("weight"),
                              f.get("why") or "", f.get("why_template"),
                              dict(f.get("why_params") or {}))
                    for f in row.risk_factors or [])
    steps = tuple((rule.target, rule.label) for rule in allowed_next(row.status, row.type))
    return ChangeView(row.id, row.version, row.ref, row.title, row.type, row.category, row.status,
                      row.team_id, row.team_name, row.requester_name, row.assignee_name,
                      row.planned_start, row.planned_end, row.downtime_start, row.downtime_end,
                      bool(row.outage), row.reason, row.description, row.implementation_plan,
                      row.backout_plan, row.test_plan, row.risk_score, row.risk_level, factors,
                      row.risk_override, row.risk_override_reason, row.pir_outcome,
                      row.pir_lessons, refs, cis, found, steps, ChangeChoices(tuple(teams)),
                      opened_at=row.opened_at, requested_end=row.requested_end,
                      cab_approval_needed=row.cab_approval_needed, external_key=row.external_key)


CHANGE_FIELDS = ("title", "type", "category", "team", "planned_start", "planned_end",
                 "downtime_start", "downtime_end", "outage", "reason", "description",
                 "implementation_plan", "backout_plan", "test_plan")


def save_change(change_id, version: int | None, edits: dict[str, Any],  # noqa: ANN001
                actor: Actor = SYSTEM, new_id: Any = None) -> Change:
    """Create (``change_id`` None, with key ``new_id``) or update a change from the form's
    edits in one transaction: its fields and ``ci_ids`` (the affected CIs, exactly)."""
    require(actor, "change.edit")
    values = {k: v for k, v in edits.items() if k in CHANGE_FIELDS}
    cis = None
    if "ci_ids" in edits:
        cis = [ci.id for ci in ci_rows(edits["ci_ids"])]
        if len(cis) != len({str(i) for i in edits["ci_ids"]}):
            raise ValidationError(N_("Some of the affected CIs are no longer in the CMDB"),
                                  field="ci")
    with records.atomic():
        if change_id is None:
            if new_id is not None:
                values["id"] = new_id
            return create_change(values, actor, cis=cis)
        change = update_change(change_id, version, values, actor)
        if cis is not None:
            set_affected_cis(change_id, cis, actor, version)
            return records.get(Change, change_id)  # (its version moved with the CIs)
        return change
