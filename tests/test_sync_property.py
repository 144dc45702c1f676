"""Convergence, as a property (hypothesis): a hub and three replicas, random offline edits of
incidents (fields, new ones, deletes, work log notes), CIs and a change on every side; random
syncs over the network and by carried file, random cuts mid-sync (the hub committed a batch and
the replica never heard; a pull rolled back; an answer file lost).  After everyone syncs twice:

* all four databases hold the same records, row for row;
* every acknowledged edit is present, superseded by a later acknowledged edit of the same
  field, listed as a conflict, or its record was deleted by an acknowledged delete;
* every replica's journal hash chain is sound and no batch was applied twice at the hub.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from itsmdesk.errors import ItsmError
from itsmdesk.models import journal_guard
from itsmdesk.models.base import db as proxy
from itsmdesk.models.cmdb import CI
from itsmdesk.models.incident import Incident, WorkLog
from itsmdesk.models.journal import JournalEntry
from itsmdesk.services import records, replay
from itsmdesk.services.cmdb import cis
from itsmdesk.services.context import set_site
from itsmdesk.services.servicedesk import incidents
from itsmdesk.services.session import open_database
from itsmdesk.services.sync import bundle, engine, ops
from itsmdesk.services.sync.replica import create_replica
from tests.test_sync_basic import on

SITES = ("AAA", "BBB", "CCC")
FIELDS = {"incident": ("title", "description", "urgency"), "ci": ("description",)}


class SyncCutError(Exception):
    """A sync killed at this point."""


def _value(field: str, n: int):
    return (n % 3) + 1 if field == "urgency" else f"{field} {n}"


op = st.one_of(
    st.tuples(st.just("edit"), st.integers(0, 3), st.sampled_from(["incident", "ci"]),
              st.integers(0, 5), st.integers(0, 2), st.integers(0, 999)),
    st.tuples(st.just("note"), st.integers(0, 3), st.integers(0, 5), st.integers(0, 999)),
    st.tuples(st.just("create"), st.integers(0, 3), st.integers(0, 999)),
    st.tuples(st.just("delete"), st.integers(0, 3), st.integers(0, 5)),
    st.tuples(st.just("sync"), st.integers(1, 3), st.sampled_from(["net", "bundle"]),
              st.sampled_from(["none", "none", "push", "pull", "answer_lost"]),
              st.integers(0, 4)),
)


class World:
    def __init__(self, folder: Path) -> None:
        set_site("")
        self.hub, info = open_database(f"sqlite:///{folder / 'hub.db'}")
        self.incidents = [incidents.create_incident({"title": f"base {n}"}).id
                          for n in range(3)]
        self.cis = [cis.create_ci({"name": f"ci-{n}", "ci_class": "server"}).id
                    for n in range(2)]
        self.dbs = [self.hub]
        for site in SITES:
            path = folder / f"{site}.db"
            create_replica(info.url, site, path)
            replica, _ = open_database(f"sqlite:///{path}")
            self.dbs.append(replica)
        proxy.initialize(self.hub)
        self.folder = folder
        self.acked: list[tuple] = []  # (step, kind, record id, field, value)
        self.deleted: set = set()
        self.notes: list[tuple] = []  # (incident id, text)
        self.step = 0

    def site(self, i: int) -> str:
        return SITES[i - 1] if i else ""

    def close(self) -> None:
        for database in self.dbs:
            database.close()

    # -- offline work ------------------------------------------------------------------------------
    def run(self, action: tuple) -> None:
        self.step += 1
        name, where = action[0], action[1]
        if name == "sync":
            self.sync(*action[1:])
            return
        with on(self.dbs[where], self.site(where)):
            try:
                self.work(action)
            except ItsmError:
                pass  # (a record deleted here meanwhile: refused, nothing acknowledged)

    def work(self, action: tuple) -> None:
        name = action[0]
        if name == "edit":
            _n, _w, kind, index, field_no, n = action
            ids = self.incidents if kind == "incident" else self.cis
            record_id = ids[index % len(ids)]
            fields = FIELDS[kind]
            field = fields[field_no % len(fields)]
            value = _value(field, n)
            model = Incident if kind == "incident" else CI
            before = model.get_or_none(model.id == record_id)
            if kind == "incident":
                incidents.update_incident(record_id, None, {field: value})
            else:
                cis.update_ci(record_id, None, {field: value})
            if before is not None and records.to_text(records.field_value(before, field)) \
                    == records.to_text(value):
                return  # (the value it had here: a save that changes nothing, no edit to sync)
            self.acked.append((self.step, kind, record_id, field, records.to_text(value)))
        elif name == "note":
            _n, _w, index, n = action
            record_id = self.incidents[index % len(self.incidents)]
            text = f"note {self.step}-{n}"
            incidents.add_work_log(record_id, text)
            self.notes.append((record_id, text))
        elif name == "create":
            made = incidents.create_incident({"title": f"new {self.step}"})
            self.incidents.append(made.id)
        elif name == "delete":
            record_id = self.incidents[action[2] % len(self.incidents)]
            records.delete(Incident, record_id, None)
            self.deleted.add(record_id)

    # -- syncs, some cut short ---------------------------------------------------------------------
    def sync(self, which: int, how: str, cut: str, at: int) -> None:
        replica = self.dbs[which]
        try:
            with _cut(cut, at):
                if how == "net":
                    engine.sync_with(replica, self.hub)
                else:
                    out = self.folder / f"b{self.step}.itsync"
                    answer = self.folder / f"b{self.step}.answer"
                    bundle.export_bundle(replica, out)
                    with on(self.hub):
                        bundle.import_bundle(self.hub, out, answer)
                    if cut != "answer_lost":
                        bundle.import_answer(replica, answer)
        except SyncCutError:
            pass

    def settle(self) -> None:
        for _round in range(2):
            for which in (1, 2, 3):
                engine.sync_with(self.dbs[which], self.hub)


@contextlib.contextmanager
def _cut(cut: str, at: int):
    """Kill a sync: after the hub committed batch ``at`` (the replica never moves its push
    checkpoint), or inside the pull's transaction."""
    if cut == "push":
        real, calls = engine.advance_push, []

        def advance(replica, upto):  # noqa: ANN001, ANN202
            calls.append(upto)
            if len(calls) > at:
                raise SyncCutError
            real(replica, upto)

        engine.advance_push = advance
        try:
            yield
        finally:
            engine.advance_push = real
    elif cut == "pull":
        real_apply = engine.apply_pull

        def apply_pull(replica, rows, report, rebase, **kwargs):  # noqa: ANN001, ANN202, ANN003
            with replica.atomic():
                real_apply(replica, rows, report, rebase, **kwargs)
                raise SyncCutError  # (rolls the whole pull back)

        engine.apply_pull = apply_pull
        try:
            yield
        finally:
            engine.apply_pull = real_apply
    else:
        yield


def _dump(database) -> dict:
    with on(database):
        return replay.table_dump()


def _check(world: World) -> None:
    dumps = [_dump(d) for d in world.dbs]
    for n, dump in enumerate(dumps[1:], 1):
        assert dump == dumps[0], f"replica {SITES[n - 1]} differs from the hub"
    with on(world.hub):
        conflicts = {(c["id"], c["field"], c["replica"]) for c in ops.conflicts()}
        markers = [(r.record_id, r.batch) for r in JournalEntry.select().where(
            JournalEntry.field == ops.SYNCED)]
        assert len(markers) == len(set(markers)), "a batch was applied twice"
        deleted_for_sure = {rid for rid in world.deleted
                            if Incident.get_or_none(Incident.id == rid) is None}
        for step, kind, record_id, field, value in world.acked:
            model = Incident if kind == "incident" else CI
            row = model.get_or_none(model.id == record_id)
            if row is None:
                assert record_id in deleted_for_sure, (kind, field, value)
                continue
            final = records.to_text(records.field_value(row, field))
            later = any(s > step and r == record_id and f == field
                        for s, _k, r, f, _v in world.acked)
            assert final == value or later or (str(record_id), field, value) in conflicts, (
                f"edit lost: {kind} {field}={value!r} (step {step}); now {final!r}")
        for record_id, text in world.notes:
            if record_id in deleted_for_sure:
                continue
            assert WorkLog.select().where((WorkLog.incident == record_id)
                                          & (WorkLog.text == text)).count() == 1, text
    for replica in world.dbs[1:]:
        assert journal_guard.first_broken(replica) is None
        assert replica.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"


# Shrinking a failure takes minutes on this many databases: CI reports the example as found;
# ITSMDESK_SHRINK=1 shrinks it, ITSMDESK_EXAMPLES=N explores more (and at random).
@settings(max_examples=int(os.environ.get("ITSMDESK_EXAMPLES", "20")), deadline=None,
          derandomize="ITSMDESK_EXAMPLES" not in os.environ,
          phases=[Phase.explicit, Phase.reuse, Phase.generate]
          + ([Phase.shrink] if os.environ.get("ITSMDESK_SHRINK") else []),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(op, min_size=4, max_size=24))
def test_hub_and_three_replicas_converge(actions):
    # a few rows per hub transaction: pushes of several groups, cuts between them, and what
    # the groups of one push share (ops.PushCache) exercised by every example
    real_group_rows, engine.GROUP_ROWS = engine.GROUP_ROWS, 3
    with tempfile.TemporaryDirectory() as folder:
        world = World(Path(folder))
        try:
            for action in actions:
                world.run(action)
            world.settle()
            _check(world)
        finally:
            world.close()
            proxy.initialize(None)
            set_site("")
            engine.GROUP_ROWS = real_group_rows


def test_conflict_detail_names_both_sides():
    """(A fixed example of what the property relies on: the hub's value stays everywhere.)"""
    with tempfile.TemporaryDirectory() as folder:
        world = World(Path(folder))
        try:
            world.run(("edit", 1, "incident", 0, 0, 1))
            world.run(("edit", 0, "incident", 0, 0, 2))
            world.settle()
            _check(world)
            with on(world.hub):
                [c] = ops.conflicts()
            assert (c["field"], c["hub"], c["replica"], c["site"]) == (
                "title", "title 2", "title 1", "AAA")
            assert "revert" not in c and "restore" not in c
        finally:
            world.close()
            proxy.initialize(None)
