"""CAB pack: what the board reads before the meeting.

Cover, contents, agenda, forward schedule of change (28 days), then one section per change on the
agenda: summary, description and reason, risk with its factors, impacted services, affected CIs,
implementation / backout / test plans and conflicts.  ``build(ref, path, page_size)`` -> pages.

The risk is the change's stored assessment (its level or override, its score and the factors
that produced it), the same the app, the minutes and the calendar show: the pack computes none.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from xml.sax.saxutils import escape

from PySide6.QtCore import QCoreApplication
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, KeepTogether, NextPageTemplate

from itsmdesk.i18n import reason_text
from itsmdesk.reports.cab_minutes import against_votes_note
from itsmdesk.reports.pdf_common import (
    PageBreak,
    Spacer,
    build_document,
    fmt_dt,
    heading,
    key_values,
    markup,
    p,
    risk_badge,
    table,
    toc,
    word,
)
from itsmdesk.services.change.risk import shown_level


def collect(ref: str) -> dict:
    """Everything the pack shows, read once (both layout passes use it)."""
    from itsmdesk.services import people as people_service
    from itsmdesk.services.change import cab, conflicts, risk
    from itsmdesk.services.change.changes import affected_ci_rows_many

    meeting = cab.get_meeting(ref)
    items = cab.agenda(meeting.id)
    changes = [item.change for item in items]
    forward = cab.forward_schedule(meeting.starts_at)
    by_change = conflicts.for_changes([c.id for c in changes])
    person_ids = {c.requester_id for c in changes} | {c.assignee_id for c in changes}
    people = people_service.person_names(person_ids)
    teams = people_service.team_names({c.team_id for c in changes})
    ci_rows = affected_ci_rows_many([c.id for c in changes])
    sections = []
    for item, change in zip(items, changes, strict=True):
        cis = ci_rows.get(change.id, [])
        sections.append({
            "change": change, "cis": cis, "risk": risk.stored(change),
            "services": risk.impacted_services([r["id"] for r in cis]),
            "conflicts": by_change.get(change.id, []),
            "requester": people.get(change.requester_id),
            "team": teams.get(change.team_id),
            "assignee": people.get(change.assignee_id),
            "decision": item.decision, "conditions": item.conditions,
            "decision_reason": item.decision_reason,
            "outcome": cab.outcome(change.id, meeting.id) if item.decision else None,
        })
    chair = people_service.person_names([meeting.chair_id]).get(meeting.chair_id)
    return {"meeting": meeting, "items": items, "sections": sections, "forward": forward,
            "period": cab.forward_period(meeting.starts_at),
            "attendees": cab.attendees(meeting.id), "chair": chair}


def _story(data: dict, width: float) -> list:
    meeting = data["meeting"]
    title = (QCoreApplication.translate("CabPack", "Emergency CAB pack") if meeting.emergency
             else QCoreApplication.translate("CabPack", "Change Advisory Board pack"))
    story: list = [Spacer(1, 45 * mm), p(title, "title"), p(meeting.title, "subtitle"),
                   Spacer(1, 6 * mm),
                   p(f"{meeting.ref} · {fmt_dt(meeting.starts_at)} UTC", "subtitle"),
                   p(meeting.location or "", "subtitle"), Spacer(1, 20 * mm)]
    story.append(key_values([
        (QCoreApplication.translate("CabPack", "Chair"), data["chair"] or "—"),
        (QCoreApplication.translate("CabPack", "Invited"),
         ", ".join(person.name for person, _present in data["attendees"]) or "—"),
        (QCoreApplication.translate("CabPack", "Quorum"), str(meeting.quorum)),
        (QCoreApplication.translate("CabPack", "Changes on the agenda"), str(len(data["items"]))),
        (QCoreApplication.translate("CabPack", "Forward schedule"),
         QCoreApplication.translate("CabPack", "{n} change(s) in the next 28 days").format(
             n=len(data["forward"]))),
    ], width))
    story += [NextPageTemplate("body"), PageBreak(),
              heading(QCoreApplication.translate("CabPack", "Contents"), 0, in_toc=False), toc(),
              PageBreak()]

    # agenda
    story.append(heading(QCoreApplication.translate("CabPack", "Agenda"), 0, key="agenda"))
    rows = [["#", QCoreApplication.translate("CabPack", "Change"),
             QCoreApplication.translate("CabPack", "Title"), QCoreApplication.translate("CabPack", "Type"),
             QCoreApplication.translate("CabPack", "Planned start"),
             QCoreApplication.translate("CabPack", "Risk")]]
    for n, s in enumerate(data["sections"], 1):
        c = s["change"]
        rows.append([str(n), c.ref, c.title, word(c.type), fmt_dt(c.planned_start),
                     risk_badge(shown_level(c))])
    if len(rows) == 1:
        rows.append(["", "", QCoreApplication.translate("CabPack", "No changes on the agenda"), "", "", ""])
    story.append(table(rows, [8 * mm, 24 * mm, width - 104 * mm, 20 * mm, 28 * mm, 24 * mm]))

    # forward schedule
    story.append(heading(QCoreApplication.translate("CabPack", "Forward schedule of change"), 0,
                         key="fsc"))
    first, end = data["period"]
    story.append(p(QCoreApplication.translate(
        "CabPack", "Approved, scheduled and in-progress changes planned from {start} to {end}, "
        "including those that started earlier and still run.").format(
            start=f"{first:%Y-%m-%d}", end=f"{end - dt.timedelta(days=1):%Y-%m-%d}"), "muted"))
    rows = [[QCoreApplication.translate("CabPack", "Change"), QCoreApplication.translate("CabPack", "Title"),
             QCoreApplication.translate("CabPack", "Status"), QCoreApplication.translate("CabPack", "Start"),
             QCoreApplication.translate("CabPack", "End"), QCoreApplication.translate("CabPack", "Risk")]]
    for c in data["forward"]:
        rows.append([c.ref, c.title, word(c.status), fmt_dt(c.planned_start),
                     fmt_dt(c.planned_end), risk_badge(shown_level(c))])
    if len(rows) == 1:
        rows.append(["", QCoreApplication.translate("CabPack", "Nothing scheduled"), "", "", "", ""])
    story.append(table(rows, [24 * mm, width - 120 * mm, 22 * mm, 26 * mm, 26 * mm, 22 * mm]))

    # one section per change
    for n, s in enumerate(data["sections"], 1):
        c = s["change"]
        story.append(PageBreak())
        story.append(heading(f"{n}. {c.ref}: {c.title}", 1, key=f"chg-{c.id}"))
        downtime = (f"{fmt_dt(c.downtime_start)} – {fmt_dt(c.downtime_end)}"
                    if c.downtime_start else QCoreApplication.translate("CabPack", "none"))
        if c.outage:
            downtime += "  " + QCoreApplication.translate("CabPack", "(service outage)")
        story.append(key_values([
            (QCoreApplication.translate("CabPack", "Type / category"), f"{word(c.type)} / {c.category or '—'}"),
            (QCoreApplication.translate("CabPack", "Status"), word(c.status)),
            (QCoreApplication.translate("CabPack", "Planned window (UTC)"),
             f"{fmt_dt(c.planned_start)} – {fmt_dt(c.planned_end)}"),
            (QCoreApplication.translate("CabPack", "Downtime"), downtime),
            (QCoreApplication.translate("CabPack", "Requester / team"),
             f"{s['requester'] or '—'} / {s['team'] or '—'}"),
            (QCoreApplication.translate("CabPack", "Implementer"), s["assignee"] or "—"),
        ], width))
        for label, text in ((QCoreApplication.translate("CabPack", "Description"), c.description),
                            (QCoreApplication.translate("CabPack", "Reason"), c.reason)):
            story += [p(label, "label"), p(text or "—")]
        story.append(CondPageBreak(40 * mm))
        story.append(heading(QCoreApplication.translate("CabPack", "Risk"), 2))
        story += _risk(c, s["risk"], width)
        story.append(heading(QCoreApplication.translate("CabPack", "Impacted services"), 2))
        if s["services"]:
            story.append(table([[QCoreApplication.translate("CabPack", "Service"),
                                 QCoreApplication.translate("CabPack", "Criticality")]]
                               + [[sv["name"], word(sv["criticality"])] for sv in s["services"]],
                               [width - 40 * mm, 40 * mm]))
        else:
            story.append(p(QCoreApplication.translate("CabPack", "No business service impacted."), "muted"))
        story.append(heading(QCoreApplication.translate("CabPack", "Affected CIs"), 2))
        if s["cis"]:
            story.append(table([[QCoreApplication.translate("CabPack", "CI"),
                                 QCoreApplication.translate("CabPack", "Class"),
                                 QCoreApplication.translate("CabPack", "Criticality")]]
                               + [[ci["name"], ci["class"], word(ci["criticality"])] for ci in s["cis"]],
                               [width - 80 * mm, 45 * mm, 35 * mm]))
        else:
            story.append(p(QCoreApplication.translate("CabPack", "No CI recorded."), "muted"))
        for label, text in ((QCoreApplication.translate("CabPack", "Implementation plan"), c.implementation_plan),
                            (QCoreApplication.translate("CabPack", "Backout plan"), c.backout_plan),
                            (QCoreApplication.translate("CabPack", "Test plan"), c.test_plan)):
            story.append(KeepTogether([heading(label, 2), p(text or "—")]))
        story.append(heading(QCoreApplication.translate("CabPack", "Conflicts"), 2))
        if s["conflicts"]:
            story.append(table([[QCoreApplication.translate("CabPack", "Kind"),
                                 QCoreApplication.translate("CabPack", "With"),
                                 QCoreApplication.translate("CabPack", "When (UTC)"),
                                 QCoreApplication.translate("CabPack", "Detail")]] + [
                [word(k.kind), k.other_ref if k.other_ref and k.other_ref != c.ref
                 else (k.change_ref if k.change_ref != c.ref else "—"),
                 f"{fmt_dt(k.start)} – {fmt_dt(k.end)}",
                 k.window_name or ", ".join(k.ci_names)] for k in s["conflicts"]],
                [32 * mm, 24 * mm, 58 * mm, width - 114 * mm]))
        else:
            story.append(p(QCoreApplication.translate("CabPack", "No conflicts."), "muted"))
        if s["decision"]:
            story += _decision(s)
    return story


def _risk(c, r, width: float) -> list:  # noqa: ANN001 - a change row, its stored assessment
    """The stored assessment: level (or override, with its reason), score, factor table."""
    if r is None:
        return [p(QCoreApplication.translate("CabPack", "Risk not assessed."), "muted")]
    level = shown_level(c)
    out = []
    if r.factors or c.risk_score is not None:
        head = QCoreApplication.translate("CabPack", "Level {level}, computed score {score} ({computed})").format(
            level=f"<b>{escape(word(level).upper())}</b>", score=r.score,
            computed=escape(word(r.level or "not_assessed")))
    else:
        head = f"<b>{escape(word(level).upper())}</b>"
    if c.risk_override:
        head += QCoreApplication.translate("CabPack", "; overridden: {reason}").format(
            reason=escape(c.risk_override_reason or ""))
    out.append(markup(head))
    if not r.factors:
        out.append(p(QCoreApplication.translate(
            "CabPack", "No factors were stored with this risk: it was set without an assessment."),
            "muted"))
        return out
    rows = [[QCoreApplication.translate("CabPack", "Factor"), QCoreApplication.translate("CabPack", "Points"),
             QCoreApplication.translate("CabPack", "Weight"), QCoreApplication.translate("CabPack", "Why")]]
    for f in r.factors:
        rows.append([word(f.get("factor")), str(f.get("points", "")), str(f.get("weight", "")),
                     reason_text(f)])
    out.append(table(rows, [30 * mm, 16 * mm, 16 * mm, width - 62 * mm]))
    return out


def _decision(s: dict) -> list:
    """The decision recorded at this meeting (a pack printed after it), with the note when it
    differs from the votes."""
    out = [heading(QCoreApplication.translate("CabPack", "CAB decision"), 2)]
    text = f"<b>{escape(word(s['decision']).upper())}</b>"
    if s["conditions"]:
        text += " · " + escape(s["conditions"])
    out.append(markup(text))
    o = s["outcome"]
    if o is not None and o.decision != s["decision"]:
        out.append(markup(against_votes_note(o.decision, s["decision_reason"])))
    return out

def build(meeting_ref: str, path: str | Path, page_size: str = "A4") -> int:  # noqa: A002
    """Write the CAB pack of ``meeting_ref`` to ``path``; returns the number of pages."""
    from itsmdesk.reports import pdf_common

    size = pdf_common.page_size(page_size)
    data = collect(meeting_ref)
    width = size[0] - 36 * mm
    meeting = data["meeting"]
    return build_document(path, lambda: _story(data, width),
                          title=QCoreApplication.translate("CabPack", "CAB pack {ref}").format(
                              ref=meeting.ref),
                          subtitle=f"{meeting.title} · {meeting.starts_at:%Y-%m-%d %H:%M} UTC",
                          size=page_size)

