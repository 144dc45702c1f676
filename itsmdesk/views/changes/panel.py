"""Changes and CAB dock: the change list (paged, searchable) and CAB meetings; menu actions for
a new change, a new CAB meeting, and the CAB pack and minutes (saved, then print preview)."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.kinds import Kind
from itsmdesk.services.records import Changes
from itsmdesk.views.calendar.canvas import local
from itsmdesk.views.lazy import WhenShown
from itsmdesk.words import word

PAGE = 200
TITLE_COLUMN, MEETING_TITLE_COLUMN = 5, 3


def _t(text: str) -> str:
    return QCoreApplication.translate("ChangesPanel", text)


def _table(headers: list[str], stretch: int | None = None) -> QTableWidget:
    """A read-only list: one line per row; every column sized to its contents except
    ``stretch`` (the title), which takes the room left and elides what does not fit (its
    tooltip has it whole)."""
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setWordWrap(False)
    t.setTextElideMode(Qt.TextElideMode.ElideRight)
    t.verticalHeader().setVisible(False)
    rows = t.verticalHeader()
    rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    rows.setDefaultSectionSize(t.fontMetrics().height() + 10)
    header = t.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    if stretch is None:
        header.setStretchLastSection(True)
    else:
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return t


class ChangesPanel(QWidget):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.lazy = WhenShown(self, self._reload_now)
        self.ctx = ctx
        self.setObjectName("changesPanel")
        self.search = QLineEdit()
        self.search.setPlaceholderText(self.tr("Search reference or title"))
        self.status = QComboBox()
        self.status.addItem(self.tr("All statuses"), None)
        from itsmdesk.views.calendar.panel import STATUSES

        for s in STATUSES:
            self.status.addItem(word(s), s)
        self.more_btn = QPushButton(self.tr("More"))
        self.more_btn.clicked.connect(self.load_more)
        self.changes = _table([self.tr("Ref"), self.tr("Status"), self.tr("Type"),
                               self.tr("Risk"), self.tr("Planned start"), self.tr("Title")],
                              stretch=TITLE_COLUMN)
        self.changes.setObjectName("changeList")
        self.meetings = _table([self.tr("Ref"), self.tr("Date"), self.tr("Status"),
                                self.tr("Title")], stretch=MEETING_TITLE_COLUMN)
        self.meetings.setObjectName("cabMeetingList")
        self.changes.itemActivated.connect(lambda item: self._open(self.changes, "change", item))
        self.changes.itemDoubleClicked.connect(lambda item: self._open(self.changes, "change",
                                                                       item))
        self.meetings.itemActivated.connect(lambda item: self._open(self.meetings, "cab_meeting",
                                                                    item))
        self.meetings.itemDoubleClicked.connect(
            lambda item: self._open(self.meetings, "cab_meeting", item))
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(self.status)
        row.addWidget(self.more_btn)
        tl.addLayout(row)
        tl.addWidget(self.changes)
        self.tabs = QTabWidget()
        self.tabs.addTab(top, self.tr("Changes"))
        self.tabs.addTab(self.meetings, self.tr("CAB meetings"))
        self.tabs.addTab(self._success_tab(), self.tr("Success rate"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.search.textChanged.connect(self.reload)
        self.status.currentIndexChanged.connect(self.reload)
        ctx.sig_changes.connect(self._records_changed)
        self._last_ref = None
        self.reload()

    def _success_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.success_by = QComboBox()
        for key, label in (("month", self.tr("By month")), ("type", self.tr("By type")),
                           ("team", self.tr("By team"))):
            self.success_by.addItem(label, key)
        self.success_by.currentIndexChanged.connect(self.reload_success)
        export = QPushButton(self.tr("Export CSV…"))
        export.clicked.connect(lambda: self.export_success())
        row.addWidget(self.success_by)
        row.addStretch(1)
        row.addWidget(export)
        layout.addLayout(row)
        self.success = _table([self.tr("Group"), self.tr("Finished"), self.tr("Successful"),
                               self.tr("Failed / backed out"), self.tr("Incidents caused"),
                               self.tr("Success rate")])
        self.success.setObjectName("successRate")
        layout.addWidget(self.success)
        return tab

    def reload_success(self, *_args) -> None:  # noqa: ANN002
        from itsmdesk.services.change.success import success_rate

        self.ctx.query(success_rate, self.success_by.currentData(),
                       on_done=self._show_success, key="change-success", owner=self)

    def _show_success(self, rows) -> None:  # noqa: ANN001
        self.success_rows = rows
        self.success.setRowCount(0)
        for r in rows:
            n = self.success.rowCount()
            self.success.insertRow(n)
            for col, value in enumerate((r.key, r.finished, r.successful, r.failed,
                                         r.caused_incidents, f"{r.rate * 100:.1f} %")):
                item = QTableWidgetItem(str(value))
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.success.setItem(n, col, item)

    def export_success(self, path: str | None = None) -> str | None:
        from PySide6.QtWidgets import QFileDialog

        from itsmdesk.services import csv_safe

        if not path:
            path, _ = QFileDialog.getSaveFileName(self, self.tr("Export success rate"),
                                                  "change-success.csv", self.tr("CSV (*.csv)"))
            if not path:
                return None
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv_safe.writer(fh)
            writer.writerow(["group", "finished", "successful", "failed", "caused_incidents",
                             "rate"])
            for r in getattr(self, "success_rows", []):
                writer.writerow([r.key, r.finished, r.successful, r.failed, r.caused_incidents,
                                 r.rate])
        return path

    def reload(self, *_args) -> None:  # noqa: ANN002
        """Read the lists again now if the dock can be seen, else when it is next shown."""
        self.lazy.request()

    def _reload_now(self) -> None:
        from itsmdesk.services.change import cab
        from itsmdesk.services.change.changes import page_changes

        self.changes.setRowCount(0)
        self._last_ref = None
        self.ctx.query(page_changes, self.search.text().strip(),
                       self.status.currentData(), None, PAGE,
                       on_done=self._add_changes, key="changes-list", owner=self)
        self.ctx.query(cab.meetings, 200, on_done=self._show_meetings, key="cab-list", owner=self)
        self.reload_success()

    def load_more(self) -> None:
        from itsmdesk.services.change.changes import page_changes

        if self._last_ref:
            self.ctx.query(page_changes, self.search.text().strip(),
                           self.status.currentData(), self._last_ref, PAGE,
                           on_done=self._add_changes, key="changes-list", owner=self)

    def _add_changes(self, rows) -> None:  # noqa: ANN001
        for c in rows:
            r = self.changes.rowCount()
            self.changes.insertRow(r)
            level = c.risk_override or c.risk_level  # the stored risk, as everywhere
            values = (c.ref, word(c.status), word(c.type), word(level) if level else "—",
                      f"{local(c.planned_start):%Y-%m-%d %H:%M}" if c.planned_start else "",
                      c.title)
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, c.id)
                if col == TITLE_COLUMN:
                    item.setToolTip(value)
                elif col == 3 and not level:
                    item.setToolTip(word("not_assessed"))
                self.changes.setItem(r, col, item)
        if rows:
            self._last_ref = rows[-1].ref
        self.more_btn.setEnabled(len(rows) == PAGE)

    def _show_meetings(self, rows) -> None:  # noqa: ANN001
        self.meetings.setRowCount(0)
        for m in rows:
            r = self.meetings.rowCount()
            self.meetings.insertRow(r)
            for col, value in enumerate((m.ref, f"{local(m.starts_at):%Y-%m-%d %H:%M}",
                                         word(m.status), m.title)):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, m.id)
                if col == MEETING_TITLE_COLUMN:
                    item.setToolTip(value)
                self.meetings.setItem(r, col, item)

    def _open(self, table: QTableWidget, kind: str, item: QTableWidgetItem) -> None:
        self.ctx.open_record(kind, item.data(Qt.ItemDataRole.UserRole))

    def _records_changed(self, changes: Changes) -> None:
        if changes.touches(Kind.CHANGE, Kind.CAB_MEETING):
            self.reload()

    def selected_meeting_ref(self) -> str | None:
        row = self.meetings.currentRow()
        return self.meetings.item(row, 0).text() if row >= 0 else None


def new_from_template(parent: QWidget, ctx, name: str | None = None,  # noqa: ANN001
                      on_done=None) -> None:  # noqa: ANN001
    """Pick a standard-change template and create a draft from it (planned for tomorrow); the
    templates are read and the change written off the GUI thread; ``on_done(change)``."""
    from itsmdesk.services.change import changes as svc

    ctx.query(svc.templates, owner=parent,
              on_done=lambda templates: _pick_template(parent, ctx, templates, name, on_done))


def _pick_template(parent: QWidget, ctx, templates: list, name: str | None,  # noqa: ANN001
                   on_done) -> None:  # noqa: ANN001
    import datetime as dt

    from PySide6.QtWidgets import QInputDialog

    from itsmdesk.services.change import changes as svc
    from itsmdesk.views.messages import show_error

    if not templates:
        return
    names = [t.name for t in templates]
    if name is None:
        name, ok = QInputDialog.getItem(parent, QCoreApplication.translate("ChangesPanel", "Standard change"),
                                        QCoreApplication.translate("ChangesPanel", "Template:"), names, 0, False)
        if not ok:
            return
    template = templates[names.index(name)]
    start = (dt.datetime.now(dt.UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
             + dt.timedelta(days=1))
    ctx.write(svc.create_from_template, template.id, {"planned_start": start}, ctx.actor,
              owner=parent, on_done=on_done, on_error=lambda exc: show_error(parent, exc))


def create_panel(ctx, window) -> QWidget:  # noqa: ANN001
    return ChangesPanel(ctx, window)


def menu_actions(ctx, window) -> list[tuple[str, QAction]]:  # noqa: ANN001
    from itsmdesk.views.changes.printing import ask_meeting, export_and_preview

    def action(text: str, shortcut: str, slot) -> QAction:  # noqa: ANN001
        a = QAction(_t(text), window)
        a.setShortcut(QKeySequence(shortcut))
        a.triggered.connect(slot)
        return a

    def report(module: str) -> None:
        panel = window.findChild(ChangesPanel) if hasattr(window, "findChild") else None
        ref = (panel.selected_meeting_ref() if panel else None) or ask_meeting(window)
        if ref:
            export_and_preview(window, ctx, module, ref)

    def from_template() -> None:
        new_from_template(window, ctx, on_done=lambda change: ctx.open_record("change", change.id))

    return [
        ("Records", action(QT_TRANSLATE_NOOP("ChangesPanel", "New change"), "Ctrl+Alt+C", lambda: ctx.open_record("change", None))),
        ("Records", action(QT_TRANSLATE_NOOP("ChangesPanel", "New standard change from template…"), "Ctrl+Alt+T", from_template)),
        ("Records", action(QT_TRANSLATE_NOOP("ChangesPanel", "New CAB meeting"), "Ctrl+Alt+M",
                           lambda: ctx.open_record("cab_meeting", None))),
        ("Reports", action(QT_TRANSLATE_NOOP("ChangesPanel", "CAB pack (PDF, print preview)…"), "Ctrl+Alt+J",
                           lambda: report("cab_pack"))),
        ("Reports", action(QT_TRANSLATE_NOOP("ChangesPanel", "CAB minutes (PDF, print preview)…"), "Ctrl+Alt+U",
                           lambda: report("cab_minutes"))),
    ]
