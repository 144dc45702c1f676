"""The mapping file: how another tool's CSV export becomes our records (TOML, read with tomllib).

A mapping names the source format (delimiter, encoding, decimal separator, date formats, null
markers), the external key column, optional event-log folding, and one entry per target field::

    kind = "incidents"
    key = "number"

    [source]
    delimiter = ","            # "auto" sniffs , ; tab |
    encoding = "utf-8"         # "auto": utf-8, else cp1252
    date_formats = ["%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S"]

    [events]                   # several rows per key: fold into one record + history
    fold = true
    at = "sys_updated_at"
    who = "sys_updated_by"

    [fields]
    title = { template = "{category} / {subcategory}" }
    status = { column = "incident_state", map = { New = "new", Closed = "closed" } }
    opened_at = "opened_at"    # short form: just the column

See docs/import-mapping.md for every option.  Parsing raises ``ValidationError`` naming the
mapping file and the offending entry.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itsmdesk.errors import N_, ValidationError

KINDS = ("incidents", "changes", "problems", "cis", "relations", "interactions")

DEFAULT_DATE_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]

SOURCE_KEYS = {"delimiter", "encoding", "decimal", "thousands", "date_formats", "timezone",
               "null_values", "true_values", "false_values", "quotechar"}
EVENT_KEYS = {"fold", "at", "who", "order_by"}
FIELD_KEYS = {"column", "template", "value", "map", "ignore", "default", "strict", "create_missing",
              "match", "class_column", "class_map", "default_class", "create", "required", "type",
              "when", "scale", "columns", "split"}
CONDITION_KEYS = {"column", "values", "pattern", "empty", "not"}
SCALE_KEYS = {"from", "to", "round"}
ATTRIBUTE_TYPES = ("text", "int", "float", "bool", "date", "datetime")
TOP_KEYS = {"kind", "key", "key_separator", "name", "description", "source", "events", "fields",
            "skip"}


@dataclass
class SourceSpec:
    delimiter: str = "auto"
    encoding: str = "auto"
    decimal: str = "."
    thousands: str = ""
    date_formats: list[str] = field(default_factory=lambda: list(DEFAULT_DATE_FORMATS))
    timezone: str = "UTC"
    null_values: set[str] = field(default_factory=set)
    true_values: set[str] = field(default_factory=lambda: {"true", "yes", "y", "1", "x"})
    false_values: set[str] = field(default_factory=lambda: {"false", "no", "n", "0"})
    quotechar: str = '"'


@dataclass
class EventSpec:
    fold: bool = False
    at: str | None = None  # column with each event's timestamp
    who: str | None = None  # column naming who made the change (kept as the journal's who)
    order_by: str | None = None  # numeric column ordering a key's rows; default: file order


@dataclass(frozen=True)
class Condition:
    """A test on one cell: it is one of ``values`` (case-insensitive), or matches ``pattern``
    (a whole-cell regular expression), or is empty / not empty; ``negate`` turns it round.
    ``column`` None means the key column(s) (any of them)."""

    column: str | None = None
    values: frozenset[str] | None = None
    pattern: str | None = None
    empty: bool | None = None
    negate: bool = False

    def columns(self) -> list[str]:
        return [self.column] if self.column else []


@dataclass(frozen=True)
class Rule:
    """``when``: a condition and the value the field takes when it holds."""

    condition: Condition
    value: Any


@dataclass(frozen=True)
class Scale:
    """A number on the source's scale ``low..high`` squeezed (or stretched) onto ours."""

    source: tuple[float, float]
    target: tuple[int, int]
    round: str = "down"  # halves go to the lower number ("up": the higher)

    def apply(self, number: float) -> int:
        import math

        (a, b), (c, d) = self.source, self.target
        exact = c + (number - a) * (d - c) / (b - a)
        near = round(exact)
        if abs(exact - math.floor(exact) - 0.5) < 1e-9:
            near = math.floor(exact) if self.round == "down" else math.ceil(exact)
        return int(near)


@dataclass
class FieldSpec:
    """One target field.  Exactly one of ``column``, ``template``, ``value`` is set."""

    name: str
    column: str | None = None
    template: str | None = None
    value: Any = None
    map: dict[str, Any] | None = None
    ignore: frozenset[str] = frozenset()
    default: Any = None
    strict: bool = True  # unknown values (not in map) are errors
    required: bool = False
    create_missing: bool = False
    match: str = "auto"  # for record links: auto | ref | external_key | name
    class_column: str | None = None  # CI columns: the column naming the CI's class
    class_map: dict[str, str] | None = None
    default_class: str | None = None
    create: dict[str, Any] = field(default_factory=dict)  # values for created linked records
    map_folded: dict[str, Any] | None = None  # case-insensitive map
    type: str | None = None  # for attributes.NAME: text, int, float, bool, date, datetime
    when: list[Rule] = field(default_factory=list)  # derived values: the first rule that holds
    scale: Scale | None = None
    many: list[str] = field(default_factory=list)  # several columns, one value each (affected CIs)
    split: str | None = None  # a cell holding several values, split on this

    def columns(self) -> list[str]:
        """Every source column this field reads."""
        cols = [self.column] if self.column else []
        cols += self.many
        for rule in self.when:
            cols += rule.condition.columns()
        if self.template:
            cols += template_columns(self.template)
            if isinstance(self.default, str):
                cols += template_columns(self.default)
        if self.class_column:
            cols.append(self.class_column)
        return cols


@dataclass
class MappingSpec:
    kind: str | None
    key: str | None  # the key column, or for a key of several columns their names joined by +
    source: SourceSpec
    events: EventSpec
    fields: dict[str, FieldSpec]
    path: str = ""
    name: str = ""
    key_columns: list[str] = field(default_factory=list)  # (default: [key])
    key_separator: str = "/"  # between the parts of a key of several columns
    skip: list[Condition] = field(default_factory=list)  # rows to leave out (any that holds)

    def __post_init__(self) -> None:
        if self.key and not self.key_columns:
            self.key_columns = [self.key]

    def columns(self) -> list[str]:
        cols: list[str] = list(self.key_columns)
        for extra in (self.events.at, self.events.who, self.events.order_by):
            if extra:
                cols.append(extra)
        for cond in self.skip:
            cols += cond.columns()
        for spec in self.fields.values():
            cols += spec.columns()
        seen: set[str] = set()
        return [c for c in cols if not (c in seen or seen.add(c))]


def template_parts(template: str) -> list[tuple[str, str | None]]:
    """``template`` as (literal text, column name or None): only plain ``{column}`` is allowed.

    Templates are not Python format strings: a format spec (``{a:>100000}``, ``{a:d}``), a
    conversion (``{a!r}``), an empty or unclosed brace, is refused (:class:`ValueError` with the
    reason), so a mapping can neither fail on a cell's type nor make an import build huge text.
    ``{{`` and ``}}`` are literal braces.  Any other text between braces is a column name
    (``{Cat.x}`` and ``{0}`` name the columns ``Cat.x`` and ``0``)."""
    import string

    parts: list[tuple[str, str | None]] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"{exc} (write {{{{ and }}}} for a literal brace)") from None
    for literal, name, spec, conversion in parsed:
        if name is None:
            parts.append((literal, None))
            continue
        if conversion is not None or spec:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec
                                                                             else "") + "}"
            raise ValueError(f"{shown} is not allowed: write {{{name}}}; templates take no format "
                             "specs or conversions")
        if name.strip() == "":
            raise ValueError("{} is not allowed: name the column, e.g. {number}")
        parts.append((literal, name))
    return parts


def template_columns(template: str) -> list[str]:
    """Column names a ``{column}`` template refers to (``{{`` escapes a brace)."""
    try:
        return [name for _lit, name in template_parts(template) if name is not None]
    except ValueError as exc:
        raise ValidationError(N_("Bad template {text}: {reason}"), text=repr(template)[:120],
                              reason=str(exc)) from None


# matched on external_key: a key is needed
KEYED_KINDS = ("incidents", "changes", "problems", "interactions")


def check_key(kind: str | None, key: str | None, path: str) -> None:
    if kind in KEYED_KINDS and not key:
        raise ValidationError(N_("Mapping {path}: importing {kind} needs key = \"COLUMN\": the "
                                 "source's id, kept as external key so that a re-import updates "
                                 "instead of duplicating"), path=path, kind=kind)


def _bad(path: str, where: str, reason: str) -> ValidationError:
    return ValidationError(N_("Mapping {path}: {where}: {reason}"), path=path, where=where,
                           reason=reason)


def _unescape(text: str) -> str:
    return {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(text, text)


SCALARS = (str, int, float, bool, dt.date, dt.datetime, dt.time)


def _kind_word(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dt.date | dt.time):
        return "a date or time"
    return "text"


def _want(path: str, where: str, value: Any, kinds: tuple[type, ...], wanted: str) -> Any:
    """``value`` when it is one of ``kinds`` (bool is not a number), else a sentence."""
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if not ok:
        raise _bad(path, where, f"must be {wanted}, not {_kind_word(value)}")
    return value


def _text(path: str, where: str, value: Any) -> str:
    return _want(path, where, value, (str,), "text")


def _column(path: str, where: str, value: Any) -> str:
    """A column name: text that is not empty (a CSV header cell is never looked up by "")."""
    if not _text(path, where, value).strip():
        raise _bad(path, where, "must name a column, not be empty")
    return value


def _flag(path: str, where: str, value: Any) -> bool:
    return _want(path, where, value, (bool,), "true or false")


def _table(path: str, where: str, value: Any) -> dict[str, Any]:
    return _want(path, where, value, (dict,), "a table")


def _scalar(path: str, where: str, value: Any) -> Any:
    return _want(path, where, value, SCALARS, "text, a number, true/false or a date")


def _scalar_list(path: str, where: str, value: Any) -> list[Any]:
    values = _want(path, where, value, (list,), "a list")
    for item in values:
        _want(path, where, item, (str, int, float), "a list of text or numbers")
    return values


def _parse_source(data: dict[str, Any], path: str) -> SourceSpec:
    data = _table(path, "[source]", data)
    unknown = set(data) - SOURCE_KEYS
    if unknown:
        raise _bad(path, "[source]", "unknown option(s) " + ", ".join(sorted(unknown)))
    src = SourceSpec()
    for name in ("delimiter", "encoding", "decimal", "thousands", "quotechar", "timezone"):
        if name in data:
            _text(path, f"[source] {name}", data[name])
    if "delimiter" in data:
        delim = _unescape(data["delimiter"])
        if delim != "auto" and (len(delim) != 1 or delim in "\r\n\"'"):
            raise _bad(path, "[source] delimiter", "must be one character (not a quote or a line "
                       "break) or \"auto\"")
        src.delimiter = delim
    if "encoding" in data:
        import codecs

        enc = data["encoding"]
        if enc != "auto":
            try:
                info = codecs.lookup(enc)
            except (LookupError, ValueError):
                raise _bad(path, "[source] encoding", f"unknown encoding {enc!r}") from None
            if not getattr(info, "_is_text_encoding", True):
                raise _bad(path, "[source] encoding", f"{enc!r} is not a text encoding (use e.g. "
                           "\"utf-8\", \"cp1252\" or \"auto\")")
        src.encoding = enc
    for name in ("decimal", "thousands", "quotechar"):
        if name in data:
            setattr(src, name, data[name])
    if src.decimal not in (".", ","):
        raise _bad(path, "[source] decimal", "must be \".\" or \",\"")
    if len(src.thousands) > 1 or src.thousands in (src.decimal, "\r", "\n"):
        raise _bad(path, "[source] thousands", "must be one character other than the decimal "
                   "separator, or \"\"")
    if len(src.quotechar) != 1 or src.quotechar in "\r\n" or src.quotechar == src.delimiter:
        raise _bad(path, "[source] quotechar", "must be one character, not a line break nor the "
                   "delimiter")
    if "date_formats" in data:
        formats = data["date_formats"]
        if isinstance(formats, str):
            formats = [formats]
        if not isinstance(formats, list) or not formats or not all(
                isinstance(f, str) and "%" in f for f in formats):
            raise _bad(path, "[source] date_formats", "a list of strptime formats, e.g. "
                       "[\"%d/%m/%Y %H:%M\"]")
        for fmt in formats:
            try:
                dt.datetime.strptime("", fmt)
            except ValueError as exc:
                if "directive" in str(exc) or "stray %" in str(exc):
                    raise _bad(path, "[source] date_formats", f"{fmt!r}: {exc}") from None
        src.date_formats = list(formats)
    if "timezone" in data:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(data["timezone"])
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise _bad(path, "[source] timezone", f"unknown time zone {data['timezone']!r}") from None
        src.timezone = data["timezone"]
    for name in ("null_values", "true_values", "false_values"):
        if name in data:
            values = _scalar_list(path, f"[source] {name}", data[name])
            folded = {str(v).strip() for v in values}
            setattr(src, name, folded if name == "null_values" else {v.lower() for v in folded})
    return src


def _parse_events(data: dict[str, Any], path: str) -> EventSpec:
    data = _table(path, "[events]", data)
    unknown = set(data) - EVENT_KEYS
    if unknown:
        raise _bad(path, "[events]", "unknown option(s) " + ", ".join(sorted(unknown)))
    for name in ("at", "who", "order_by"):
        if name in data:
            _column(path, f"[events] {name}", data[name])
    ev = EventSpec(fold=_flag(path, "[events] fold", data.get("fold", True)), at=data.get("at"),
                   who=data.get("who"), order_by=data.get("order_by"))
    if ev.fold and not ev.at:
        raise _bad(path, "[events]", "fold = true needs at = \"COLUMN\" (each row's timestamp)")
    return ev


FIELD_TEXT = ("column", "template", "match", "class_column", "default_class", "type")
FIELD_FLAGS = ("strict", "required", "create_missing")


def _parse_field(name: str, raw: Any, path: str) -> FieldSpec:
    where = f"[fields] {name}"
    if isinstance(raw, str):
        return FieldSpec(name=name, column=_column(path, where, raw))
    if not isinstance(raw, dict):
        raise _bad(path, where, "give a column name or a table such as { column = \"...\" }")
    unknown = set(raw) - FIELD_KEYS
    if unknown:
        raise _bad(path, where, "unknown option(s) " + ", ".join(sorted(unknown)))
    sources = [k for k in ("column", "template", "value", "columns") if k in raw]
    if len(sources) > 1 or not sources and "when" not in raw:
        raise _bad(path, where, "needs exactly one of column, template, value (or columns)")
    for key in FIELD_TEXT:
        if key in raw:
            check = _column if key in ("column", "class_column") else _text
            check(path, f"{where} {key}", raw[key])
    for key in FIELD_FLAGS:
        if key in raw:
            _flag(path, f"{where} {key}", raw[key])
    for key in ("value", "default"):
        if key in raw:
            _scalar(path, f"{where} {key}", raw[key])
    create = _table(path, f"{where} create", raw.get("create", {}))
    for key, value in create.items():
        _scalar(path, f"{where} create.{key}", value)
    spec = FieldSpec(name=name, column=raw.get("column"), template=raw.get("template"),
                     value=raw.get("value"), default=raw.get("default"),
                     strict=raw.get("strict", True), required=raw.get("required", False),
                     create_missing=raw.get("create_missing", False),
                     match=raw.get("match", "auto"), class_column=raw.get("class_column"),
                     default_class=raw.get("default_class"), create=dict(create))
    for key in ("template", "default"):
        text = raw.get(key) if key == "template" or spec.template is not None else None
        if isinstance(text, str):
            try:
                template_parts(text)
            except ValueError as exc:
                raise _bad(path, f"{where} {key}", f"bad template {text[:80]!r}: {exc}") from None
    if "map" in raw:
        table = _table(path, f"{where} map", raw["map"])
        for key, value in table.items():
            _scalar(path, f"{where} map.{key}", value)
        spec.map = {str(k).strip(): v for k, v in table.items()}
        spec.map_folded = {k.casefold(): v for k, v in spec.map.items()}
    if "class_map" in raw:
        table = _table(path, f"{where} class_map", raw["class_map"])
        for key, value in table.items():
            _text(path, f"{where} class_map.{key}", value)
        spec.class_map = {str(k).strip(): v for k, v in table.items()}
    if "ignore" in raw:
        if not isinstance(raw["ignore"], list):
            raise _bad(path, where, "ignore must be a list of source values")
        spec.ignore = frozenset(str(v).strip()
                                for v in _scalar_list(path, f"{where} ignore", raw["ignore"]))
    if "type" in raw:
        if raw["type"] not in ATTRIBUTE_TYPES:
            raise _bad(path, where, "type must be one of " + ", ".join(ATTRIBUTE_TYPES))
        spec.type = raw["type"]
    if spec.match not in ("auto", "ref", "external_key", "name"):
        raise _bad(path, where, "match must be auto, ref, external_key or name")
    if "when" in raw:
        rules = raw["when"]
        if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            raise _bad(path, where, "when must be a list of { column = ..., values = [...], "
                       "value = ... }")
        for rule in rules:
            if "value" not in rule:
                raise _bad(path, where + " when", "each rule needs value = (what the field "
                           "takes when the rule holds)")
            cond = _parse_condition({k: v for k, v in rule.items() if k != "value"}, path,
                                    where + " when")
            spec.when.append(Rule(cond, rule["value"]))
    if "scale" in raw:
        spec.scale = _parse_scale(raw["scale"], path, where)
    if "columns" in raw:
        cols = raw["columns"]
        if not isinstance(cols, list) or not cols or not all(isinstance(c, str) for c in cols):
            raise _bad(path, where, "columns must be a list of column names")
        spec.many = list(cols)
    if "split" in raw:
        if not isinstance(raw["split"], str) or not raw["split"]:
            raise _bad(path, where, "split must be the character between values, e.g. \",\"")
        spec.split = raw["split"]
    return spec


def _parse_condition(raw: dict[str, Any], path: str, where: str) -> Condition:
    unknown = set(raw) - CONDITION_KEYS
    if unknown:
        raise _bad(path, where, "unknown option(s) " + ", ".join(sorted(unknown)))
    tests = [k for k in ("values", "pattern", "empty") if k in raw]
    if len(tests) != 1:
        raise _bad(path, where, "a condition needs exactly one of values = [...], "
                   "pattern = \"regex\", empty = true|false")
    values = raw.get("values")
    if values is not None:
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list):
            raise _bad(path, where, "values must be a list of cell values")
        values = frozenset(str(v).strip().casefold() for v in values)
    pattern = raw.get("pattern")
    if pattern is not None:
        import re

        try:
            re.compile(str(pattern))
        except re.error as exc:
            raise _bad(path, where, f"bad pattern {pattern!r}: {exc}") from None
    empty = raw.get("empty")
    if empty is not None and not isinstance(empty, bool):
        raise _bad(path, where, "empty must be true or false")
    column = raw.get("column")
    if column is not None and not isinstance(column, str):
        raise _bad(path, where, "column must be a column name")
    return Condition(column, values, None if pattern is None else str(pattern), empty,
                     bool(raw.get("not", False)))


def _parse_scale(raw: Any, path: str, where: str) -> Scale:
    if not isinstance(raw, dict) or set(raw) - SCALE_KEYS or not {"from", "to"} <= set(raw):
        raise _bad(path, where, "scale must be { from = [LOW, HIGH], to = [LOW, HIGH] } "
                   "(optional round = \"down\" or \"up\")")
    pairs = []
    for name in ("from", "to"):
        pair = raw[name]
        if (not isinstance(pair, list) or len(pair) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair)
                or pair[0] == pair[1]):
            raise _bad(path, where, f"scale {name} must be two different numbers [LOW, HIGH]")
        pairs.append(pair)
    rounding = raw.get("round", "down")
    if rounding not in ("down", "up"):
        raise _bad(path, where, "scale round must be \"down\" or \"up\"")
    return Scale((float(pairs[0][0]), float(pairs[0][1])), (int(pairs[1][0]), int(pairs[1][1])),
                 rounding)


def parse_mapping(text: str, path: str = "<mapping>") -> MappingSpec:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(N_("Mapping {path} is not valid TOML: {reason}"), path=path,
                              reason=str(exc)) from exc
    except RecursionError:
        raise ValidationError(N_("Mapping {path} nests lists or tables too deeply to be a "
                                 "mapping"), path=path) from None
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise _bad(path, "top level", "unknown key(s) " + ", ".join(sorted(unknown))
                   + " (options go under [source], [events] or [fields])")
    for name in ("kind", "name", "description"):  # (key: a column or a list of them, below)
        if name in data:
            _text(path, name, data[name])
    kind = data.get("kind")
    if kind is not None and kind not in KINDS:
        raise _bad(path, "kind", f"must be one of {', '.join(KINDS)}")
    fields_raw = data.get("fields")
    if not isinstance(fields_raw, dict) or not fields_raw:
        raise _bad(path, "[fields]", "maps no field (add e.g. title = \"Short description\")")
    fields = {name: _parse_field(name, raw, path) for name, raw in fields_raw.items()}
    events = _parse_events(data["events"], path) if "events" in data else EventSpec()
    key = data.get("key")
    key_columns: list[str] = []
    if isinstance(key, list):
        if not key or not all(isinstance(k, str) and k for k in key):
            raise _bad(path, "key", "a list of column names, e.g. [\"Type\", \"Name\"]")
        key_columns, key = list(key), " + ".join(key)
    elif key is not None and not isinstance(key, str):
        raise _bad(path, "key", "must be text (a column name) or a list of column names, not "
                   + _kind_word(key))
    check_key(kind, key, path)
    if events.fold and not key:
        raise _bad(path, "key", "folding an event log needs key = \"COLUMN\" (rows per record)")
    separator = data.get("key_separator", "/")
    if not isinstance(separator, str):
        raise _bad(path, "key_separator", "must be text, e.g. \"/\"")
    skip_raw = data.get("skip", [])
    if isinstance(skip_raw, dict):
        skip_raw = [skip_raw]
    if not isinstance(skip_raw, list) or not all(isinstance(c, dict) for c in skip_raw):
        raise _bad(path, "[[skip]]", "each [[skip]] is a table { column = ..., values = [...] }")
    skip = [_parse_condition(c, path, "[[skip]]") for c in skip_raw]
    if any(c.column is None for c in skip) and not key:
        raise _bad(path, "[[skip]]", "a condition without column = tests the key: set key")
    return MappingSpec(kind=kind, key=key, source=_parse_source(data.get("source", {}), path),
                       events=events, fields=fields, path=path,
                       name=str(data.get("name") or Path(path).stem), key_columns=key_columns,
                       key_separator=separator, skip=skip)


def mapping_text(data: bytes, path: str) -> str:
    """A mapping file's bytes as text: UTF-8 (a byte-order mark is allowed), or UTF-16 with its
    byte-order mark (what some Windows editors save); anything else is refused, naming where."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ValidationError(N_("Mapping {path}, line {line}: not UTF-8 text (byte {byte}); "
                                 "save the mapping as UTF-8"), path=path, line=line,
                              byte=f"0x{data[exc.start]:02x}") from None


def load_mapping(path: str | Path) -> MappingSpec:
    """A mapping file, or a ready one by its name (``servicenow-incidents``: see
    :func:`shipped_mappings`) when no such file exists."""
    p = Path(path)
    try:
        exists = p.exists()
    except (OSError, ValueError):  # a NUL in the name, a name too long: read_bytes says so
        exists = True
    if not exists:
        ready = {m.stem: m for m in shipped_mappings()}
        p = ready.get(p.stem if p.suffix == ".toml" and len(p.parts) == 1 else str(path), p)
    try:
        data = p.read_bytes()
    except (OSError, ValueError) as exc:
        raise ValidationError(N_("Cannot read mapping {path}: {reason}"), path=str(p),
                              reason=getattr(exc, "strerror", None) or str(exc)) from exc
    return parse_mapping(mapping_text(data, str(p)), str(p))


def shipped_mappings() -> list[Path]:
    """The ready mappings in resources/import-maps/ (inside the package when installed)."""
    from itsmdesk.resource_files import import_maps_dir

    folder = import_maps_dir()
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []


def ready_mappings() -> list[MappingSpec]:
    """The ready mappings, read (name, kind, the columns they use); one that cannot be read
    is left out rather than hiding the others."""
    out = []
    for path in shipped_mappings():
        try:
            out.append(load_mapping(path))
        except ValidationError:
            continue
    return out


def spec_from_columns(kind: str, columns: dict[str, str], key: str | None = None,
                      source: SourceSpec | None = None, fold: bool = False,
                      at: str | None = None, who: str | None = None,
                      base: MappingSpec | None = None) -> MappingSpec:
    """A mapping built in the wizard: ``columns`` maps our field -> source column.

    With ``base`` (a loaded mapping) its other fields (templates, value maps...) are kept and
    only the fields named in ``columns`` are replaced.
    """
    fields = dict(base.fields) if base else {}
    for name, column in columns.items():
        if column:
            old = fields.get(name)
            keep = old if old is not None and old.column == column else None
            fields[name] = keep or FieldSpec(name=name, column=column)
        else:
            fields.pop(name, None)
    events = EventSpec(fold=fold, at=at, who=who) if fold else EventSpec()
    if fold and not at:
        raise ValidationError(N_("Folding an event log needs the column with each row's time"))
    if fold and not key:
        raise ValidationError(N_("Folding an event log needs the key column"))
    if not fields:
        raise ValidationError(N_("Map at least one column to a field"))
    check_key(kind, key, base.path if base else "<wizard>")
    same_key = base is not None and key == base.key  # (a key of several columns is kept)
    return MappingSpec(kind=kind, key=key, source=source or (base.source if base else SourceSpec()),
                       events=events, fields=fields, path=base.path if base else "<wizard>",
                       name=base.name if base else "wizard",
                       key_columns=list(base.key_columns) if same_key else [],
                       key_separator=base.key_separator if same_key else "/",
                       skip=list(base.skip) if base else [])


def _toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return "[" + ", ".join(_toml_value(v) for v in items) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}"
                                for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)


def _condition_options(cond: Condition) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if cond.column:
        out["column"] = cond.column
    if cond.values is not None:
        out["values"] = sorted(cond.values)
    if cond.pattern is not None:
        out["pattern"] = cond.pattern
    if cond.empty is not None:
        out["empty"] = cond.empty
    if cond.negate:
        out["not"] = True
    return out


def to_toml(spec: MappingSpec) -> str:
    """The mapping as a TOML file (``parse_mapping`` reads it back to the same mapping)."""
    import json

    lines = [f"# itsmdesk import mapping{': ' + spec.name if spec.name else ''}"]
    if spec.name:
        lines.append(f"name = {_toml_value(spec.name)}")
    if spec.kind:
        lines.append(f"kind = {_toml_value(spec.kind)}")
    if spec.key_columns and len(spec.key_columns) > 1:
        lines.append(f"key = {_toml_value(spec.key_columns)}")
        if spec.key_separator != "/":
            lines.append(f"key_separator = {_toml_value(spec.key_separator)}")
    elif spec.key:
        lines.append(f"key = {_toml_value(spec.key)}")
    src, default = spec.source, SourceSpec()
    lines += ["", "[source]"]
    for name in ("delimiter", "encoding", "decimal", "thousands", "date_formats", "timezone",
                 "null_values", "true_values", "false_values", "quotechar"):
        value = getattr(src, name)
        if name in ("delimiter", "encoding", "date_formats") or value != getattr(default, name):
            lines.append(f"{name} = {_toml_value(value)}")
    if spec.events.fold:
        lines += ["", "[events]", "fold = true", f"at = {_toml_value(spec.events.at)}"]
        for name in ("who", "order_by"):
            if getattr(spec.events, name):
                lines.append(f"{name} = {_toml_value(getattr(spec.events, name))}")
    for cond in spec.skip:
        lines += ["", "[[skip]]"] + [f"{k} = {_toml_value(v)}"
                                     for k, v in _condition_options(cond).items()]
    lines += ["", "[fields]"]
    tables = []
    for name, f in spec.fields.items():
        options: dict[str, Any] = {}
        for attr in ("column", "template", "value"):
            if getattr(f, attr) is not None:
                options[attr] = getattr(f, attr)
        if f.map is not None:
            options["map"] = f.map
        if f.ignore:
            options["ignore"] = sorted(f.ignore)
        if f.default is not None:
            options["default"] = f.default
        if not f.strict:
            options["strict"] = False
        if f.required:
            options["required"] = True
        if f.create_missing:
            options["create_missing"] = True
        if f.match != "auto":
            options["match"] = f.match
        for attr in ("class_column", "class_map", "default_class", "type"):
            if getattr(f, attr):
                options[attr] = getattr(f, attr)
        if f.create:
            options["create"] = f.create
        if f.many:
            options["columns"] = f.many
        if f.split:
            options["split"] = f.split
        if f.scale:
            options["scale"] = {"from": list(f.scale.source), "to": list(f.scale.target),
                                "round": f.scale.round}
        if f.when:
            options["when"] = [{**_condition_options(r.condition), "value": r.value}
                               for r in f.when]
        key = json.dumps(name)
        if list(options) == ["column"]:
            lines.append(f"{key} = {_toml_value(f.column)}")
        else:
            tables += ["", f"[fields.{key}]"] + [f"{k} = {_toml_value(v)}" for k, v in options.items()]
    return "\n".join(lines + tables) + "\n"
