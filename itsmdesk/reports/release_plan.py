"""Release plan PDF for the CAB: summary, changes with risk, affected services, the plan as a
table and as a Gantt chart, rollout waves, the definitive media library, backout plan, sign-off.

``build(release_ref, path, page_size="A4") -> pages`` (wired to ``itsmdesk report release-plan``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from xml.sax.saxutils import escape

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from reportlab.graphics.shapes import Drawing, Line, Polygon, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import CondPageBreak, KeepTogether, Spacer

from itsmdesk.i18n import reason_text
from itsmdesk.reports.pdf_common import (
    INK,
    MUTED,
    build_document,
    fmt_dt,
    heading,
    key_values,
    markup,
    p,
    risk_badge,
    table,
    word,
)
from itsmdesk.reports.pdf_common import page_size as _page_size
from itsmdesk.services.release import dml, releases
from itsmdesk.services.release.plan import PlanRow

STATUS_COLOURS = {"planned": "#93c5fd", "in_progress": "#f59e0b", "done": "#16a34a",
                  "failed": "#dc2626", "skipped": "#9ca3af"}
KIND_LABELS = {"phase": QT_TRANSLATE_NOOP("ReleasePlan", "Phase"),
               "build": QT_TRANSLATE_NOOP("ReleasePlan", "Build"),
               "test": QT_TRANSLATE_NOOP("ReleasePlan", "Test"),
               "pilot": QT_TRANSLATE_NOOP("ReleasePlan", "Pilot"),
               "wave": QT_TRANSLATE_NOOP("ReleasePlan", "Wave"),
               "backout": QT_TRANSLATE_NOOP("ReleasePlan", "Backout"),
               "other": QT_TRANSLATE_NOOP("ReleasePlan", "Step")}
GANTT_ROWS_PER_CHART = 28
MONTHS = (QT_TRANSLATE_NOOP("ReleasePlan", "Jan"), QT_TRANSLATE_NOOP("ReleasePlan", "Feb"),
          QT_TRANSLATE_NOOP("ReleasePlan", "Mar"), QT_TRANSLATE_NOOP("ReleasePlan", "Apr"),
          QT_TRANSLATE_NOOP("ReleasePlan", "May"), QT_TRANSLATE_NOOP("ReleasePlan", "Jun"),
          QT_TRANSLATE_NOOP("ReleasePlan", "Jul"), QT_TRANSLATE_NOOP("ReleasePlan", "Aug"),
          QT_TRANSLATE_NOOP("ReleasePlan", "Sep"), QT_TRANSLATE_NOOP("ReleasePlan", "Oct"),
          QT_TRANSLATE_NOOP("ReleasePlan", "Nov"), QT_TRANSLATE_NOOP("ReleasePlan", "Dec"))


def _label(value: str | None) -> str:
    return word(value)


def _day_month(day: dt.datetime) -> str:
    """``05 Mar`` (the Gantt axis), the month abbreviated in the reader's language."""
    return f"{day:%d} {QCoreApplication.translate('ReleasePlan', MONTHS[day.month - 1])}"


def _kind(kind: str) -> str:
    source = KIND_LABELS.get(kind)
    return QCoreApplication.translate("ReleasePlan", source) if source else kind


def _span(rows: list[PlanRow]) -> tuple[dt.datetime, dt.datetime] | None:
    points = [t for r in rows for t in (r.planned_start, r.planned_end, r.actual_start,
                                        r.actual_end) if t]
    if not points:
        return None
    start = min(points).replace(hour=0, minute=0, second=0, microsecond=0)
    end = max(points)
    end = end.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    return start, max(end, start + dt.timedelta(days=1))


def _phase_spans(rows: list[PlanRow]) -> dict:
    spans = {}
    for r in rows:
        if r.kind != "phase":
            continue
        kids = [k for k in rows if k.phase_id == r.id]
        starts = [t for k in kids for t in (k.planned_start,) if t]
        ends = [k.planned_end or k.planned_start for k in kids if k.planned_start]
        start = r.planned_start or (min(starts) if starts else None)
        end = r.planned_end or (max(ends) if ends else None)
        spans[r.id] = (start, end)
    return spans


def gantt(rows: list[PlanRow], width: float, now: dt.datetime | None = None) -> list[Drawing]:
    """The plan as Gantt charts (one drawing per block of rows, so long plans split over pages).

    Planned window: light bar; actual: the status colour drawn inside it; phases: a dark
    bracket over their steps; dependencies: grey elbow lines from a step's end to the next
    one's start; today: a red dashed line.
    """
    span = _span(rows)
    if span is None:
        return []
    t0, t1 = span
    total = (t1 - t0).total_seconds()
    label_w = min(62 * mm, max(stringWidth(("   " * r.level) + r.name, "Helvetica", 7)
                               for r in rows) + 6)
    chart_w = width - label_w - 2
    row_h, head_h = 13.0, 22.0
    phases = _phase_spans(rows)

    def x(t: dt.datetime) -> float:
        return label_w + chart_w * max(0.0, min(1.0, (t - t0).total_seconds() / total))

    days = (t1 - t0).days
    step_days = 1 if days <= 16 else 2 if days <= 32 else 7 if days <= 120 else 30
    drawings = []
    for block_start in range(0, len(rows), GANTT_ROWS_PER_CHART):
        block = rows[block_start:block_start + GANTT_ROWS_PER_CHART]
        height = head_h + row_h * len(block) + 4
        d = Drawing(width, height)
        top = height - head_h
        # time axis
        day = t0
        i = 0
        while day <= t1:
            xx = x(day)
            weekend = day.weekday() >= 5
            if weekend and step_days == 1 and day < t1:
                d.add(Rect(xx, 0, chart_w / max(days, 1), top, fillColor=colors.HexColor("#f3f4f6"),
                           strokeColor=None))
            d.add(Line(xx, 0, xx, top, strokeColor=colors.HexColor("#e5e7eb"), strokeWidth=0.4))
            if i % step_days == 0 and day < t1:
                d.add(String(xx + 1.5, top + 4, _day_month(day), fontName="Helvetica",
                             fontSize=6.2, fillColor=MUTED))
                if i == 0 or day.day == 1 or (step_days >= 7 and day.day <= step_days):
                    d.add(String(xx + 1.5, top + 12, day.strftime("%Y"), fontName="Helvetica-Bold",
                                 fontSize=6.2, fillColor=MUTED))
            day += dt.timedelta(days=1)
            i += 1
        d.add(Line(label_w, top, width, top, strokeColor=INK, strokeWidth=0.6))
        ypos = {}
        for n, r in enumerate(block):
            y = top - row_h * (n + 1)
            ypos[r.id] = y
            if n % 2 == 1:
                d.add(Rect(0, y, width, row_h, fillColor=colors.HexColor("#fafafa"),
                           strokeColor=None))
            font = "Helvetica-Bold" if r.kind == "phase" else "Helvetica"
            name = ("   " * r.level) + r.name
            while stringWidth(name, font, 7) > label_w - 4 and len(name) > 4:
                name = name[:-2]
            d.add(String(2, y + 4, name if name.endswith(r.name[-1:]) else name + "…",
                         fontName=font, fontSize=7, fillColor=INK))
            if r.kind == "phase":
                start, end = phases.get(r.id, (None, None))
                if start and end:
                    x0, x1 = x(start), max(x(end), x(start) + 2)
                    d.add(Rect(x0, y + 6, x1 - x0, 3, fillColor=INK, strokeColor=None))
                    for xe in (x0, x1):
                        d.add(Polygon([xe - 2.5, y + 9, xe + 2.5, y + 9, xe, y + 3],
                                      fillColor=INK, strokeColor=None))
                continue
            if not r.planned_start:
                d.add(String(label_w + 3, y + 4, QCoreApplication.translate("ReleasePlan", "not scheduled"), fontName="Helvetica-Oblique",
                             fontSize=6.5, fillColor=MUTED))
                continue
            end = r.planned_end or r.planned_start
            x0, x1 = x(r.planned_start), x(end)
            if x1 - x0 < 2:
                d.add(Polygon([x0, y + 2, x0 + 4, y + 6.5, x0, y + 11, x0 - 4, y + 6.5],
                              fillColor=colors.HexColor(STATUS_COLOURS.get(r.status, "#93c5fd")),
                              strokeColor=INK, strokeWidth=0.4))
                continue
            d.add(Rect(x0, y + 2.5, x1 - x0, 8, fillColor=colors.HexColor("#dbeafe"),
                       strokeColor=colors.HexColor("#3b82f6"), strokeWidth=0.5))
            label_x = x1
            if r.actual_start:
                a_end = r.actual_end or now or r.actual_start
                ax0, ax1 = x(r.actual_start), max(x(a_end), x(r.actual_start) + 1.5)
                label_x = max(label_x, ax1)
                d.add(Rect(ax0, y + 4.5, ax1 - ax0, 4,
                           fillColor=colors.HexColor(STATUS_COLOURS.get(r.status, "#16a34a")),
                           strokeColor=None))
            if r.site:
                d.add(String(label_x + 2, y + 4, r.site, fontName="Helvetica", fontSize=6,
                             fillColor=MUTED))
        # dependency arrows inside this block
        by_id = {r.id: r for r in block}
        for r in block:
            if not r.planned_start:
                continue
            for dep in r.depends_on:
                before = by_id.get(dep)
                if before is None or not before.planned_start:
                    continue
                xa = x(before.planned_end or before.planned_start)
                ya = ypos[before.id] + 6.5
                xb, yb = x(r.planned_start), ypos[r.id] + 6.5
                grey = colors.HexColor("#6b7280")
                d.add(Line(xa, ya, xa + 2, ya, strokeColor=grey, strokeWidth=0.5))
                d.add(Line(xa + 2, ya, xa + 2, yb + 5, strokeColor=grey, strokeWidth=0.5))
                d.add(Line(xa + 2, yb + 5, xb, yb + 5, strokeColor=grey, strokeWidth=0.5)
                      if xb > xa + 2 else Line(xa + 2, yb + 5, xa + 2, yb + 5))
                d.add(Polygon([xb - 1.5, yb + 8, xb + 1.5, yb + 8, xb, yb + 5.5],
                              fillColor=grey, strokeColor=None))
        if now and t0 <= now <= t1:
            d.add(Line(x(now), 0, x(now), top + 2, strokeColor=colors.HexColor("#dc2626"),
                       strokeWidth=0.8, strokeDashArray=[2, 2]))
        drawings.append(d)
    return drawings


def _legend(width: float) -> Drawing:
    d = Drawing(width, 12)
    xx = 0.0
    items = [(QCoreApplication.translate("ReleasePlan", "planned window"), "#dbeafe", "#3b82f6")] + [
        (QCoreApplication.translate("ReleasePlan", "actual: {status}").format(status=_label(s)), c, None) for s, c in STATUS_COLOURS.items()
        if s in ("in_progress", "done", "failed")]
    for text, fill, stroke in items:
        d.add(Rect(xx, 2, 14, 6, fillColor=colors.HexColor(fill),
                   strokeColor=colors.HexColor(stroke) if stroke else None, strokeWidth=0.5))
        d.add(String(xx + 17, 2.5, text, fontName="Helvetica", fontSize=6.5, fillColor=MUTED))
        xx += 22 + stringWidth(text, "Helvetica", 6.5) + 8
    d.add(Line(xx, 0, xx, 10, strokeColor=colors.HexColor("#dc2626"), strokeWidth=0.8,
               strokeDashArray=[2, 2]))
    d.add(String(xx + 4, 2.5, QCoreApplication.translate("ReleasePlan", "now"), fontName="Helvetica", fontSize=6.5, fillColor=MUTED))
    return d


def _story(detail, width: float, now: dt.datetime):  # noqa: ANN001, ANN202, C901
    r = detail.release
    roll, risk = detail.rollup, detail.risk
    story: list = [heading(f"{r.ref} · {r.name}", 0, key="summary")]
    approval = (QCoreApplication.translate("ReleasePlan", "all bundled changes approved") if roll.all_approved else
                QCoreApplication.translate("ReleasePlan", "no changes bundled") if not roll.changes else
                QCoreApplication.translate("ReleasePlan", "{n} of {total} changes NOT approved: deployment is blocked").format(
                    n=len(roll.unapproved), total=len(roll.changes)))
    window = f"{fmt_dt(r.planned_start)} – {fmt_dt(r.planned_end)} UTC"
    colour = "#15803d" if roll.all_approved else "#b91c1c"
    story.append(key_values([
        (QCoreApplication.translate("ReleasePlan", "Version"), r.release_version or "—"),
        (QCoreApplication.translate("ReleasePlan", "Type"), _label(r.type)),
        (QCoreApplication.translate("ReleasePlan", "Status"), _label(r.status)),
        (QCoreApplication.translate("ReleasePlan", "Risk"), risk_badge(risk.level)),
        (QCoreApplication.translate("ReleasePlan", "Planned window"), window),
        (QCoreApplication.translate("ReleasePlan", "Release manager"), detail.manager or "—"),
        (QCoreApplication.translate("ReleasePlan", "Release team"), detail.team or "—"),
        (QCoreApplication.translate("ReleasePlan", "Change approval"), markup(f'<font color="{colour}"><b>{escape(approval)}</b></font>',
                                   "cell")),
        (QCoreApplication.translate("ReleasePlan", "Rollout"), QCoreApplication.translate("ReleasePlan", "{waves} wave(s) to {sites} site(s)").format(
            waves=sum(1 for s in detail.plan if s.kind in ('pilot', 'wave')),
            sites=len({s.site for s in detail.plan if s.site}))),
    ], width))
    if r.description:
        story += [heading(QCoreApplication.translate("ReleasePlan", "Description"), 2), p(r.description)]
    story.append(heading(QCoreApplication.translate("ReleasePlan", "Risk assessment"), 2))
    if risk.factors:
        story.append(table([[QCoreApplication.translate("ReleasePlan", "Factor"), QCoreApplication.translate("ReleasePlan", "Level"), QCoreApplication.translate("ReleasePlan", "Why")]] + [
            [_label(f.factor), risk_badge(f.level), reason_text(f)] for f in risk.factors],
            col_widths=[width * 0.16, width * 0.16, width * 0.68]))
    else:
        story.append(p(QCoreApplication.translate("ReleasePlan", "No risk factors: no bundled change carries a risk assessment."), "muted"))

    story.append(heading(QCoreApplication.translate("ReleasePlan", "Included changes"), 1, key="changes"))
    if roll.changes:
        story.append(table([[QCoreApplication.translate("ReleasePlan", "Change"), QCoreApplication.translate("ReleasePlan", "Title"), QCoreApplication.translate("ReleasePlan", "Status"), QCoreApplication.translate("ReleasePlan", "Approved"), QCoreApplication.translate("ReleasePlan", "Risk")]] + [
            [c.ref, c.title, _label(c.status),
             markup(f"<b>{escape(word('yes'))}</b>" if c.approved else
                    f'<font color="#b91c1c"><b>{escape(word("no").upper())}</b></font>', "cell"),
             risk_badge(c.risk)] for c in roll.changes],
            col_widths=[width * 0.14, width * 0.46, width * 0.14, width * 0.1, width * 0.16]))
    else:
        story.append(p(QCoreApplication.translate("ReleasePlan", "This release bundles no change yet."), "muted"))

    story.append(heading(QCoreApplication.translate("ReleasePlan", "Affected services"), 1, key="services"))
    if detail.services:
        story.append(table([[QCoreApplication.translate("ReleasePlan", "Service"), QCoreApplication.translate("ReleasePlan", "Criticality"), QCoreApplication.translate("ReleasePlan", "Hops from a changed CI")]] + [
            [s.name, _label(getattr(s, "criticality", "")), str(getattr(s, "depth", "—"))]
            for s in detail.services], col_widths=[width * 0.5, width * 0.25, width * 0.25]))
    else:
        story.append(p(QCoreApplication.translate("ReleasePlan", "No business service depends on the CIs the bundled changes touch."),
                       "muted"))

    story.append(heading(QCoreApplication.translate("ReleasePlan", "Release plan"), 1, key="plan"))
    if detail.plan:
        rows = [[QCoreApplication.translate("ReleasePlan", "Step"), QCoreApplication.translate("ReleasePlan", "Kind"), QCoreApplication.translate("ReleasePlan", "Owner"), QCoreApplication.translate("ReleasePlan", "Site"), QCoreApplication.translate("ReleasePlan", "Planned (UTC)"),
                 QCoreApplication.translate("ReleasePlan", "Actual (UTC)"), QCoreApplication.translate("ReleasePlan", "Status"), QCoreApplication.translate("ReleasePlan", "After")]]
        spans = _phase_spans(detail.plan)
        for s in detail.plan:
            if s.kind == "phase" and not s.planned_start:
                start, end = spans.get(s.id, (None, None))
                s = replace(s, planned_start=start, planned_end=end)
            name = markup(("&nbsp;" * 4 * s.level) + (f"<b>{escape(s.name)}</b>" if s.kind == "phase"
                                                       else escape(s.name)), "cell")
            planned = (f"{fmt_dt(s.planned_start)}\n{fmt_dt(s.planned_end)}"
                       if s.planned_start else QCoreApplication.translate("ReleasePlan", "not scheduled"))
            actual = (f"{fmt_dt(s.actual_start)}\n{fmt_dt(s.actual_end)}"
                      if s.actual_start else "—")
            rows.append([name, _kind(s.kind), s.owner or "—", s.site or "—",
                         planned, actual, _label(s.status), ", ".join(s.depends_on_names) or "—"])
        story.append(table(rows, col_widths=[width * f for f in
                                             (0.2, 0.115, 0.145, 0.055, 0.14, 0.14, 0.085, 0.12)]))
        if detail.problems:
            story.append(heading(QCoreApplication.translate("ReleasePlan", "Plan warnings"), 2))
            story += [p(f"• {w}", "small") for w in detail.problems]
        charts = gantt(detail.plan, width, now)
        if charts:
            story.append(CondPageBreak(charts[0].height + 40))
            story.append(heading(QCoreApplication.translate("ReleasePlan", "Gantt chart"), 1, key="gantt"))
            for n, chart in enumerate(charts):
                parts = [chart, Spacer(1, 3)]
                if n == len(charts) - 1:
                    parts.append(_legend(width))
                story.append(KeepTogether(parts))
    else:
        story.append(p(QCoreApplication.translate("ReleasePlan", "No plan steps yet."), "muted"))

    story.append(heading(QCoreApplication.translate("ReleasePlan", "Rollout waves"), 1, key="waves"))
    waves = [s for s in detail.plan if s.kind in ("pilot", "wave")]
    if waves:
        rows = [[QCoreApplication.translate("ReleasePlan", "Wave"), QCoreApplication.translate("ReleasePlan", "Site"), QCoreApplication.translate("ReleasePlan", "Planned (UTC)"), QCoreApplication.translate("ReleasePlan", "Owner"), QCoreApplication.translate("ReleasePlan", "Software CIs"),
                 QCoreApplication.translate("ReleasePlan", "Status"), QCoreApplication.translate("ReleasePlan", "Deployed (UTC)")]]
        for s in waves:
            try:
                targets = len(dml.preview_wave(s.id)) if s.site_id else 0
            except Exception:  # noqa: BLE001 - a wave without site: shown as 0
                targets = 0
            rows.append([s.name, s.site or "—",
                         f"{fmt_dt(s.planned_start)}\n{fmt_dt(s.planned_end)}", s.owner or "—",
                         str(targets), _label(s.status), fmt_dt(s.actual_end)])
        story.append(table(rows, col_widths=[width * f for f in
                                             (0.22, 0.07, 0.16, 0.17, 0.12, 0.1, 0.16)]))
    else:
        story.append(p(QCoreApplication.translate("ReleasePlan", "No rollout waves planned."), "muted"))

    story.append(heading(QCoreApplication.translate("ReleasePlan", "Definitive media library"), 1, key="dml"))
    if detail.items:
        story.append(table([[QCoreApplication.translate("ReleasePlan", "Item"), QCoreApplication.translate("ReleasePlan", "Version"), QCoreApplication.translate("ReleasePlan", "Checksum"), QCoreApplication.translate("ReleasePlan", "Master CI")]] + [
            [i.name, i.version, markup(f'<font face="Courier" size="6.5">'
                                       f'{escape(i.checksum or "—")}</font>', "cell"),
             i.ci_name or "—"] for i in detail.items],
            col_widths=[width * 0.22, width * 0.1, width * 0.45, width * 0.23]))
    else:
        story.append(p(QCoreApplication.translate("ReleasePlan", "No software items registered."), "muted"))

    story.append(heading(QCoreApplication.translate("ReleasePlan", "Backout plan"), 1, key="backout"))
    story.append(p(r.backout_plan or QCoreApplication.translate("ReleasePlan", "No backout plan recorded."),
                   "body" if r.backout_plan else "muted"))
    for s in (s for s in detail.plan if s.kind == "backout"):
        story.append(p(QCoreApplication.translate("ReleasePlan", "Backout step: {name} — owner {owner}, {status}").format(
            name=s.name, owner=s.owner or "—", status=_label(s.status)), "small"))

    signers = [(QCoreApplication.translate("ReleasePlan", "Release manager"), detail.manager or ""), (QCoreApplication.translate("ReleasePlan", "Change manager"), ""),
               (QCoreApplication.translate("ReleasePlan", "CAB chair"), "")]
    signers += [(QCoreApplication.translate("ReleasePlan", "Service owner: {name}").format(name=s.name), "") for s in detail.services[:3]]
    sign_rows = [[QCoreApplication.translate("ReleasePlan", "Role"), QCoreApplication.translate("ReleasePlan", "Name"), QCoreApplication.translate("ReleasePlan", "Signature"), QCoreApplication.translate("ReleasePlan", "Date")]] + [
        [role, name, "", ""] for role, name in signers]
    sign = table(sign_rows, col_widths=[width * 0.3, width * 0.25, width * 0.28, width * 0.17],
                 zebra=False, extra=[("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white]),
                                     ("TOPPADDING", (0, 1), (-1, -1), 12),
                                     ("BOTTOMPADDING", (0, 1), (-1, -1), 12)])
    story.append(KeepTogether([heading(QCoreApplication.translate("ReleasePlan", "Sign-off"), 1, key="signoff"),
                               p(QCoreApplication.translate("ReleasePlan", "By signing, the CAB authorises the rollout of this release as planned above, including the backout plan."),
                                 "small"), sign]))
    return story


def build(release_ref: str, path: str | Path, page_size: str = "A4",
          now: dt.datetime | None = None) -> int:
    """Write the release plan PDF for ``release_ref``; returns the number of pages.

    ``now`` (naive UTC) places the "now" line on the Gantt chart; default: the current time.
    """
    size = page_size
    detail = releases.release_detail(release_ref)
    if now is None:
        from itsmdesk.services.clock import utcnow

        now = utcnow()
    width = _page_width(size)
    r = detail.release
    subtitle = f"{r.ref} · {r.name} {r.release_version or ''}".strip()
    return build_document(path, lambda: _story(detail, width, now), QCoreApplication.translate("ReleasePlan", "Release plan"), subtitle, size)


def _page_width(size: str) -> float:
    return _page_size(size)[0] - 36 * mm
