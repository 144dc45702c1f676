"""Root cause analysis: the timeline of a problem's linked incidents and structured notes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.incident import Incident, WorkLog
from itsmdesk.models.problem import Problem
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor

NOTE_KEYS = ("symptoms", "hypotheses", "evidence", "cause")


@dataclass(frozen=True)
class TimelineEvent:
    at: dt.datetime
    kind: str  # incident_opened | incident_resolved | work_log | problem_status | problem_created
    ref: str
    text: str
    record_kind: str
    record_id: Any


def timeline(problem_id: Any, include_work_log: bool = True, limit: int = 2000) -> list[TimelineEvent]:
    """Everything that happened to the problem and its linked incidents, oldest first."""
    problem = records.get(Problem, problem_id)
    incidents = list(Incident.select(Incident.id, Incident.ref, Incident.title, Incident.opened_at,
                                     Incident.resolved_at)
                     .where(Incident.problem == problem.id).order_by(Incident.opened_at)
                     .limit(limit).tuples())
    work_log: list[tuple] = []
    if include_work_log and incidents:
        work_log = list(WorkLog.select(WorkLog.incident, WorkLog.created_at, WorkLog.text)
                        .where(WorkLog.incident.in_([i[0] for i in incidents]))
                        .order_by(WorkLog.created_at).limit(limit).tuples())
    return build_timeline(problem.id, problem.ref, problem.title, problem.created_at, incidents,
                          work_log, records.field_history("problem", problem.id, ["status"]))


def build_timeline(problem_id: Any, ref: str, title: str, created_at: dt.datetime,
                   incidents: Iterable[tuple], work_log: Iterable[tuple],
                   status_history: Iterable[records.HistoryEntry]) -> list[TimelineEvent]:
    """The timeline from rows already read (no database): ``incidents`` as (id, ref, title,
    opened_at, resolved_at), ``work_log`` as (incident id, created_at, text), ``status_history``
    the problem's status values (records.field_history)."""
    events = [TimelineEvent(created_at, "problem_created", ref, title, "problem", problem_id)]
    refs = {}
    for inc_id, inc_ref, inc_title, opened_at, resolved_at in incidents:
        refs[inc_id] = inc_ref
        events.append(TimelineEvent(opened_at, "incident_opened", inc_ref, inc_title,
                                    "incident", inc_id))
        if resolved_at:
            events.append(TimelineEvent(resolved_at, "incident_resolved", inc_ref, inc_title,
                                        "incident", inc_id))
    for inc_id, at, text in work_log:
        events.append(TimelineEvent(at, "work_log", refs.get(inc_id, ""), text, "incident",
                                    inc_id))
    for row in sorted(status_history, key=lambda e: e.at):
        events.append(TimelineEvent(row.at, "problem_status", ref,
                                    f"{row.old} → {row.new}" if row.old else str(row.new),
                                    "problem", problem_id))
    events.sort(key=lambda e: (e.at, e.kind != "problem_created"))
    return events


def notes(problem: Problem) -> dict[str, str]:
    data = problem.rca or {}
    return {key: str(data.get(key) or "") for key in NOTE_KEYS}


def merge_notes(current: dict[str, str], values: dict[str, str]) -> dict[str, str]:
    """``current`` notes with ``values`` put over them (stripped); unknown notes are refused."""
    unknown = sorted(set(values) - set(NOTE_KEYS))
    if unknown:
        raise ValidationError(N_("Unknown root cause analysis note(s): {names}"), field="rca",
                              names=", ".join(unknown))
    merged = {key: str(current.get(key) or "") for key in NOTE_KEYS}
    merged.update({k: (v or "").strip() for k, v in values.items()})
    return merged


def set_notes(problem_id: Any, version: int | None, values: dict[str, str],
              actor: Actor = SYSTEM) -> Problem:
    """Save the structured RCA notes; a stated cause also fills the root cause if empty."""
    merge_notes({}, values)  # refuse unknown notes before touching anything
    with records.atomic():
        problem = records.get(Problem, problem_id)
        merged = merge_notes(notes(problem), values)
        changes: dict[str, Any] = {"rca": merged}
        if merged["cause"] and not (problem.root_cause or "").strip():
            changes["root_cause"] = merged["cause"]
        return records.update(Problem, problem.id, version, changes, actor)
