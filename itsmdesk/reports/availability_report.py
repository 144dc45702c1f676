"""Availability report (PDF): failures, MTBF, MTTR and availability per CI or business service."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import NextPageTemplate

from itsmdesk.i18n import number
from itsmdesk.reports.pdf_common import (
    ACCENT,
    MUTED,
    Spacer,
    build_document,
    fmt_dt,
    heading,
    key_values,
    p,
    table,
)
from itsmdesk.services.problem.availability import AvailabilityReport, availability, top_downtime

MAX_TABLE_ROWS = 500


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else number(value, digits)


def _chart(report: AvailabilityReport, width: float) -> Drawing:
    top = top_downtime(report, 10)
    height = 18 + 16 * max(len(top), 1)
    drawing = Drawing(width, height + 18)
    if not top:
        drawing.add(String(0, height / 2, QCoreApplication.translate("AvailabilityReport", "No outages in this period."), fontName="Helvetica",
                           fontSize=9, fillColor=MUTED))
        return drawing
    chart = HorizontalBarChart()
    chart.x, chart.y = 150, 22  # room below for the tick labels, then the axis title
    chart.width, chart.height = width - 190, height - 10
    names = [r.name if len(r.name) <= 30 else r.name[:29] + "…" for r in reversed(top)]
    chart.data = [[r.downtime_h for r in reversed(top)]]
    chart.categoryAxis.categoryNames = names
    chart.categoryAxis.labels.fontName = "Helvetica"
    chart.categoryAxis.labels.fontSize = 7.5
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dx = -4
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = "Helvetica"
    chart.bars[0].fillColor = ACCENT
    chart.bars[0].strokeColor = None
    chart.barLabelFormat = "%.1f h"
    chart.barLabels.fontSize = 6.5
    chart.barLabels.fontName = "Helvetica"
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    drawing.add(chart)
    drawing.add(String(chart.x + chart.width / 2, 0,
                       QCoreApplication.translate("AvailabilityReport", "downtime (hours)"),
                       fontName="Helvetica", fontSize=7, fillColor=MUTED, textAnchor="middle"))
    return drawing


def build_from_report(report: AvailabilityReport, path: str | Path, page_size: str = "A4") -> int:
    by_ci = report.by == "ci"
    title = (QCoreApplication.translate("AvailabilityReport", "Availability per configuration item")
             if by_ci else
             QCoreApplication.translate("AvailabilityReport", "Availability per business service"))
    period = f"{fmt_dt(report.period.start)} – {fmt_dt(report.period.end)} UTC"

    def story() -> list:
        width = 174 * mm
        out: list = [NextPageTemplate("body"), heading(title, 0), p(period, "muted"), Spacer(1, 4)]
        out.append(key_values([
            (QCoreApplication.translate("AvailabilityReport", "Period"),
             QCoreApplication.translate("AvailabilityReport", "{hours} hours").format(
                 hours=number(report.period.hours, 0))),
            (QCoreApplication.translate("AvailabilityReport", "Configuration items with outages") if by_ci
             else QCoreApplication.translate("AvailabilityReport", "Business services with outages"), number(len(report.rows))),
            (QCoreApplication.translate("AvailabilityReport", "Failures"), number(report.total_failures)),
            (QCoreApplication.translate("AvailabilityReport", "Total downtime"), number(report.total_downtime_h, 1) + " h"),
            (QCoreApplication.translate("AvailabilityReport", "How outages are measured"),
             QCoreApplication.translate("AvailabilityReport", "Incidents with impact high or medium; outage start/end when recorded, else opened to resolved; clipped to the period; overlapping outages merged into one failure. MTBF = uptime / failures, MTTR = downtime / failures.")),
        ], width))
        per = (QCoreApplication.translate("AvailabilityReport", "Per configuration item") if by_ci
               else QCoreApplication.translate("AvailabilityReport", "Per business service"))
        out += [heading(QCoreApplication.translate("AvailabilityReport", "Most downtime"), 1),
                _chart(report, width), Spacer(1, 6), heading(per, 1)]
        rows = [[QCoreApplication.translate("AvailabilityReport", "Name"),
                 QCoreApplication.translate("AvailabilityReport", "Failures"),
                 QCoreApplication.translate("AvailabilityReport", "Downtime h"),
                 QCoreApplication.translate("AvailabilityReport", "MTTR h"),
                 QCoreApplication.translate("AvailabilityReport", "MTBF h"),
                 QCoreApplication.translate("AvailabilityReport", "Availability %")]]
        for r in report.rows[:MAX_TABLE_ROWS]:
            rows.append([r.name, number(r.failures), _num(r.downtime_h), _num(r.mttr_h),
                         _num(r.mtbf_h, 1), _num(r.availability_pct, 3)])
        if len(rows) == 1:
            rows.append([QCoreApplication.translate("AvailabilityReport", "No outages in this period."), "", "", "", "", ""])
        right = [("ALIGN", (1, 0), (-1, -1), "RIGHT")]
        out.append(table(rows, col_widths=[width * 0.34] + [width * 0.12] * 4 + [width * 0.18], extra=right))
        if len(report.rows) > MAX_TABLE_ROWS:
            out.append(p(QCoreApplication.translate("AvailabilityReport", "{n} more rows are in the CSV export (itsmdesk availability --csv FILE).").format(
                n=number(len(report.rows) - MAX_TABLE_ROWS)), "muted"))
        return out

    return build_document(path, story, title, period, page_size)


def build(path: str | Path, by: str = "ci", start: dt.datetime | None = None,
          end: dt.datetime | None = None, page_size: str = "A4") -> int:
    """Compute the availability figures and write them as a PDF; returns the page count."""
    return build_from_report(availability(by, start, end), path, page_size)


__all__ = ["build", "build_from_report", "colors"]
