"""Fuzzing every file the app reads (issue 18): CSV imports of each kind (our own format and
mapped), mapping files, holiday calendars (.ics), attachments (names and contents).

The oracle is in tests/fuzz_support.py: no generated input may reach the CLI's catch-all, a
refusal is a sentence with exit 2 (1 for rejected import rows), a refused input changes nothing
in the database, nothing hangs.  Derandomized; ``ITSMDESK_FUZZ=explore`` explores for real.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz_support import NASTY_TEXT, copy_db, fuzz_settings, run_checked, write_db


@pytest.fixture(scope="module")
def template_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-template")
    write_db(folder / "template.db")
    return folder / "template.db"


@pytest.fixture
def fuzz_db(template_db, tmp_path):
    return copy_db(template_db, tmp_path)


cells = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=30),
                  st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1", "utf-32"]


def csv_bytes(header: list[str], rows: list[list[str]], delimiter: str, encoding: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding, errors="replace")


@st.composite
def csv_files(draw, columns: list[str], delimiter: str = ",") -> bytes:
    """A CSV file with (mostly) these columns and nasty cells, in some encoding; or raw bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=400))
    header = list(columns)
    if draw(st.booleans()):
        header = draw(st.permutations(header))[:draw(st.integers(1, len(header)))]
    header += draw(st.lists(cells, max_size=2))
    width = len(header)
    rows = draw(st.lists(st.lists(cells, min_size=max(0, width - 2), max_size=width + 1),
                         max_size=4))
    encoding = draw(st.sampled_from(ENCODINGS)) if draw(st.integers(0, 3)) == 0 else "utf-8"
    return csv_bytes(header, rows, delimiter, encoding)


# --- our own CSV format: import cis / relations --------------------------------------------------

OWN_COLUMNS = {
    "cis": ["name", "class", "vendor", "description", "status", "criticality", "min_members_up",
            "site", "external_key"],
    "relations": ["source", "type", "target", "propagates", "redundant"],
}


@fuzz_settings(60)
@given(kind=st.sampled_from(sorted(OWN_COLUMNS)), data=st.data(), dry=st.booleans())
def test_fuzz_own_csv_import(fuzz_db, tmp_path, kind, data, dry):
    path = tmp_path / "in.csv"
    path.write_bytes(data.draw(csv_files(OWN_COLUMNS[kind])))
    argv = ["--db", fuzz_db, "import", kind, path, "--quiet"] + (["--dry-run"] if dry else [])
    run_checked("own_csv", fuzz_db, argv, label=path.read_bytes()[:2000])


# --- other tools' exports through a mapping: every kind -----------------------------------------

MAPPINGS = {
    "incidents": ("""kind = "incidents"
key = "Ticket"
[source]
delimiter = ";"
date_formats = ["%Y-%m-%d %H:%M", "%d/%m/%Y"]
[fields]
title = { template = "{Cat} / {Summary}", default = "Ticket {Ticket}" }
description = "Summary"
impact = { column = "Impact", map = { "1" = 1, "2" = 2, "3" = 3 } }
urgency = "Urgency"
opened_at = "Opened"
team = { column = "Team", create_missing = true }
problem = { column = "Problem", create_missing = true, create = { status = "new" } }
""", ["Ticket", "Summary", "Cat", "Impact", "Urgency", "Opened", "Team", "Problem"]),
    "changes": ("""kind = "changes"
key = "Number"
[source]
delimiter = ";"
[fields]
title = "Title"
type = { column = "Type", strict = false }
planned_start = "Start"
planned_end = "End"
risk_score = "Score"
outage = "Outage"
""", ["Number", "Title", "Type", "Start", "End", "Score", "Outage"]),
    "problems": ("""kind = "problems"
key = "Id"
[source]
delimiter = ";"
decimal = ","
[fields]
title = "Title"
priority = "Priority"
status = { column = "State", map = { Open = "new", Done = "closed" } }
resolved_at = "Resolved"
ci = { column = "CI", create_missing = true, default_class = "server" }
""", ["Id", "Title", "Priority", "State", "Resolved", "CI"]),
    "cis": ("""kind = "cis"
[source]
delimiter = ";"
[fields]
name = "Name"
ci_class = { column = "Class", create_missing = true }
"attributes.ram" = { column = "RAM", type = "float" }
"attributes.bought" = { column = "Bought", type = "date" }
""", ["Name", "Class", "RAM", "Bought"]),
    "relations": ("""kind = "relations"
[source]
delimiter = ";"
[fields]
source = "From"
target = "To"
type = { column = "How", map = { uses = "depends_on" }, strict = false }
""", ["From", "To", "How"]),
}


@fuzz_settings(80)
@given(kind=st.sampled_from(sorted(MAPPINGS)), data=st.data(), dry=st.booleans())
def test_fuzz_mapped_csv_import(fuzz_db, tmp_path, kind, data, dry):
    text, columns = MAPPINGS[kind]
    mapping = tmp_path / "map.toml"
    mapping.write_text(text, encoding="utf-8")
    path = tmp_path / "in.csv"
    path.write_bytes(data.draw(csv_files(columns, ";")))
    argv = ["--db", fuzz_db, "import", kind, path, "--map", mapping, "--quiet"]
    run_checked("mapped_csv", fuzz_db, argv + (["--dry-run"] if dry else []),
                label=path.read_bytes()[:2000])


# --- the mapping file itself -------------------------------------------------------------------

scalars = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=12), st.integers(),
                    st.floats(allow_nan=False), st.booleans(), st.dates())
toml_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(min_size=1, max_size=8), inner,
                                                 max_size=3)), max_leaves=8)
TEMPLATES = st.one_of(st.sampled_from(["{Summary}", "{Cat} / {Summary}", "{", "}", "{}", "{0}",
                                       "{Cat:d}", "{Cat:>100000}", "{Cat!r}", "{Cat.x}",
                                       "{Cat[0]}", "{{literal}}", "{Cat:{Summary}}", "{Nope}"]),
                      st.text(alphabet="{}:!>0123abcCatSumry /", max_size=16))
FIELD_OPTIONS = {
    "column": st.one_of(st.sampled_from(["Summary", "Cat", "Impact", "Opened", "Nope"]),
                        toml_values),
    "template": st.one_of(TEMPLATES, toml_values),
    "value": toml_values, "default": st.one_of(TEMPLATES, toml_values),
    "map": st.one_of(st.dictionaries(st.sampled_from(["1", "2", "x"]), toml_values, max_size=3),
                     toml_values),
    "ignore": toml_values, "strict": st.one_of(st.booleans(), toml_values),
    "required": st.one_of(st.booleans(), toml_values),
    "create_missing": st.one_of(st.booleans(), toml_values),
    "create": st.one_of(st.fixed_dictionaries({}, optional={
        "status": st.one_of(st.sampled_from(["new", "closed", "nonsense"]), toml_values),
        "title": st.one_of(st.sampled_from(["From {value}"]), toml_values),
        "bogus": toml_values}), toml_values),
    "match": st.one_of(st.sampled_from(["auto", "ref", "name", "x"]), toml_values),
    "type": st.one_of(st.sampled_from(["int", "date", "x"]), toml_values),
    "class_map": toml_values, "default_class": toml_values, "class_column": toml_values,
}
SOURCE_OPTIONS = {
    "delimiter": st.one_of(st.sampled_from([";", ",", "auto", "\t", "\n", '"', "ab", ""]),
                           toml_values),
    "encoding": st.one_of(st.sampled_from(["utf-8", "auto", "rot13", "hex", "utf-16", "zlib",
                                           "nonsense", "cp1252", "bz2_codec", "idna"]),
                          toml_values),
    "decimal": st.one_of(st.sampled_from([".", ",", ";"]), toml_values),
    "thousands": st.one_of(st.sampled_from(["", ".", ",", " ", "ab"]), toml_values),
    "quotechar": st.one_of(st.sampled_from(['"', "'", ";", "", "ab", "\n"]), toml_values),
    "date_formats": st.one_of(st.sampled_from([["%Y-%m-%d"], ["%Q"], ["%"], [], "%d/%m/%Y"]),
                              toml_values),
    "timezone": st.one_of(st.sampled_from(["UTC", "Europe/Stockholm", "Nowhere/X", "", "..",
                                           "/etc/passwd"]), toml_values),
    "null_values": toml_values, "true_values": toml_values, "false_values": toml_values,
}
FIELD_NAMES = ["title", "description", "impact", "opened_at", "team", "problem", "status",
               "nonsense", "id", "version", "attributes.x", "a.b"]


def toml_text(value, top: bool = False) -> str:
    """A TOML rendering of ``value`` (tables inline below the top level)."""
    from itsmdesk.services.importing.spec import _toml_value

    if top:
        return "\n".join(f"{json.dumps(k)} = {toml_text(v)}" for k, v in value.items()) + "\n"
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    return _toml_value(value)


@st.composite
def mappings(draw) -> bytes:
    shape = draw(st.integers(0, 9))
    good = MAPPINGS["incidents"][0]
    if shape == 0:  # bytes of a mapping, mangled
        raw = bytearray(good.encode())
        for _ in range(draw(st.integers(1, 6))):
            at = draw(st.integers(0, len(raw)))
            raw[at:at + draw(st.integers(0, 4))] = draw(st.binary(max_size=4))
        return bytes(raw)
    if shape == 1:  # the good one in another encoding
        return good.encode(draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32", "cp1252",
                                                 "utf-8-sig"])))
    if shape == 2:  # nested deeper than a parser's stack
        depth = draw(st.sampled_from([10, 600, 3000]))
        return (good + "[fields.deep]\nx = " + "[" * depth + "]" * depth + "\n").encode()
    if shape in (3, 4, 5):  # the good mapping with one to three of its values replaced
        import tomllib

        data = tomllib.loads(good)
        for _ in range(draw(st.integers(1, 3))):
            table, key = _pick_leaf(draw, data)
            table[key] = draw(st.one_of(TEMPLATES, toml_values, st.sampled_from(
                [{"status": "nonsense"}, {"bogus": 1}, {"title": 5}, "rot13", "%Q", [], {}])))
        return _render(data)
    data: dict = {"kind": draw(st.one_of(st.just("incidents"), toml_values)),
                  "key": draw(st.one_of(st.just("Ticket"), toml_values))}
    if draw(st.booleans()):
        data["source"] = draw(st.one_of(st.fixed_dictionaries({}, optional=SOURCE_OPTIONS),
                                        toml_values))
    if draw(st.integers(0, 4)) == 0:
        data["events"] = draw(st.one_of(st.fixed_dictionaries({}, optional={
            "fold": st.one_of(st.booleans(), toml_values), "at": toml_values,
            "who": toml_values, "order_by": toml_values}), toml_values))
    fields = {"title": draw(st.one_of(st.just("Summary"), st.fixed_dictionaries(
        {"template": TEMPLATES})))}
    for name in draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=3, unique=True)):
        fields[name] = draw(st.one_of(st.fixed_dictionaries({}, optional=FIELD_OPTIONS),
                                      toml_values))
    data["fields"] = fields
    if draw(st.integers(0, 5)) == 0:
        data[draw(st.text(min_size=1, max_size=6))] = draw(toml_values)
    return _render(data)


def _pick_leaf(draw, data: dict) -> tuple[dict, str]:
    """A (table, key) somewhere in ``data`` (a value of a table, at any depth)."""
    table = data
    while True:
        key = draw(st.sampled_from(sorted(table)))
        if isinstance(table[key], dict) and table[key] and draw(st.integers(0, 3)) > 0:
            table = table[key]
            continue
        return table, key


def _render(data: dict) -> bytes:
    data = dict(data)
    source = data.pop("source", None)
    fields = data.pop("fields", {})
    text = toml_text(data, top=True)
    if source is not None:
        text += "source = " + toml_text(source) + "\n"
    if isinstance(fields, dict):
        text += "[fields]\n" + "".join(f"{json.dumps(k)} = {toml_text(v)}\n"
                                       for k, v in fields.items())
    else:
        text += "fields = " + toml_text(fields) + "\n"
    return text.encode("utf-8", "surrogatepass")


SAMPLE_CSV = ("Ticket;Summary;Cat;Impact;Urgency;Opened;Team;Problem\n"
              "T-1;Printer jam;hw;2;2;2026-01-05 10:00;Desk;PRB-EXT-1\n"
              "T-2;VPN down;net;1;3;05/01/2026;;\n")


@fuzz_settings(100)
@given(mapping=mappings(), dry=st.booleans())
def test_fuzz_mapping_file(fuzz_db, tmp_path, mapping, dry):
    path = tmp_path / "map.toml"
    path.write_bytes(mapping)
    source = tmp_path / "in.csv"
    source.write_text(SAMPLE_CSV, encoding="utf-8")
    argv = ["--db", fuzz_db, "import", "incidents", source, "--map", path, "--quiet"]
    run_checked("mapping", fuzz_db, argv + (["--dry-run"] if dry else []), label=mapping)


# --- holiday calendars (.ics) ------------------------------------------------------------------

DATES = ["20260101", "20261224", "20260230", "20261301", "20260100", "99991231", "00010101",
         "2026", "", "20260101T100000", "20260101T100000Z", "18991231", "21991231", "x"]
PARAMS = ["", ";VALUE=DATE", ";VALUE=DATE-TIME", ";VALUE=PERIOD", ";VALUE=DURATION",
          ";TZID=Europe/Stockholm", ";TZID=Nowhere/X", ";VALUE=TEXT"]
ICS_PROPS = {
    "DTSTART": st.tuples(st.sampled_from(PARAMS), st.one_of(
        st.sampled_from(DATES + ["20260101T000000Z/20260102T000000Z", "P1D"]),
        st.text(max_size=10))),
    "DTEND": st.tuples(st.sampled_from(PARAMS), st.sampled_from(DATES)),
    "DURATION": st.tuples(st.just(""), st.sampled_from(["P1D", "-P1D", "P999999999D", "PT0S",
                                                        "PT1H", "garbage", "P", "P400D"])),
    "RRULE": st.tuples(st.just(""), st.sampled_from([
        "FREQ=YEARLY", "FREQ=DAILY;COUNT=3", "FREQ=SECONDLY", "FREQ=MINUTELY", "FREQ=NONSENSE",
        "FREQ=YEARLY;UNTIL=99991231", "FREQ=YEARLY;BYMONTH=13", "FREQ=MONTHLY;BYMONTHDAY=31",
        "FREQ=YEARLY;INTERVAL=0", "FREQ=DAILY;UNTIL=20260105T000000Z", "COUNT=5", ""])),
    "RDATE": st.tuples(st.sampled_from(["", ";VALUE=DATE", ";VALUE=PERIOD"]),
                       st.sampled_from(DATES + ["20260101T000000Z/20260102T000000Z"])),
    "EXDATE": st.tuples(st.sampled_from(["", ";VALUE=DATE"]), st.sampled_from(DATES)),
    "SUMMARY": st.tuples(st.just(""), st.one_of(st.sampled_from(NASTY_TEXT),
                                                 st.text(max_size=20))),
    "STATUS": st.tuples(st.just(""), st.sampled_from(["CONFIRMED", "CANCELLED", ""])),
    "TRANSP": st.tuples(st.just(""), st.sampled_from(["OPAQUE", "TRANSPARENT"])),
}


@st.composite
def ics_files(draw) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//fuzz//EN"]
    for number in range(draw(st.integers(0, 3))):
        lines += ["BEGIN:VEVENT", f"UID:{number}"]
        names = draw(st.lists(st.sampled_from(sorted(ICS_PROPS)), max_size=6))
        if draw(st.integers(0, 5)) > 0:
            names = ["DTSTART"] + names
        for name in names:
            params, value = draw(ICS_PROPS[name])
            lines.append(f"{name}{params}:{value}")
        if draw(st.integers(0, 8)) > 0:
            lines.append("END:VEVENT")
    if draw(st.integers(0, 8)) > 0:
        lines.append("END:VCALENDAR")
    text = "\r\n".join(lines) + "\r\n"
    return text.encode(draw(st.sampled_from(["utf-8"] * 6 + ["utf-16", "latin-1"])),
                       errors="replace")


@fuzz_settings(100)
@given(ics=ics_files(), command=st.sampled_from(["business-calendar", "sla"]),
       years=st.sampled_from([None, "2026-2027", "0001-9999", "9999", "2026-2025", "1900",
                              "2199-2200"]))
def test_fuzz_holiday_calendar(fuzz_db, tmp_path, ics, command, years):
    path = tmp_path / "holidays.ics"
    path.write_bytes(ics)
    if command == "sla":
        argv = ["--db", fuzz_db, "sla", "holidays", "import", "Default", path]
        argv += [f"--years={years}"] if years else []
    else:
        argv = ["--db", fuzz_db, "business-calendar", "holidays", "import", path]
    run_checked("ics", fuzz_db, argv, label=ics)


# --- attachments: names and contents -----------------------------------------------------------

name_text = st.one_of(st.sampled_from(["evil\u202etxt.exe", "..", ".hidden", "a" * 250 + ".pdf",
                                       "CON", "x:y.txt", "<b>.html", " spaced .txt", "\u00e5.txt",
                                       "\t.txt", "\U0001F600.png"]),
                      st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/\x00"),
                              min_size=1, max_size=60))


@pytest.fixture
def attach_db(tmp_path):
    """An SQLite database with one incident to attach files to (the services directly: the
    command line attaches nothing yet)."""
    from itsmdesk.services.servicedesk import incidents
    from tests.conftest import open_test_db

    database, info = open_test_db(f"sqlite:///{tmp_path / 'a.db'}")
    incident = incidents.create_incident({"title": "attachments"})
    yield info, incident.id
    database.close()


@fuzz_settings(60)
@given(name=name_text, content=st.one_of(st.binary(max_size=64), st.just(b""),
                                         st.just(b"\x00" * 9), st.just(b"x" * 300)))
def test_fuzz_attachment(attach_db, tmp_path, name, content):
    from itsmdesk.config import Settings
    from itsmdesk.errors import ItsmError
    from itsmdesk.models.incident import Attachment
    from itsmdesk.services.attachment_files import safe_name
    from itsmdesk.services.servicedesk import incidents
    from itsmdesk.services.session import as_domain_error

    info, incident_id = attach_db
    folder = tmp_path / "files"
    folder.mkdir(exist_ok=True)
    path = folder / name
    try:
        path.write_bytes(content)
    except (OSError, ValueError):  # a name the file system refuses: the app must say so too
        pass
    before = Attachment.select().count()
    try:
        row = incidents.add_attachment(incident_id, path,
                                       settings=Settings(max_attachment_bytes=256))
    except Exception as exc:  # noqa: BLE001 - what a person would see
        shown = as_domain_error(exc)
        assert isinstance(shown, ItsmError), (name, type(exc).__name__, exc)
        assert Attachment.select().count() == before
        assert not (_is_file(path) and len(content) <= 256), (name, str(shown))
        return
    stored, data = incidents.attachment_data(row.id)
    assert data == content and stored == safe_name(str(path)) and stored.strip()
    assert "/" not in stored and "\x00" not in stored and "\u202e" not in stored


def _is_file(path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False
