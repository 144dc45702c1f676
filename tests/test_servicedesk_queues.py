"""Queues: predefined filters, keyset pages equal offset pages, counts, saved queues, bulk edit."""

import datetime as dt

import pytest

from itsmdesk.demo.servicedesk import sample_desk
from itsmdesk.errors import ConflictError
from itsmdesk.models.incident import Incident
from itsmdesk.models.journal import JournalEntry
from itsmdesk.services.servicedesk import incidents, queues

T0 = dt.datetime(2026, 3, 2, 9, 0)


def _tickets(d, n=12):
    out = []
    for i in range(n):
        values = {"title": f"Ticket {i}", "opened_at": T0 + dt.timedelta(minutes=i),
                  "impact": 1 + i % 3, "urgency": 1 + (i // 3) % 3}
        if i % 3 == 0:
            values["assignee"] = d["agent"].id
            values["team"] = d["desk"].id
        out.append(incidents.create_incident(values, d["actor"]))
    return out


def test_predefined_queues_and_counts(db):
    d = sample_desk()
    tickets = _tickets(d)
    me = d["agent"].id
    mine = queues.get_spec("my_open")
    assert queues.count(mine, me) == 4
    assert queues.count(queues.get_spec("unassigned"), me) == 8
    assert queues.count(queues.get_spec("my_team"), me) == 4
    assert queues.count(mine, None) == 0
    t = tickets[1]
    incidents.transition(t.id, t.version, "resolved", d["actor"], now=T0 + dt.timedelta(hours=1),
                         resolution_code="duplicate", solution="dup")
    counts = queues.counts(queues.queues_for(me), me, now=T0 + dt.timedelta(days=1))
    assert counts["all_open"] == 11 and counts["resolved_recent"] == 1 and counts["all"] == 12
    # the one-statement counts equal the queues counted one by one
    specs = queues.queues_for(me)
    assert counts == {s.key: queues.count(s, me, T0 + dt.timedelta(days=1)) for s in specs}
    first = queues.page(mine, 0, 10, person_id=me).rows
    assert [r.values["ref"] for r in first] == [tickets[i].ref for i in (9, 6, 3, 0)]
    assert first[0].values["assignee"] == "Olle Agent" and first[0].values["team"] == "Service Desk"


@pytest.mark.parametrize("sort", [("opened_at", "desc"),
                                  ("resolution_due", "asc"), ("resolution_due", "desc")])
def test_keyset_pages_match_offset_pages(db, sort):
    d = sample_desk()
    _tickets(d, 15)
    spec = queues.get_spec("all")
    # give a few tickets no due date, to cover NULL ordering
    Incident.update(resolution_due=None).where(Incident.title.in_(["Ticket 2", "Ticket 7"])).execute()
    whole = [r.id for r in queues.page(spec, 0, 100, sort=sort).rows]
    assert len(whole) == 15
    walked, after, offset = [], None, 0
    while True:
        p = queues.page(spec, offset, 4, sort=sort, after=after)
        if not p.rows:
            break
        walked += [r.id for r in p.rows]
        after = p.rows[-1].sort_key
        offset += len(p.rows)
    assert walked == whole
    assert [r.id for r in queues.page(spec, 8, 4, sort=sort).rows] == whole[8:12]


def test_saved_queue_roundtrip(db):
    d = sample_desk()
    _tickets(d)
    q = queues.save_queue("P1 and P2", [["priority", "le", 2], ["status", "in", ["new", "assigned"]]],
                          ("priority", "asc"), ["ref", "priority", "title"], actor=d["actor"])
    specs = queues.queues_for(d["agent"].id)
    spec = next(s for s in specs if s.key == f"saved:{q.id}")
    rows = queues.page(spec, 0, 50).rows
    assert rows and all(r.values["priority"] <= 2 for r in rows)
    assert queues.count(spec) == len(rows)
    assert not any(s.key == f"saved:{q.id}" for s in queues.queues_for(d["boss"].id))


def test_bulk_edit_one_batch_and_undo(db):
    d = sample_desk()
    tickets = _tickets(d, 5)
    ids = [tickets[i].id for i in (1, 2, 4)]
    edit = queues.bulk_update(ids, {"assignee": d["agent2"].id, "team": d["network"].id},
                              d["actor"], versions={t.id: t.version for t in tickets})
    rows = list(Incident.select().where(Incident.id.in_(ids)))
    assert {r.assignee_id for r in rows} == {d["agent2"].id}
    assert {r.status for r in rows} == {"assigned"}
    batch_rows = JournalEntry.select().where(JournalEntry.batch == edit.batch)
    assert {j.record_id for j in batch_rows} == set(ids)
    queues.undo_bulk(edit, d["actor"])
    rows = list(Incident.select().where(Incident.id.in_(ids)))
    assert {r.assignee_id for r in rows} == {None} and {r.status for r in rows} == {"new"}


def test_bulk_edit_stale_rolls_back(db):
    d = sample_desk()
    tickets = _tickets(d, 3)
    stale = {t.id: t.version for t in tickets}
    incidents.update_incident(tickets[2].id, tickets[2].version, {"title": "changed"}, d["actor"])
    with pytest.raises(ConflictError):
        queues.bulk_update([t.id for t in tickets], {"team": d["network"].id}, d["actor"],
                           versions=stale)
    assert Incident.select().where(Incident.team == d["network"].id).count() == 0


def test_undoing_a_bulk_edit_leaves_the_sla_state_its_history_gives(db):
    """Undoing puts the fields back, but the SLA state is what the clock of the ticket's history
    (which keeps the edit and its undoing) says, so `itsmdesk check` finds no drift."""
    from itsmdesk.models.base import utcnow
    from itsmdesk.services.servicedesk import sla

    d = sample_desk()
    tickets = _tickets(d, 3)
    ids = [t.id for t in tickets]
    edit = queues.bulk_update(ids, {"priority": 1}, d["actor"],
                              versions={t.id: t.version for t in tickets})
    queues.undo_bulk(edit, d["actor"])
    rows = list(Incident.select().where(Incident.id.in_(ids)))
    for row in rows:
        assert sla.stored_fields(row) == sla.reading(sla.history_of(row), utcnow()).fields()
    assert sla.check_open(utcnow())[1] == []


def test_bulk_edits_of_the_same_tickets_in_opposite_order_do_not_deadlock(db, monkeypatch):
    """Two agents bulk-edit the same two tickets, selected in opposite order, at the same time:
    rows are locked in one fixed order, so on PostgreSQL neither waits for the other in a cycle
    (a deadlock the server would break by failing one of them)."""
    import threading
    import time

    from itsmdesk.models.base import db as proxy
    from itsmdesk.services.servicedesk import incidents

    d = sample_desk()
    a, b = (t.id for t in _tickets(d, 2))
    real = incidents.update_incident

    def slow(*args, **kwargs):  # each row held a moment: the two edits overlap
        row = real(*args, **kwargs)
        time.sleep(0.3)
        return row

    monkeypatch.setattr(incidents, "update_incident", slow)
    errors: list[BaseException] = []

    def run(ids):
        try:
            queues.bulk_update(ids, {"urgency": 3}, d["actor"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            proxy.close()

    threads = [threading.Thread(target=run, args=([a, b],)),
               threading.Thread(target=run, args=([b, a],))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert {r.urgency for r in Incident.select().where(Incident.id.in_([a, b]))} == {3}
