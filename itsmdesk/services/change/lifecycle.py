"""The RFC lifecycle: which status may follow which, for which change type, by which role.

::

    draft -> submitted -> assessed -> awaiting_cab -> approved | rejected
    approved -> scheduled -> implementing -> implemented | failed | backed_out
    implemented | failed | backed_out -> in_review (PIR) -> closed

Type rules:

* **standard** changes are pre-approved (from a template): ``submitted -> approved`` directly, never
  to the CAB.
* **normal** changes go through assessment and the CAB; ``approved`` needs the CAB's quorum
  outcome (see :mod:`itsmdesk.services.change.cab`).
* **emergency** changes go to the ECAB (smaller quorum) straight from ``submitted``, may start
  implementing straight from ``approved``, and must pass the retrospective review (``in_review``)
  before they close.

Roles (``requester``, ``change_manager``, ``cab``, ``implementer``) arrive with the people
directory later; until then ``role=None`` means "the state rules only".  The rules are data
(:data:`RULES`), so the GUI asks :func:`allowed_next` and shows only the buttons that apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsmdesk.errors import N_, TransitionError

ANY = ("standard", "normal", "emergency")
REQ, MGR, CAB, IMPL = "requester", "change_manager", "cab", "implementer"


@dataclass(frozen=True)
class Rule:
    source: str
    target: str
    types: tuple[str, ...]
    roles: tuple[str, ...]
    label: str


RULES: tuple[Rule, ...] = (
    Rule("draft", "submitted", ANY, (REQ, MGR), N_("Submit")),
    Rule("submitted", "draft", ANY, (MGR,), N_("Return to requester")),
    Rule("submitted", "assessed", ("normal",), (MGR,), N_("Assess")),
    Rule("submitted", "approved", ("standard",), (MGR, REQ), N_("Approve (pre-approved)")),
    Rule("submitted", "awaiting_cab", ("emergency",), (MGR,), N_("Send to ECAB")),
    Rule("submitted", "rejected", ANY, (MGR,), N_("Reject")),
    Rule("assessed", "awaiting_cab", ("normal",), (MGR,), N_("Send to CAB")),
    Rule("assessed", "rejected", ("normal",), (MGR,), N_("Reject")),
    Rule("awaiting_cab", "approved", ("normal", "emergency"), (CAB, MGR), N_("Approve")),
    Rule("awaiting_cab", "rejected", ("normal", "emergency"), (CAB, MGR), N_("Reject")),
    Rule("awaiting_cab", "assessed", ("normal",), (CAB, MGR), N_("Defer / reassess")),
    Rule("approved", "scheduled", ANY, (MGR, IMPL), N_("Schedule")),
    Rule("approved", "implementing", ("emergency",), (IMPL, MGR), N_("Start implementing")),
    Rule("scheduled", "implementing", ANY, (IMPL, MGR), N_("Start implementing")),
    Rule("scheduled", "approved", ANY, (MGR,), N_("Unschedule")),
    Rule("implementing", "implemented", ANY, (IMPL, MGR), N_("Implemented")),
    Rule("implementing", "failed", ANY, (IMPL, MGR), N_("Failed")),
    Rule("implementing", "backed_out", ANY, (IMPL, MGR), N_("Backed out")),
    Rule("implemented", "in_review", ANY, (MGR,), N_("Start review (PIR)")),
    Rule("implemented", "closed", ("standard", "normal"), (MGR,), N_("Close")),
    Rule("failed", "in_review", ANY, (MGR,), N_("Start review (PIR)")),
    Rule("backed_out", "in_review", ANY, (MGR,), N_("Start review (PIR)")),
    Rule("in_review", "closed", ANY, (MGR,), N_("Close")),
    Rule("rejected", "draft", ANY, (REQ, MGR), N_("Rework")),
    Rule("rejected", "closed", ANY, (MGR,), N_("Close")),
)

TERMINAL = ("closed",)
FINISHED = ("implemented", "in_review", "closed", "failed", "backed_out")
# Changes that still occupy the calendar (used by conflicts and the forward schedule).
PLANNED = ("draft", "submitted", "assessed", "awaiting_cab", "approved", "scheduled",
           "implementing")
FORWARD_SCHEDULE = ("approved", "scheduled", "implementing")


def allowed_next(status: str, change_type: str, role: str | None = None) -> list[Rule]:
    """The steps open from ``status`` for this change type (and role, when given)."""
    return [r for r in RULES if r.source == status and change_type in r.types
            and (role is None or role in r.roles)]


def check(status: str, target: str, change_type: str, role: str | None = None) -> Rule:
    """The rule allowing ``status -> target``; :class:`TransitionError` if there is none."""
    for rule in RULES:
        if rule.source == status and rule.target == target and change_type in rule.types:
            if role is not None and role not in rule.roles:
                raise TransitionError(
                    N_("A {role} may not move a change from {source} to {target}"),
                    field="status", role=role.replace("_", " "), source=status, target=target)
            return rule
    options = ", ".join(r.target for r in allowed_next(status, change_type)) or "none"
    raise TransitionError(
        N_("A {type} change cannot go from {source} to {target} (allowed: {options})"),
        field="status", type=change_type, source=status, target=target, options=options)
