"""CAB minutes: the meeting, who attended, each change with its votes and decision, conditions,
and the actions with owners and due dates.  ``build(ref, path, page_size)`` -> pages."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

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
)

DECISION_COLOURS = {"approved": "#15803d", "rejected": "#b91c1c", "deferred": "#b45309"}


def _story(m, width: float) -> list:  # noqa: ANN001 - cab.Minutes
    meeting = m.meeting
    present = [person.name for person, here in m.attendees if here]
    absent = [person.name for person, here in m.attendees if not here]
    kind = "Emergency CAB" if meeting.emergency else "CAB"
    story: list = [heading(f"{kind} minutes: {meeting.title}", 0, key="top")]
    story.append(key_values([
        ("Meeting", meeting.ref),
        ("Date (UTC)", f"{fmt_dt(meeting.starts_at)} – {fmt_dt(meeting.ends_at)}"),
        ("Location", meeting.location or "—"),
        ("Status", meeting.status),
        ("Chair", m.chair.name if m.chair else "—"),
        ("Present", ", ".join(present) or "—"),
        ("Apologies", ", ".join(absent) or "—"),
        ("Quorum", str(meeting.quorum)),
    ], width))
    if meeting.notes:
        story += [p("Notes", "label"), p(meeting.notes)]

    story.append(heading("Decisions", 1, key="decisions"))
    rows = [["Change", "Title", "Votes", "Decision", "Conditions"]]
    for item in m.items:
        o = item.outcome
        decision = item.decision or "pending"
        colour = DECISION_COLOURS.get(decision, "#6b7280")
        rows.append([item.change.ref, item.change.title,
                     f"{o.approve} for, {o.reject} against, {o.abstain} abstain",
                     markup(f'<font color="{colour}"><b>{escape(decision.upper())}</b></font>',
                            "cell"),
                     item.conditions or "—"])
    if len(rows) == 1:
        rows.append(["", "No changes were discussed", "", "", ""])
    story.append(table(rows, [24 * mm, width - 124 * mm, 34 * mm, 22 * mm, 44 * mm]))

    for item in m.items:
        change = item.change
        story.append(CondPageBreak(45 * mm))
        story.append(heading(f"{change.ref}: {change.title}", 1, key=f"item-{change.id}"))
        story.append(p(f"{change.type} change · planned {fmt_dt(change.planned_start)} – "
                       f"{fmt_dt(change.planned_end)} UTC · now {change.status.replace('_', ' ')}",
                       "muted"))
        rows = [["Member", "Vote", "Comment"]]
        for v in item.votes:
            rows.append([v.person.name, v.vote, v.comment or ""])
        if len(rows) == 1:
            rows.append(["—", "no votes recorded", ""])
        story.append(table(rows, [50 * mm, 24 * mm, width - 74 * mm]))
        decision = item.decision or "pending"
        story.append(markup(f"<b>Decision:</b> {escape(decision)} "
                            f"<font color='#6b7280'>(quorum rule: {escape(item.outcome.explain)})"
                            "</font>"))
        if item.conditions:
            story.append(markup(f"<b>Conditions:</b> {escape(item.conditions)}"))

    story.append(heading("Actions", 1, key="actions"))
    rows = [["Action", "Change", "Owner", "Due", "Done"]]
    refs = {item.change.id: item.change.ref for item in m.items}
    for a in m.actions:
        rows.append([a.text, refs.get(a.change_id, "—") if a.change_id else "—",
                     a.owner.name if a.owner_id else "—",
                     a.due.isoformat() if a.due else "—", "yes" if a.done else "no"])
    if len(rows) == 1:
        rows.append(["No actions", "", "", "", ""])
    story.append(table(rows, [width - 110 * mm, 24 * mm, 44 * mm, 24 * mm, 18 * mm]))
    return story


def build(meeting_ref: str, path: str | Path, page_size: str = "A4") -> int:  # noqa: A002
    """Write the minutes of ``meeting_ref`` to ``path``; returns the number of pages."""
    from itsmdesk.reports import pdf_common
    from itsmdesk.services import cab

    size = pdf_common.page_size(page_size)
    data = cab.minutes(meeting_ref)
    width = size[0] - 36 * mm
    meeting = data.meeting
    return build_document(path, lambda: [_body_template()] + _story(data, width),
                          title=f"CAB minutes {meeting.ref}",
                          subtitle=f"{meeting.title} · {meeting.starts_at:%Y-%m-%d} UTC",
                          size=page_size)


def _body_template():
    from reportlab.platypus import NextPageTemplate

    return NextPageTemplate("body")

