"""The painted calendar: month, week, day and timeline (rows per CI or per service).

Layout is computed once per data load or resize (:meth:`CalendarCanvas.relayout`) into a list of
``(rect, item)`` hits; ``paintEvent`` only draws those, clipped to the exposed region, so a month
with thousands of changes paints within a frame.  Changes are filled by status and carry a risk
stripe on the left; conflicting changes get a red outline and a marker.  In the week and day
views what lasts a day or more runs as a bar across its days in a band above the hour grid; in
the timeline, overlapping bars (and the labels beside short ones) stack in lanes of their row.  Dragging a change emits
``sig_reschedule(item, new_start)``; the panel validates and applies it through an undo command.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from itsmdesk.views.timefmt import date_text, weekday_names

STATUS_COLOURS = {
    "draft": "#e5e7eb", "submitted": "#dbeafe", "assessed": "#bfdbfe", "awaiting_cab": "#fde68a",
    "approved": "#bbf7d0", "scheduled": "#86efac", "implementing": "#93c5fd",
    "implemented": "#d1d5db", "in_review": "#e9d5ff", "closed": "#f3f4f6", "rejected": "#fecaca",
    "failed": "#fca5a5", "backed_out": "#fdba74",
}
RISK_COLOURS = {"low": "#16a34a", "medium": "#d97706", "high": "#ea580c", "very_high": "#dc2626"}
RELEASE_COLOUR = "#c4b5fd"
BLACKOUT = QColor(220, 38, 38, 40)
MAINTENANCE = QColor(22, 163, 74, 70)
MODES = ("month", "week", "day", "timeline")
_COLOURS: dict = {}
_PENS: dict = {}
_BRUSHES: dict = {}


def _colour(name: str) -> QColor:
    if name not in _COLOURS:
        _COLOURS[name] = QColor(name)
    return _COLOURS[name]


def _pen(name: str, width: int) -> QPen:
    if (name, width) not in _PENS:
        _PENS[(name, width)] = QPen(_colour(name), width)
    return _PENS[(name, width)]


def _brush(name: str) -> QBrush:
    if name not in _BRUSHES:
        _BRUSHES[name] = QBrush(_colour(name))
    return _BRUSHES[name]


def local(value: dt.datetime) -> dt.datetime:
    """Naive UTC -> naive local time (how people read the calendar)."""
    return value.replace(tzinfo=dt.UTC).astimezone().replace(tzinfo=None)


def to_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else \
        value.astimezone().astimezone(dt.UTC).replace(tzinfo=None)


def range_for(mode: str, anchor: dt.date) -> tuple[dt.date, dt.date]:
    """[first day, day after last) shown for ``mode`` around ``anchor`` (local dates)."""
    if mode == "month":
        first = anchor.replace(day=1)
        start = first - dt.timedelta(days=first.weekday())
        return start, start + dt.timedelta(days=42)
    if mode == "week":
        start = anchor - dt.timedelta(days=anchor.weekday())
        return start, start + dt.timedelta(days=7)
    if mode == "day":
        return anchor, anchor + dt.timedelta(days=1)
    start = anchor - dt.timedelta(days=anchor.weekday())
    return start, start + dt.timedelta(days=14)


class CalendarCanvas(QWidget):
    sig_reschedule = Signal(object, object)
    """(CalendarItem, new local start datetime) after a drag."""

    sig_activated = Signal(object)
    """(CalendarItem) on double-click: open the record."""

    sig_selected = Signal(object)
    """(CalendarItem or None) on click."""

    sig_day_requested = Signal(object)
    """(date) on a click on a month cell's "+n more": show that day."""

    HEADER = 22
    GUTTER = 44  # hour labels (week/day), row labels use LABEL_W
    LABEL_W = 150
    ROW_H = 26
    CHIP_H = 15

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("calendarCanvas")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(480, 300)
        self.mode = "month"
        self.timeline_rows = "ci"
        self.anchor = dt.date.today()
        self.data = None
        self.hits: list[tuple[QRect, object]] = []
        self.backgrounds: list[tuple[QRect, QColor]] = []
        self.labels: list[tuple[QRect, str, int]] = []
        self.more: list[tuple[QRect, str, dt.date]] = []
        self.selected_id = None
        self._elide_cache: dict = {}
        self._drag = None  # (item, press pos, rect)
        self._drag_pos: QPoint | None = None
        self._band: QRect | None = None
        self._grid_top = self.HEADER
        self.row_tops: list[int] = []
        self.row_names: list[str] = []
        self.font_small = QFont(self.font())
        self.font_small.setPointSizeF(max(7.0, self.font().pointSizeF() - 1.5))

    # -- data ------------------------------------------------------------------------------------
    def set_data(self, data, mode: str | None = None, anchor: dt.date | None = None) -> None:  # noqa: ANN001
        if mode:
            self.mode = mode
        if anchor:
            self.anchor = anchor
        self.data = data
        self.relayout()

    def visible_range(self) -> tuple[dt.date, dt.date]:
        return range_for(self.mode, self.anchor)

    def items(self):
        return list(self.data.items) if self.data else []

    # -- layout ----------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802
        super().resizeEvent(event)
        self.relayout()

    def relayout(self) -> None:
        self.hits, self.backgrounds, self.labels, self.more = [], [], [], []
        if len(self._elide_cache) > 20000:
            self._elide_cache.clear()
        if self.mode == "month":
            self._layout_month()
        elif self.mode in ("week", "day"):
            self._layout_days()
        else:
            self._layout_timeline()
        if self.mode != "timeline":
            self._fit_height(0)
        self.update()

    def _day_of(self, value: dt.datetime) -> dt.date:
        return local(value).date()

    def _layout_month(self) -> None:
        first, _last = self.visible_range()
        w, h = self.width(), self.height()
        cw, ch = w / 7, (h - self.HEADER) / 6
        for i, name in enumerate(weekday_names()):
            self.labels.append((QRect(int(i * cw), 0, int(cw), self.HEADER),
                                name, Qt.AlignmentFlag.AlignCenter))
        cells: dict[dt.date, QRect] = {}
        for n in range(42):
            day = first + dt.timedelta(days=n)
            rect = QRect(int((n % 7) * cw), int(self.HEADER + (n // 7) * ch), int(cw), int(ch))
            cells[day] = rect
            self.labels.append((rect.adjusted(3, 1, -3, 0), str(day.day),
                                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop))
        self._cells = cells
        if not self.data:
            return
        for occ in self.data.windows:
            d, e = local(occ.start), local(occ.end)
            day = d.date()
            while day <= (e - dt.timedelta(seconds=1)).date():
                if day in cells:
                    r = cells[day]
                    colour = BLACKOUT if occ.kind == "blackout" else MAINTENANCE
                    band = r if occ.kind == "blackout" else QRect(r.left() + 1, r.bottom() - 5,
                                                                   r.width() - 2, 5)
                    self.backgrounds.append((band, colour))
                day += dt.timedelta(days=1)
        per_day: dict[dt.date, list] = defaultdict(list)
        for item in self.data.items:
            day, last = self._day_of(item.start), self._day_of(item.end - dt.timedelta(seconds=1))
            if (last - day).days > 42:
                last = day + dt.timedelta(days=42)
            while day <= last:
                if day in cells:
                    per_day[day].append(item)
                day += dt.timedelta(days=1)
        for day, items in per_day.items():
            r = cells[day]
            # "+n more" shares the line of the day number, so a short cell still shows a chip
            slots = max(0, int((r.height() - 18) // (self.CHIP_H + 1)))
            shown = items[:slots]
            for k, item in enumerate(shown):
                self.hits.append((QRect(r.left() + 2, r.top() + 16 + k * (self.CHIP_H + 1),
                                        r.width() - 4, self.CHIP_H), item))
            if len(shown) < len(items):
                self.more.append((QRect(r.left() + 4, r.top() + 1, r.width() - 30, 14),
                                  self.tr("+%n more", "", len(items) - len(shown)), day))

    def _layout_days(self) -> None:
        """Week and day: changes lasting a day or more run as bars across their days in a band at
        the top (as calendars show multi-day events); shorter ones sit in the hour grid, side by
        side only where they overlap each other."""
        first, last = self.visible_range()
        days = (last - first).days
        w, h = self.width(), self.height()
        cw = (w - self.GUTTER) / days
        for n in range(days):
            day = first + dt.timedelta(days=n)
            self.labels.append((QRect(int(self.GUTTER + n * cw), 0, int(cw), self.HEADER),
                                date_text(day, "ddd d MMM"), Qt.AlignmentFlag.AlignCenter))
        items = self.data.items if self.data else []
        band_h = self._layout_band([i for i in items if self.is_multiday(i)], first, days, cw, h)
        top = self.HEADER + band_h
        hh = (h - top) / 24
        self._grid = (first, days, cw, hh)
        self._grid_top = top
        step = 2 if hh >= 7 else 4
        for hour in range(0, 24, step):
            self.labels.append((QRect(0, int(top + hour * hh), self.GUTTER - 4, 14),
                                f"{hour:02d}:00", Qt.AlignmentFlag.AlignRight))
        if not self.data:
            return

        def span_rects(start: dt.datetime, end: dt.datetime):
            s, e = local(start), local(end)
            for n in range(days):
                day = first + dt.timedelta(days=n)
                d0 = dt.datetime.combine(day, dt.time())
                d1 = d0 + dt.timedelta(days=1)
                a, b = max(s, d0), min(e, d1)
                if a < b:
                    y0 = top + (a - d0).total_seconds() / 3600 * hh
                    y1 = top + (b - d0).total_seconds() / 3600 * hh
                    yield n, y0, max(y1, y0 + 6)

        for occ in self.data.windows:
            colour = BLACKOUT if occ.kind == "blackout" else MAINTENANCE
            for n, y0, y1 in span_rects(occ.start, occ.end):
                self.backgrounds.append((QRect(int(self.GUTTER + n * cw), int(y0), int(cw),
                                               int(y1 - y0)), colour))
        per_day: dict[int, list] = defaultdict(list)
        for item in items:
            if not self.is_multiday(item):
                for n, y0, y1 in span_rects(item.start, item.end):
                    per_day[n].append((y0, y1, item))
        # Overlapping changes share the column: a cluster of changes that overlap one another
        # is split into lanes; a change that overlaps nothing keeps the whole column.
        for n, entries in per_day.items():
            entries.sort(key=lambda t: (t[0], t[2].ref))
            cluster: list = []
            cluster_end = -1.0
            for entry in entries + [None]:
                if entry is None or entry[0] >= cluster_end:
                    self._place_cluster(cluster, n, cw)
                    cluster, cluster_end = [], -1.0
                    if entry is None:
                        break
                cluster.append(entry)
                cluster_end = max(cluster_end, entry[1])

    def _place_cluster(self, cluster: list, n: int, cw: float) -> None:
        lanes: list[float] = []
        placed = []
        for y0, y1, item in cluster:
            for k, bottom in enumerate(lanes):
                if bottom <= y0:
                    lanes[k] = y1
                    break
            else:
                k = len(lanes)
                lanes.append(y1)
            placed.append((k, y0, y1, item))
        lw = (cw - 4) / max(1, len(lanes))
        for k, y0, y1, item in placed:
            self.hits.append((QRect(int(self.GUTTER + n * cw + 2 + k * lw), int(y0),
                                    max(3, int(lw) - 1), int(y1 - y0)), item))

    @staticmethod
    def is_multiday(item) -> bool:  # noqa: ANN001
        """Shown in the band across the days (week and day views), not in the hour grid."""
        return item.end - item.start >= dt.timedelta(hours=24)

    def _layout_band(self, items: list, first: dt.date, days: int, cw: float, h: int) -> int:
        """Lay the multi-day bars out in lanes under the day headings; returns the band's
        height.  The band takes at most a third of the view (half in the day view); what does
        not fit is counted per day as "+n more" (a click shows that day)."""
        self._band = None
        spans = []
        for item in items:
            s, e = local(item.start), local(item.end) - dt.timedelta(seconds=1)
            n0, n1 = max(0, (s.date() - first).days), min(days - 1, (e.date() - first).days)
            if n0 <= n1:
                spans.append((n0, n1, item))
        if not spans:
            return 0
        spans.sort(key=lambda t: (t[0], t[0] - t[1], t[2].ref))
        lanes: list[int] = []  # the last day each lane holds
        placed = []
        for n0, n1, item in spans:
            for k, end in enumerate(lanes):
                if end < n0:
                    lanes[k] = n1
                    break
            else:
                k = len(lanes)
                lanes.append(n1)
            placed.append((k, n0, n1, item))
        lane_h = self.CHIP_H + 2
        room = int((h - self.HEADER) * (0.5 if days == 1 else 0.3)) // lane_h
        cap = max(1, room)
        shown = len(lanes) if len(lanes) <= cap else cap - 1
        hidden: dict[int, int] = defaultdict(int)
        for k, n0, n1, item in placed:
            if k < shown:
                self.hits.append((QRect(int(self.GUTTER + n0 * cw + 2),
                                        self.HEADER + 2 + k * lane_h,
                                        int((n1 - n0 + 1) * cw) - 4, self.CHIP_H), item))
            else:
                for n in range(n0, n1 + 1):
                    hidden[n] += 1
        lines = shown + (1 if hidden else 0)
        for n, count in hidden.items():
            self.more.append((QRect(int(self.GUTTER + n * cw + 4), self.HEADER + 2 + shown * lane_h,
                                    int(cw) - 8, self.CHIP_H),
                              self.tr("+%n more", "", count), first + dt.timedelta(days=n)))
        height = lines * lane_h + 4
        self._band = QRect(0, self.HEADER, self.width(), height)
        return height

    def _layout_timeline(self) -> None:
        """One row per CI (or service); changes that overlap in a row -- bars or the labels
        written beside short bars -- are stacked in lanes, so each is seen and read."""
        first, last = self.visible_range()
        days = (last - first).days
        w = self.width()
        dw = (w - self.LABEL_W) / days
        self._grid = (first, days, dw, 0)
        self.row_tops = [self.HEADER]
        for n in range(days):
            day = first + dt.timedelta(days=n)
            self.labels.append((QRect(int(self.LABEL_W + n * dw), 0, int(dw), self.HEADER),
                                date_text(day, "ddd d"), Qt.AlignmentFlag.AlignCenter))
        if not self.data:
            self.row_names = []
            self._fit_height(self.HEADER)
            return
        rows: dict[str, list] = defaultdict(list)
        for item in self.data.items:
            if item.kind == "release":
                keys = [self.tr("Releases")]
            elif self.timeline_rows == "service":
                keys = list(item.services) or [self.tr("(no service)")]
            else:
                keys = list(item.ci_names) or [self.tr("(no CI)")]
            for key in keys:
                rows[key].append(item)
        t0 = dt.datetime.combine(first, dt.time())

        def x_of(value: dt.datetime) -> float:
            return self.LABEL_W + (local(value) - t0).total_seconds() / 86400 * dw

        metrics = QFontMetrics(self.font_small)
        self.row_names = sorted(rows)
        y = self.HEADER
        for key in self.row_names:
            bars = []
            for item in sorted(rows[key], key=lambda i: (i.start, i.ref)):
                x0 = max(self.LABEL_W, x_of(item.start))
                x1 = min(w, x_of(item.end))
                if x1 > x0:
                    bar = QRect(int(x0), 0, max(10, int(x1 - x0)), self.ROW_H - 6)
                    label = self.label_rect(bar, item, metrics)
                    span = bar.united(label) if label is not None else bar
                    bars.append((span, bar, item))
            bars.sort(key=lambda t: (t[0].left(), t[2].ref))
            lanes: list[int] = []  # the right edge each lane reaches
            placed = []
            for span, bar, item in bars:
                for k, right in enumerate(lanes):
                    if right + 4 <= span.left():
                        lanes[k] = span.right()
                        break
                else:
                    k = len(lanes)
                    lanes.append(span.right())
                placed.append((k, bar, item))
            height = max(1, len(lanes)) * self.ROW_H
            self.labels.append((QRect(4, y, self.LABEL_W - 8, self.ROW_H), key,
                                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter))
            for k, bar, item in placed:
                self.hits.append((bar.translated(0, y + 3 + k * self.ROW_H), item))
            y += height
            self.row_tops.append(y)
        for occ in self.data.windows:
            x0, x1 = max(self.LABEL_W, x_of(occ.start)), min(w, x_of(occ.end))
            if x1 > x0:
                colour = BLACKOUT if occ.kind == "blackout" else MAINTENANCE
                self.backgrounds.append((QRect(int(x0), self.HEADER, int(x1 - x0),
                                               max(y, self.height()) - self.HEADER), colour))
        self._fit_height(y)

    def _fit_height(self, content: int) -> None:
        """The timeline grows to hold its rows (the dock scrolls it); the other views fill the
        space they are given."""
        wanted = max(300, content + 2) if self.mode == "timeline" else 300
        if self.minimumHeight() != wanted:
            self.setMinimumHeight(wanted)

    def label_rect(self, rect: QRect, item, metrics: QFontMetrics | None = None) -> QRect | None:  # noqa: ANN001
        """Where a timeline bar's label is written: beside a short bar (at most 190 px, the
        text's own width when shorter; on its left when the right edge is nearer), else inside
        it (None)."""
        if self.mode != "timeline" or rect.width() > 60:
            return None
        metrics = metrics or QFontMetrics(self.font_small)
        wanted = min(190, metrics.horizontalAdvance(self.full_text(item)) + 4)
        right = max(0, self.width() - rect.right() - 6)
        left = max(0, rect.left() - self.LABEL_W - 6)
        if right < wanted and left > right:
            width = min(wanted, left)
            return QRect(rect.left() - 3 - width, rect.top(), width, rect.height())
        return QRect(rect.right() + 3, rect.top(), min(wanted, right), rect.height())

    # -- painting --------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: ANN001, N802
        painter = QPainter(self)
        clip = event.rect()
        pal = self.palette()
        painter.fillRect(clip, pal.base())
        grid = QPen(QColor("#d1d5db"))
        painter.setPen(grid)
        self._paint_grid(painter)
        for rect, colour in self.backgrounds:
            if rect.intersects(clip):
                painter.fillRect(rect, colour)
        painter.setFont(self.font_small)
        painter.setPen(pal.text().color())
        for rect, text, align in self.labels:
            if rect.intersects(clip):
                painter.drawText(rect, int(align), text)
        metrics = self._metrics = getattr(self, "_metrics", None) or QFontMetrics(self.font_small)
        for rect, item in self.hits:
            if rect.intersects(clip):
                self._paint_item(painter, rect, item, metrics)
        painter.setPen(QColor("#2563eb"))
        for rect, text, _day in self.more:
            if rect.intersects(clip):
                painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft), text)
        if self._drag and self._drag_pos is not None:
            item, press, rect = self._drag
            ghost = rect.translated(self._drag_pos - press)
            painter.setPen(QPen(QColor("#2563eb"), 1, Qt.PenStyle.DashLine))
            painter.setBrush(QColor(37, 99, 235, 40))
            painter.drawRect(ghost)
        painter.end()

    def _paint_grid(self, painter: QPainter) -> None:
        w, h = self.width(), self.height()
        if self.mode == "month":
            cw, ch = w / 7, (h - self.HEADER) / 6
            today = dt.date.today()
            if getattr(self, "_cells", None):
                for day, rect in self._cells.items():
                    if day.month != self.anchor.month:
                        painter.fillRect(rect, QColor("#f3f4f6"))
                if today in self._cells:
                    painter.fillRect(self._cells[today], QColor("#dbeafe"))
            for i in range(8):
                painter.drawLine(int(i * cw), self.HEADER, int(i * cw), h)
            for j in range(7):
                painter.drawLine(0, int(self.HEADER + j * ch), w, int(self.HEADER + j * ch))
        elif self.mode in ("week", "day") and getattr(self, "_grid", None):
            _first, days, cw, hh = self._grid
            top = getattr(self, "_grid_top", self.HEADER)
            if self._band is not None:
                painter.fillRect(self._band.adjusted(self.GUTTER, 0, 0, 0), QColor("#f9fafb"))
            for n in range(days + 1):
                painter.drawLine(int(self.GUTTER + n * cw), 0, int(self.GUTTER + n * cw), h)
            for hour in range(25):
                painter.drawLine(self.GUTTER, int(top + hour * hh), w, int(top + hour * hh))
            if self._band is not None:
                pen = painter.pen()
                painter.setPen(QPen(QColor("#9ca3af"), 2))
                painter.drawLine(0, top, w, top)
                painter.setPen(pen)
        elif getattr(self, "_grid", None):
            _first, days, dw, _ = self._grid
            for n in range(days + 1):
                painter.drawLine(int(self.LABEL_W + n * dw), 0, int(self.LABEL_W + n * dw), h)
            for y in getattr(self, "row_tops", [self.HEADER]):
                painter.drawLine(0, y, w, y)

    @staticmethod
    def full_text(item) -> str:  # noqa: ANN001
        return ("⚠ " if item.conflict else "") + f"{item.ref} {item.title}"

    def _elided(self, item, width: int, metrics: QFontMetrics) -> str:  # noqa: ANN001
        key = (item.id, item.kind, width, item.conflict)
        text = self._elide_cache.get(key)
        if text is None:
            text = metrics.elidedText(self.full_text(item), Qt.TextElideMode.ElideRight, width)
            self._elide_cache[key] = text
        return text

    def _paint_item(self, painter: QPainter, rect: QRect, item, metrics: QFontMetrics) -> None:  # noqa: ANN001
        fill = RELEASE_COLOUR if item.kind == "release" else STATUS_COLOURS.get(item.status,
                                                                                  "#e5e7eb")
        painter.setBrush(_brush(fill))
        if item.conflict:
            painter.setPen(_pen("#dc2626", 2))
        elif item.id == self.selected_id:
            painter.setPen(_pen("#1d4ed8", 2))
        else:
            painter.setPen(_pen("#9ca3af", 1))
        painter.drawRect(rect.adjusted(0, 0, -1, -1))
        painter.fillRect(QRect(rect.left() + 1, rect.top() + 1, 4, rect.height() - 2),
                         _colour(RISK_COLOURS.get(item.risk or "", "#9ca3af")))
        align = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        outside = self.label_rect(rect, item, metrics)
        if outside is not None:
            painter.setPen(_pen("#111827", 1))
            if outside.right() < rect.left():  # written on the bar's left
                align = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            painter.drawText(outside, align, self._elided(item, outside.width(), metrics))
        elif rect.width() > 24:
            painter.setPen(_pen("#111827", 1))
            inner = rect.adjusted(7, 0, -2, 0)
            line = metrics.lineSpacing()
            lines = (inner.height() - 2) // line
            if lines >= 2 and self.mode in ("week", "day"):  # a tall change: its title wraps
                inner = QRect(inner.left(), inner.top() + 1, inner.width(), lines * line)
                painter.save()
                painter.setClipRect(inner)
                painter.drawText(inner, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
                                            | Qt.TextFlag.TextWordWrap), self.full_text(item))
                painter.restore()
            else:
                painter.drawText(inner, align, self._elided(item, inner.width(), metrics))

    # -- interaction -----------------------------------------------------------------------------
    def item_at(self, pos: QPoint):
        for rect, item in reversed(self.hits):
            if rect.contains(pos):
                return rect, item
        return None

    def rect_of(self, item_id) -> QRect | None:  # noqa: ANN001
        for rect, item in self.hits:
            if item.id == item_id:
                return rect
        return None

    def mousePressEvent(self, event) -> None:  # noqa: ANN001, N802
        for rect, _text, day in self.more:
            if rect.contains(event.position().toPoint()):
                self.sig_day_requested.emit(day)
                return
        hit = self.item_at(event.position().toPoint())
        self.selected_id = hit[1].id if hit else None
        self.sig_selected.emit(hit[1] if hit else None)
        if hit and event.button() == Qt.MouseButton.LeftButton and hit[1].kind == "change":
            self._drag = (hit[1], event.position().toPoint(), hit[0])
        self.update()

    def mouseMoveEvent(self, event) -> None:  # noqa: ANN001, N802
        if self._drag:
            self._drag_pos = event.position().toPoint()
            self.update()
            return
        hit = self.item_at(event.position().toPoint())
        if hit:
            item = hit[1]
            tip = (f"{item.ref}: {item.title}\n{local(item.start):%Y-%m-%d %H:%M} – "
                   f"{local(item.end):%Y-%m-%d %H:%M}\n{item.status.replace('_', ' ')}"
                   f" · risk {item.risk or '—'}")
            if item.ci_names:
                tip += "\n" + ", ".join(item.ci_names)
            if item.conflict:
                tip += "\n" + self.tr("Conflicts with other changes or windows")
            QToolTip.showText(event.globalPosition().toPoint(), tip, self)

    def mouseReleaseEvent(self, event) -> None:  # noqa: ANN001, N802
        if not self._drag:
            return
        item, press, _rect = self._drag
        self._drag, self._drag_pos = None, None
        delta = event.position().toPoint() - press
        if abs(delta.x()) < 4 and abs(delta.y()) < 4:
            self.update()
            return
        new_start = self.shifted_start(item, delta)
        self.update()
        if new_start is not None and new_start != local(item.start):
            self.sig_reschedule.emit(item, new_start)

    def shifted_start(self, item, delta: QPoint) -> dt.datetime | None:  # noqa: ANN001
        """The local start a drag by ``delta`` pixels moves ``item`` to (snapped)."""
        start = local(item.start)
        w, h = self.width(), self.height()
        if self.mode == "month":
            cw, ch = w / 7, (h - self.HEADER) / 6
            days = round(delta.x() / cw) + 7 * round(delta.y() / ch)
            return start + dt.timedelta(days=days)
        if self.mode in ("week", "day"):
            _first, _days, cw, hh = self._grid
            # a bar in the multi-day band moves by whole days
            minutes = 0 if self.is_multiday(item) else round(delta.y() / hh * 60 / 15) * 15
            days = round(delta.x() / cw) if self.mode == "week" else 0
            return start + dt.timedelta(days=days, minutes=minutes)
        _first, _days, dw, _ = self._grid
        minutes = round(delta.x() / dw * 24 * 60 / 30) * 30
        return start + dt.timedelta(minutes=minutes)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: ANN001, N802
        hit = self.item_at(event.position().toPoint())
        if hit:
            self.sig_activated.emit(hit[1])

    def keyPressEvent(self, event) -> None:  # noqa: ANN001, N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.selected_id:
            for _rect, item in self.hits:
                if item.id == self.selected_id:
                    self.sig_activated.emit(item)
                    return
        super().keyPressEvent(event)
