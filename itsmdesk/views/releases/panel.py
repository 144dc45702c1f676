"""Releases dock: the release list (search, status filter, paging) and the release menu actions.

``menu_actions`` adds "New release" (Records) and "Release plan PDF…" (Reports: print preview
of the selected or asked-for release, with "Save PDF…").
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
)
from PySide6.QtGui import QAction, QBrush, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.kinds import Kind
from itsmdesk.services.records import Changes
from itsmdesk.services.release import releases
from itsmdesk.views.lazy import WhenShown

ID_ROLE = Qt.ItemDataRole.UserRole + 1
PAGE = 200
RISK_COLOURS = {"low": "#15803d", "medium": "#b45309", "high": "#c2410c", "very_high": "#b91c1c"}
OPEN_STATUSES = ("planning", "build", "test", "approved", "deploying", "deployed", "in_review")


class ReleaseListModel(QAbstractTableModel):
    """Rows of :class:`itsmdesk.services.release.releases.ReleaseRow`; grows a page at a time."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[releases.ReleaseRow] = []
        self.columns = [
            ("ref", self.tr("Reference")), ("name", self.tr("Name")),
            ("release_version", self.tr("Version")), ("type", self.tr("Type")),
            ("status", self.tr("Status")), ("risk_level", self.tr("Risk")),
            ("planned_start", self.tr("Start")), ("changes", self.tr("Changes"))]

    def set_rows(self, rows: list, append: bool = False) -> None:
        self.beginResetModel()
        self.rows = (self.rows + list(rows)) if append else list(rows)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section][1]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        key = self.columns[index.column()][0]
        value = getattr(row, key)
        if role == Qt.ItemDataRole.DisplayRole:
            if value is None:
                return ""
            if key == "planned_start":
                return value.strftime("%Y-%m-%d")
            if key in ("status", "type", "risk_level"):
                return str(value).replace("_", " ")
            return value
        if role == ID_ROLE:
            return str(row.id)
        if role == Qt.ItemDataRole.ForegroundRole and key == "risk_level" and value:
            return QBrush(QColor(RISK_COLOURS.get(value, "#374151")))
        if role == Qt.ItemDataRole.TextAlignmentRole and key == "changes":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class ReleasesPanel(QWidget):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.lazy = WhenShown(self, self._refresh_now)
        self.ctx = ctx
        self.setObjectName("releasesPanel")
        self.status_filter = QComboBox()
        self.status_filter.setObjectName("releaseStatusFilter")
        self.status_filter.addItem(self.tr("Open releases"), OPEN_STATUSES)
        self.status_filter.addItem(self.tr("All releases"), None)
        for status in OPEN_STATUSES + ("closed",):
            self.status_filter.addItem(self.tr(status.replace("_", " ").capitalize()), (status,))
        self.search = QLineEdit()
        self.search.setObjectName("releaseSearch")
        self.search.setPlaceholderText(self.tr("Search reference, name, version…"))
        self.search.setClearButtonEnabled(True)
        new = QPushButton(self.tr("&New release"))
        new.clicked.connect(lambda: self.ctx.open_record("release", None))
        bar = QHBoxLayout()
        bar.addWidget(self.status_filter)
        bar.addWidget(self.search, 1)
        bar.addWidget(new)
        self.model = ReleaseListModel(self)
        self.table = QTableView()
        self.table.setObjectName("releaseTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self.open_current)
        self.table.activated.connect(self.open_current)
        self.table.verticalScrollBar().valueChanged.connect(self._maybe_more)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.table)
        self._more = True
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.status_filter.currentIndexChanged.connect(self.refresh)
        ctx.sig_changes.connect(self._records_changed)
        self.refresh()

    def _records_changed(self, changes: Changes) -> None:
        if changes.touches(Kind.RELEASE, Kind.CHANGE):
            self.lazy.request_later(self._debounce)

    def refresh(self, *_args) -> None:  # noqa: ANN002
        """Read again now if the panel can be seen, else when it is next shown."""
        self.lazy.request()

    def _refresh_now(self) -> None:
        self.ctx.query(releases.list_releases, self.search.text(),
                       self.status_filter.currentData(), PAGE, 0,
                       on_done=self._loaded, key="releases-list", owner=self)

    def _loaded(self, rows: list) -> None:
        self._more = len(rows) == PAGE
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)

    def _maybe_more(self, value: int) -> None:
        bar = self.table.verticalScrollBar()
        if self._more and value >= bar.maximum() - 2:
            self._more = False
            self.ctx.query(releases.list_releases, self.search.text(),
                           self.status_filter.currentData(), PAGE, len(self.model.rows),
                           on_done=lambda rows: self._appended(rows),
                           key="releases-more", owner=self)

    def _appended(self, rows: list) -> None:
        self._more = len(rows) == PAGE
        self.model.set_rows(rows, append=True)

    def current_ref(self) -> str | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.rows[index.row()].ref

    def open_current(self, index: QModelIndex | None = None) -> None:
        index = index if index is not None and index.isValid() else self.table.currentIndex()
        if index.isValid():
            self.ctx.open_record("release", self.model.rows[index.row()].id)


_panels: dict[int, ReleasesPanel] = {}


def create_panel(ctx, window) -> QWidget:  # noqa: ANN001
    panel = ReleasesPanel(ctx)
    _panels[id(window)] = panel
    return panel


def _plan_pdf(ctx, window) -> None:  # noqa: ANN001
    from itsmdesk.views.releases.preview import show_preview

    panel = _panels.get(id(window))
    ref = panel.current_ref() if panel is not None else None
    if ref is None:
        ref, ok = QInputDialog.getText(window, QCoreApplication.translate("ReleasesPanel", "Release plan PDF"),
                                       QCoreApplication.translate("ReleasesPanel", "Release reference (e.g. REL-000001):"))
        if not ok or not ref.strip():
            return
    show_preview(window, ref.strip())


def menu_actions(ctx, window) -> list[tuple[str, QAction]]:  # noqa: ANN001
    new = QAction(QCoreApplication.translate("ReleasesPanel", "New &release"), window)
    new.setObjectName("newReleaseAction")
    new.setShortcut(QKeySequence("Ctrl+Alt+E"))
    new.triggered.connect(lambda: ctx.open_record("release", None))
    pdf = QAction(QCoreApplication.translate("ReleasesPanel", "Release &plan PDF…"), window)
    pdf.setObjectName("releasePlanPdfAction")
    pdf.setShortcut(QKeySequence("Ctrl+Alt+G"))
    pdf.triggered.connect(lambda: _plan_pdf(ctx, window))
    return [("Records", new), ("Reports", pdf)]
