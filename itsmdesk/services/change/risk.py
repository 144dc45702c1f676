"""Risk of a change, computed from the CMDB and the change history.

Score = sum of factor points (0..100); each factor has a weight (its maximum points):

=====================  ======  ========================================================
factor                 weight  points
=====================  ======  ========================================================
services                   30  impacted business services, by criticality (low 2,
                               medium 4, high 8, critical 12 each), capped
type                       20  standard 0, normal 8, emergency 20
outage                     20  outage 12; downtime over 1 h +4, over 4 h +8
failure_rate               15  share of earlier finished changes on the same CIs that
                               failed, were backed out or had a failed PIR, x 15
conflicts                  15  5 per change conflict, 8 per blackout, 3 if outside
                               maintenance windows, capped
=====================  ======  ========================================================

Level: low < 20 <= medium < 40 <= high < 65 <= very high.  A person may override the level
with a reason; the override and reason are journalled, and the computed score stays visible.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.change import RISK_LEVELS, Change, ChangeCI
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor

WEIGHTS = {"services": 30, "type": 20, "outage": 20, "failure_rate": 15, "conflicts": 15}
CRITICALITY_POINTS = {"low": 2, "medium": 4, "high": 8, "critical": 12}
TYPE_POINTS = {"standard": 0, "normal": 8, "emergency": 20}
LEVEL_LIMITS = ((20, "low"), (40, "medium"), (65, "high"))
FAILED_OUTCOMES = ("failed", "backed_out")


@dataclass
class RiskAssessment:
    score: int
    level: str
    factors: list[dict] = field(default_factory=list)
    services: list[dict] = field(default_factory=list)  # [{"id", "name", "criticality"}]
    override: str | None = None
    override_reason: str | None = None

    @property
    def effective_level(self) -> str:
        return self.override or self.level


def level_for(score: int) -> str:
    for limit, name in LEVEL_LIMITS:
        if score < limit:
            return name
    return "very_high"


def impacted_services(ci_ids: list) -> list[dict]:
    """Business services an outage of ``ci_ids`` reaches (the CMDB's impact analysis), with
    their criticality, by name."""
    if not ci_ids:
        return []
    from itsmdesk.services.cmdb import impact

    found = impact.impacted_services(list(ci_ids))
    return [{"id": s.ci_id, "name": s.name, "criticality": s.criticality}
            for s in sorted(found, key=lambda s: s.name)]


def failure_rate(change: Change, ci_ids: list) -> tuple[float, int, int]:
    """(rate, failed, finished) over earlier finished changes sharing a CI with this one."""
    if not ci_ids:
        return 0.0, 0, 0
    earlier = (Change.select(Change.id, Change.status, Change.pir_outcome).distinct()
               .join(ChangeCI, on=(ChangeCI.change == Change.id))
               .where(ChangeCI.ci.in_(ci_ids) & (Change.id != change.id)
                      & Change.status.in_(("implemented", "in_review", "closed", "failed",
                                           "backed_out"))))
    if change.planned_start:
        earlier = earlier.where(Change.planned_start < change.planned_start)
    finished = failed = 0
    for _id, status, pir in earlier.tuples():
        finished += 1
        if status in FAILED_OUTCOMES or pir == "failed":
            failed += 1
    return (failed / finished if finished else 0.0), failed, finished


def failure_rates(changes: list[Change]) -> dict:
    """change id -> (rate, failed, finished), like :func:`failure_rate`, in two queries."""
    from collections import defaultdict

    ids = [c.id for c in changes]
    cis_of: dict = defaultdict(set)
    for cid, ci in ChangeCI.select(ChangeCI.change, ChangeCI.ci).where(
            ChangeCI.change.in_(ids)).tuples():
        cis_of[cid].add(ci)
    all_cis = {ci for v in cis_of.values() for ci in v}
    history: dict = defaultdict(list)  # ci -> [(change id, start, failed)]
    if all_cis:
        rows = (Change.select(Change.id, Change.planned_start, Change.status, Change.pir_outcome,
                              ChangeCI.ci)
                .join(ChangeCI, on=(ChangeCI.change == Change.id))
                .where(ChangeCI.ci.in_(list(all_cis))
                       & Change.status.in_(("implemented", "in_review", "closed", "failed",
                                            "backed_out"))).tuples())
        for cid, start, status, pir, ci in rows:
            history[ci].append((cid, start, status in FAILED_OUTCOMES or pir == "failed"))
    out = {}
    for change in changes:
        seen: dict = {}
        for ci in cis_of.get(change.id, ()):
            for cid, start, failed in history.get(ci, ()):
                if cid == change.id or (change.planned_start and start
                                        and not start < change.planned_start):
                    continue
                seen[cid] = failed
        finished, failed = len(seen), sum(seen.values())
        out[change.id] = ((failed / finished if finished else 0.0), failed, finished)
    return out


def _why(template: str, **params) -> dict:
    """A factor's reason: the English text (``why``, what older rows have) plus the template and
    its parameters, so the GUI, reports and CLI can show it in the user's language."""
    return {"why": template.format(**params), "why_template": template, "why_params": params}


def compute(change: Change, found_conflicts: list | None = None, ci_ids: list | None = None,
            failure: tuple | None = None) -> RiskAssessment:
    """Assess a change without saving anything.  Callers assessing many changes pass what they
    already have: ``found_conflicts``, the affected ``ci_ids``, the ``failure`` rate tuple."""
    from itsmdesk.services.change import conflicts as conflict_service

    if ci_ids is None:
        ci_ids = [r[0] for r in ChangeCI.select(ChangeCI.ci)
                  .where(ChangeCI.change == change.id).tuples()]
    factors = []

    services = impacted_services(ci_ids)
    pts = min(WEIGHTS["services"], sum(CRITICALITY_POINTS.get(s["criticality"], 4)
                                       for s in services))
    crit = ", ".join(f"{s['name']} ({s['criticality']})" for s in services[:6])
    if len(services) > 6:
        why = _why(N_("{n} business service(s) impacted: {services} and {more} more"),
                   n=len(services), services=crit, more=len(services) - 6)
    elif services:
        why = _why(N_("{n} business service(s) impacted: {services}"), n=len(services),
                   services=crit)
    else:
        why = _why(N_("{n} business service(s) impacted"), n=0)
    factors.append({"factor": "services", "value": len(services), "weight": WEIGHTS["services"],
                    "points": pts, **why})

    pts = TYPE_POINTS.get(change.type, 8)
    type_why = {"standard": N_("standard change"), "normal": N_("normal change"),
                "emergency": N_("emergency change")}
    why = (_why(type_why[change.type]) if change.type in type_why
           else _why(N_("{type} change"), type=change.type))
    factors.append({"factor": "type", "value": change.type, "weight": WEIGHTS["type"],
                    "points": pts, **why})

    pts = 12 if change.outage else 0
    if change.downtime_start and change.downtime_end:
        minutes = int((change.downtime_end - change.downtime_start) / dt.timedelta(minutes=1))
        pts += 8 if minutes > 240 else 4 if minutes > 60 else 0
        why = _why(N_("service outage, downtime {minutes} min") if change.outage
                   else N_("no outage, downtime {minutes} min"), minutes=minutes)
    else:
        why = _why(N_("service outage") if change.outage else N_("no outage"))
    factors.append({"factor": "outage", "value": bool(change.outage), "weight": WEIGHTS["outage"],
                    "points": min(pts, WEIGHTS["outage"]), **why})

    rate, failed, finished = failure if failure is not None else failure_rate(change, ci_ids)
    pts = round(rate * WEIGHTS["failure_rate"])
    factors.append({"factor": "failure_rate", "value": round(rate, 3),
                    "weight": WEIGHTS["failure_rate"], "points": pts,
                    **_why(N_("{failed} of {finished} earlier change(s) on these CIs failed"),
                           failed=failed, finished=finished)})

    found = (conflict_service.for_change(change.id) if found_conflicts is None
             else found_conflicts)
    n_pair = sum(1 for c in found if c.kind in ("same_ci", "impact_path"))
    n_black = sum(1 for c in found if c.kind == "blackout")
    n_out = sum(1 for c in found if c.kind == "outside_maintenance")
    pts = min(WEIGHTS["conflicts"], 5 * n_pair + 8 * n_black + (3 if n_out else 0))
    why = _why(N_("{pairs} overlapping change(s), {blackouts} blackout(s), outside maintenance "
                  "window") if n_out else N_("{pairs} overlapping change(s), {blackouts} blackout(s)"),
               pairs=n_pair, blackouts=n_black)
    factors.append({"factor": "conflicts", "value": len(found), "weight": WEIGHTS["conflicts"],
                    "points": pts, **why})

    score = sum(f["points"] for f in factors)
    return RiskAssessment(score, level_for(score), factors, services,
                          change.risk_override, change.risk_override_reason)


def assess(change_id, actor: Actor = SYSTEM,  # noqa: ANN001
           version: int | None = None) -> RiskAssessment:
    """Compute and store the risk (score, level, factors); journalled when it changes.  With
    ``version`` (the change's, as the caller read it) a stale change conflicts."""
    with records.atomic():
        change = records.get(Change, change_id)
        records.check_version(Change, change.id, version)
        result = compute(change)
        records.update(Change, change.id, version, {
            "risk_score": result.score, "risk_level": result.level,
            "risk_factors": result.factors}, actor)
        return result


def override(change_id, version: int | None, level: str | None, reason: str,  # noqa: ANN001
             actor: Actor = SYSTEM) -> Change:
    """Set (or with ``level`` None clear) a person's override of the computed level."""
    if level is not None and level not in RISK_LEVELS:
        raise ValidationError(N_("Risk level '{value}' is not one of: {allowed}"),
                              field="risk_override", value=level, allowed=", ".join(RISK_LEVELS))
    if level is not None and not (reason or "").strip():
        raise ValidationError(N_("Overriding the risk needs a reason"),
                              field="risk_override_reason")
    with records.atomic():
        return records.update(Change, change_id, version, {
            "risk_override": level, "risk_override_reason": reason.strip() if level else None},
            actor)


def effective_level(change: Change) -> str | None:
    return change.risk_override or change.risk_level
