"""CAB minutes: the meeting, who attended, each change with its votes and decision, conditions,
and the actions with owners and due dates.  ``build(ref, path, page_size)`` -> pages.

Minutes of a meeting not held (planned or cancelled) are a draft: marked DRAFT on every page,
listing the invitees as invited (attendance comes only from what was recorded at a held
meeting).  A decision that differs from the quorum outcome says so, with its reason; actions
past their due date and not done are marked overdue."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from PySide6.QtCore import QCoreApplication
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak

from itsmdesk.reports.pdf_common import (
    build_document,
    fmt_dt,
    heading,
    key_values,
    markup,
    p,
    table,
    word,
)

DECISION_COLOURS = {"approved": "#15803d", "rejected": "#b91c1c", "deferred": "#b45309"}
OVERDUE_COLOUR = "#b91c1c"


def against_votes_note(outcome: str, reason: str | None) -> str:
    """Mini-markup: the decision differs from the quorum outcome, and why (escaped)."""
    if reason:
        text = QCoreApplication.translate(
            "CabMinutes", "Decided against the quorum outcome ({outcome}): {reason}").format(
                outcome=escape(word(outcome)), reason=escape(reason))
    else:
        text = QCoreApplication.translate(
            "CabMinutes", "Decided against the quorum outcome ({outcome}); no reason was "
            "recorded.").format(outcome=escape(word(outcome)))
    return f"<font color='{OVERDUE_COLOUR}'>{text}</font>"


def overdue_cell(due, done: bool, today):  # noqa: ANN001, ANN201 - dates; a cell
    """An action's due date; past it and not done: red, with the word "overdue"."""
    from itsmdesk.services.change.cab import is_overdue

    if due is None:
        return "—"
    if not is_overdue(due, done, today):
        return due.isoformat()
    return markup(f"<font color='{OVERDUE_COLOUR}'><b>{due.isoformat()}<br/>"
                  f"{escape(QCoreApplication.translate('CabMinutes', 'overdue'))}</b></font>",
                  "cell")


def _votes(o) -> str:  # noqa: ANN001 - cab.Outcome
    return QCoreApplication.translate("CabMinutes", "{approve} for, {reject} against, {abstain} abstain").format(
        approve=o.approve, reject=o.reject, abstain=o.abstain)


def _quorum_rule(o) -> str:  # noqa: ANN001 - cab.Outcome (its explain(), in the reader's language)
    if not o.quorate:
        return QCoreApplication.translate("CabMinutes", "no quorum: {votes} of {quorum} votes").format(
            votes=o.approve + o.reject + o.abstain, quorum=o.quorum)
    return QCoreApplication.translate(
        "CabMinutes", "{approve} approve, {reject} reject, {abstain} abstain; quorum {quorum}").format(
            approve=o.approve, reject=o.reject, abstain=o.abstain, quorum=o.quorum)


def _story(m, width: float, today) -> list:  # noqa: ANN001 - cab.Minutes, a date
    from itsmdesk.services.change.risk import shown_level

    meeting = m.meeting
    held = meeting.status == "held"
    title = (QCoreApplication.translate("CabMinutes", "Emergency CAB minutes: {title}") if meeting.emergency
             else QCoreApplication.translate("CabMinutes", "CAB minutes: {title}")).format(title=meeting.title)
    story: list = [heading(title, 0, key="top")]
    if not held:
        note = (QCoreApplication.translate(
            "CabMinutes", "DRAFT: this meeting was cancelled and not held.")
            if meeting.status == "cancelled" else QCoreApplication.translate(
                "CabMinutes", "DRAFT: this meeting has not been held yet. Attendance and "
                "decisions are not final."))
        story.append(markup(f"<font color='{OVERDUE_COLOUR}'><b>{escape(note)}</b></font>"))
    if held:
        present = [person.name for person, here in m.attendees if here]
        absent = [person.name for person, here in m.attendees if not here]
        people = [(QCoreApplication.translate("CabMinutes", "Present"), ", ".join(present) or "—"),
                  (QCoreApplication.translate("CabMinutes", "Apologies"), ", ".join(absent) or "—")]
    else:  # nobody attended a meeting not held: the invitees are invited
        people = [(QCoreApplication.translate("CabMinutes", "Invited"),
                   ", ".join(person.name for person, _here in m.attendees) or "—")]
    story.append(key_values([
        (QCoreApplication.translate("CabMinutes", "Meeting"), meeting.ref),
        (QCoreApplication.translate("CabMinutes", "Date (UTC)"),
         f"{fmt_dt(meeting.starts_at)} – {fmt_dt(meeting.ends_at)}"),
        (QCoreApplication.translate("CabMinutes", "Location"), meeting.location or "—"),
        (QCoreApplication.translate("CabMinutes", "Status"), word(meeting.status)),
        (QCoreApplication.translate("CabMinutes", "Chair"), m.chair.name if m.chair else "—"),
        *people,
        (QCoreApplication.translate("CabMinutes", "Quorum"), str(meeting.quorum)),
    ], width))
    if meeting.notes:
        story += [p(QCoreApplication.translate("CabMinutes", "Notes"), "label"), p(meeting.notes)]

    story.append(heading(QCoreApplication.translate("CabMinutes", "Decisions"), 1, key="decisions"))
    rows = [[QCoreApplication.translate("CabMinutes", "Change"), QCoreApplication.translate("CabMinutes", "Title"),
             QCoreApplication.translate("CabMinutes", "Votes"), QCoreApplication.translate("CabMinutes", "Decision"),
             QCoreApplication.translate("CabMinutes", "Conditions")]]
    for item in m.items:
        o = item.outcome
        decision = item.decision or "pending"
        colour = DECISION_COLOURS.get(decision, "#6b7280")
        cell = f'<font color="{colour}"><b>{escape(word(decision).upper())}</b></font>'
        if item.against_votes:
            cell += "<br/>" + escape(QCoreApplication.translate(
                "CabMinutes", "votes: {outcome}").format(outcome=word(o.decision)))
        rows.append([item.change.ref, item.change.title, _votes(o), markup(cell, "cell"),
                     item.conditions or "—"])
    if len(rows) == 1:
        rows.append(["", QCoreApplication.translate("CabMinutes", "No changes were discussed"), "", "", ""])
    story.append(table(rows, [24 * mm, width - 128 * mm, 38 * mm, 22 * mm, 44 * mm]))

    for item in m.items:
        change = item.change
        story.append(CondPageBreak(45 * mm))
        story.append(heading(f"{change.ref}: {change.title}", 1, key=f"item-{change.id}"))
        story.append(p(QCoreApplication.translate(
            "CabMinutes", "{type} change · risk {risk} · planned {start} – {end} UTC · now {status}").format(
                type=word(change.type), risk=word(shown_level(change)),
                start=fmt_dt(change.planned_start), end=fmt_dt(change.planned_end),
                status=word(change.status)), "muted"))
        rows = [[QCoreApplication.translate("CabMinutes", "Member"), QCoreApplication.translate("CabMinutes", "Vote"),
                 QCoreApplication.translate("CabMinutes", "Comment")]]
        for v in item.votes:
            rows.append([v.person.name, word(v.vote), v.comment or ""])
        if len(rows) == 1:
            rows.append(["—", QCoreApplication.translate("CabMinutes", "no votes recorded"), ""])
        story.append(table(rows, [50 * mm, 24 * mm, width - 74 * mm]))
        decision = item.decision or "pending"
        story.append(markup(QCoreApplication.translate(
            "CabMinutes", "<b>Decision:</b> {decision} <font color='#6b7280'>(quorum rule: {rule})</font>").format(
                decision=escape(word(decision)), rule=escape(_quorum_rule(item.outcome)))))
        if item.against_votes:
            story.append(markup(against_votes_note(item.outcome.decision, item.decision_reason)))
        if item.conditions:
            story.append(markup(QCoreApplication.translate("CabMinutes", "<b>Conditions:</b> {conditions}").format(
                conditions=escape(item.conditions))))

    story.append(heading(QCoreApplication.translate("CabMinutes", "Actions"), 1, key="actions"))
    rows = [[QCoreApplication.translate("CabMinutes", "Action"), QCoreApplication.translate("CabMinutes", "Change"),
             QCoreApplication.translate("CabMinutes", "Owner"), QCoreApplication.translate("CabMinutes", "Due"),
             QCoreApplication.translate("CabMinutes", "Done")]]
    refs = {item.change.id: item.change.ref for item in m.items}
    for a in m.actions:
        rows.append([a.text, refs.get(a.change_id, "—") if a.change_id else "—",
                     a.owner.name if a.owner_id else "—",
                     overdue_cell(a.due, a.done, today), word("yes" if a.done else "no")])
    if len(rows) == 1:
        rows.append([QCoreApplication.translate("CabMinutes", "No actions"), "", "", "", ""])
    story.append(table(rows, [width - 112 * mm, 24 * mm, 44 * mm, 24 * mm, 20 * mm]))
    return story


def build(meeting_ref: str, path: str | Path, page_size: str = "A4") -> int:  # noqa: A002
    """Write the minutes of ``meeting_ref`` to ``path``; returns the number of pages."""
    from itsmdesk.reports import pdf_common
    from itsmdesk.services import clock
    from itsmdesk.services.change import cab

    size = pdf_common.page_size(page_size)
    data = cab.minutes(meeting_ref)
    width = size[0] - 36 * mm
    meeting = data.meeting
    today = clock.utcnow().date()
    held = meeting.status == "held"
    title = (QCoreApplication.translate("CabMinutes", "CAB minutes {ref}") if held
             else QCoreApplication.translate("CabMinutes", "DRAFT CAB minutes {ref}"))
    return build_document(path, lambda: [_body_template()] + _story(data, width, today),
                          title=title.format(ref=meeting.ref),
                          subtitle=f"{meeting.title} · {meeting.starts_at:%Y-%m-%d} UTC",
                          size=page_size,
                          watermark=None if held else QCoreApplication.translate(
                              "CabMinutes", "DRAFT"))


def _body_template():
    from reportlab.platypus import NextPageTemplate

    return NextPageTemplate("body")

