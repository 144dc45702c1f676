"""External keys are unique per kind (schema 12): duplicates of an older database are resolved
when it is upgraded, `check` reports them, and a taken key is refused with a sentence."""

from __future__ import annotations

import sqlite3

import peewee as pw
import pytest

from itsmdesk.errors import ValidationError
from itsmdesk.models import CI, Incident, JournalEntry
from itsmdesk.models import db as proxy
from itsmdesk.models.migrations import LATEST_VERSION, current_version, ensure_schema
from itsmdesk.services import bulk, unique_keys
from itsmdesk.services.cmdb import cis
from itsmdesk.services.maintenance import check
from itsmdesk.services.servicedesk import incidents
from itsmdesk.services.session import as_domain_error


def _drop_indexes_and_double(keys: dict) -> None:
    """The state two concurrent imports left before schema 12: no unique index, one key twice."""
    database = proxy.obj
    for model in unique_keys.keyed_models():
        database.execute_sql(f'DROP INDEX IF EXISTS "{unique_keys.index_name(model)}"')
    for table, (keep_id, dup_id, key) in keys.items():
        database.execute_sql(f'UPDATE "{table}" SET external_key = {database.param} '
                             f'WHERE id IN ({database.param}, {database.param})',
                             (key, Incident.id.db_value(keep_id), Incident.id.db_value(dup_id)))


def test_upgrade_renames_later_duplicates_journalled_and_check_reports_them(db):
    first = incidents.create_incident({"title": "Mail down", "external_key": "JIRA-1"})
    second = incidents.create_incident({"title": "Mail down (again)", "external_key": "JIRA-2"})
    third = incidents.create_incident({"title": "Mail down (third)", "external_key": "JIRA-3"})
    ci_a = cis.create_ci({"name": "mail01", "ci_class": "server",
                          "external_key": "cmdb-7"})
    ci_b = cis.create_ci({"name": "mail02", "ci_class": "server",
                          "external_key": "cmdb-8"})
    database = proxy.obj
    _drop_indexes_and_double({"incident": (first.id, second.id, "JIRA-1"),
                              "ci": (ci_a.id, ci_b.id, "cmdb-7")})
    database.execute_sql(f'UPDATE "incident" SET external_key = {database.param} '
                         f'WHERE id = {database.param}', ("JIRA-1", Incident.id.db_value(third.id)))
    found = [str(p) for p in check(db)]
    assert any("incident: the unique index on external keys is missing" in p for p in found)
    assert any("incident: 1 external key(s) held by more than one record, e.g. JIRA-1" in p
               for p in found)
    database.execute_sql("UPDATE schema_info SET value = '11' WHERE key = 'schema_version'")
    journal_before = JournalEntry.select().count()

    assert ensure_schema(database, db.path) == (11, LATEST_VERSION)

    assert current_version(database) == LATEST_VERSION
    if db.backend == "sqlite":  # the file as it was, saved first; no temporary file left
        saved = list(db.path.parent.glob("test.db.v11-*.bak"))
        assert len(saved) == 1 and oct(saved[0].stat().st_mode & 0o777) == "0o600"
        con = sqlite3.connect(saved[0])
        assert con.execute("SELECT count(*) FROM incident WHERE external_key = 'JIRA-1'"
                           ).fetchone() == (3,)
        con.close()
        assert not list(db.path.parent.glob(".*itsmdesk-tmp*"))
    keys = {i.ref: i.external_key for i in Incident.select()}
    assert keys == {first.ref: "JIRA-1", second.ref: "JIRA-1#dup-1", third.ref: "JIRA-1#dup-2"}
    assert {c.name: c.external_key for c in CI.select()} == {"mail01": "cmdb-7",
                                                            "mail02": "cmdb-7#dup-1"}
    renamed = Incident.get_by_id(second.id)
    assert renamed.version == 2
    rows = list(JournalEntry.select().order_by(JournalEntry.id))[journal_before:]
    assert sorted((r.record_ref, r.field, r.old, r.new) for r in rows) == sorted([
        (second.ref, "external_key", "JIRA-1", "JIRA-1#dup-1"),
        (third.ref, "external_key", "JIRA-1", "JIRA-1#dup-2"),
        ("mail02", "external_key", "cmdb-7", "cmdb-7#dup-1")])
    found = [str(p) for p in check(db)]
    assert not any("index on external keys is missing" in p for p in found)
    assert any(p.startswith("incident: 2 record(s) held an external key another record already "
                            "had") and f"{second.ref} (JIRA-1#dup-1)" in p for p in found)
    assert any(p.startswith("ci: 1 record(s)") and "mail02 (cmdb-7#dup-1)" in p for p in found)
    # the index is there now: the database itself refuses a second holder
    with pytest.raises(pw.IntegrityError):
        with database.atomic():
            database.execute_sql(f'UPDATE "incident" SET external_key = {database.param} '
                                 f'WHERE id = {database.param}',
                                 ("JIRA-1", Incident.id.db_value(second.id)))


def test_a_taken_key_is_refused_with_a_sentence_naming_the_holder(db):
    holder = incidents.create_incident({"title": "VPN down", "external_key": "SN-42"})
    with pytest.raises(ValidationError) as caught:
        incidents.create_incident({"title": "VPN down twice", "external_key": "SN-42"})
    assert str(caught.value) == f"{holder.ref} already has external key SN-42; nothing was saved"
    other = incidents.create_incident({"title": "Printer", "external_key": "SN-43"})
    with pytest.raises(ValidationError, match=f"{holder.ref} already has external key SN-42"):
        incidents.update_incident(other.id, other.version, {"external_key": "SN-42"})
    assert Incident.select().count() == 2
    assert Incident.get_by_id(other.id).external_key == "SN-43"
    # the same key on another kind is fine: unique per kind
    cis.create_ci({"name": "vpn01", "ci_class": "server",
                   "external_key": "SN-42"})


def test_the_index_refusing_a_bulk_insert_becomes_a_sentence(db):
    incidents.create_incident({"title": "VPN down", "external_key": "SN-42"})
    values = bulk.fill_defaults(Incident, {"title": "raced", "external_key": "SN-42",
                                           "ref": "INC-RACE-1", "opened_at": Incident.select(
                                               Incident.opened_at).scalar()})
    with pytest.raises(Exception) as caught:  # the driver's own IntegrityError (raw cursor)
        with db_atomic():
            bulk.insert_records(Incident, [values])
    assert type(caught.value).__name__ in ("IntegrityError", "UniqueViolation")
    error = as_domain_error(caught.value)
    assert isinstance(error, ValidationError)
    assert str(error).startswith("Another incident record already has")
    assert "nothing was saved" in str(error)
    assert Incident.select().count() == 1


def db_atomic():
    from itsmdesk.services import records

    return records.atomic()
