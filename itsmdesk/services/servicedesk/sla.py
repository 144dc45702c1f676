"""SLA targets per priority and the clocks they give, counted on business calendars.

- Targets (response and resolution, in business minutes) come from ``SLADefinition`` rows per
  ticket kind and priority, else :data:`DEFAULT_TARGETS`.
- Due dates are counted on the definition's calendar, else the default calendar
  (:func:`itsmdesk.services.servicedesk.calendars.default_calendar`), else 24x7.
- While a ticket is pending the clock stops: on leaving pending the due dates move out by the
  business time the ticket still had when it was paused.
- ``state`` says ok / at_risk / breached / paused / met; at_risk starts when the configured share
  (default 75 %) of the resolution target is used up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from itsmdesk import config
from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.base import Setting
from itsmdesk.models.incident import CLOSED_STATUSES
from itsmdesk.models.servicedesk import BusinessCalendar, SLADefinition
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.servicedesk import calendars

# priority -> (response minutes, resolution minutes), used when no SLA row exists
DEFAULT_TARGETS = {1: (15, 240), 2: (30, 480), 3: (120, 1440), 4: (480, 4320), 5: (1440, 10080)}
ESCALATE_SETTING = config.ESCALATE_PCT.key
DEFAULT_ESCALATE_PCT = config.ESCALATE_PCT.default


@dataclass(frozen=True)
class Target:
    response_minutes: int
    resolution_minutes: int
    escalate_at_pct: int
    calendar_id: object | None


def escalate_pct() -> int:
    row = Setting.get_or_none(Setting.key == ESCALATE_SETTING)
    return int(row.value) if row and row.value else DEFAULT_ESCALATE_PCT


def set_escalate_pct(pct: int, actor: Actor = SYSTEM, version: int | None = None) -> int:
    """Store the share of the resolution time at which tickets are flagged at risk (the
    setting ``sla_escalate_at_pct``, versioned and journalled); returns its new version."""
    if not 1 <= int(pct) <= 100:
        raise ValidationError(N_("The escalation share must be 1-100 %, not {pct}"), pct=pct)
    return records.set_setting(ESCALATE_SETTING, int(pct), actor, version)


def target(kind: str, priority: int) -> Target:
    row = SLADefinition.get_or_none((SLADefinition.ticket_kind == kind)
                                    & (SLADefinition.priority == priority))
    if row:
        return Target(row.response_minutes, row.resolution_minutes, row.escalate_at_pct or
                      escalate_pct(), row.calendar_id)
    response, resolution = DEFAULT_TARGETS.get(priority, DEFAULT_TARGETS[5])
    return Target(response, resolution, escalate_pct(), None)


def targets(kind: str, priority: int) -> tuple[int, int]:
    t = target(kind, priority)
    return t.response_minutes, t.resolution_minutes


def hours_for(t: Target) -> calendars.Hours:
    cal = None
    if t.calendar_id is not None:
        cal = BusinessCalendar.get_or_none(BusinessCalendar.id == t.calendar_id)
    return calendars.load(cal or calendars.default_calendar())


def due_dates(kind: str, priority: int, opened_at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    t = target(kind, priority)
    hours = hours_for(t)
    return (calendars.add_business_minutes(hours, opened_at, t.response_minutes),
            calendars.add_business_minutes(hours, opened_at, t.resolution_minutes))


def resume_due(kind: str, priority: int, due: dt.datetime | None, paused_since: dt.datetime,
               now: dt.datetime) -> dt.datetime | None:
    """The new due date after a pause from ``paused_since`` to ``now``: the business time that
    was left at the pause, counted from now."""
    if due is None:
        return None
    hours = hours_for(target(kind, priority))
    left = calendars.business_minutes_between(hours, paused_since, due)
    return calendars.add_business_minutes(hours, now, left) if left > 0 else now + (due - paused_since)


def share_used(kind: str, priority: int, due: dt.datetime, now: dt.datetime) -> float:
    """Share (0..1+) of the resolution target used up at ``now``."""
    t = target(kind, priority)
    hours = hours_for(t)
    left = calendars.business_minutes_between(hours, now, due)
    return 1.0 - left / max(1, t.resolution_minutes)


def shown_state(stored: str | None, status: str | None, due: dt.datetime | None,
                now: dt.datetime) -> str:
    """The SLA state a queue row or a form shows between two escalation ticks, from what the
    row holds (no database read): the stored state, but 'breached' from the moment an open,
    running ticket passes its due time."""
    state_ = stored or "ok"
    if state_ in ("ok", "at_risk") and due is not None and now > due \
            and status not in CLOSED_STATUSES and status != "pending":
        return "breached"
    return state_


def state(incident, now: dt.datetime) -> str:  # noqa: ANN001 - an Incident
    """The SLA state of a ticket at ``now`` (computed; the stored ``sla_state`` follows it)."""
    due = incident.resolution_due
    if incident.status in CLOSED_STATUSES:
        done = incident.resolved_at or now
        return "breached" if due and done > due else "met"
    if incident.sla_state == "breached" or (due and now > due and incident.status != "pending"):
        return "breached"
    if incident.status == "pending":
        return "paused"
    if due is None:
        return "ok"
    t = target(incident.kind, incident.priority)
    if share_used(incident.kind, incident.priority, due, now) * 100 >= t.escalate_at_pct:
        return "at_risk"
    return "ok"


def risk_threshold(kind: str, priority: int, now: dt.datetime) -> dt.datetime:
    """Tickets of this kind/priority with a resolution due at or before this moment have used
    at least the escalation share of their target (remaining business time is monotonic in the
    due date, so one comparison per priority finds them all)."""
    t = target(kind, priority)
    left = t.resolution_minutes * (100 - t.escalate_at_pct) / 100
    return calendars.add_business_minutes(hours_for(t), now, left)


def set_target(kind: str, priority: int, response_minutes: int, resolution_minutes: int,
               calendar_id=None, escalate_at_pct: int = DEFAULT_ESCALATE_PCT,  # noqa: ANN001
               actor=None, version: int | None = None) -> SLADefinition:  # noqa: ANN001
    """Set one kind and priority's targets.  ``version``: the target's version as it was read
    (0 when it had no row), checked like any record's; None skips the check."""
    if response_minutes <= 0 or resolution_minutes <= 0:
        raise ValidationError(N_("SLA targets must be positive minutes"))
    if response_minutes > resolution_minutes:
        raise ValidationError(N_("The response target cannot be longer than the resolution target"))
    values = {"name": f"{kind} P{priority}", "ticket_kind": kind, "priority": priority,
              "response_minutes": response_minutes, "resolution_minutes": resolution_minutes,
              "calendar": calendar_id, "escalate_at_pct": escalate_at_pct}
    with records.atomic():
        row = SLADefinition.get_or_none((SLADefinition.ticket_kind == kind)
                                        & (SLADefinition.priority == priority))
        if row is None:
            return records.create(SLADefinition, values, actor or SYSTEM)
        if version == 0:  # created by someone else since it was read
            records.raise_conflict(row, 0)
        return records.update(SLADefinition, row.id, version, values, actor or SYSTEM)


@dataclass(frozen=True)
class SlaSettings:
    """What the SLA dialog shows for one ticket kind, with the versions to save against."""

    kind: str
    targets: dict[int, tuple[int, int]]  # priority -> (response, resolution) minutes
    versions: dict[int, int]  # priority -> the target's version (0: no row yet)
    escalate_pct: int
    escalate_version: int  # the setting's version (0: never saved)


def settings_for(kind: str = "incident") -> SlaSettings:
    rows = {r.priority: r for r in SLADefinition.select()
            .where(SLADefinition.ticket_kind == kind)}
    targets, versions = {}, {}
    for p in (1, 2, 3, 4, 5):
        t = target(kind, p)
        targets[p] = (t.response_minutes, t.resolution_minutes)
        versions[p] = rows[p].version if p in rows else 0
    return SlaSettings(kind, targets, versions, escalate_pct(),
                       records.setting_version(ESCALATE_SETTING) or 0)


def save_settings(kind: str, targets: dict[int, tuple[int, int]], pct: int, actor: Actor = SYSTEM,
                  versions: dict[int, int] | None = None,
                  escalate_version: int | None = None) -> SlaSettings:
    """The SLA dialog's save: the escalation share and every priority's targets in one
    transaction, each checked against the version it was read at (a stale edit writes
    nothing).  Returns what is stored now."""
    versions = versions or {}
    with records.atomic():
        set_escalate_pct(pct, actor, escalate_version)
        for p, (response, resolution) in sorted(targets.items()):
            calendar_id = target(kind, p).calendar_id  # kept: the dialog does not show it
            set_target(kind, p, response, resolution, calendar_id, escalate_at_pct=int(pct),
                       actor=actor, version=versions.get(p))
    return settings_for(kind)


def list_targets() -> list[Target]:
    return [target(k, p) for k in ("incident", "request") for p in (1, 2, 3, 4, 5)]
