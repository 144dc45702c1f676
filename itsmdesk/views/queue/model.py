"""A queue as a QAbstractTableModel: row count from SQL, rows fetched a page at a time.

The model holds only the pages the view has looked at (a small LRU cache).  Pages are read on
the database worker; page ``n`` uses keyset paging when page ``n-1`` is cached (scrolling), else
an offset (a jump).  Sorting and the text filter go to SQL: they reset the model and re-count.
The remaining SLA time is computed from the cached due date, so the countdown needs no query.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import OrderedDict
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont

from itsmdesk.services.clock import utcnow
from itsmdesk.services.servicedesk import incidents, queues, sla
from itsmdesk.views.context import AppContext
from itsmdesk.words import word

PAGE = 100
DATETIME_COLUMNS = ("opened_at", "updated_at", "resolved_at", "resolution_due")
MAX_PAGES = 40

PRIORITY_COLOURS = {1: "#c62828", 2: "#ef6c00", 3: "#f9a825", 4: "#2e7d32", 5: "#607d8b"}
SLA_COLOURS = {"breached": "#c62828", "at_risk": "#ef6c00", "paused": "#607d8b", "met": "#2e7d32",
               "ok": "#2e7d32"}




def format_remaining(due: dt.datetime | None, now: dt.datetime) -> str:
    if due is None:
        return ""
    seconds = int((due - now).total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{sign}{days}d {hours}h"
    return f"{sign}{hours}h {minutes:02d}m"


_DISPLAY = Qt.ItemDataRole.DisplayRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_FONT = Qt.ItemDataRole.FontRole
_DECORATION = Qt.ItemDataRole.DecorationRole
_USER = Qt.ItemDataRole.UserRole
_ROLES = frozenset((_DISPLAY, _TOOLTIP, _FOREGROUND, _FONT, _DECORATION, _USER))


@functools.lru_cache(maxsize=32)
def _brush(colour: str) -> QBrush:
    return QBrush(QColor(colour))


@functools.lru_cache(maxsize=1)
def _bold_font() -> QFont:
    font = QFont()
    font.setBold(True)
    return font


@functools.lru_cache(maxsize=1)
def _plain_font() -> QFont:
    return QFont()


class QueueModel(QAbstractTableModel):
    sig_count_changed = Signal(int)
    """(row count) after the queue was (re)counted."""

    sig_loading = Signal(bool)
    """True while a page or a count is being read."""

    sig_about_to_refresh = Signal()
    """The rows are about to be replaced after other writes (the view keeps its selection)."""

    sig_refreshed = Signal()
    """The rows were replaced after other writes: reselect by id, restore the scroll."""

    def __init__(self, ctx: AppContext, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.spec: queues.QueueSpec | None = None
        self.order: tuple[str, str] = ("opened_at", "desc")
        self.text = ""
        self.columns: list[str] = list(queues.DEFAULT_COLUMNS)
        self._count = 0
        self._pages: OrderedDict[int, list[queues.QueueRow]] = OrderedDict()
        self._pending: set[int] = set()
        self._texts: dict[tuple[int, int], str] = {}  # (row, column) -> display text
        self.modelReset.connect(self._texts.clear)
        self._generation = 0
        self.loaded_as: Any = None  # the Actor whose view the rows are
        """The person whose "Me" and "My teams" the rows were read for."""
        self._changed_ids: set[Any] = set()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(30_000)

    # -- state ----------------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return self.ctx.clock() if self.ctx.clock else utcnow()

    def person_id(self) -> Any:
        return self.ctx.actor.person_id

    def set_queue(self, spec: queues.QueueSpec, sort: tuple[str, str] | None = None,
                  text: str | None = None) -> None:
        self.spec = spec
        self.order = sort or spec.sort
        if text is not None:
            self.text = text
        self.beginResetModel()
        self.columns = list(spec.columns)
        self.endResetModel()
        self.reload()

    def set_text(self, text: str) -> None:
        self.text = text
        self.reload()

    def reload(self) -> None:
        """Re-count and drop the cache (after a sort, a filter or an edit)."""
        if self.spec is None:
            return
        self._generation += 1
        generation = self._generation
        spec, sort, text, person, now = self.spec, self.order, self.text, self.person_id(), self.now()
        viewer = self.ctx.actor
        self.loaded_as = viewer  # (whose view: another sign-in with the same id reloads too)

        def work():
            total = queues.count(spec, person, now, text, viewer)
            first = (queues.page(spec, 0, PAGE, sort, None, person, now, text, viewer)
                     if total else None)
            return total, first

        self.sig_loading.emit(True)
        self.ctx.query(work, on_done=lambda r: self._counted(generation, r),
                       on_error=self._failed, key=f"queue-count-{id(self)}", owner=self)

    # -- after writes: rows refreshed in place ---------------------------------------------------
    def apply_changes(self, ids: set[Any] | None) -> None:
        """Tickets ``ids`` changed (None: some, unknown which).  Rows that stay where they are
        are replaced in place (selection, current row and scroll untouched); when rows moved,
        joined or left the queue the visible pages are read again and the view keeps its
        selection by id."""
        if self.spec is None:
            return
        if not ids:
            self.soft_reload()
            return
        self._changed_ids |= set(ids)
        generation = self._generation
        wanted = sorted(self._changed_ids, key=str)
        self.ctx.query(queues.refresh, self.spec, wanted, self.order, self.person_id(), self.now(),
                       self.text, self.ctx.actor, on_done=lambda r: self._refreshed(generation, wanted, r),
                       key=f"queue-refresh-{id(self)}", owner=self)

    def _positions(self) -> dict[Any, tuple[int, int]]:
        out = {}
        for page_no, rows in self._pages.items():
            for offset in range(len(rows)):
                out[rows[offset].id] = (page_no, offset)
        return out

    def _refreshed(self, generation: int, asked: list[Any], result: queues.Refresh) -> None:
        self._changed_ids -= set(asked)
        if generation != self._generation:
            return  # reloaded meanwhile: that read saw the changes already
        positions = self._positions()
        in_place = result.count == self._count
        for record_id, new in result.rows.items():
            where = positions.get(record_id)
            if where is None:
                in_place = in_place and new is None
                continue
            old = self._pages[where[0]][where[1]]
            if new is None or new.sort_key != old.sort_key:
                in_place = False
        if not in_place:
            self.soft_reload()
            return
        for record_id, new in result.rows.items():
            where = positions.get(record_id)
            if where is None or new is None:
                continue
            page_no, offset = where
            rows = self._pages[page_no]
            if not isinstance(rows, list):
                rows = list(rows)
                self._pages[page_no] = rows
            rows[offset] = new
            row = page_no * PAGE + offset
            for col in range(self.columnCount()):
                self._texts.pop((row, col), None)
            self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def soft_reload(self) -> None:
        """Re-count and re-read the pages in view, then replace the rows at once (the view
        restores its selection and scroll from ``sig_refreshed``)."""
        if self.spec is None:
            return
        self._generation += 1
        generation = self._generation
        spec, sort, text, person, now = self.spec, self.order, self.text, self.person_id(), self.now()
        viewer = self.ctx.actor
        self.loaded_as = viewer  # (whose view: another sign-in with the same id reloads too)
        wanted = sorted(self._pages)[-4:] or [0]

        def work():
            total = queues.count(spec, person, now, text, viewer)
            pages = {n: queues.page(spec, n * PAGE, PAGE, sort, None, person, now, text,
                                    viewer).rows
                     for n in wanted if n * PAGE < total}
            return total, pages

        self.ctx.query(work, on_done=lambda r: self._soft_arrived(generation, r),
                       on_error=self._failed, key=f"queue-count-{id(self)}", owner=self)

    def _soft_arrived(self, generation: int, result: tuple[int, dict[int, Any]]) -> None:
        if generation != self._generation:
            return
        total, pages = result
        self.sig_about_to_refresh.emit()
        self.beginResetModel()
        self._count = total
        self._pages.clear()
        self._pending.clear()
        for page_no in sorted(pages):
            self._pages[page_no] = pages[page_no]
        self.endResetModel()
        self.sig_refreshed.emit()
        self.sig_count_changed.emit(total)

    def row_of(self, record_id: Any) -> int | None:
        """The row showing ``record_id`` among the cached pages."""
        where = self._positions().get(record_id)
        return None if where is None else where[0] * PAGE + where[1]

    def _failed(self, exc: BaseException) -> None:
        self.sig_loading.emit(False)
        from itsmdesk.views.messages import show_error

        show_error(None, exc)

    def _counted(self, generation: int, result: tuple[int, Any]) -> None:
        if generation != self._generation:
            return
        total, first = result
        self.beginResetModel()
        self._count = total
        self._pages.clear()
        self._pending.clear()
        if first is not None:
            self._pages[0] = first.rows
        self.endResetModel()
        self.sig_loading.emit(False)
        self.sig_count_changed.emit(total)

    def _fetch(self, page_no: int) -> None:
        if page_no in self._pending or page_no in self._pages or self.spec is None:
            return
        self._pending.add(page_no)
        prev = self._pages.get(page_no - 1)
        after = prev[-1].sort_key if prev and len(prev) == PAGE else None
        generation = self._generation
        args = (self.spec, page_no * PAGE, PAGE, self.order, after, self.person_id(), self.now(),
                self.text, self.ctx.actor)
        self.sig_loading.emit(True)
        self.ctx.query(queues.page, *args,
                       on_done=lambda p: self._arrived(generation, page_no, p),
                       on_error=self._failed, owner=self)

    def _arrived(self, generation: int, page_no: int, page: queues.Page) -> None:
        self._pending.discard(page_no)
        self.sig_loading.emit(bool(self._pending))
        if generation != self._generation:
            return
        self._pages[page_no] = page.rows
        self._texts.clear()
        while len(self._pages) > MAX_PAGES:
            oldest = next(iter(self._pages))
            if oldest == page_no:
                break
            self._pages.pop(oldest)
        first = page_no * PAGE
        last = min(self._count, first + PAGE) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, self.columnCount() - 1))

    def _tick(self) -> None:
        self._texts.clear()  # the countdowns move on
        if "resolution_due" in self.columns and self._count:
            col = self.columns.index("resolution_due")
            self.dataChanged.emit(self.index(0, col), self.index(self._count - 1, col))

    def row_at(self, row: int) -> queues.QueueRow | None:
        page_no = row // PAGE
        rows = self._pages.get(page_no)
        if rows is None:
            self._fetch(page_no)
            rows = self._pages.get(page_no)
            if rows is None:
                return None
        self._pages.move_to_end(page_no)
        offset = row - page_no * PAGE
        return rows[offset] if offset < len(rows) else None

    def column_texts(self, column: int, limit: int) -> dict[str, int]:
        """The distinct texts column ``column`` shows in the first ``limit`` rows read, each
        with the first row showing it (the view sizes its columns from them; nothing is
        fetched)."""
        name = self.columns[column]
        rows = self._pages.get(0) or []
        out: dict[str, int] = {}
        for r in range(min(limit, len(rows), self._count)):
            text = self._texts.get((r, column))
            if text is None:
                text = self._display(name, rows[r].get(name), rows[r])
            if text and text not in out:
                out[text] = r
        return out

    def cached_rows(self) -> int:
        return sum(len(p) for p in self._pages.values())

    # -- Qt model ---------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return QCoreApplication.translate("errors", queues.COLUMNS[self.columns[section]])
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        # A paint asks ~7 roles of every visible cell: cheap answers first (the role and the
        # column decide most of them), and display texts are cached until the rows change.
        if role not in _ROLES or not index.isValid():
            return None
        r, c = index.row(), index.column()
        name = self.columns[c]
        if role == _DISPLAY:
            text = self._texts.get((r, c))
            if text is not None:
                return text
        elif role == _FOREGROUND:
            if name not in ("priority", "sla_state", "resolution_due"):
                return None
        elif role == _FONT:
            if name not in ("ref", "priority"):
                return None
        elif role == _DECORATION:
            if name not in ("sla_state", "priority"):
                return None
        elif role == _TOOLTIP:
            if name not in ("title", "resolution_due"):
                return None
        row = self.row_at(r)
        if row is None:
            return "…" if role == _DISPLAY and c == 0 else None
        value = row.get(name)
        if role == _DISPLAY:
            text = self._display(name, value, row)
            if len(self._texts) > 20_000:
                self._texts.clear()
            self._texts[(r, c)] = text
            return text
        if role == _TOOLTIP:
            return f"{row.get('ref')}: {row.get('title')}"
        if role == _FOREGROUND:
            if name == "priority":
                colour = PRIORITY_COLOURS.get(value)
            else:
                state = self._state(row)
                colour = SLA_COLOURS[state] if state in ("breached", "at_risk") else None
            return _brush(colour) if colour else None
        if role == _FONT:
            return _bold_font() if name == "priority" and value in (1, 2) else _plain_font()
        if role == _DECORATION:
            from itsmdesk.views.queue.icons import priority_icon, sla_icon

            return sla_icon(self._state(row)) if name == "sla_state" else priority_icon(value)
        if role == _USER:
            return row.id
        return None

    def _state(self, row: queues.QueueRow) -> str:
        return sla.shown_state(row.get("sla_state"), row.get("status"),
                               queues.as_datetime(row.get("resolution_due")), self.now())

    def _display(self, name: str, value: Any, row: queues.QueueRow) -> str:
        if name == "resolution_due":
            if row.get("status") in incidents.CLOSED_STATUSES:
                return ""
            if row.get("sla_state") == "paused":
                return QCoreApplication.translate("QueueModel", "paused")
            return format_remaining(queues.as_datetime(value), self.now())
        if name == "priority":
            return f"P{value}" if value else ""
        if name == "sla_state":
            return {"ok": QCoreApplication.translate("QueueModel", "ok"), "at_risk": QCoreApplication.translate("QueueModel", "at risk"), "breached": QCoreApplication.translate("QueueModel", "breached"),
                    "paused": QCoreApplication.translate("QueueModel", "paused"), "met": QCoreApplication.translate("QueueModel", "met")}.get(self._state(row), value or "")
        if name == "status":
            return word(value)
        if name in DATETIME_COLUMNS or isinstance(value, dt.datetime):
            from itsmdesk.views.timefmt import local_text

            return local_text(queues.as_datetime(value))
        return "" if value is None else str(value)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        name = self.columns[column] if 0 <= column < len(self.columns) else "opened_at"
        if name not in queues.SORTABLE:
            return
        self.sort_by((name, "desc" if order == Qt.SortOrder.DescendingOrder else "asc"))

    def sort_by(self, sort: tuple[str, str]) -> None:
        if sort != self.order:
            self.order = sort
            self.reload()
