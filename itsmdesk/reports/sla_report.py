"""The SLA breach report as a PDF: totals per service, team and priority, then every breach
with its timeline (the figures come from services/servicedesk/sla_report.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from reportlab.lib.units import mm
from reportlab.platypus import NextPageTemplate

from itsmdesk.i18n import number
from itsmdesk.reports.pdf_common import (
    Spacer,
    build_document,
    fmt_dt,
    heading,
    key_values,
    p,
    table,
)
from itsmdesk.services.servicedesk.sla_report import BreachReport, breach_report

MAX_BREACHES = 300


def _tr(text: str) -> str:
    return QCoreApplication.translate("SlaReport", text)


def _hours(minutes: float) -> str:
    return number(minutes / 60, 1)


def build_from_report(report: BreachReport, path: str | Path, page_size: str = "A4") -> int:
    title = _tr("SLA breach report")
    period = f"{fmt_dt(report.start)} – {fmt_dt(report.end)} UTC"

    def story() -> list:
        width = 174 * mm
        met = sum(g.met for g in report.groups)
        breached = sum(g.breached for g in report.groups)
        out: list = [NextPageTemplate("body"), heading(title, 0), p(period, "muted"), Spacer(1, 4)]
        out.append(key_values([
            (_tr("Tickets"), number(len(report.tickets))),
            (_tr("Met"), number(met)),
            (_tr("Breached"), number(breached)),
            (_tr("Still open at the end"), number(len(report.tickets) - met - breached)),
            (_tr("How it is counted"),
             _tr("Tickets finished in the period, and those still open at its end, read on the "
                 "SLA clock as of the end: business time on the target's calendar while open "
                 "and not pending; breached when the target was reached before the ticket was "
                 "resolved (docs/servicedesk.md, The SLA clock).")),
        ], width))
        out.append(heading(_tr("Per service, team and priority"), 1))
        rows = [[_tr("Service"), _tr("Team"), _tr("Priority"), _tr("Met"), _tr("Breached"),
                 _tr("Open"), _tr("Met %"), _tr("Paused h")]]
        for g in report.groups:
            rows.append([g.service or "–", g.team or "–", f"P{g.priority}", number(g.met),
                         number(g.breached), number(g.open),
                         number(g.met_pct, 1) if g.met_pct is not None else "–",
                         _hours(g.paused_minutes)])
        if len(rows) == 1:
            rows.append([_tr("No tickets in this period."), "", "", "", "", "", "", ""])
        right = [("ALIGN", (2, 0), (-1, -1), "RIGHT")]
        out.append(table(rows, col_widths=[width * f for f in (0.2, 0.19, 0.08, 0.08, 0.11,
                                                               0.08, 0.1, 0.16)], extra=right))
        if report.olas:
            out.append(heading(_tr("Team OLAs"), 1))
            out.append(p(_tr("A team's OLA counts only the business time in which that team held "
                             "the ticket."), "muted"))
            ola_rows = [[_tr("Team"), _tr("Priority"), _tr("Met"), _tr("Breached")]]
            ola_rows += [[o.team, f"P{o.priority}", number(o.met), number(o.breached)]
                         for o in report.olas]
            out.append(table(ola_rows, col_widths=[width * 0.4, width * 0.2, width * 0.2,
                                                   width * 0.2],
                             extra=[("ALIGN", (1, 0), (-1, -1), "RIGHT")]))
        out.append(heading(_tr("Breaches"), 1))
        breaches = report.breaches
        if not breaches:
            out.append(p(_tr("No breaches in this period."), "muted"))
        for t in breaches[:MAX_BREACHES]:
            out.append(heading(f"{t.ref} · P{t.priority} · {t.title}", 2, in_toc=False))
            out.append(p(_tr("{service} / {team}: due {due}, {elapsed} h used of {target} h, "
                             "{paused} h pending").format(
                service=t.service or "–", team=t.team or "–", due=fmt_dt(t.resolution_due),
                elapsed=_hours(t.elapsed_minutes), target=_hours(t.target_minutes),
                paused=_hours(t.paused_minutes)), "muted"))
            out.append(table([[_tr("When (UTC)"), _tr("Status or priority")]]
                             + [[fmt_dt(a), s] for a, s in t.timeline],
                             col_widths=[width * 0.35, width * 0.65]))
            out.append(Spacer(1, 4))
        if len(breaches) > MAX_BREACHES:
            out.append(p(_tr("{n} more breaches are in the CSV export.").format(
                n=number(len(breaches) - MAX_BREACHES)), "muted"))
        return out

    return build_document(path, story, title, period, page_size)


def build(path: str | Path, start: dt.datetime, end: dt.datetime, page_size: str = "A4") -> int:
    """Compute the breach report and write it as a PDF; returns the page count."""
    return build_from_report(breach_report(start, end), path, page_size)
