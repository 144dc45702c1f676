"""Problem lifecycle: new → investigating → root_cause_known → resolved → closed.

Each step is one transaction, version-checked and journalled (through ``records.update``).
Moving to ``root_cause_known`` needs a root cause, ``resolved`` needs a permanent solution (or a
workaround, for problems closed as "workaround only").  Closing a problem whose fix was
implemented offers to resolve its linked open incidents: :func:`close_problem` returns those
incidents, and :func:`resolve_linked_incidents` resolves them.

"Raise RFC" (:func:`raise_rfc`) creates the corrective change for a problem or a known error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from itsmdesk.errors import N_, NotFoundError, TransitionError, ValidationError
from itsmdesk.models.base import utcnow
from itsmdesk.models.change import Change
from itsmdesk.models.incident import OPEN_STATUSES, Incident
from itsmdesk.models.problem import KnownError, KnownErrorCI, Problem, ProblemCI
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import require

# status -> statuses it may move to
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("investigating", "root_cause_known", "closed"),
    "investigating": ("root_cause_known", "new", "closed"),
    "root_cause_known": ("resolved", "investigating", "closed"),
    "resolved": ("closed", "investigating"),
    "closed": ("investigating",),  # re-open when the fix did not hold
}

# Change statuses that mean "the fix is in"
FIX_DONE_CHANGE_STATUSES = ("implemented", "in_review", "closed")


def allowed_transitions(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def _get_problem(problem_id: Any) -> Problem:
    if isinstance(problem_id, Problem):
        problem_id = problem_id.id
    return records.get(Problem, problem_id)


def transition(problem_id: Any, version: int | None, target: str, actor: Actor = SYSTEM,
               changes: dict[str, Any] | None = None) -> Problem:
    """Move a problem to ``target`` (with optional field changes in the same write)."""
    require(actor, "problem.manage")
    changes = dict(changes or {})
    with records.atomic():
        problem = _get_problem(problem_id)
        if target == problem.status:
            if changes:
                return records.update(Problem, problem.id, version, changes, actor)
            return problem
        if target not in allowed_transitions(problem.status):
            raise TransitionError(N_("A problem cannot go from {old} to {new}"), field="status",
                                  old=problem.status, new=target)
        root_cause = changes.get("root_cause", problem.root_cause)
        solution = changes.get("solution", problem.solution)
        workaround = changes.get("workaround", problem.workaround)
        if target == "root_cause_known" and not (root_cause or "").strip():
            raise ValidationError(N_("Record the root cause before marking it known"),
                                  field="root_cause")
        if target == "resolved" and not ((solution or "").strip() or (workaround or "").strip()):
            raise ValidationError(N_("Record the permanent solution (or a workaround) before "
                                     "resolving the problem"), field="solution")
        changes["status"] = target
        now = utcnow()
        if target == "resolved":
            changes.setdefault("resolved_at", now)
        elif target == "closed":
            changes.setdefault("closed_at", now)
            if problem.resolved_at is None:
                changes.setdefault("resolved_at", now)
        elif target in ("investigating", "new"):
            changes.setdefault("resolved_at", None)
            changes.setdefault("closed_at", None)
        return records.update(Problem, problem.id, version, changes, actor)


def open_incidents_of(problem: Any) -> list[Incident]:
    """Linked incidents that are still open, oldest first."""
    problem_id = problem.id if isinstance(problem, Problem) else problem
    return list(Incident.select()
                .where((Incident.problem == problem_id) & Incident.status.in_(OPEN_STATUSES))
                .order_by(Incident.opened_at))


def fix_implemented(problem: Any) -> bool:
    """True when the problem's corrective change is in, or a known error of it is fixed."""
    problem = _get_problem(problem)
    if (Change.select().where((Change.problem == problem.id)
                              & Change.status.in_(FIX_DONE_CHANGE_STATUSES)).exists()):
        return True
    if (KnownError.select().where((KnownError.problem == problem.id)
                                  & (KnownError.solution_status == "fixed")).exists()):
        return True
    return problem.status in ("resolved", "closed") and bool((problem.solution or "").strip())


@dataclass
class CloseResult:
    problem: Problem
    fix_implemented: bool
    open_incidents: list[Incident] = field(default_factory=list)
    resolved_incidents: list[Incident] = field(default_factory=list)

    @property
    def offer_resolve(self) -> bool:
        """Whether to offer resolving the linked open incidents."""
        return self.fix_implemented and bool(self.open_incidents)


def close_problem(problem_id: Any, version: int | None, actor: Actor = SYSTEM,
                  resolve_incidents: bool = False) -> CloseResult:
    """Close a problem; with ``resolve_incidents`` also resolve its open incidents (when fixed).

    Without ``resolve_incidents`` the result lists the open incidents so the caller can offer it.
    """
    require(actor, "problem.close")
    with records.atomic():
        problem = transition(problem_id, version, "closed", actor)
        fixed = fix_implemented(problem)
        result = CloseResult(problem, fixed, open_incidents_of(problem))
        if resolve_incidents and fixed and result.open_incidents:
            result.resolved_incidents = resolve_linked_incidents(problem.id, actor)
            result.open_incidents = []
        return result


def resolve_linked_incidents(problem_id: Any, actor: Actor = SYSTEM,
                             version: int | None = None) -> list[Incident]:
    """Resolve every open incident linked to the problem, naming the problem as the fix (a
    stale ``version`` of the problem conflicts: its solution is what the incidents are told)."""
    require(actor, "problem.manage")
    from itsmdesk.services.servicedesk.incidents import add_work_log
    from itsmdesk.services.servicedesk.incidents import transition as incident_transition

    with records.atomic():
        problem = _get_problem(problem_id)
        records.check_version(Problem, problem.id, version)
        solution = (problem.solution or problem.workaround or "").strip()
        text = f"Resolved by the fix for {problem.ref}: {problem.title}"
        if solution:
            text += f"\n{solution}"
        by_change = Change.select().where((Change.problem == problem.id) & Change.status.in_(
            FIX_DONE_CHANGE_STATUSES)).exists()
        code = "solved_by_change" if by_change else "solved_permanently"
        done = []
        for inc in open_incidents_of(problem):
            status = "fulfilled" if inc.kind == "request" else "resolved"
            done.append(incident_transition(inc.id, None, status, actor, resolution_code=code,
                                            solution=(inc.solution or "").strip() or text))
            add_work_log(inc.id, text, actor)
        return done


def unlink_incident(incident_id: Any, actor: Actor = SYSTEM, version: int | None = None) -> Incident:
    require(actor, "problem.manage")
    with records.atomic():
        return records.update(Incident, incident_id, version, {"problem": None}, actor)


def unlink_incidents(incident_ids: list, actor: Actor = SYSTEM,
                     versions: dict | None = None) -> int:
    """Unlink several incidents from their problem in one transaction; ``versions`` (incident id
    -> the version the caller saw) makes a stale incident conflict."""
    require(actor, "problem.manage")
    with records.atomic():
        for incident_id in incident_ids:
            unlink_incident(incident_id, actor, (versions or {}).get(incident_id))
        return len(incident_ids)


def set_affected_cis(problem_id: Any, cis: list, actor: Actor = SYSTEM,
                     version: int | None = None) -> None:
    """The problem's CIs become exactly ``cis`` (a stale ``version`` conflicts)."""
    require(actor, "problem.manage")
    with records.atomic():
        problem = _get_problem(problem_id)
        records.set_links(ProblemCI, problem.id, "ci", [getattr(ci, "id", ci) for ci in cis],
                          actor, version)


def raise_rfc(record_id: Any, actor: Actor = SYSTEM, values: dict[str, Any] | None = None,
              version: int | None = None) -> Change:
    """Create the corrective change (RFC) for a problem or a known error, linked to it (a stale
    ``version`` of that record conflicts: the RFC is written from what the caller saw)."""
    from itsmdesk.services.change.changes import create_change

    with records.atomic():
        problem = Problem.get_or_none(Problem.id == record_id) if record_id else None
        ke = None
        if problem is None:
            ke = KnownError.get_or_none(KnownError.id == record_id) if record_id else None
            if ke is None:
                raise NotFoundError(N_("No problem or known error with id {id}"), id=record_id)
            problem = ke.problem
        target = ke if ke is not None else problem
        records.check_version(type(target), target.id, version)
        if ke is not None:
            title, cause = ke.title, ke.root_cause
            fix = ke.workaround
            cis = [r.ci_id for r in KnownErrorCI.select().where(KnownErrorCI.known_error == ke.id)]
            ref = ke.ref
        else:
            title, cause, fix = problem.title, problem.root_cause, problem.solution
            cis = [r.ci_id for r in ProblemCI.select().where(ProblemCI.problem == problem.id)]
            if problem.ci_id and problem.ci_id not in cis:
                cis.append(problem.ci_id)
            ref = problem.ref
        data: dict[str, Any] = {
            "title": f"Fix {ref}: {title}"[:300],
            "type": "normal",
            "reason": f"Corrective change for {ref}." + (f" Root cause: {cause}" if cause else ""),
            "description": fix or None,
            "problem": problem.id if problem is not None else None,
            "known_error": ke.id if ke is not None else None,
        }
        if problem is not None and problem.team_id:
            data["team"] = problem.team_id
        data.update(values or {})
        change = create_change(data, actor, cis=cis or None)
        records.note(type(target), target.id, "rfc+", change.ref, actor)
        return change
