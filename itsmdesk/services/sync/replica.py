"""Making a replica: the hub cloned into a new SQLite file, with its bookkeeping.

The clone is a **table copy**, not a replay of the hub's journal: every table is copied row by
row inside one read snapshot of the hub (REPEATABLE READ on PostgreSQL, one read transaction
on SQLite), so keys, versions and who/when are kept exactly, including what the journal does
not carry (rows a bulk loader wrote without journalling them, such as the large demo's;
local password hashes).  The hub's journal is then copied in order into the replica's journal
(the history stays readable offline), each row chained afresh by the replica's hash chain, so
``itsmdesk check`` finds it sound.  The replica's journal ids are its own: the hub journal id
the copy is current to is kept as the *pull checkpoint*, the replica's last journal id as the
*push checkpoint*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models import ALL_MODELS, journal_guard
from itsmdesk.models import replica as storage
from itsmdesk.models.base import SchemaInfo, utcnow
from itsmdesk.models.database import make_database, parse_url
from itsmdesk.models.migrations import LATEST_VERSION, ensure_schema
from itsmdesk.services import records, replay
from itsmdesk.services.sync.link import bound, is_sqlite, open_unbound, schema_of, write_transaction

_SITE = re.compile(r"^[A-Z0-9]{2,8}$")
HUB_IDENTITY_KEY = "sync.hub_identity"
SITE_KEY_PREFIX = "sync.site_key."


@dataclass
class ReplicaInfo:
    path: Path
    site: str
    hub: str
    hub_identity: str
    pull_checkpoint: int
    push_checkpoint: int
    rows: dict[str, int]
    journal_rows: int
    scope: str = ""


def check_site(code: str) -> str:
    site = (code or "").strip().upper()
    if not _SITE.match(site):
        raise ValidationError(N_("A site code is 2 to 8 letters or digits (for example OSL), "
                                 "not '{code}'."), code=code)
    return site


def hub_identity(hub: pw.Database) -> str:
    """The hub's identity: a random id kept in its ``schema_info`` (written on the first
    replica made from it), so a replica never syncs with another database by mistake."""
    import uuid

    with hub.bind_ctx([SchemaInfo], False, False):
        row = SchemaInfo.get_or_none(SchemaInfo.key == HUB_IDENTITY_KEY)
        if row is not None:
            return row.value
    with write_transaction(hub):
        storage.write_identity(hub, HUB_IDENTITY_KEY, str(uuid.uuid4()))
    return read_identity(hub) or ""


def site_key(hub: pw.Database, site: str) -> str:
    """The secret a site's carried files are signed with (HMAC-SHA256), kept in the hub's
    ``schema_info`` (never journalled, never synced to other replicas) and in the site's
    replicas; made on first use."""
    import secrets

    key_name = f"{SITE_KEY_PREFIX}{check_site(site)}"
    with hub.bind_ctx([SchemaInfo], False, False):
        row = SchemaInfo.get_or_none(SchemaInfo.key == key_name)
        if row is not None:
            return row.value
    with hub.atomic():
        storage.write_identity(hub, key_name, secrets.token_hex(32))
    with hub.bind_ctx([SchemaInfo], False, False):
        return SchemaInfo.get(SchemaInfo.key == key_name).value


def read_site_key(hub: pw.Database, site: str) -> str | None:
    with hub.bind_ctx([SchemaInfo], False, False):
        row = SchemaInfo.get_or_none(SchemaInfo.key == f"{SITE_KEY_PREFIX}{site}")
        return row.value if row else None


def read_identity(hub: pw.Database) -> str | None:
    with hub.bind_ctx([SchemaInfo], False, False):
        row = SchemaInfo.get_or_none(SchemaInfo.key == HUB_IDENTITY_KEY)
        return row.value if row else None


def create_replica(hub_url: str, site: str, path: Path, hub_shown: str | None = None,
                   scope: str | None = None) -> ReplicaInfo:
    """Clone the hub at ``hub_url`` into a new SQLite file ``path`` as a replica of ``site``.
    ``hub_shown``: the hub's URL as it is kept in the replica (without a password).
    ``scope``: only part of the hub (``teams=A,B`` and/or ``site=OSL``, see
    :mod:`.scope`); the journal copied is then that part's too."""
    from itsmdesk.services.sync import scope as scoping

    site = check_site(site)
    spec = scoping.parse(scope) if scope else None
    path = Path(path)
    if path.exists():
        raise ValidationError(N_("There is already a file at {path}; a replica is made in a new "
                                 "file."), path=str(path))
    hub, info = open_unbound(hub_url)
    if hub_shown is None:  # a URL the replica can sync with later (no password in it)
        hub_shown = (f"sqlite:///{info.path.resolve()}" if info.backend == "sqlite" and info.path
                     else info.display)
    target = None
    try:
        version = schema_of(hub, info.display)
        if version < LATEST_VERSION:
            raise ValidationError(N_("The hub {hub} is on schema version {found}, older than this "
                                     "itsmdesk ({ours}): upgrade the hub first."),
                                  hub=info.display, found=version, ours=LATEST_VERSION)
        identity = hub_identity(hub)
        key = site_key(hub, site)
        target = make_database(parse_url(f"sqlite:///{path}"))
        target.connect()
        with bound(target):  # (the schema code creates tables through the models)
            ensure_schema(target, None)
        target.execute_sql("PRAGMA foreign_keys = OFF")  # (outside a transaction, or ignored)
        with hub.atomic():
            if not is_sqlite(hub):
                hub.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            with target.atomic():
                selected = scoping.select(hub, spec) if spec is not None else None
                counts = storage.clone_tables(
                    hub, target, ALL_MODELS,
                    keep=scoping.row_filter(selected) if selected is not None else None)
                journal = replay.read_journal(hub)
                pull = journal[-1][0] if journal else 0
                gaps = _recent_holes(hub, journal)
                if selected is not None:
                    journal = scoping.journal_in(selected, journal)
                with bound(target):
                    records.insert_journal_rows([row[1:] for row in journal])
                    push = _last_journal_id(target)
                if info.backend == "postgresql" and info.user and info.password:
                    # (a secured hub keeps no local passwords: its maker signs in here with
                    # the password the hub just took)
                    from itsmdesk.services.accounts import hash_password

                    storage.set_local_password(target, info.user, hash_password(info.password))
                storage.write_meta(target, {
                    "pull_gaps": gaps, "site": site, "hub": hub_shown or info.display, "hub_identity": identity,
                    "pull_checkpoint": pull, "push_checkpoint": push, "site_key": key,
                    "created_at": records.to_text(utcnow()), "last_sync": "",
                    "scope": spec.text() if spec is not None else ""})
        target.execute_sql("PRAGMA foreign_keys = ON")
        broken = target.execute_sql("PRAGMA foreign_key_check").fetchall()
        if broken or journal_guard.first_broken(target) is not None:  # pragma: no cover
            raise ValidationError(N_("The copy of the hub is not consistent ({detail}); the "
                                     "replica was not made."), detail=str(broken[:3]))
        return ReplicaInfo(path, site, hub_shown or info.display, identity, pull, push, counts,
                           len(journal), spec.text() if spec is not None else "")
    except BaseException:
        if target is not None:
            target.close()
            target = None
            for suffix in ("", "-wal", "-shm", ".writer"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        raise
    finally:
        if target is not None:
            target.close()
        hub.close()


def _recent_holes(hub: pw.Database, journal: list[tuple]) -> str:
    """Journal ids missing among the hub's last ones when the copy was taken (PostgreSQL): a
    transaction running then may still commit them; the first pulls look for them (see
    ``engine.pull``)."""
    import json
    import time

    if is_sqlite(hub) or not journal:
        return "{}"
    ids = [row[0] for row in journal[-10000:]]
    present = set(ids)
    now = time.time()
    return json.dumps({str(i): now for i in range(ids[0], ids[-1]) if i not in present})


def _last_journal_id(database: pw.Database) -> int:
    row = database.execute_sql('SELECT MAX(id) FROM "journal"').fetchone()
    return int(row[0] or 0)


def status(database: pw.Database) -> dict[str, Any]:
    """The replica's bookkeeping (empty when ``database`` is not a replica), with how many
    local journal rows wait to be pushed (its signing key left out)."""
    from itsmdesk.services.sync.engine import pending_rows

    meta = storage.read_meta(database)
    if not meta.get("site"):
        return {}
    out: dict[str, Any] = {k: v for k, v in meta.items()
                           if k not in ("site_key", "pulled_ranges", "bases", "scope_waiting")}
    out["pull_checkpoint"] = int(meta.get("pull_checkpoint") or 0)
    out["push_checkpoint"] = int(meta.get("push_checkpoint") or 0)
    out["unpushed_rows"] = len(pending_rows(database, meta))
    return out
