"""Trends dashboard and availability dock driven with pytest-qt."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt

from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.servicedesk import incidents

pytestmark = pytest.mark.gui


def _data():
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    a = cmdb.create_ci({"name": "db-01", "ci_class": "database"})
    b = cmdb.create_ci({"name": "web-01", "ci_class": "server"})
    svc = cmdb.create_ci({"name": "Web Shop", "ci_class": "business_service"})
    for i in range(4):
        incidents.create_incident({"title": f"db slow {i}", "ci": a.id, "service": svc.id,
                                   "impact": 1, "urgency": 1,
                                   "opened_at": now - dt.timedelta(days=2 + i),
                                   "status": "resolved",
                                   "resolved_at": now - dt.timedelta(days=2 + i) + dt.timedelta(hours=2)})
    incidents.create_incident({"title": "web down", "ci": b.id, "impact": 2, "urgency": 2,
                               "opened_at": now - dt.timedelta(days=40), "status": "resolved",
                               "resolved_at": now - dt.timedelta(days=40) + dt.timedelta(hours=1)})
    return a, b


def test_dashboard_shows_top_movers_and_volume(ctx, qtbot, tmp_path):
    from itsmdesk.views.dashboard.panel import DashboardPanel

    _data()
    panel = DashboardPanel(ctx)
    qtbot.addWidget(panel)
    panel.show()  # a hidden panel reads nothing until it is shown
    panel.by.setCurrentIndex(panel.by.findData("ci"))
    panel.period.setCurrentIndex(panel.period.findData(30))
    assert panel.top_chart.labels() == ["db-01"] and panel.top_chart.values() == [4.0]
    assert panel.movers_chart.labels() == ["db-01", "web-01"]
    assert panel.movers_chart.values() == [4.0, -1.0]
    assert sum(v for _d, v in panel.volume_chart.points()) == 4
    assert "4 incidents" in panel.summary.text()
    panel.resize(1000, 560)
    panel.show()
    panel.grab().save(str(tmp_path / "dashboard.png"))
    # a new incident refreshes the figures (debounced)
    incidents.create_incident({"title": "db slow again", "ci": panel.data.report.top[0].id})
    ctx.changed_elsewhere("incident", [])
    assert panel._debounce.isActive()
    panel._debounce.stop()
    panel._debounce.timeout.emit()
    assert panel.top_chart.values() == [5.0]


def test_bar_chart_double_click_opens(qtbot):
    from PySide6.QtCore import QPoint

    from itsmdesk.views.dashboard.charts import BarChart

    chart = BarChart("t")
    qtbot.addWidget(chart)
    chart.resize(400, 200)
    chart.set_data(["a", "b"], [3, 1])
    chart.show()
    chart.grab()
    with qtbot.waitSignal(chart.sig_bar_activated) as blocker:
        qtbot.mouseDClick(chart, Qt.MouseButton.LeftButton, pos=QPoint(200, 45))
    assert blocker.args == [0]


def test_availability_panel_table_chart_and_exports(ctx, qtbot, tmp_path):
    from pypdf import PdfReader

    from itsmdesk.views.availability.panel import AvailabilityPanel

    _data()
    panel = AvailabilityPanel(ctx)
    qtbot.addWidget(panel)
    panel.show()  # a hidden panel reads nothing until it is shown
    model = panel.model
    assert model.rowCount() == 2
    assert model.index(0, 0).data() == "db-01"
    assert model.index(0, 1).data() == "4" and model.index(0, 2).data() == "8.0"
    assert panel.chart.labels() == ["db-01", "web-01"]
    panel.by.setCurrentIndex(panel.by.findData("service"))
    assert model.rowCount() == 1 and model.index(0, 0).data() == "Web Shop"
    panel.export_csv(str(tmp_path / "a.csv"))
    assert "Web Shop" in (tmp_path / "a.csv").read_text(encoding="utf-8")
    panel.export_pdf(str(tmp_path / "a.pdf"))
    text = PdfReader(tmp_path / "a.pdf").pages[0].extract_text()
    assert "Web Shop" in text and "business service" in text


def test_availability_double_click_opens_ci(ctx, qtbot, monkeypatch):
    import uuid

    from itsmdesk.views.availability.panel import AvailabilityPanel

    a, _b = _data()
    panel = AvailabilityPanel(ctx)
    qtbot.addWidget(panel)
    panel.show()  # a hidden panel reads nothing until it is shown
    opened = []
    monkeypatch.setattr(ctx, "open_record", lambda kind, rid: opened.append((kind, rid)))
    panel._open(panel.model.index(0, 0))
    assert opened == [("ci", a.id)] and isinstance(opened[0][1], uuid.UUID)
