"""What the desktop app shows about sync: whether the open database is a replica, of which
hub, when it last synced, and how many conflicts wait for a person (the Conflicts dock, the
status bar, the "Sync with hub" action).  Reads the bound database only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from itsmdesk.models.base import db
from itsmdesk.services.sync import decide
from itsmdesk.services.sync.replica import status


@dataclass(frozen=True)
class Overview:
    is_replica: bool
    site: str = ""
    hub: str = ""  # the hub's URL as the replica keeps it (no password)
    last_sync: dt.datetime | None = None  # UTC
    unpushed_rows: int = 0
    open_conflicts: int = 0
    hub_name: str = ""  # short, for the status bar: the file's name, or host/database
    # a scoped replica's scope (services/sync/scope.py): the site codes and team names it was
    # made with; both empty for a copy of the whole hub.  ``scope`` is the spec as written
    # (``site=OSL;teams=Oslo desk``), also when it cannot be read into sites and teams.
    scope: str = ""
    scope_sites: tuple[str, ...] = ()
    scope_teams: tuple[str, ...] = ()

    @property
    def is_scoped(self) -> bool:
        return bool(self.scope)


def _hub_name(hub: str) -> str:
    from itsmdesk.models.database import parse_url

    try:
        info = parse_url(hub)
    except Exception:  # noqa: BLE001 - an odd URL is shown as it is
        return hub
    if info.backend == "sqlite":
        return info.path.name if info.path else hub
    return f"{info.host}/{info.dbname}"


def overview(count_conflicts: bool = True) -> Overview:
    """``count_conflicts=False`` skips counting the open conflicts (a read of the journal from
    its newest row back: the journal has no index on its field name)."""
    state = status(db.obj)
    opened = decide.open_count() if count_conflicts else 0
    if not state:
        return Overview(False, open_conflicts=opened)
    last = state.get("last_sync") or ""
    text = state.get("scope") or ""
    sites: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    if text:
        from itsmdesk.errors import ValidationError
        from itsmdesk.services.sync.scope import parse

        try:
            spec = parse(text)
        except ValidationError:  # (shown as written)
            pass
        else:
            sites, teams = spec.sites, spec.teams
    return Overview(True, state.get("site", ""), state.get("hub", ""),
                    dt.datetime.fromisoformat(last) if last else None,
                    int(state.get("unpushed_rows") or 0), opened,
                    _hub_name(state.get("hub", "")), text, sites, teams)


def hub_password_needed(hub_url: str) -> bool:
    """Whether a sync with ``hub_url`` needs a password nobody gave yet ($ITSMDESK_PASSWORD
    and the keyring have none)."""
    from itsmdesk.services import credentials

    return credentials.needs_password(hub_url) and credentials.known_password(hub_url) is None
