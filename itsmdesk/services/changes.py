"""Change Management: RFCs, affected CIs, CAB meetings and votes, schedule windows."""

from __future__ import annotations

from typing import Any

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.base import utcnow
from itsmdesk.models.change import (
    CHANGE_STATUSES,
    CHANGE_TYPES,
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
from itsmdesk.services.validation import one_of, ordered_times, required_text


def _validate(values: dict[str, Any], creating: bool, current: dict | None = None) -> None:
    required_text(values, "title", "Title", 300, creating)
    one_of(values, "type", CHANGE_TYPES, "Change type")
    one_of(values, "status", CHANGE_STATUSES, "Status")
    ordered_times(values, "planned_start", "planned_end", "Planned window", current)
    ordered_times(values, "downtime_start", "downtime_end", "Downtime window", current)


def create_change(values: dict[str, Any], actor: Actor = SYSTEM, cis: list | None = None) -> Change:
    values = dict(values)
    _validate(values, True)
    with records.atomic():
        change = records.create(Change, values, actor, ref_prefix="CHG")
        if cis:
            set_affected_cis(change.id, cis, actor)
        return change


def update_change(change_id, version: int | None, changes: dict[str, Any],
                  actor: Actor = SYSTEM) -> Change:
    with records.atomic():
        current = records.get(Change, change_id)
        _validate(changes, False, records.snapshot(current))
        return records.update(Change, change_id, version, changes, actor)


def set_affected_cis(change_id, cis: list, actor: Actor = SYSTEM) -> None:
    with records.atomic():
        change = records.get(Change, change_id)
        wanted = {getattr(ci, "id", ci) for ci in cis}
        have = {row.ci_id for row in ChangeCI.select().where(ChangeCI.change == change.id)}
        for ci_id in wanted - have:
            ChangeCI.create(change=change.id, ci=ci_id)
        if have - wanted:
            ChangeCI.delete().where((ChangeCI.change == change.id)
                                    & ChangeCI.ci.in_(list(have - wanted))).execute()
        if wanted != have:
            records.write_journal("change", change.id, change.ref,
                                  [("affected_cis", ",".join(sorted(map(str, have))),
                                    ",".join(sorted(map(str, wanted))))], actor)


def create_template(values: dict[str, Any], actor: Actor = SYSTEM) -> ChangeTemplate:
    required_text(values, "name", "Name", 200)
    with records.atomic():
        return records.create(ChangeTemplate, values, actor)


def create_meeting(values: dict[str, Any], actor: Actor = SYSTEM, attendees: list | None = None,
                   changes: list | None = None) -> CABMeeting:
    required_text(values, "title", "Title")
    if not values.get("starts_at"):
        raise ValidationError(N_("A CAB meeting needs a date and time"), field="starts_at")
    ordered_times(values, "starts_at", "ends_at", "Meeting")
    with records.atomic():
        meeting = records.create(CABMeeting, values, actor, ref_prefix="CAB")
        for person in attendees or []:
            CABAttendee.create(meeting=meeting.id, person=getattr(person, "id", person))
        for pos, change in enumerate(changes or []):
            CABAgendaItem.create(meeting=meeting.id, change=getattr(change, "id", change),
                                 position=pos)
        return meeting


def cast_vote(change_id, person_id, vote: str, comment: str = "", meeting_id=None,  # noqa: ANN001
              actor: Actor = SYSTEM) -> Approval:
    if vote not in VOTES:
        raise ValidationError(N_("Vote '{value}' is not one of: {allowed}"), field="vote",
                              value=vote, allowed=", ".join(VOTES))
    with records.atomic():
        change = records.get(Change, change_id)
        existing = Approval.get_or_none((Approval.change == change.id)
                                        & (Approval.person == person_id))
        old = existing.vote if existing else None
        if existing:
            existing.vote, existing.comment, existing.voted_at = vote, comment, utcnow()
            existing.meeting = meeting_id or existing.meeting_id
            existing.save()
            approval = existing
        else:
            approval = Approval.create(change=change.id, person=person_id, vote=vote,
                                       comment=comment, voted_at=utcnow(), meeting=meeting_id)
        records.write_journal("change", change.id, change.ref,
                              [(f"vote:{person_id}", old, vote)], actor)
        return approval


def create_window(values: dict[str, Any], actor: Actor = SYSTEM) -> ScheduleWindow:
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
