"""Change Advisory Board: members, meetings, agenda, votes, the quorum rule, minutes.

Quorum rule (one place: :func:`count_outcome` counts, with :func:`eligible_ids` and
:func:`quorum_for`; :func:`outcome` and the meeting form's :func:`meeting_view` both use it):

* a vote counts when it is cast by a CAB member for the change's category (or an ECAB member for
  an emergency change); abstentions count towards the quorum but not towards the result;
* the quorum is the meeting's ``quorum`` (ECAB meetings default to 2, CAB to 3); without a
  meeting: 3 for normal changes, 2 for emergency ones;
* with fewer votes than the quorum the change is **deferred** ("no quorum");
* otherwise **approved** when approvals outnumber rejections, **rejected** when rejections
  outnumber approvals, and **deferred** on a tie.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, NotFoundError, ValidationError
from itsmdesk.models.base import utcnow
from itsmdesk.models.change import (
    Approval,
    CABAction,
    CABAgendaItem,
    CABAttendee,
    CABMeeting,
    CABMember,
    Change,
)
from itsmdesk.models.people import Person
from itsmdesk.services import records
from itsmdesk.services.change.lifecycle import FORWARD_SCHEDULE
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import require

CAB_QUORUM, ECAB_QUORUM = 3, 2
DECISIONS = ("approved", "rejected", "deferred")
FORWARD_DAYS = 28


@dataclass(frozen=True)
class Outcome:
    decision: str  # approved | rejected | deferred
    approve: int
    reject: int
    abstain: int
    quorum: int
    quorate: bool

    @property
    def explain(self) -> str:
        if not self.quorate:
            return (f"no quorum: {self.approve + self.reject + self.abstain} of {self.quorum} "
                    "votes")
        return (f"{self.approve} approve, {self.reject} reject, {self.abstain} abstain; "
                f"quorum {self.quorum}")


# -- members and meetings ------------------------------------------------------------------------

def add_member(person_id, category: str | None = None, emergency: bool = False,  # noqa: ANN001
               actor: Actor = SYSTEM) -> CABMember:
    require(actor, "cab.manage")
    with records.atomic():
        person = records.get(Person, person_id)
        existing = CABMember.get_or_none((CABMember.person == person.id)
                                         & (CABMember.category == category) if category
                                         else (CABMember.person == person.id)
                                         & CABMember.category.is_null(True))
        if existing:
            return records.update(CABMember, existing.id, None, {"emergency": emergency}, actor)
        return records.create(CABMember, {"person": person.id, "category": category,
                                          "emergency": emergency}, actor)


def members_for(category: str | None, emergency: bool = False) -> list[Person]:
    """CAB members for a category (members for every category included); ECAB when emergency."""
    query = (Person.select().join(CABMember, on=(CABMember.person == Person.id)).distinct()
             .where(CABMember.category.is_null(True) | (CABMember.category == category))
             .order_by(Person.name))
    if emergency:
        query = query.where(CABMember.emergency == True)  # noqa: E712
    return list(query)


def memberships() -> list[tuple[Any, str | None, bool]]:
    """Every CAB membership as (person id, category or None for every category, also ECAB)."""
    return list(CABMember.select(CABMember.person, CABMember.category, CABMember.emergency)
                .tuples())


def eligible_ids(rows: Iterable[tuple[Any, str | None, bool]], category: str | None,
                 emergency: bool) -> set:
    """Who may vote on a change of ``category`` (ECAB members when ``emergency``), from
    :func:`memberships` rows: the same people :func:`members_for` lists."""
    return {person for person, cat, ecab in rows
            if (cat is None or (category is not None and cat == category))
            and (ecab or not emergency)}


def _member_ids(category: str | None, emergency: bool) -> set:
    return eligible_ids(memberships(), category, emergency)


def get_meeting(ref_or_id) -> CABMeeting:  # noqa: ANN001
    meeting = None
    if isinstance(ref_or_id, uuid.UUID):
        meeting = CABMeeting.get_or_none(CABMeeting.id == ref_or_id)
    else:
        text = str(ref_or_id).strip()
        meeting = CABMeeting.get_or_none(CABMeeting.ref == text.upper())
        if meeting is None:
            try:
                meeting = CABMeeting.get_or_none(CABMeeting.id == uuid.UUID(text))
            except ValueError:
                meeting = None
    if meeting is None:
        raise NotFoundError(N_("No CAB meeting {ref}"), ref=ref_or_id)
    return meeting


def meetings(limit: int = 200) -> list[CABMeeting]:
    return list(CABMeeting.select().order_by(CABMeeting.starts_at.desc()).limit(limit))


def update_meeting(meeting_id, version: int | None, changes: dict[str, Any],  # noqa: ANN001
                   actor: Actor = SYSTEM) -> CABMeeting:
    require(actor, "cab.manage")
    if "status" in changes and changes["status"] not in ("planned", "held", "cancelled"):
        raise ValidationError(N_("Meeting status '{value}' is not one of: planned, held, "
                                 "cancelled"), field="status", value=changes["status"])
    with records.atomic():
        return records.update(CABMeeting, meeting_id, version, changes, actor)


def set_attendees(meeting_id, attendance: dict, actor: Actor = SYSTEM,  # noqa: ANN001
                  version: int | None = None) -> None:
    """``attendance``: person id -> present (bool).  People not listed are removed.  With
    ``version`` (the meeting's, as the caller read it) a stale list raises a conflict."""
    require(actor, "cab.manage")
    with records.atomic():
        meeting = records.get(CABMeeting, meeting_id)
        records.check_version(CABMeeting, meeting.id, version)
        have = {a.person_id: a for a in CABAttendee.select().where(CABAttendee.meeting == meeting.id)}
        new = [{"meeting": meeting.id, "person": pid, "present": bool(present)}
               for pid, present in attendance.items() if pid not in have]
        records.add_children(CABAttendee, new, actor)
        for pid, present in attendance.items():
            row = have.get(pid)
            if row is not None and row.present != bool(present):
                records.update_child(CABAttendee, row.id, {"present": bool(present)}, actor)
        records.remove_children(CABAttendee, [row for pid, row in have.items()
                                              if pid not in attendance], actor)


def attendees(meeting_id) -> list[tuple[Person, bool]]:  # noqa: ANN001
    rows = (CABAttendee.select(CABAttendee, Person).join(Person)
            .where(CABAttendee.meeting == meeting_id).order_by(Person.name))
    return [(r.person, r.present) for r in rows]


# -- agenda --------------------------------------------------------------------------------------

def agenda(meeting_id) -> list[CABAgendaItem]:  # noqa: ANN001
    return list(CABAgendaItem.select(CABAgendaItem, Change).join(Change)
                .where(CABAgendaItem.meeting == meeting_id)
                .order_by(CABAgendaItem.position, Change.ref))


def build_agenda(meeting_id, actor: Actor = SYSTEM,  # noqa: ANN001
                 version: int | None = None) -> list[CABAgendaItem]:
    """Add every change awaiting the CAB (ECAB: emergency ones) not yet on an open agenda.
    With ``version`` (the meeting's, as the caller read it) a stale meeting conflicts."""
    require(actor, "cab.manage")
    with records.atomic():
        meeting = records.get(CABMeeting, meeting_id)
        records.check_version(CABMeeting, meeting.id, version)
        on_open = (CABAgendaItem.select(CABAgendaItem.change)
                   .where(CABAgendaItem.decision.is_null(True)))
        query = (Change.select().where((Change.status == "awaiting_cab")
                                       & Change.id.not_in(on_open))
                 .order_by(Change.planned_start, Change.ref))
        if meeting.emergency:
            query = query.where(Change.type == "emergency")
        else:
            query = query.where(Change.type == "normal")
        position = (CABAgendaItem.select().where(CABAgendaItem.meeting == meeting.id).count())
        records.add_children(CABAgendaItem, [
            {"meeting": meeting.id, "change": change.id, "position": position + i}
            for i, change in enumerate(query)], actor, version)
        return agenda(meeting.id)


def add_to_agenda(meeting_id, change_id, actor: Actor = SYSTEM,  # noqa: ANN001
                  version: int | None = None) -> CABAgendaItem:
    require(actor, "cab.manage")
    with records.atomic():
        meeting = records.get(CABMeeting, meeting_id)
        change = records.get(Change, change_id)
        if change.type == "standard":
            from itsmdesk.services.change.changes import not_for_cab

            raise ValidationError(not_for_cab(), field="changes", refs=change.ref)
        item = CABAgendaItem.get_or_none((CABAgendaItem.meeting == meeting.id)
                                         & (CABAgendaItem.change == change.id))
        if item:
            return item
        position = CABAgendaItem.select().where(CABAgendaItem.meeting == meeting.id).count()
        return records.add_child(CABAgendaItem, {"meeting": meeting.id, "change": change.id,
                                                 "position": position}, actor, version)


def forward_period(start: dt.datetime, days: int = FORWARD_DAYS) -> tuple[dt.datetime, dt.datetime]:
    """The forward schedule's period: ``days`` from the start of ``start``'s day."""
    first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return first, first + dt.timedelta(days=days)


def forward_schedule(start: dt.datetime, days: int = FORWARD_DAYS) -> list[Change]:
    """Approved, scheduled and implementing changes whose planned window overlaps the
    :func:`forward_period` (one that started before its first day and still runs is in it)."""
    first, end = forward_period(start, days)
    return list(Change.select().where(
        Change.status.in_(FORWARD_SCHEDULE) & Change.planned_start.is_null(False)
        & (Change.planned_start < end)
        & ((Change.planned_end > first)
           | (Change.planned_end.is_null(True) & (Change.planned_start >= first))))
        .order_by(Change.planned_start, Change.ref))


# -- votes and the quorum rule -------------------------------------------------------------------

def votes(change_id, meeting_id=None) -> list[Approval]:  # noqa: ANN001
    query = (Approval.select(Approval, Person).join(Person)
             .where(Approval.change == change_id).order_by(Person.name))
    if meeting_id is not None:
        query = query.where((Approval.meeting == meeting_id) | Approval.meeting.is_null(True))
    return list(query)


def vote(meeting_id, change_id, person_id, value: str, comment: str = "",  # noqa: ANN001
         actor: Actor = SYSTEM, version: int | None = None) -> Approval:
    """A member's vote at a meeting (one per member and change; a new vote replaces it).
    ``version``: the change's, as the caller read it (a vote is a child row of the change)."""
    from itsmdesk.services.change.changes import cast_vote

    require(actor, "cab.vote", {"person": person_id})
    meeting = records.get(CABMeeting, meeting_id)
    change = records.get(Change, change_id)
    eligible = _member_ids(change.category, change.type == "emergency" or meeting.emergency)
    if eligible and person_id not in eligible:
        person = records.get(Person, person_id)
        raise ValidationError(N_("{person} is not on the CAB for {category}"), field="person",
                              person=person.name, category=change.category or "this category")
    return cast_vote(change.id, person_id, value, comment, meeting.id, actor, version)


def quorum_for(meeting_quorum: int | None, emergency: bool) -> int:
    """The quorum: the meeting's when there is a meeting, else 2 (ECAB) or 3 (CAB)."""
    if meeting_quorum is not None:
        return meeting_quorum
    return ECAB_QUORUM if emergency else CAB_QUORUM


def count_outcome(cast: Iterable[tuple[Any, str]], eligible: set, quorum: int) -> Outcome:
    """The quorum rule (see the module's docstring) over ``cast`` votes, (person id, vote):
    votes of people outside ``eligible`` do not count (when anyone is eligible at all)."""
    counts = {"approve": 0, "reject": 0, "abstain": 0}
    for person_id, value in cast:
        if eligible and person_id not in eligible:
            continue
        counts[value] += 1
    quorate = sum(counts.values()) >= quorum
    if not quorate or counts["approve"] == counts["reject"]:
        decision = "deferred"
    else:
        decision = "approved" if counts["approve"] > counts["reject"] else "rejected"
    return Outcome(decision, counts["approve"], counts["reject"], counts["abstain"], quorum,
                   quorate)


def outcome(change_id, meeting_id=None) -> Outcome:  # noqa: ANN001
    """What the quorum rule decides from the votes cast so far (at ``meeting_id``; without a
    meeting: every vote, except those cast before the change was last sent back for approval,
    see :mod:`itsmdesk.services.change.risk`)."""
    from itsmdesk.services.change.risk import votes_since_sent_back

    change = records.get(Change, change_id)
    meeting = CABMeeting.get_or_none(CABMeeting.id == meeting_id) if meeting_id else None
    emergency = change.type == "emergency" or bool(meeting and meeting.emergency)
    quorum = quorum_for(meeting.quorum if meeting is not None else None, emergency)
    eligible = _member_ids(change.category, emergency)
    cast = votes(change.id, meeting_id)
    if meeting_id is None:
        fresh = votes_since_sent_back(change.id)
        if fresh is not None:
            cast = [v for v in cast if str(v.id) in fresh]
    return count_outcome(((v.person_id, v.vote) for v in cast), eligible, quorum)


def decide(meeting_id, change_id, conditions: str | None = None, actor: Actor = SYSTEM,  # noqa: ANN001
           apply: bool = True, version: int | None = None, decision: str | None = None,
           reason: str | None = None) -> Outcome:
    """Record the decision (and conditions) on the agenda item; move the change along.

    The decision is the quorum outcome unless ``decision`` says otherwise: the board may reject
    or defer a change against its votes, with a ``reason`` (kept on the item, shown in the
    minutes); it may not approve one the votes do not approve.  Approved -> the change becomes
    ``approved``; rejected -> ``rejected``; deferred: stays.  ``version``: the meeting's, as the
    caller read it (a stale meeting conflicts).  Returns the quorum outcome.
    """
    require(actor, "cab.decide")
    from itsmdesk.services.change import changes as change_service

    result = outcome(change_id, meeting_id)
    chosen = decision or result.decision
    reason = (reason or "").strip() or None
    if chosen not in DECISIONS:
        raise ValidationError(N_("Decision '{value}' is not one of: {allowed}"), field="decision",
                              value=chosen, allowed=", ".join(DECISIONS))
    with records.atomic():
        meeting = records.get(CABMeeting, meeting_id)
        change = records.get(Change, change_id)
        if chosen != result.decision:
            require(actor, "cab.override_quorum")
            if chosen == "approved":
                raise ValidationError(
                    N_("{ref} cannot be approved against the CAB's votes ({detail})"),
                    field="decision", ref=change.ref, detail=result.explain)
            if reason is None:
                raise ValidationError(
                    N_("Recording '{decision}' for {ref} against the votes (which say "
                       "'{outcome}') needs a reason"), field="decision_reason",
                    decision=chosen, ref=change.ref, outcome=result.decision)
        item = CABAgendaItem.get_or_none((CABAgendaItem.meeting == meeting.id)
                                         & (CABAgendaItem.change == change.id))
        records.check_version(CABMeeting, meeting.id, version)
        if item is None:
            item = add_to_agenda(meeting.id, change.id, actor, version)
        records.update_child(CABAgendaItem, item.id, {"decision": chosen,
                                                      "conditions": conditions,
                                                      "decision_reason": reason}, actor, version)
        if apply and change.status == "awaiting_cab" and chosen in ("approved", "rejected"):
            change_service.transition(change.id, None, chosen, actor, role="cab",
                                      reason=reason if chosen != result.decision else None,
                                      meeting_id=meeting.id)
    return result


# -- actions -------------------------------------------------------------------------------------

def add_action(meeting_id, text: str, owner_id=None, due: dt.date | None = None,  # noqa: ANN001
               change_id=None, actor: Actor = SYSTEM, version: int | None = None) -> CABAction:
    """An action of the meeting (``version``: the meeting's, as the caller read it)."""
    require(actor, "cab.manage")
    if not (text or "").strip():
        raise ValidationError(N_("An action needs a text"), field="text")
    with records.atomic():
        meeting = records.get(CABMeeting, meeting_id)
        return records.add_child(CABAction, {"meeting": meeting.id, "text": text.strip(),
                                             "owner": owner_id, "due": due, "change": change_id},
                                 actor, version)


def set_action_done(action_id, done: bool = True, actor: Actor = SYSTEM,  # noqa: ANN001
                    version: int | None = None) -> CABAction:
    """Tick an action off (or on again); ``version``: its meeting's, as the caller read it."""
    require(actor, "cab.manage")
    with records.atomic():
        action = CABAction.get_or_none(CABAction.id == action_id)
        if action is None:
            raise NotFoundError(N_("No CAB action {id}"), id=action_id)
        records.check_version(CABMeeting, action.meeting_id, version)
        return records.update_child(CABAction, action.id, {"done": bool(done)}, actor, version)


def actions(meeting_id) -> list[CABAction]:  # noqa: ANN001
    return list(CABAction.select().where(CABAction.meeting == meeting_id)
                .order_by(CABAction.due.is_null(), CABAction.due, CABAction.text))


# -- report data ---------------------------------------------------------------------------------

@dataclass
class ItemMinutes:
    change: Change
    votes: list[Approval]
    decision: str | None
    conditions: str | None
    outcome: Outcome
    decision_reason: str | None = None

    @property
    def against_votes(self) -> bool:
        """The recorded decision is not what the quorum rule says."""
        return self.decision is not None and self.decision != self.outcome.decision


@dataclass
class Minutes:
    meeting: CABMeeting
    chair: Person | None
    attendees: list[tuple[Person, bool]]
    items: list[ItemMinutes] = field(default_factory=list)
    actions: list[CABAction] = field(default_factory=list)


def minutes(ref_or_id) -> Minutes:  # noqa: ANN001
    meeting = get_meeting(ref_or_id)
    chair = Person.get_or_none(Person.id == meeting.chair_id) if meeting.chair_id else None
    result = Minutes(meeting, chair, attendees(meeting.id), actions=actions(meeting.id))
    for item in agenda(meeting.id):
        result.items.append(ItemMinutes(item.change, votes(item.change_id, meeting.id),
                                        item.decision, item.conditions,
                                        outcome(item.change_id, meeting.id),
                                        item.decision_reason))
    return result


def create_meeting(values: dict[str, Any], actor: Actor = SYSTEM, attendees: list | None = None,
                   changes: list | None = None) -> CABMeeting:
    """A meeting (ECAB: quorum 2 unless given); see ``changes.create_meeting``."""
    require(actor, "cab.manage")
    from itsmdesk.services.change.changes import create_meeting as _create

    values = dict(values)
    if values.get("emergency") and "quorum" not in values:
        values["quorum"] = ECAB_QUORUM
    return _create(values, actor, attendees, changes)


def utc_today() -> dt.datetime:
    return utcnow().replace(hour=0, minute=0, second=0)


# -- the CAB meeting form ------------------------------------------------------------------------

MEETING_STATUSES = ("planned", "held", "cancelled")
VOTE_VALUES = ("approve", "reject", "abstain")


@dataclass(frozen=True)
class PersonRow:
    id: Any
    name: str


@dataclass(frozen=True)
class AttendeeRow:
    person_id: Any
    name: str
    present: bool


@dataclass(frozen=True)
class VoteRow:
    person_id: Any
    name: str
    vote: str
    comment: str | None


@dataclass(frozen=True)
class AgendaRow:
    """One change on the agenda, its votes at this meeting and what the quorum rule says."""

    item_id: Any
    position: int
    change_id: Any
    change_ref: str
    change_title: str
    change_status: str
    change_type: str
    change_category: str | None
    change_version: int
    decision: str | None
    conditions: str | None
    votes: tuple[VoteRow, ...]
    outcome: Outcome
    eligible: frozenset  # person ids whose votes count (empty: anyone's)
    decision_reason: str | None = None

    @property
    def against_votes(self) -> bool:
        """The recorded decision is not what the quorum rule says."""
        return self.decision is not None and self.decision != self.outcome.decision

    def vote_of(self, person_id: Any) -> str | None:
        return next((v.vote for v in self.votes if v.person_id == person_id), None)


@dataclass(frozen=True)
class ActionRow:
    id: Any
    text: str
    owner_id: Any
    owner_name: str | None
    due: dt.date | None
    done: bool
    change_ref: str | None

    def overdue_on(self, today: dt.date) -> bool:
        return is_overdue(self.due, self.done, today)


def is_overdue(due: dt.date | None, done: bool, today: dt.date) -> bool:
    """An action not done by its due date (due before ``today``) is overdue."""
    return not done and due is not None and due < today


@dataclass(frozen=True)
class MeetingChoices:
    """What a new meeting's form offers: the CAB members (attendance, chair)."""

    members: tuple[PersonRow, ...]


@dataclass(frozen=True)
class MeetingView:
    """Everything the CAB meeting form shows, in six queries."""

    id: Any
    version: int
    ref: str
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    location: str | None
    emergency: bool
    status: str
    chair_id: Any
    chair_name: str | None
    quorum: int
    notes: str | None
    members: tuple[PersonRow, ...]  # the CAB's members, by name (vote columns, owners)
    attendees: tuple[AttendeeRow, ...]
    agenda: tuple[AgendaRow, ...]
    actions: tuple[ActionRow, ...]

    @property
    def attendance(self) -> dict:
        """person id -> present, as :func:`set_attendees` takes it."""
        return {a.person_id: a.present for a in self.attendees}


def meeting_choices() -> MeetingChoices:
    """The new meeting form's choices (one query)."""
    return MeetingChoices(_member_rows())


def _member_rows() -> tuple[PersonRow, ...]:
    rows = (Person.select(Person.id, Person.name).distinct()
            .join(CABMember, on=(CABMember.person == Person.id)).order_by(Person.name).tuples())
    return tuple(PersonRow(pid, name) for pid, name in rows)


def meeting_view(meeting_id) -> MeetingView:  # noqa: ANN001
    """The CAB meeting form's read model: the meeting with its chair, the CAB's memberships,
    the attendees, the agenda with its changes, every vote on them, and the actions -- six
    queries however long the agenda; each item's outcome is :func:`count_outcome` in Python."""
    chair = Person.alias()
    meeting = (CABMeeting.select(CABMeeting, chair.name.alias("chair_name"))
               .join(chair, pw.JOIN.LEFT_OUTER, on=(CABMeeting.chair == chair.id))
               .where(CABMeeting.id == meeting_id).objects().first())
    if meeting is None:
        raise NotFoundError(N_("No CAB meeting {ref}"), ref=meeting_id)
    member_rows = list(CABMember.select(CABMember.person, Person.name, CABMember.category,
                                        CABMember.emergency)
                       .join(Person, on=(CABMember.person == Person.id)).tuples())
    names = {pid: name for pid, name, _c, _e in member_rows}
    members = tuple(PersonRow(pid, name) for pid, name in
                    sorted(names.items(), key=lambda kv: (kv[1].casefold(), str(kv[0]))))
    rules = [(pid, cat, ecab) for pid, _n, cat, ecab in member_rows]
    attendees = tuple(AttendeeRow(pid, name, bool(present)) for pid, name, present in
                      CABAttendee.select(CABAttendee.person, Person.name, CABAttendee.present)
                      .join(Person, on=(CABAttendee.person == Person.id))
                      .where(CABAttendee.meeting == meeting.id).order_by(Person.name).tuples())
    items = list(CABAgendaItem.select(CABAgendaItem.id, CABAgendaItem.position,
                                      CABAgendaItem.decision, CABAgendaItem.conditions, Change.id,
                                      Change.ref, Change.title, Change.status, Change.type,
                                      Change.category, Change.version,
                                      CABAgendaItem.decision_reason)
                 .join(Change, on=(CABAgendaItem.change == Change.id))
                 .where(CABAgendaItem.meeting == meeting.id)
                 .order_by(CABAgendaItem.position, Change.ref).tuples())
    cast: dict[Any, list[VoteRow]] = defaultdict(list)
    if items:
        for change_id, pid, name, value, comment in (
                Approval.select(Approval.change, Approval.person, Person.name, Approval.vote,
                                Approval.comment)
                .join(Person, on=(Approval.person == Person.id))
                .where(Approval.change.in_([row[4] for row in items])
                       & ((Approval.meeting == meeting.id) | Approval.meeting.is_null(True)))
                .order_by(Person.name).tuples()):
            cast[change_id].append(VoteRow(pid, name, value, comment))
    agenda = []
    for (item_id, position, decision, conditions, change_id, ref, title, status, ctype,
         category, version, decision_reason) in items:
        emergency = ctype == "emergency" or bool(meeting.emergency)
        eligible = eligible_ids(rules, category, emergency)
        votes_here = tuple(cast.get(change_id, ()))
        result = count_outcome(((v.person_id, v.vote) for v in votes_here), eligible,
                               quorum_for(meeting.quorum, emergency))
        agenda.append(AgendaRow(item_id, position, change_id, ref, title, status, ctype,
                                category, version, decision, conditions, votes_here, result,
                                frozenset(eligible), decision_reason))
    owner = Person.alias()
    actions = tuple(ActionRow(*row) for row in
                    CABAction.select(CABAction.id, CABAction.text, CABAction.owner,
                                     owner.name, CABAction.due, CABAction.done, Change.ref)
                    .join(owner, pw.JOIN.LEFT_OUTER, on=(CABAction.owner == owner.id))
                    .switch(CABAction)
                    .join(Change, pw.JOIN.LEFT_OUTER, on=(CABAction.change == Change.id))
                    .where(CABAction.meeting == meeting.id)
                    .order_by(CABAction.due.is_null(), CABAction.due, CABAction.text).tuples())
    return MeetingView(meeting.id, meeting.version, meeting.ref, meeting.title, meeting.starts_at,
                       meeting.ends_at, meeting.location, bool(meeting.emergency), meeting.status,
                       meeting.chair_id, meeting.chair_name, meeting.quorum, meeting.notes,
                       members, attendees, tuple(agenda), actions)


MEETING_FIELDS = ("title", "starts_at", "location", "emergency", "quorum", "status", "chair",
                  "notes")


def save_meeting(meeting_id, version: int | None, edits: dict[str, Any],  # noqa: ANN001
                 actor: Actor = SYSTEM, new_id: Any = None) -> CABMeeting:
    """Create (``meeting_id`` None, with key ``new_id``) or update a meeting from the form's
    edits in one transaction: its fields and ``attendance`` (person id -> present).  A new
    meeting lasts an hour; moving an existing one keeps its length."""
    require(actor, "cab.manage")
    from itsmdesk.services.validation import required_text

    values = {k: v for k, v in edits.items() if k in MEETING_FIELDS}
    attendance = edits.get("attendance")
    with records.atomic():
        if meeting_id is None:
            if new_id is not None:
                values["id"] = new_id
            if values.get("starts_at") and "ends_at" not in values:
                values["ends_at"] = values["starts_at"] + dt.timedelta(hours=1)
            present = [pid for pid, here in (attendance or {}).items() if here]
            meeting = create_meeting(values, actor, attendees=present)
            if attendance and not all(attendance.values()):
                set_attendees(meeting.id, attendance, actor)
            return meeting
        required_text(values, "title", "Title", creating=False)
        meeting = records.get(CABMeeting, meeting_id)
        if values.get("starts_at") and meeting.ends_at and meeting.starts_at:
            values["ends_at"] = values["starts_at"] + (meeting.ends_at - meeting.starts_at)
        update_meeting(meeting.id, version, values, actor)
        if attendance is not None:
            set_attendees(meeting.id, attendance, actor, version)
        return records.get(CABMeeting, meeting.id)
