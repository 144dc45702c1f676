"""A process working on a replica draws references from the replica's site block.

Kept apart from the rest of sync and light to import: :func:`adopt_site` runs whenever a
database is opened (``services/session.open_database``), on the GUI's database thread too.
"""

from __future__ import annotations

import peewee as pw

from itsmdesk.models.replica import read_meta
from itsmdesk.services.context import current_site, set_site


def adopt_site(database: pw.Database) -> str | None:
    """When ``database`` is a replica, this process draws references from the replica's site
    block (``INC-OSL-000001``) and journals that site.  Returns the site, or None for a
    database that is not a replica."""
    try:
        site = read_meta(database).get("site")
    except pw.DatabaseError:
        return None
    if site and current_site() != site:
        set_site(site)
    return site or None
