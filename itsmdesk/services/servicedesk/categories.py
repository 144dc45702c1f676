"""Ticket categories and their diagnostic scripts.

A category's ``diagnostic_script`` is a list of steps the incident form walks the agent through
(see :func:`itsmdesk.services.servicedesk.incidents.diagnostic_script` and ``record_diagnosis``)::

    [{"question": "Is more than one user affected?",
      "answers": [{"label": "Yes, the whole site", "route_team": "<team id>"},
                  {"label": "Only this caller"}]}]

``route_team`` is optional.  :func:`save_script` stores it as the team's id (text), which is what
``record_diagnosis`` hands to the ticket's team field; a team *name* is accepted on input (the
demo data and hand-written JSON files use names) and turned into the id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.people import Team
from itsmdesk.models.servicedesk import TICKET_KINDS, Category
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import require

MAX_QUESTION = 500
MAX_LABEL = 200


@dataclass
class CategoryInfo:
    id: Any
    name: str
    kind: str
    version: int
    steps: list[dict] = field(default_factory=list)


def _info(row: Category) -> CategoryInfo:
    return CategoryInfo(row.id, row.name, row.kind, row.version, list(row.diagnostic_script or []))


def list_categories(kind: str | None = None) -> list[CategoryInfo]:
    """Categories (of one kind, or all: incidents first) with their scripts."""
    query = Category.select().order_by(Category.kind, Category.name)
    if kind is not None:
        query = query.where(Category.kind == kind)
    return [_info(c) for c in query]


def get_category(category_id: Any) -> CategoryInfo:
    return _info(records.get(Category, category_id))


def find_category(name: str, kind: str | None = None) -> CategoryInfo:
    """A category by name (case-insensitive); ``kind`` settles a name used by both kinds."""
    query = Category.select().where(pw.fn.LOWER(Category.name) == (name or "").strip().lower())
    if kind is not None:
        query = query.where(Category.kind == kind)
    rows = list(query.order_by(Category.kind))
    if not rows:
        raise ValidationError(N_("No category named {name}"), field="name", name=name)
    if len(rows) > 1:
        raise ValidationError(N_("Both an incident and a request category are named {name}; "
                                 "say which kind"), field="kind", name=name)
    return _info(rows[0])


def teams() -> list[tuple[Any, str]]:
    """(id, name) of every team, for the route-to-team pickers."""
    return [(t.id, t.name) for t in Team.select(Team.id, Team.name).order_by(Team.name)]


@dataclass(frozen=True)
class EditorData:
    """What the diagnostic-script editor shows, read in one call."""

    teams: list[tuple[Any, str]]
    categories: list[CategoryInfo]


def editor_data() -> EditorData:
    """Every team (route-to pickers) and every category with its script."""
    return EditorData(teams(), list_categories())


def _team_id(value: Any, step_no: int) -> str:
    text = str(value).strip()
    team = None
    try:
        team = Team.get_or_none(Team.id == uuid.UUID(text))
    except ValueError:
        pass
    if team is None:
        team = Team.get_or_none(Team.name == text)
    if team is None:
        raise ValidationError(N_("Step {n}: there is no team {team} to route to"),
                              field="route_team", n=step_no, team=text)
    return str(team.id)


def normalise_script(steps: Any) -> list[dict]:
    """Check a script and return it in its stored shape (or raise a ValidationError).

    Every step needs a question and at least one answer; every answer a label; a route-to team
    must exist.  Text is trimmed; keys other than question/answers/label/route_team are dropped.
    """
    if steps is None:
        return []
    if not isinstance(steps, list):
        raise ValidationError(N_("A diagnostic script is a list of steps"), field="steps")
    out = []
    for n, step in enumerate(steps, 1):
        if not isinstance(step, dict):
            raise ValidationError(N_("Step {n} is not a question with answers"), field="steps", n=n)
        question = str(step.get("question") or "").strip()
        if not question:
            raise ValidationError(N_("Step {n} needs a question"), field="question", n=n)
        if len(question) > MAX_QUESTION:
            raise ValidationError(N_("The question of step {n} is longer than {max} characters"),
                                  field="question", n=n, max=MAX_QUESTION)
        answers = step.get("answers")
        if not isinstance(answers, list) or not answers:
            raise ValidationError(N_("Step {n} needs at least one answer"), field="answers", n=n)
        clean_answers = []
        for m, answer in enumerate(answers, 1):
            if not isinstance(answer, dict):
                answer = {"label": answer}
            label = str(answer.get("label") or "").strip()
            if not label:
                raise ValidationError(N_("Answer {m} of step {n} needs a label"), field="label",
                                      n=n, m=m)
            if len(label) > MAX_LABEL:
                raise ValidationError(N_("Answer {m} of step {n} is longer than {max} characters"),
                                      field="label", n=n, m=m, max=MAX_LABEL)
            clean = {"label": label}
            if answer.get("route_team"):
                clean["route_team"] = _team_id(answer["route_team"], n)
            clean_answers.append(clean)
        out.append({"question": question, "answers": clean_answers})
    return out


def save_script(category_id: Any, version: int | None, steps: Any,
                actor: Actor = SYSTEM) -> Category:
    """Replace a category's diagnostic script (version-checked; an empty list removes it)."""
    require(actor or SYSTEM, "catalog.manage")
    clean = normalise_script(steps)
    with records.atomic():
        return records.update(Category, category_id, version,
                              {"diagnostic_script": clean or None}, actor)


def _check_name(name: str, kind: str, except_id: Any = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError(N_("A category needs a name"), field="name")
    if len(name) > 200:
        raise ValidationError(N_("A category name is at most 200 characters"), field="name")
    if kind not in TICKET_KINDS:
        raise ValidationError(N_("A category is for incidents or for requests, not {kind}"),
                              field="kind", kind=kind)
    clash = Category.select().where((Category.kind == kind) & (pw.fn.LOWER(Category.name) == name.lower()))
    if except_id is not None:
        clash = clash.where(Category.id != except_id)
    if clash.exists():
        raise ValidationError(N_("There is already a {kind} category named {name}"),
                              field="name", kind=kind, name=name)
    return name


def create_category(name: str, kind: str = "incident", actor: Actor = SYSTEM) -> Category:
    require(actor or SYSTEM, "catalog.manage")
    with records.atomic():
        name = _check_name(name, kind)
        return records.create(Category, {"name": name, "kind": kind}, actor)


def rename_category(category_id: Any, version: int | None, name: str,
                    actor: Actor = SYSTEM) -> Category:
    require(actor or SYSTEM, "catalog.manage")
    with records.atomic():
        row = records.get(Category, category_id)
        name = _check_name(name, row.kind, except_id=row.id)
        return records.update(Category, category_id, version, {"name": name}, actor)
