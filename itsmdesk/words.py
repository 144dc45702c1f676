"""Stored values (statuses, types, risk levels, votes, ...) as words in the reader's language.

Shared by the PDF reports and the views: ``word("awaiting_cab")`` -> "awaiting cab" / "väntar på
CAB".  QtCore only.  (The context stays "PdfCommon", where the words were first translated.)
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

# Unknown values are shown with "_" as a space, untranslated.
WORDS = {
    # change statuses
    "draft": QT_TRANSLATE_NOOP("PdfCommon", "draft"),
    "submitted": QT_TRANSLATE_NOOP("PdfCommon", "submitted"),
    "assessed": QT_TRANSLATE_NOOP("PdfCommon", "assessed"),
    "awaiting_cab": QT_TRANSLATE_NOOP("PdfCommon", "awaiting cab"),
    "approved": QT_TRANSLATE_NOOP("PdfCommon", "approved"),
    "rejected": QT_TRANSLATE_NOOP("PdfCommon", "rejected"),
    "scheduled": QT_TRANSLATE_NOOP("PdfCommon", "scheduled"),
    "implementing": QT_TRANSLATE_NOOP("PdfCommon", "implementing"),
    "implemented": QT_TRANSLATE_NOOP("PdfCommon", "implemented"),
    "in_review": QT_TRANSLATE_NOOP("PdfCommon", "in review"),
    "closed": QT_TRANSLATE_NOOP("PdfCommon", "closed"),
    "failed": QT_TRANSLATE_NOOP("PdfCommon", "failed"),
    "backed_out": QT_TRANSLATE_NOOP("PdfCommon", "backed out"),
    # change and release types
    "standard": QT_TRANSLATE_NOOP("PdfCommon", "standard"),
    "normal": QT_TRANSLATE_NOOP("PdfCommon", "normal"),
    "emergency": QT_TRANSLATE_NOOP("PdfCommon", "emergency"),
    "major": QT_TRANSLATE_NOOP("PdfCommon", "major"),
    "minor": QT_TRANSLATE_NOOP("PdfCommon", "minor"),
    # risk levels and criticality
    "low": QT_TRANSLATE_NOOP("PdfCommon", "low"),
    "medium": QT_TRANSLATE_NOOP("PdfCommon", "medium"),
    "high": QT_TRANSLATE_NOOP("PdfCommon", "high"),
    "very_high": QT_TRANSLATE_NOOP("PdfCommon", "very high"),
    "critical": QT_TRANSLATE_NOOP("PdfCommon", "critical"),
    "not_assessed": QT_TRANSLATE_NOOP("PdfCommon", "not assessed"),
    # votes and decisions
    "approve": QT_TRANSLATE_NOOP("PdfCommon", "approve"),
    "reject": QT_TRANSLATE_NOOP("PdfCommon", "reject"),
    "abstain": QT_TRANSLATE_NOOP("PdfCommon", "abstain"),
    "deferred": QT_TRANSLATE_NOOP("PdfCommon", "deferred"),
    "pending": QT_TRANSLATE_NOOP("PdfCommon", "pending"),
    # CAB meetings
    "planned": QT_TRANSLATE_NOOP("PdfCommon", "planned"),
    "held": QT_TRANSLATE_NOOP("PdfCommon", "held"),
    "cancelled": QT_TRANSLATE_NOOP("PdfCommon", "cancelled"),
    # releases and their plan steps
    "planning": QT_TRANSLATE_NOOP("PdfCommon", "planning"),
    "build": QT_TRANSLATE_NOOP("PdfCommon", "build"),
    "test": QT_TRANSLATE_NOOP("PdfCommon", "test"),
    "deploying": QT_TRANSLATE_NOOP("PdfCommon", "deploying"),
    "deployed": QT_TRANSLATE_NOOP("PdfCommon", "deployed"),
    "in_progress": QT_TRANSLATE_NOOP("PdfCommon", "in progress"),
    "done": QT_TRANSLATE_NOOP("PdfCommon", "done"),
    "skipped": QT_TRANSLATE_NOOP("PdfCommon", "skipped"),
    # conflict kinds
    "same_ci": QT_TRANSLATE_NOOP("PdfCommon", "same ci"),
    "impact_path": QT_TRANSLATE_NOOP("PdfCommon", "impact path"),
    "blackout": QT_TRANSLATE_NOOP("PdfCommon", "blackout"),
    "outside_maintenance": QT_TRANSLATE_NOOP("PdfCommon", "outside maintenance"),
    # risk factors (changes and releases)
    "services": QT_TRANSLATE_NOOP("PdfCommon", "services"),
    "type": QT_TRANSLATE_NOOP("PdfCommon", "type"),
    "outage": QT_TRANSLATE_NOOP("PdfCommon", "outage"),
    "failure_rate": QT_TRANSLATE_NOOP("PdfCommon", "failure rate"),
    "conflicts": QT_TRANSLATE_NOOP("PdfCommon", "conflicts"),
    "changes": QT_TRANSLATE_NOOP("PdfCommon", "changes"),
    "sites": QT_TRANSLATE_NOOP("PdfCommon", "sites"),
    "backout": QT_TRANSLATE_NOOP("PdfCommon", "backout"),
    "combined": QT_TRANSLATE_NOOP("PdfCommon", "combined"),
    # CI statuses and relation types
    "in_production": QT_TRANSLATE_NOOP("PdfCommon", "in production"),
    "in_maintenance": QT_TRANSLATE_NOOP("PdfCommon", "in maintenance"),
    "retired": QT_TRANSLATE_NOOP("PdfCommon", "retired"),
    "depends_on": QT_TRANSLATE_NOOP("PdfCommon", "depends on"),
    "runs_on": QT_TRANSLATE_NOOP("PdfCommon", "runs on"),
    "hosted_on": QT_TRANSLATE_NOOP("PdfCommon", "hosted on"),
    "connected_to": QT_TRANSLATE_NOOP("PdfCommon", "connected to"),
    "part_of": QT_TRANSLATE_NOOP("PdfCommon", "part of"),
    "uses": QT_TRANSLATE_NOOP("PdfCommon", "uses"),
    # ticket and problem statuses, known-error solution states
    "new": QT_TRANSLATE_NOOP("PdfCommon", "new"),
    "approval": QT_TRANSLATE_NOOP("PdfCommon", "approval"),
    "assigned": QT_TRANSLATE_NOOP("PdfCommon", "assigned"),
    "resolved": QT_TRANSLATE_NOOP("PdfCommon", "resolved"),
    "fulfilled": QT_TRANSLATE_NOOP("PdfCommon", "fulfilled"),
    "investigating": QT_TRANSLATE_NOOP("PdfCommon", "investigating"),
    "root_cause_known": QT_TRANSLATE_NOOP("PdfCommon", "root cause known"),
    "workaround_only": QT_TRANSLATE_NOOP("PdfCommon", "workaround only"),
    "fix_planned": QT_TRANSLATE_NOOP("PdfCommon", "fix planned"),
    "fix_in_progress": QT_TRANSLATE_NOOP("PdfCommon", "fix in progress"),
    "fixed": QT_TRANSLATE_NOOP("PdfCommon", "fixed"),
    "wont_fix": QT_TRANSLATE_NOOP("PdfCommon", "won't fix"),
    # ticket kinds, contact channels, resolution codes
    "incident": QT_TRANSLATE_NOOP("PdfCommon", "incident"),
    "request": QT_TRANSLATE_NOOP("PdfCommon", "request"),
    "phone": QT_TRANSLATE_NOOP("PdfCommon", "phone"),
    "email": QT_TRANSLATE_NOOP("PdfCommon", "email"),
    "portal": QT_TRANSLATE_NOOP("PdfCommon", "portal"),
    "walk_in": QT_TRANSLATE_NOOP("PdfCommon", "walk in"),
    "chat": QT_TRANSLATE_NOOP("PdfCommon", "chat"),
    "monitoring": QT_TRANSLATE_NOOP("PdfCommon", "monitoring"),
    "solved_workaround": QT_TRANSLATE_NOOP("PdfCommon", "solved (workaround)"),
    "solved_permanently": QT_TRANSLATE_NOOP("PdfCommon", "solved permanently"),
    "solved_by_change": QT_TRANSLATE_NOOP("PdfCommon", "solved by change"),
    "not_reproducible": QT_TRANSLATE_NOOP("PdfCommon", "not reproducible"),
    "duplicate": QT_TRANSLATE_NOOP("PdfCommon", "duplicate"),
    "user_error": QT_TRANSLATE_NOOP("PdfCommon", "user error"),
    "no_fault_found": QT_TRANSLATE_NOOP("PdfCommon", "no fault found"),
    # yes / no
    "yes": QT_TRANSLATE_NOOP("PdfCommon", "yes"),
    "no": QT_TRANSLATE_NOOP("PdfCommon", "no"),
}


def word(value: str | None) -> str:
    """A stored value (``awaiting_cab``, ``very_high``, ``approve``) as a word in the reader's
    language; ``""`` for none."""
    if not value:
        return ""
    source = WORDS.get(value)
    if source is None:
        return value.replace("_", " ")
    return QCoreApplication.translate("PdfCommon", source)
