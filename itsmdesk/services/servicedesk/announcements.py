"""Announcements: what the service desk tells the organisation.

Planned outages and changes that touch business services become announcements (title, services,
window); agents also write manual ones.  The incident form asks :func:`announcements_for` whether
the CI or service it is recording against is affected right now.  :func:`export` renders the
current announcements as plain text or HTML for an e-mail.
"""

from __future__ import annotations

import datetime as dt
import html
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.base import utcnow
from itsmdesk.models.cmdb import CI
from itsmdesk.models.servicedesk import Announcement, AnnouncementService
from itsmdesk.services import records
from itsmdesk.services.context import SYSTEM, Actor

KINDS = ("manual", "planned_outage", "change")


@dataclass
class AnnouncementView:
    """An announcement with the names of the services it touches (for docks and exports)."""

    id: uuid.UUID
    title: str
    body: str | None
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    source_ref: str | None
    active: bool
    version: int
    services: list[tuple[uuid.UUID, str]] = field(default_factory=list)

    @property
    def service_names(self) -> str:
        return ", ".join(name for _id, name in self.services)


def _ids(values: Iterable[Any]) -> list[uuid.UUID]:
    out = []
    for v in values or []:
        if v is None:
            continue
        if isinstance(v, uuid.UUID):
            out.append(v)
        elif hasattr(v, "id"):
            out.append(v.id)
        else:
            out.append(uuid.UUID(str(v)))
    return out


def _business_services(ci_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Business services impacted by an outage of ``ci_ids`` (the CMDB's impact analysis; a
    service among the given CIs is itself impacted)."""
    if not ci_ids:
        return []
    from itsmdesk.services.cmdb import impact

    return [s.ci_id for s in impact.impacted_services(ci_ids)]


def _set_services(announcement_id: uuid.UUID, service_ids: list[uuid.UUID], actor: Actor) -> None:
    """The announcement's services become exactly ``service_ids`` (journalled on it)."""
    records.set_links(AnnouncementService, announcement_id, "ci", service_ids, actor)


def create_announcement(values: dict[str, Any], service_ids: Iterable[Any] = (),
                        actor: Actor = SYSTEM) -> Announcement:
    """A manual (or planned-outage) announcement for the given services."""
    values = dict(values)
    title = (values.get("title") or "").strip()
    if not title:
        raise ValidationError(N_("An announcement needs a title"), field="title")
    values["title"] = title
    values.setdefault("kind", "manual")
    if values["kind"] not in KINDS:
        raise ValidationError(N_("Unknown announcement kind {kind}"), field="kind", kind=values["kind"])
    values.setdefault("starts_at", utcnow())
    if values.get("ends_at") and values["ends_at"] < values["starts_at"]:
        raise ValidationError(N_("An announcement cannot end before it starts"), field="ends_at")
    with records.atomic():
        row = records.create(Announcement, values, actor)
        _set_services(row.id, _ids(service_ids), actor)
        return row


def update_announcement(announcement_id, version: int | None, changes: dict[str, Any],
                        service_ids: Iterable[Any] | None = None,
                        actor: Actor = SYSTEM) -> Announcement:
    with records.atomic():
        row = records.update(Announcement, announcement_id, version, changes, actor)
        if service_ids is not None:
            _set_services(row.id, _ids(service_ids), actor)
        return row


def withdraw(announcement_id, version: int | None = None, actor: Actor = SYSTEM) -> Announcement:
    return update_announcement(announcement_id, version, {"active": False}, actor=actor)


def announce_change(change, actor: Actor = SYSTEM) -> Announcement:  # noqa: ANN001 - a Change
    """Announce an approved change that touches services (called by the change process).

    One announcement per change: calling it again refreshes title, window and services.
    The window is the downtime window when there is one, else the planned window.
    """
    from itsmdesk.models.change import ChangeCI

    start = change.downtime_start or change.planned_start or utcnow()
    end = change.downtime_end or change.planned_end
    ci_ids = [r.ci_id for r in ChangeCI.select(ChangeCI.ci).where(ChangeCI.change == change.id)]
    services = _business_services(ci_ids)
    outage = bool(getattr(change, "outage", False) or change.downtime_start)
    body = change.description or ""
    values = {
        "title": f"{change.ref}: {change.title}",
        "body": body,
        "kind": "change",
        "starts_at": start,
        "ends_at": end,
        "change_id": change.id,
        "source_ref": change.ref,
        "active": True,
    }
    if outage and not body:
        values["body"] = "Service outage expected during the window."
    with records.atomic():
        existing = Announcement.get_or_none(Announcement.change_id == change.id)
        if existing is None:
            row = records.create(Announcement, values, actor)
        else:
            row = records.update(Announcement, existing.id, None, values, actor)
        _set_services(row.id, services, actor)
        return row


def _active_query(at: dt.datetime | None, include_future: bool):
    at = at or utcnow()
    query = Announcement.select().where(Announcement.active == True)  # noqa: E712
    query = query.where((Announcement.ends_at.is_null()) | (Announcement.ends_at >= at))
    if not include_future:
        query = query.where(Announcement.starts_at <= at)
    return query.order_by(Announcement.starts_at, Announcement.title)


def _views(rows: list[Announcement]) -> list[AnnouncementView]:
    if not rows:
        return []
    services: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {r.id: [] for r in rows}
    links = (AnnouncementService.select(AnnouncementService.announcement, CI.id, CI.name)
             .join(CI).where(AnnouncementService.announcement.in_(list(services)))
             .order_by(CI.name))
    for link in links:
        services[link.announcement_id].append((link.ci.id, link.ci.name))
    return [AnnouncementView(r.id, r.title, r.body, r.kind, r.starts_at, r.ends_at, r.source_ref,
                             r.active, r.version, services[r.id]) for r in rows]


def current(at: dt.datetime | None = None, include_future: bool = True,
            limit: int = 500) -> list[AnnouncementView]:
    """Active announcements not yet over (and, by default, upcoming ones)."""
    return _views(list(_active_query(at, include_future).limit(limit)))


def announcements_for(ci_ids: Iterable[Any], at: dt.datetime | None = None,
                      include_future: bool = False) -> list[AnnouncementView]:
    """Active announcements touching any of these CIs, or the services they belong to.

    ``at`` defaults to now; only announcements whose window covers ``at`` count unless
    ``include_future``.
    """
    ids = _ids(ci_ids)
    if not ids:
        return []
    wanted = set(ids) | set(_business_services(ids))
    sub = (AnnouncementService.select(AnnouncementService.announcement)
           .where(AnnouncementService.ci.in_(list(wanted))))
    query = _active_query(at, include_future).where(Announcement.id.in_(sub))
    return _views(list(query))


def export(fmt: str = "text", at: dt.datetime | None = None) -> str:
    """The current and upcoming announcements as plain text or HTML (for an e-mail)."""
    items = current(at)
    if fmt not in ("text", "html"):
        raise ValidationError(N_("Export format must be text or html, not {fmt}"), fmt=fmt)

    def window(a: AnnouncementView) -> str:
        start = a.starts_at.strftime("%Y-%m-%d %H:%M")
        end = a.ends_at.strftime("%Y-%m-%d %H:%M") if a.ends_at else "until further notice"
        return f"{start} – {end} UTC"

    if fmt == "text":
        if not items:
            return "No current announcements.\n"
        lines = ["Service announcements", "=" * 21, ""]
        for a in items:
            lines.append(a.title)
            lines.append(f"  When: {window(a)}")
            if a.services:
                lines.append(f"  Services: {a.service_names}")
            if a.body:
                lines.extend("  " + line for line in a.body.splitlines())
            lines.append("")
        return "\n".join(lines)
    parts = ["<html><body>", "<h2>Service announcements</h2>"]
    if not items:
        parts.append("<p>No current announcements.</p>")
    for a in items:
        parts.append(f"<h3>{html.escape(a.title)}</h3><p><b>When:</b> {html.escape(window(a))}")
        if a.services:
            parts.append(f"<br><b>Services:</b> {html.escape(a.service_names)}")
        parts.append("</p>")
        if a.body:
            parts.append(f"<p>{html.escape(a.body).replace(chr(10), '<br>')}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
