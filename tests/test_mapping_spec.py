"""Mapping files (TOML) and the cell converters: no database needed."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from itsmdesk.errors import ValidationError
from itsmdesk.services.importing import csv_source as mapping_csv
from itsmdesk.services.importing.spec import (
    FieldSpec,
    SourceSpec,
    load_mapping,
    parse_mapping,
    shipped_mappings,
)
from itsmdesk.services.importing.values import (
    IGNORE,
    CellError,
    build_converter,
    parse_datetime,
    parse_number,
    render_template,
)


def test_shipped_mappings_parse():
    names = {p.name for p in shipped_mappings()}
    assert {"servicenow-incidents.toml", "servicenow-eventlog.toml", "itop-cis.toml",
            "hpsm-incidents.toml", "hpsm-changes.toml", "hpsm-interactions.toml"} <= names
    for path in shipped_mappings():
        spec = load_mapping(path)
        assert spec.kind and spec.fields
    eventlog = load_mapping(next(p for p in shipped_mappings() if p.stem == "servicenow-eventlog"))
    assert eventlog.events.fold and eventlog.events.at == "sys_updated_at"
    assert eventlog.fields["status"].ignore == frozenset({"-100"})


@pytest.mark.parametrize("text, message", [
    ("kind = 'incidents'\n", "maps no field"),
    ("kind = 'tickets'\n[fields]\ntitle = 'x'\n", "must be one of"),
    ("delimiter = ';'\n[fields]\ntitle = 'x'\n", "unknown key(s) delimiter"),
    ("[source]\ndelimiter = ';;'\n[fields]\ntitle = 'x'\n", "one character"),
    ("[source]\nencoding = 'klingon'\n[fields]\ntitle = 'x'\n", "unknown encoding"),
    ("[source]\ndate_formats = ['dd.mm.yyyy']\n[fields]\ntitle = 'x'\n", "strptime"),
    ("[fields]\ntitle = { column = 'a', template = '{b}' }\n", "exactly one of"),
    ("[fields]\ntitle = { column = 'a', colour = 'red' }\n", "unknown option(s) colour"),
    ("key = 'n'\n[events]\nfold = true\n[fields]\ntitle = 'x'\n", "needs at ="),
    ("[events]\nat = 't'\n[fields]\ntitle = 'x'\n", "needs key"),
    ("[fields\ntitle = 'x'\n", "not valid TOML"),
    ("kind = 'incidents'\n[fields]\ntitle = 'x'\n", "needs key"),
])
def test_bad_mappings_say_what_is_wrong(text, message):
    with pytest.raises(ValidationError) as info:
        parse_mapping(text, "m.toml")
    assert message in info.value.message and "m.toml" in info.value.message


def test_tab_delimiter_and_field_forms():
    spec = parse_mapping("key = 'id'\n[source]\ndelimiter = '\\t'\nnull_values = ['-']\n"
                         "[fields]\ntitle = 'Subject'\nurgency = { value = 2 }\n", "m.toml")
    assert spec.source.delimiter == "\t" and spec.source.null_values == {"-"}
    assert spec.fields["title"].column == "Subject" and spec.fields["urgency"].value == 2
    assert spec.columns() == ["id", "Subject"]


def test_dates_tried_in_order_and_time_zone():
    formats = ["%d-%m-%Y %H:%M", "%d/%m/%Y %H:%M:%S"]
    assert parse_datetime("05-03-2024 08:15", formats) == dt.datetime(2024, 3, 5, 8, 15)
    assert parse_datetime("5/3/2024 08:15:09", formats) == dt.datetime(2024, 3, 5, 8, 15, 9)
    with pytest.raises(ValueError, match="matches none"):
        parse_datetime("2024-03-05", formats)
    with pytest.raises(ValueError):
        parse_datetime("31-02-2024 08:15", formats)  # no such day
    stockholm = parse_datetime("01-07-2024 12:00", formats, "Europe/Stockholm")
    assert stockholm == dt.datetime(2024, 7, 1, 10, 0)  # summer time, UTC+2


def test_decimal_separators():
    assert parse_number("1.234,5", ",") == decimal.Decimal("1234.5")
    assert parse_number("1 234,5", ",") == decimal.Decimal("1234.5")
    assert parse_number("1,234.5", ".") == decimal.Decimal("1234.5")
    assert parse_number("12.5", ".") == decimal.Decimal("12.5")
    with pytest.raises(ValueError):
        parse_number("twelve", ".")


def test_templates_drop_empty_parts():
    assert render_template("{a} / {b} / {c}", {"a": "Net", "b": "", "c": "VPN"}) == "Net / VPN"
    assert render_template("{a} ({b})", {"a": "Mail", "b": ""}) == "Mail"
    assert render_template("{a}", {"a": ""}) == ""


def test_converter_maps_nulls_ignores_and_choices():
    src = SourceSpec(null_values={"?"})
    spec = FieldSpec(name="status", column="state", map={"Open": "new", "Done": "closed"},
                     map_folded={"open": "new", "done": "closed"}, ignore=frozenset({"-100"}))
    convert = build_converter(spec, "text", src, {"state": 0}, choices=("new", "closed"))
    assert convert(["Open"]) == "new" and convert(["DONE"]) == "closed"
    assert convert(["?"]) is None and convert([""]) is None and convert(["-100"]) is IGNORE
    with pytest.raises(CellError) as info:
        convert(["Parked"])
    assert info.value.column == "state" and "'Parked'" in info.value.reason
    plain = build_converter(FieldSpec(name="status", column="state"), "text", src, {"state": 0},
                            choices=("new", "closed"))
    with pytest.raises(CellError, match="add a map"):
        plain(["open"])
    numbers = build_converter(FieldSpec(name="impact", column="i"), "int", src, {"i": 0})
    assert numbers(["2"]) == 2
    with pytest.raises(CellError, match="not a number"):
        numbers(["2 - Medium"])


def test_csv_reader_tolerates_blank_lines_whitespace_and_trailing_empties():
    text = "\ufeffa, b ,c,,\n\n 1 ,2,3\n4,5,6,,\n7,8\n9,10,11,12\n"
    data = mapping_csv.parse(text, "auto")
    assert data.header == ["a", "b", "c"] and data.delimiter == ","
    good = [(r.line, r.cells) for r in data.rows if r.cells]
    assert good == [(3, ["1", "2", "3"]), (4, ["4", "5", "6"])]
    assert [(e.line, e.column) for e in data.errors] == [(5, "c"), (6, "#4")]


def test_encoding_detection():
    text, used = mapping_csv.decode("a;b\nÅsa;Ö\n".encode("cp1252"), "auto")
    assert used == "cp1252" and "Åsa" in text
    text, used = mapping_csv.decode("\ufeffa;b\nÅsa;Ö\n".encode("utf-8"), "auto")
    assert used == "utf-8" and text.startswith("a;b")
    with pytest.raises(ValidationError, match="Line 2"):
        mapping_csv.decode("a;b\nÅsa;Ö\n".encode("cp1252"), "utf-8")


def test_mappings_round_trip_through_toml():
    from itsmdesk.services.importing.spec import to_toml

    for path in shipped_mappings():
        spec = load_mapping(path)
        again = parse_mapping(to_toml(spec), "again.toml")
        assert again.fields == spec.fields and again.source == spec.source
        assert (again.kind, again.key, again.events) == (spec.kind, spec.key, spec.events)
