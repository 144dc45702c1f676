"""Problem Management: problems and known errors (create/update/get/link)."""

from __future__ import annotations

from typing import Any

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
from itsmdesk.services.validation import one_of, required_text


def create_problem(values: dict[str, Any], actor: Actor = SYSTEM, cis: list | None = None) -> Problem:
    required_text(values, "title", "Title")
    one_of(values, "status", PROBLEM_STATUSES, "Status")
    with records.atomic():
        problem = records.create(Problem, values, actor, ref_prefix="PRB")
        for ci in cis or []:
            ProblemCI.create(problem=problem.id, ci=getattr(ci, "id", ci))
        return problem


def update_problem(problem_id, version: int | None, changes: dict[str, Any],
                   actor: Actor = SYSTEM) -> Problem:
    required_text(changes, "title", "Title", creating=False)
    one_of(changes, "status", PROBLEM_STATUSES, "Status")
    with records.atomic():
        return records.update(Problem, problem_id, version, changes, actor)


def link_incidents(problem_id, incident_ids: list, actor: Actor = SYSTEM) -> int:
    """Point incidents at a problem (each incident's change is journalled)."""
    with records.atomic():
        problem = records.get(Problem, problem_id)
        count = 0
        for incident_id in incident_ids:
            inc = records.get(Incident, incident_id)
            if inc.problem_id != problem.id:
                records.update(Incident, inc.id, None, {"problem": problem.id}, actor)
                count += 1
        return count


def create_known_error(values: dict[str, Any], actor: Actor = SYSTEM,
                       cis: list | None = None) -> KnownError:
    required_text(values, "title", "Title")
    one_of(values, "solution_status", KE_SOLUTION_STATUSES, "Solution status")
    with records.atomic():
        ke = records.create(KnownError, values, actor, ref_prefix="KE")
        for ci in cis or []:
            KnownErrorCI.create(known_error=ke.id, ci=getattr(ci, "id", ci))
        return ke


def update_known_error(ke_id, version: int | None, changes: dict[str, Any],
                       actor: Actor = SYSTEM) -> KnownError:
    required_text(changes, "title", "Title", creating=False)
    one_of(changes, "solution_status", KE_SOLUTION_STATUSES, "Solution status")
    with records.atomic():
        return records.update(KnownError, ke_id, version, changes, actor)
