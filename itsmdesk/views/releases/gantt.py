"""A Gantt chart of a release plan on a QGraphicsScene (the form shows it; print preview and
the PDF use the same geometry rules).

Rows are :class:`itsmdesk.services.release.plan.PlanRow`.  Planned window: light bar; actual:
a bar in the status colour inside it; phases: a dark bracket over their steps; dependencies:
grey elbow lines; "now": a red dashed line.  Clicking a bar selects the step
(``sig_step_clicked(step_id)``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from PySide6.QtCore import QCoreApplication, QLocale, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsScene, QGraphicsView, QWidget

STATUS_COLOURS = {"planned": "#93c5fd", "in_progress": "#f59e0b", "done": "#16a34a",
                  "failed": "#dc2626", "skipped": "#9ca3af"}
ROW_H = 22.0
HEAD_H = 34.0
DAY_W = 56.0
STEP_ROLE = 1  # QGraphicsItem data key holding the step id
MONTH_ROLE = 2  # data key of a month heading (its text)


def _local(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC).astimezone().replace(tzinfo=None)


def _local_row(row):  # noqa: ANN001, ANN202 - a PlanRow
    return replace(row, planned_start=_local(row.planned_start), planned_end=_local(row.planned_end),
                   actual_start=_local(row.actual_start), actual_end=_local(row.actual_end))


def plan_span(rows: list) -> tuple[dt.datetime, dt.datetime] | None:
    points = [t for r in rows for t in (r.planned_start, r.planned_end, r.actual_start,
                                        r.actual_end) if t]
    if not points:
        return None
    start = min(points).replace(hour=0, minute=0, second=0, microsecond=0)
    end = max(points).replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    return start, end


def phase_spans(rows: list) -> dict:
    spans = {}
    for r in rows:
        if r.kind != "phase":
            continue
        kids = [k for k in rows if k.phase_id == r.id and k.planned_start]
        start = r.planned_start or min((k.planned_start for k in kids), default=None)
        end = r.planned_end or max(((k.planned_end or k.planned_start) for k in kids), default=None)
        spans[r.id] = (start, end)
    return spans


def month_labels(t0: dt.datetime, days: int, label_w: float, day_w: float,
                 metrics: QFontMetricsF, locale: QLocale) -> list[tuple[float, float, str]]:
    """(x, width, text) of the month headings: one over each month's days, written in full
    ("November 2026") where it fits, else shorter ("Nov 2026", "Nov"), else left out -- so two
    headings never run into each other (a plan starting on the 30th)."""
    out = []
    i = 0
    while i < days:
        day = (t0 + dt.timedelta(days=i)).date()
        n = 1
        while i + n < days and (t0 + dt.timedelta(days=i + n)).day != 1:
            n += 1
        room = n * day_w - 6
        for pattern in ("MMMM yyyy", "MMM yyyy", "MMM"):
            text = locale.toString(day, pattern)
            if metrics.horizontalAdvance(text) <= room:
                out.append((label_w + i * day_w, n * day_w, text))
                break
        i += n
    return out


def build_scene(scene: QGraphicsScene, rows: list, now: dt.datetime | None = None,
                label_w: float = 210.0, day_w: float = DAY_W) -> QRectF:
    """Draw the plan into ``scene`` (cleared first); returns the used rectangle."""
    scene.clear()
    rows = [_local_row(r) for r in rows]  # stored in UTC, drawn in the user's zone
    now = _local(now)
    font = QFont()
    font.setPointSizeF(8.5)
    bold = QFont(font)
    bold.setBold(True)
    small = QFont(font)
    small.setPointSizeF(7.5)
    metrics = QFontMetricsF(font)
    span = plan_span(rows)
    ink, muted, grid = QColor("#1f2937"), QColor("#6b7280"), QColor("#e5e7eb")
    if span is None:
        item = scene.addText(QCoreApplication.translate(
            "GanttView", "No dated steps yet: give the steps planned start and end times to see "
                         "the chart."), font)
        item.setDefaultTextColor(muted)
        return scene.itemsBoundingRect()
    t0, t1 = span
    days = max(1, (t1 - t0).days)
    chart_w = days * day_w
    height = HEAD_H + ROW_H * len(rows)

    def x(t: dt.datetime) -> float:
        return label_w + (t - t0).total_seconds() / 86400.0 * day_w

    locale = QLocale()
    # grid and day headers
    for i in range(days + 1):
        day = t0 + dt.timedelta(days=i)
        xx = label_w + i * day_w
        if i < days and day.weekday() >= 5:
            scene.addRect(QRectF(xx, HEAD_H, day_w, height - HEAD_H), QPen(Qt.PenStyle.NoPen),
                          QBrush(QColor("#f3f4f6")))
        scene.addLine(xx, HEAD_H - 4, xx, height, QPen(grid, 0))
        if i < days:
            label = scene.addSimpleText(locale.toString(day.date(), "ddd d"), small)
            label.setBrush(muted)
            label.setPos(xx + 3, 14)
    for xx, _width, text in month_labels(t0, days, label_w, day_w, QFontMetricsF(bold), locale):
        month = scene.addSimpleText(text, bold)
        month.setBrush(ink)
        month.setPos(xx + 3, 0)
        month.setData(MONTH_ROLE, text)
    scene.addLine(label_w, HEAD_H, label_w + chart_w, HEAD_H, QPen(ink, 1))
    ypos = {}
    phases = phase_spans(rows)
    for n, r in enumerate(rows):
        y = HEAD_H + n * ROW_H
        ypos[r.id] = y
        if n % 2:
            band = scene.addRect(QRectF(0, y, label_w + chart_w, ROW_H), QPen(Qt.PenStyle.NoPen),
                                 QBrush(QColor(0, 0, 0, 8)))
            band.setZValue(-1)
        name = ("    " * r.level) + r.name
        name = metrics.elidedText(name, Qt.TextElideMode.ElideRight, label_w - 8)
        text = scene.addSimpleText(name, bold if r.kind == "phase" else font)
        text.setBrush(ink)
        text.setPos(4, y + (ROW_H - metrics.height()) / 2)
        text.setToolTip(r.name)
        if r.kind == "phase":
            start, end = phases.get(r.id, (None, None))
            if start and end:
                x0, x1 = x(start), max(x(end), x(start) + 3)
                path = QPainterPath()
                path.addRect(QRectF(x0, y + 7, x1 - x0, 5))
                for xe in (x0, x1):
                    path.addPolygon(QPolygonF([QPointF(xe - 4, y + 12), QPointF(xe + 4, y + 12),
                                               QPointF(xe, y + 17)]))
                item = scene.addPath(path, QPen(Qt.PenStyle.NoPen), QBrush(ink))
                item.setData(STEP_ROLE, str(r.id))
            continue
        if not r.planned_start:
            note = scene.addSimpleText(QCoreApplication.translate("GanttView", "not scheduled"), small)
            note.setBrush(muted)
            note.setPos(label_w + 4, y + 5)
            continue
        end = r.planned_end or r.planned_start
        x0, x1 = x(r.planned_start), x(end)
        colour = QColor(STATUS_COLOURS.get(r.status, "#93c5fd"))
        if x1 - x0 < 3:  # milestone
            diamond = QPolygonF([QPointF(x0, y + 4), QPointF(x0 + 7, y + 11), QPointF(x0, y + 18),
                                 QPointF(x0 - 7, y + 11)])
            item = scene.addPolygon(diamond, QPen(ink, 0.8), QBrush(colour))
            item.setData(STEP_ROLE, str(r.id))
            continue
        bar = QGraphicsRectItem(QRectF(x0, y + 4, x1 - x0, ROW_H - 8))
        bar.setPen(QPen(QColor("#3b82f6"), 1))
        bar.setBrush(QBrush(QColor("#dbeafe")))
        bar.setData(STEP_ROLE, str(r.id))
        bar.setToolTip(f"{r.name}\n{r.planned_start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}"
                       + (f"\n{r.owner}" if r.owner else ""))
        scene.addItem(bar)
        label_x = x1
        if r.actual_start:
            a_end = r.actual_end or now or r.actual_start
            ax0, ax1 = x(r.actual_start), max(x(a_end), x(r.actual_start) + 2)
            actual = scene.addRect(QRectF(ax0, y + 8, ax1 - ax0, ROW_H - 16),
                                   QPen(Qt.PenStyle.NoPen), QBrush(colour))
            actual.setData(STEP_ROLE, str(r.id))
            label_x = max(label_x, ax1)
        if r.site:
            site = scene.addSimpleText(r.site, small)
            site.setBrush(muted)
            site.setPos(label_x + 4, y + 5)
    # dependency arrows
    by_id = {r.id: r for r in rows}
    pen = QPen(QColor("#6b7280"), 1)
    for r in rows:
        if not r.planned_start:
            continue
        for dep in r.depends_on:
            before = by_id.get(dep)
            if before is None or not before.planned_start:
                continue
            xa, ya = x(before.planned_end or before.planned_start), ypos[before.id] + ROW_H / 2
            xb, yb = x(r.planned_start), ypos[r.id] + 4
            path = QPainterPath(QPointF(xa, ya))
            path.lineTo(xa + 4, ya)
            path.lineTo(xa + 4, yb - 3)
            path.lineTo(max(xb, xa + 4), yb - 3)
            scene.addPath(path, pen)
            scene.addPolygon(QPolygonF([QPointF(xb - 3, yb - 4), QPointF(xb + 3, yb - 4),
                                        QPointF(xb, yb + 1)]), QPen(Qt.PenStyle.NoPen),
                             QBrush(QColor("#6b7280")))
    if now and t0 <= now <= t1:
        line = scene.addLine(x(now), HEAD_H - 6, x(now), height,
                             QPen(QColor("#dc2626"), 1.2, Qt.PenStyle.DashLine))
        line.setZValue(5)
        line.setToolTip(QCoreApplication.translate("GanttView", "now"))
    return QRectF(0, 0, label_w + chart_w + 30, height + 4)


class GanttView(QGraphicsView):
    sig_step_clicked = Signal(str)
    """(step id as text) the user clicked a step's bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("releaseGantt")
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setBackgroundBrush(QBrush(QColor("white")))
        self.rows: list = []

    def set_rows(self, rows: list, now: dt.datetime | None = None) -> None:
        self.rows = list(rows)
        rect = build_scene(self.scene(), self.rows, now)
        self.scene().setSceneRect(rect)

    def bars(self) -> list:
        """The step ids that have a bar or marker (for tests)."""
        return sorted({i.data(STEP_ROLE) for i in self.scene().items() if i.data(STEP_ROLE)})

    def mousePressEvent(self, event) -> None:  # noqa: ANN001, N802
        item = self.itemAt(event.position().toPoint())
        if item is not None and item.data(STEP_ROLE):
            self.sig_step_clicked.emit(item.data(STEP_ROLE))
        super().mousePressEvent(event)

    def render_image(self, scale: float = 2.0):  # noqa: ANN201
        """The whole chart as a QImage (for print preview)."""
        from PySide6.QtGui import QImage

        rect = self.scene().sceneRect()
        image = QImage(int(rect.width() * scale), int(rect.height() * scale),
                       QImage.Format.Format_ARGB32)
        image.fill(QColor("white"))
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.scene().render(painter, QRectF(0, 0, image.width(), image.height()), rect)
        painter.end()
        return image
