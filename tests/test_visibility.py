"""Requesters see only their own tickets and only public notes (services/visibility.py), in
every reader: queue pages and counts, full-text search, quick open, ``itsmdesk list``, the
ticket form's read model and the work log; on SQLite and PostgreSQL.  Staff see everything."""

from __future__ import annotations

import pytest

from itsmdesk.errors import NotFoundError
from itsmdesk.models.people import Person
from itsmdesk.services import accounts, listing, search
from itsmdesk.services.context import ANONYMOUS, Actor
from itsmdesk.services.servicedesk import incidents, queues

PASSWORD = "a long password"


def _actor(login: str) -> Actor:
    return Actor.for_person(Person.get(Person.login == login))


@pytest.fixture
def desk(db):
    accounts.create_account("boss", "Boss", PASSWORD, ["administrator"])
    admin = _actor("boss")
    accounts.create_account("ann", "Ann Requester", PASSWORD, ["requester"], admin)
    accounts.create_account("bob", "Bob Requester", PASSWORD, ["requester"], admin)
    accounts.create_account("olle", "Olle Agent", PASSWORD, ["agent"], admin)
    ann, bob, agent = _actor("ann"), _actor("bob"), _actor("olle")
    # Ann raises one herself; the agent records one Ann reported by phone, and one for Bob
    own = incidents.create_incident({"title": "Printer jams on floor two"}, ann)
    called = incidents.create_incident({"title": "Printer toner empty", "caller": ann.person_id},
                                       agent)
    other = incidents.create_incident({"title": "Printer offline in Bob's office",
                                       "caller": bob.person_id}, agent)
    incidents.add_work_log(own.id, "Replaced the fuser roller", agent, public=True)
    incidents.add_work_log(own.id, "Caller was rude zanzibar", agent, public=False)
    return {"ann": ann, "bob": bob, "agent": agent, "own": own, "called": called, "other": other}


def _spec(key: str) -> queues.QueueSpec:
    return queues.get_spec(key)


def test_queue_pages_and_counts_hold_only_the_requesters_tickets(desk):
    ann, agent = desk["ann"], desk["agent"]
    spec = _spec("all_open")
    mine = {desk["own"].ref, desk["called"].ref}
    assert queues.count(spec, viewer=ann) == 2
    assert {r.get("ref") for r in queues.page(spec, 0, 50, viewer=ann).rows} == mine
    assert queues.counts([spec, _spec("all")], viewer=ann) == {"all_open": 2, "all": 2}
    assert queues.count(spec, viewer=agent) == 3
    assert len(queues.page(spec, 0, 50, viewer=agent).rows) == 3
    assert queues.count(spec, viewer=desk["bob"]) == 1
    assert queues.count(spec, viewer=ANONYMOUS) == 0  # not signed in: nothing
    assert queues.count(spec) == 3  # no person's view (system work)
    # the cached SQL of one person's page is not served to another
    assert {r.get("ref") for r in queues.page(spec, 0, 50, viewer=desk["bob"]).rows} == \
        {desk["other"].ref}
    # text filter, refresh and the editor's live count follow the same rule
    assert queues.count(spec, text="printer", viewer=ann) == 2
    refreshed = queues.refresh(spec, [desk["other"].id, desk["own"].id], viewer=ann)
    assert refreshed.count == 2
    assert refreshed.rows[desk["other"].id] is None and refreshed.rows[desk["own"].id] is not None
    assert queues.count_definition([["status", "ne", "closed"]], viewer=ann) == 2
    assert not queues.position_of(spec, desk["other"].id, viewer=ann)


def test_search_and_quick_open_hide_other_peoples_tickets_and_private_notes(desk):
    ann, agent = desk["ann"], desk["agent"]
    assert {h.ref for h in search.search_incidents("printer", viewer=ann)} == \
        {desk["own"].ref, desk["called"].ref}
    assert len(search.search_incidents("printer", viewer=agent)) == 3
    # a word only in a private note finds the ticket for staff, not for its requester
    assert [h.ref for h in search.search_incidents("zanzibar", viewer=agent)] == [desk["own"].ref]
    assert search.search_incidents("zanzibar", viewer=ann) == []
    assert [h.ref for h in search.search_incidents("fuser", viewer=ann)] == [desk["own"].ref]
    # quick open: by reference and by words
    assert search.quick_open(desk["other"].ref, viewer=ann) == []
    assert [h.ref for h in search.quick_open(desk["other"].ref, viewer=agent)] == \
        [desk["other"].ref]
    assert desk["other"].ref not in {h.ref for h in search.quick_open("printer", viewer=ann)}
    assert search.search_incidents("printer", viewer=ANONYMOUS) == []


def test_list_form_and_work_log_reads(desk):
    ann, agent = desk["ann"], desk["agent"]
    listed = {r["ref"] for r in listing.list_records("incidents", viewer=ann)}
    assert listed == {desk["own"].ref, desk["called"].ref}
    assert len(listing.list_records("incidents", viewer=agent)) == 3
    with pytest.raises(NotFoundError):
        incidents.incident_view(desk["other"].id, ann)
    view = incidents.incident_view(desk["own"].id, ann)
    assert [line.text for line in view.work_log] == ["Replaced the fuser roller"]
    assert len(incidents.incident_view(desk["own"].id, agent).work_log) == 2
    assert [n.text for n in incidents.work_log(desk["own"].id, ann)] == \
        ["Replaced the fuser roller"]
    assert incidents.work_log(desk["other"].id, ann) == []
    assert len(incidents.work_log(desk["own"].id, agent)) == 2


def test_cli_list_search_and_queue_as_a_requester(tmp_path, monkeypatch, capsys):
    import json

    from itsmdesk.cli import main
    from itsmdesk.services.session import open_database

    url = f"sqlite:///{tmp_path / 'v.db'}"
    monkeypatch.setenv("ITSMDESK_NEW_PASSWORD", PASSWORD)
    monkeypatch.setenv("ITSMDESK_PASSWORD", PASSWORD)
    monkeypatch.delenv("ITSMDESK_USER", raising=False)
    assert main(["--db", url, "init", "--admin", "boss"]) == 0
    for login, role in (("ann", "requester"), ("olle", "agent")):
        assert main(["--db", url, "--user", "boss", "people", "add", login, "--name",
                     login.title(), "--role", role]) == 0
    database, _info = open_database(url)
    ann, agent = _actor("ann"), _actor("olle")
    mine = incidents.create_incident({"title": "Printer jams"}, ann)
    theirs = incidents.create_incident({"title": "Printer offline"}, agent)
    database.close()
    capsys.readouterr()
    for args in (["list", "incidents"], ["search", "printer"], ["find", "printer"],
                 ["queue", "all_open"]):
        assert main(["--db", url, "--user", "ann", *args, "--json"]) == 0
        refs = {r["ref"] for r in json.loads(capsys.readouterr().out)}
        assert refs == {mine.ref}, args
        assert main(["--db", url, "--user", "olle", *args, "--json"]) == 0
        refs = {r["ref"] for r in json.loads(capsys.readouterr().out)}
        assert refs == {mine.ref, theirs.ref}, args
