"""``itsmdesk list KIND``: reference, title or name, and status of any record kind."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models import (
    CI,
    Announcement,
    Article,
    CABMeeting,
    Change,
    ChangeTemplate,
    Incident,
    Interaction,
    KnownError,
    Person,
    Problem,
    Relation,
    Release,
    ScheduleWindow,
    Site,
    Team,
)


@dataclass(frozen=True)
class Kind:
    model: type[pw.Model]
    order: Any
    row: Callable[[Any], dict[str, Any]]
    where: Any = None
    select: Callable[[], Any] | None = None  # the query, when rows need names joined in
    columns: tuple[str, ...] | None = None  # the human table's columns (default ref/title/status)


_SOURCE, _TARGET = CI.alias("src"), CI.alias("tgt")


def _relations_query() -> Any:
    """Relations with their CIs' names (one query, no id shown where a name belongs)."""
    return (Relation.select(Relation, _SOURCE.name.alias("source_name"),
                            _TARGET.name.alias("target_name"))
            .join(_SOURCE, on=(Relation.source == _SOURCE.id))
            .switch(Relation).join(_TARGET, on=(Relation.target == _TARGET.id)).objects())


def _relation(r) -> dict[str, Any]:  # noqa: ANN001
    source, target = r.source_name, r.target_name
    return {"ref": f"{source} {r.type} {target}", "name": f"{source} {r.type} {target}",
            "status": r.type, "id": str(r.id), "source": source, "type": r.type,
            "target": target, "propagates": r.propagates, "redundant": r.redundant}


def _window(r) -> dict[str, Any]:  # noqa: ANN001
    return {"ref": str(r.id), "name": r.name, "status": r.kind, "rrule": r.rrule,
            "ci": r.ci_name, "starts_at": r.starts_at.isoformat(sep=" ")}


def _windows_query() -> Any:
    return (ScheduleWindow.select(ScheduleWindow, CI.name.alias("ci_name"))
            .join(CI, pw.JOIN.LEFT_OUTER, on=(ScheduleWindow.ci == CI.id)).objects())


def _ticket(r) -> dict[str, Any]:  # noqa: ANN001
    return {"ref": r.ref, "title": r.title, "status": r.status, "priority": r.priority,
            "opened_at": r.opened_at.isoformat(sep=" ") if r.opened_at else None}


KINDS: dict[str, Kind] = {
    "incidents": Kind(Incident, Incident.opened_at.desc(), _ticket, Incident.kind == "incident"),
    "requests": Kind(Incident, Incident.opened_at.desc(), _ticket, Incident.kind == "request"),
    "problems": Kind(Problem, Problem.created_at.desc(),
                     lambda r: {"ref": r.ref, "title": r.title, "status": r.status}),
    "known-errors": Kind(KnownError, KnownError.created_at.desc(),
                         lambda r: {"ref": r.ref, "title": r.title, "status": r.solution_status}),
    "changes": Kind(Change, Change.created_at.desc(),
                    lambda r: {"ref": r.ref, "title": r.title, "status": r.status, "type": r.type,
                               "planned_start": r.planned_start.isoformat(sep=" ")
                               if r.planned_start else None}),
    "releases": Kind(Release, Release.created_at.desc(),
                     lambda r: {"ref": r.ref, "name": r.name, "title": r.name, "status": r.status,
                                "version": r.release_version}),
    "cis": Kind(CI, CI.name, lambda r: {"ref": r.name, "name": r.name, "status": r.status,
                                        "criticality": r.criticality}),
    "relations": Kind(Relation, Relation.created_at, _relation, select=_relations_query,
                      columns=("source", "type", "target", "propagates")),
    "articles": Kind(Article, Article.created_at.desc(),
                     lambda r: {"ref": r.ref, "title": r.title, "status": r.status}),
    "cab-meetings": Kind(CABMeeting, CABMeeting.starts_at.desc(),
                         lambda r: {"ref": r.ref, "title": r.title, "status": r.status,
                                    "starts_at": r.starts_at.isoformat(sep=" ")}),
    "people": Kind(Person, Person.name, lambda r: {"ref": r.email or str(r.id), "name": r.name,
                                                   "status": "active" if r.active else "inactive"}),
    "teams": Kind(Team, Team.name, lambda r: {"ref": r.name, "name": r.name, "status": "active"}),
    "sites": Kind(Site, Site.name, lambda r: {"ref": r.code, "name": r.name, "status": "active"}),
    "templates": Kind(ChangeTemplate, ChangeTemplate.name,
                      lambda r: {"ref": r.name, "name": r.name,
                                 "status": "active" if r.active else "inactive"}),
    "windows": Kind(ScheduleWindow, ScheduleWindow.starts_at, _window, select=_windows_query,
                    columns=("name", "status", "ci", "starts_at", "rrule")),
    "interactions": Kind(Interaction, Interaction.contacted_at.desc(),
                         lambda r: {"ref": r.ref, "title": r.summary,
                                    "status": r.incident.ref if r.incident_id else "-",
                                    "channel": r.channel,
                                    "contacted_at": r.contacted_at.isoformat(sep=" ")
                                    if r.contacted_at else None,
                                    "external_key": r.external_key}),
    "announcements": Kind(Announcement, Announcement.starts_at.desc(),
                          lambda r: {"ref": str(r.id), "title": r.title,
                                     "status": "active" if r.active else "inactive"}),
}


def list_records(kind: str, limit: int = 50, offset: int = 0,
                 viewer: Any = None) -> list[dict[str, Any]]:
    """With ``viewer`` (an Actor), tickets are only those that person may see (a requester:
    their own; see :mod:`itsmdesk.services.visibility`)."""
    from itsmdesk.services.visibility import tickets_visible_to

    spec = KINDS.get(kind)
    if spec is None:
        raise ValidationError(N_("Unknown record kind '{kind}'; choose one of: {kinds}"), kind=kind,
                              kinds=", ".join(KINDS))
    query = spec.select() if spec.select else spec.model.select()
    if spec.where is not None:
        query = query.where(spec.where)
    if spec.model is Incident:
        visible = tickets_visible_to(viewer)
        if visible is not True:
            query = query.where(visible)
    query = query.order_by(spec.order).limit(limit).offset(offset)
    return [spec.row(r) for r in query]
