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

One risk, computed once: :func:`assess` stores the score, level and the factors that produced
them on the change; everything that shows a change's risk (the change form and list, the CAB
pack, the minutes, the calendar and its ``.ics``) shows that stored assessment (:func:`stored`,
:func:`shown_level`), never a fresh computation.  Moving a change to ``assessed`` (or to the
CAB) assesses it when it was not assessed yet.

Once a change is approved (``approved``, ``scheduled``) its risk is what the approval was given
for: re-assessing it or overriding the level needs a reason (journalled), and a new effective
level sends it back for approval (normal and emergency changes to ``awaiting_cab``, a standard
change to ``submitted``); the votes cast before no longer count.  From ``implementing`` on the
risk is history and is not changed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import peewee as pw

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


# Approved: a new level needs a new approval.  Started or finished: the risk is history.
REAPPROVAL_STATUSES = ("approved", "scheduled")
FROZEN_STATUSES = ("implementing", "implemented", "in_review", "closed", "failed", "backed_out")
SENT_BACK = "sent_back_for_approval"  # the journal note of a change whose approval was withdrawn


@dataclass
class RiskChange:
    """What a re-assessment or an override did: the effective level before and after, and the
    status the change was sent back to (None: its status did not move)."""

    assessment: RiskAssessment | None
    change: Change
    level_before: str | None
    level_after: str | None
    sent_back_to: str | None = None

    @property
    def level_changed(self) -> bool:
        return self.level_before != self.level_after


def _set_risk(change: Change, version: int | None, values: dict, reason: str | None,
              actor: Actor) -> RiskChange:
    """Write new risk ``values`` on ``change`` (in the caller's transaction) under the rules in
    the module's docstring."""
    if change.status in FROZEN_STATUSES:
        raise ValidationError(N_("{ref} is {status}: its risk is no longer changed"),
                              field="risk_level", ref=change.ref, status=change.status)
    before = change.risk_override or change.risk_level
    override = values.get("risk_override", change.risk_override)
    after = override or values.get("risk_level", change.risk_level)
    reason = (reason or "").strip()
    sent_back = None
    approved = change.status in REAPPROVAL_STATUSES
    if approved:
        if not reason:
            raise ValidationError(
                N_("{ref} is {status}: changing its risk needs a reason (a new level sends it "
                   "back for approval)"), field="risk_reason", ref=change.ref,
                status=change.status)
        if after != before:
            sent_back = "submitted" if change.type == "standard" else "awaiting_cab"
            values = {**values, "status": sent_back}
    updated = records.update(Change, change.id, version, values, actor, current=change)
    if approved:
        records.note(Change, change.id, SENT_BACK if sent_back else "risk_reassessed", reason,
                     actor)
    return RiskChange(None, updated, before, after, sent_back)


def assess(change_id, actor: Actor = SYSTEM,  # noqa: ANN001
           version: int | None = None, reason: str | None = None) -> RiskAssessment:
    """Compute and store the risk (score, level, factors); journalled when it changes.  With
    ``version`` (the change's, as the caller read it) a stale change conflicts.  An approved
    change needs a ``reason`` and goes back for approval when its level changes (see the
    module's docstring); :func:`reassess` says what happened."""
    return reassess(change_id, actor, version, reason).assessment


def reassess(change_id, actor: Actor = SYSTEM, version: int | None = None,  # noqa: ANN001
             reason: str | None = None) -> RiskChange:
    """:func:`assess`, returning what it did (levels before and after, where the change went)."""
    with records.atomic():
        change = records.get(Change, change_id)
        records.check_version(Change, change.id, version)
        result = compute(change)
        done = _set_risk(change, version, {
            "risk_score": result.score, "risk_level": result.level,
            "risk_factors": result.factors}, reason, actor)
        done.assessment = result
        return done


def assess_if_new(change: Change, actor: Actor = SYSTEM) -> Change:
    """Store the risk of a change that has none yet (the lifecycle's assessment step), in the
    caller's transaction; a change already assessed keeps its assessment."""
    if change.risk_score is not None:
        return change
    result = compute(change)
    return records.update(Change, change.id, None, {
        "risk_score": result.score, "risk_level": result.level, "risk_factors": result.factors},
        actor, current=change)


def override(change_id, version: int | None, level: str | None, reason: str,  # noqa: ANN001
             actor: Actor = SYSTEM) -> Change:
    """Set (or with ``level`` None clear) a person's override of the computed level."""
    return set_override(change_id, version, level, reason, actor).change


def set_override(change_id, version: int | None, level: str | None, reason: str,  # noqa: ANN001
                 actor: Actor = SYSTEM) -> RiskChange:
    """:func:`override`, returning what it did (as :func:`reassess`)."""
    if level is not None and level not in RISK_LEVELS:
        raise ValidationError(N_("Risk level '{value}' is not one of: {allowed}"),
                              field="risk_override", value=level, allowed=", ".join(RISK_LEVELS))
    if level is not None and not (reason or "").strip():
        raise ValidationError(N_("Overriding the risk needs a reason"),
                              field="risk_override_reason")
    with records.atomic():
        change = records.get(Change, change_id)
        return _set_risk(change, version, {
            "risk_override": level, "risk_override_reason": reason.strip() if level else None},
            reason, actor)


def effective_level(change: Change) -> str | None:
    return change.risk_override or change.risk_level


def shown_level(change) -> str:  # noqa: ANN001 - a change row or read model
    """The level every view and report shows: the override, else the stored assessment's
    level, else ``not_assessed``."""
    return change.risk_override or change.risk_level or "not_assessed"


def stored(change: Change) -> RiskAssessment | None:
    """The change's stored assessment (score, level, the factors that produced them, the
    override): what the app, the reports and the calendar show.  None when never assessed."""
    if change.risk_score is None and not change.risk_level:
        return None
    return RiskAssessment(change.risk_score if change.risk_score is not None else 0,
                          change.risk_level or "", list(change.risk_factors or []), [],
                          change.risk_override, change.risk_override_reason)


def votes_since_sent_back(change_id) -> set | None:  # noqa: ANN001
    """Ids of the votes on the change cast (or changed) since it was last sent back for
    approval; None when it never was (then every vote counts).  Votes are child rows of the
    change, so the journal orders them by the change's version."""
    import json

    from itsmdesk.models.change import Approval
    from itsmdesk.models.journal import JournalEntry

    def rows(fields: tuple[str, ...]):  # noqa: ANN202
        return JournalEntry.select().where(
            (JournalEntry.record_kind == Change.RECORD_KIND)
            & (JournalEntry.record_id == change_id) & JournalEntry.field.in_(fields))

    since = rows(("!" + SENT_BACK,)).select(pw.fn.MAX(JournalEntry.version)).scalar()
    if since is None:
        return None
    table = Approval._meta.table_name
    fresh = set()
    for (new,) in rows((table + "+", table + "~")).where(JournalEntry.version > since) \
            .select(JournalEntry.new).tuples():
        try:
            fresh.add(str(json.loads(new)["id"]))
        except (TypeError, ValueError, KeyError):
            continue
    return fresh
