"""Problem Management: problems and known errors (create/update/get/link)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, NotFoundError, ValidationError
from itsmdesk.models.incident import Incident
from itsmdesk.models.problem import (
    KE_SOLUTION_STATUSES,
    PROBLEM_STATUSES,
    KnownError,
    KnownErrorCI,
    Problem,
    ProblemCI,
)
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import require
from itsmdesk.services.validation import one_of, required_text


def create_problem(values: dict[str, Any], actor: Actor = SYSTEM, cis: list | None = None) -> Problem:
    require(actor, "problem.manage")
    required_text(values, "title", "Title")
    one_of(values, "status", PROBLEM_STATUSES, "Status")
    with records.atomic():
        problem = records.create(Problem, values, actor, ref_prefix="PRB")
        records.set_links(ProblemCI, problem.id, "ci", [getattr(ci, "id", ci) for ci in cis or []],
                          actor)
        return problem


def update_problem(problem_id, version: int | None, changes: dict[str, Any],
                   actor: Actor = SYSTEM) -> Problem:
    require(actor, "problem.manage")
    required_text(changes, "title", "Title", creating=False)
    one_of(changes, "status", PROBLEM_STATUSES, "Status")
    with records.atomic():
        return records.update(Problem, problem_id, version, changes, actor)


def link_incidents(problem_id, incident_ids: list, actor: Actor = SYSTEM,  # noqa: ANN001
                   versions: dict | None = None) -> int:
    """Point incidents at a problem (each incident's change is journalled).  ``versions``
    (incident id -> version the caller saw) makes a stale incident raise a conflict."""
    require(actor, "problem.manage")
    with records.atomic():
        problem = records.get(Problem, problem_id)
        count = 0
        for incident_id in incident_ids:
            inc = records.get(Incident, incident_id)
            if inc.problem_id != problem.id:
                records.update(Incident, inc.id, (versions or {}).get(incident_id),
                               {"problem": problem.id}, actor)
                count += 1
        return count


def link_incidents_to(problem_id: Any, incident_ids: list, actor: Actor = SYSTEM,
                      versions: dict | None = None) -> Any:
    """Link incidents to a problem, or (``problem_id`` None) to a new problem made from the
    first incident's title, CI and service; one transaction.  Returns the problem's id."""
    require(actor, "problem.manage")
    with records.atomic():
        if problem_id is None:
            if not incident_ids:
                raise ValidationError(N_("Select the incidents to link first"), field="incidents")
            first = records.get(Incident, incident_ids[0])
            problem_id = create_problem({"title": first.title, "ci": first.ci_id,
                                         "service": first.service_id}, actor).id
        link_incidents(problem_id, incident_ids, actor, versions)
        return problem_id


def create_known_error(values: dict[str, Any], actor: Actor = SYSTEM,
                       cis: list | None = None) -> KnownError:
    require(actor, "problem.manage")
    required_text(values, "title", "Title")
    one_of(values, "solution_status", KE_SOLUTION_STATUSES, "Solution status")
    with records.atomic():
        ke = records.create(KnownError, values, actor, ref_prefix="KE")
        records.set_links(KnownErrorCI, ke.id, "ci", [getattr(ci, "id", ci) for ci in cis or []],
                          actor)
        return ke


def update_known_error(ke_id, version: int | None, changes: dict[str, Any],
                       actor: Actor = SYSTEM) -> KnownError:
    require(actor, "problem.manage")
    required_text(changes, "title", "Title", creating=False)
    one_of(changes, "solution_status", KE_SOLUTION_STATUSES, "Solution status")
    with records.atomic():
        return records.update(KnownError, ke_id, version, changes, actor)


# --- queries for the views and the CLI -----------------------------------------------------------

def get_problem(problem_id) -> Problem:  # noqa: ANN001
    return records.get(Problem, problem_id)


def get_known_error(ke_id) -> KnownError:  # noqa: ANN001
    return records.get(KnownError, ke_id)


def list_problems(statuses: tuple[str, ...] | list[str] | None = None, text: str = "",
                  limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
    """Problems as plain rows (ref, title, status, priority, CI/service name, incident count),
    newest first; ``text`` searches the full text (ranked) or a reference."""
    from itsmdesk.models.cmdb import CI

    query = Problem.select(Problem.id, Problem.ref, Problem.title, Problem.status,
                           Problem.priority, Problem.ci, Problem.service, Problem.created_at,
                           Problem.updated_at)
    if statuses:
        query = query.where(Problem.status.in_(list(statuses)))
    order: list = [Problem.created_at.desc()]
    if text and text.strip():
        term = text.strip()
        if term.upper().startswith("PRB-"):
            query = query.where(Problem.ref.startswith(term.upper()))
        else:
            from itsmdesk.services.textsearch import fts_ids

            ranked = [r[0] for r in fts_ids("problem", term, 500)]
            query = query.where(Problem.id.in_(ranked or [None]))
    rows = list(query.order_by(*order).limit(limit).offset(offset))
    ids = [p.id for p in rows]
    counts: dict = {}
    if ids:
        from peewee import fn

        for pid, n in (Incident.select(Incident.problem, fn.COUNT(Incident.id))
                       .where(Incident.problem.in_(ids)).group_by(Incident.problem).tuples()):
            counts[pid] = n
    ci_ids = {p.ci_id for p in rows if p.ci_id} | {p.service_id for p in rows if p.service_id}
    names = {c.id: c.name for c in CI.select(CI.id, CI.name).where(CI.id.in_(list(ci_ids)))} \
        if ci_ids else {}
    return [{"id": p.id, "ref": p.ref, "title": p.title, "status": p.status,
             "priority": p.priority, "ci": names.get(p.ci_id, ""),
             "service": names.get(p.service_id, ""), "incidents": counts.get(p.id, 0),
             "created_at": p.created_at} for p in rows]


def list_known_errors(text: str = "", limit: int = 200, include_retired: bool = False
                      ) -> list[dict[str, Any]]:
    """Known errors as plain rows; with ``text`` ranked by full-text search."""
    from peewee import fn

    if text and text.strip():
        from itsmdesk.services.problem.kedb import suggest

        hits = suggest(text, limit, include_retired)
        ids = [h.id for h in hits]
    else:
        query = KnownError.select(KnownError.id).order_by(KnownError.created_at.desc())
        if not include_retired:
            query = query.where(KnownError.status != "retired")
        ids = [k.id for k in query.limit(limit)]
    if not ids:
        return []
    rows = {k.id: k for k in KnownError.select().where(KnownError.id.in_(ids))}
    counts = dict(Incident.select(Incident.known_error, fn.COUNT(Incident.id))
                  .where(Incident.known_error.in_(ids)).group_by(Incident.known_error).tuples())
    out = []
    for ke_id in ids:
        k = rows[ke_id]
        out.append({"id": k.id, "ref": k.ref, "title": k.title, "error_code": k.error_code or "",
                    "solution_status": k.solution_status, "status": k.status,
                    "workaround": k.workaround or "", "incidents": counts.get(k.id, 0)})
    return out


def linked_incidents(problem_id, limit: int = 1000) -> list[dict[str, Any]]:  # noqa: ANN001
    from itsmdesk.models.cmdb import CI

    rows = list(Incident.select(Incident.id, Incident.ref, Incident.title, Incident.status,
                                Incident.opened_at, Incident.resolved_at, Incident.priority,
                                Incident.ci)
                .where(Incident.problem == problem_id).order_by(Incident.opened_at.desc())
                .limit(limit))
    ci_ids = list({r.ci_id for r in rows if r.ci_id})
    names = {c.id: c.name for c in CI.select(CI.id, CI.name).where(CI.id.in_(ci_ids))} \
        if ci_ids else {}
    return [{"id": r.id, "ref": r.ref, "title": r.title, "status": r.status,
             "priority": r.priority, "opened_at": r.opened_at, "resolved_at": r.resolved_at,
             "ci": names.get(r.ci_id, "")} for r in rows]


def affected_ci_names(kind: str, record_id) -> list[tuple[Any, str]]:  # noqa: ANN001
    from itsmdesk.models.cmdb import CI

    link, field = (ProblemCI, ProblemCI.problem) if kind == "problem" else \
        (KnownErrorCI, KnownErrorCI.known_error)
    query = (CI.select(CI.id, CI.name).join(link, on=(link.ci == CI.id))
             .where(field == record_id).order_by(CI.name))
    return [(c.id, c.name) for c in query]


def set_known_error_cis(ke_id, cis: list, actor: Actor = SYSTEM,  # noqa: ANN001
                        version: int | None = None) -> None:
    """The known error's CIs become exactly ``cis`` (a stale ``version`` conflicts)."""
    require(actor, "problem.manage")
    records.set_links(KnownErrorCI, ke_id, "ci", [getattr(ci, "id", ci) for ci in cis], actor,
                      version)


def ci_id_by_name(name: str):  # noqa: ANN201
    """A CI's id by its exact name, None for an empty name; ValidationError when unknown."""
    from itsmdesk.errors import N_, ValidationError
    from itsmdesk.models.cmdb import CI

    name = (name or "").strip()
    if not name:
        return None
    ci = CI.get_or_none(CI.name == name)
    if ci is None:
        raise ValidationError(N_("No CI is named '{name}'"), field="ci", name=name)
    return ci.id


@dataclass(frozen=True)
class LinkedRow:
    """A record listed on a form (an incident of a known error, a change raised for it)."""

    id: Any
    ref: str
    title: str
    status: str
    opened_at: dt.datetime | None = None


@dataclass(frozen=True)
class KnownErrorView:
    """Everything the known error form shows."""

    id: Any
    version: int
    ref: str
    title: str
    error_code: str | None
    solution_status: str
    status: str
    problem_ref: str
    symptom: str | None
    root_cause: str | None
    workaround: str | None
    cis: tuple[tuple[Any, str], ...]
    incidents: tuple[LinkedRow, ...]
    changes: tuple[LinkedRow, ...]

    @property
    def ci_names(self) -> list[str]:
        return [name for _id, name in self.cis]


def known_error_view(ke_id: Any) -> KnownErrorView:
    """The known error form's read model: four queries."""
    from itsmdesk.models.change import Change

    row = (KnownError.select(KnownError, Problem.ref.alias("problem_ref"))
           .join(Problem, pw.JOIN.LEFT_OUTER, on=(KnownError.problem == Problem.id))
           .where(KnownError.id == ke_id).objects().first())
    if row is None:
        raise NotFoundError(N_("No {kind} with id {id}"), kind="known_error", id=ke_id)
    incidents = tuple(LinkedRow(*r) for r in
                      Incident.select(Incident.id, Incident.ref, Incident.title, Incident.status,
                                      Incident.opened_at)
                      .where(Incident.known_error == row.id)
                      .order_by(Incident.opened_at.desc()).limit(500).tuples())
    changes = tuple(LinkedRow(*r) for r in
                    Change.select(Change.id, Change.ref, Change.title, Change.status)
                    .where(Change.known_error == row.id).order_by(Change.ref).tuples())
    return KnownErrorView(row.id, row.version, row.ref, row.title, row.error_code,
                          row.solution_status, row.status, row.problem_ref or "", row.symptom,
                          row.root_cause, row.workaround,
                          tuple(affected_ci_names("known_error", row.id)), incidents, changes)


KNOWN_ERROR_FIELDS = ("title", "error_code", "solution_status", "status", "symptom", "root_cause",
                      "workaround")


def save_known_error(ke_id: Any, version: int | None, edits: dict[str, Any],
                     actor: Actor = SYSTEM, new_id: Any = None) -> KnownError:
    """Create (``ke_id`` None, with key ``new_id``) or update a known error from the form's
    edits, in one transaction: its fields, ``problem_ref`` (a PRB reference or "") and
    ``ci_names`` (the affected CIs by name)."""
    require(actor, "problem.manage")
    values = {k: v for k, v in edits.items() if k in KNOWN_ERROR_FIELDS}
    with records.atomic():
        if "problem_ref" in edits:
            values["problem"] = problem_id_by_ref(edits["problem_ref"])
        cis = None
        if "ci_names" in edits:
            cis = [ci_id_by_name(n) for n in edits["ci_names"] if (n or "").strip()]
        if ke_id is None:
            if new_id is not None:
                values["id"] = new_id
            return create_known_error(values, actor, cis=cis)
        ke = update_known_error(ke_id, version, values, actor)
        if cis is not None:
            set_known_error_cis(ke.id, cis, actor, version)
        return ke


def problem_id_by_ref(ref: str):  # noqa: ANN201
    from itsmdesk.errors import N_, ValidationError

    ref = (ref or "").strip().upper()
    if not ref:
        return None
    problem = Problem.get_or_none(Problem.ref == ref)
    if problem is None:
        raise ValidationError(N_("No problem {ref}"), field="problem", ref=ref)
    return problem.id


# --- the problem form ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ProblemIncident:
    """An incident linked to a problem, as the problem form lists it."""

    id: Any
    ref: str
    title: str
    status: str
    ci: str
    opened_at: dt.datetime | None
    version: int


@dataclass(frozen=True)
class KnownErrorRow:
    """A known error recorded from a problem."""

    id: Any
    ref: str
    title: str
    solution_status: str


@dataclass(frozen=True)
class ProblemChoices:
    """What the problem form's pickers offer: business services and teams, (id, name) each."""

    services: tuple[tuple[Any, str], ...]
    teams: tuple[tuple[Any, str], ...]


@dataclass(frozen=True)
class ProblemView:
    """Everything the problem form shows."""

    id: Any
    version: int
    ref: str
    title: str
    status: str
    priority: int
    category: str | None
    service_id: Any
    team_id: Any
    ci_name: str
    description: str | None
    root_cause: str | None
    workaround: str | None
    solution: str | None
    rca: tuple[tuple[str, str], ...]  # (note, text) for every rca.NOTE_KEYS
    cis: tuple[tuple[Any, str], ...]  # affected CIs (id, name)
    incidents: tuple[ProblemIncident, ...]
    known_errors: tuple[KnownErrorRow, ...]
    changes: tuple[LinkedRow, ...]
    timeline: tuple[Any, ...]  # rca.TimelineEvent, oldest first
    moves: tuple[str, ...]  # the statuses it may move to (lifecycle.allowed_transitions)
    fix_implemented: bool  # closing would offer to resolve the open linked incidents
    open_incidents: int
    choices: ProblemChoices

    @property
    def notes(self) -> dict[str, str]:
        return dict(self.rca)

    @property
    def ci_names(self) -> list[str]:
        return [name for _id, name in self.cis]


def _as_uuid(value: Any) -> Any:
    import uuid

    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


def problem_choices() -> ProblemChoices:
    """Business services and teams for the problem form's pickers: one query."""
    from itsmdesk.models.cmdb import CI, CIClass
    from itsmdesk.models.people import Team

    services = (CI.select(pw.Value("service").alias("what"), CI.id, CI.name).join(CIClass)
                .where(CIClass.is_service == True))  # noqa: E712 - SQL
    teams = Team.select(pw.Value("team"), Team.id, Team.name)
    rows = list(services.union_all(teams).order_by(pw.SQL("3")).tuples())
    return ProblemChoices(tuple((_as_uuid(i), n) for w, i, n in rows if w == "service"),
                          tuple((_as_uuid(i), n) for w, i, n in rows if w == "team"))


def problem_view(problem_id: Any, limit: int = 2000) -> ProblemView:
    """The problem form's read model in one statement (services/batch): the problem with its
    CI's name; linked incidents with theirs; known errors; changes; affected CIs; the incidents'
    work log and the problem's status history for the timeline; the pickers' choices."""
    from itsmdesk.models.change import Change
    from itsmdesk.models.cmdb import CI, CIClass
    from itsmdesk.models.incident import OPEN_STATUSES, WorkLog
    from itsmdesk.models.people import Team
    from itsmdesk.services.batch import select_many
    from itsmdesk.services.problem import lifecycle, rca

    ci, inc_ci = CI.alias(), CI.alias()
    own = list(Problem._meta.sorted_fields)
    problem_q = (Problem.select(*own, ci.name).join(ci, pw.JOIN.LEFT_OUTER, on=(Problem.ci == ci.id))
                 .where(Problem.id == problem_id))
    incidents_q = (Incident.select(Incident.id, Incident.ref, Incident.title, Incident.status,
                                   inc_ci.name, Incident.opened_at, Incident.version,
                                   Incident.resolved_at)
                   .join(inc_ci, pw.JOIN.LEFT_OUTER, on=(Incident.ci == inc_ci.id))
                   .where(Incident.problem == problem_id)
                   .order_by(Incident.opened_at.desc()).limit(limit))
    known_q = (KnownError.select(KnownError.id, KnownError.ref, KnownError.title,
                                 KnownError.solution_status)
               .where(KnownError.problem == problem_id).order_by(KnownError.ref))
    changes_q = (Change.select(Change.id, Change.ref, Change.title, Change.status)
                 .where(Change.problem == problem_id).order_by(Change.ref))
    cis_q = (CI.select(CI.id, CI.name).join(ProblemCI, on=(ProblemCI.ci == CI.id))
             .where(ProblemCI.problem == problem_id).order_by(CI.name))
    log_q = (WorkLog.select(WorkLog.incident, WorkLog.created_at, WorkLog.text)
             .where(WorkLog.incident.in_(Incident.select(Incident.id)
                                         .where(Incident.problem == problem_id)))
             .order_by(WorkLog.created_at).limit(limit))
    status_q = records.field_history_query("problem", problem_id, ["status"])
    services_q = (CI.select(CI.id, CI.name).join(CIClass).where(CIClass.is_service == True)  # noqa: E712
                  .order_by(CI.name))
    teams_q = Team.select(Team.id, Team.name).order_by(Team.name)
    # one round trip for everything the form shows
    (rows, incidents, known, changes_rows, ci_rows_, work_log, status_rows, services,
     teams) = select_many(problem_q, incidents_q, known_q, changes_q, cis_q, log_q, status_q,
                          services_q, teams_q)
    if not rows:
        raise NotFoundError(N_("No {kind} with id {id}"), kind="problem", id=problem_id)
    row = Problem(**{f.name: v for f, v in zip(own, rows[0], strict=False)})
    row.ci_name = rows[0][len(own)]
    known_errors = tuple(KnownErrorRow(*r) for r in known)
    changes = tuple(LinkedRow(*r) for r in changes_rows)
    cis = tuple(ci_rows_)
    events = rca.build_timeline(row.id, row.ref, row.title, row.created_at,
                                [(i[0], i[1], i[2], i[5], i[7]) for i in incidents], work_log,
                                records.field_history_from(status_rows, ["status"]))
    notes = rca.notes(row)
    fixed = (any(c.status in lifecycle.FIX_DONE_CHANGE_STATUSES for c in changes)
             or any(k.solution_status == "fixed" for k in known_errors)
             or (row.status in ("resolved", "closed") and bool((row.solution or "").strip())))
    return ProblemView(
        row.id, row.version, row.ref, row.title, row.status, row.priority, row.category,
        row.service_id, row.team_id, row.ci_name or "", row.description, row.root_cause,
        row.workaround, row.solution, tuple((k, notes[k]) for k in rca.NOTE_KEYS), cis,
        tuple(ProblemIncident(i[0], i[1], i[2], i[3], i[4] or "", i[5], i[6]) for i in incidents),
        known_errors, changes, tuple(events), lifecycle.allowed_transitions(row.status), fixed,
        sum(1 for i in incidents if i[3] in OPEN_STATUSES),
        ProblemChoices(tuple(services), tuple(teams)))


PROBLEM_FIELDS = ("title", "status", "priority", "category", "description", "root_cause",
                  "workaround", "solution")


def save_problem(problem_id: Any, version: int | None, edits: dict[str, Any],
                 actor: Actor = SYSTEM, new_id: Any = None) -> Problem:
    """Create (``problem_id`` None, with key ``new_id``) or update a problem from the form's
    edits, in one transaction: its fields; ``ci`` (a CI name or ""), ``service`` and ``team``
    (ids or None); ``rca`` (the RCA notes that changed: merged over the stored ones, and a stated
    cause fills an empty root cause); ``ci_names`` (the affected CIs by name).  A ``status`` of
    an existing problem moves it through the lifecycle (its rules apply)."""
    require(actor, "problem.manage")
    from itsmdesk.services.problem import lifecycle, rca

    values = {k: v for k, v in edits.items() if k in PROBLEM_FIELDS}
    with records.atomic():
        if "ci" in edits:
            values["ci"] = ci_id_by_name(edits["ci"] or "")
        for name in ("service", "team"):
            if name in edits:
                values[name] = _as_uuid(edits[name] or None)
        cis = None
        if "ci_names" in edits:
            cis = [ci_id_by_name(n) for n in edits["ci_names"] if (n or "").strip()]
        current = records.get(Problem, problem_id) if problem_id is not None else None
        if "rca" in edits:
            merged = rca.merge_notes(rca.notes(current) if current is not None else {},
                                     edits["rca"] or {})
            values["rca"] = merged
            root_cause = values.get("root_cause", current.root_cause if current else None)
            if merged["cause"] and not (root_cause or "").strip():
                values["root_cause"] = merged["cause"]
        if current is None:
            if new_id is not None:
                values["id"] = new_id
            return create_problem(values, actor, cis=cis)
        if "status" in values:
            problem = lifecycle.transition(current.id, version, values.pop("status"), actor,
                                           values)
        else:
            problem = update_problem(current.id, version, values, actor)
        if cis is not None:
            lifecycle.set_affected_cis(problem.id, cis, actor, version)
        return problem


def link_incident_refs(problem_id: Any, refs: list[str], actor: Actor = SYSTEM,
                       versions: dict | None = None) -> int:
    """Link the incidents with these references (``INC-000123``) to the problem in one
    transaction; an unknown reference is refused and nothing is linked."""
    require(actor, "problem.manage")
    from itsmdesk.services.servicedesk.incidents import get_by_ref

    with records.atomic():
        ids = [get_by_ref(ref).id for ref in refs]
        return link_incidents(problem_id, ids, actor, versions)


def record_known_error(problem_id: Any, version: int | None, actor: Actor = SYSTEM) -> KnownError:
    """A known error from the problem as saved: its title, symptoms (the RCA notes' or the
    description), root cause, workaround and affected CIs (or its CI).  A stale ``version``
    conflicts: the known error is written from what the caller saw."""
    require(actor, "problem.manage")
    from itsmdesk.services.problem import rca

    with records.atomic():
        records.check_version(Problem, problem_id, version)
        problem = records.get(Problem, problem_id)
        cis = [r.ci_id for r in ProblemCI.select(ProblemCI.ci).where(ProblemCI.problem == problem.id)]
        if not cis and problem.ci_id:
            cis = [problem.ci_id]
        return create_known_error({
            "title": problem.title, "problem": problem.id,
            "symptom": rca.notes(problem)["symptoms"] or problem.description or None,
            "root_cause": problem.root_cause, "workaround": problem.workaround}, actor, cis=cis)
