"""Stored values a service would never write: what ``itsmdesk check`` reports.

Every coded field (status, priority, impact, urgency, type, risk level...) holds one of the
values its service's rules allow (the tuples below are the ones the services validate with).  A
row holding anything else came from outside the funnel (a hand edit, a foreign tool, a bug) and
would puzzle every screen that shows it; ``check`` names how many and which.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import peewee as pw

from itsmdesk.models.change import CHANGE_STATUSES, CHANGE_TYPES, RISK_LEVELS, CABMeeting, Change
from itsmdesk.models.cmdb import CI, CI_STATUSES, RELATION_TYPES, Relation
from itsmdesk.models.incident import (
    INCIDENT_STATUSES,
    LEVELS,
    PRIORITIES,
    REQUEST_STATUSES,
    SLA_STATES,
    Incident,
)
from itsmdesk.models.knowledge import ARTICLE_STATUSES, Article
from itsmdesk.models.problem import KE_SOLUTION_STATUSES, PROBLEM_STATUSES, KnownError, Problem
from itsmdesk.models.release import (
    RELEASE_STATUSES,
    RELEASE_TYPES,
    STEP_STATUSES,
    Release,
    ReleaseStep,
)
from itsmdesk.services.change.cab import MEETING_STATUSES


@dataclass(frozen=True)
class Rule:
    """``field`` of ``model`` holds one of ``allowed`` (rows matching ``where`` only; NULL is
    allowed when ``nullable``)."""

    model: type[pw.Model]
    field: str
    allowed: tuple[Any, ...]
    nullable: bool = False
    where: Any = None


def rules() -> list[Rule]:
    return [
        Rule(Incident, "kind", ("incident", "request")),
        Rule(Incident, "status", INCIDENT_STATUSES, where=Incident.kind == "incident"),
        Rule(Incident, "status", REQUEST_STATUSES, where=Incident.kind == "request"),
        Rule(Incident, "impact", LEVELS),
        Rule(Incident, "urgency", LEVELS),
        Rule(Incident, "priority", PRIORITIES),
        Rule(Incident, "sla_state", SLA_STATES, nullable=True),
        Rule(Problem, "status", PROBLEM_STATUSES),
        Rule(Problem, "priority", PRIORITIES),
        Rule(KnownError, "solution_status", KE_SOLUTION_STATUSES),
        Rule(KnownError, "status", ("open", "retired")),
        Rule(Change, "type", CHANGE_TYPES),
        Rule(Change, "status", CHANGE_STATUSES),
        Rule(Change, "risk_level", RISK_LEVELS, nullable=True),
        Rule(Change, "risk_override", RISK_LEVELS, nullable=True),
        Rule(CABMeeting, "status", MEETING_STATUSES),
        Rule(Release, "type", RELEASE_TYPES),
        Rule(Release, "status", RELEASE_STATUSES),
        Rule(Release, "risk_level", RISK_LEVELS, nullable=True),
        Rule(ReleaseStep, "status", STEP_STATUSES),
        Rule(CI, "status", CI_STATUSES),
        Rule(Relation, "type", RELATION_TYPES),
        Rule(Article, "status", ARTICLE_STATUSES),
    ]


@dataclass(frozen=True)
class BadValues:
    """Rows of one table whose ``field`` holds a value outside its rules."""

    table: str
    field: str
    count: int
    examples: list[str]  # "INC-000012 (nonsense)"


def _label(model: type[pw.Model]) -> pw.Field:
    for name in ("ref", "name", "title"):
        if name in model._meta.fields:
            return model._meta.fields[name]
    return model._meta.fields["id"]


def find(limit: int = 5, only: Iterable[Rule] | None = None) -> list[BadValues]:
    """Every rule broken, with the number of rows and a few of them named."""
    out = []
    for rule in only or rules():
        model = rule.model
        column = model._meta.fields[rule.field]
        bad = ~column.in_(list(rule.allowed))
        bad = (bad & column.is_null(False)) if rule.nullable else (bad | column.is_null())
        if rule.where is not None:
            bad = bad & rule.where
        count = model.select().where(bad).count()
        if not count:
            continue
        rows = model.select(_label(model), column).where(bad).order_by(_label(model)).limit(limit)
        examples = [f"{name} ({value})" for name, value in rows.tuples()]
        out.append(BadValues(model._meta.table_name, rule.field, count, examples))
    return out
