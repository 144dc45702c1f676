"""The write path: journal rows, optimistic locking, references — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from itsmdesk.errors import ConflictError, NotFoundError, ValidationError
from itsmdesk.models import Incident, JournalEntry, Person
from itsmdesk.services import people, records
from itsmdesk.services.context import Actor
from itsmdesk.services.servicedesk import incidents


def journal_rows(record_id):
    return list(JournalEntry.select().where(JournalEntry.record_id == record_id)
                .order_by(JournalEntry.id))


def test_create_journals_every_set_field(db):
    agent = people.create_person({"name": "Ada Agent", "email": "ada@example.com"})
    actor = Actor.for_person(agent, site="STO")
    inc = incidents.create_incident({"title": "Printer jammed", "impact": 2, "urgency": 2}, actor)
    rows = journal_rows(inc.id)
    # one row: the creation, carrying every field that was set (the replay/sync contract)
    assert [r.field for r in rows] == ["*created*"] and rows[0].record_ref == inc.ref
    snapshot = json.loads(rows[0].new)
    assert snapshot["title"] == "Printer jammed" and snapshot["priority"] == "3"
    assert snapshot["ref"] == inc.ref and rows[0].version == 1
    assert "version" not in snapshot and "updated_at" not in snapshot and "id" not in snapshot
    assert all(r.who_id == agent.id and r.who_name == "Ada Agent" and r.site == "STO" for r in rows)
    # the history shows it field by field
    shown = {h.field: h for h in records.history("incident", inc.id)}
    assert shown["title"].new == "Printer jammed" and shown["title"].old is None
    assert shown["*created*"].new == inc.ref


def test_update_journals_only_changed_fields_and_bumps_version(db):
    inc = incidents.create_incident({"title": "VPN down", "impact": 3, "urgency": 3})
    before = JournalEntry.select().count()
    updated = incidents.update_incident(inc.id, inc.version, {"title": "VPN down",
                                                              "description": "since 09:00"})
    assert updated.version == inc.version + 1
    new_rows = list(JournalEntry.select().where(JournalEntry.id > 0).order_by(JournalEntry.id))[before:]
    assert {(r.field, r.old, r.new) for r in new_rows} == {("description", None, "since 09:00")}
    assert all(r.version == updated.version for r in new_rows)


def test_stale_write_raises_conflict_and_changes_nothing(db):
    alice = people.create_person({"name": "Alice"})
    bob = people.create_person({"name": "Bob"})
    inc = incidents.create_incident({"title": "Mail slow"})
    incidents.update_incident(inc.id, inc.version, {"title": "Mail very slow"}, Actor.for_person(alice))
    journal_before = JournalEntry.select().count()
    with pytest.raises(ConflictError) as err:
        incidents.update_incident(inc.id, inc.version, {"title": "Mail is fine", "urgency": 1},
                                  Actor.for_person(bob))
    assert "Alice" in err.value.message and inc.ref in err.value.message
    assert err.value.changed_fields == ["title"]
    assert err.value.current["title"] == "Mail very slow"
    row = Incident.get_by_id(inc.id)
    assert (row.title, row.urgency, row.version) == ("Mail very slow", 3, inc.version + 1)
    assert JournalEntry.select().count() == journal_before


def test_unchanged_update_writes_nothing(db):
    inc = incidents.create_incident({"title": "Same"})
    count = JournalEntry.select().count()
    again = incidents.update_incident(inc.id, inc.version, {"title": "Same"})
    assert again.version == inc.version
    assert JournalEntry.select().count() == count


def test_history_newest_first(db):
    inc = incidents.create_incident({"title": "One"})
    inc = incidents.update_incident(inc.id, inc.version, {"title": "Two"})
    incidents.update_incident(inc.id, inc.version, {"title": "Three"})
    titles = [(h.old, h.new) for h in records.history("incident", inc.id) if h.field == "title"]
    assert titles == [("Two", "Three"), ("One", "Two"), (None, "One")]


def test_references_are_sequential_unique_and_site_prefixed(db):
    refs = [incidents.create_incident({"title": f"t{i}"}).ref for i in range(5)]
    assert refs == [f"INC-{i:06d}" for i in range(1, 6)]
    offline = Actor(site="OSL")
    remote = [incidents.create_incident({"title": "r"}, offline).ref for _ in range(2)]
    assert remote == ["INC-OSL-000001", "INC-OSL-000002"]
    req = incidents.create_incident({"title": "laptop", "kind": "request"})
    assert req.ref == "REQ-000001"
    all_refs = [r.ref for r in Incident.select(Incident.ref)]
    assert len(all_refs) == len(set(all_refs)) == 8


def test_rejected_write_in_transaction_leaves_no_partial_rows(db):
    count = Incident.select().count()
    journal = JournalEntry.select().count()
    with pytest.raises(ValidationError):
        incidents.create_incident({"title": "x", "impact": 7})
    assert Incident.select().count() == count and JournalEntry.select().count() == journal


def test_validation_messages_are_readable(db):
    with pytest.raises(ValidationError, match="Title is required"):
        incidents.create_incident({"title": "  "})
    with pytest.raises(ValidationError, match="not an e-mail address"):
        people.create_person({"name": "X", "email": "not-an-address"})
    people.create_person({"name": "Y", "email": "y@example.com"})
    with pytest.raises(ValidationError, match="already taken"):
        people.create_person({"name": "Z", "email": "y@example.com"})
    with pytest.raises(ValidationError, match="Unknown field"):
        incidents.create_incident({"title": "t", "bogus": 1})


def test_update_of_missing_record_is_not_found(db):
    import uuid

    with pytest.raises(NotFoundError):
        incidents.update_incident(uuid.uuid4(), 1, {"title": "x"})


def test_delete_is_journalled(db):
    p = people.create_person({"name": "Temp"})
    with records.atomic():
        records.delete(Person, p.id, p.version)
    assert Person.get_or_none(Person.id == p.id) is None
    assert [r.field for r in journal_rows(p.id)][-1] == "*deleted*"


def test_times_are_stored_as_given_utc(db):
    opened = dt.datetime(2026, 3, 1, 8, 30)
    inc = incidents.create_incident({"title": "t", "opened_at": opened})
    assert Incident.get_by_id(inc.id).opened_at == opened
