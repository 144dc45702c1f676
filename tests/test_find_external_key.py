"""``itsmdesk find`` and quick open find a record by the source system's key (external_key):
exact, any case, every kind, through the column's plain index."""

from __future__ import annotations

import json

from itsmdesk.cli import main
from itsmdesk.models.change import Change
from itsmdesk.models.cmdb import CI
from itsmdesk.models.incident import Incident
from itsmdesk.services import records, search
from itsmdesk.services.servicedesk import incidents
from tests.change_helpers import change, ci


def _keyed(model, row, key: str) -> None:  # noqa: ANN001
    records.update(model, row.id, None, {"external_key": key})


def test_external_key_found_across_kinds_any_case(db, capsys):
    inc = incidents.create_incident({"title": "Printer on fire"})
    _keyed(Incident, inc, "IM10042")
    chg = change("Patch the mail relay")
    _keyed(Change, chg, "Cm-Sm-4711")
    srv = ci("mail-relay-01")
    _keyed(CI, srv, "SMCI-99-Relay-ÅÄÖ-extra-long-key")
    other = incidents.create_incident({"title": "Near miss"})
    _keyed(Incident, other, "IM100420")  # a longer key is not the same key

    hits = search.by_external_key("im10042")
    assert [(h.kind, h.ref, h.external_key) for h in hits] == [
        ("incident", inc.ref, "IM10042")]
    assert [h.ref for h in search.by_external_key("CM-SM-4711")] == [chg.ref]
    # more letters than are looked up one by one: the rest goes through a range, any case
    assert [h.ref for h in search.by_external_key("smci-99-relay-åäö-EXTRA-long-KEY")] == [
        srv.name]
    assert search.by_external_key("smci-99-relay-åäö-extra-long-ke") == []
    assert search.by_external_key("  ") == []

    # quick open puts the keyed record first, whatever else the words match
    assert search.quick_open("cm-sm-4711")[0].id == chg.id

    assert main(["--db", db.url, "find", "im10042"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["KIND", "REF", "TITLE", "STATUS", "EXTERNAL_KEY"]
    assert len(lines) == 2 and inc.ref in lines[1] and lines[1].rstrip().endswith("IM10042")
    assert main(["--db", db.url, "find", "cm-sm-4711", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0] == {"kind": "change", "ref": chg.ref, "title": "Patch the mail relay",
                       "status": "draft", "external_key": "Cm-Sm-4711"}
    assert main(["--db", db.url, "find", "no-such-key"]) == 0
    assert capsys.readouterr().out.strip() == "(none)"


def test_case_condition_uses_the_index(sqlite_db):
    """The look-up is answered from the external_key index (no scan of the table)."""
    from itsmdesk.models.base import db

    cond = search._case_conditions(Change.external_key, "Cm-Sm-4711-Abcdefgh-x")
    sql, params = Change.select(Change.id).where(cond).sql()
    plan = " ".join(str(r) for r in db.obj.execute_sql("EXPLAIN QUERY PLAN " + sql,
                                                       params).fetchall())
    assert "external_key" in plan and "SCAN" not in plan.replace("SCAN CONSTANT", "")
