"""The Conflicts dock: values a sync did not take because the hub had changed the same field,
for a person to decide.

The list (record, field, the hub's value, the replica's, who and when, site, reason) is read off
the GUI thread (``services.sync.decide.conflicts``); the detail pane shows both values side by
side in full; "Keep hub's value" / "Take replica's value" run ``decide.decide`` on the writer
thread, whose Changes (the record) refresh every Conflicts dock.  The list is read again after a
sync from this window (its Changes name the kind ``replica``), when a record in the list changes
(a decision made elsewhere arrives with the change feed), and with Refresh.

The dock starts hidden (bottom area) and shows itself when the database is a replica or has
open conflicts, so a normal screen is not cluttered.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services.records import Changes
from itsmdesk.services.sync import decide
from itsmdesk.services.sync.overview import Overview, overview
from itsmdesk.views.fit_columns import fit_columns
from itsmdesk.views.lazy import WhenShown
from itsmdesk.views.messages import show_error
from itsmdesk.views.timefmt import local_text
from itsmdesk.words import field_label

DOCK = "conflictsDock"
SYNC_KIND = "replica"  # a sync from this window broadcasts this kind (views/conflicts/sync_dialog)
PAGE = 200


CONTEXT = "ConflictsPanel"
# the reasons a sync journals (English data), shown in the reader's language
REASONS = (QT_TRANSLATE_NOOP("ConflictsPanel", "changed on both sides"),
           QT_TRANSLATE_NOOP("ConflictsPanel", "deleted on the hub"),
           QT_TRANSLATE_NOOP("ConflictsPanel", "edited on the hub"))


NOT_PERMITTED = "not permitted: "  # (services/sync/ops.py: "not permitted: <action>")


def reason_text(reason: str) -> str:
    """The journalled reason in the reader's language; a refused action (``not permitted:
    ticket.work``) is said as what the author may not do ("may not work on tickets")."""
    if reason.startswith(NOT_PERMITTED):
        from itsmdesk.services.permissions import describe

        what = QCoreApplication.translate("errors", describe(reason[len(NOT_PERMITTED):]))
        return QCoreApplication.translate("ConflictsPanel",
                                          "the author may not {what}").format(what=what)
    return QCoreApplication.translate(CONTEXT, reason) if reason in REASONS else reason


def field_text(c: decide.Conflict) -> str:
    """The conflict's field for people: ``work_log › text`` for a child row's field."""
    if c.is_delete:
        return QCoreApplication.translate("ConflictsPanel", "(the record deleted)")
    if c.child_table and "~" in c.field and not c.field.endswith("~"):
        return f"{field_label(c.child_table)} › {field_label(c.field_name)}"
    if c.child_table:  # a child row added or removed (``work_log+``)
        return field_label(c.child_table)
    return field_label(c.field)


def value_text(c: decide.Conflict, side: str) -> str:
    if c.is_delete:
        if side == "hub":
            return QCoreApplication.translate("ConflictsPanel", "the record, as the hub has it")
        return QCoreApplication.translate("ConflictsPanel", "delete the record")
    value = c.hub if side == "hub" else c.replica
    if value in (None, ""):
        return QCoreApplication.translate("ConflictsPanel", "(empty)")
    return str(value)


def _one_line(text: str, limit: int = 80) -> str:
    line = " ⏎ ".join(text.splitlines())
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _when(text: str | None) -> str:
    import datetime as dt

    if not text:
        return ""
    try:
        return local_text(dt.datetime.fromisoformat(text))
    except ValueError:
        return text


class ConflictsPanel(QWidget):
    COLUMNS = ("record", "field", "hub", "replica", "who", "site", "reason")

    def __init__(self, ctx, window=None) -> None:  # noqa: ANN001
        super().__init__(window)
        self.ctx = ctx
        self.window_ = window
        self.setObjectName("conflictsPanel")
        self.items: list[decide.Conflict] = []
        self.overview: Overview | None = None
        self.lazy = WhenShown(self, self._refresh_now)
        self._debounce = QTimer(self, singleShot=True, interval=300)
        self._debounce.timeout.connect(self.refresh)

        self.summary = QLabel()
        self.summary.setObjectName("conflictsSummary")
        self.show_decided = QCheckBox(self.tr("Show decided"))
        self.show_decided.setObjectName("showDecided")
        self.show_decided.toggled.connect(lambda _on: self.refresh())
        refresh = QToolButton()
        refresh.setText(self.tr("Refresh"))
        refresh.setToolTip(self.tr("Read the conflicts again"))
        refresh.clicked.connect(self.refresh)
        self.sync_button = QToolButton()
        self.sync_button.setObjectName("syncButton")
        self.sync_button.setText(self.tr("Sync with hub…"))
        self.sync_button.clicked.connect(lambda: open_sync_dialog(self.ctx, self.window()))
        self.sync_button.hide()
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.show_decided)
        top.addWidget(refresh)
        top.addWidget(self.sync_button)

        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("conflictsTable")
        self.table.setHorizontalHeaderLabels([
            self.tr("Record"), self.tr("Field"), self.tr("Hub's value"), self.tr("Replica's value"),
            self.tr("Who and when"), self.tr("Site"), self.tr("Reason")])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        # the values share what the short columns leave (they elide first; the tooltip and the
        # detail pane have them whole): who, when and the reason stay readable at 1400 px
        fit_columns(self.table, 2, fixed=(0, 1, 4, 5, 6))
        self.table.itemSelectionChanged.connect(self._selected)
        self.table.itemDoubleClicked.connect(lambda _item: self.open_current_record())

        self.detail = QWidget()
        self.detail.setObjectName("conflictDetail")
        self.heading = QLabel()
        self.heading.setObjectName("conflictHeading")
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.hub_title = QLabel(self.tr("Hub's value (kept)"))
        self.replica_title = QLabel(self.tr("Replica's value (not taken)"))
        self.hub_text = QPlainTextEdit()
        self.hub_text.setObjectName("hubValue")
        self.replica_text = QPlainTextEdit()
        self.replica_text.setObjectName("replicaValue")
        for edit in (self.hub_text, self.replica_text):
            edit.setReadOnly(True)
            edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.keep_button = QPushButton(self.tr("Keep hub's value"))
        self.keep_button.setObjectName("keepHub")
        self.keep_button.clicked.connect(lambda: self.decide_current("hub"))
        self.take_button = QPushButton(self.tr("Take replica's value"))
        self.take_button.setObjectName("takeReplica")
        self.take_button.clicked.connect(lambda: self.decide_current("replica"))
        self.open_button = QToolButton()
        self.open_button.setText(self.tr("Open record"))
        self.open_button.clicked.connect(self.open_current_record)
        grid = QGridLayout()
        grid.addWidget(self.hub_title, 0, 0)
        grid.addWidget(self.replica_title, 0, 1)
        grid.addWidget(self.hub_text, 1, 0)
        grid.addWidget(self.replica_text, 1, 1)
        grid.addWidget(self.keep_button, 2, 0)
        grid.addWidget(self.take_button, 2, 1)
        grid.setRowStretch(1, 1)
        detail_layout = QVBoxLayout(self.detail)
        detail_layout.setContentsMargins(6, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.heading, 1)
        head.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignTop)
        detail_layout.addLayout(head)
        detail_layout.addLayout(grid, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([860, 440])  # (the list's columns fit at 1400 px)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        self._show_detail(None)

        ctx.sig_changes.connect(self._changed)
        self.refresh()
        self.ctx.query(overview, on_done=self._overview, on_error=lambda _e: None,
                       key=f"conflicts-overview-{id(self)}", owner=self)

    # -- reading -----------------------------------------------------------------------------
    def refresh(self) -> None:
        self.lazy.request()

    def _refresh_now(self) -> None:
        self.ctx.query(decide.conflicts, PAGE, None, self.show_decided.isChecked(),
                       on_done=self.show_page, key=f"conflicts-{id(self)}", owner=self)

    def _overview(self, found: Overview) -> None:
        self.overview = found
        self.sync_button.setVisible(found.is_replica)
        self.apply_visibility()

    def apply_visibility(self) -> None:
        """Show the dock when the database is a replica or has conflicts to decide (called
        again by the main window once it has laid out its docks)."""
        window = self.window_
        found = self.overview
        if found is None or window is None or not getattr(window, "_arranged", False):
            return
        dock = getattr(window, "docks", {}).get(DOCK)
        if dock is not None and (found.is_replica or found.open_conflicts) and \
                not dock.isVisible():
            dock.show()
            dock.raise_()

    def show_page(self, page: decide.Page) -> None:
        keep = self.current()
        self.items = list(page.items)
        self.table.setRowCount(len(self.items))
        for row, c in enumerate(self.items):
            cells = (c.ref or c.kind, field_text(c), _one_line(value_text(c, "hub")),
                     _one_line(value_text(c, "replica")),
                     f"{c.who_name or '?'} · {_when(c.at)}", c.site, reason_text(c.reason))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column in (2, 3):
                    item.setToolTip(value_text(c, "hub" if column == 2 else "replica"))
                elif column in (1, 6):
                    item.setToolTip(text)
                if c.decision is not None:
                    item.setForeground(Qt.GlobalColor.gray)
                self.table.setItem(row, column, item)
        n_open = sum(1 for c in self.items if c.decision is None)
        more = "+" if page.next_before is not None else ""
        self.summary.setText(self.tr("{n}{more} open conflict(s) to decide").format(
            n=n_open, more=more) if n_open else self.tr("No open conflicts."))
        index = next((i for i, c in enumerate(self.items)
                      if keep is not None and c.key == keep.key), 0 if self.items else -1)
        if index >= 0:
            self.table.selectRow(index)
        else:
            self._show_detail(None)

    def current(self) -> decide.Conflict | None:
        row = self.table.currentRow()
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if rows:
            row = rows[0].row()
        return self.items[row] if 0 <= row < len(self.items) else None

    def _selected(self) -> None:
        self._show_detail(self.current())

    def _show_detail(self, c: decide.Conflict | None) -> None:
        if c is None:
            self.heading.setText(self.tr("Select a conflict to see both values."))
            self.hub_text.setPlainText("")
            self.replica_text.setPlainText("")
            for button in (self.keep_button, self.take_button, self.open_button):
                button.setEnabled(False)
            return
        heading = self.tr("{record} · {field} · {reason}\nMade at {site} by {who}, {when}"
                     ).format(record=c.ref or c.kind, field=field_text(c),
                              reason=reason_text(c.reason), who=c.who_name or "?", site=c.site,
                              when=_when(c.at))
        if c.decision is not None:
            what = (self.tr("kept the hub's value") if c.decision.take == "hub"
                    else self.tr("took the replica's value"))
            heading += "\n" + self.tr("Decided: {what} ({who}, {when})").format(
                what=what, who=c.decision.who_name or "?", when=_when(c.decision.at))
        self.heading.setText(heading)
        self.hub_text.setPlainText(value_text(c, "hub"))
        self.replica_text.setPlainText(value_text(c, "replica"))
        open_ = c.decision is None
        self.keep_button.setEnabled(open_)
        self.take_button.setEnabled(open_ and c.replica_decidable)
        self.take_button.setToolTip("" if c.replica_decidable else self.tr(
            "The hub deleted what the replica changed: only the hub's side can be kept."))
        self.open_button.setEnabled(c.kind in _FORM_KINDS)

    # -- deciding ----------------------------------------------------------------------------
    def decide_current(self, take: str) -> None:
        c = self.current()
        if c is None or c.decision is not None:
            return
        for button in (self.keep_button, self.take_button):
            button.setEnabled(False)

        def done(_result: Any) -> None:
            self.ctx.sig_status.emit(self.tr("Conflict on {record} decided").format(
                record=c.ref or c.kind))
            self.refresh()

        def failed(error: BaseException) -> None:
            show_error(self.window(), error)
            self.refresh()

        self.ctx.write(decide.decide, c.journal_id, take, self.ctx.actor, on_done=done,
                       on_error=failed, on_conflict=failed, owner=self,
                       label=self.tr("Deciding a conflict"))

    def open_current_record(self) -> None:
        c = self.current()
        if c is not None and c.kind in _FORM_KINDS:
            self.ctx.open_record(c.kind, c.record_id)

    def _changed(self, changes: Changes) -> None:
        if changes.touches(SYNC_KIND):
            self.ctx.query(overview, on_done=self._overview, on_error=lambda _e: None,
                           key=f"conflicts-overview-{id(self)}", owner=self)
            self.lazy.request_later(self._debounce)
            return
        shown = {(c.kind, c.record_id) for c in self.items}
        for kind in changes.kinds():
            if changes.is_wholesale(kind) and any(k == kind for k, _id in shown):
                self.lazy.request_later(self._debounce)
                return
            if any((kind, i) in shown for i in changes.ids(kind)):
                self.lazy.request_later(self._debounce)
                return


_FORM_KINDS = ("incident", "problem", "known_error", "change", "cab_meeting", "release", "ci",
               "article")


def open_sync_dialog(ctx, parent) -> Any:  # noqa: ANN001, ANN401 - a SyncDialog
    from itsmdesk.views.conflicts.sync_dialog import SyncDialog

    dialog = SyncDialog(ctx, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    dialog.start()
    return dialog


def create_panel(ctx, window) -> QWidget:  # noqa: ANN001
    return ConflictsPanel(ctx, window)


def menu_actions(ctx, window) -> list[tuple[str, QAction]]:  # noqa: ANN001
    """File > Sync with hub… (Ctrl+Shift+Y), shown only when the database is a replica."""
    action = QAction(QCoreApplication.translate("ConflictsPanel", "&Sync with hub…"), window)
    action.setObjectName("syncWithHub")
    action.setShortcut(QKeySequence("Ctrl+Shift+Y"))
    action.setVisible(False)
    action.triggered.connect(lambda: open_sync_dialog(ctx, window))
    window.sync_action = action

    def found(state: Overview) -> None:
        action.setVisible(state.is_replica)

    ctx.query(overview, False, on_done=found, on_error=lambda _e: None, owner=window)
    return [("File", action)]
