"""The ticket queues dock: queue list with counts, a filter box, the queue table, bulk edit.

Signals (Spyder style):
- ``sig_queue_changed(str)``: the queue key now shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QCoreApplication,
    QEvent,
    QItemSelectionModel,
    QObject,
    QSettings,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.kinds import Kind
from itsmdesk.services.records import Changes
from itsmdesk.services.servicedesk import queues
from itsmdesk.views import style
from itsmdesk.views.context import AppContext
from itsmdesk.views.lazy import WhenShown
from itsmdesk.views.messages import show_error
from itsmdesk.views.numfmt import grouped
from itsmdesk.views.queue.columns import TITLE_SHARE, QueueColumns
from itsmdesk.views.queue.model import QueueModel


def tr(text: str) -> str:
    return QCoreApplication.translate("QueuePanel", text)


CENTRE_SHARE = 0.3
"""Widening the dock back at start leaves the centre (the record tabs) at least this share."""

QUEUE_ROWS = 4
"""At most this many rows of queues above the table (more scroll)."""

QUEUE_NAMES = {  # predefined names, translated here (saved queues keep their own names)
    "my_open": QT_TRANSLATE_NOOP("QueuePanel", "My open"),
    "my_team": QT_TRANSLATE_NOOP("QueuePanel", "My team"),
    "unassigned": QT_TRANSLATE_NOOP("QueuePanel", "Unassigned"),
    "at_risk": QT_TRANSLATE_NOOP("QueuePanel", "SLA at risk"),
    "breached": QT_TRANSLATE_NOOP("QueuePanel", "Breached"),
    "all_open": QT_TRANSLATE_NOOP("QueuePanel", "All open"),
    "resolved_recent": QT_TRANSLATE_NOOP("QueuePanel", "Resolved recently"),
    "all": QT_TRANSLATE_NOOP("QueuePanel", "All tickets"),
}


class QueuePanel(QWidget):
    sig_queue_changed = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None,
                 settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("queuePanel")
        self.specs: list[queues.QueueSpec] = []
        self.last_bulk: queues.BulkEdit | None = None
        self.model = QueueModel(ctx, self)

        # The queues as a wrapped row of entries above the table (not a column beside it): the
        # table keeps the dock's whole width for its columns.
        self.queue_list = QListWidget()
        self.queue_list.setObjectName("queueList")
        self.queue_list.setFlow(QListView.Flow.LeftToRight)
        self.queue_list.setWrapping(True)
        self.queue_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.queue_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.queue_list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.queue_list.installEventFilter(self)
        style.selection_colours(self.queue_list, "#1f6fb2", "white")
        self.queue_list.currentRowChanged.connect(self._queue_selected)
        self.queue_list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.queue_list.customContextMenuRequested.connect(self._queue_menu)

        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("queueFilter")
        self.filter_edit.setPlaceholderText(QCoreApplication.translate("QueuePanel", "Filter: words or a reference…"))
        self.filter_edit.setClearButtonEnabled(True)
        self._filter_timer = QTimer(self, singleShot=True, interval=250)
        self._filter_timer.timeout.connect(lambda: self.model.set_text(self.filter_edit.text()))
        self.filter_edit.textChanged.connect(lambda _t: self._filter_timer.start())

        self.count_label = QLabel()
        self.count_label.setObjectName("queueCount")
        style.quiet(self.count_label)
        self.new_button = QToolButton()
        self.new_button.setText(QCoreApplication.translate("QueuePanel", "New ticket"))
        self.new_button.setToolTip(QCoreApplication.translate("QueuePanel", "Record a new incident (Ctrl+N)"))
        self.new_button.clicked.connect(lambda: ctx.open_record("incident", None))
        self.bulk_button = QToolButton()
        self.bulk_button.setText(QCoreApplication.translate("QueuePanel", "Edit selected…"))
        self.bulk_button.setToolTip(QCoreApplication.translate("QueuePanel", "Change a field on every selected ticket (Ctrl+E)"))
        self.bulk_button.clicked.connect(self.bulk_edit)

        self.table = QTableView()
        self.table.setObjectName("queueTable")
        style.selection_colours(self.table, "#cfe3f6", "black")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setSortingEnabled(True)
        self.table.setWordWrap(False)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.horizontalHeader().setHighlightSections(False)
        self.table.horizontalHeader().setSortIndicatorShown(True)
        self.table.activated.connect(self._open_index)
        self.table.doubleClicked.connect(self._open_index)
        self.columns = QueueColumns(self.table, settings, self)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.count_label)
        top.addWidget(self.bulk_button)
        top.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.queue_list)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        self.setMinimumWidth(self.minimum_width())

        self.model.sig_count_changed.connect(self._show_count)
        self.model.sig_about_to_refresh.connect(self._keep_selection)
        self.model.sig_refreshed.connect(self._restore_selection)
        self._kept: tuple[list[Any], Any, int] = ([], None, 0)
        self._counted_for: Any = ctx.actor.person_id  # whose counts the queue list shows
        self._widen_pending = True
        self._pending_ids: set[Any] | None = set()  # None: some tickets changed, unknown which
        self.lazy = WhenShown(self, self._apply_pending)
        ctx.sig_changes.connect(self._on_changes)
        ctx.sig_actor_changed.connect(self.refresh_queues)
        # The first rows must not wait for the queue list and its counts: the default queue is
        # predefined (known without the database) and starts loading on one reader while the
        # list and the counts are read on another.
        default = "my_open" if ctx.actor.person_id else "all_open"
        self.model.set_queue(next(s for s in queues.PREDEFINED if s.key == default))
        self.refresh_queues()

    # -- queues -------------------------------------------------------------------------------------
    def queue_name(self, spec: queues.QueueSpec) -> str:
        return tr(QUEUE_NAMES[spec.key]) if spec.key in QUEUE_NAMES else spec.name

    def refresh_queues(self, select: str | None = None) -> None:
        """(Re)list the queues for the signed-in person and count them in the background."""
        person = self.ctx.actor.person_id
        current = select or self.current_key()
        self._counted_for = person
        viewer = self.ctx.actor

        def work():
            specs = queues.queues_for(person)
            return specs, queues.counts(specs, person, self.model.now(), viewer)

        self.ctx.query(work, on_done=lambda r: self._show_queues(r, current),
                       key=f"queue-list-{id(self)}", owner=self)

    def _show_queues(self, result: tuple[list, dict], current: str | None) -> None:
        specs, counts = result
        current = current if any(s.key == current for s in specs) else None
        self.specs = specs
        self.queue_list.blockSignals(True)
        self.queue_list.clear()
        select = 0
        for i, spec in enumerate(specs):
            item = QListWidgetItem(self._entry_text(spec, counts))
            item.setData(Qt.ItemDataRole.UserRole, spec.key)
            if spec.key == "breached" and counts.get(spec.key):
                item.setForeground(Qt.GlobalColor.red)
            self.queue_list.addItem(item)
            # Start on the agent's own work; when they have none open, on all open tickets.
            default = ("my_open" if self.ctx.actor.person_id and counts.get("my_open") else "all_open")
            if spec.key == (current or default):
                select = i
        self.queue_list.setCurrentRow(select)  # (signals blocked: the line below decides)
        self.queue_list.blockSignals(False)
        self._fit_queue_list()
        # (re)load unless the model already shows exactly this queue for this person (a saved
        # queue edited since has a new spec; "My open" is another list for another person)
        self._queue_selected(select, load=self.model.spec != specs[select]
                             or getattr(self.model, "loaded_as", None) != self.ctx.actor)

    def _entry_text(self, spec: queues.QueueSpec, counts: dict[str, int]) -> str:
        """"All open  (11,947)": the count grouped the way the user's locale writes numbers."""
        return f"{self.queue_name(spec)}  ({grouped(counts.get(spec.key, 0))})"

    def _fit_queue_list(self) -> None:
        """The queues in cells as wide as the longest name and count (none is cut), as many to
        a row as the dock's width takes, and the list as high as its rows (up to a limit)."""
        lst = self.queue_list
        metrics = lst.fontMetrics()
        widest = max((metrics.horizontalAdvance(lst.item(i).text()) for i in range(lst.count())),
                     default=metrics.averageCharWidth() * 12)
        inner = max(1, lst.width() - 2 * lst.frameWidth())
        cell = QSize(min(widest + 2 * metrics.averageCharWidth() + 8, inner),
                     metrics.height() + 6)
        if lst.gridSize() != cell:
            lst.setGridSize(cell)
        per_row = max(1, inner // cell.width())
        rows = max(1, min(-(-lst.count() // per_row), QUEUE_ROWS))
        height = rows * cell.height() + 2 * lst.frameWidth() + 2
        if lst.height() != height:
            lst.setFixedHeight(height)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.queue_list and event.type() == QEvent.Type.Resize:
            self._fit_queue_list()
        return False

    def minimum_width(self) -> int:
        """Room for a ticket's reference, priority and status beside a readable title: the
        dock is not narrowed below it (a form needing room takes it from elsewhere), so a
        narrowed layout saved at closing still shows what identifies a ticket."""
        metrics = self.table.fontMetrics()
        cells = sum(metrics.horizontalAdvance(t) for t in ("INC-000000", "Priority", "in progress"))
        return cells + 3 * 24 + self.columns.title_minimum() + 40

    def comfortable_width(self) -> int:
        """Room for the reference, priority, status and SLA columns beside a title that has a
        good part of the table (what the dock is widened back to at start, see
        ``_widen_once``)."""
        wanted = ("ref", "priority", "status", "sla_state", "resolution_due")
        cells = sum(self.columns.natural_width(n) for n in wanted if n in self.model.columns)
        table = cells / (1 - TITLE_SHARE)
        chrome = max(0, self.width() - self.table.viewport().width())
        return max(self.minimumWidth(), int(table) + chrome)

    def showEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        super().showEvent(event)
        self._maybe_widen()

    def _maybe_widen(self) -> None:
        if self._widen_pending and self.isVisible() and self.model.rowCount():
            self._widen_pending = False
            QTimer.singleShot(0, self, self._widen_once)

    def _widen_once(self) -> None:
        """Once, at start: a dock that was saved narrower than comfortable (a wide form had
        squeezed it when the window closed) is widened back while the centre has room; a
        squeeze of the last session does not become the layout of every next one."""
        dock = self.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        window = dock.parentWidget() if dock is not None else None
        if not isinstance(window, QMainWindow) or dock.isFloating() or \
                window.centralWidget() is None or self.visibleRegion().isEmpty():
            return  # (behind another dock's tab its width is stale: it could only shrink it)
        missing = self.comfortable_width() - dock.width()
        central = window.centralWidget()
        spare = central.width() - max(central.minimumSizeHint().width(),
                                      int(CENTRE_SHARE * window.width()))
        grow = min(missing, spare)
        if grow > 0:
            window.resizeDocks([dock], [dock.width() + grow], Qt.Orientation.Horizontal)

    def _update_counts(self) -> None:
        person = self.ctx.actor.person_id
        specs = list(self.specs)
        self._counted_for = person
        viewer = self.ctx.actor
        now = self.model.now()  # here: the worker's closure holds no widget or model
        self.ctx.query(lambda: queues.counts(specs, person, now, viewer),
                       on_done=self._show_counts, key=f"queue-counts-{id(self)}", owner=self)

    def _show_counts(self, counts: dict[str, int]) -> None:
        for i in range(min(self.queue_list.count(), len(self.specs))):
            item = self.queue_list.item(i)
            spec = self.specs[i]
            item.setText(self._entry_text(spec, counts))
            if spec.key == "breached":
                item.setForeground(Qt.GlobalColor.red if counts.get(spec.key) else
                                   self.queue_list.palette().text().color())
        self._fit_queue_list()

    def current_key(self) -> str | None:
        item = self.queue_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def select_queue(self, key: str) -> None:
        for i in range(self.queue_list.count()):
            if self.queue_list.item(i).data(Qt.ItemDataRole.UserRole) == key:
                self.queue_list.setCurrentRow(i)
                return

    def _queue_selected(self, row: int, load: bool = True) -> None:
        if not 0 <= row < len(self.specs):
            return
        spec = self.specs[row]
        if load:
            self.model.set_queue(spec)
        col = spec.columns.index(spec.sort[0]) if spec.sort[0] in spec.columns else -1
        self.table.horizontalHeader().blockSignals(True)
        self.table.horizontalHeader().setSortIndicator(
            col, Qt.SortOrder.DescendingOrder if spec.sort[1] == "desc" else Qt.SortOrder.AscendingOrder)
        self.table.horizontalHeader().blockSignals(False)
        self.columns.fit()  # (the sorted column's header needs room for its arrow)
        self.sig_queue_changed.emit(spec.key)

    def _show_count(self, total: int) -> None:
        self.count_label.setText(QCoreApplication.translate("QueuePanel", "{n} tickets").format(n=grouped(total)))
        # The counts beside the queues are for the person whose tickets the list shows: a
        # person known only after they were counted (restored at start, signed in meanwhile)
        # has them counted again, so "My open (0)" never stands beside their five tickets.
        loaded = self.model.loaded_as
        if (loaded.person_id if loaded is not None else None) != self._counted_for:
            if self.specs:
                self._update_counts()
            else:
                self.refresh_queues()
        self._maybe_widen()

    def _on_changes(self, changes: Changes) -> None:
        """Tickets changed (here or at another workstation): their rows are refreshed in place
        and the queue counts updated; a hidden queue dock does this when it is shown."""
        if not changes.touches(Kind.INCIDENT):
            return
        if changes.is_wholesale(Kind.INCIDENT):
            self._pending_ids = None
        elif self._pending_ids is not None:
            self._pending_ids |= changes.ids(Kind.INCIDENT)
        self.lazy.request()

    def _apply_pending(self) -> None:
        ids, self._pending_ids = self._pending_ids, set()
        self.model.apply_changes(ids)
        self._update_counts()

    def _keep_selection(self) -> None:
        rows = self.selected_rows()
        current = self.model.row_at(self.table.currentIndex().row()) \
            if self.table.currentIndex().isValid() else None
        self._kept = ([r.id for r in rows], current.id if current else None,
                      self.table.verticalScrollBar().value())

    def _restore_selection(self) -> None:
        ids, current, scroll = self._kept
        sel = self.table.selectionModel()
        for record_id in ids:
            row = self.model.row_of(record_id)
            if row is not None:
                sel.select(self.model.index(row, 0), QItemSelectionModel.SelectionFlag.Select
                           | QItemSelectionModel.SelectionFlag.Rows)
        if current is not None:
            row = self.model.row_of(current)
            if row is not None:
                sel.setCurrentIndex(self.model.index(row, 0),
                                    QItemSelectionModel.SelectionFlag.NoUpdate)
        self.table.verticalScrollBar().setValue(scroll)

    # -- actions ------------------------------------------------------------------------------------
    def _open_index(self, index) -> None:  # noqa: ANN001
        row = self.model.row_at(index.row())
        if row is not None:
            self.ctx.open_record(row.values.get("kind") or "incident", row.id)

    def selected_rows(self) -> list[queues.QueueRow]:
        rows = []
        for index in self.table.selectionModel().selectedRows():
            row = self.model.row_at(index.row())
            if row is not None:
                rows.append(row)
        return rows

    def select_rows(self, rows: list[int]) -> None:
        sel = self.table.selectionModel()
        sel.clearSelection()
        for r in rows:
            sel.select(self.model.index(r, 0), QItemSelectionModel.SelectionFlag.Select
                       | QItemSelectionModel.SelectionFlag.Rows)

    def bulk_edit(self) -> None:
        rows = self.selected_rows()
        if not rows:
            self.ctx.sig_status.emit(QCoreApplication.translate("QueuePanel", "Select the tickets to change first"))
            return
        from itsmdesk.views.queue.bulk_dialog import BulkEditDialog

        dialog = BulkEditDialog(self.ctx, len(rows), self)
        if dialog.exec():
            self.apply_bulk(rows, dialog.changes())

    def apply_bulk(self, rows: list[queues.QueueRow], changes: dict[str, Any]) -> None:
        ids = [r.id for r in rows]
        versions = {r.id: r.version for r in rows}
        actor = self.ctx.actor
        now = self.model.now()

        def done(edit: queues.BulkEdit) -> None:
            self.last_bulk = edit
            self.ctx.sig_status.emit(QCoreApplication.translate("QueuePanel", "Changed {n} tickets (Ctrl+Shift+Z undoes)").format(n=len(ids)))

        self.ctx.write(queues.bulk_update, ids, changes, actor, versions, now, on_done=done,
                       on_error=lambda e: show_error(self, e), owner=self)

    def undo_bulk(self) -> None:
        edit = self.last_bulk
        if edit is None:
            self.ctx.sig_status.emit(QCoreApplication.translate("QueuePanel", "No bulk edit to undo"))
            return

        def done(n: int) -> None:
            self.last_bulk = None
            self.ctx.sig_status.emit(QCoreApplication.translate("QueuePanel", "Undid the bulk edit of {n} tickets").format(n=n))

        self.ctx.write(queues.undo_bulk, edit, self.ctx.actor, on_done=done,
                       on_error=lambda e: show_error(self, e), owner=self)

    def save_current_as(self, name: str | None = None, shared: bool = False) -> Any:
        """Keep what is shown (the queue's filters, the filter text, the sort, the columns) as a
        saved queue in the database, in one write; the panel shows the new queue once it is
        saved.  Returns the saved row when the write has already gone through (operations run
        inline in tests), else None."""
        spec = self.model.spec
        if spec is None:
            return None
        if name is None:
            from PySide6.QtWidgets import QInputDialog

            name, ok = QInputDialog.getText(self, QCoreApplication.translate("QueuePanel", "Save queue"), QCoreApplication.translate("QueuePanel", "Name of the new queue"))
            if not ok:
                return None
        filters = [list(f) for f in spec.filters]
        text = self.filter_edit.text().strip()
        if text:
            filters.append(["title", "contains", text])
        saved: dict[str, Any] = {}

        def done(row) -> None:  # noqa: ANN001 - the saved queue's row
            saved["row"] = row
            self.filter_edit.clear()
            self.refresh_queues(select=f"saved:{row.id}")

        self.ctx.write(queues.save_queue, name, filters, self.model.order, self.model.columns,
                       shared, self.ctx.actor, on_done=done,
                       on_error=lambda exc: show_error(self, exc), owner=self)
        return saved.get("row")

    def new_queue(self) -> Any:
        """The saved-queue editor on a new queue; shows the queue once saved."""
        return self._run_editor(None)

    def edit_queue(self, key: str | None = None) -> Any:
        """The saved-queue editor on a saved queue (the current one by default)."""
        key = key or self.current_key()
        spec = next((s for s in self.specs if s.key == key), None)
        if spec is None or spec.saved_id is None:
            self.ctx.sig_status.emit(QCoreApplication.translate("QueuePanel", "Only saved queues can be edited"))
            return None
        return self._run_editor(spec)

    def _run_editor(self, spec: queues.QueueSpec | None) -> Any:
        from itsmdesk.views.queue.queue_editor import QueueEditorDialog

        dialog = QueueEditorDialog(self.ctx, spec, self)
        if not dialog.exec() or dialog.saved_row is None:
            return None
        self.refresh_queues(select=f"saved:{dialog.saved_row.id}")
        return dialog.saved_row

    def _queue_menu(self, pos) -> None:  # noqa: ANN001
        from PySide6.QtWidgets import QMenu

        item = self.queue_list.itemAt(pos)
        key = item.data(Qt.ItemDataRole.UserRole) if item else None
        menu = QMenu(self)
        menu.addAction(QCoreApplication.translate("QueuePanel", "New queue…"), self.new_queue)
        if key and key.startswith("saved:"):
            menu.addAction(QCoreApplication.translate("QueuePanel", "Edit queue…"), lambda: self.edit_queue(key))
        menu.addAction(QCoreApplication.translate("QueuePanel", "Save queue as…"), lambda: self.save_current_as())
        menu.exec(self.queue_list.viewport().mapToGlobal(pos))

    def delete_current(self) -> bool:
        """Delete the saved queue shown (one write, version-checked); the list is read again
        once it is gone.  False when the queue shown is not a saved one."""
        spec = self.model.spec
        if spec is None or spec.saved_id is None:
            self.ctx.sig_status.emit(QCoreApplication.translate("QueuePanel", "Only saved queues can be deleted"))
            return False
        self.ctx.write(queues.delete_queue, spec.saved_id, spec.version, self.ctx.actor,
                       on_done=lambda _none: self.refresh_queues(),
                       on_error=lambda exc: show_error(self, exc), owner=self)
        return True

    def _focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()


def create_panel(ctx: AppContext, window) -> QWidget:  # noqa: ANN001
    return QueuePanel(ctx, window, getattr(window, "settings", None))


def menu_actions(ctx: AppContext, window) -> list[tuple[str, QAction]]:  # noqa: ANN001
    """The queue's Records menu entries.  Each finds the panel when chosen (``window.panel``
    builds it if it is still waiting), so the menus exist before any dock's panel does."""
    if not hasattr(window, "panel"):
        return []

    def on_panel(method: str) -> Callable[[], None]:
        def run() -> None:
            panel = window.panel("queuesDock")
            if panel is not None:
                getattr(panel, method)()
        return run

    out = []
    for text, shortcut, slot in (
            (QCoreApplication.translate("QueuePanel", "&New incident"), "Ctrl+N",
             lambda: ctx.open_record("incident", None)),
            (QCoreApplication.translate("QueuePanel", "New service &request"), "Ctrl+Shift+N",
             lambda: ctx.open_record("request", None)),
            (QCoreApplication.translate("QueuePanel", "&Bulk edit selected tickets…"), "Ctrl+E",
             on_panel("bulk_edit")),
            (QCoreApplication.translate("QueuePanel", "&Undo last bulk edit"), "Ctrl+Shift+Z",
             on_panel("undo_bulk")),
            (QCoreApplication.translate("QueuePanel", "Refresh &queues"), "F5",
             on_panel("refresh_queues")),
            (QCoreApplication.translate("QueuePanel", "&Save queue as…"), "Ctrl+Shift+Q",
             on_panel("save_current_as")),
            (QCoreApplication.translate("QueuePanel", "New &queue…"), "Ctrl+Alt+Q",
             on_panel("new_queue")),
            (QCoreApplication.translate("QueuePanel", "Edit saved &queue…"), "Ctrl+Alt+Shift+Q",
             on_panel("edit_queue")),
            (QCoreApplication.translate("QueuePanel", "&Delete saved queue"), "Ctrl+Shift+Delete",
             on_panel("delete_current")),
            (QCoreApplication.translate("QueuePanel", "Filter queue"), "Ctrl+F",
             on_panel("_focus_filter"))):
        action = QAction(text, window)
        action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        out.append(("Records", action))
    return out
