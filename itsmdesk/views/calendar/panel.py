"""The change calendar dock: month / week / day / timeline, filters, conflicts, drag to
reschedule (validated, journalled, undoable), export to .ics.

Reads run off the GUI thread (``change_calendar.load``); a reschedule is one write
(``changes.reschedule``) wrapped in a QUndoCommand so Ctrl+Z moves the change back.  The write's
Changes reach every panel (this one reads its range again when a change moved); a refused move
shows the reason and never reaches the undo stack.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.i18n import template_text
from itsmdesk.kinds import Kind
from itsmdesk.services.change import calendar as change_calendar
from itsmdesk.services.change.calendar import Filters
from itsmdesk.services.records import Changes
from itsmdesk.views.calendar.canvas import MODES, CalendarCanvas, local, range_for, to_utc
from itsmdesk.views.lazy import WhenShown
from itsmdesk.views.timefmt import date_text
from itsmdesk.words import word

STATUSES = ("draft", "submitted", "assessed", "awaiting_cab", "approved", "scheduled",
            "implementing", "implemented", "in_review", "closed", "rejected", "failed",
            "backed_out")


def _show_error(parent: QWidget, exc: BaseException) -> None:
    from itsmdesk.views import messages  # looked up at call time (tests replace it)

    messages.show_error(parent, exc)


class RescheduleCommand(QUndoCommand):
    """Move a change's planned window; undo moves it back.  The first redo is the write the
    panel already made (so a refused move never reaches the stack)."""

    def __init__(self, panel: CalendarPanel, change_id, ref: str, old: tuple, new: tuple,  # noqa: ANN001
                 version: int) -> None:
        super().__init__(QCoreApplication.translate("CalendarPanel", "Reschedule %s") % ref)
        self.panel, self.change_id = panel, change_id
        self.old, self.new = old, new
        self._state = {"version": version}  # plain Python: the writer thread updates it
        self._done = True

    @property
    def version(self) -> int:
        return self._state["version"]

    def _apply(self, window: tuple) -> None:
        """One write.  The version it checks is read when the write runs, and kept by the
        write itself: an undo followed at once by a redo queues two writes, and the second must
        expect the version the first leaves."""
        from itsmdesk.services.change.changes import reschedule

        actor, state, change_id = self.panel.ctx.actor, self._state, self.change_id

        def move() -> object:
            change = reschedule(change_id, state["version"], window[0], window[1], actor)
            state["version"] = change.version
            return change

        self.panel.ctx.write(move, on_error=lambda exc: _show_error(self.panel, exc),
                             owner=self.panel)

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)


class CalendarPanel(QWidget):
    sig_loaded = Signal(int)
    """(number of items) after the calendar has been filled for the current range."""

    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self._filters_filled = False
        self.lazy = WhenShown(self, self._reload_now)
        self.ctx = ctx
        self.setObjectName("calendarPanel")
        self.undo_stack = QUndoStack(self)
        self.canvas = CalendarCanvas(self)
        self.data = None

        self.mode_box = QComboBox()
        for mode, label in zip(MODES, (self.tr("Month"), self.tr("Week"), self.tr("Day"),
                                       self.tr("Timeline")), strict=True):
            self.mode_box.addItem(label, mode)
        self.rows_box = QComboBox()
        self.rows_box.addItem(self.tr("Rows per CI"), "ci")
        self.rows_box.addItem(self.tr("Rows per service"), "service")
        self.team_box = QComboBox()
        self.service_box = QComboBox()
        self.status_box = QComboBox()
        self.status_box.addItem(self.tr("All statuses"), None)
        for status in STATUSES:
            self.status_box.addItem(word(status), status)
        self.title = QLabel()
        self.title.setObjectName("calendarTitle")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)

        def button(text: str, tip: str, slot, shortcut: str = "") -> QToolButton:  # noqa: ANN001
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip + (f" ({shortcut})" if shortcut else ""))
            if shortcut:
                b.setShortcut(QKeySequence(shortcut))
            b.clicked.connect(slot)
            return b

        self.prev_btn = button("◀", self.tr("Previous"), lambda: self.step(-1), "Alt+Left")
        self.today_btn = button(self.tr("Today"), self.tr("Go to today"), self.go_today, "Alt+Home")
        self.next_btn = button("▶", self.tr("Next"), lambda: self.step(1), "Alt+Right")
        self.undo_btn = button(self.tr("Undo"), self.tr("Undo the last reschedule"),
                               self.undo_stack.undo)
        self.redo_btn = button(self.tr("Redo"), self.tr("Redo"), self.undo_stack.redo)
        self.undo_stack.canUndoChanged.connect(self.undo_btn.setEnabled)
        self.undo_stack.canRedoChanged.connect(self.redo_btn.setEnabled)
        self.undo_btn.setEnabled(False)
        self.redo_btn.setEnabled(False)
        self.export_btn = button(self.tr("Export .ics…"), self.tr("Export this range as iCalendar"),
                                 self.export_ics)

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 4, 4, 0)
        for w in (self.prev_btn, self.today_btn, self.next_btn, self.title):
            bar.addWidget(w)
        bar.addStretch(1)
        for w in (self.mode_box, self.rows_box, self.team_box, self.service_box, self.status_box,
                  self.undo_btn, self.redo_btn, self.export_btn):
            bar.addWidget(w)

        self.conflicts = QListWidget()
        self.conflicts.setObjectName("calendarConflicts")
        self.conflicts.setWordWrap(True)
        self.conflicts.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.conflicts.itemActivated.connect(self._conflict_activated)
        self.conflicts.itemClicked.connect(self._conflict_activated)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        self.conflicts_label = QLabel(self.tr("Conflicts"))
        side_layout.addWidget(self.conflicts_label)
        side_layout.addWidget(self.conflicts)
        # what was compared, and the length a change without an end counts as (a setting)
        self.compared_label = QLabel()
        self.compared_label.setObjectName("calendarCompared")
        self.compared_label.setWordWrap(True)
        side_layout.addWidget(self.compared_label)
        stretch_row = QHBoxLayout()
        stretch_label = QLabel(self.tr("No end counts as"))
        stretch_label.setWordWrap(True)
        self.stretch_box = QSpinBox()
        self.stretch_box.setObjectName("calendarStretch")
        self.stretch_box.setRange(0, 7 * 24 * 60)
        self.stretch_box.setSingleStep(15)
        self.stretch_box.setSuffix(self.tr(" min"))
        self.stretch_box.setKeyboardTracking(False)
        self.stretch_box.setToolTip(self.tr(
            "How long a change without an end (or ending at its start) counts when conflicts "
            "are checked; 0 leaves it an instant that overlaps nothing. Applies to everyone."))
        stretch_label.setBuddy(self.stretch_box)
        stretch_row.addWidget(stretch_label, 1)
        stretch_row.addWidget(self.stretch_box)
        side_layout.addLayout(stretch_row)
        self.stretch_box.editingFinished.connect(self._stretch_edited)
        legend = QLabel(self.tr("Fill: status · left stripe: risk · red outline: conflict · "
                                "red shade: blackout · green: maintenance window"))
        legend.setWordWrap(True)
        legend.setStyleSheet("color: palette(mid); font-size: 8pt")
        side_layout.addWidget(legend)

        # the timeline grows with its rows and scrolls; the other views fill the space
        self.scroll = QScrollArea()
        self.scroll.setObjectName("calendarScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setWidget(self.canvas)
        self.scroll.setMinimumSize(self.canvas.minimumWidth(), 300)  # as the calendar was
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.scroll)
        split.addWidget(side)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([800, 220])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(split, 1)

        self.canvas.sig_reschedule.connect(self.reschedule)
        self.canvas.sig_activated.connect(self._open)
        self.canvas.sig_day_requested.connect(lambda day: self.set_anchor(day, "day"))
        for box in (self.mode_box, self.rows_box, self.team_box, self.service_box,
                    self.status_box):
            box.currentIndexChanged.connect(self.reload)
        ctx.sig_changes.connect(self._records_changed)
        self.team_box.addItem(self.tr("All teams"), None)
        self.service_box.addItem(self.tr("All services"), None)
        self.reload()

    # -- loading ---------------------------------------------------------------------------------
    def _fill_filters(self, choices: tuple[list, list]) -> None:
        teams, services = choices
        self.team_box.blockSignals(True)
        self.service_box.blockSignals(True)
        try:
            for tid, name in teams:
                self.team_box.addItem(name, tid)
            for sid, name in services:
                self.service_box.addItem(name, sid)
        finally:
            self.team_box.blockSignals(False)
            self.service_box.blockSignals(False)

    def filters(self) -> Filters:
        return Filters(team_id=self.team_box.currentData(), service_id=self.service_box.currentData(),
                       status=self.status_box.currentData())

    def utc_range(self) -> tuple[dt.datetime, dt.datetime]:
        first, last = range_for(self.mode(), self.canvas.anchor)
        return (to_utc(dt.datetime.combine(first, dt.time())),
                to_utc(dt.datetime.combine(last, dt.time())))

    def mode(self) -> str:
        return self.mode_box.currentData()

    def reload(self, *_args) -> None:  # noqa: ANN002
        """Read the shown range again (now if the calendar can be seen, else when it is)."""
        self.lazy.request()

    def _reload_now(self) -> None:
        if not self._filters_filled:
            self._filters_filled = True
            self.ctx.query(lambda: (change_calendar.teams(), change_calendar.business_services()),
                           on_done=self._fill_filters, owner=self)
        self.canvas.mode = self.mode()
        self.canvas.timeline_rows = self.rows_box.currentData()
        self.rows_box.setVisible(self.mode() == "timeline")
        start, end = self.utc_range()
        first, last = range_for(self.mode(), self.canvas.anchor)
        if self.mode() == "month":
            self.title.setText(date_text(self.canvas.anchor, "MMMM yyyy"))
        elif self.mode() == "day":
            self.title.setText(date_text(first, "dddd d MMMM yyyy"))
        else:
            self.title.setText(f"{date_text(first, 'd MMM')} – "
                               f"{date_text(last - dt.timedelta(days=1), 'd MMM yyyy')}")
        self.ctx.query(change_calendar.load, start, end, self.filters(), on_done=self._loaded,
                       key=f"calendar-{id(self)}", owner=self)

    def _loaded(self, data) -> None:  # noqa: ANN001
        self.data = data
        self.canvas.set_data(data, self.mode())
        self.conflicts.clear()
        for c in data.conflicts:
            when = local(c.start)
            item = QListWidgetItem(f"{date_text(when.date(), 'd MMM')} {when:%H:%M}  "
                                   f"{template_text(c.template, c.params)}")
            item.setData(Qt.ItemDataRole.UserRole, c.change_id)
            item.setToolTip(template_text(c.template, c.params))
            self.conflicts.addItem(item)
        self.conflicts_label.setText(self.tr("Conflicts (%n)", "", len(data.conflicts)))
        self.compared_label.setText(
            self.tr("Compared: the %n change(s) in this range still on the calendar (draft to "
                    "implementing).", "", data.compared) + " "
            + self.tr("%1 of %2 conflicting pair(s) involve a change without an end.")
            .replace("%1", str(data.stretched_pairs)).replace("%2", str(data.pairs)))
        self.stretch_box.blockSignals(True)
        self.stretch_box.setValue(data.stretch_minutes)
        self.stretch_box.blockSignals(False)
        self.sig_loaded.emit(len(data.items))

    def _stretch_edited(self) -> None:
        """Store the new stretch (a journalled setting); the calendar reads its range again."""
        from itsmdesk.services.change.conflicts import set_stretch_minutes

        value = self.stretch_box.value()
        if self.data is not None and value == self.data.stretch_minutes:
            return

        def refused(exc: BaseException) -> None:
            _show_error(self, exc)
            self.reload()

        self.ctx.write(set_stretch_minutes, value, self.ctx.actor,
                       on_done=lambda _v: self.reload(), on_error=refused, owner=self)

    def _records_changed(self, changes: Changes) -> None:
        if changes.touches(Kind.CHANGE, Kind.WINDOW, Kind.RELEASE):
            self.reload()

    # -- navigation ------------------------------------------------------------------------------
    def set_anchor(self, day: dt.date, mode: str | None = None) -> None:
        self.canvas.anchor = day
        if mode:
            self.mode_box.blockSignals(True)
            self.mode_box.setCurrentIndex(MODES.index(mode))
            self.mode_box.blockSignals(False)
        self.reload()

    def step(self, direction: int) -> None:
        a = self.canvas.anchor
        mode = self.mode()
        if mode == "month":
            month = a.month - 1 + direction
            a = dt.date(a.year + month // 12, month % 12 + 1, 1)
        else:
            a = a + dt.timedelta(days={"week": 7, "day": 1, "timeline": 14}[mode] * direction)
        self.set_anchor(a)

    def go_today(self) -> None:
        self.set_anchor(dt.date.today())

    # -- actions ---------------------------------------------------------------------------------
    def reschedule(self, item, new_local_start: dt.datetime) -> None:  # noqa: ANN001
        """Validate and apply a move (one write); once it went through it is pushed on the
        undo stack.  A refused move shows the reason and the calendar is read again (the item
        goes back where it was)."""
        from itsmdesk.services.change.changes import reschedule

        length = item.end - item.start
        new_start = to_utc(new_local_start)
        old = (item.start, item.end)
        new = (new_start, new_start + length)
        moved = self.tr("%s moved to %s") % (item.ref, f"{new_local_start:%Y-%m-%d %H:%M}")

        def done(change) -> None:  # noqa: ANN001 - the moved Change
            self.undo_stack.push(RescheduleCommand(self, item.id, item.ref, old, new,
                                                   change.version))
            self.ctx.sig_status.emit(moved)

        def refused(exc: BaseException) -> None:
            _show_error(self, exc)
            self.reload()

        # the write's Changes name the change: _records_changed reads the range again
        self.ctx.write(reschedule, item.id, item.version, new[0], new[1], self.ctx.actor,
                       on_done=done, on_error=refused, owner=self)

    def _open(self, item) -> None:  # noqa: ANN001
        self.ctx.open_record("change" if item.kind == "change" else "release", item.id)

    def _conflict_activated(self, list_item: QListWidgetItem) -> None:
        self.canvas.selected_id = list_item.data(Qt.ItemDataRole.UserRole)
        self.canvas.update()

    def export_ics(self, path: str | None = None) -> int | None:
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, self.tr("Export change calendar"),
                                                  "changes.ics", self.tr("iCalendar (*.ics)"))
            if not path:
                return None
        from itsmdesk.reports.ical import export

        start, end = self.utc_range()
        result: dict = {}
        self.ctx.query(export, start, end, path,
                       on_done=lambda n: (result.setdefault("n", n),
                                          self.ctx.sig_status.emit(
                                              self.tr("%s written (%s changes)")
                                              % (path, n))), owner=self)
        return result.get("n")


def create_panel(ctx, window) -> QWidget:  # noqa: ANN001
    return CalendarPanel(ctx, window)


def menu_actions(ctx, window) -> list[tuple[str, QAction]]:  # noqa: ANN001
    action = QAction(QCoreApplication.translate("CalendarPanel", "Export change calendar (.ics)…"), window)
    action.setShortcut(QKeySequence("Ctrl+Shift+I"))

    def run() -> None:
        panel = window.findChild(CalendarPanel) if hasattr(window, "findChild") else None
        if panel is not None:
            panel.export_ics()

    action.triggered.connect(run)
    return [("File", action)]
