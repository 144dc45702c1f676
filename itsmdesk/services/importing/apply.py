"""Stage 6 of the mapped import: write the planned records, created lookups and history at once.

Everything happens in one write of the funnel (``records.atomic()``), through its bulk half
(:mod:`itsmdesk.services.bulk`): rows for missing people/teams/categories/CIs/linked records, the
new records (references drawn as one block), version-checked updates of existing ones, and the
journal in the funnel's format, so ``replay`` rebuilds the imported records exactly:

* a new record is one ``*created*`` row holding its fields.  From a folded event log it holds
  the record as the FIRST event left it, stamped with that event's time and author; each later
  event that changed something is one version, one row per changed field, with the event's own
  time and author.  History reads as it happened in the old tool.
* the record stores what its journal implies: ``created_at`` the first event's time,
  ``updated_at``/``version`` the last event's, ``created_by``/``updated_by`` the id behind the
  rows (none for the old tool's authors, who are names, not people here).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, ConflictError
from itsmdesk.models.base import db
from itsmdesk.models.cmdb import CI, CIClass
from itsmdesk.models.incident import Incident
from itsmdesk.models.people import Person, Site, Team
from itsmdesk.models.servicedesk import Category
from itsmdesk.services import bulk, records
from itsmdesk.services.context import Actor
from itsmdesk.services.importing.report import ImportReport
from itsmdesk.services.importing.targets import LINK_FIELDS, REF_PREFIXES, LookupPlan

COUNT_NAMES = {Person: "people", Team: "teams", Site: "sites", Category: "categories", CI: "cis",
               CIClass: "ci_classes"}
ATTR = "attributes."


def _count_name(model: type[pw.Model]) -> str:
    return COUNT_NAMES.get(model, getattr(model, "RECORD_KIND", model.__name__.lower()) + "s")


def _label(values: dict[str, Any]) -> str:
    """How ``records`` labels a record in its journal (its ``record_label``)."""
    return str(values.get("ref") or values.get("name") or values.get("title") or values["id"])


class _Journal:
    """The import's journal rows (plain tuples in ``records.JOURNAL_COLUMNS`` order)."""

    def __init__(self, actor: Actor, write: records.Write) -> None:
        self.rows: list[tuple] = []
        self.actor = actor
        self.site = records.site_of(actor)  # the actor's site, else this workstation's
        self.batch = write.batch
        self.text = bulk.Texts()
        self.authors: dict[str, Actor] = {}

    def author(self, who: str | None) -> Actor:
        """The actor a row is stamped with: the old tool's author (a name, no person id) or
        the person importing."""
        if not who:
            return self.actor
        found = self.authors.get(who)
        if found is None:
            found = self.authors[who] = Actor(None, who, self.site)
        return found

    def created(self, kind: str, record_id: uuid.UUID, label: str, wire: dict[str, str | None],
                at: dt.datetime, who: str | None = None) -> None:
        self.rows.append(records.created_row(kind, record_id, label, wire, self.author(who), at,
                                             1, self.batch))

    def fields(self, kind: str, record_id: uuid.UUID, label: str,
               changes: list[tuple[str, Any, Any]], version: int, at: dt.datetime,
               who: str | None = None) -> dict[str, str | None]:
        """One row per changed field; returns field -> the text written as its new value."""
        actor = self.author(who)
        person, name, site = actor.person_id, actor.name, self.site
        batch = self.batch
        append = self.rows.append
        text = self.text
        written = {}
        for field, old, new in changes:
            new_text = written[field] = text(new)
            append((kind, record_id, label, field, text(old), new_text, person, name, at, site,
                    version, batch))
        return written


def _fold_attributes(changes: list[tuple[str, Any, Any]], attrs: dict[str, Any]
                     ) -> list[tuple[str, Any, Any]]:
    """An event's changes with its ``attributes.x`` entries as one change of the ``attributes``
    document (the field the journal and replay know); ``attrs`` is the document so far and is
    brought up to date (``None`` values leave a key as it is, as ``_with_attributes`` does)."""
    if not any(name.startswith(ATTR) for name, _o, _n in changes):
        return changes
    out = [c for c in changes if not c[0].startswith(ATTR)]
    old = dict(attrs)
    for name, _old, new in changes:
        if name.startswith(ATTR) and new is not None:
            attrs[name[len(ATTR):]] = new
    if attrs != old:
        out.append(("attributes", old, dict(attrs)))
    return out


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
    person = journal.actor.person_id
    for plan in plans:
        if not plan.new:
            continue
        model = plan.model
        kind = records.kind_of(model)
        wire = bulk.wire_maker(model, texts=journal.text)
        prefix = REF_PREFIXES.get(model)
        refs = iter(bulk.reserve_refs(prefix, len(plan.new), journal.site)
                    if prefix else [])
        rows = []
        for new_id, values in plan.new.items():
            values = dict(values)
            if model is CI:
                values["ci_class"] = class_ids[values.pop("_class")]
            if prefix:
                values["ref"] = next(refs)
            values.update(id=new_id, version=1, created_at=now, updated_at=now,
                          created_by=person, updated_by=person)
            bulk.fill_defaults(model, values)
            rows.append(values)
            journal.created(kind, new_id, _label(values), wire(values), now)
        bulk.insert_records(model, rows)


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
    from itsmdesk.services.importing.mapped import _diff, _with_attributes

    model = prepared.target.model
    has_attrs = "attributes" in model._meta.fields
    creates = []
    updates = []
    stored_links = _stored_links(prepared, planned, existing)
    added = 0
    from itsmdesk.models.base import utcnow
    from itsmdesk.services.servicedesk import sla

    clock_now = utcnow().replace(microsecond=0)
    sla_cache = sla.Targets()
    for i, rec in enumerate(planned):
        current = existing.get(i)
        if current is None:
            creates.append(rec)
            added += sum(len(ids) for ids in rec.links.values())
            continue
        # links already there are kept; the ones the file adds are added (none removed)
        rec.links = {name: [v for v in ids if (current.id, v) not in stored_links[name]]
                     for name, ids in rec.links.items()}
        added += sum(len(ids) for ids in rec.links.values())
        values = _with_attributes(rec.final, current.attributes if has_attrs else None)
        diff = _diff(current, values)
        if diff and model is Incident:
            diff.update(clock_changes(current, diff, prepared.spec, clock_now, sla_cache))
        if diff or any(rec.links.values()):
            updates.append((current, diff, rec))
        else:
            report.unchanged += 1
    report.created, report.updated = len(creates), len(updates)
    for name in rec_link_names(prepared):
        report.extra[f"{name}_added"] = added
    summarise(prepared, report)
    if dry_run:
        return
    try:
        _write(prepared, creates, updates, report, actor, progress, cancel, sla_cache)
    except (pw.IntegrityError, pw.DataError) as exc:
        # the checks before (importing/unique.py) should have found it: still a sentence
        raise ConflictError(N_("The import would break a rule of the database ({reason}); "
                               "nothing was imported. Run it with --dry-run to see the rows "
                               "involved."), reason=str(exc).splitlines()[0]) from exc


def rec_link_names(prepared) -> list[str]:  # noqa: ANN001
    return [n for n in prepared.spec.fields if (prepared.target.kind, n) in LINK_FIELDS]


def _stored_links(prepared, planned, existing) -> dict[str, set[tuple[Any, Any]]]:  # noqa: ANN001
    """Per link field: the (record, linked row) pairs already stored for the records the
    import updates."""
    out: dict[str, set[tuple[Any, Any]]] = {}
    ids = sorted({existing[i].id for i in existing}, key=str)
    for name in rec_link_names(prepared):
        link = LINK_FIELDS[(prepared.target.kind, name)]
        parent, other = link.child._meta.fields[link.parent], link.child._meta.fields[link.other]
        pairs: set[tuple[Any, Any]] = set()
        for start in range(0, len(ids), 500):
            query = link.child.select(parent, other).where(parent.in_(ids[start:start + 500]))
            pairs.update(query.tuples())
        out[name] = pairs
    return out


def _write_links(prepared, items: list[tuple[Any, Any, Any, Any, dict]],  # noqa: ANN001
                 journal: _Journal) -> None:
    """Child rows for ``items`` = (record id, label, version, at, rec.links), journalled on
    the record with its version and time (what replay stamps the record with)."""
    for name in rec_link_names(prepared):
        link = LINK_FIELDS[(prepared.target.kind, name)]
        wire = bulk.wire_maker(link.child, include_id=True, texts=journal.text)
        rows = []
        for record_id, label, version, at, who, links in items:
            for other in links.get(name, ()):
                row = {"id": uuid.uuid4(), link.parent: record_id, link.other: other}
                rows.append(row)
                journal.rows.append(bulk.child_row(link.child, "+", record_id, label, None,
                                                   wire(row), journal.author(who), at, version,
                                                   journal.batch))
        bulk.insert_records(link.child, rows)


def _write(prepared, creates, updates, report: ImportReport, actor: Actor,  # noqa: ANN001
           progress, cancel, sla_cache) -> None:  # noqa: ANN001
    from itsmdesk.services.importing.mapped import _tick

    spec, model = prepared.spec, prepared.target.model
    kind = records.kind_of(model)
    total = len(creates) + len(updates)
    with _big_cache(), records.atomic() as write:
        _one_import_at_a_time(kind)
        _refuse_keys_taken(model, creates)
        now = write.now
        journal = _Journal(actor, write)
        _tick(progress, cancel, 0, total, "writing")
        _create_lookups(prepared, journal, now)
        rows = _new_rows(creates, model, spec, now, journal, sla_cache)
        _tick(progress, cancel, 0, total, "writing records")
        bulk.insert_records(
            model, rows, tick=lambda n: _tick(progress, cancel, n, total, "writing records"))
        link_items = [(values["id"], _label(values), values["version"], values["updated_at"],
                       rec.events[-1].who if rec.events else None, rec.links)
                      for values, rec in zip(rows, creates, strict=True) if rec.links]
        changed = []
        labels = {}
        for number, (current, diff, rec) in enumerate(updates):
            if number % 500 == 0:
                _tick(progress, cancel, len(creates) + number, total, "updating records")
            update = _update(kind, current, diff, rec, spec, journal, now)
            if any(rec.links.values()):
                # the links added are one more version of the record, now, by the importer
                values = update[2]
                values.update(version=values["version"] + 1, updated_at=now,
                              updated_by=journal.actor.person_id)
                link_items.append((current.id, current.record_label(), values["version"], now,
                                   None, rec.links))
            changed.append(update)
            labels[current.id] = current.record_label()
        _write_links(prepared, link_items, journal)
        moved = bulk.update_records(model, changed)
        if moved:
            raise ConflictError(N_("{record} changed while the import ran; nothing was "
                                   "imported. Run the import again."),
                                record=labels.get(moved[0], str(moved[0])))
        count = len(journal.rows)
        _tick(progress, cancel, 0, count, "writing history")
        bulk.insert_journal(
            journal.rows, tick=lambda n: _tick(progress, cancel, n, count, "writing history"))
    report.applied = True
    report.extra["journal_rows"] = len(journal.rows)


def _one_import_at_a_time(kind: str) -> None:
    """Imports of one kind run one after the other: on PostgreSQL a transaction-scoped advisory
    lock (SQLite's write transaction already begins IMMEDIATE, which serialises every writer)."""
    if isinstance(db.obj, pw.PostgresqlDatabase):
        db.execute_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"itsmdesk-import-{kind}",))


def _refuse_keys_taken(model, creates: list) -> None:  # noqa: ANN001
    """The same file imported twice at once: the records planned as new were looked up before
    this write began; if another import created them meanwhile, nothing is imported (run again:
    it updates them instead of doubling them)."""
    if "external_key" not in model._meta.fields:
        return
    keys = sorted({rec.key for rec in creates if rec.key})
    for start in range(0, len(keys), 500):
        taken = (model.select(model.external_key)
                 .where(model.external_key.in_(keys[start:start + 500])).limit(1).tuples().first())
        if taken:
            raise ConflictError(N_("Another import created the record {key} while this one was "
                                   "getting ready; nothing was imported. Run the import again: "
                                   "it will update what is there instead of doubling it."),
                                key=taken[0])


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


def _sla_fields(values: dict[str, Any], rec, now: dt.datetime, lookup) -> dict[str, Any]:  # noqa: ANN001
    """An imported ticket's SLA fields from the one SLA clock (services/servicedesk/sla.py):
    its history is its first values and its events (status and priority changes at their
    times), counted on the target's business calendar, read as of ``now``."""
    from itsmdesk.services.servicedesk import sla

    events = rec.events if rec.events else []
    if len(events) > 1:
        # the first values as the journal's *created* snapshot has them (_first_values)
        touched = {name for event in events[1:] for name, _o, _n in event.changes}
        first = dict(values)
        for name in touched:
            if name in (rec.first or {}):
                first[name] = rec.first[name]
            else:
                first.pop(name, None)
        first["opened_at"] = values["opened_at"]
        changes = [(e.at or now, {n: v for n, _o, v in e.changes}) for e in events[1:]]
        history = sla.history_from_changes(first, changes)
    else:
        history = sla.history_from_values(values)
    last = max([now, history.opened] + [a for a, _s in history.statuses])
    return sla.reading(history, last, lookup).fields()


SLA_FIELDS = ("response_due", "resolution_due", "sla_state", "escalation_level")
# what the SLA clock reads: a change to one of these on a re-import moves the clock
SLA_INPUTS = {"kind", "opened_at", "status", "priority", "paused_since", "resolved_at",
              "closed_at", "responded_at", "service", "team"}


def _clock_fields(values: dict[str, Any], rec, now: dt.datetime, lookup) -> dict[str, Any]:  # noqa: ANN001
    """The SLA fields of an imported ticket: the one SLA clock's reading of its history; when
    the file gives the resolution deadline itself, the state follows from that deadline."""
    fields = _sla_fields(values, rec, now, lookup)
    due = values.get("resolution_due")
    if due is not None and "sla_state" not in values:
        status = values.get("status") or "new"
        from itsmdesk.models.incident import CLOSED_STATUSES

        if status in CLOSED_STATUSES:
            done = values.get("resolved_at") or values.get("closed_at") or now
            state = "breached" if done > due else "met"
        else:
            state = "breached" if now > due else ("paused" if status == "pending" else "ok")
        fields["sla_state"] = state
        fields["escalation_level"] = 2 if state == "breached" else 0
    return fields


def clock_changes(current, diff: dict[str, tuple[Any, Any]], spec, now: dt.datetime,  # noqa: ANN001
                  lookup) -> dict[str, tuple[Any, Any]]:  # noqa: ANN001
    """A re-import that moves what the SLA clock reads (status, times, priority...) moves the
    stored clock too (the fields the mapping fills itself are left as the file says)."""
    if not SLA_INPUTS.intersection(diff) or "sla_state" in spec.fields:
        return {}
    from itsmdesk.services import records
    from itsmdesk.services.servicedesk import sla

    merged = {name: records.field_value(current, name) for name in SLA_INPUTS | set(SLA_FIELDS)}
    merged.update({name: new for name, (_old, new) in diff.items()})
    if merged.get("opened_at") is None:
        return {}
    history = sla.history_from_values(merged)
    last = max([now, history.opened] + [a for a, _s in history.statuses])
    fields = sla.reading(history, last, lookup).fields()
    if "resolution_due" in spec.fields:
        fields = {k: v for k, v in fields.items() if k not in ("response_due", "resolution_due")}
    return {name: (records.field_value(current, name), value) for name, value in fields.items()
            if name not in spec.fields and name not in diff
            and records.to_text(records.field_value(current, name)) != records.to_text(value)}


def _first_values(model: type[pw.Model], values: dict[str, Any], rec) -> dict[str, Any]:  # noqa: ANN001
    """The record as the first event of its log left it: ``values`` (its final state) with
    every field a later event changed set back to its first value (or its default, when the
    first row said nothing about it)."""
    from itsmdesk.services.importing.mapped import _with_attributes

    touched = {name for event in rec.events[1:] for name, _o, _n in event.changes}
    if not touched:
        return values
    first = rec.first or {}
    start = dict(values)
    for name in touched:
        if name.startswith(ATTR):
            continue
        if name in first:
            start[name] = first[name]
        else:
            start.pop(name, None)
    if any(name.startswith(ATTR) for name in touched):
        start.pop("attributes", None)
        start.update(_with_attributes({k: v for k, v in first.items() if k.startswith(ATTR)}))
    return bulk.fill_defaults(model, start)


def _new_rows(creates, model, spec, now: dt.datetime,  # noqa: ANN001
              journal: _Journal, sla_cache) -> list[dict[str, Any]]:  # noqa: ANN001
    from itsmdesk.services.importing.mapped import _with_attributes

    prefix_of: dict[str, list] = {}
    if "ref" in model._meta.fields:
        counts: dict[str, int] = {}
        for rec in creates:
            prefix = _prefix(model, rec.final)
            counts[prefix] = counts.get(prefix, 0) + 1
        prefix_of = {p: list(reversed(bulk.reserve_refs(p, n, journal.site)))
                     for p, n in counts.items()}
    rows = []
    kind = records.kind_of(model)
    wire = bulk.wire_maker(model, texts=journal.text)
    text = journal.text
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
        if model is Incident and values.setdefault("opened_at", created) is not None:
            for name, value in _clock_fields(values, rec, now, sla_cache).items():
                values.setdefault(name, value)  # what the file says is kept
        bulk.fill_defaults(model, values)
        label = _label(values)
        events = rec.events if fold else []
        first_who = events[0].who if events else None
        at = (events[0].at or now) if events else now
        snapshot = wire(_first_values(model, values, rec) if events else values)
        if created != at:
            snapshot["created_at"] = text(created)
        journal.created(kind, new_id, label, snapshot, at, first_who)
        version, last_who = 1, first_who
        if len(events) > 1:
            attrs = dict(_with_attributes(
                {k: v for k, v in (rec.first or {}).items() if k.startswith(ATTR)}
            ).get("attributes") or {})
            written: dict[str, str | None] = {}
            for event in events[1:]:
                changes = _fold_attributes(event.changes, attrs)
                if not changes:
                    continue
                version += 1
                at, last_who = event.at or now, event.who
                written.update(journal.fields(kind, new_id, label, changes, version, at,
                                              event.who))
            # what the events left must be the record's final state (replay rebuilds it so)
            rest = [(name, None, values.get(name)) for name, last in written.items()
                    if text(values.get(name)) != last]
            if rest:
                version += 1
                at, last_who = now, None
                journal.fields(kind, new_id, label, rest, version, at)
        values["version"] = version
        values["created_at"], values["updated_at"] = created, at
        values["created_by"] = journal.author(first_who).person_id
        values["updated_by"] = journal.author(last_who).person_id
        rows.append(values)
    return rows


def _prefix(model: type[pw.Model], values: dict[str, Any]) -> str:
    if model is Incident and values.get("kind") == "request":
        return "REQ"
    return REF_PREFIXES.get(model, "REC")


def _update(kind: str, current, diff: dict[str, tuple[Any, Any]], rec,  # noqa: ANN001
            spec, journal: _Journal, now: dt.datetime  # noqa: ANN001
            ) -> tuple[Any, int, dict[str, Any]]:
    """Journal the changes to a stored record (the events newer than its last update, then
    whatever they leave different from the export); returns its version-checked update."""
    label = current.record_label()
    version = current.version
    written: dict[str, str | None] = {}
    last_at, last_who = now, None
    text = journal.text
    if spec.events.fold and rec.events:
        since = current.updated_at
        attrs = dict(getattr(current, "attributes", None) or {})
        for event in rec.events[1:]:
            if event.at is not None and since is not None and event.at <= since:
                continue
            changes = [c for c in _fold_attributes(event.changes, attrs) if c[0] in diff]
            if not changes:
                continue
            version += 1
            last_at, last_who = event.at or now, event.who
            written.update(journal.fields(kind, current.id, label, changes, version, last_at,
                                          event.who))
    rest = [(name, old, new) for name, (old, new) in diff.items()
            if name not in written or written[name] != text(new)]
    if rest:
        version += 1
        last_at, last_who = now, None
        journal.fields(kind, current.id, label, rest, version, now)
    values = {name: new for name, (_old, new) in diff.items()}
    values.update(version=version, updated_at=last_at,
                  updated_by=journal.author(last_who).person_id)
    return current.id, current.version, values
