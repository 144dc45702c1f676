"""Small, dependency-free charts drawn with QPainter: horizontal bars and a line/area series.

Qt's own charting module is not part of PySide6-Essentials, and the two charts the dashboard
needs are simple; drawing them keeps the bundle small.  Both follow the palette (light and dark
themes) and show a short message when there is no data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

ACCENT = QColor("#2563eb")
UP = QColor("#dc2626")  # more incidents: bad
DOWN = QColor("#16a34a")


class _ChartBase(QWidget):
    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = title
        self._empty_text = self.tr("No data for this period")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(140)

    def set_title(self, title: str) -> None:
        self._title = title
        self.update()

    def _paint_frame(self, p: QPainter) -> QRectF:
        pal = self.palette()
        p.fillRect(self.rect(), pal.base())
        rect = QRectF(self.rect()).adjusted(10, 8, -12, -8)
        if self._title:
            font = p.font()
            font.setBold(True)
            p.setFont(font)
            p.setPen(pal.text().color())
            fm = QFontMetrics(font)
            p.drawText(rect.adjusted(0, 0, 0, -(rect.height() - fm.height())),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self._title)
            font.setBold(False)
            p.setFont(font)
            rect.adjust(0, fm.height() + 8, 0, 0)
        return rect

    def _paint_empty(self, p: QPainter, rect: QRectF) -> None:
        p.setPen(self.palette().placeholderText().color())
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, self._empty_text)


class BarChart(_ChartBase):
    """Horizontal bars, one per label; values may be negative (drawn left of the zero line).

    ``sig_bar_activated(int)`` gives the index of a bar that was double-clicked.
    """

    sig_bar_activated = Signal(int)

    def __init__(self, title: str = "", parent: QWidget | None = None, signed: bool = False,
                 unit: str = "") -> None:
        super().__init__(title, parent)
        self._labels: list[str] = []
        self._values: list[float] = []
        self._signed = signed
        self._unit = unit
        self._bar_rects: list[QRectF] = []

    def set_data(self, labels: Sequence[str], values: Sequence[float]) -> None:
        self._labels = list(labels)
        self._values = [float(v) for v in values]
        self.update()

    def labels(self) -> list[str]:
        return list(self._labels)

    def values(self) -> list[float]:
        return list(self._values)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(420, 40 + 24 * max(4, len(self._labels)))

    def _fmt(self, value: float) -> str:
        text = f"{value:+,.0f}" if self._signed else (
            f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.1f}")
        return f"{text} {self._unit}".strip()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self._paint_frame(p)
        self._bar_rects = []
        if not self._labels:
            self._paint_empty(p, rect)
            return
        fm = QFontMetrics(p.font())
        label_w = min(max(fm.horizontalAdvance(s) for s in self._labels) + 12, rect.width() * 0.42)
        value_w = max(fm.horizontalAdvance(self._fmt(v)) for v in self._values) + 10
        n = len(self._labels)
        row_h = min(rect.height() / n, 30.0)
        bar_h = max(row_h * 0.62, 4.0)
        lo = min(0.0, min(self._values))
        hi = max(0.0, max(self._values))
        span = (hi - lo) or 1.0
        plot_left = rect.left() + label_w
        plot_w = max(rect.width() - label_w - value_w, 10.0)
        zero_x = plot_left + (0 - lo) / span * plot_w
        text_col = self.palette().text().color()
        grid = self.palette().mid().color()
        grid.setAlpha(90)
        p.setPen(QPen(grid, 1))
        p.drawLine(QPointF(zero_x, rect.top()), QPointF(zero_x, rect.top() + row_h * n))
        for i, (label, value) in enumerate(zip(self._labels, self._values, strict=True)):
            y = rect.top() + i * row_h
            p.setPen(text_col)
            shown = fm.elidedText(label, Qt.TextElideMode.ElideRight, int(label_w - 10))
            p.drawText(QRectF(rect.left(), y, label_w - 8, row_h),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, shown)
            x1 = zero_x + value / span * plot_w
            bar = QRectF(min(zero_x, x1), y + (row_h - bar_h) / 2, max(abs(x1 - zero_x), 1.5), bar_h)
            colour = (UP if value > 0 else DOWN) if self._signed else ACCENT
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(colour)
            p.drawRoundedRect(bar, 2, 2)
            self._bar_rects.append(QRectF(rect.left(), y, rect.width(), row_h))
            p.setPen(text_col)
            vt = self._fmt(value)
            if value >= 0:
                p.drawText(QRectF(bar.right() + 5, y, value_w, row_h),
                           Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, vt)
            else:
                p.drawText(QRectF(zero_x + 5, y, value_w, row_h),
                           Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, vt)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        for i, r in enumerate(self._bar_rects):
            if r.contains(event.position()):
                self.sig_bar_activated.emit(i)
                return


class LineChart(_ChartBase):
    """Counts over time: a line with a light area below, labelled axis ends and the peak."""

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self._points: list[tuple[dt.date, float]] = []

    def set_points(self, points: Sequence[tuple[dt.date, float]]) -> None:
        self._points = list(points)
        self.update()

    def points(self) -> list[tuple[dt.date, float]]:
        return list(self._points)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(520, 200)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self._paint_frame(p)
        if not self._points or not any(v for _d, v in self._points):
            self._paint_empty(p, rect)
            return
        fm = QFontMetrics(p.font())
        values = [v for _d, v in self._points]
        hi = max(values) or 1.0
        axis_w = fm.horizontalAdvance(f"{hi:,.0f}") + 8
        plot = QRectF(rect.left() + axis_w, rect.top() + 4, rect.width() - axis_w,
                      rect.height() - fm.height() - 10)
        text_col = self.palette().text().color()
        grid = self.palette().mid().color()
        grid.setAlpha(70)
        for frac in (0.0, 0.5, 1.0):
            y = plot.bottom() - frac * plot.height()
            p.setPen(QPen(grid, 1))
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(text_col)
            p.drawText(QRectF(rect.left(), y - fm.height() / 2, axis_w - 6, fm.height()),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       f"{hi * frac:,.0f}")
        n = len(self._points)

        def pt(i: int, v: float) -> QPointF:
            x = plot.left() + (i / (n - 1) if n > 1 else 0.5) * plot.width()
            return QPointF(x, plot.bottom() - v / hi * plot.height())

        line = QPainterPath(pt(0, values[0]))
        for i, v in enumerate(values[1:], 1):
            line.lineTo(pt(i, v))
        area = QPainterPath(line)
        area.lineTo(QPointF(pt(n - 1, 0).x(), plot.bottom()))
        area.lineTo(QPointF(pt(0, 0).x(), plot.bottom()))
        area.closeSubpath()
        fill = QColor(ACCENT)
        fill.setAlpha(40)
        p.fillPath(area, fill)
        p.setPen(QPen(ACCENT, 2))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(line)
        peak = values.index(max(values))
        p.setBrush(ACCENT)
        p.drawEllipse(pt(peak, values[peak]), 3, 3)
        p.setPen(text_col)
        first, last = self._points[0][0], self._points[-1][0]
        y = plot.bottom() + 4
        p.drawText(QRectF(plot.left(), y, plot.width() / 2, fm.height()),
                   Qt.AlignmentFlag.AlignLeft, first.isoformat())
        p.drawText(QRectF(plot.center().x(), y, plot.width() / 2, fm.height()),
                   Qt.AlignmentFlag.AlignRight, last.isoformat())
