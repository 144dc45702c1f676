"""Availability dock: failures, MTBF, MTTR and availability per CI or business service, the CIs
that cost most downtime, and CSV/PDF export.  See docs/availability.md for the definitions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QDate,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services.problem import availability as av
from itsmdesk.views.dashboard.charts import BarChart
from itsmdesk.views.lazy import WhenShown
from itsmdesk.views.numfmt import grouped

Index = QModelIndex | QPersistentModelIndex


class AvailabilityModel(QAbstractTableModel):
    COLUMNS = ("name", "failures", "downtime_h", "mttr_h", "mtbf_h", "availability_pct")

    def __init__(self, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.rows: list[av.AvailabilityRow] = []
        self.headers = (self.tr("Name"), self.tr("Failures"), self.tr("Downtime (h)"),
                        self.tr("MTTR (h)"), self.tr("MTBF (h)"), self.tr("Availability %"))

    def set_rows(self, rows: list[av.AvailabilityRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        value = getattr(row, self.COLUMNS[index.column()])
        if role == Qt.ItemDataRole.DisplayRole:
            if value is None:
                return "—"
            if isinstance(value, float):
                digits = 3 if self.COLUMNS[index.column()] == "availability_pct" else 1
                return f"{value:,.{digits}f}"
            return str(value)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        name = self.COLUMNS[column]
        self.layoutAboutToBeChanged.emit()
        self.rows.sort(key=lambda r: (getattr(r, name) is None, getattr(r, name) or 0)
                       if name != "name" else r.name.lower(),
                       reverse=order == Qt.SortOrder.DescendingOrder)
        self.layoutChanged.emit()


class AvailabilityPanel(QWidget):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.lazy = WhenShown(self, self._refresh_now)
        self.ctx = ctx
        self.setObjectName("availabilityPanel")
        self.report: av.AvailabilityReport | None = None
        self.by = QComboBox()
        self.by.setObjectName("byCombo")
        self.by.addItem(self.tr("Configuration item"), "ci")
        self.by.addItem(self.tr("Business service"), "service")
        today = QDate.currentDate()
        self.start = QDateEdit(today.addYears(-1))
        self.end = QDateEdit(today)
        for w in (self.start, self.end):
            w.setCalendarPopup(True)
            w.setDisplayFormat("yyyy-MM-dd")
        self.refresh_button = QPushButton(self.tr("&Compute"))
        self.csv_button = QPushButton(self.tr("Export CS&V…"))
        self.pdf_button = QPushButton(self.tr("Export &PDF…"))
        self.summary = QLabel()
        self.summary.setObjectName("summaryLabel")
        bar = QHBoxLayout()
        bar.addWidget(QLabel(self.tr("Per")))
        bar.addWidget(self.by)
        bar.addWidget(QLabel(self.tr("from")))
        bar.addWidget(self.start)
        bar.addWidget(QLabel(self.tr("to")))
        bar.addWidget(self.end)
        bar.addWidget(self.refresh_button)
        bar.addStretch(1)
        bar.addWidget(self.csv_button)
        bar.addWidget(self.pdf_button)

        self.model = AvailabilityModel(self)
        self.table = QTableView()
        self.table.setObjectName("availabilityTable")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(60)
        self.table.doubleClicked.connect(self._open)
        self.chart = BarChart(self.tr("Most downtime"), unit="h")
        self.chart.setObjectName("downtimeChart")
        split = QSplitter()
        split.addWidget(self.table)
        split.addWidget(self.chart)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([640, 420])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        layout.addWidget(self.summary)

        self.refresh_button.clicked.connect(self.refresh)
        self.by.currentIndexChanged.connect(self.refresh)
        self.csv_button.clicked.connect(lambda: self.export_csv())
        self.pdf_button.clicked.connect(lambda: self.export_pdf())
        self.refresh()

    def period(self) -> tuple[dt.datetime, dt.datetime]:
        s, e = self.start.date(), self.end.date()
        return (dt.datetime(s.year(), s.month(), s.day()),
                dt.datetime(e.year(), e.month(), e.day()) + dt.timedelta(days=1))

    def refresh(self) -> None:
        """Read again now if the panel can be seen, else when it is next shown."""
        self.lazy.request()

    def _refresh_now(self) -> None:
        start, end = self.period()
        self.ctx.query(av.availability, self.by.currentData(), start, end,
                       on_done=self._show, on_error=self._error, key="availability", owner=self)

    def _error(self, exc: BaseException) -> None:
        from itsmdesk.views.messages import show_error

        show_error(self, exc)

    def _show(self, report: av.AvailabilityReport) -> None:
        self.report = report
        self.model.set_rows(report.rows)
        top = av.top_downtime(report, 10)
        self.chart.set_data([r.name for r in top], [r.downtime_h for r in top])
        self.summary.setText(self.tr("{n} with outages · {f} failures · {d} h downtime in {p} h")
                             .format(n=grouped(len(report.rows)), f=grouped(report.total_failures),
                                     d=f"{report.total_downtime_h:,.1f}",
                                     p=f"{report.period.hours:,.0f}"))

    def _open(self, index: QModelIndex) -> None:
        record_id = self.model.data(index, Qt.ItemDataRole.UserRole)
        if record_id is not None:
            import uuid

            self.ctx.open_record("ci", uuid.UUID(str(record_id)))

    def export_csv(self, path: str | None = None) -> None:
        if self.report is None:
            return
        path = path or QFileDialog.getSaveFileName(self, self.tr("Export availability"),
                                                   "availability.csv", self.tr("CSV (*.csv)"))[0]
        if path:
            n = av.write_csv(self.report, path)
            self.ctx.sig_status.emit(self.tr("{n} rows written to {path}").format(n=n, path=path))

    def export_pdf(self, path: str | None = None) -> None:
        if self.report is None:
            return
        path = path or QFileDialog.getSaveFileName(self, self.tr("Availability report"),
                                                   "availability.pdf", self.tr("PDF (*.pdf)"))[0]
        if path:
            from itsmdesk.reports.availability_report import build_from_report

            self.ctx.query(build_from_report, self.report, path, on_error=self._error,
                           on_done=lambda pages: self.ctx.sig_status.emit(
                               self.tr("{pages} page(s) written to {path}").format(
                                   pages=pages, path=path)), owner=self)


def _t(text: str) -> str:
    return QCoreApplication.translate("availability", text)


def create_panel(ctx, window) -> QWidget:  # noqa: ANN001
    return AvailabilityPanel(ctx)


def menu_actions(ctx, window) -> list[tuple[str, QAction]]:  # noqa: ANN001
    action = QAction(QCoreApplication.translate("availability", "Availability report (PDF)…"), window)
    action.setShortcut(QKeySequence("Ctrl+Alt+V"))

    def run() -> None:
        panel = getattr(window, "panels", {}).get("availabilityDock")
        if isinstance(panel, AvailabilityPanel):
            panel.export_pdf()

    action.triggered.connect(run)
    return [("Reports", action)]
