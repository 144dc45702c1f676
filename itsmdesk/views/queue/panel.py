"""The ticket queues dock: queue list with counts, a filter box, the queue table, bulk edit.

Signals (Spyder style):
- ``sig_queue_changed(str)``: the queue key now shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSplitter,
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
from itsmdesk.views.queue.model import QueueModel


def tr(text: str) -> str:
    return QCoreApplication.translate("QueuePanel", text)


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

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("queuePanel")
        self.specs: list[queues.QueueSpec] = []
        self.last_bulk: queues.BulkEdit | None = None
        self.model = QueueModel(ctx, self)

        self.queue_list = QListWidget()
        self.queue_list.setObjectName("queueList")
        self.queue_list.setMinimumWidth(110)
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
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.horizontalHeader().setHighlightSections(False)
        self.table.horizontalHeader().setSortIndicatorShown(True)
        self.table.activated.connect(self._open_index)
        self.table.doubleClicked.connect(self._open_index)
        self.model.modelReset.connect(self._size_columns)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.count_label)
        top.addWidget(self.bulk_button)
        top.addWidget(self.new_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(4)
        right_layout.addLayout(top)
        right_layout.addWidget(self.table, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.queue_list)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([150, 600])
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

        self.model.sig_count_changed.connect(self._show_count)
        self.model.sig_about_to_refresh.connect(self._keep_selection)
        self.model.sig_refreshed.connect(self._restore_selection)
        self._kept: tuple[list[Any], Any, int] = ([], None, 0)
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

        def work():
            specs = queues.queues_for(person)
            return specs, queues.counts(specs, person, self.model.now())

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
        self.queue_list.blockSignals(False)
        self._fit_queue_list()
        self.queue_list.setCurrentRow(select)
        # (re)load unless the model already shows exactly this queue (a saved queue edited
        # since has a new spec)
        self._queue_selected(select, load=self.model.spec != specs[select])

    def _entry_text(self, spec: queues.QueueSpec, counts: dict[str, int]) -> str:
        """"All open  (11,947)": the count grouped the way the user's locale writes numbers."""
        return f"{self.queue_name(spec)}  ({grouped(counts.get(spec.key, 0))})"

    def _fit_queue_list(self) -> None:
        """Wide enough for the longest queue name and count (up to a limit), so none is cut."""
        needed = self.queue_list.sizeHintForColumn(0) + 2 * self.queue_list.frameWidth() + 12
        self.queue_list.setMinimumWidth(max(110, min(needed, 240)))

    def _update_counts(self) -> None:
        person = self.ctx.actor.person_id
        specs = list(self.specs)
        self.ctx.query(lambda: queues.counts(specs, person, self.model.now()),
                       on_done=self._show_counts, key=f"queue-counts-{id(self)}", owner=self)

    def _show_counts(self, counts: dict[str, int]) -> None:
        for i in range(self.queue_list.count()):
            item = self.queue_list.item(i)
            spec = self.specs[i]
            item.setText(self._entry_text(spec, counts))
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
        self.sig_queue_changed.emit(spec.key)

    def _show_count(self, total: int) -> None:
        self.count_label.setText(QCoreApplication.translate("QueuePanel", "{n} tickets").format(n=grouped(total)))

    def _size_columns(self) -> None:
        header = self.table.horizontalHeader()
        widths = {"ref": 88, "priority": 50, "status": 80, "sla_state": 90, "resolution_due": 70,
                  "team": 120, "assignee": 120, "opened_at": 118, "caller": 120, "category": 110,
                  "ci": 120, "updated_at": 118, "resolved_at": 118}
        for i, name in enumerate(self.model.columns):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.Interactive)
            self.table.setColumnWidth(i, 190 if name == "title" else widths.get(name, 100))
        header.setStretchLastSection(True)

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
    return QueuePanel(ctx, window)


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
