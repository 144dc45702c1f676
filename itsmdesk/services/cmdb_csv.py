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
  ``dry_run`` checks and counts, writes nothing.
* Writing is bulk: one transaction, multi-row inserts, one compact journal row per created
  record (``*created*``), one per changed field for updated ones, all sharing one batch id.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import peewee as pw

from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.base import db, utcnow
from itsmdesk.models.cmdb import (
    CI,
    CI_STATUSES,
    CRITICALITIES,
    PROPAGATION,
    RELATION_TYPES,
    CIClass,
    Relation,
)
from itsmdesk.models.journal import JournalEntry
from itsmdesk.models.people import Site, Team
from itsmdesk.services import records
from itsmdesk.services.cmdb import coerce_value, ensure_standard_classes
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.import_report import ImportReport, RowError

Progress = Callable[..., None] | None

CI_CORE = ("name", "class", "status", "criticality", "site", "owner_team", "version")
CI_OPTIONAL = ("min_members_up", "serial", "vendor", "description", "external_key")
REL_COLUMNS = ("source", "type", "target")
REL_OPTIONAL = ("redundant", "propagates")
# CSV column -> CI field for the plain text columns
TEXT_FIELDS = {"version": ("ci_version", 64), "serial": ("serial", 128), "vendor": ("vendor", 128),
               "description": ("description", 100000), "external_key": ("external_key", 200)}
KINDS = ("cis", "relations")
_CHUNK_ROWS = 500
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
            header = next(reader, None)
            if header is None:
                raise ValidationError(N_("{path} is empty"), path=str(path))
            rows = []
            start = reader.line_num + 1
            for cells in reader:
                if any(c.strip() for c in cells):
                    rows.append((start, cells))
                start = reader.line_num + 1
        except UnicodeDecodeError:
            raise ValidationError(N_("{path} is not UTF-8 text"), path=str(path)) from None
        except csv.Error as exc:
            raise ValidationError(N_("{path}: bad CSV at line {line}: {reason}"), path=str(path),
                                  line=reader.line_num, reason=str(exc)) from None
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


def _bulk_insert(model, rows: list[dict[str, Any]], progress: Progress = None,  # noqa: ANN001
                 done: int = 0, total: int = 0, text: str = "") -> None:
    """Multi-row INSERTs in chunks (SQLite's parameter limit, PostgreSQL's statement size)."""
    if not rows:
        return
    fields = [model._meta.fields[name] for name in rows[0]]
    per_chunk = max(1, min(_CHUNK_ROWS * 2, 30000 // max(len(fields), 1)))
    for start in range(0, len(rows), per_chunk):
        model.insert_many(rows[start:start + per_chunk], fields=fields).execute()
        if progress and text:
            _tick(progress, done + min(start + per_chunk, len(rows)), total, text)


def _journal(kind: str, record_id, ref: str, field: str, old: Any, new: Any,  # noqa: ANN001
             actor: Actor, version: int, batch: uuid.UUID, at) -> dict[str, Any]:  # noqa: ANN001
    return {"record_kind": kind, "record_id": record_id, "record_ref": ref, "field": field,
            "old": records.to_text(old), "new": records.to_text(new), "who_id": actor.person_id,
            "who_name": actor.name, "at": at, "site": actor.site, "version": version,
            "batch": batch}


def _write_rejects(path: Path, header: list[str], bad: dict[int, list[RowError]],
                   rows: list[tuple[int, list[str]]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
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
            errors.append(RowError(1, col, "required column is missing"))
    known = set(CI_CORE) | set(CI_OPTIONAL) | ctx.attr_names
    seen = set()
    for col in header:
        if col.startswith("_"):
            continue
        if col in seen:
            errors.append(RowError(1, col, "column appears twice"))
        seen.add(col)
        if col not in known:
            errors.append(RowError(1, col, "unknown column (not a CI field or class attribute)"))
    return errors


def _parse_ci(cells: dict[str, str], ctx: _CIContext, line: int) -> tuple[dict[str, Any], list[RowError]]:
    """Cells of one row -> CI field values (only for the columns present) and row errors."""
    errors: list[RowError] = []
    values: dict[str, Any] = {}
    name = cells.get("name", "").strip()
    if not name:
        errors.append(RowError(line, "name", "a name is required"))
    elif len(name) > 255:
        errors.append(RowError(line, "name", "longer than 255 characters"))
    values["name"] = name
    cls_text = cells.get("class", "").strip()
    cls = ctx.find_class(cls_text) if cls_text else None
    if cls is None:
        errors.append(RowError(line, "class", f"unknown CI class '{cls_text}'" if cls_text
                               else "a class is required"))
    else:
        values["ci_class"] = cls.id
    for col, allowed in (("status", CI_STATUSES), ("criticality", CRITICALITIES)):
        if col in cells and cells[col].strip():
            value = _norm_choice(cells[col])
            if value not in allowed:
                errors.append(RowError(line, col, f"'{cells[col]}' is not one of: "
                                       + ", ".join(allowed)))
            else:
                values[col] = value
    if "site" in cells:
        text = cells["site"].strip()
        values["site"] = ctx.sites.get(text.lower()) if text else None
        if text and values["site"] is None:
            errors.append(RowError(line, "site", f"unknown site '{text}'"))
    if "owner_team" in cells:
        text = cells["owner_team"].strip()
        values["owner_team"] = ctx.teams.get(text.lower()) if text else None
        if text and values["owner_team"] is None:
            errors.append(RowError(line, "owner_team", f"unknown team '{text}'"))
    for col, (field, max_len) in TEXT_FIELDS.items():
        if col in cells:
            text = cells[col].strip()
            if len(text) > max_len:
                errors.append(RowError(line, col, f"longer than {max_len} characters"))
            values[field] = text or None
    if "min_members_up" in cells:
        text = cells["min_members_up"].strip()
        values["min_members_up"] = None
        if text:
            try:
                values["min_members_up"] = int(text)
                if values["min_members_up"] < 1:
                    raise ValueError(text)
            except ValueError:
                errors.append(RowError(line, "min_members_up", f"'{text}' is not a whole number "
                                       "of at least 1"))
    if cls is not None:
        spec = {a["name"]: a for a in cls.attributes or []}
        attrs: dict[str, Any] = {}
        for col in ctx.attr_names:
            if col not in cells:
                continue
            text = cells[col].strip()
            if col not in spec:
                if text:
                    errors.append(RowError(line, col, f"class {cls.name} has no attribute '{col}'"))
                continue
            if text:
                try:
                    attrs[col] = coerce_value(spec[col], text)
                except ValidationError as exc:
                    errors.append(RowError(line, col, exc.message))
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
            bad[line] = [RowError(line, "", f"{len(cells)} cells but {len(header)} columns")]
            continue
        cell_map = {h: (cells[j] if j < len(cells) else "") for j, h in enumerate(header)
                    if not h.startswith("_")}
        values, errors = _parse_ci(cell_map, ctx, line)
        name = values["name"]
        if name and name in first_line:
            errors.append(RowError(line, "name", f"'{name}' already appears on line "
                                   f"{first_line[name]}"))
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
    if not _finish(report, header, rows, bad, skip_invalid, dry_run):
        return report

    now = utcnow()
    batch = uuid.uuid4()
    journal: list[dict[str, Any]] = []
    new_rows = []
    for _line, values in creates:
        row = {"id": uuid.uuid4(), "name": values["name"], "ci_class": values["ci_class"],
               "status": values.get("status") or "in_production",
               "criticality": values.get("criticality") or "medium",
               "site": values.get("site"), "owner_team": values.get("owner_team"),
               "ci_version": values.get("ci_version"), "serial": values.get("serial"),
               "vendor": values.get("vendor"), "description": values.get("description"),
               "external_key": values.get("external_key"),
               "min_members_up": values.get("min_members_up"),
               "attributes": {k: v for k, v in values.get("_attrs", {}).items() if v is not None},
               "version": 1, "created_at": now, "created_by": actor.person_id,
               "updated_at": now, "updated_by": actor.person_id}
        new_rows.append(row)
        journal.append(_journal("ci", row["id"], row["name"], "*created*", None, row["name"],
                                actor, 1, batch, now))
    with records.atomic():
        _bulk_insert(CI, new_rows, progress, 0, total, "writing")
        for _line, old, changes in updates:
            new_version = old["version"] + 1
            query = CI.update(**changes, version=new_version, updated_at=now,
                              updated_by=actor.person_id).where(CI.id == old["id"])
            query.execute()
            for field, new in changes.items():
                journal.append(_journal("ci", old["id"], old["name"], field, old[field], new,
                                        actor, new_version, batch, now))
        _bulk_insert(JournalEntry, journal)
    _tick(progress, total, total, "writing")
    report.applied = True
    report.extra["journal_rows"] = len(journal)
    return report


# -- relations -----------------------------------------------------------------------------------

def _check_rel_header(header: list[str]) -> list[RowError]:
    errors = [RowError(1, col, "required column is missing") for col in REL_COLUMNS
              if col not in header]
    for col in header:
        if not col.startswith("_") and col not in REL_COLUMNS + REL_OPTIONAL:
            errors.append(RowError(1, col, "unknown column (use source, type, target, "
                                   "redundant, propagates)"))
    return errors


def _import_relations(path: Path, dry_run: bool, skip_invalid: Path | None, progress: Progress,
                      actor: Actor) -> ImportReport:
    report = ImportReport("relations")
    header, rows = _read(path)
    header_errors = _check_rel_header(header)
    if header_errors:
        report.rows_read, report.errors, report.dry_run = len(rows), header_errors, dry_run
        return report
    total = len(rows)
    col = {h: i for i, h in enumerate(header)}

    def cell(cells: list[str], name: str) -> str:
        i = col.get(name)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    names = list(dict.fromkeys(n for _l, c in rows for n in (cell(c, "source"), cell(c, "target"))
                               if n))
    ci_rows = _by_names(CI, names, (CI.id, CI.name))
    ci_id = {name: row[0] for name, row in ci_rows.items()}
    # existing relations among these CIs
    existing: dict[tuple, tuple] = {}
    ids = list({row[0] for row in ci_rows.values()})
    name_of = {row[0]: name for name, row in ci_rows.items()}
    for start in range(0, len(ids), 900):
        part = ids[start:start + 900]
        query = (Relation.select(Relation.id, Relation.source, Relation.type, Relation.target,
                                 Relation.redundant, Relation.propagates, Relation.version)
                 .where(Relation.source.in_(part)).tuples())
        for rid, src, rtype, tgt, red, prop, version in query:
            if tgt in name_of:
                existing[(src, rtype, tgt)] = (rid, bool(red), prop, version)

    bad: dict[int, list[RowError]] = {}
    first_line: dict[tuple, int] = {}
    creates: list[dict[str, Any]] = []
    updates: list[tuple[tuple, dict[str, Any]]] = []
    for i, (line, cells) in enumerate(rows):
        errors = []
        if len(cells) > len(header):
            bad[line] = [RowError(line, "", f"{len(cells)} cells but {len(header)} columns")]
            continue
        src_name, tgt_name = cell(cells, "source"), cell(cells, "target")
        rtype = _norm_choice(cell(cells, "type"))
        src, tgt = ci_id.get(src_name), ci_id.get(tgt_name)
        for column, name, found in (("source", src_name, src), ("target", tgt_name, tgt)):
            if not name:
                errors.append(RowError(line, column, "a CI name is required"))
            elif found is None:
                errors.append(RowError(line, column, f"no CI named '{name}'"))
        if rtype not in RELATION_TYPES:
            errors.append(RowError(line, "type", f"'{cell(cells, 'type')}' is not one of: "
                                   + ", ".join(RELATION_TYPES)))
        if src is not None and src == tgt:
            errors.append(RowError(line, "target", "a CI cannot relate to itself"))
        values: dict[str, Any] = {}
        if "redundant" in col:
            text = cell(cells, "redundant").lower()
            if text in _TRUE:
                values["redundant"] = True
            elif text in _FALSE:
                values["redundant"] = False
            else:
                errors.append(RowError(line, "redundant", f"'{text}' is not true or false"))
        if "propagates" in col:
            text = _norm_choice(cell(cells, "propagates")) or "target_to_source"
            if text not in PROPAGATION:
                errors.append(RowError(line, "propagates", f"'{text}' is not one of: "
                                       + ", ".join(PROPAGATION)))
            values["propagates"] = text
        key = (src, rtype, tgt)
        if not errors:
            if key in first_line:
                errors.append(RowError(line, "", f"the same relation is on line {first_line[key]}"))
            else:
                first_line[key] = line
        if errors:
            bad[line] = errors
        elif key in existing:
            rid, red, prop, version = existing[key]
            changes = {k: v for k, v in values.items()
                       if v != {"redundant": red, "propagates": prop}[k]}
            if changes:
                updates.append((key, changes))
            else:
                report.unchanged += 1
        else:
            creates.append({"id": uuid.uuid4(), "source": src, "target": tgt, "type": rtype,
                            "redundant": values.get("redundant", False),
                            "propagates": values.get("propagates", "target_to_source"),
                            "_names": (src_name, tgt_name)})
        if i % 10000 == 0:
            _tick(progress, i, total, "checking")
    _tick(progress, total, total, "checking")
    report.created, report.updated = len(creates), len(updates)
    if not _finish(report, header, rows, bad, skip_invalid, dry_run):
        return report

    now = utcnow()
    batch = uuid.uuid4()
    journal = []
    new_rows = []
    for row in creates:
        src_name, tgt_name = row.pop("_names")
        row.update(version=1, created_at=now, created_by=actor.person_id, updated_at=now,
                   updated_by=actor.person_id)
        new_rows.append(row)
        text = f"{row['type']} {tgt_name}"
        journal.append(_journal("relation", row["id"], f"{src_name} {text}", "*created*", None,
                                f"{src_name} {text}", actor, 1, batch, now))
        journal.append(_journal("ci", row["source"], src_name, "relation+", None, text, actor,
                                None, batch, now))
    with records.atomic():
        _bulk_insert(Relation, new_rows, progress, 0, total, "writing")
        for key, changes in updates:
            rid, _red, _prop, version = existing[key]
            Relation.update(**changes, version=version + 1, updated_at=now,
                            updated_by=actor.person_id).where(Relation.id == rid).execute()
            ref = f"{name_of[key[0]]} {key[1]} {name_of[key[2]]}"
            old = {"redundant": _red, "propagates": _prop}
            for field, new in changes.items():
                journal.append(_journal("relation", rid, ref, field, old[field], new, actor,
                                        version + 1, batch, now))
        _bulk_insert(JournalEntry, journal)
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
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in rows:
                writer.writerow(row)
                count += 1
                if progress and count % 5000 == 0:
                    _tick(progress, count, total, "exporting")
    _tick(progress, count, count, "exporting")
    return count
