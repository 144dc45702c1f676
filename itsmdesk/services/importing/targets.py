"""What each import kind writes to: model, reference prefix, allowed values, links to other records.

Also resolves the names a source gives for people, teams, categories, CIs, classes, sites and
linked records (changes, problems...) to ids, and plans the rows to create for missing ones.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import peewee as pw

from itsmdesk.models.change import CHANGE_STATUSES, CHANGE_TYPES, RISK_LEVELS, Change, ChangeCI
from itsmdesk.models.cmdb import (
    CI,
    CI_STATUSES,
    CRITICALITIES,
    PROPAGATION,
    RELATION_TYPES,
    CIClass,
    Relation,
)
from itsmdesk.models.incident import (
    CHANNELS,
    INCIDENT_STATUSES,
    LEVELS,
    PRIORITIES,
    REQUEST_STATUSES,
    SLA_STATES,
    Incident,
    Interaction,
)
from itsmdesk.models.people import Person, Site, Team
from itsmdesk.models.problem import PROBLEM_STATUSES, KnownError, Problem
from itsmdesk.models.servicedesk import Category
from itsmdesk.services.importing.spec import FieldSpec


@dataclass(frozen=True)
class Target:
    kind: str  # "incidents" ...
    model: type[pw.Model]
    ref_prefix: str | None
    required: tuple[str, ...]
    choices: dict[str, tuple[Any, ...]]


TARGETS: dict[str, Target] = {
    "incidents": Target("incidents", Incident, "INC", ("title",), {
        "kind": ("incident", "request"),
        "status": tuple(dict.fromkeys(INCIDENT_STATUSES + REQUEST_STATUSES)),
        "channel": CHANNELS, "impact": LEVELS, "urgency": LEVELS, "priority": PRIORITIES,
        "sla_state": SLA_STATES}),
    "changes": Target("changes", Change, "CHG", ("title",), {
        "type": CHANGE_TYPES, "status": CHANGE_STATUSES, "risk_level": RISK_LEVELS}),
    "problems": Target("problems", Problem, "PRB", ("title",), {
        "status": PROBLEM_STATUSES, "priority": PRIORITIES}),
    "cis": Target("cis", CI, None, ("name", "ci_class"), {
        "status": CI_STATUSES, "criticality": CRITICALITIES}),
    "relations": Target("relations", Relation, None, ("source", "target", "type"), {
        "type": RELATION_TYPES, "propagates": PROPAGATION}),
    "interactions": Target("interactions", Interaction, "INT", ("summary",), {
        "channel": CHANNELS}),
}

@dataclass(frozen=True)
class LinkField:
    """A field filling child rows that link the record to several others (a change's affected
    CIs): ``child`` rows with ``parent`` = the record and ``other`` = each linked row."""

    child: type[pw.Model]
    parent: str
    other: str
    model: type[pw.Model]


LINK_FIELDS: dict[tuple[str, str], LinkField] = {
    ("changes", "affected_cis"): LinkField(ChangeCI, "change", "ci", CI),
}


def lookup_model(kind: str, name: str) -> type[pw.Model] | None:
    """The model a field names rows of (a foreign key, or a link field's), else None."""
    link = LINK_FIELDS.get((kind, name))
    if link is not None:
        return link.model
    f = TARGETS[kind].model._meta.fields.get(name)
    return f.rel_model if isinstance(f, pw.ForeignKeyField) else None


# Linked-record models: how their rows are named in a source and created when missing.
REF_PREFIXES = {Incident: "INC", Change: "CHG", Problem: "PRB", KnownError: "KE",
                Interaction: "INT"}


def field_type(f: pw.Field) -> str:
    if isinstance(f, pw.ForeignKeyField):
        return "lookup"
    if isinstance(f, pw.DateTimeField):
        return "datetime"
    if isinstance(f, pw.DateField):
        return "date"
    if isinstance(f, pw.BooleanField):
        return "bool"
    if isinstance(f, (pw.IntegerField, pw.BigIntegerField)):
        return "int"
    if isinstance(f, pw.FloatField):
        return "float"
    if isinstance(f, pw.DecimalField):
        return "decimal"
    return "text"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_")[:64] or "unnamed"


@dataclass
class LookupPlan:
    """Names of one target model resolved to ids; ``new`` are rows to create (id -> values)."""

    model: type[pw.Model]
    ids: dict[str, uuid.UUID] = field(default_factory=dict)
    new: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)  # unknown, not to be created (row errors)


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _existing(model: type[pw.Model], column: pw.Field, names: list[str],
              fold: bool = False) -> dict[str, uuid.UUID]:
    found: dict[str, uuid.UUID] = {}
    for chunk in _chunks(names):
        if fold:
            wanted = [n.casefold() for n in chunk]
            query = model.select(model.id, column).where(pw.fn.LOWER(column).in_(wanted))
        else:
            query = model.select(model.id, column).where(column.in_(chunk))
        for row_id, value in query.tuples():
            found.setdefault(value.casefold() if fold else value, row_id)
    if fold:
        return {n: found[n.casefold()] for n in names if n.casefold() in found}
    return found


def resolve(model: type[pw.Model], spec: FieldSpec, names: set[str],
            record_kind: str = "incident", classes: dict[str, str] | None = None) -> LookupPlan:
    """Ids for ``names`` of ``model`` rows; plans creation when ``spec.create_missing``.

    ``classes`` gives, for CI names, the class name to create them with.
    """
    plan = LookupPlan(model)
    wanted = sorted(n for n in names if n)
    if not wanted:
        return plan
    if model is Person:
        emails = [n for n in wanted if "@" in n]
        plan.ids.update(_existing(Person, Person.email, emails, fold=True))
        plan.ids.update(_existing(Person, Person.name, [n for n in wanted if n not in plan.ids]))
    elif model is Team:
        plan.ids.update(_existing(Team, Team.name, wanted))
    elif model is Site:
        plan.ids.update(_existing(Site, Site.code, wanted))
        plan.ids.update(_existing(Site, Site.name, [n for n in wanted if n not in plan.ids]))
    elif model is Category:
        for chunk in _chunks(wanted):
            query = (Category.select(Category.id, Category.name)
                     .where(Category.name.in_(chunk) & (Category.kind == record_kind)))
            for row_id, name in query.tuples():
                plan.ids.setdefault(name, row_id)
    elif model is CIClass:
        plan.ids.update(_existing(CIClass, CIClass.name, wanted, fold=True))
        plan.ids.update(_existing(CIClass, CIClass.label, [n for n in wanted if n not in plan.ids],
                                  fold=True))
        rest = [n for n in wanted if n not in plan.ids]
        plan.ids.update(_existing(CIClass, CIClass.name, [slug(n) for n in rest]))
        for n in rest:
            if slug(n) in plan.ids:
                plan.ids[n] = plan.ids[slug(n)]
    elif model is CI:
        if spec.match in ("auto", "external_key"):
            plan.ids.update(_existing(CI, CI.external_key, wanted))
        if spec.match in ("auto", "name"):
            plan.ids.update(_existing(CI, CI.name, [n for n in wanted if n not in plan.ids]))
    else:  # linked records: Incident, Change, Problem, KnownError
        if spec.match in ("auto", "ref"):
            plan.ids.update(_existing(model, model.ref, wanted))
        if spec.match in ("auto", "external_key"):
            plan.ids.update(_existing(model, model.external_key,
                                      [n for n in wanted if n not in plan.ids]))
    missing = [n for n in wanted if n not in plan.ids]
    if not spec.create_missing:
        plan.missing = set(missing)
        return plan
    same: dict[str, uuid.UUID] = {}  # classes "Web Server" and "web-server" are one: web_server
    for name in missing:
        if model is CIClass and slug(name) in same:
            plan.ids[name] = same[slug(name)]
            continue
        new_id = uuid.uuid4()
        plan.ids[name] = new_id
        plan.new[new_id] = _new_values(model, name, spec, record_kind, classes)
        if model is CIClass:
            same[slug(name)] = new_id
    return plan


def _new_values(model: type[pw.Model], name: str, spec: FieldSpec, record_kind: str,
                classes: dict[str, str] | None) -> dict[str, Any]:
    extra = {k: v for k, v in spec.create.items() if k != "title"}
    if model is Person:
        return {"name": name, "email": name if "@" in name else None, **extra}
    if model in (Team,):
        return {"name": name, **extra}
    if model is Site:
        return {"name": name, "code": slug(name)[:16].upper(), **extra}
    if model is Category:
        return {"name": name, "kind": record_kind, **extra}
    if model is CIClass:
        return {"name": slug(name), "label": name, "attributes": [], **extra}
    if model is CI:
        return {"name": name, "_class": (classes or {}).get(name) or spec.default_class
                or "application", **extra}
    title = spec.create.get("title", "{value}").replace("{value}", name)
    return {"title": title[:300], "external_key": name, **extra}


INTERNAL_FIELDS = {"id", "version", "created_at", "created_by", "updated_at", "updated_by",
                   "external_key", "ref"}


@dataclass(frozen=True)
class TargetField:
    name: str
    type: str  # text, int, datetime, ..., lookup
    required: bool
    choices: tuple[Any, ...] | None


def target_fields(kind: str) -> list[TargetField]:
    """The fields a mapping may fill for ``kind`` (for the import wizard)."""
    target = TARGETS[kind]
    out = []
    for name in target.model._meta.sorted_field_names:
        if name in INTERNAL_FIELDS:
            continue
        f = target.model._meta.fields[name]
        out.append(TargetField(name, field_type(f), name in target.required,
                               target.choices.get(name)))
    out += [TargetField(name, "lookup", False, None) for (k, name) in LINK_FIELDS if k == kind]
    return out
