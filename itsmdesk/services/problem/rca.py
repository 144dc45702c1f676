"""Root cause analysis: the timeline of a problem's linked incidents and structured notes."""

from __future__ import annotations

import datetime as dt
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
    events = [TimelineEvent(problem.created_at, "problem_created", problem.ref, problem.title,
                            "problem", problem.id)]
    incidents = list(Incident.select(Incident.id, Incident.ref, Incident.title, Incident.opened_at,
                                     Incident.resolved_at, Incident.ci)
                     .where(Incident.problem == problem.id).order_by(Incident.opened_at)
                     .limit(limit))
    for inc in incidents:
        events.append(TimelineEvent(inc.opened_at, "incident_opened", inc.ref, inc.title,
                                    "incident", inc.id))
        if inc.resolved_at:
            events.append(TimelineEvent(inc.resolved_at, "incident_resolved", inc.ref, inc.title,
                                        "incident", inc.id))
    if include_work_log and incidents:
        refs = {inc.id: inc.ref for inc in incidents}
        for entry in (WorkLog.select().where(WorkLog.incident.in_(list(refs)))
                      .order_by(WorkLog.created_at).limit(limit)):
            events.append(TimelineEvent(entry.created_at, "work_log", refs[entry.incident_id],
                                        entry.text, "incident", entry.incident_id))
    for row in sorted(records.field_history("problem", problem.id, ["status"]), key=lambda e: e.at):
        events.append(TimelineEvent(row.at, "problem_status", problem.ref,
                                    f"{row.old} → {row.new}" if row.old else str(row.new), "problem", problem.id))
    events.sort(key=lambda e: (e.at, e.kind != "problem_created"))
    return events


def notes(problem: Problem) -> dict[str, str]:
    data = problem.rca or {}
    return {key: str(data.get(key) or "") for key in NOTE_KEYS}


def set_notes(problem_id: Any, version: int | None, values: dict[str, str],
              actor: Actor = SYSTEM) -> Problem:
    """Save the structured RCA notes; a stated cause also fills the root cause if empty."""
    unknown = sorted(set(values) - set(NOTE_KEYS))
    if unknown:
        raise ValidationError(N_("Unknown root cause analysis note(s): {names}"), field="rca",
                              names=", ".join(unknown))
    with records.atomic():
        problem = records.get(Problem, problem_id)
        merged = notes(problem)
        merged.update({k: (v or "").strip() for k, v in values.items()})
        changes: dict[str, Any] = {"rca": merged}
        if merged["cause"] and not (problem.root_cause or "").strip():
            changes["root_cause"] = merged["cause"]
        return records.update(Problem, problem.id, version, changes, actor)
