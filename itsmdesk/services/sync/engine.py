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

Over the network a pull runs only when nothing is left to push (checked under the replica's
write lock); when a person saved something between the push and the pull, the sync pushes
again first.  A carried answer (:mod:`.bundle`) cannot wait for that: the site went on working
after it wrote its bundle.  Its pull **rebases**: the hub's rows are applied, then this
replica's unsent rows are applied again on top (not journalled again), so a person's unsent
edits stay in front of them.  The journal rows the pull adds sit after those unsent rows, so
the replica remembers them (``pulled_ranges``: never pushed back) and the hub state the unsent
rows started from (``bases``: the base each later push declares, so the hub still sees a field
changed on both sides as a conflict).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, DatabaseBusyError, Phrase, ValidationError
from itsmdesk.models import replica as storage
from itsmdesk.models.base import utcnow
from itsmdesk.services import records, replay
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.sync import hub_rights, ops
from itsmdesk.services.sync.link import (
    bound,
    is_sqlite,
    open_unbound,
    schema_of,
    write_transaction,
)
from itsmdesk.services.sync.replica import _last_journal_id, read_identity

MAX_ROUNDS = 5

Progress = Callable[[str, int, int], None]  # (phase "push"/"pull", done, total)


@dataclass
class SyncReport:
    pushed_batches: int = 0
    skipped_batches: int = 0  # the hub had applied them already (an interrupted sync)
    pushed_rows: int = 0
    pulled_rows: int = 0  # hub rows applied and journalled here
    echoed_rows: int = 0  # this replica's own rows coming back with the hub's versions
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    rounds: int = 0
    out_of_scope: int = 0  # hub rows about records outside a scoped replica's scope
    fetched_rows: int = 0  # rows of records that entered the scope, fetched whole
    refetched: bool = False  # the hub could not serve the checkpoint: the scope was fetched again
    pull_checkpoint: int = 0
    push_checkpoint: int = 0


def _meta(replica: pw.Database) -> dict[str, str]:
    meta = storage.read_meta(replica)
    if not meta.get("site"):
        raise ValidationError(N_("This database is not a replica: make one with 'itsmdesk "
                                 "replica create --from URL --site CODE FILE.db'."))
    return meta


def sync(replica: pw.Database, hub_url: str | None = None,
         progress: Progress | None = None, operator: Actor = SYSTEM) -> SyncReport:
    """Sync the replica ``replica`` with its hub (``hub_url``, else the one it was made from).
    ``progress(phase, done, total)`` is called per batch pushed and once per pull."""
    meta = _meta(replica)
    hub, _info = open_unbound(hub_url or meta["hub"])
    try:
        return sync_with(replica, hub, progress, operator)
    finally:
        hub.close()


def sync_with(replica: pw.Database, hub: pw.Database,
              progress: Progress | None = None, operator: Actor = SYSTEM) -> SyncReport:
    meta = _meta(replica)
    if read_identity(hub) != meta.get("hub_identity"):
        raise ValidationError(N_("This replica was made from another database than {hub}; "
                                 "nothing was sent."), hub=meta.get("hub", "?"))
    ours = schema_of(replica, Phrase(N_("the replica")))
    theirs = schema_of(hub, Phrase(N_("the hub")))
    if ours != theirs:
        raise ops.refuse_schema(ours, theirs)
    ensure_site_key(replica, hub)
    report = SyncReport()
    for _round in range(MAX_ROUNDS):
        report.rounds += 1
        push(replica, hub, report, progress, operator)
        if pull(replica, hub, report, progress=progress):
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


def ensure_site_key(replica: pw.Database, hub: pw.Database) -> str:
    """The key this site's carried files are signed with (kept on both sides; made when the
    first replica of the site was made, or at its first network sync for older replicas)."""
    from itsmdesk.services.sync.replica import site_key

    meta = _meta(replica)
    if meta.get("site_key"):
        return meta["site_key"]
    key = site_key(hub, meta["site"])
    with write_transaction(replica):
        storage.write_meta(replica, {"site_key": key})
    return key


def _ranges(meta: dict[str, str], name: str) -> list[list[int]]:
    return json.loads(meta.get(name) or "[]")


def pending_rows(replica: pw.Database, meta: dict[str, str] | None = None) -> list[tuple]:
    """This replica's own journal rows the hub has not acknowledged (after the push checkpoint,
    but the rows pulls added there)."""
    meta = meta or storage.read_meta(replica)
    pulled = _ranges(meta, "pulled_ranges")
    rows = replay.read_journal(replica, after_id=int(meta.get("push_checkpoint") or 0))
    return [r for r in rows if not any(lo <= r[0] <= hi for lo, hi in pulled)]


def base_for(meta: dict[str, str], first_id: int) -> int:
    """The hub journal id a local batch starting at ``first_id`` was written against."""
    for up_to, base in _ranges(meta, "bases"):
        if first_id <= up_to:
            return base
    return int(meta.get("pull_checkpoint") or 0)


def _pruned(meta: dict[str, str], checkpoint: int) -> dict[str, str]:
    """The range bookkeeping without what lies at or below the push checkpoint."""
    return {"pulled_ranges": json.dumps([r for r in _ranges(meta, "pulled_ranges")
                                         if r[1] > checkpoint]),
            "bases": json.dumps([b for b in _ranges(meta, "bases") if b[0] > checkpoint])}


def local_batches(replica: pw.Database) -> list[ops.Batch]:
    """Every unacknowledged local write as the batch pushed to the hub (with its base)."""
    meta = _meta(replica)
    site = meta["site"]
    schema = schema_of(replica, Phrase(N_("the replica")))
    return [ops.Batch(site, batch, schema, base_for(meta, group[0][0]),
                      [row[1:] for row in group])
            for batch, group in _batches(pending_rows(replica, meta), site)]


def advance_push(replica: pw.Database, upto: int) -> None:
    """Move the push checkpoint to ``upto`` (every own row up to it is on the hub)."""
    meta = storage.read_meta(replica)
    storage.write_meta(replica, {"push_checkpoint": upto, **_pruned(meta, upto)})


# Journal rows pushed per hub transaction (several batches, each merged alone).  Each group reads
# and locks the records it touches once, and writes each of them once however many rows change
# it, so larger groups are much cheaper per row (a site's days of work touch the same tickets
# again and again); the cost is the hub's locks held for the group's second or so, and the group
# sent again when the link drops mid-way.  Smaller on a link that drops often.
GROUP_ROWS = int(os.environ.get("ITSMDESK_SYNC_GROUP_ROWS") or 10000)


def _groups(batches: list[tuple[uuid.UUID, list[tuple]]]) -> Iterator[list[tuple]]:
    group: list[tuple] = []
    rows = 0
    for item in batches:
        if group and rows + len(item[1]) > GROUP_ROWS:
            yield group
            group, rows = [], 0
        group.append(item)
        rows += len(item[1])
    if group:
        yield group


def push(replica: pw.Database, hub: pw.Database, report: SyncReport,
         progress: Progress | None = None, operator: Actor = SYSTEM) -> None:
    """Send every local journal batch after the push checkpoint to the hub, several batches per
    hub transaction; the push checkpoint moves after each."""
    meta = _meta(replica)
    site = meta["site"]
    schema = schema_of(replica, Phrase(N_("the replica")))
    batches = list(_batches(pending_rows(replica, meta), site))
    done = 0
    cache = ops.PushCache()
    for group in _groups(batches):
        ops_ = [ops.Batch(site, batch, schema, base_for(meta, rows[0][0]),
                          [row[1:] for row in rows]) for batch, rows in group]
        with bound(hub), hub_rights.refusals(operator):  # (a secured hub: the operator's rights)
            outcomes = ops.apply_batches(ops_, operator, cache)
        last = group[-1][1][-1][0]
        with write_transaction(replica):
            advance_push(replica, last)
        report.push_checkpoint = last
        for outcome in outcomes:
            if outcome.seen:
                report.skipped_batches += 1
            else:
                report.pushed_batches += 1
                report.pushed_rows += outcome.rows
                report.conflicts.extend(outcome.conflicts)
        done += len(group)
        if progress:
            progress("push", done, len(batches))


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
    """A conflict the hub journalled over a row of this replica: the rows that put this replica
    back to the hub's state (sent in the ``!conflict`` note: ``revert`` for a value not taken
    or a row refused, ``restore`` for a delete the hub refused when the record is not here)."""
    if row[4] != ops.CONFLICT or not row[6] or '"site"' not in row[6]:
        return []
    detail = json.loads(row[6])
    if detail.get("site") != site:
        return []
    out = [(None, *r) for r in ops.decode_rows(detail.get("revert") or [])]
    if detail.get("restore"):
        model = ops.models_by_kind().get(row[1])
        if model is not None and model.get_or_none(model.id == row[2]) is None:
            out += [(None, *r) for r in ops.decode_rows(detail["restore"])]
    return out


# How long a hole in the hub's journal ids is watched for a row committed late (see pull).
GAP_WATCH_SECONDS = 24 * 3600
GAP_WATCH_MAX = 5000


def _gaps(meta: dict[str, str]) -> dict[int, float]:
    return {int(k): float(v) for k, v in json.loads(meta.get("pull_gaps") or "{}").items()}


def pull(replica: pw.Database, hub: pw.Database, report: SyncReport,
         progress: Progress | None = None) -> bool:
    """Apply the hub's journal after the pull checkpoint here, with the new checkpoints, in one
    transaction.  False (nothing done) when local writes wait to be pushed first.

    On a PostgreSQL hub, journal ids are handed out when a transaction writes, not when it
    commits: a long transaction can commit id 100 after id 101 was pulled.  So the ids missing
    below the new checkpoint (holes: rolled-back transactions, or ones still running) are
    watched: every pull asks for them again and applies those that have appeared, for a day
    (no write transaction of ours runs that long)."""
    import time

    meta = _meta(replica)
    checkpoint = int(meta.get("pull_checkpoint") or 0)
    gaps = _gaps(meta) if not is_sqlite(hub) else {}
    rows = replay.read_journal(hub, after_id=checkpoint, also=sorted(gaps))
    now = time.time()
    if not is_sqlite(hub):
        seen = {r[0] for r in rows}
        gaps = {g: t for g, t in gaps.items() if g not in seen and now - t < GAP_WATCH_SECONDS}
        fresh = [r[0] for r in rows if r[0] > checkpoint]
        if fresh:
            expected = checkpoint + 1
            for n in fresh:
                for hole in range(expected, n):
                    gaps[hole] = now
                expected = n + 1
        gaps = dict(sorted(gaps.items())[-GAP_WATCH_MAX:])
    from itsmdesk.services.sync import scope

    if scope.hub_cannot_serve(hub, checkpoint):  # history trimmed: fetch the scope again
        if pending_rows(replica):
            return False
        again = scope.refetch(replica, hub)
        report.refetched, report.pull_checkpoint = True, again.pull_checkpoint
        return True
    done = apply_pull(replica, rows, report, rebase=False,
                      late={r[0] for r in rows if r[0] <= checkpoint}, gaps=gaps,
                      scope_filter=scope.filter_for(replica, hub, rows))
    if done and progress:
        progress("pull", len(rows), len(rows))
    return done


def apply_pull(replica: pw.Database, rows: list[tuple], report: SyncReport,
               rebase: bool, late: set[int] | None = None,
               gaps: dict[int, float] | None = None,
               scope_filter: Any = None) -> bool:
    """Apply hub journal rows (ids after the pull checkpoint, in order) and the new checkpoint
    in one transaction.  Without ``rebase`` nothing is done (False) while own rows wait to be
    pushed; with it they are applied again on top of the hub's (see the module's docstring).
    ``scope_filter`` (a scoped replica, :mod:`.scope`): the records it fetched are inserted
    first and the hub's rows it does not admit are skipped (a carried answer: one is made
    here, fetching nothing)."""
    with bound(replica), write_transaction(replica):
        meta = _meta(replica)
        site = meta["site"]
        checkpoint = int(meta.get("pull_checkpoint") or 0)
        rows = [r for r in rows if r[0] > checkpoint or r[0] in (late or ())]
        pending = pending_rows(replica, meta)
        if pending and not rebase:
            return False
        if scope_filter is None and meta.get("scope"):
            from itsmdesk.services.sync import scope

            scope_filter = scope.filter_for(replica, None, rows)
        if scope_filter is not None:
            report.fetched_rows += scope_filter.insert(replica)
        own = ops.site_record_id(site)
        echo: set[Any] = set()
        apply_rows: list[tuple] = []
        keep_flags: list[bool] = []
        for row in rows:
            kind, record_id, name, batch = row[1], row[2], row[4], row[12]
            if kind == ops.MARKER_KIND and record_id == own and name == ops.SYNCED:
                echo.add(batch)
                continue
            keep = batch not in echo
            if keep and scope_filter is not None and not scope_filter.admit(row):
                report.out_of_scope += 1
                continue
            restore = _restore(row, site) if keep else []
            if not keep:
                row = _echo(row)
                if row is None:
                    continue
                report.echoed_rows += 1
            else:
                report.pulled_rows += 1
            apply_rows.append(row)
            keep_flags.append(keep)
            if restore:  # (not journalled: the record comes back as it was)
                apply_rows += restore
                keep_flags += [False] * len(restore)
        before = _last_journal_id(replica)
        # one pass, so the many rows on one record fold into one UPDATE (replay._Updates)
        replay.apply(apply_rows, keep_journal=keep_flags, skip_orphans=True)
        after = _last_journal_id(replica)
        if pending:  # the unsent rows again, on top of the hub's (journalled already)
            again = [r for r in (_echo(row) for row in pending) if r is not None]
            replay.apply(again, keep_journal=False)
        report.pull_checkpoint = max([checkpoint, *(r[0] for r in rows)])
        values: dict[str, Any] = {"pull_checkpoint": report.pull_checkpoint,
                                  "last_sync": records.to_text(utcnow())}
        if gaps is not None:
            values["pull_gaps"] = json.dumps({str(k): v for k, v in gaps.items()})
        if pending:
            if after > before:
                values["pulled_ranges"] = json.dumps(
                    [*_ranges(meta, "pulled_ranges"), [before + 1, after]])
            bases = _ranges(meta, "bases")
            if not bases or bases[-1][0] < pending[-1][0]:
                values["bases"] = json.dumps([*bases, [pending[-1][0], checkpoint]])
            report.push_checkpoint = int(meta.get("push_checkpoint") or 0)
        else:
            report.push_checkpoint = after
            values.update({"push_checkpoint": after, "pulled_ranges": "[]", "bases": "[]"})
        storage.write_meta(replica, values)
    return True
