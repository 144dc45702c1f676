"""Change-management benchmarks: ``change_conflicts``, ``cab_pack_200``, ``calendar_month_paint``.

* change_conflicts: the full conflict detection (same CI, impact path through the CMDB, blackout
  and maintenance windows) over every planned change; the baseline is the plainest SQL self-join
  that finds the same-CI pairs.  The check compares the same-CI pairs of both.
* cab_pack_200: the CAB pack of a meeting with 200 changes on the agenda (risk, conflicts and
  impacted services computed per change, two layout passes for the TOC and "page n of m");
  baseline: one reportlab pass printing the same changes' text, no CMDB look-ups.
* calendar_month_paint: painting the month view holding 2,000 changes (one frame is 16.7 ms);
  baseline: a naive paint that lays out and draws every change in every day cell each time.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

from bench.runner import BenchContext, Benchmark

PLANNED = ("draft", "submitted", "assessed", "awaiting_cab", "approved", "scheduled",
           "implementing")


# -- change_conflicts ----------------------------------------------------------------------------

def _conflicts_ours(ctx: BenchContext):
    from itsmdesk.services.change.conflicts import detect

    found = detect()
    ctx.state["conflict_kinds"] = {k: sum(1 for c in found if c.kind == k)
                                   for k in ("same_ci", "impact_path", "blackout",
                                             "outside_maintenance")}
    return {frozenset((str(c.change_id), str(c.other_id))) for c in found if c.kind == "same_ci"}


def _conflicts_baseline(ctx: BenchContext):
    statuses = ", ".join(f"'{s}'" for s in PLANNED)
    sql = f"""
        SELECT DISTINCT a.change_id, b.change_id
        FROM change_ci a
        JOIN change_ci b ON b.ci_id = a.ci_id AND a.change_id < b.change_id
        JOIN "change" ca ON ca.id = a.change_id
        JOIN "change" cb ON cb.id = b.change_id
        WHERE ca.status IN ({statuses}) AND cb.status IN ({statuses})
          AND ca.planned_start IS NOT NULL AND cb.planned_start IS NOT NULL
          AND ca.planned_start < cb.planned_end AND cb.planned_start < ca.planned_end"""
    return {frozenset((_uuid(a), _uuid(b))) for a, b in ctx.raw_query(sql)}


def _uuid(value) -> str:  # noqa: ANN001
    import uuid

    return str(uuid.UUID(str(value)))


def _same_pairs(ours, base) -> None:  # noqa: ANN001
    assert ours == base, f"ours {len(ours)} pairs, baseline {len(base)}"


# -- cab_pack_200 --------------------------------------------------------------------------------

BENCH_MEETING = "Bench CAB (200 changes)"


def _cab_setup(ctx: BenchContext) -> None:
    from itsmdesk.models.change import CABAgendaItem, CABMeeting, Change
    from itsmdesk.services.change import cab

    meeting = CABMeeting.get_or_none(CABMeeting.title == BENCH_MEETING)
    if meeting is None:
        changes = list(Change.select(Change.id).where(Change.planned_start.is_null(False)
                                                      & (Change.type != "standard"))
                       .order_by(Change.planned_start.desc()).limit(200))
        first = Change.select(Change.planned_start).order_by(
            Change.planned_start.desc()).first()
        start = (first.planned_start if first else dt.datetime(2030, 1, 1)) - dt.timedelta(days=14)
        meeting = cab.create_meeting({"title": BENCH_MEETING, "starts_at": start},
                                     changes=[c.id for c in changes])
    ctx.state["cab_ref"] = meeting.ref
    ctx.state["cab_items"] = CABAgendaItem.select().where(
        CABAgendaItem.meeting == meeting.id).count()
    ctx.state["pdf_dir"] = Path(tempfile.mkdtemp(prefix="bench-cab-"))


def _cab_ours(ctx: BenchContext) -> int:
    from itsmdesk.reports import cab_pack

    return cab_pack.build(ctx.state["cab_ref"], ctx.state["pdf_dir"] / "pack.pdf")


def _cab_baseline(ctx: BenchContext) -> int:
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    from itsmdesk.models.change import CABAgendaItem, CABMeeting, Change

    meeting = CABMeeting.get(CABMeeting.ref == ctx.state["cab_ref"])
    rows = (Change.select().join(CABAgendaItem).where(CABAgendaItem.meeting == meeting.id)
            .order_by(CABAgendaItem.position))
    style = getSampleStyleSheet()["BodyText"]
    story = []
    for c in rows:
        for text in (f"{c.ref}: {c.title}", c.description, c.reason, c.implementation_plan,
                     c.backout_plan, c.test_plan):
            story.append(Paragraph(escape(text or ""), style))
    doc = SimpleDocTemplate(str(ctx.state["pdf_dir"] / "plain.pdf"), pagesize=A4)
    doc.build(story)
    return doc.page


# -- calendar_month_paint ------------------------------------------------------------------------

def _pin_none() -> None:
    """PySide6 6.12 on CPython 3.11 drops a reference to None on every call of a C++ method
    returning void (QPainter.fillRect, QWidget.update...); None starts with ~5,000 references,
    so a few thousand paint calls abort the process ("none_dealloc").  CPython 3.12+ makes None
    immortal.  Until the application pins it (see the change helper's report), the benchmark
    gives None enough references to survive its repeats."""
    import sys

    if sys.version_info < (3, 12):
        import ctypes

        ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40


def _month_setup(ctx: BenchContext) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _pin_none()
    from PySide6.QtWidgets import QApplication

    from itsmdesk.models.change import Change
    from itsmdesk.services.change import calendar as change_calendar
    from itsmdesk.views.calendar.canvas import CalendarCanvas, range_for

    app = QApplication.instance() or QApplication([])
    ctx.state["qapp"] = app
    # the month with the most changes
    starts = [r[0] for r in Change.select(Change.planned_start)
              .where(Change.planned_start.is_null(False)).tuples()]
    counts: dict = {}
    for s in starts:
        counts[(s.year, s.month)] = counts.get((s.year, s.month), 0) + 1
    year, month = max(counts, key=counts.get) if counts else (2030, 1)
    anchor = dt.date(year, month, 1)
    first, last = range_for("month", anchor)
    data = change_calendar.load(dt.datetime.combine(first, dt.time()),
                                dt.datetime.combine(last, dt.time()), with_services=False,
                                with_conflicts=False)
    # pad with copies spread over the month so the view holds 2,000 changes
    import copy
    import uuid

    base = [i for i in data.items if i.kind == "change"] or []
    n = 0
    while len(data.items) < 2000 and base:
        item = copy.copy(base[n % len(base)])
        item.id = uuid.uuid4()
        shift = dt.timedelta(days=(n * 7) % 28, hours=n % 24)
        item.start = dt.datetime.combine(anchor, dt.time()) + shift
        item.end = item.start + dt.timedelta(hours=2)
        data.items.append(item)
        n += 1
    canvas = CalendarCanvas()
    canvas.resize(1400, 900)
    canvas.set_data(data, "month", anchor)
    ctx.state["canvas"] = canvas
    ctx.state["month_items"] = len(data.items)
    from PySide6.QtGui import QImage

    ctx.state["image"] = QImage(canvas.size(), QImage.Format.Format_ARGB32_Premultiplied)


def _month_ours(ctx: BenchContext) -> int:
    canvas = ctx.state["canvas"]
    canvas.render(ctx.state["image"])
    return len(canvas.hits)


def _month_baseline(ctx: BenchContext) -> int:
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QColor, QPainter

    from itsmdesk.views.calendar.canvas import STATUS_COLOURS, local, range_for

    canvas = ctx.state["canvas"]
    image = ctx.state["image"]
    painter = QPainter(image)
    w, h = canvas.width(), canvas.height()
    cw, ch = w / 7, (h - 22) / 6
    first, _last = range_for("month", canvas.anchor)
    drawn = 0
    for n in range(42):
        day = first + dt.timedelta(days=n)
        cell = QRect(int((n % 7) * cw), int(22 + (n // 7) * ch), int(cw), int(ch))
        painter.drawRect(cell)
        k = 0
        for item in canvas.data.items:  # every item, every cell, every paint
            if local(item.start).date() <= day <= local(item.end).date():
                r = QRect(cell.left() + 2, cell.top() + 16 + k * 16, cell.width() - 4, 15)
                painter.fillRect(r, QColor(STATUS_COLOURS.get(item.status, "#e5e7eb")))
                painter.drawText(r, int(Qt.AlignmentFlag.AlignLeft), f"{item.ref} {item.title}")
                k += 1
                drawn += 1
    painter.end()
    return drawn


BENCHMARKS = [
    Benchmark("change_conflicts", ours=_conflicts_ours, baseline=_conflicts_baseline,
              check=_same_pairs, repeat=5,
              note="ours: full detection (same CI + impact path through the CMDB + "
                   "blackout/maintenance windows) among the planned changes of all 20,000; "
                   "baseline: SQL self-join for the same-CI pairs only"),
    Benchmark("cab_pack_200", ours=_cab_ours, baseline=_cab_baseline, setup=_cab_setup,
              repeat=3,
              note="ours: 200 changes with risk, impacted services, conflicts, TOC, 2 passes; "
                   "baseline: plain text of the same changes, 1 pass"),
    Benchmark("calendar_month_paint", ours=_month_ours, baseline=_month_baseline,
              setup=_month_setup, repeat=20,
              note="month view with 2,000 changes rendered to a 1400x900 image; a frame is "
                   "16.7 ms; baseline lays out and draws every change in every cell"),
]
