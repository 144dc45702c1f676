"""The replica's half of sync: push, then pull.

**Push.**  The replica's journal rows after the *push checkpoint* are its own writes (pulled
rows are always below it: see pull).  They go to the hub one batch (one service call) at a time;
each is applied on the hub in one transaction, at most once (:func:`ops.apply_batch`), and then
the push checkpoint moves past it.  Killed between the hub's commit and the checkpoint, the next
sync pushes the batch again and the hub skips it.

**Pull.**  The hub's journal rows after the *pull checkpoint* are applied to the replica in one
transaction together with the new checkpoints, so a pull is all or nothing.  The hub's rows
that replay this replica's own batches (they follow the ``!synced`` marker of this site) are
*echoes*: they are applied for the hub's versions and who/when but are not journalled again
(the replica journalled them when they were written).  Every other row is applied and journalled
as it is (the replica's hash chain continues over them).  The hub's value wins: a field this
replica changed too was either taken by the hub or kept there as a ``!conflict`` note, which
arrives here like any other row.

A pull runs only when nothing is left to push (checked under the replica's write lock); when a
person saved something between the push and the pull, the sync pushes again first.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, DatabaseBusyError, Phrase, ValidationError
from itsmdesk.models import replica as storage
from itsmdesk.models.base import utcnow
from itsmdesk.services import records, replay
from itsmdesk.services.sync import ops
from itsmdesk.services.sync.link import bound, open_unbound, schema_of, write_transaction
from itsmdesk.services.sync.replica import _last_journal_id, read_identity

MAX_ROUNDS = 5


@dataclass
class SyncReport:
    pushed_batches: int = 0
    skipped_batches: int = 0  # the hub had applied them already (an interrupted sync)
    pushed_rows: int = 0
    pulled_rows: int = 0  # hub rows applied and journalled here
    echoed_rows: int = 0  # this replica's own rows coming back with the hub's versions
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    rounds: int = 0
    pull_checkpoint: int = 0
    push_checkpoint: int = 0


def _meta(replica: pw.Database) -> dict[str, str]:
    meta = storage.read_meta(replica)
    if not meta.get("site"):
        raise ValidationError(N_("This database is not a replica: make one with 'itsmdesk "
                                 "replica create --from URL --site CODE FILE.db'."))
    return meta


def sync(replica: pw.Database, hub_url: str | None = None) -> SyncReport:
    """Sync the replica ``replica`` with its hub (``hub_url``, else the one it was made from)."""
    meta = _meta(replica)
    hub, _info = open_unbound(hub_url or meta["hub"])
    try:
        return sync_with(replica, hub)
    finally:
        hub.close()


def sync_with(replica: pw.Database, hub: pw.Database) -> SyncReport:
    meta = _meta(replica)
    if read_identity(hub) != meta.get("hub_identity"):
        raise ValidationError(N_("This replica was made from another database than {hub}; "
                                 "nothing was sent."), hub=meta.get("hub", "?"))
    ours = schema_of(replica, Phrase(N_("the replica")))
    theirs = schema_of(hub, Phrase(N_("the hub")))
    if ours != theirs:
        raise ops.refuse_schema(ours, theirs)
    report = SyncReport()
    for _round in range(MAX_ROUNDS):
        report.rounds += 1
        push(replica, hub, report)
        if pull(replica, hub, report):
            break
    else:
        raise DatabaseBusyError(N_("The replica kept changing during the sync; what was sent "
                                   "is safe on the hub. Sync again."))
    return report


def _batches(rows: list[tuple], site: str) -> Iterator[tuple[uuid.UUID, list[tuple]]]:
    group: list[tuple] = []
    for row in rows:
        if group and row[12] != group[0][12]:
            yield _batch_id(group, site), group
            group = []
        group.append(row)
    if group:
        yield _batch_id(group, site), group


def _batch_id(group: list[tuple], site: str) -> uuid.UUID:
    # (rows journalled without a batch id, by an old version: one made up from the row id)
    return group[0][12] or uuid.uuid5(ops.SYNC_NAMESPACE, f"{site}:{group[0][0]}")


def push(replica: pw.Database, hub: pw.Database, report: SyncReport) -> None:
    """Send every local journal batch after the push checkpoint to the hub."""
    meta = _meta(replica)
    site = meta["site"]
    base = int(meta.get("pull_checkpoint") or 0)
    schema = schema_of(replica, Phrase(N_("the replica")))
    rows = replay.read_journal(replica, after_id=int(meta.get("push_checkpoint") or 0))
    for batch, group in _batches(rows, site):
        op = ops.Batch(site, batch, schema, base, [row[1:] for row in group])
        with bound(hub):
            outcome = ops.apply_batch(op)
        with write_transaction(replica):
            storage.write_meta(replica, {"push_checkpoint": group[-1][0]})
        report.push_checkpoint = group[-1][0]
        if outcome.seen:
            report.skipped_batches += 1
        else:
            report.pushed_batches += 1
            report.pushed_rows += outcome.rows
            report.conflicts.extend(outcome.conflicts)


def _echo(row: tuple) -> tuple | None:
    """This replica's own row as the hub applied it: what to apply again for the hub's
    version and who/when (the data is here already)."""
    name = row[4]
    if name == records.CREATED:
        return None  # the record is here, at version 1, as the hub has it
    if name.endswith("+"):  # the child row is here: re-assert its values, stamp the parent
        return (*row[:4], name[:-1] + "~", None, row[6], *row[7:])
    return row


def _restore(row: tuple, site: str) -> list[tuple]:
    """A delete this replica made that the hub refused: the rows that put the record back here,
    when it is not here (the hub sent them in its ``!conflict`` note)."""
    if row[4] != ops.CONFLICT or not row[6] or '"restore"' not in row[6]:
        return []
    detail = json.loads(row[6])
    if detail.get("site") != site or not detail.get("restore"):
        return []
    model = ops.models_by_kind().get(row[1])
    if model is None or model.get_or_none(model.id == row[2]) is not None:
        return []
    return [(None, *r) for r in ops.decode_rows(detail["restore"])]


def pull(replica: pw.Database, hub: pw.Database, report: SyncReport) -> bool:
    """Apply the hub's journal after the pull checkpoint here, with the new checkpoints, in one
    transaction.  False (nothing done) when local writes wait to be pushed first."""
    meta = _meta(replica)
    site = meta["site"]
    checkpoint = int(meta.get("pull_checkpoint") or 0)
    rows = replay.read_journal(hub, after_id=checkpoint)
    own = ops.site_record_id(site)
    with bound(replica), write_transaction(replica):
        if _last_journal_id(replica) != int(storage.read_meta(replica)["push_checkpoint"]):
            return False
        echo: set[Any] = set()
        segments: list[tuple[bool, list[tuple]]] = []
        for row in rows:
            kind, record_id, name, batch = row[1], row[2], row[4], row[12]
            if kind == ops.MARKER_KIND and record_id == own and name == ops.SYNCED:
                echo.add(batch)
                continue
            keep = batch not in echo
            restore = _restore(row, site) if keep else []
            if not keep:
                row = _echo(row)
                if row is None:
                    continue
                report.echoed_rows += 1
            else:
                report.pulled_rows += 1
            if segments and segments[-1][0] == keep:
                segments[-1][1].append(row)
            else:
                segments.append((keep, [row]))
            if restore:  # (not journalled: the record comes back as it was)
                segments.append((False, restore))
        for keep, part in segments:
            replay.apply(part, keep_journal=keep)
        report.pull_checkpoint = rows[-1][0] if rows else checkpoint
        report.push_checkpoint = _last_journal_id(replica)
        storage.write_meta(replica, {"pull_checkpoint": report.pull_checkpoint,
                                     "push_checkpoint": report.push_checkpoint,
                                     "last_sync": records.to_text(utcnow())})
    return True
