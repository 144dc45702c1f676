"""Baselines: named snapshots of a set of CIs and their relations, compared with now.

A baseline's scope chooses the CIs: everything, one class, one site, or a business service and
everything it needs (upstream impact).  Each CI is stored under its name with the fields people
audit (class, status, criticality, site, owner team, version, serial, vendor, redundancy,
attributes); each relation between two CIs in scope under ``source|type|target``.
:func:`compare` re-evaluates the same scope now and lists what was added, removed and changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, NotFoundError, ValidationError
from itsmdesk.models.base import utcnow
from itsmdesk.models.cmdb import CI, Baseline, BaselineItem, CIClass, Relation
from itsmdesk.models.people import Site, Team
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor

CI_FIELDS = ("class", "status", "criticality", "site", "owner_team", "version", "serial", "vendor",
             "min_members_up", "attributes")


def _ci_ids_in_scope(scope: dict[str, Any] | None) -> list | None:
    """None = every CI."""
    scope = scope or {}
    if scope.get("service"):
        from itsmdesk.services.cmdb.cis import get_ci_by_name
        from itsmdesk.services.cmdb.impact import upstream_ids

        return list(upstream_ids([get_ci_by_name(scope["service"]).id]))
    return None


def _ci_query(scope: dict[str, Any] | None):  # noqa: ANN202
    scope = scope or {}
    site = Site.alias()
    team = Team.alias()
    query = (CI.select(CI.id, CI.name, CIClass.name, CI.status, CI.criticality, site.code,
                       team.name, CI.ci_version, CI.serial, CI.vendor, CI.min_members_up,
                       CI.attributes)
             .join(CIClass, on=(CI.ci_class == CIClass.id))
             .join(site, pw.JOIN.LEFT_OUTER, on=(CI.site == site.id))
             .join(team, pw.JOIN.LEFT_OUTER, on=(CI.owner_team == team.id)))
    if scope.get("class"):
        query = query.where(CIClass.name == scope["class"])
    if scope.get("site"):
        query = query.where(site.code == scope["site"])
    return query


def snapshot(scope: dict[str, Any] | None = None) -> tuple[dict[str, dict], dict[str, dict]]:
    """(CI name -> data, "source|type|target" -> data) as the CMDB is now."""
    ids = _ci_ids_in_scope(scope)
    cis: dict[str, dict] = {}
    id_name: dict = {}
    query = _ci_query(scope)
    chunks = [None] if ids is None else [ids[i:i + 900] for i in range(0, len(ids), 900)]
    for part in chunks:
        q = query if part is None else query.where(CI.id.in_(part))
        for row in q.tuples().iterator():
            cid, name, *values = row
            data = dict(zip(CI_FIELDS, values, strict=True))
            data["attributes"] = data["attributes"] if isinstance(data["attributes"], dict) \
                else records.to_text(data["attributes"])
            if isinstance(data["attributes"], str):
                import json

                data["attributes"] = json.loads(data["attributes"])
            cis[name] = data
            id_name[cid] = name
    rels: dict[str, dict] = {}
    src, tgt = CI.alias(), CI.alias()
    rq = (Relation.select(Relation.source, src.name, Relation.type, Relation.target, tgt.name,
                          Relation.redundant, Relation.propagates)
          .join(src, on=(Relation.source == src.id)).switch(Relation)
          .join(tgt, on=(Relation.target == tgt.id)))
    chunks = [None] if ids is None else chunks
    if ids is None and scope and (scope.get("class") or scope.get("site")):
        chunks = [list(id_name)[i:i + 900] for i in range(0, len(id_name), 900)]
    for part in chunks:
        q = rq if part is None else rq.where(Relation.source.in_(part))
        for s_id, s_name, rtype, t_id, t_name, red, prop in q.tuples().iterator():
            if s_id in id_name and t_id in id_name:
                rels[f"{s_name}|{rtype}|{t_name}"] = {"redundant": bool(red), "propagates": prop}
    return cis, rels


def take(name: str, description: str | None = None, scope: dict[str, Any] | None = None,
         actor: Actor = SYSTEM) -> Baseline:
    name = (name or "").strip()
    if not name:
        raise ValidationError(N_("A baseline needs a name"), field="name")
    scope = {k: v for k, v in (scope or {}).items() if v}
    with records.atomic():
        if Baseline.select().where(Baseline.name == name).exists():
            raise ValidationError(N_("A baseline named '{value}' already exists"), field="name",
                                  value=name)
        cis, rels = snapshot(scope)
        baseline = records.create(Baseline, {"name": name, "description": description,
                                             "taken_at": utcnow(), "scope": scope or None}, actor)
        rows = [{"baseline": baseline.id, "item_kind": "ci", "key": k, "data": v}
                for k, v in cis.items()]
        rows += [{"baseline": baseline.id, "item_kind": "relation", "key": k[:600], "data": v}
                 for k, v in rels.items()]
        records.add_children(BaselineItem, rows, actor)
        return baseline


@dataclass
class BaselineInfo:
    id: Any
    name: str
    taken_at: Any
    scope: dict | None
    cis: int
    relations: int
    description: str | None = None


def list_baselines() -> list[BaselineInfo]:
    counts: dict = {}
    for bid, kind, n in (BaselineItem.select(BaselineItem.baseline, BaselineItem.item_kind,
                                             pw.fn.COUNT(BaselineItem.id))
                         .group_by(BaselineItem.baseline, BaselineItem.item_kind).tuples()):
        counts[(bid, kind)] = n
    return [BaselineInfo(b.id, b.name, b.taken_at, b.scope, counts.get((b.id, "ci"), 0),
                         counts.get((b.id, "relation"), 0), b.description)
            for b in Baseline.select().order_by(Baseline.taken_at.desc(), Baseline.name)]


def get_baseline(name_or_id: Any) -> Baseline:
    found = Baseline.get_or_none(Baseline.name == str(name_or_id))
    if found is None:
        try:
            found = Baseline.get_or_none(Baseline.id == name_or_id)
        except (ValueError, pw.DataError):
            found = None
    if found is None:
        raise NotFoundError(N_("No baseline named '{name}'"), name=name_or_id)
    return found


@dataclass
class Comparison:
    baseline: str
    taken_at: Any
    added: list[str] = field(default_factory=list)  # CIs in scope now, not in the baseline
    removed: list[str] = field(default_factory=list)
    changed: list[tuple[str, str, Any, Any]] = field(default_factory=list)  # (CI, field, then, now)
    relations_added: list[str] = field(default_factory=list)
    relations_removed: list[str] = field(default_factory=list)
    relations_changed: list[tuple[str, str, Any, Any]] = field(default_factory=list)

    @property
    def is_same(self) -> bool:
        return not (self.added or self.removed or self.changed or self.relations_added
                    or self.relations_removed or self.relations_changed)

    def as_dict(self) -> dict:
        return {"baseline": self.baseline, "taken_at": str(self.taken_at), "added": self.added,
                "removed": self.removed,
                "changed": [{"ci": c, "field": f, "then": a, "now": b} for c, f, a, b in self.changed],
                "relations_added": self.relations_added,
                "relations_removed": self.relations_removed,
                "relations_changed": [{"relation": c, "field": f, "then": a, "now": b}
                                      for c, f, a, b in self.relations_changed]}


def _diff(then: dict, now: dict) -> list[tuple[str, Any, Any]]:
    out = []
    for key in sorted(set(then) | set(now)):
        a, b = then.get(key), now.get(key)
        if key == "attributes":
            a, b = a or {}, b or {}
            for attr in sorted(set(a) | set(b)):
                if records.to_text(a.get(attr)) != records.to_text(b.get(attr)):
                    out.append((attr, a.get(attr), b.get(attr)))
        elif records.to_text(a) != records.to_text(b):
            out.append((key, a, b))
    return out


def compare(name_or_id: Any) -> Comparison:
    """The baseline against the CMDB now (same scope)."""
    baseline = get_baseline(name_or_id)
    then_cis: dict[str, dict] = {}
    then_rels: dict[str, dict] = {}
    for item in BaselineItem.select().where(BaselineItem.baseline == baseline.id).iterator():
        (then_cis if item.item_kind == "ci" else then_rels)[item.key] = item.data
    now_cis, now_rels = snapshot(baseline.scope)
    result = Comparison(baseline.name, baseline.taken_at)
    result.added = sorted(set(now_cis) - set(then_cis))
    result.removed = sorted(set(then_cis) - set(now_cis))
    for name in sorted(set(now_cis) & set(then_cis)):
        result.changed += [(name, f, a, b) for f, a, b in _diff(then_cis[name], now_cis[name])]
    result.relations_added = sorted(set(now_rels) - set(then_rels))
    result.relations_removed = sorted(set(then_rels) - set(now_rels))
    for key in sorted(set(now_rels) & set(then_rels)):
        result.relations_changed += [(key, f, a, b) for f, a, b in _diff(then_rels[key], now_rels[key])]
    return result
