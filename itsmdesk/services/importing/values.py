"""Turning source cells into our values: nulls, value maps, dates, numbers, booleans, templates.

``build_converter(spec, field_type, ...)`` returns a function ``(cells) -> value`` that raises
:class:`CellError` with a reason a person can act on.  Results are memoised per distinct source
value: exports repeat the same statuses, groups and timestamps on thousands of rows.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

from itsmdesk.errors import N_, ValidationError
from itsmdesk.services.importing.spec import (
    Condition,
    FieldSpec,
    Scale,
    SourceSpec,
    template_parts,
)

IGNORE = object()  # "this row says nothing about the field" (event logs keep the previous value)


class BadValueError(ValidationError, ValueError):
    """A source value that does not convert: ``str()`` is the English reason; ``template`` (an
    N_() string) and ``params`` let the CLI and the views show it in the user's language.
    Still a ``ValueError``, so callers catching that keep working."""


class CellError(Exception):
    """A bad cell: its column and reason (English), with the reason's N_() template and
    parameters when it has one (``template`` empty otherwise)."""

    def __init__(self, column: str, reason: str, template: str = "",
                 params: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason
        self.template = template
        self.params = dict(params or {})

    @classmethod
    def of(cls, column: str, exc: BaseException) -> CellError:
        """A CellError for ``exc``: a :class:`BadValueError` keeps its template and parameters."""
        if isinstance(exc, ValidationError):
            return cls(column, exc.message, exc.template, exc.params)
        return cls(column, str(exc))


# --- scalar parsers ---------------------------------------------------------------------------

_FAST_PARTS = {"d": r"(?P<d>\d{1,2})", "m": r"(?P<m>\d{1,2})", "Y": r"(?P<Y>\d{4})",
               "H": r"(?P<H>\d{1,2})", "M": r"(?P<M>\d{1,2})", "S": r"(?P<S>\d{1,2})"}
_fast_cache: dict[str, re.Pattern[str] | None] = {}


def _fast_pattern(fmt: str) -> re.Pattern[str] | None:
    """A regex for formats made only of %d %m %Y %H %M %S and literals (strptime is slow)."""
    if fmt not in _fast_cache:
        out, i, ok = [], 0, True
        while i < len(fmt):
            ch = fmt[i]
            if ch == "%":
                code = fmt[i + 1:i + 2]
                if code not in _FAST_PARTS or _FAST_PARTS[code] in out:
                    ok = False
                    break
                out.append(_FAST_PARTS[code])
                i += 2
            else:
                out.append(re.escape(ch))
                i += 1
        _fast_cache[fmt] = re.compile("".join(out) + r"\Z") if ok and "(?P<Y>" in "".join(out) \
            else None
    return _fast_cache[fmt]


def _parse_one(text: str, fmt: str) -> dt.datetime | None:
    pattern = _fast_pattern(fmt)
    if pattern is not None:
        match = pattern.match(text)
        if match is None:
            return None
        g = match.groupdict()
        try:
            return dt.datetime(int(g["Y"]), int(g.get("m") or 1), int(g.get("d") or 1),
                               int(g.get("H") or 0), int(g.get("M") or 0), int(g.get("S") or 0))
        except ValueError:
            return None
    try:
        return dt.datetime.strptime(text, fmt)
    except ValueError:
        return None


def parse_datetime(text: str, formats: Sequence[str], tz: str = "UTC") -> dt.datetime:
    """The first format that fits wins; times are converted from ``tz`` to naive UTC."""
    for fmt in formats:
        value = _parse_one(text, fmt)
        if value is None:
            continue
        if tz != "UTC":
            return local_to_utc(value, tz)
        return value
    raise BadValueError(N_("{value} matches none of the date formats {formats}"), value=repr(text),
                        formats=", ".join(formats))


class NonexistentTime(dt.datetime):
    """A UTC time read from a local wall time that never happened (the spring-forward gap): it
    is taken as the gap's end, as the SLA calendars count, and the import warns about it
    (``local`` is the wall time as written)."""

    local: dt.datetime

    def plain(self) -> dt.datetime:
        return dt.datetime(self.year, self.month, self.day, self.hour, self.minute, self.second,
                           self.microsecond)


def local_to_utc(value: dt.datetime, tz: str) -> dt.datetime:
    """A naive wall time in ``tz`` as naive UTC; a repeated (autumn) time is its first
    occurrence; one in the spring-forward gap is the gap's end, as a :class:`NonexistentTime`."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    utc = value.replace(tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)
    if utc.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None) == value:
        return utc
    from itsmdesk.services.servicedesk.calendars import local_span_to_utc

    start = local_span_to_utc(zone, value, value + dt.timedelta(hours=3))[0][0]
    out = NonexistentTime(start.year, start.month, start.day, start.hour, start.minute,
                          start.second, start.microsecond)
    out.local = value
    return out


def parse_number(text: str, decimal_sep: str = ".", thousands: str = "") -> decimal.Decimal:
    cleaned = text.replace("\u00a0", "").replace(" ", "")
    if thousands:
        cleaned = cleaned.replace(thousands, "")
    if decimal_sep == ",":
        if "." in cleaned and not thousands:
            cleaned = cleaned.replace(".", "")  # 1.234,5: '.' groups thousands
        cleaned = cleaned.replace(",", ".")
    elif not thousands and "," in cleaned and re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", cleaned):
        cleaned = cleaned.replace(",", "")
    try:
        return decimal.Decimal(cleaned)
    except decimal.InvalidOperation:
        raise BadValueError(N_("{value} is not a number (decimal separator {separator})"),
                            value=repr(text), separator=repr(decimal_sep)) from None


INT_MIN, INT_MAX = -2 ** 31, 2 ** 31 - 1  # an integer column (PostgreSQL's integer)


def parse_int(text: str, src: SourceSpec) -> int:
    number = parse_number(text, src.decimal, src.thousands)
    if not number.is_finite():
        raise BadValueError(N_("{value} is not a whole number"), value=repr(text))
    # (the exponent first: int() of 1E999999999 would build a billion-digit number)
    if number.adjusted() > 18 or not INT_MIN <= number <= INT_MAX:
        raise BadValueError(N_("{value} is too large: a whole number here is between {min} and "
                               "{max}"), value=repr(text[:40]), min=INT_MIN, max=INT_MAX)
    if number != number.to_integral_value():
        raise BadValueError(N_("{value} is not a whole number"), value=repr(text))
    return int(number)


def parse_float(text: str, src: SourceSpec) -> float:
    number = parse_number(text, src.decimal, src.thousands)
    value = float(number) if number.is_finite() else float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        raise BadValueError(N_("{value} is not a finite number"), value=repr(text[:40]))
    return value


def parse_bool(text: str, src: SourceSpec) -> bool:
    folded = text.casefold()
    if folded in src.true_values:
        return True
    if folded in src.false_values:
        return False
    raise BadValueError(N_("{value} is neither true ({true}) nor false ({false})"), value=repr(text),
                        true=", ".join(sorted(src.true_values)), false=", ".join(sorted(src.false_values)))


def scalar_parser(field_type: str, src: SourceSpec, max_length: int | None = None
                  ) -> Callable[[str], Any]:
    """A parser for one of: text, int, float, decimal, bool, datetime, date."""
    if field_type == "datetime":
        return lambda t: parse_datetime(t, src.date_formats, src.timezone)
    if field_type == "date":
        return lambda t: parse_datetime(t, src.date_formats + ["%Y-%m-%d"], "UTC").date()
    if field_type == "int":
        return lambda t: parse_int(t, src)
    if field_type == "float":
        return lambda t: parse_float(t, src)
    if field_type == "decimal":
        return lambda t: parse_number(t, src.decimal, src.thousands)
    if field_type == "bool":
        return lambda t: parse_bool(t, src)

    def text(t: str) -> str:
        if max_length and len(t) > max_length:
            raise BadValueError(N_("longer than {max} characters ({length})"), max=max_length,
                                length=len(t))
        return t

    return text


def coerce_mapped(value: Any, field_type: str, src: SourceSpec) -> Any:
    """A value map's right-hand side (already TOML-typed) to the field's type ("" = none)."""
    if value is None or value == "":
        return None
    if field_type in ("int", "float", "decimal", "bool", "datetime", "date") and isinstance(value, str):
        return scalar_parser(field_type, src)(value)
    if field_type == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# --- templates --------------------------------------------------------------------------------

_SEPARATOR_RUN = re.compile(r"(\s*[/|:,-]\s*){2,}")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]")


def render_template(template: str, values: dict[str, str]) -> str:
    """``"{category} / {subcategory}"`` with missing parts (and their separators) left out.

    Only plain ``{column}`` is substituted (no ``str.format``: see ``spec.template_parts``)."""
    text = "".join(literal + (values.get(name, "") if name is not None else "")
                   for literal, name in _parts(template))
    text = _EMPTY_BRACKETS.sub("", text)
    text = _SEPARATOR_RUN.sub(_one_separator, text)
    return re.sub(r"\s+", " ", text).strip(" /|:,-")


def _one_separator(match: re.Match[str]) -> str:
    sep = match.group(0).strip()[0]
    return ", " if sep == "," else f" {sep} "


@functools.lru_cache(maxsize=256)
def _parts(template: str) -> tuple[tuple[str, str | None], ...]:
    return tuple(template_parts(template))


# --- the per-field converter ------------------------------------------------------------------

def build_converter(spec: FieldSpec, field_type: str, src: SourceSpec, index: dict[str, int],
                    choices: Sequence[Any] | None = None, max_length: int | None = None,
                    key_positions: Sequence[int] = ()) -> Callable[[list[str]], Any]:
    """``cells -> value`` for one target field (lookups get the cleaned source text).

    The order: the ``when`` rules (the first that holds gives the value), else the field's
    source: a constant, a template or a column; then the value map, the scale, the type and
    the allowed values.
    """
    base = _base_converter(spec, field_type, src, index, choices, max_length)
    if not spec.when:
        return base
    rules = []
    for rule in spec.when:
        value = coerce_mapped(rule.value, field_type, src)
        _check_choice(value, choices, spec.name, rule.value)
        rules.append((condition_test(rule.condition, index, key_positions, src.null_values),
                      value))

    def derived(cells: list[str]) -> Any:
        for test, value in rules:
            if test(cells):
                return value
        return base(cells)

    return derived


def condition_test(cond: Condition, index: dict[str, int], key_positions: Sequence[int],
                   nulls: set[str]) -> Callable[[list[str]], bool]:
    """``cells -> bool`` for a ``when`` rule or a ``[[skip]]`` entry."""
    positions = [index[cond.column]] if cond.column else list(key_positions)
    if cond.values is not None:
        values = cond.values

        def holds(cell: str) -> bool:
            return cell.casefold() in values
    elif cond.pattern is not None:
        matcher = re.compile(cond.pattern).fullmatch

        def holds(cell: str) -> bool:
            return matcher(cell) is not None
    else:
        want_empty = bool(cond.empty)

        def holds(cell: str) -> bool:
            return (cell == "" or cell in nulls) == want_empty
    negate = cond.negate
    if len(positions) == 1:
        pos = positions[0]
        return lambda cells: holds(cells[pos]) != negate
    return lambda cells: any(holds(cells[p]) for p in positions) != negate


_LEADING_NUMBER = re.compile(r"\s*(-?\d+(?:[.,]\d+)?)")


def _scaled(scale: Scale, value: Any, raw: str) -> int:
    """A value on the source's scale as ours: a number, or text starting with one
    ("4 - Low")."""
    number: float | None = None
    if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
        number = float(value)
    else:
        match = _LEADING_NUMBER.match(str(value if value is not None else raw))
        if match:
            number = float(match.group(1).replace(",", "."))
    low, high = sorted(scale.source)
    if number is None or not low <= number <= high:
        raise BadValueError(N_("{value} is not on the scale {low} to {high}"), value=repr(raw),
                            low=_plain(scale.source[0]), high=_plain(scale.source[1]))
    return scale.apply(number)


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _base_converter(spec: FieldSpec, field_type: str, src: SourceSpec, index: dict[str, int],
                    choices: Sequence[Any] | None, max_length: int | None
                    ) -> Callable[[list[str]], Any]:
    nulls = src.null_values
    if spec.value is not None:
        constant = coerce_mapped(spec.value, field_type, src)
        _check_choice(constant, choices, spec.name, constant)
        return lambda cells: constant
    if spec.column is None and spec.template is None:
        default = coerce_mapped(spec.default, field_type, src) if spec.default is not None \
            else None
        return lambda cells: default  # only ``when`` rules: otherwise the default
    finish = _finisher(spec, field_type, src, choices, max_length)
    if spec.template is not None:
        fallback = spec.default if isinstance(spec.default, str) else None
        names = _template_names(spec.template) + (_template_names(fallback) if fallback else [])
        positions = [(n, index[n]) for n in dict.fromkeys(names)]
        template = spec.template
        cut = max_length if spec.map is None and spec.scale is None else None
        label = spec.template

        cache: dict[tuple[str, ...], Any] = {}
        slots = [i for _n, i in positions]

        def from_template(cells: list[str]) -> Any:
            key = tuple([cells[i] for i in slots])
            try:
                hit = cache[key]
            except KeyError:
                parts = {n: ("" if cells[i] in nulls else cells[i]) for n, i in positions}
                text = render_template(template, parts)
                if not text and fallback:  # the default may itself name columns
                    text = render_template(fallback, parts)
                if cut and len(text) > cut:
                    text = text[:cut - 1] + "\u2026"
                try:
                    hit = cache[key] = (True, finish(text) if text else None)
                except ValueError as exc:
                    hit = cache[key] = (False, CellError.of(label, exc))
            if hit[0]:
                return hit[1]
            error = hit[1]
            raise CellError(label, error.reason, error.template, error.params)

        return from_template
    column = spec.column
    assert column is not None
    pos = index[column]
    cache: dict[str, Any] = {}
    ignore, default = spec.ignore, spec.default
    default = coerce_mapped(default, field_type, src) if default is not None else None

    def convert_text(raw: str) -> Any:
        if raw == "" or raw in nulls:
            return default
        if raw in ignore:
            return IGNORE
        return finish(raw)

    def convert(cells: list[str]) -> Any:
        raw = cells[pos]
        try:
            hit = cache[raw]
        except KeyError:
            try:
                hit = (True, convert_text(raw))
            except ValueError as exc:
                hit = (False, CellError.of(column, exc))
            cache[raw] = hit
        if hit[0]:
            return hit[1]
        error = hit[1]
        raise CellError(column, error.reason, error.template, error.params)

    return convert


def _finisher(spec: FieldSpec, field_type: str, src: SourceSpec,
              choices: Sequence[Any] | None, max_length: int | None) -> Callable[[str], Any]:
    """Source text (not empty) -> our value: the value map, the scale, the type, the choices."""
    parse = scalar_parser(field_type, src, max_length)
    mapping, folded, scale = spec.map, spec.map_folded, spec.scale

    def finish(raw: str) -> Any:
        if mapping is not None:
            if raw in mapping:
                value = coerce_mapped(mapping[raw], field_type if scale is None else "text", src)
            elif folded and raw.casefold() in folded:
                value = coerce_mapped(folded[raw.casefold()],
                                      field_type if scale is None else "text", src)
            elif spec.strict:
                known = ", ".join(sorted(mapping)[:12])
                raise BadValueError(N_("unknown value {value} (the map knows: {known})"),
                                    value=repr(raw), known=known)
            else:
                value = raw if scale is not None else parse(raw)
        else:
            value = raw if scale is not None else parse(raw)
        if scale is not None and value is not None:
            value = _scaled(scale, value, raw)
        _check_choice(value, choices, spec.name, raw)
        return value

    return finish


def _template_names(template: str) -> list[str]:
    from itsmdesk.services.importing.spec import template_columns

    return template_columns(template)


def _check_choice(value: Any, choices: Sequence[Any] | None, name: str, raw: str) -> None:
    if choices is None or value is None or value is IGNORE:
        return
    if value not in choices:
        shown = ", ".join(str(c) for c in choices)
        if str(raw) != str(value):
            raise BadValueError(N_("{raw} gives {name} {value}, which is not one of: {shown}"),
                                raw=repr(raw), name=name, value=repr(value), shown=shown)
        raise BadValueError(N_("{value} is not a valid {name} (one of: {shown}); add a map"),
                            value=repr(value), name=name, shown=shown)
