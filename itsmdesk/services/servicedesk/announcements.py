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
from itsmdesk.services.permissions import require

KINDS = ("manual", "planned_outage", "change")
AUDIENCES = ("everyone", "it_staff")
"""Whom an announcement is for: the whole organisation, or the IT staff only (maintenance the
users will not notice, a heads-up for the desk)."""


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
    audience: str = "everyone"
    site_id: uuid.UUID | None = None
    site_name: str | None = None  # None: every site

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


def _check(values: dict[str, Any], current: Announcement | None = None) -> dict[str, Any]:
    """Validated values (title trimmed, kind and audience known, the window in order, the site
    an id or None)."""
    values = dict(values)
    if "title" in values or current is None:
        title = (values.get("title") or "").strip()
        if not title:
            raise ValidationError(N_("An announcement needs a title"), field="title")
        values["title"] = title
    if "kind" in values and values["kind"] not in KINDS:
        raise ValidationError(N_("Unknown announcement kind {kind}"), field="kind", kind=values["kind"])
    if "audience" in values and values["audience"] not in AUDIENCES:
        raise ValidationError(N_("Unknown audience {audience}: use everyone or it_staff"),
                              field="audience", audience=values["audience"])
    if "site" in values:
        values["site"] = _site_id(values["site"])
    starts = values.get("starts_at", current.starts_at if current is not None else None)
    ends = values.get("ends_at", current.ends_at if current is not None else None)
    if starts is not None and ends is not None and ends < starts:
        raise ValidationError(N_("An announcement cannot end before it starts"), field="ends_at")
    return values


def _site_id(value: Any) -> uuid.UUID | None:
    from itsmdesk.models.people import Site

    if value in (None, ""):
        return None
    site_id = _ids([value])[0]
    if not Site.select().where(Site.id == site_id).exists():
        raise ValidationError(N_("No site with id {id}"), field="site", id=str(site_id))
    return site_id


def create_announcement(values: dict[str, Any], service_ids: Iterable[Any] = (),
                        actor: Actor = SYSTEM, new_id: Any = None) -> Announcement:
    """A manual (or planned-outage) announcement for the given services, for an ``audience``
    (everyone, the default, or it_staff) at one ``site`` or every site (None)."""
    require(actor, "announcement.manage")
    values = dict(values)
    values.setdefault("kind", "manual")
    values.setdefault("starts_at", utcnow())
    values = _check(values)
    if new_id is not None:
        values["id"] = _ids([new_id])[0]
    with records.atomic():
        if new_id is not None:  # a save repeated after its answer was lost: not made twice
            existing = Announcement.get_or_none(Announcement.id == values["id"])
            if existing is not None:
                return existing
        row = records.create(Announcement, values, actor)
        _set_services(row.id, _ids(service_ids), actor)
        _mail(row.id, actor)
        return row


def update_announcement(announcement_id, version: int | None, changes: dict[str, Any],
                        service_ids: Iterable[Any] | None = None,
                        actor: Actor = SYSTEM) -> Announcement:
    require(actor, "announcement.manage")
    with records.atomic():
        current = Announcement.get_or_none(Announcement.id == announcement_id)
        changes = _check(changes, current) if current is not None else changes
        row = records.update(Announcement, announcement_id, version, changes, actor)
        if service_ids is not None:
            _set_services(row.id, _ids(service_ids), actor)
        _mail(row.id, actor)
        return row


def _mail(announcement_id: uuid.UUID, actor: Actor) -> None:
    """Subscribers of its services get the invitation, correction or cancellation by mail,
    queued in this write (services/mail/invitation.py)."""
    from itsmdesk.services.mail import invitation

    invitation.announcement_changed(announcement_id, actor)


@dataclass(frozen=True)
class AnnouncementChoices:
    """What the announcement dialog offers: the business services and the sites."""

    services: tuple[tuple[uuid.UUID, str], ...]
    sites: tuple[tuple[uuid.UUID, str], ...]


def choices() -> AnnouncementChoices:
    """Business services and sites, by name, in one statement."""
    from itsmdesk.models.cmdb import CIClass
    from itsmdesk.models.people import Site
    from itsmdesk.services.batch import select_many

    services, sites = select_many(
        CI.select(CI.id, CI.name).join(CIClass).where(CIClass.is_service == True,  # noqa: E712
                                                      CI.status != "retired").order_by(CI.name),
        Site.select(Site.id, Site.name).order_by(Site.name))
    return AnnouncementChoices(tuple(services), tuple(sites))


def announcement_view(announcement_id) -> AnnouncementView:  # noqa: ANN001
    """One announcement, for the dialog that edits it."""
    from itsmdesk.errors import NotFoundError

    row = Announcement.get_or_none(Announcement.id == announcement_id)
    if row is None:
        raise NotFoundError(N_("No announcement with id {id}"), id=str(announcement_id))
    return _views([row])[0]


def withdraw(announcement_id, version: int | None = None, actor: Actor = SYSTEM) -> Announcement:
    require(actor, "announcement.manage")
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
        _mail(row.id, actor)
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
    site_ids = {r.site_id for r in rows if r.site_id is not None}
    site_names: dict[uuid.UUID, str] = {}
    if site_ids:
        from itsmdesk.models.people import Site

        site_names = dict(Site.select(Site.id, Site.name).where(Site.id.in_(list(site_ids)))
                          .tuples())
    return [AnnouncementView(r.id, r.title, r.body, r.kind, r.starts_at, r.ends_at, r.source_ref,
                             r.active, r.version, services[r.id], r.audience or "everyone",
                             r.site_id, site_names.get(r.site_id)) for r in rows]


def current(at: dt.datetime | None = None, include_future: bool = True,
            limit: int = 500, site_id: Any = None,
            audience: str | None = None) -> list[AnnouncementView]:
    """Active announcements not yet over (and, by default, upcoming ones).  ``site_id``: only
    those for that site or every site; ``audience="everyone"``: leave out the IT staff's."""
    query = _active_query(at, include_future)
    if site_id is not None:
        query = query.where(Announcement.site.is_null() | (Announcement.site == _ids([site_id])[0]))
    if audience == "everyone":
        query = query.where(Announcement.audience == "everyone")
    return _views(list(query.limit(limit)))


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


def export(fmt: str = "text", at: dt.datetime | None = None, site_id: Any = None,
           audience: str | None = None) -> str:
    """The current and upcoming announcements as plain text or HTML (for an e-mail); for one
    site's people and/or leaving out the IT staff's notices (``audience="everyone"``)."""
    items = current(at, site_id=site_id, audience=audience)
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
            if _for(a):
                lines.append(f"  For: {_for(a)}")
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
        if _for(a):
            parts.append(f"<br><b>For:</b> {html.escape(_for(a))}")
        parts.append("</p>")
        if a.body:
            parts.append(f"<p>{html.escape(a.body).replace(chr(10), '<br>')}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _for(a: AnnouncementView) -> str:
    """Whom it is for, when that is not simply everyone everywhere ("" then)."""
    who = "IT staff" if a.audience == "it_staff" else ""
    where = a.site_name or ""
    if who and where:
        return f"{who} at {where}"
    return who or (f"everyone at {where}" if where else "")
