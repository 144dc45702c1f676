"""Trends dashboard dock: incidents per CI, service, category or team; top movers; volume.

Figures are computed on the database worker (one grouped query) and drawn by
:mod:`itsmdesk.views.dashboard.charts`.  The panel refreshes when incidents change.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.kinds import Kind
from itsmdesk.services.problem import trends
from itsmdesk.services.records import Changes
from itsmdesk.views.dashboard.charts import BarChart, LineChart
from itsmdesk.views.lazy import WhenShown
from itsmdesk.views.numfmt import grouped


class DashboardPanel(QWidget):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.lazy = WhenShown(self, self._refresh_now)
        self.ctx = ctx
        self.setObjectName("dashboardPanel")
        self.data: trends.Dashboard | None = None

        self.by = QComboBox()
        self.by.setObjectName("byCombo")
        for key, label in (("service", self.tr("Business service")), ("ci", self.tr("CI")),
                           ("category", self.tr("Category")), ("team", self.tr("Team"))):
            self.by.addItem(label, key)
        self.period = QComboBox()
        self.period.setObjectName("periodCombo")
        for days, label in ((7, self.tr("Last 7 days")), (30, self.tr("Last 30 days")),
                            (90, self.tr("Last 90 days")), (365, self.tr("Last 12 months"))):
            self.period.addItem(label, days)
        self.period.setCurrentIndex(2)
        self.top = QSpinBox()
        self.top.setRange(3, 30)
        self.top.setValue(8)
        self.top.setPrefix(self.tr("Top "))
        self.refresh_button = QPushButton(self.tr("&Refresh"))
        self.summary = QLabel()
        self.summary.setObjectName("summaryLabel")

        bar = QHBoxLayout()
        bar.addWidget(QLabel(self.tr("Incidents by")))
        bar.addWidget(self.by)
        bar.addWidget(self.period)
        bar.addWidget(self.top)
        bar.addStretch(1)
        bar.addWidget(self.summary)
        bar.addWidget(self.refresh_button)

        self.top_chart = BarChart(self.tr("Most incidents"))
        self.top_chart.setObjectName("topChart")
        self.movers_chart = BarChart(self.tr("Top movers (vs previous period)"), signed=True)
        self.movers_chart.setObjectName("moversChart")
        self.volume_chart = LineChart(self.tr("Incidents opened"))
        self.volume_chart.setObjectName("volumeChart")
        grid = QGridLayout()
        grid.addWidget(self.top_chart, 0, 0)
        grid.addWidget(self.movers_chart, 0, 1)
        grid.addWidget(self.volume_chart, 1, 0, 1, 2)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(grid, 1)

        self._debounce = QTimer(self, singleShot=True, interval=800)
        self._debounce.timeout.connect(self.refresh)
        for w in (self.by, self.period):
            w.currentIndexChanged.connect(self.refresh)
        self.top.valueChanged.connect(self.refresh)
        self.refresh_button.clicked.connect(self.refresh)
        self.top_chart.sig_bar_activated.connect(self._open_top)
        ctx.sig_changes.connect(self._records_changed)
        self.refresh()

    def _records_changed(self, changes: Changes) -> None:
        if changes.touches(Kind.INCIDENT):
            self.lazy.request_later(self._debounce)

    def refresh(self) -> None:
        """Read again now if the panel can be seen, else when it is next shown."""
        self.lazy.request()

    def _refresh_now(self) -> None:
        self.ctx.query(trends.dashboard, self.by.currentData(), self.period.currentData(),
                       self.top.value(), on_done=self._show, key="dashboard", owner=self)

    def _show(self, data: trends.Dashboard) -> None:
        self.data = data
        rep = data.report
        self.top_chart.set_data([r.name for r in rep.top], [r.count for r in rep.top])
        self.movers_chart.set_data([r.name for r in rep.movers], [r.delta for r in rep.movers])
        self.volume_chart.set_points(data.series)
        change = rep.total - rep.previous_total
        self.summary.setText(self.tr("{total} incidents ({change:+} vs previous period)").format(
            total=grouped(rep.total), change=change))

    def _open_top(self, index: int) -> None:
        if self.data and self.by.currentData() in ("ci", "service"):
            row: Any = self.data.report.top[index]
            self.ctx.open_record("ci", row.id)


def create_panel(ctx, window) -> QWidget:  # noqa: ANN001
    return DashboardPanel(ctx)
