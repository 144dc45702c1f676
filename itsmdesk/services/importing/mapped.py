"""Import other tools' CSV exports through a TOML mapping (``itsmdesk import KIND FILE --map M``).

The import runs in stages so that it is both fast and all-or-nothing:

1. read the file (encoding, delimiter), check the mapping's columns exist;
2. convert every cell (value maps, dates, numbers...), collecting every bad cell as a
   ``RowError(line, column, reason)``;
3. resolve names (people, teams, categories, CIs, linked changes/problems) to ids, planning the
   rows to create for missing ones where the mapping allows it;
4. group rows by external key: one row per record, or with ``[events] fold = true`` an event
   log folded into the record's final state plus one journal entry per changed field per event,
   stamped with the event's own time and author;
5. compare with what is already stored (matched on ``external_key``): create, update or leave
   unchanged;
6. write everything in ONE transaction with bulk inserts.  Any bad row aborts the import before
   stage 6 unless ``skip_invalid`` names a file for the rejected rows (event logs reject all rows
   of a record with a bad row, so no record gets half a history).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import peewee as pw

from itsmdesk.errors import N_, ItsmError, ValidationError
from itsmdesk.models.cmdb import CI, CIClass, Relation
from itsmdesk.models.incident import Incident
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.importing import csv_source as mapping_csv
from itsmdesk.services.importing.report import ImportReport, RowError, row_error, row_error_from
from itsmdesk.services.importing.spec import FieldSpec, MappingSpec, check_key, load_mapping
from itsmdesk.services.importing.targets import (
    LINK_FIELDS,
    TARGETS,
    LookupPlan,
    Target,
    field_type,
    lookup_model,
    resolve,
)
from itsmdesk.services.importing.values import (
    IGNORE,
    CellError,
    NonexistentTime,
    build_converter,
    condition_test,
    scalar_parser,
)
from itsmdesk.services.records import to_text

Progress = Callable[..., None]
SKIP_COMPARE = {"id", "version", "created_at", "created_by", "updated_at", "updated_by", "ref"}


class ImportCancelled(ItsmError):  # noqa: N818 - reads better at the call site
    """The person cancelled; nothing was written."""


@dataclass
class Event:
    at: dt.datetime | None
    who: str | None
    changes: list[tuple[str, Any, Any]]


@dataclass
class Planned:
    """One target record: its source rows, final values and history."""

    key: str
    lines: list[int]
    final: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    first_at: dt.datetime | None = None
    # event logs: the state after the first event (what the record is created with; the later
    # events are journalled as updates of it)
    first: dict[str, Any] | None = None
    # link fields (a change's affected CIs): field -> ids of the linked rows, in file order
    links: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class Prepared:
    spec: MappingSpec
    target: Target
    data: mapping_csv.CsvData
    rows: list[tuple[int, dict[str, Any], dict[str, Any]]]  # (line, values, meta)
    errors: list[RowError]
    bad_lines: set[int]
    lookups: dict[str, LookupPlan]
    class_plan: LookupPlan | None = None
    source_path: Path | None = None
    warnings: list[RowError] = field(default_factory=list)
    skipped: int = 0  # rows a [[skip]] condition left out


def _gap_warning(line: int, column: str, value: NonexistentTime, tz: str) -> RowError:
    return row_error(line, column, N_("{local} does not exist in {zone} (the clocks jumped "
                                      "forward); read as {actual}"),
                     local=value.local.strftime("%Y-%m-%d %H:%M"), zone=tz,
                     actual=value.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tz))
                     .strftime("%Y-%m-%d %H:%M"))


def _tick(progress: Progress | None, cancel: Callable[[], bool] | None, done: int,
          total: int | None, text: str) -> None:
    if cancel is not None and cancel():
        raise ImportCancelled(N_("Import cancelled; nothing was written."))
    if progress is not None:
        progress(done, total, text)


# --- stage 1-3: read, convert, resolve ----------------------------------------------------------

def _field_info(target: Target, name: str, mapping_path: str,
                fspec: FieldSpec | None = None) -> tuple[str, int | None]:
    model = target.model
    if (target.kind, name) in LINK_FIELDS:
        return "links", None
    if name.startswith("attributes.") and "attributes" in model._meta.fields:
        return (fspec.type if fspec and fspec.type else "text"), None
    f = model._meta.fields.get(name)
    if f is None or name in ("id", "version", "created_by", "updated_by"):
        known = ", ".join(n for n in model._meta.sorted_field_names
                          if n not in ("id", "version", "created_by", "updated_by"))
        raise ValidationError(N_("Mapping {path}: {field} is not a field of {kind} (fields: "
                                 "{known})"), path=mapping_path, field=name, kind=target.kind,
                              known=known)
    return field_type(f), getattr(f, "max_length", None)


def _check_create(target: Target, name: str, fspec: FieldSpec, mapping_path: str) -> None:
    """``create = { ... }`` of a link field: every key a field of the linked record, every value
    one it may hold (a status among its statuses...), so no import writes a record in a state
    the app does not know."""
    f = target.model._meta.fields.get(name)
    if not isinstance(f, pw.ForeignKeyField):
        raise ValidationError(N_("Mapping {path}: [fields] {name}: create only applies to a link "
                                 "to another record"), path=mapping_path, name=name)
    model = f.rel_model
    choices = next((t.choices for t in TARGETS.values() if t.model is model), {})
    allowed = [n for n in model._meta.sorted_field_names
               if n not in ("id", "version", "created_at", "created_by", "updated_at",
                            "updated_by", "external_key", "ref")]
    for key, value in fspec.create.items():
        if key not in allowed:
            raise ValidationError(N_("Mapping {path}: [fields] {name}: create.{key} is not a "
                                     "field of {model} (fields: {allowed})"), path=mapping_path,
                                  name=name, key=key, model=model._meta.table_name,
                                  allowed=", ".join(allowed))
        column = model._meta.fields[key]
        if isinstance(column, pw.CharField | pw.TextField) and not isinstance(value, str):
            raise ValidationError(N_("Mapping {path}: [fields] {name}: create.{key} must be text"),
                                  path=mapping_path, name=name, key=key)
        if key in choices and value not in choices[key]:
            raise ValidationError(N_("Mapping {path}: [fields] {name}: create.{key} = {value} is "
                                     "not a {model} {key}; allowed: {allowed}"), path=mapping_path,
                                  name=name, key=key, value=repr(value),
                                  model=model._meta.table_name,
                                  allowed=", ".join(str(c) for c in choices[key]))


MISSING_COLUMNS = N_("Line 1: column(s) {missing} named in the mapping are not in the file's "
                     "header ({count} columns: {shown}).{hint}")
# the same with the delimiter hint written out, so it is translated with the sentence
MISSING_COLUMNS_LOOKS = {
    "comma": N_("Line 1: column(s) {missing} named in the mapping are not in the file's header "
                "({count} columns: {shown}). The file looks comma-separated; set delimiter in "
                "[source]."),
    "semicolon": N_("Line 1: column(s) {missing} named in the mapping are not in the file's "
                    "header ({count} columns: {shown}). The file looks semicolon-separated; set "
                    "delimiter in [source]."),
    "tab": N_("Line 1: column(s) {missing} named in the mapping are not in the file's header "
              "({count} columns: {shown}). The file looks tab-separated; set delimiter in "
              "[source]."),
    "pipe": N_("Line 1: column(s) {missing} named in the mapping are not in the file's header "
               "({count} columns: {shown}). The file looks pipe-separated; set delimiter in "
               "[source]."),
}


def _check_columns(spec: MappingSpec, data: mapping_csv.CsvData) -> None:
    index = data.index()
    missing = [c for c in spec.columns() if c not in index]
    if not missing:
        return
    template, hint = MISSING_COLUMNS, ""
    if len(data.header) <= 2:
        sample = data.raw_header[0] if data.raw_header else ""
        for delim, name in mapping_csv.DELIMITER_NAMES.items():
            if delim != data.delimiter and sample.count(delim) >= 2:
                hint = f" The file looks {name}-separated; set delimiter in [source]."
                template = MISSING_COLUMNS_LOOKS.get(name, MISSING_COLUMNS)
                break
    shown = ", ".join(data.header[:8]) + (" ..." if len(data.header) > 8 else "")
    raise ValidationError(template, missing=", ".join(repr(m) for m in missing),
                          count=len(data.header), shown=shown, hint=hint)


def prepare(kind: str, path: str | Path, spec: MappingSpec,
            progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> Prepared:
    if kind not in TARGETS:
        raise ValidationError(N_("Cannot import {kind} with a mapping"), kind=kind)
    if spec.kind and spec.kind != kind:
        raise ValidationError(N_("Mapping {path} is for {mapped}, not {kind}"), path=spec.path,
                              mapped=spec.kind, kind=kind)
    check_key(kind, spec.key, spec.path)
    target = TARGETS[kind]
    src = spec.source
    infos = {name: _field_info(target, name, spec.path, fspec)
             for name, fspec in spec.fields.items()}  # the mapping is checked before the file
    for name, fspec in spec.fields.items():
        if fspec.create:
            _check_create(target, name, fspec, spec.path)
    _tick(progress, cancel, 0, None, "reading")
    data = mapping_csv.read_csv(path, src.delimiter, src.encoding, src.quotechar)
    _check_columns(spec, data)
    index = data.index()
    key_positions = [index[c] for c in spec.key_columns]
    converters: dict[str, Callable[[list[str]], Any]] = {}
    lookup_fields: dict[str, FieldSpec] = {}
    for name, fspec in spec.fields.items():
        ftype, max_length = infos[name]
        if ftype == "links":
            if spec.events.fold:
                raise ValidationError(N_("Mapping {path}: [fields] {field}: an event log "
                                         "([events] fold = true) cannot fill it; import the "
                                         "links from a file with one row per record and linked "
                                         "row"), path=spec.path, field=name)
            lookup_fields[name] = fspec
            converters[name] = _names_converter(fspec, index, src.null_values)
            continue
        if ftype == "lookup":
            lookup_fields[name] = fspec
            ftype = "text"
        try:
            converters[name] = build_converter(fspec, ftype, src, index,
                                               target.choices.get(name), max_length,
                                               key_positions)
        except ValueError as exc:
            raise ValidationError(N_("Mapping {path}: [fields] {field}: {reason}"),
                                  path=spec.path, field=name, reason=str(exc)) from exc
    skip_tests = [condition_test(c, index, key_positions, src.null_values) for c in spec.skip]
    skipped = 0
    separator = spec.key_separator
    key_field = target.model._meta.fields.get("external_key")
    key_limit = getattr(key_field, "max_length", None) or 0
    at_pos = index[spec.events.at] if spec.events.at else None
    who_pos = index[spec.events.who] if spec.events.who else None
    order_pos = index[spec.events.order_by] if spec.events.order_by else None
    parse_at = scalar_parser("datetime", src)
    at_cache: dict[str, Any] = {}
    errors = list(data.errors)
    warnings: list[RowError] = []
    bad_lines = {e.line for e in errors}
    rows: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    total = len(data.rows)
    nulls = src.null_values
    class_of: dict[str, str] = {}
    default_class_of: dict[str, str] = {}
    # CIs a field may create: each field's class column (class_map applied) or its own
    # default_class (two fields of one mapping create CIs of their own classes)
    ci_class_specs = {n: f for n, f in lookup_fields.items()
                      if lookup_model(kind, n) is CI and (f.class_column or f.default_class)}
    for number, row in enumerate(data.rows):
        if number % 5000 == 0:
            _tick(progress, cancel, number, total, "checking rows")
        cells = row.cells
        if not cells:
            continue  # truncated / overlong: already reported
        if skip_tests and any(test(cells) for test in skip_tests):
            skipped += 1
            row.cells = []
            continue
        row.cells = []  # converted below; frees the raw cells (rejects re-read the file)
        values: dict[str, Any] = {}
        meta: dict[str, Any] = {}
        row_ok = True
        for name, convert in converters.items():
            try:
                values[name] = convert(cells)
            except CellError as exc:
                errors.append(RowError(row.line, exc.column, exc.reason, exc.template, exc.params))
                row_ok = False
            else:
                if isinstance(values[name], NonexistentTime):
                    warnings.append(_gap_warning(row.line, name, values[name], spec.source.timezone))
                    values[name] = values[name].plain()
        if key_positions:
            parts = [cells[p] for p in key_positions]
            key = parts[0] if len(parts) == 1 else separator.join(parts)
            if any(part == "" or part in nulls for part in parts):
                errors.append(row_error(row.line, spec.key or "",
                                        N_("no external key: the cell is {value}"),
                                        value=repr(key)))
                row_ok = False
            elif key_limit and len(key) > key_limit:
                errors.append(row_error(row.line, spec.key or "", N_("external key longer than "
                                                                     "{max} characters"),
                                        max=key_limit))
                row_ok = False
            meta["key"] = key
        if at_pos is not None:
            raw = cells[at_pos]
            if raw not in at_cache:
                try:
                    at_cache[raw] = parse_at(raw) if raw and raw not in nulls else None
                except ValueError as exc:
                    at_cache[raw] = exc
            at = at_cache[raw]
            if isinstance(at, ValueError):
                errors.append(row_error_from(row.line, spec.events.at or "", at))
                row_ok = False
            elif at is None and spec.events.fold:
                errors.append(row_error(row.line, spec.events.at or "", N_("no event time")))
                row_ok = False
            meta["at"] = at
            if isinstance(at, NonexistentTime):
                warnings.append(_gap_warning(row.line, spec.events.at or "", at,
                                             spec.source.timezone))
                meta["at"] = at.plain()
        if who_pos is not None:
            who = cells[who_pos]
            meta["who"] = None if who in nulls or who == "" else who
        if order_pos is not None:
            try:
                meta["order"] = float(cells[order_pos] or 0)
            except ValueError:
                errors.append(row_error(row.line, spec.events.order_by or "",
                                        N_("{value} is not a number"),
                                        value=repr(cells[order_pos])))
                row_ok = False
        for name, fspec in ci_class_specs.items():
            named = values.get(name)
            for ci_name in ([named] if isinstance(named, str) else
                            named if isinstance(named, list) else []):
                if ci_name in class_of:
                    continue
                cls = cells[index[fspec.class_column]] if fspec.class_column else ""
                if cls and cls not in nulls:
                    class_of[ci_name] = (fspec.class_map or {}).get(cls, cls)
                elif fspec.default_class:
                    default_class_of.setdefault(ci_name, fspec.default_class)
        if not row_ok:
            bad_lines.add(row.line)
        rows.append((row.line, values, meta))
    _tick(progress, cancel, total, total, "checking rows")
    prepared = Prepared(spec, target, data, rows, errors, bad_lines, {}, source_path=Path(path),
                        warnings=warnings, skipped=skipped)
    # a class a column names wins over a field's default
    _resolve_lookups(prepared, lookup_fields, {**default_class_of, **class_of})
    return prepared


def _names_converter(fspec: FieldSpec, index: dict[str, int], nulls: set[str]
                     ) -> Callable[[list[str]], list[str]]:
    """A link field's names in one row: one per column (``columns``) or the one column, cells
    split on ``split``; empty and null cells left out, each name once."""
    positions = [index[c] for c in (fspec.many or [fspec.column])]
    split = fspec.split

    def names(cells: list[str]) -> list[str]:
        out: list[str] = []
        for pos in positions:
            cell = cells[pos]
            for part in (cell.split(split) if split else [cell]):
                part = part.strip()
                if part and part not in nulls and part not in out:
                    out.append(part)
        return out

    return names


# "no person 'Ann' ...": one template per record kind, so the kind word is translated with the
# sentence (English reads the same as MISSING_TEMPLATE with the kind filled in)
MISSING_TEMPLATE = N_("no {kind} {value} (add create_missing = true to the mapping to create it)")
MISSING_TEMPLATES = {
    "person": N_("no person {value} (add create_missing = true to the mapping to create it)"),
    "team": N_("no team {value} (add create_missing = true to the mapping to create it)"),
    "category": N_("no category {value} (add create_missing = true to the mapping to create "
                   "it)"),
    "ci": N_("no ci {value} (add create_missing = true to the mapping to create it)"),
    "ci_class": N_("no ci_class {value} (add create_missing = true to the mapping to create "
                   "it)"),
    "site": N_("no site {value} (add create_missing = true to the mapping to create it)"),
    "organisation": N_("no organisation {value} (add create_missing = true to the mapping to "
                       "create it)"),
    "incident": N_("no incident {value} (add create_missing = true to the mapping to create "
                   "it)"),
    "change": N_("no change {value} (add create_missing = true to the mapping to create it)"),
    "problem": N_("no problem {value} (add create_missing = true to the mapping to create "
                  "it)"),
    "known_error": N_("no known_error {value} (add create_missing = true to the mapping to "
                      "create it)"),
}


def _resolve_lookups(prepared: Prepared, lookup_fields: dict[str, FieldSpec],
                     class_of: dict[str, str]) -> None:
    target = prepared.target
    record_kind = "incident"
    # One plan per target model: a caller and an assignee of the same name are one person.
    by_model: dict[type, list[str]] = {}
    for name in lookup_fields:
        by_model.setdefault(lookup_model(target.kind, name), []).append(name)
    plans: dict[type, LookupPlan] = {}
    for model, names_of in by_model.items():
        names = set()
        for _l, v, _m in prepared.rows:
            for n in names_of:
                value = v.get(n)
                if isinstance(value, str):
                    names.add(value)
                elif isinstance(value, list):
                    names.update(value)
        specs = [lookup_fields[n] for n in names_of]
        fspec = next((f for f in specs if f.create_missing), specs[0])
        plans[model] = resolve(model, fspec, names, record_kind, class_of)
    for name, fspec in lookup_fields.items():
        model = lookup_model(target.kind, name)
        plan = prepared.lookups[name] = plans[model]
        if model is CI and plan.new:
            # classes for the CIs to create: from the class column (class_map applied) or default
            wanted = {vals["_class"] for vals in plan.new.values()}
            class_spec = FieldSpec(name="ci_class", create_missing=True)
            cplan = resolve(CIClass, class_spec, wanted)
            prepared.class_plan = cplan
        if plan.missing and not fspec.create_missing:
            column = fspec.column or name
            label = getattr(model, "RECORD_KIND", model.__name__)
            template = MISSING_TEMPLATES.get(label, MISSING_TEMPLATE)
            for line, values, _meta in prepared.rows:
                value = values.get(name)
                for one in ([value] if isinstance(value, str) else
                            value if isinstance(value, list) else []):
                    if one in plan.missing:
                        prepared.errors.append(row_error(line, column, template, kind=label,
                                                         value=repr(one)))
                        prepared.bad_lines.add(line)
        if plan.new and fspec.create_missing:
            _reject_too_long(prepared, name, fspec, plan)
    for _line, values, _meta in prepared.rows:
        for name in lookup_fields:
            value = values.get(name)
            if isinstance(value, str):
                values[name] = prepared.lookups[name].ids.get(value)
            elif isinstance(value, list):
                ids = prepared.lookups[name].ids
                values[name] = [ids[v] for v in value if v in ids]


TOO_LONG_TO_CREATE = N_("cannot create {kind} {value}: its {field} may hold at most {max} "
                        "characters")


def _reject_too_long(prepared: Prepared, name: str, fspec: FieldSpec, plan: LookupPlan) -> None:
    """Linked records to create whose text does not fit its column: row errors on the rows
    naming them (SQLite would store the text, PostgreSQL refuse the whole import)."""
    too_long: dict[str, tuple[str, int]] = {}
    by_id = {new_id: source for source, new_id in plan.ids.items() if new_id in plan.new}
    for new_id, values in list(plan.new.items()):
        for key, value in values.items():
            limit = getattr(plan.model._meta.fields.get(key), "max_length", None)
            if limit and isinstance(value, str) and len(value) > limit:
                too_long[by_id[new_id]] = (key, limit)
                del plan.new[new_id]
                break
    if not too_long:
        return
    column = fspec.column or name
    label = getattr(plan.model, "RECORD_KIND", plan.model.__name__).lower()
    for line, values, _meta in prepared.rows:
        value = values.get(name)
        for one in ([value] if isinstance(value, str) else
                    value if isinstance(value, list) else []):  # (a links field: a list)
            if one in too_long:
                key, limit = too_long[one]
                shown = repr(one if len(one) <= 40 else one[:37] + "...")
                prepared.errors.append(row_error(line, column, TOO_LONG_TO_CREATE, kind=label,
                                                 value=shown, field=key, max=limit))
                prepared.bad_lines.add(line)
                break


# --- stage 4: group and fold ------------------------------------------------------------------

def _derive(target: Target, spec: MappingSpec, state: dict[str, Any], matrix: dict | None) -> None:
    """Fields computed from others when the mapping does not give them."""
    if target.model is Incident and "priority" not in spec.fields and matrix is not None:
        impact, urgency = state.get("impact"), state.get("urgency")
        if impact in (1, 2, 3) and urgency in (1, 2, 3):
            state["priority"] = matrix[f"{impact},{urgency}"]


def group(prepared: Prepared, skip_invalid: bool) -> tuple[list[Planned], set[int]]:
    """Records to write, and the lines rejected (every row of a key that has a bad row)."""
    spec, target = prepared.spec, prepared.target
    matrix = None
    if target.model is Incident and "priority" not in spec.fields:
        from itsmdesk.services.servicedesk.priority import matrix as priority_matrix

        matrix = priority_matrix()
    by_key: dict[str, list[tuple[int, dict[str, Any], dict[str, Any]]]] = {}
    rejected: set[int] = set(prepared.bad_lines)
    unkeyed: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    for item in prepared.rows:
        key = item[2].get("key")
        if key is None:
            unkeyed.append(item)
        else:
            by_key.setdefault(key, []).append(item)
    planned: list[Planned] = []
    fold = spec.events.fold
    links = [n for n in spec.fields if (target.kind, n) in LINK_FIELDS]
    for key, items in by_key.items():
        lines = [i[0] for i in items]
        if any(line in prepared.bad_lines for line in lines):
            rejected.update(lines)
            continue
        if links and not fold:
            planned.append(_collect(key, items, links, spec, target, matrix))
            continue
        if not fold and len(items) > 1:
            for line in lines[1:]:
                prepared.errors.append(row_error(
                    line, spec.key or "", N_("key {key} again (first on line {first}); an event "
                                             "log needs [events] fold = true"),
                    key=repr(key), first=lines[0]))
            rejected.update(lines)
            continue
        if fold:
            planned.append(_fold(key, items, spec, target, matrix))
        else:
            _line, values, meta = items[0]
            state = {k: v for k, v in values.items() if v is not IGNORE}
            _derive(target, spec, state, matrix)
            planned.append(Planned(key, lines, state, first_at=meta.get("at")))
    for line, values, meta in unkeyed:
        if line in prepared.bad_lines:
            continue
        state = {k: v for k, v in values.items() if v is not IGNORE}
        _derive(target, spec, state, matrix)
        planned.append(Planned("", [line], state, first_at=meta.get("at")))
    _check_required(planned, prepared, rejected)
    if rejected and not skip_invalid:
        return planned, rejected
    return [p for p in planned if not rejected.intersection(p.lines)], rejected


def _collect(key: str, items: list, links: list[str], spec: MappingSpec, target: Target,
             matrix: dict | None) -> Planned:
    """Rows of one key (one per record x linked row): each field from the first row that
    gives it, the linked rows of every row collected (each once, in file order)."""
    state: dict[str, Any] = {}
    found: dict[str, list[Any]] = {name: [] for name in links}
    for _line, values, _meta in items:
        for name, value in values.items():
            if name in found:
                found[name] += [v for v in value or () if v not in found[name]]
            elif value is not IGNORE and value not in (None, "") and name not in state:
                state[name] = value
    for name, value in items[0][1].items():  # fields no row gives: as the first row has them
        if name not in found and name not in state and value is not IGNORE:
            state[name] = value
    _derive(target, spec, state, matrix)
    return Planned(key, [i[0] for i in items], state, first_at=items[0][2].get("at"),
                   links=found)


def _fold(key: str, items: list, spec: MappingSpec, target: Target, matrix: dict | None) -> Planned:
    if spec.events.order_by:
        items = sorted(items, key=lambda i: i[2].get("order", 0))  # stable: file order on ties
    state: dict[str, Any] = {}
    first: dict[str, Any] = {}
    events: list[Event] = []
    for number, (_line, values, meta) in enumerate(items):
        new = dict(state)
        for name, value in values.items():
            if value is not IGNORE:
                new[name] = value
        _derive(target, spec, new, matrix)
        if number == 0:
            first = new
            changes = [(n, None, v) for n, v in new.items() if v is not None and v != ""]
        else:
            get = state.get  # values repeat as the very same objects (memoised conversions)
            changes = [(n, old, v) for n, v in new.items()
                       if (old := get(n)) is not v and old != v]
        if changes or number == 0:
            events.append(Event(meta.get("at"), meta.get("who"), changes))
        state = new
    return Planned(key, [i[0] for i in items], state, events,
                   first_at=items[0][2].get("at"), first=first)


def _check_required(planned: list[Planned], prepared: Prepared, rejected: set[int]) -> None:
    spec, target = prepared.spec, prepared.target
    for rec in planned:
        for name in target.required:
            if rec.final.get(name) in (None, ""):
                fspec = spec.fields.get(name)
                column = (fspec.column or fspec.template or name) if fspec else name
                template = (N_("{field} is required but empty") if fspec
                            else N_("{field} is required: map it in [fields]"))
                prepared.errors.append(row_error(rec.lines[-1], column, template, field=name))
                rejected.update(rec.lines)


# --- stage 5: match existing ------------------------------------------------------------------

def _existing(target: Target, spec: MappingSpec, planned: list[Planned]) -> dict[int, pw.Model]:
    """Index in ``planned`` -> stored record it updates."""
    model = target.model
    found: dict[int, pw.Model] = {}
    if model is Relation:
        triples = {(p.final.get("source"), p.final.get("type"), p.final.get("target")): i
                   for i, p in enumerate(planned)}
        sources = sorted({t[0] for t in triples if t[0]}, key=str)
        for start in range(0, len(sources), 500):
            for rel in Relation.select().where(Relation.source.in_(sources[start:start + 500])):
                i = triples.get((rel.source_id, rel.type, rel.target_id))
                if i is not None:
                    found[i] = rel
        return found
    keys = {p.key: i for i, p in enumerate(planned) if p.key}
    key_list = sorted(keys)
    for start in range(0, len(key_list), 500):
        chunk = key_list[start:start + 500]
        for rec in model.select().where(model.external_key.in_(chunk)):
            i = keys.get(rec.external_key)
            if i is not None and i not in found:
                found[i] = rec
    if model is CI:
        names = {p.final.get("name"): i for i, p in enumerate(planned) if i not in found}
        name_list = sorted(n for n in names if n)
        for start in range(0, len(name_list), 500):
            for rec in CI.select().where(CI.name.in_(name_list[start:start + 500])):
                found.setdefault(names[rec.name], rec)
    return found


def _diff(record: pw.Model, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    out = {}
    for name, new in values.items():
        if name in SKIP_COMPARE:
            continue
        if name.startswith("attributes."):
            continue
        f = record._meta.fields[name]
        old = record.__data__.get(name) if isinstance(f, pw.ForeignKeyField) else getattr(record, name)
        if to_text(old) != to_text(new):
            out[name] = (old, new)
    return out


def _with_attributes(values: dict[str, Any], current: dict | None = None) -> dict[str, Any]:
    """Fold ``attributes.x`` entries into the ``attributes`` JSON document."""
    attrs = {k[len("attributes."):]: v for k, v in values.items() if k.startswith("attributes.")}
    out = {k: v for k, v in values.items() if not k.startswith("attributes.")}
    if attrs:
        merged = dict(current or {})
        merged.update({k: v for k, v in attrs.items() if v is not None})
        out["attributes"] = merged
    return out


# --- the entry point --------------------------------------------------------------------------

def run_import(kind: str, path: str | Path, map_path: str | Path, dry_run: bool = False,
               skip_invalid: str | Path | None = None, progress: Progress | None = None,
               cancel: Callable[[], bool] | None = None, actor: Actor = SYSTEM) -> ImportReport:
    """Import ``path`` as ``kind`` records through the mapping at ``map_path``.

    ``progress(done, total, text)`` is called now and then; ``cancel()`` returning True stops
    the import (raising :class:`ImportCancelled`; nothing is written).
    """
    spec = load_mapping(map_path)
    return run_with_spec(kind, path, spec, dry_run, skip_invalid, progress, cancel, actor)


def run_with_spec(kind: str, path: str | Path, spec: MappingSpec, dry_run: bool = False,
                  skip_invalid: str | Path | None = None, progress: Progress | None = None,
                  cancel: Callable[[], bool] | None = None, actor: Actor = SYSTEM) -> ImportReport:
    import gc

    # Millions of small objects: the cyclic GC would rescan them over and over (none are cycles).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(kind, path, spec, dry_run, skip_invalid, progress, cancel, actor)
    finally:
        if was_enabled:
            gc.enable()


def _run(kind: str, path: str | Path, spec: MappingSpec, dry_run: bool,
         skip_invalid: str | Path | None, progress: Progress | None,
         cancel: Callable[[], bool] | None, actor: Actor) -> ImportReport:
    report = ImportReport(kind=kind, dry_run=dry_run)
    prepared = prepare(kind, path, spec, progress, cancel)
    report.rows_read = len(prepared.data.rows)
    if prepared.skipped:
        report.extra["skipped"] = prepared.skipped
    planned, rejected = group(prepared, skip_invalid is not None)
    existing = _existing(prepared.target, spec, planned)
    planned, existing = _check_unique(prepared, planned, existing, rejected,
                                      skip_invalid is not None)
    report.errors = sorted(prepared.errors, key=lambda e: (e.line, e.column))
    report.warnings = sorted(prepared.warnings, key=lambda e: (e.line, e.column))
    if prepared.warnings:
        report.extra["warnings"] = len(prepared.warnings)
    if rejected and skip_invalid is None:
        report.rejected = len(rejected)
        return report  # atomic: nothing written
    report.rejected = len(rejected)
    if rejected and skip_invalid is not None and not dry_run:
        _write_rejects(Path(skip_invalid), prepared, rejected)
        report.rejects_file = str(skip_invalid)
    from itsmdesk.services.importing.apply import apply

    apply(prepared, planned, existing, report, dry_run, actor, progress, cancel)
    return report


def _check_unique(prepared: Prepared, planned: list[Planned], existing: dict[int, pw.Model],
                  rejected: set[int], skip_invalid: bool
                  ) -> tuple[list[Planned], dict[int, pw.Model]]:
    """Every planned row that would break a UNIQUE constraint becomes a row error (the dry
    run finds what the import would meet); a row repeating another exactly is imported once."""
    from itsmdesk.services.importing import unique

    spec, model = prepared.spec, prepared.target.model
    names_of: dict[Any, str] = {}
    for plan in {id(p): p for p in prepared.lookups.values()}.values():
        names_of.update({v: k for k, v in plan.ids.items()})

    def shown(clash: unique.Clash) -> str:
        parts = [names_of.get(_as_uuid(text), text) for text in clash.values]
        return " / ".join(repr(p) for p in parts)

    def column(names: tuple[str, ...]) -> str:
        return ", ".join((spec.fields[n].column or n) if n in spec.fields else n for n in names)

    dropped: set[int] = set()
    rows = []
    key_limit = getattr(model._meta.fields.get("external_key"), "max_length", None)
    for i, rec in enumerate(planned):
        if rejected.intersection(rec.lines):
            continue
        if key_limit and len(rec.key) > key_limit:
            prepared.errors.append(row_error(rec.lines[0], spec.key or "",
                                             N_("the key is longer than {max} characters "
                                                "({length})"), max=key_limit,
                                             length=len(rec.key)))
            rejected.update(rec.lines)
            continue
        own = existing[i].id if i in existing else None
        rows.append((i, _with_attributes(rec.final), own))
    for clash in unique.clashes(model, rows):
        rec = planned[clash.tag]
        if clash.other is not None:
            first = planned[clash.other]
            if rec.key == first.key and rec.final == first.final and clash.tag not in existing:
                prepared.warnings.append(row_error(
                    rec.lines[0], column(clash.fields),
                    N_("the same as line {first}: imported once"), first=first.lines[0]))
                dropped.add(clash.tag)
                continue
            error = row_error(rec.lines[0], column(clash.fields),
                              N_("{value} is also given on line {first}: two records cannot "
                                 "share {fields}"), value=shown(clash), first=first.lines[0],
                              fields=", ".join(clash.fields))
        else:
            error = row_error(rec.lines[0], column(clash.fields),
                              N_("{value} is already held by {record}: two records cannot share "
                                 "{fields}"), value=shown(clash), record=clash.stored,
                              fields=", ".join(clash.fields))
        prepared.errors.append(error)
        rejected.update(rec.lines)
    _check_unique_lookups(prepared, rejected)
    if not dropped and not (skip_invalid and rejected):
        return planned, existing
    keep = [i for i, rec in enumerate(planned) if i not in dropped
            and not (skip_invalid and rejected.intersection(rec.lines))]
    return [planned[i] for i in keep], {n: existing[i] for n, i in enumerate(keep) if i in existing}


def _as_uuid(text: Any) -> Any:
    import uuid

    try:
        return uuid.UUID(str(text))
    except ValueError:
        return text


def _check_unique_lookups(prepared: Prepared, rejected: set[int]) -> None:
    """People, teams, CIs... the import would create: one that collides (a CI created under a
    name another CI holds, two classes with the same short name) rejects the rows naming it."""
    from itsmdesk.services.importing import unique

    plans = ([prepared.class_plan] if prepared.class_plan else []) + list(
        {id(p): p for p in prepared.lookups.values()}.values())
    for plan in plans:
        if not plan.new:
            continue
        rows = [(new_id, {k: v for k, v in values.items() if not k.startswith("_")}, None)
                for new_id, values in plan.new.items()]
        name_of = {v: k for k, v in plan.ids.items()}
        label = getattr(plan.model, "RECORD_KIND", plan.model.__name__)
        bad: list[tuple[Any, RowError]] = []
        for new_id, values, _own in rows:
            for name, length, limit in unique.too_long(plan.model, values)[:1]:
                bad.append((new_id, row_error(
                    0, "", N_("creating {kind} {name}: its {field} would be longer than {max} "
                              "characters ({length})"), kind=label,
                    name=repr(name_of.get(new_id, "")[:60]), field=name, max=limit,
                    length=length)))
        for clash in unique.clashes(plan.model, rows):
            culprit = clash.tag
            why = (row_error(0, "", N_("creating {kind} {name} would repeat {value}, which "
                                       "{record} already holds"), kind=label,
                             name=repr(name_of.get(culprit, "")),
                             value=" / ".join(map(repr, clash.values)), record=clash.stored)
                   if clash.other is None else
                   row_error(0, "", N_("creating {kind} {name} would repeat {value}, which "
                                       "{other} is also created with"), kind=label,
                             name=repr(name_of.get(culprit, "")),
                             value=" / ".join(map(repr, clash.values)),
                             other=repr(name_of.get(clash.other, ""))))
            bad.append((culprit, why))
        for culprit, why in bad:
            plan.new.pop(culprit, None)
            fields = [n for n, p in prepared.lookups.items() if p is plan]
            if plan is prepared.class_plan:  # a class: the rows whose CIs need it
                ci_plans = [p for p in prepared.lookups.values() if p.model is CI]
                names = {k for k, v in plan.ids.items() if v == culprit}
                cis = {cid for p in ci_plans for cid, v in p.new.items()
                       if v.get("_class") in names}
                fields = [n for n, p in prepared.lookups.items() if p.model is CI]
                targets = cis
            else:
                targets = {culprit}
            for line, values, _meta in prepared.rows:
                for name in fields:
                    value = values.get(name)
                    if (any(v in targets for v in value) if isinstance(value, list)
                            else value in targets):
                        spec_col = prepared.spec.fields[name].column or name
                        prepared.errors.append(RowError(line, spec_col, why.reason, why.template,
                                                        why.params))
                        prepared.bad_lines.add(line)
                        rejected.add(line)
                        break


def _write_rejects(path: Path, prepared: Prepared, rejected: set[int]) -> None:
    reasons: dict[int, list[str]] = {}
    for err in prepared.errors:
        reasons.setdefault(err.line, []).append(f"{err.column}: {err.reason}")
    assert prepared.source_path is not None
    text, _enc = mapping_csv.read_text(prepared.source_path, prepared.spec.source.encoding)
    import io

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=prepared.data.delimiter,
                        quotechar=prepared.spec.source.quotechar, strict=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        from itsmdesk.services import csv_safe

        writer = csv_safe.writer(handle, delimiter=prepared.data.delimiter)
        writer.writerow(["_line", "_reason"] + prepared.data.header)
        prev = 0
        for cells in reader:
            start, prev = prev + 1, reader.line_num
            if start in rejected:
                why = "; ".join(reasons.get(start, [])) or "another row of this record is invalid"
                writer.writerow([start, why] + [c.strip() for c in cells])


__all__ = ["ImportCancelled", "run_import", "run_with_spec", "prepare", "group"]
