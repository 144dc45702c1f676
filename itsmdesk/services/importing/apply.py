"""Stage 6 of the mapped import: write the planned records, created lookups and history at once.

Everything happens in one transaction: rows for missing people/teams/categories/CIs/linked
records, the new records (references drawn as one block), version-checked updates of existing
ones, and the journal, where folded event logs keep each event's original time and author.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, ConflictError
from itsmdesk.models.base import db, utcnow
from itsmdesk.models.cmdb import CI, CIClass
from itsmdesk.models.incident import Incident
from itsmdesk.models.people import Person, Site, Team
from itsmdesk.models.servicedesk import Category
from itsmdesk.services.context import Actor
from itsmdesk.services.importing import bulk as mapping_write
from itsmdesk.services.importing.report import ImportReport
from itsmdesk.services.importing.targets import REF_PREFIXES, LookupPlan
from itsmdesk.services.records import to_text

COUNT_NAMES = {Person: "people", Team: "teams", Site: "sites", Category: "categories", CI: "cis",
               CIClass: "ci_classes"}


def _count_name(model: type[pw.Model]) -> str:
    return COUNT_NAMES.get(model, getattr(model, "RECORD_KIND", model.__name__.lower()) + "s")


class _Journal:
    def __init__(self, actor: Actor, batch: uuid.UUID) -> None:
        self.rows: list[tuple] = []
        self.actor = actor
        self.batch = batch

        self.texts: dict[tuple[type, Any], str | None] = {}

    def text(self, value: Any) -> str | None:
        """``records.to_text``, memoised (imports repeat the same ids, times and codes)."""
        if value is None or value.__class__ is str:
            return value
        key = (value.__class__, value)
        try:
            return self.texts[key]
        except KeyError:
            text = self.texts[key] = to_text(value)
            return text
        except TypeError:  # unhashable (dict/list)
            return to_text(value)

    def add(self, kind: str, record_id: uuid.UUID, ref: str | None,
            changes: list[tuple[str, Any, Any]], version: int, at: dt.datetime,
            who: str | None = None) -> None:
        # ids as hex text, what the UUID columns store: the bulk insert then converts nothing
        person = self.actor.person_id
        who_id = None if who or person is None else person.hex
        who_name = who or self.actor.name
        site = self.actor.site
        rid = record_id.hex
        batch = self.batch.hex
        append = self.rows.append
        text = self.text
        when = text(at)  # what the driver would make of the datetime, once per event
        for name, old, new in changes:
            append((kind, rid, ref, name, text(old), text(new), who_id, who_name, when,
                    site, version, batch))


def _create_lookups(prepared, journal: _Journal, now: dt.datetime) -> None:  # noqa: ANN001
    plans: list[LookupPlan] = []
    if prepared.class_plan is not None:
        plans.append(prepared.class_plan)
    order = [CIClass, Site, Team, Person, Category, CI]
    unique = {id(p): p for p in prepared.lookups.values()}.values()  # fields share plans
    lookups = sorted(unique,
                     key=lambda p: order.index(p.model) if p.model in order else len(order))
    plans += lookups
    class_ids = prepared.class_plan.ids if prepared.class_plan else {}
    for plan in plans:
        if not plan.new:
            continue
        model = plan.model
        prefix = REF_PREFIXES.get(model)
        refs = iter(mapping_write.allocate_refs(prefix, len(plan.new), journal.actor.site)
                    if prefix else [])
        rows = []
        for new_id, values in plan.new.items():
            values = dict(values)
            if model is CI:
                values["ci_class"] = class_ids[values.pop("_class")]
            if prefix:
                values["ref"] = next(refs)
            values.update(id=new_id, created_at=now, updated_at=now,
                          created_by=journal.actor.person_id, updated_by=journal.actor.person_id)
            rows.append(values)
            label = values.get("ref") or values.get("name") or values.get("title")
            journal.add(model.RECORD_KIND, new_id, label,
                        [("*created*", None, label)]
                        + [(k, None, v) for k, v in values.items()
                           if k not in ("id", "created_at", "updated_at", "created_by",
                                        "updated_by", "version") and v not in (None, "", [], {})],
                        1, now)
        mapping_write.insert_records(model, rows)


def summarise(prepared, report: ImportReport) -> None:  # noqa: ANN001
    plans = ([prepared.class_plan] if prepared.class_plan else []) + list(
        {id(p): p for p in prepared.lookups.values()}.values())
    counts: dict[str, int] = {}
    for plan in plans:
        if plan.new:
            name = _count_name(plan.model) + "_created"
            counts[name] = counts.get(name, 0) + len(plan.new)
    report.extra.update(counts)


def apply(prepared, planned, existing, report: ImportReport, dry_run: bool,  # noqa: ANN001
          actor: Actor, progress: Callable[..., None] | None = None,
          cancel: Callable[[], bool] | None = None) -> None:
    from itsmdesk.services.importing.mapped import _diff, _tick, _with_attributes

    target, spec = prepared.target, prepared.spec
    model = target.model
    kind = model.RECORD_KIND
    has_attrs = "attributes" in model._meta.fields
    creates = []
    updates = []
    for i, rec in enumerate(planned):
        current = existing.get(i)
        if current is None:
            creates.append(rec)
            continue
        values = _with_attributes(rec.final, current.attributes if has_attrs else None)
        diff = _diff(current, values)
        if diff:
            updates.append((current, diff, rec))
        else:
            report.unchanged += 1
    report.created, report.updated = len(creates), len(updates)
    summarise(prepared, report)
    if dry_run:
        return
    now = utcnow()
    journal = _Journal(actor, uuid.uuid4())
    sla_cache: dict[tuple[str, int], tuple[int, int]] = {}
    total = len(creates) + len(updates)
    with _big_cache(), db.atomic():
        _tick(progress, cancel, 0, total, "writing")
        _create_lookups(prepared, journal, now)
        rows = _new_rows(creates, model, spec, actor, now, journal, sla_cache)
        _tick(progress, cancel, 0, total, "writing records")
        mapping_write.insert_records(
            model, rows, tick=lambda n: _tick(progress, cancel, n, total, "writing records"))
        for number, (current, diff, rec) in enumerate(updates):
            if number % 500 == 0:
                _tick(progress, cancel, len(creates) + number, total, "updating records")
            _update(model, kind, current, diff, rec, spec, journal, now)
        count = len(journal.rows)
        _tick(progress, cancel, 0, count, "writing history")
        mapping_write.insert_journal(
            journal.rows, tick=lambda n: _tick(progress, cancel, n, count, "writing history"))
    report.applied = True
    report.extra["journal_rows"] = len(journal.rows)


@contextlib.contextmanager
def _big_cache(kib: int = 256 * 1024) -> Iterator[None]:
    """SQLite: a larger page cache while one big transaction writes, so dirty index pages are
    not spilled to the WAL and read back (the connection's setting is restored after)."""
    if not isinstance(db.obj, pw.SqliteDatabase):
        yield
        return
    before = db.execute_sql("PRAGMA cache_size").fetchone()[0]
    if before < 0 and -before >= kib:
        yield
        return
    db.execute_sql(f"PRAGMA cache_size = {-int(kib)}")
    try:
        yield
    finally:
        db.execute_sql(f"PRAGMA cache_size = {int(before)}")


def _sla_due(kind: str, priority: int, opened: dt.datetime,
             cache: dict[tuple[str, int], tuple[int, int]]) -> tuple[dt.datetime, dt.datetime]:
    from itsmdesk.services.servicedesk import sla

    key = (kind, priority)
    if key not in cache:
        cache[key] = sla.targets(kind, priority)
    response, resolution = cache[key]
    return opened + dt.timedelta(minutes=response), opened + dt.timedelta(minutes=resolution)


def _new_rows(creates, model, spec, actor: Actor, now: dt.datetime,  # noqa: ANN001
              journal: _Journal, sla_cache) -> list[dict[str, Any]]:  # noqa: ANN001
    from itsmdesk.services.importing.mapped import _with_attributes

    prefix_of: dict[str, list] = {}
    if "ref" in model._meta.fields:
        counts: dict[str, int] = {}
        for rec in creates:
            prefix = _prefix(model, rec.final)
            counts[prefix] = counts.get(prefix, 0) + 1
        prefix_of = {p: list(reversed(mapping_write.allocate_refs(p, n, actor.site)))
                     for p, n in counts.items()}
    rows = []
    kind = model.RECORD_KIND
    fold = spec.events.fold
    # Ids in ascending order: primary-key and journal index inserts then append instead of
    # landing at random places (several times faster on a large import).
    ids = iter(sorted(uuid.uuid4() for _ in creates))
    for rec in creates:
        values = _with_attributes(rec.final)
        new_id = next(ids)
        values["id"] = new_id
        if prefix_of:
            values["ref"] = prefix_of[_prefix(model, rec.final)].pop()
        if rec.key and "external_key" in model._meta.fields:
            values["external_key"] = rec.key
        created = rec.first_at or now
        values["created_at"] = created
        values["updated_at"] = rec.last_at or created if fold else now
        values["created_by"] = values["updated_by"] = actor.person_id
        if model is Incident:
            opened = values.setdefault("opened_at", created)
            if "response_due" not in values and opened is not None:
                ticket_kind = values.get("kind") or "incident"
                values["response_due"], values["resolution_due"] = _sla_due(
                    ticket_kind, values.get("priority") or 5, opened, sla_cache)
        label = values.get("ref") or values.get("name") or values.get("title") or str(new_id)
        if fold and rec.events:
            for version, event in enumerate(rec.events, start=1):
                changes = event.changes
                if version == 1:
                    changes = [("*created*", None, label)] + changes
                journal.add(kind, new_id, label, changes, version, event.at or now, event.who)
            values["version"] = len(rec.events)
        else:
            changes = [("*created*", None, label)] + [
                (k, None, v) for k, v in values.items()
                if k not in ("id", "created_at", "updated_at", "created_by", "updated_by", "ref")
                and v not in (None, "", {}, [])]
            journal.add(kind, new_id, label, changes, 1, now)
        rows.append(values)
    return rows


def _prefix(model: type[pw.Model], values: dict[str, Any]) -> str:
    if model is Incident and values.get("kind") == "request":
        return "REQ"
    return REF_PREFIXES.get(model, "REC")


def _update(model, kind: str, current, diff: dict[str, tuple[Any, Any]], rec,  # noqa: ANN001
            spec, journal: _Journal, now: dt.datetime) -> None:  # noqa: ANN001
    label = current.record_label()
    version = current.version
    covered: set[str] = set()
    last_at = now
    if spec.events.fold and rec.events:
        since = current.updated_at
        for event in rec.events[1:]:
            if event.at is not None and since is not None and event.at <= since:
                continue
            changes = [c for c in event.changes if c[0] in diff or c[0].startswith("attributes.")]
            if not changes:
                continue
            version += 1
            journal.add(kind, current.id, label, changes, version, event.at or now, event.who)
            covered.update(c[0] for c in changes)
            last_at = event.at or now
    rest = [(name, old, new) for name, (old, new) in diff.items() if name not in covered]
    if rest:
        version += 1
        journal.add(kind, current.id, label, rest, version, now)
        last_at = now
    values = {name: new for name, (_old, new) in diff.items()}
    values.update(version=version, updated_at=last_at, updated_by=journal.actor.person_id)
    if not mapping_write.update_record(model, current.id, current.version, values):
        raise ConflictError(N_("{record} changed while the import ran; nothing was imported. "
                               "Run the import again."), record=label)
