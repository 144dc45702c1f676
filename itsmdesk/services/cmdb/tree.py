"""Queries behind the CMDB tree dock and the CI form (no Qt here).

The tree is loaded lazily: :func:`roots` gives the top level of a grouping (classes with their CI
counts, sites, or business services) and :func:`branch` one page of children of a node, ordered
by name with keyset paging (``after`` = the last name shown), so no branch ever loads a whole
table.  Grouping ``service`` follows the dependency tree downwards: a service's children are
the CIs it depends on (targets of its outgoing relations), theirs the next layer, and so on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import peewee as pw

from itsmdesk.models.base import db
from itsmdesk.models.cmdb import CI, CIClass, Relation
from itsmdesk.models.people import Site, Team
from itsmdesk.services import records

GROUPINGS = ("class", "site", "service")
NO_SITE = "-"  # the key of the "no site" group


@dataclass
class TreeNode:
    kind: str  # "group" (a class or site) or "ci"
    key: Any  # class id, site id / NO_SITE, or CI id
    label: str
    detail: str = ""  # class label for CIs, "" for groups
    count: int | None = None  # CIs in a group
    has_children: bool = False
    status: str = ""
    criticality: str = ""
    relation: str = ""  # the relation type that led here (service grouping)


@dataclass
class Branch:
    nodes: list[TreeNode]
    more: bool  # another page follows; call again with after=nodes[-1].label


def _like(text: str) -> str:
    return "%" + text.replace("\\", "").replace("%", "").replace("_", "\\_") + "%"


def _name_filter(query, text: str | None):  # noqa: ANN001, ANN202
    if text:
        query = query.where(CI.name ** _like(text.strip()))
    return query


def roots(grouping: str, filter_text: str | None = None) -> list[TreeNode]:
    """The top level of the tree for a grouping (``class``, ``site`` or ``service``)."""
    if grouping == "class":
        query = (CI.select(CI.ci_class, pw.fn.COUNT(CI.id)).group_by(CI.ci_class))
        counts = dict(_name_filter(query, filter_text).tuples())
        return [TreeNode("group", c.id, c.label, count=counts.get(c.id, 0),
                         has_children=counts.get(c.id, 0) > 0)
                for c in CIClass.select().order_by(CIClass.label)
                if counts.get(c.id) or not filter_text]
    if grouping == "site":
        query = CI.select(CI.site, pw.fn.COUNT(CI.id)).group_by(CI.site)
        counts = dict(_name_filter(query, filter_text).tuples())
        nodes = [TreeNode("group", s.id, f"{s.name} ({s.code})", count=counts.get(s.id, 0),
                          has_children=counts.get(s.id, 0) > 0)
                 for s in Site.select().order_by(Site.name) if counts.get(s.id) or not filter_text]
        if counts.get(None):
            nodes.append(TreeNode("group", NO_SITE, "No site", count=counts[None],
                                  has_children=True))
        return nodes
    if grouping == "service":
        services = (CI.select(CI.id, CI.name, CI.status, CI.criticality, CIClass.label)
                    .join(CIClass).where(CIClass.is_service == True)  # noqa: E712
                    .order_by(CI.name))
        services = list(_name_filter(services, filter_text))
        parents = _with_children([s.id for s in services])
        return [TreeNode("ci", s.id, s.name, s.ci_class.label, has_children=s.id in parents,
                         status=s.status, criticality=s.criticality) for s in services]
    raise ValueError(f"unknown grouping {grouping!r}")


def _with_children(ids: list) -> set:
    """Which of these CIs have outgoing relations (one query)."""
    found: set = set()
    for start in range(0, len(ids), 900):
        part = ids[start:start + 900]
        found.update(r[0] for r in Relation.select(Relation.source).distinct()
                     .where(Relation.source.in_(part)).tuples())
    return found


def branch(grouping: str, key: Any, after: str | None = None, limit: int = 500,
           filter_text: str | None = None) -> Branch:
    """One page of the children of a node: CIs of a class or site, or for ``service`` (and for
    a CI node in any grouping) the CIs it depends on."""
    if grouping in ("class", "site"):
        query = (CI.select(CI.id, CI.name, CI.status, CI.criticality, CI.ci_class))
        if grouping == "class":
            query = query.where(CI.ci_class == key)
        elif key == NO_SITE or key is None:
            query = query.where(CI.site.is_null())
        else:
            query = query.where(CI.site == key)
        query = _name_filter(query, filter_text)
        if after is not None:
            query = query.where(CI.name > after)
        # raw cursor: no per-row model conversion (this is the branch people open most)
        rows = db.execute_sql(*query.order_by(CI.name).limit(limit + 1).sql()).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        labels: dict[Any, str] = {}
        for k, v in _class_labels().items():  # by every form the driver may return a key in
            labels[k] = labels[k.hex] = labels[str(k)] = v
        from itsmdesk.services.cmdb.impact import _uuid

        # 500 rows: the keys become UUIDs without uuid.UUID's parsing (a third of the time)
        return Branch([TreeNode("ci", r[0] if isinstance(r[0], uuid.UUID) else _uuid(r[0]), r[1],
                                labels.get(r[4], ""), status=r[2], criticality=r[3])
                       for r in rows], more)
    if grouping == "service":
        return dependencies(key, after, limit)
    raise ValueError(f"unknown grouping {grouping!r}")


def dependencies(ci_id: Any, after: str | None = None, limit: int = 500) -> Branch:
    """The CIs a CI depends on (targets of its outgoing relations), by name."""
    tgt = CI.alias()
    query = (Relation.select(tgt.id, tgt.name, tgt.status, tgt.criticality, tgt.ci_class,
                             Relation.type)
             .join(tgt, on=(Relation.target == tgt.id)).where(Relation.source == ci_id))
    if after is not None:
        query = query.where(tgt.name > after)
    rows = list(query.order_by(tgt.name, Relation.type).limit(limit + 1).tuples())
    more = len(rows) > limit
    rows = rows[:limit]
    parents = _with_children([r[0] for r in rows])
    labels = _class_labels()
    return Branch([TreeNode("ci", r[0], r[1], labels.get(r[4], ""), has_children=r[0] in parents,
                            status=r[2], criticality=r[3], relation=r[5]) for r in rows], more)



def _class_labels() -> dict:
    return {c.id: c.label for c in CIClass.select(CIClass.id, CIClass.label)}


def find_cis(text: str, limit: int = 50) -> list[TreeNode]:
    """CIs whose name contains ``text`` (for the filter box and pickers)."""
    labels = _class_labels()
    query = (CI.select(CI.id, CI.name, CI.status, CI.criticality, CI.ci_class)
             .where(CI.name ** _like(text.strip())).order_by(CI.name).limit(limit).tuples())
    return [TreeNode("ci", r[0], r[1], labels.get(r[4], ""), status=r[2], criticality=r[3])
            for r in query]


# -- the CI form -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LinkedRecord:
    kind: str  # incident | problem | known_error | change
    id: uuid.UUID
    ref: str
    title: str
    status: str


@dataclass
class RelationRow:
    relation_id: uuid.UUID
    direction: str  # "out" (this CI -> other) or "in" (other -> this CI)
    type: str
    other_id: uuid.UUID
    other_name: str
    other_class: str
    redundant: bool
    propagates: str


@dataclass
class CIDetail:
    ci: CI
    ci_class: CIClass
    site: str | None
    owner_team: str | None
    relations: list[RelationRow] = field(default_factory=list)
    linked: list[LinkedRecord] = field(default_factory=list)
    history: list[records.HistoryEntry] = field(default_factory=list)


def relation_rows(ci_id: Any) -> list[RelationRow]:
    from itsmdesk.services.cmdb.cis import relations_of

    labels = _class_labels()
    outgoing, incoming = relations_of(ci_id)
    rows = [RelationRow(r.id, "out", r.type, r.target.id, r.target.name,
                        labels.get(r.target.ci_class_id, ""), r.redundant, r.propagates)
            for r in outgoing]
    rows += [RelationRow(r.id, "in", r.type, r.source.id, r.source.name,
                         labels.get(r.source.ci_class_id, ""), r.redundant, r.propagates)
             for r in incoming]
    return rows


def linked_records(ci_id: Any) -> list[LinkedRecord]:
    """Open incidents, problems, known errors and changes touching the CI."""
    from itsmdesk.models.change import Change, ChangeCI
    from itsmdesk.models.incident import OPEN_STATUSES, Incident
    from itsmdesk.models.problem import KnownError, KnownErrorCI, Problem, ProblemCI

    out: list[LinkedRecord] = []
    incidents = (Incident.select(Incident.id, Incident.ref, Incident.title, Incident.status)
                 .where(((Incident.ci == ci_id) | (Incident.service == ci_id))
                        & Incident.status.in_(OPEN_STATUSES))
                 .order_by(Incident.ref.desc()).limit(200))
    out += [LinkedRecord("incident", i.id, i.ref, i.title, i.status) for i in incidents]
    linked = ProblemCI.select(ProblemCI.problem).where(ProblemCI.ci == ci_id)
    problems = (Problem.select(Problem.id, Problem.ref, Problem.title, Problem.status)
                .where(((Problem.ci == ci_id) | (Problem.service == ci_id) | Problem.id.in_(linked))
                       & Problem.status.not_in(("resolved", "closed")))
                .order_by(Problem.ref.desc()).limit(200))
    out += [LinkedRecord("problem", p.id, p.ref, p.title, p.status) for p in problems]
    kes = (KnownError.select(KnownError.id, KnownError.ref, KnownError.title, KnownError.status)
           .join(KnownErrorCI).where((KnownErrorCI.ci == ci_id) & (KnownError.status != "retired"))
           .order_by(KnownError.ref.desc()).limit(200))
    out += [LinkedRecord("known_error", k.id, k.ref, k.title, k.status) for k in kes]
    changes = (Change.select(Change.id, Change.ref, Change.title, Change.status)
               .join(ChangeCI, on=(ChangeCI.change == Change.id))
               .where((ChangeCI.ci == ci_id) & Change.status.not_in(
                   ("closed", "rejected", "failed", "backed_out")))
               .order_by(Change.ref.desc()).limit(200))
    out += [LinkedRecord("change", c.id, c.ref, c.title, c.status) for c in changes]
    return out


def ci_detail(ci_id: Any, history_limit: int = 500) -> CIDetail:
    ci = records.get(CI, ci_id)
    site = Site.get_or_none(Site.id == ci.site_id) if ci.site_id else None
    team = Team.get_or_none(Team.id == ci.owner_team_id) if ci.owner_team_id else None
    relations = relation_rows(ci.id)
    history = readable_history(ci.id, history_limit)
    outgoing = {r.relation_id: f"{r.type} {r.other_name}" for r in relations if r.direction == "out"}
    seen = {h.new for h in history if h.field == "!relation+"}
    extra = [records.HistoryEntry(at, who, where, "!relation+", None, text, version)
             for at, who, where, text, version in imported_relations(outgoing, seen)]
    if extra:
        history = sorted(history + extra, key=lambda h: h.at, reverse=True)[:history_limit]
    return CIDetail(ci, ci.ci_class, f"{site.name} ({site.code})" if site else None,
                    team.name if team else None, relations, linked_records(ci.id), history)


def imported_relations(outgoing: dict[Any, str], seen: set[str | None]) -> list[tuple]:
    """Relations created by a bulk import are journalled on the relation only (a service writes
    a "!relation+" note on the source CI as well): (at, who, site, text, version) of the creation
    of each of ``outgoing`` (relation id -> "type target name") whose text is not in ``seen``
    (the notes the CI's journal has), each text once.  One query per 900 relations."""
    from itsmdesk.models.journal import JournalEntry

    out: list[tuple] = []
    seen = set(seen)
    rel_ids = list(outgoing)
    for start in range(0, len(rel_ids), 900):
        query = (JournalEntry.select(JournalEntry.record_id, JournalEntry.at, JournalEntry.who_name,
                                     JournalEntry.site, JournalEntry.version)
                 .where((JournalEntry.record_kind == "relation")
                        & JournalEntry.record_id.in_(rel_ids[start:start + 900])
                        & (JournalEntry.field == records.CREATED)))
        for j in query:
            text = outgoing.get(j.record_id)
            if text and text not in seen:
                out.append((j.at, j.who_name, j.site, text, j.version))
                seen.add(text)
    return out


def ci_history(ci_id: Any, limit: int = 500) -> list:
    """The CI's history as the form's History tab shows it (services.history.named_history,
    names instead of ids) with the relations a bulk import created from it, newest first."""
    from itsmdesk.services.history import NOTE, NamedEntry, named_history

    entries = named_history("ci", ci_id, limit)
    tgt = CI.alias()
    outgoing = {r[0]: f"{r[1]} {r[2]}" for r in
                Relation.select(Relation.id, Relation.type, tgt.name)
                .join(tgt, on=(Relation.target == tgt.id)).where(Relation.source == ci_id).tuples()}
    seen = {e.new for e in entries if e.action == NOTE and e.field == "relation+"}
    extra = [NamedEntry(at, who, where, NOTE, "relation+", None, text, version)
             for at, who, where, text, version in imported_relations(outgoing, seen)]
    if not extra:
        return entries
    return sorted(entries + extra, key=lambda e: e.at, reverse=True)[:limit]


def readable_history(ci_id: Any, limit: int = 500) -> list[records.HistoryEntry]:
    """The CI's journal with class, site and team ids shown by name."""
    import dataclasses

    entries = records.history("ci", ci_id, limit)
    names: dict[str, str] = {}
    wanted = {e.field for e in entries} & {"ci_class", "site", "owner_team"}
    if "ci_class" in wanted:
        names.update({str(c.id): c.name for c in CIClass.select(CIClass.id, CIClass.name)})
    if "site" in wanted:
        names.update({str(s.id): s.code for s in Site.select(Site.id, Site.code)})
    if "owner_team" in wanted:
        names.update({str(t.id): t.name for t in Team.select(Team.id, Team.name)})
    return [dataclasses.replace(e, old=names.get(e.old or "", e.old), new=names.get(e.new or "", e.new))
            if e.field in wanted else e for e in entries]


# -- the CI form's read model -------------------------------------------------------------------

@dataclass(frozen=True)
class AttributeSpec:
    """One class-specific attribute: its name, the label people read, its type (text, int...)."""

    name: str
    label: str
    type: str


@dataclass(frozen=True)
class ClassChoice:
    id: Any
    name: str
    label: str
    attributes: tuple[AttributeSpec, ...]


@dataclass(frozen=True)
class CIChoices:
    """What the CI form's pickers offer: classes (with their attributes), sites and teams."""

    classes: tuple[ClassChoice, ...]
    sites: tuple[tuple[Any, str], ...]  # (id, "name (code)")
    teams: tuple[tuple[Any, str], ...]

    def class_named(self, name: str | None) -> ClassChoice | None:
        return next((c for c in self.classes if c.name == name), None)


@dataclass(frozen=True)
class CIRelation:
    """A relation of the CI, either way, with the CI at its other end."""

    relation_id: Any
    version: int
    direction: str  # "out" (this CI -> other) or "in" (other -> this CI)
    type: str
    other_id: Any
    other_name: str
    other_class: str
    redundant: bool
    propagates: str


@dataclass(frozen=True)
class CIView:
    """Everything the CI form shows."""

    id: Any
    version: int
    name: str
    class_name: str
    status: str
    criticality: str
    owner_team_id: Any
    site_id: Any
    ci_version: str | None
    vendor: str | None
    serial: str | None
    min_members_up: int | None
    description: str | None
    attributes: tuple[tuple[str, Any], ...]
    relations: tuple[CIRelation, ...]
    linked: tuple[LinkedRecord, ...]
    choices: CIChoices

    @property
    def attribute_texts(self) -> dict[str, str]:
        """The attributes as the form's editors hold them (text; empty ones left out)."""
        return {k: str(v) for k, v in self.attributes if v not in (None, "")}


def _as_uuid(value: Any) -> Any:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


def ci_choices() -> CIChoices:
    """Classes (with their attributes), sites and teams for the CI form: two queries."""
    classes = tuple(
        ClassChoice(c.id, c.name, c.label, tuple(
            AttributeSpec(a["name"], a.get("label") or a["name"], a.get("type", "text"))
            for a in c.attributes or []))
        for c in CIClass.select(CIClass.id, CIClass.name, CIClass.label, CIClass.attributes)
        .order_by(CIClass.label))
    sites = Site.select(pw.Value("site").alias("what"), Site.id, Site.name, Site.code)
    teams = Team.select(pw.Value("team"), Team.id, Team.name, pw.Value(None))
    rows = list(sites.union_all(teams).order_by(pw.SQL("3")).tuples())
    return CIChoices(classes,
                     tuple((_as_uuid(i), f"{n} ({c})") for w, i, n, c in rows if w == "site"),
                     tuple((_as_uuid(i), n) for w, i, n, _c in rows if w == "team"))


def ci_view(ci_id: Any) -> CIView:
    """The CI form's read model: eight queries (the CI; the pickers' choices, two; its
    relations both ways with the other CIs' names, one; the open records touching it, four)."""
    ci = (CI.select(CI.id, CI.version, CI.name, CI.ci_class, CI.status, CI.criticality,
                    CI.owner_team, CI.site, CI.ci_version, CI.vendor, CI.serial,
                    CI.min_members_up, CI.description, CI.attributes)
          .where(CI.id == ci_id).first())
    if ci is None:
        from itsmdesk.errors import N_, NotFoundError

        raise NotFoundError(N_("No {kind} with id {id}"), kind="ci", id=ci_id)
    choices = ci_choices()
    classes = {c.id: c for c in choices.classes}
    other = CI.alias()
    rows = (Relation.select(Relation.id, Relation.version, Relation.source, Relation.type,
                            other.id, other.name, other.ci_class, Relation.redundant,
                            Relation.propagates)
            .join(other, on=(((Relation.target == other.id) & (Relation.source == ci.id))
                             | ((Relation.source == other.id) & (Relation.target == ci.id))))
            .where((Relation.source == ci.id) | (Relation.target == ci.id)).tuples())
    relations = []
    for rel_id, version, source, type_, other_id, name, class_id, redundant, propagates in rows:
        cls = classes.get(class_id)
        relations.append(CIRelation(rel_id, version, "out" if source == ci.id else "in", type_,
                                    other_id, name, cls.label if cls else "", bool(redundant),
                                    propagates))
    relations.sort(key=lambda r: (r.direction != "out", r.type, r.other_name))
    cls = classes.get(ci.ci_class_id)
    return CIView(ci.id, ci.version, ci.name, cls.name if cls else "", ci.status, ci.criticality,
                  ci.owner_team_id, ci.site_id, ci.ci_version, ci.vendor, ci.serial,
                  ci.min_members_up, ci.description, tuple((ci.attributes or {}).items()),
                  tuple(relations), tuple(linked_records(ci.id)), choices)
