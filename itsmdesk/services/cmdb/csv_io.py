"""CSV import and export of CIs and relations (``itsmdesk import|export cis|relations``).

Format
------
CIs: ``name,class,status,criticality,site,owner_team,version`` then the optional columns
``min_members_up,serial,vendor,description,external_key`` and any class attribute by its name
(``os``, ``ram_gb``, ...).  ``site`` is a site code (or name), ``owner_team`` a team name,
``status`` one of planned / in_production / in_maintenance / retired (spaces allowed).
Relations: ``source,type,target`` (CI names; type like ``depends_on`` or ``depends on``) and the
optional columns ``redundant`` (true/false) and ``propagates``.  Columns whose name starts with
``_`` are ignored (the rejects file adds ``_line`` and ``_errors``, so it can be fixed and
imported again).

Rules
-----
* Upsert by CI name (relations by source, type, target): re-importing a file changes nothing.
* A column missing from the file leaves that field alone; an empty cell clears it (an empty
  status or criticality keeps the current value, or the default for a new CI).  Attribute
  columns replace the attribute for CIs of a class that has it; a value in an attribute column
  that the CI's class does not have is an error.
* All or nothing: any bad row and nothing is written; the report lists every bad row (line,
  column, reason).  ``skip_invalid`` writes the good rows and the bad ones to a rejects file.
  ``dry_run`` checks and counts, writes nothing, and lists what would change in
  ``report.diff`` (:class:`~itsmdesk.services.importing.report.DiffEntry`: each CI or relation to
  create with its fields, each one to update with every changed field as old -> new; at most
  ``DIFF_LIMIT`` entries, ``report.diff_more`` counts the rest).  Collected only for dry runs.
* Relations are only added or updated, never removed: a relation missing from the file stays.
* Writing is bulk, through the write funnel's bulk half (:mod:`itsmdesk.services.bulk`): one
  write of the funnel, multi-row inserts, the journal in the funnel's format (one ``*created*``
  row per created record holding its fields, one row per changed field for updated ones,
  version-checked), all sharing one batch id, so replay rebuilds what an import wrote.
"""

from __future__ import annotations

import csv
import heapq
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, ConflictError, ValidationError
from itsmdesk.models import graph_index
from itsmdesk.models.base import db
from itsmdesk.models.cmdb import (
    CI,
    CI_STATUSES,
    CRITICALITIES,
    PROPAGATION,
    RELATION_TYPES,
    CIClass,
    Relation,
)
from itsmdesk.models.people import Site, Team
from itsmdesk.services import bulk, csv_safe, records
from itsmdesk.services.cmdb.cis import coerce_value, ensure_standard_classes
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.importing.apply import _one_import_at_a_time
from itsmdesk.services.importing.report import (
    DIFF_LIMIT,
    DiffEntry,
    FieldChange,
    ImportReport,
    RowError,
    row_error,
    row_error_from,
)

Progress = Callable[..., None] | None

CI_CORE = ("name", "class", "status", "criticality", "site", "owner_team", "version")
CI_OPTIONAL = ("min_members_up", "serial", "vendor", "description", "external_key")
REL_COLUMNS = ("source", "type", "target")
REL_OPTIONAL = ("redundant", "propagates")
# CSV column -> CI field for the plain text columns
TEXT_FIELDS = {"version": ("ci_version", 64), "serial": ("serial", 128), "vendor": ("vendor", 128),
               "description": ("description", 100000), "external_key": ("external_key", 200)}
KINDS = ("cis", "relations")
INT_MAX = 2 ** 31 - 1
_TRUE = ("1", "true", "yes", "y", "on")
_FALSE = ("0", "false", "no", "n", "off", "")


# -- helpers -------------------------------------------------------------------------------------

def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValidationError(N_("Unknown CSV kind '{value}' (use cis or relations)"), value=kind)


def _tick(progress: Progress, done: int, total: int, text: str) -> None:
    if progress is not None:
        progress(done, total, text)


def _read(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line number, cells) per data row; blank lines skipped."""
    try:
        handle = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115
    except OSError as exc:
        raise ValidationError(N_("Cannot read {path}: {reason}"), path=str(path),
                              reason=exc.strerror or str(exc)) from None
    with handle:
        try:
            reader = csv.reader(handle)
            header = start = None
            header = next(reader, None)
            if header is None:
                raise ValidationError(N_("{path} is empty"), path=str(path))
            rows = []
            start = reader.line_num + 1
            for cells in reader:
                if any(c.strip() for c in cells):
                    rows.append((start, [csv_safe.restore(c.replace("\x00", "")) for c in cells]))
                start = reader.line_num + 1
        except UnicodeDecodeError:
            raise ValidationError(N_("{path} is not UTF-8 text"), path=str(path)) from None
        except csv.Error as exc:
            from itsmdesk.services.importing.csv_source import csv_error

            raise csv_error(exc, start if header is not None else 1, path) from None
    return [h.strip() for h in header], rows


def _norm_choice(text: str) -> str:
    return text.strip().lower().replace(" ", "_").replace("-", "_")


def _by_names(model, names: list[str], columns) -> dict[str, tuple]:  # noqa: ANN001
    """name -> row tuple for the given names (chunked IN lookups)."""
    out: dict[str, tuple] = {}
    for start in range(0, len(names), 900):
        part = names[start:start + 900]
        for row in model.select(*columns).where(model.name.in_(part)).tuples():
            out[row[1]] = row
    return out


def _db_form(value: Any) -> Any:
    """A UUID or timestamp in the form the driver stores it."""
    if value is None:
        return None
    postgres = isinstance(db.obj, pw.PostgresqlDatabase)
    if isinstance(value, uuid.UUID):
        return str(value) if postgres else value.hex
    return value if postgres else str(value)


_CHUNK = 50_000  # rows per executemany: few round trips, progress every chunk


def _field_rows(kind: str, record_id: Any, label: str, changes: dict[str, Any],
                old: dict[str, Any], actor: Actor, at: Any, version: int,
                batch: uuid.UUID) -> list[tuple]:
    """The journal rows of an update: one per changed field (old and new as wire text)."""
    return [(kind, record_id, label, field, records.to_text(old[field]), records.to_text(new),
             actor.person_id, actor.name, at, records.site_of(actor), version, batch)
            for field, new in changes.items()]


def _refuse_names_taken(names: list[str]) -> None:
    """The same file imported twice at once: the CIs planned as new were looked up before this
    write began; if another import created one meanwhile, nothing is imported (run again: it
    updates them instead of failing on the name)."""
    for start in range(0, len(names), 500):
        taken = (CI.select(CI.name).where(CI.name.in_(names[start:start + 500]))
                 .limit(1).tuples().first())
        if taken:
            raise ConflictError(N_("Another import created the record {key} while this one was "
                                   "getting ready; nothing was imported. Run the import again: "
                                   "it will update what is there instead of doubling it."),
                                key=taken[0])


def _refuse_relations_taken(creates: list[tuple]) -> None:
    """As :func:`_refuse_names_taken`, for relations planned as new (source, type, target)."""
    def same(key: Any) -> uuid.UUID:  # (raw SQL gives SQLite's hex text, peewee a UUID)
        return key if isinstance(key, uuid.UUID) else uuid.UUID(str(key))

    planned = {(same(c[0]), c[1], same(c[2])): c for c in creates}
    sources = sorted({same(c[0]) for c in creates})
    for start in range(0, len(sources), 500):
        rows = (Relation.select(Relation.source, Relation.type, Relation.target)
                .where(Relation.source.in_(sources[start:start + 500])).tuples())
        for src, rtype, tgt in rows:
            hit = planned.get((same(src), rtype, same(tgt)))
            if hit:
                raise ConflictError(
                    N_("Another import created the record {key} while this one was getting "
                       "ready; nothing was imported. Run the import again: it will update what "
                       "is there instead of doubling it."), key=f"{hit[5]} {rtype} {hit[6]}")


def _check_moved(moved: list[Any], labels: dict[Any, str]) -> None:
    """Raise the conflict for records someone changed while the import ran (the transaction
    rolls back: nothing is imported)."""
    if moved:
        raise ConflictError(N_("{record} changed while the import ran; nothing was imported. "
                               "Run the import again."),
                            record=labels.get(moved[0], str(moved[0])))


def _write_rejects(path: Path, header: list[str], bad: dict[int, list[RowError]],
                   rows: list[tuple[int, list[str]]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv_safe.writer(handle)
        writer.writerow([h for h in header if not h.startswith("_")] + ["_line", "_errors"])
        keep = [i for i, h in enumerate(header) if not h.startswith("_")]
        for line, cells in rows:
            if line in bad:
                cells = cells + [""] * (len(header) - len(cells))
                writer.writerow([cells[i] for i in keep] + [line, "; ".join(
                    f"{e.column}: {e.reason}" if e.column else e.reason for e in bad[line])])


def _finish(report: ImportReport, header: list[str], rows, bad: dict[int, list[RowError]],
            skip_invalid: Path | None, dry_run: bool) -> bool:
    """Fill the error part of the report; True when the good rows may be written."""
    report.rows_read = len(rows)
    report.dry_run = dry_run
    report.errors = [e for line in sorted(bad) for e in bad[line]]
    report.rejected = len(bad)
    if bad and skip_invalid is not None and not dry_run:
        _write_rejects(Path(skip_invalid), header, bad, rows)
        report.rejects_file = str(skip_invalid)
    if dry_run:
        return False
    return not bad or skip_invalid is not None


# -- CIs -----------------------------------------------------------------------------------------

class _CIContext:
    """Lookups for checking CI rows, loaded once per import."""

    def __init__(self) -> None:
        ensure_standard_classes()
        self.classes = {c.name: c for c in CIClass.select()}
        self.class_by_label = {c.label.lower(): c for c in self.classes.values()}
        self.sites: dict[str, Any] = {}
        for s in Site.select(Site.id, Site.code, Site.name):
            self.sites[s.code.lower()] = s.id
            self.sites.setdefault(s.name.lower(), s.id)
        self.teams = {t.name.lower(): t.id for t in Team.select(Team.id, Team.name)}
        self.attr_names = {a["name"] for c in self.classes.values() for a in c.attributes or []}

    def find_class(self, text: str) -> CIClass | None:
        key = text.strip()
        return (self.classes.get(key) or self.classes.get(_norm_choice(key))
                or self.class_by_label.get(key.lower()))


def _check_ci_header(header: list[str], ctx: _CIContext) -> list[RowError]:
    errors = []
    for col in ("name", "class"):
        if col not in header:
            errors.append(row_error(1, col, N_("required column is missing")))
    known = set(CI_CORE) | set(CI_OPTIONAL) | ctx.attr_names
    seen = set()
    for col in header:
        if col.startswith("_"):
            continue
        if col in seen:
            errors.append(row_error(1, col, N_("column appears twice")))
        seen.add(col)
        if col not in known:
            errors.append(row_error(1, col, N_("unknown column (not a CI field or class attribute)")))
    return errors


def _parse_ci(cells: dict[str, str], ctx: _CIContext, line: int) -> tuple[dict[str, Any], list[RowError]]:
    """Cells of one row -> CI field values (only for the columns present) and row errors."""
    errors: list[RowError] = []
    values: dict[str, Any] = {}
    name = cells.get("name", "").strip()
    if not name:
        errors.append(row_error(line, "name", N_("a name is required")))
    elif len(name) > 255:
        errors.append(row_error(line, "name", N_("longer than {max} characters"), max=255))
    values["name"] = name
    cls_text = cells.get("class", "").strip()
    cls = ctx.find_class(cls_text) if cls_text else None
    if cls is None:
        errors.append(row_error(line, "class", N_("unknown CI class '{name}'"), name=cls_text)
                      if cls_text else row_error(line, "class", N_("a class is required")))
    else:
        values["ci_class"] = cls.id
    for col, allowed in (("status", CI_STATUSES), ("criticality", CRITICALITIES)):
        if col in cells and cells[col].strip():
            value = _norm_choice(cells[col])
            if value not in allowed:
                errors.append(row_error(line, col, N_("'{value}' is not one of: {allowed}"),
                                        value=cells[col], allowed=", ".join(allowed)))
            else:
                values[col] = value
    if "site" in cells:
        text = cells["site"].strip()
        values["site"] = ctx.sites.get(text.lower()) if text else None
        if text and values["site"] is None:
            errors.append(row_error(line, "site", N_("unknown site '{name}'"), name=text))
    if "owner_team" in cells:
        text = cells["owner_team"].strip()
        values["owner_team"] = ctx.teams.get(text.lower()) if text else None
        if text and values["owner_team"] is None:
            errors.append(row_error(line, "owner_team", N_("unknown team '{name}'"), name=text))
    for col, (field, max_len) in TEXT_FIELDS.items():
        if col in cells:
            text = cells[col].strip()
            if len(text) > max_len:
                errors.append(row_error(line, col, N_("longer than {max} characters"), max=max_len))
            values[field] = text or None
    if "min_members_up" in cells:
        text = cells["min_members_up"].strip()
        values["min_members_up"] = None
        if text:
            try:
                values["min_members_up"] = int(text)
                if values["min_members_up"] < 1:
                    raise ValueError(text)
                if values["min_members_up"] > INT_MAX:  # (an integer column)
                    values["min_members_up"] = None
                    errors.append(row_error(line, "min_members_up",
                                            N_("'{value}' is too large (at most {max})"),
                                            value=text[:40], max=INT_MAX))
            except ValueError:
                errors.append(row_error(line, "min_members_up",
                                        N_("'{value}' is not a whole number of at least 1"),
                                        value=text))
    if cls is not None:
        spec = {a["name"]: a for a in cls.attributes or []}
        attrs: dict[str, Any] = {}
        for col in ctx.attr_names:
            if col not in cells:
                continue
            text = cells[col].strip()
            if col not in spec:
                if text:
                    errors.append(row_error(line, col, N_("class {cls} has no attribute '{attr}'"),
                                            cls=cls.name, attr=col))
                continue
            if text:
                try:
                    attrs[col] = coerce_value(spec[col], text)
                except ValidationError as exc:
                    errors.append(row_error_from(line, col, exc))
            else:
                attrs[col] = None  # clear
        values["_attrs"] = attrs
    return values, errors


def _ci_changes(existing: dict[str, Any], values: dict[str, Any], spec_names: set[str]) -> dict[str, Any]:
    """Field -> new value for the fields that differ from the stored CI."""
    changes = {}
    for field, new in values.items():
        if field in ("_attrs", "name"):
            continue
        if records.to_text(existing[field]) != records.to_text(new):
            changes[field] = new
    if "_attrs" in values:
        attrs = dict(existing["attributes"] or {})
        for key, value in values["_attrs"].items():
            if value is None:
                attrs.pop(key, None)
            else:
                attrs[key] = value
        if "ci_class" in changes:  # drop attributes the new class does not have
            attrs = {k: v for k, v in attrs.items() if k in spec_names}
        if records.to_text(attrs) != records.to_text(existing["attributes"] or {}):
            changes["attributes"] = attrs
    return changes


# -- dry run: what would change ------------------------------------------------------------------

# CI field -> the CSV column a person knows it by
_COLUMN_OF = {"ci_class": "class", "ci_version": "version"}
_CLIP = 200  # longest value kept in a diff entry (descriptions can be 100,000 characters)


def _clip(text: str | None) -> str | None:
    if text is None or text == "":
        return None
    return text if len(text) <= _CLIP else text[:_CLIP - 1] + "…"


class _CIShow:
    """Stored CI values as a person reads them: class, site and team by name."""

    def __init__(self, ctx: _CIContext) -> None:
        self.names = {
            "ci_class": {records.to_text(c.id): c.name for c in ctx.classes.values()},
            "site": {records.to_text(k): code for k, code in Site.select(Site.id, Site.code).tuples()},
            "owner_team": {records.to_text(k): n for k, n in Team.select(Team.id, Team.name).tuples()},
        }

    def __call__(self, field: str, value: Any) -> str | None:
        text = records.to_text(value)
        if text is not None and field in self.names:
            return self.names[field].get(text, text)
        return _clip(text)


def _ci_create_entry(line: int, values: dict[str, Any], show: _CIShow) -> DiffEntry:
    stored = {"status": values.get("status") or "in_production",
              "criticality": values.get("criticality") or "medium"}
    stored.update((f, v) for f, v in values.items() if f not in stored)
    changes = [FieldChange(_COLUMN_OF.get(f, f), None, show(f, v)) for f, v in stored.items()
               if f not in ("name", "ci_class", "_attrs") and v is not None and v != ""]
    attrs = values.get("_attrs", {})
    changes += [FieldChange(k, None, show(k, attrs[k])) for k in sorted(attrs)
                if attrs[k] is not None]
    return DiffEntry("create", values["name"], line, show("ci_class", values["ci_class"]) or "",
                     changes=changes)


def _ci_update_entry(line: int, old: dict[str, Any], changes: dict[str, Any],
                     show: _CIShow) -> DiffEntry:
    out = []
    for field, new in changes.items():
        if field == "attributes":
            before, after = old["attributes"] or {}, new or {}
            for key in sorted(set(before) | set(after)):
                was, now = show(key, before.get(key)), show(key, after.get(key))
                if was != now:
                    out.append(FieldChange(key, was, now))
        else:
            out.append(FieldChange(_COLUMN_OF.get(field, field), show(field, old[field]),
                                   show(field, new)))
    cls = show("ci_class", changes.get("ci_class", old["ci_class"])) or ""
    return DiffEntry("update", old["name"], line, cls, changes=out)


def _ci_diff(report: ImportReport, creates: list[tuple[int, dict[str, Any]]],
             updates: list[tuple[int, dict[str, Any], dict[str, Any]]], ctx: _CIContext) -> None:
    """Fill ``report.diff`` (file order, at most DIFF_LIMIT entries) for a dry run."""
    show = _CIShow(ctx)
    merged = heapq.merge(((line, 0, i) for i, (line, _v) in enumerate(creates)),
                         ((line, 1, i) for i, (line, _o, _c) in enumerate(updates)))
    for count, (_line, is_update, i) in enumerate(merged):
        if count >= DIFF_LIMIT:
            break
        if is_update:
            report.diff.append(_ci_update_entry(*updates[i], show))
        else:
            report.diff.append(_ci_create_entry(*creates[i], show))
    report.diff_more = len(creates) + len(updates) - len(report.diff)


def _relation_diff(report: ImportReport, creates: list[tuple], updates: list[tuple],
                   existing: dict[tuple, tuple], name_of: dict, first_line: dict[tuple, int]) -> None:
    """Fill ``report.diff`` with the relations a dry run would add or change (file order)."""
    def text(field: str, value: Any) -> str:
        return ("true" if value else "false") if field == "redundant" else str(value)

    entries: list[tuple[int, int, int]] = [(first_line[c[:3]], 0, i) for i, c in enumerate(creates)]
    entries += [(first_line[key], 1, i) for i, (key, _c) in enumerate(updates)]
    entries = heapq.nsmallest(DIFF_LIMIT, entries)
    for line, is_update, i in entries:
        if is_update:
            key, changes = updates[i]
            _rid, red, prop, _version = existing[key]
            old = {"redundant": red, "propagates": prop}
            src, rtype, tgt = name_of[key[0]], key[1], name_of[key[2]]
            fields = [FieldChange(f, text(f, old[f]), text(f, v)) for f, v in changes.items()]
            action = "update"
        else:
            _s, rtype, _t, red, prop, src, tgt = creates[i]
            fields = []
            if red:
                fields.append(FieldChange("redundant", None, "true"))
            if prop != "target_to_source":
                fields.append(FieldChange("propagates", None, prop))
            action = "create"
        report.diff.append(DiffEntry(action, f"{src} {rtype} {tgt}", line, changes=fields,
                                     relation=(src, rtype, tgt)))
    report.diff_more = len(creates) + len(updates) - len(report.diff)


_CI_READ = (CI.id, CI.name, CI.ci_class, CI.status, CI.criticality, CI.site, CI.owner_team,
            CI.ci_version, CI.serial, CI.vendor, CI.description, CI.external_key,
            CI.min_members_up, CI.attributes, CI.version)


def _import_cis(path: Path, dry_run: bool, skip_invalid: Path | None, progress: Progress,
                actor: Actor) -> ImportReport:
    report = ImportReport("cis")
    header, rows = _read(path)
    ctx = _CIContext()
    header_errors = _check_ci_header(header, ctx)
    if header_errors:
        report.rows_read, report.errors, report.dry_run = len(rows), header_errors, dry_run
        return report
    total = len(rows)
    names = []
    for _line, cells in rows:
        idx = header.index("name")
        names.append(cells[idx].strip() if idx < len(cells) else "")
    existing_rows = _by_names(CI, list(dict.fromkeys(n for n in names if n)), _CI_READ)
    fields = [f.name for f in _CI_READ]
    existing = {name: dict(zip(fields, row, strict=True)) for name, row in existing_rows.items()}

    bad: dict[int, list[RowError]] = {}
    first_line: dict[str, int] = {}
    creates: list[tuple[int, dict[str, Any]]] = []
    updates: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    for i, (line, cells) in enumerate(rows):
        if len(cells) > len(header):
            bad[line] = [row_error(line, "", N_("{cells} cells but {columns} columns"),
                                   cells=len(cells), columns=len(header))]
            continue
        cell_map = {h: (cells[j] if j < len(cells) else "") for j, h in enumerate(header)
                    if not h.startswith("_")}
        values, errors = _parse_ci(cell_map, ctx, line)
        name = values["name"]
        if name and name in first_line:
            errors.append(row_error(line, "name", N_("'{name}' already appears on line {first}"),
                                    name=name, first=first_line[name]))
        elif name:
            first_line[name] = line
        if errors:
            bad[line] = errors
        elif name in existing:
            cls_id = values.get("ci_class")
            cls = next((c for c in ctx.classes.values() if c.id == cls_id), None)
            spec_names = {a["name"] for a in (cls.attributes or [])} if cls else set()
            changes = _ci_changes(existing[name], values, spec_names)
            if changes:
                updates.append((line, existing[name], changes))
            else:
                report.unchanged += 1
        else:
            creates.append((line, values))
        if i % 5000 == 0:
            _tick(progress, i, total, "checking")
    _tick(progress, total, total, "checking")
    report.created, report.updated = len(creates), len(updates)
    if dry_run:
        _ci_diff(report, creates, updates, ctx)
    if not _finish(report, header, rows, bad, skip_invalid, dry_run):
        return report

    import json

    with records.atomic() as write:
        _one_import_at_a_time("cis")
        _refuse_names_taken([values["name"] for _line, values in creates])
        now = write.now
        at, who = _db_form(now), _db_form(actor.person_id)
        wire = bulk.wire_maker(CI)
        new_rows = []
        journal = []
        # keys in ascending order, handed out in file order: rows keep file order (CIs listed
        # together sit together, and so do their gids) while the primary-key index and the
        # journal's grow at their end
        for cid, (_line, values) in zip(bulk.new_keys(len(creates)), creates, strict=True):
            attrs = json.dumps({k: v for k, v in values.get("_attrs", {}).items()
                                if v is not None}, sort_keys=True)
            name = values["name"]
            fields = {"name": name, "ci_class": values["ci_class"],
                      "status": values.get("status") or "in_production",
                      "criticality": values.get("criticality") or "medium",
                      "site": values.get("site"), "owner_team": values.get("owner_team"),
                      "ci_version": values.get("ci_version"), "serial": values.get("serial"),
                      "vendor": values.get("vendor"), "description": values.get("description"),
                      "external_key": values.get("external_key"),
                      "min_members_up": values.get("min_members_up"), "attributes": attrs}
            new_rows.append((cid, name, _db_form(fields["ci_class"]), fields["status"],
                             fields["criticality"], _db_form(fields["site"]),
                             _db_form(fields["owner_team"]), fields["ci_version"],
                             fields["serial"], fields["vendor"], fields["description"],
                             fields["external_key"], fields["min_members_up"], attrs, 1, at, who,
                             at, who))
            journal.append(records.created_row("ci", cid, name, wire(fields), actor, now, 1,
                                               write.batch))
        ci_columns = ["id", "name", "ci_class", "status", "criticality", "site", "owner_team",
                      "ci_version", "serial", "vendor", "description", "external_key",
                      "min_members_up", "attributes", "version", "created_at", "created_by",
                      "updated_at", "updated_by"]
        if not isinstance(db.obj, pw.PostgresqlDatabase):
            # Number the new CIs here, in file order, as the insert trigger would one by one
            # (it leaves a given gid alone); PostgreSQL's sequence default does the same.
            top = graph_index.top_gid(db.obj)
            new_rows = [row + (top + i,) for i, row in enumerate(new_rows, start=1)]
            ci_columns.append("gid")
        bulk.insert_rows(CI, ci_columns, new_rows, batch=_CHUNK, convert=False,
                         tick=lambda n: _tick(progress, n, total, "writing"))
        changed = []
        for _line, old, changes in updates:
            new_version = old["version"] + 1
            changed.append((old["id"], old["version"],
                            {**changes, "version": new_version, "updated_at": now,
                             "updated_by": actor.person_id}))
            journal += _field_rows("ci", old["id"], old["name"], changes, old, actor, now,
                                   new_version, write.batch)
        _check_moved(bulk.update_records(CI, changed),
                     {old["id"]: old["name"] for _line, old, _c in updates})
        bulk.insert_journal(journal)
    _tick(progress, total, total, "writing")
    report.applied = True
    report.extra["journal_rows"] = len(journal)
    return report


# -- relations -----------------------------------------------------------------------------------

def _check_rel_header(header: list[str]) -> list[RowError]:
    errors = [row_error(1, col, N_("required column is missing")) for col in REL_COLUMNS
              if col not in header]
    for col in header:
        if not col.startswith("_") and col not in REL_COLUMNS + REL_OPTIONAL:
            errors.append(row_error(1, col, N_("unknown column (use source, type, target, "
                                               "redundant, propagates)")))
    return errors


def _raw_in(sql: str, values: list, size: int = 900) -> list[tuple]:
    """Run ``sql`` (with one ``{ph}`` for an IN list) over ``values`` in chunks; raw rows."""
    mark = "%s" if isinstance(db.obj, pw.PostgresqlDatabase) else "?"
    out: list[tuple] = []
    for start in range(0, len(values), size):
        part = values[start:start + size]
        out.extend(db.execute_sql(sql.replace("{ph}", ", ".join([mark] * len(part))),
                                  part).fetchall())
    return out


def _import_relations(path: Path, dry_run: bool, skip_invalid: Path | None, progress: Progress,
                      actor: Actor) -> ImportReport:
    report = ImportReport("relations")
    header, rows = _read(path)
    header_errors = _check_rel_header(header)
    if header_errors:
        report.rows_read, report.errors, report.dry_run = len(rows), header_errors, dry_run
        return report
    total = len(rows)
    width = len(header)
    i_src, i_type, i_tgt = header.index("source"), header.index("type"), header.index("target")
    i_red = header.index("redundant") if "redundant" in header else None
    i_prop = header.index("propagates") if "propagates" in header else None

    names = set()
    for _line, cells in rows:
        if len(cells) == width:
            names.add(cells[i_src].strip())
            names.add(cells[i_tgt].strip())
    names.discard("")
    # CI keys as the driver returns them (no UUID objects: this runs for 300,000 rows)
    ci_id: dict[str, Any] = {}
    gid_of: dict[Any, int] = {}  # the graph index (models/graph_index.py) written with the rows
    for name, key, gid in _raw_in("SELECT name, id, gid FROM ci WHERE name IN ({ph})",
                                  sorted(names)):
        ci_id[name] = key
        gid_of[key] = gid
    name_of = {key: name for name, key in ci_id.items()}
    existing: dict[tuple, tuple] = {}
    if ci_id:
        for rid, src, rtype, tgt, red, prop, version in _raw_in(
                "SELECT id, source_id, type, target_id, redundant, propagates, version "
                "FROM relation WHERE source_id IN ({ph})", list(name_of)):
            if tgt in name_of:
                existing[(src, rtype, tgt)] = (rid, bool(red), prop, version)

    bad: dict[int, list[RowError]] = {}
    first_line: dict[tuple, int] = {}
    creates: list[tuple] = []
    updates: list[tuple[tuple, dict[str, Any]]] = []
    for i, (line, cells) in enumerate(rows):
        if len(cells) != width:
            if len(cells) > width:
                bad[line] = [row_error(line, "", N_("{cells} cells but {columns} columns"),
                                           cells=len(cells), columns=width)]
                continue
            cells = cells + [""] * (width - len(cells))
        errors = []
        src_name, tgt_name = cells[i_src].strip(), cells[i_tgt].strip()
        rtype = cells[i_type].strip()
        if rtype not in RELATION_TYPES:
            rtype = _norm_choice(rtype)
        src, tgt = ci_id.get(src_name), ci_id.get(tgt_name)
        if src is None:
            errors.append(row_error(line, "source", N_("no CI named '{name}'"), name=src_name)
                          if src_name else row_error(line, "source", N_("a CI name is required")))
        if tgt is None:
            errors.append(row_error(line, "target", N_("no CI named '{name}'"), name=tgt_name)
                          if tgt_name else row_error(line, "target", N_("a CI name is required")))
        if rtype not in RELATION_TYPES:
            errors.append(row_error(line, "type", N_("'{value}' is not one of: {allowed}"),
                                    value=cells[i_type], allowed=", ".join(RELATION_TYPES)))
        if src is not None and src == tgt:
            errors.append(row_error(line, "target", N_("a CI cannot relate to itself")))
        values: dict[str, Any] = {}
        if i_red is not None:
            text = cells[i_red].strip().lower()
            if text in _TRUE:
                values["redundant"] = True
            elif text in _FALSE:
                values["redundant"] = False
            else:
                errors.append(row_error(line, "redundant", N_("'{value}' is not true or false"),
                                        value=text))
        if i_prop is not None:
            text = _norm_choice(cells[i_prop]) or "target_to_source"
            if text not in PROPAGATION:
                errors.append(row_error(line, "propagates", N_("'{value}' is not one of: {allowed}"),
                                        value=text, allowed=", ".join(PROPAGATION)))
            values["propagates"] = text
        key = (src, rtype, tgt)
        if not errors:
            if key in first_line:
                errors.append(row_error(line, "", N_("the same relation is on line {first}"),
                                        first=first_line[key]))
            else:
                first_line[key] = line
        if errors:
            bad[line] = errors
        elif key in existing:
            _rid, red, prop, _version = existing[key]
            changes = {k: v for k, v in values.items()
                       if v != {"redundant": red, "propagates": prop}[k]}
            if changes:
                updates.append((key, changes))
            else:
                report.unchanged += 1
        else:
            creates.append((src, rtype, tgt, values.get("redundant", False),
                            values.get("propagates", "target_to_source"), src_name, tgt_name))
        if i % 20000 == 0:
            _tick(progress, i, total, "checking")
    _tick(progress, total, total, "checking")
    report.created, report.updated = len(creates), len(updates)
    if dry_run:
        _relation_diff(report, creates, updates, existing, name_of, first_line)
    if not _finish(report, header, rows, bad, skip_invalid, dry_run):
        return report

    with records.atomic() as write:
        _one_import_at_a_time("relations")
        _refuse_relations_taken(creates)
        now = write.now
        at, who = _db_form(now), _db_form(actor.person_id)
        key = bulk.Keys()
        new_rows = []
        journal = []
        # keys in ascending order, handed out in file order: the primary-key index and the
        # journal's grow at their end, not at random places
        for rid, (src, rtype, tgt, red, prop, src_name, tgt_name) in zip(
                bulk.new_keys(len(creates)), creates, strict=True):
            new_rows.append((rid, src, tgt, gid_of[src], gid_of[tgt], rtype, red, prop, 1, at, who,
                             at, who))
            # what records.wire_row gives for a relation (test_cmdb_csv checks it), labelled by
            # both CIs' names (a relation has no name of its own)
            journal.append(records.created_row(
                "relation", rid, f"{src_name} {rtype} {tgt_name}",
                {"propagates": prop, "redundant": "true" if red else "false",
                 "source": key(src), "target": key(tgt), "type": rtype},
                actor, now, 1, write.batch))
        bulk.insert_rows(Relation, ["id", "source", "target", "source_gid", "target_gid", "type",
                                    "redundant", "propagates", "version", "created_at",
                                    "created_by", "updated_at", "updated_by"], new_rows,
                         batch=_CHUNK, convert=False,
                         tick=lambda n: _tick(progress, n, total, "writing"))
        changed = []
        labels = {}
        for key, changes in updates:
            rid, red, prop, version = existing[key]
            changed.append((rid, version, {**changes, "version": version + 1, "updated_at": now,
                                           "updated_by": actor.person_id}))
            labels[rid] = f"{name_of[key[0]]} {key[1]} {name_of[key[2]]}"
            journal += _field_rows("relation", rid, labels[rid], changes,
                                   {"redundant": red, "propagates": prop}, actor, now,
                                   version + 1, write.batch)
        _check_moved(bulk.update_records(Relation, changed), labels)
        bulk.insert_journal(journal)
    _tick(progress, total, total, "writing")
    report.applied = True
    report.extra["journal_rows"] = len(journal)
    return report


def import_csv(kind: str, path, dry_run: bool = False, skip_invalid=None,  # noqa: ANN001
               progress: Progress = None, actor: Actor = SYSTEM) -> ImportReport:
    """Import CIs or relations from our CSV format; see the module docstring for the rules."""
    _check_kind(kind)
    path = Path(path)
    skip = Path(skip_invalid) if skip_invalid else None
    if kind == "cis":
        return _import_cis(path, dry_run, skip, progress, actor)
    return _import_relations(path, dry_run, skip, progress, actor)


# -- export --------------------------------------------------------------------------------------

def ci_columns() -> list[str]:
    attrs = sorted({a["name"] for c in CIClass.select(CIClass.attributes) for a in c.attributes or []})
    return list(CI_CORE) + list(CI_OPTIONAL) + [a for a in attrs if a not in CI_CORE + CI_OPTIONAL]


def iter_ci_rows() -> Iterable[list[Any]]:
    """Export rows for every CI, by name, streamed."""
    columns = ci_columns()
    attr_cols = columns[len(CI_CORE) + len(CI_OPTIONAL):]
    site = Site.alias()
    team = Team.alias()
    query = (CI.select(CI.name, CIClass.name, CI.status, CI.criticality, site.code, team.name,
                       CI.ci_version, CI.min_members_up, CI.serial, CI.vendor, CI.description,
                       CI.external_key, CI.attributes)
             .join(CIClass, on=(CI.ci_class == CIClass.id))
             .join(site, pw.JOIN.LEFT_OUTER, on=(CI.site == site.id))
             .join(team, pw.JOIN.LEFT_OUTER, on=(CI.owner_team == team.id))
             .order_by(CI.name).tuples())
    for row in query.iterator():
        attrs = row[-1] or {}
        if isinstance(attrs, str):
            import json

            attrs = json.loads(attrs)
        out = ["" if v is None else v for v in row[:-1]]
        for col in attr_cols:
            value = attrs.get(col)
            if isinstance(value, bool):
                value = "true" if value else "false"
            out.append("" if value is None else value)
        yield out


def iter_relation_rows() -> Iterable[list[Any]]:
    src = CI.alias()
    tgt = CI.alias()
    query = (Relation.select(src.name, Relation.type, tgt.name, Relation.redundant,
                             Relation.propagates)
             .join(src, on=(Relation.source == src.id))
             .switch(Relation).join(tgt, on=(Relation.target == tgt.id))
             .order_by(src.name, Relation.type, tgt.name).tuples())
    for s, t, g, red, prop in query.iterator():
        yield [s, t, g, "true" if red else "false", prop]


def export_csv(kind: str, path, progress: Progress = None) -> int:  # noqa: ANN001
    """Write every CI or relation in the format :func:`import_csv` reads; returns the count."""
    _check_kind(kind)
    path = Path(path)
    with db.atomic():  # one consistent snapshot
        if kind == "cis":
            header, rows = ci_columns(), iter_ci_rows()
            total = CI.select().count() if progress else 0
        else:
            header, rows = list(REL_COLUMNS + REL_OPTIONAL), iter_relation_rows()
            total = Relation.select().count() if progress else 0
        count = 0
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv_safe.writer(handle)
            writer.writerow(header)
            for row in rows:
                writer.writerow(row)
                count += 1
                if progress and count % 5000 == 0:
                    _tick(progress, count, total, "exporting")
    _tick(progress, count, count, "exporting")
    return count
