"""The forward schedule of change as an RFC 5545 calendar (``.ics``), written with icalendar.

One VEVENT per change: UID ``<change uuid>@itsmdesk`` (stable, so re-importing updates the event
instead of duplicating it), SEQUENCE = the change's version, times in UTC (``...Z``), SUMMARY
"REF: title", DESCRIPTION with the stored risk (as the app and the CAB pack show it), impacted services, CIs and the plans, CATEGORIES with the
change type, category and status.  Outlook and Thunderbird accept METHOD:PUBLISH calendars.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from icalendar import Calendar, Event
from PySide6.QtCore import QCoreApplication

from itsmdesk.services.change.lifecycle import PLANNED
from itsmdesk.services.change.risk import shown_level

EXPORTED_STATUSES = tuple(s for s in PLANNED if s != "draft")
ICS_STATUS = {"approved": "CONFIRMED", "scheduled": "CONFIRMED", "implementing": "CONFIRMED"}


def uid_for(change) -> str:  # noqa: ANN001 - a change row
    return f"{change.id}@itsmdesk"


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC)


def description(change, services: list[str], cis: list[str]) -> str:  # noqa: ANN001
    """The event's text in the reader's language (labels and status words; data as stored)."""
    from itsmdesk.reports.pdf_common import word

    level = word(shown_level(change))
    risk = QCoreApplication.translate("CalendarExport", "Risk: {level}").format(level=level)
    if change.risk_score is not None:
        risk += " " + QCoreApplication.translate("CalendarExport", "(score {score})").format(
            score=change.risk_score)
    if change.risk_override:
        risk += QCoreApplication.translate("CalendarExport", "; overridden: {reason}").format(
            reason=change.risk_override_reason or "")
    none = QCoreApplication.translate("CalendarExport", "none")
    parts = [risk,
             QCoreApplication.translate("CalendarExport", "Type: {type}   Status: {status}").format(
                 type=word(change.type), status=word(change.status)),
             QCoreApplication.translate("CalendarExport", "Services: {names}").format(
                 names=", ".join(services) or none),
             QCoreApplication.translate("CalendarExport", "CIs: {names}").format(
                 names=", ".join(cis) or none)]
    if change.downtime_start:
        start = f"{change.downtime_start:%Y-%m-%d %H:%M}"
        parts.append(QCoreApplication.translate("CalendarExport", "Downtime: {start} - {end} UTC").format(
            start=start, end=f"{change.downtime_end:%Y-%m-%d %H:%M}") if change.downtime_end
            else QCoreApplication.translate("CalendarExport", "Downtime from {start} UTC").format(start=start))
    for label, text in ((QCoreApplication.translate("CalendarExport", "Description"), change.description),
                        (QCoreApplication.translate("CalendarExport", "Reason"), change.reason),
                        (QCoreApplication.translate("CalendarExport", "Implementation plan"),
                         change.implementation_plan),
                        (QCoreApplication.translate("CalendarExport", "Backout plan"), change.backout_plan),
                        (QCoreApplication.translate("CalendarExport", "Test plan"), change.test_plan)):
        if text:
            parts.append(f"{label}:\n{text}")
    return "\n\n".join(parts)


def build_calendar(start: dt.datetime, end: dt.datetime,
                   statuses: tuple[str, ...] = EXPORTED_STATUSES) -> tuple[Calendar, int]:
    from itsmdesk.services.change.changes import changes_between, cis_of_changes
    from itsmdesk.services.change.risk import impacted_services

    cal = Calendar()
    cal.add("prodid", "-//itsmdesk//Change schedule//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", QCoreApplication.translate("CalendarExport", "Forward schedule of change"))
    cal.add("x-wr-timezone", "UTC")
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0)
    changes = changes_between(start, end, statuses=statuses)
    ci_map = cis_of_changes([c.id for c in changes])
    for change in changes:
        cis = ci_map.get(change.id, [])
        services = [s["name"] for s in impacted_services([ci for ci, _n in cis])]
        ev = Event()
        ev.add("uid", uid_for(change))
        ev.add("dtstamp", stamp)
        ev.add("dtstart", _utc(change.planned_start))
        finish = change.planned_end or change.planned_start + dt.timedelta(hours=1)
        ev.add("dtend", _utc(finish))
        ev.add("summary", f"{change.ref}: {change.title}")
        ev.add("description", description(change, services, sorted(n for _c, n in cis)))
        ev.add("categories", [c for c in ("Change", change.type, change.category,
                                          change.status) if c])
        ev.add("status", ICS_STATUS.get(change.status, "TENTATIVE"))
        ev.add("sequence", max(0, (change.version or 1) - 1))
        ev.add("last-modified", _utc(change.updated_at))
        ev.add("created", _utc(change.created_at))
        ev.add("transp", "OPAQUE")
        if services:
            ev.add("location", ", ".join(services))
        ev.add("x-itsmdesk-ref", change.ref)
        ev.add("x-itsmdesk-risk", shown_level(change))
        cal.add_component(ev)
    return cal, len(changes)


def export(start: dt.datetime, end: dt.datetime, path: str | Path,
           statuses: tuple[str, ...] = EXPORTED_STATUSES) -> int:
    """Write the schedule to ``path``; returns the number of events."""
    cal, count = build_calendar(start, end, statuses)
    Path(path).write_bytes(cal.to_ical())
    return count
