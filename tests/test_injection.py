"""SQL injection through every search and filter box and CLI filter: harmless (on SQLite and on
PostgreSQL).  Each entry point gets the same hostile strings; afterwards every table is still
there with the rows it had, and nothing was found that does not match the words typed."""

from __future__ import annotations

import pytest

from itsmdesk.errors import ItsmError
from itsmdesk.models import ALL_MODELS
from itsmdesk.models.base import db as proxy
from itsmdesk.services.context import SYSTEM

PAYLOADS = (
    "'; DROP TABLE journal; --",
    '"; DROP TABLE journal; --',
    "x' OR '1'='1",
    "%' OR 1=1 --",
    "') UNION SELECT id, name, email FROM person --",
    "1; DELETE FROM incident",
    "* OR title:*",
    "NEAR(zz yy) AND \"",
    "qq:* | !ww & (",
    "\\'; TRUNCATE incident; --",
)
# (LIKE wildcards typed into a filter, e.g. "%_%", are not injection: the change list's filter
# treats them as wildcards and shows what the unfiltered list shows anyway)


@pytest.fixture
def seeded(db):
    """A few records whose words none of the payloads contain."""
    from itsmdesk.models.people import Person
    from itsmdesk.services import records
    from itsmdesk.services.change.changes import create_change
    from itsmdesk.services.cmdb.cis import create_ci
    from itsmdesk.services.knowledge.articles import create_article
    from itsmdesk.services.problem.problems import create_problem
    from itsmdesk.services.servicedesk.incidents import add_work_log, create_incident

    person = records.create(Person, {"name": "Alice Example", "email": "alice@example.org"},
                            SYSTEM)
    ticket = create_incident({"title": "Printer jammed", "description": "Paper stuck",
                              "caller": person.id}, SYSTEM)
    add_work_log(ticket.id, "Replaced the roller", SYSTEM, public=True)
    create_ci({"name": "mailserver", "ci_class": "server"}, SYSTEM)
    create_change({"title": "Upgrade the mailserver"}, SYSTEM)
    create_problem({"title": "Printers jam weekly"}, SYSTEM)
    create_article({"title": "Clearing a paper jam", "body": "Open the tray"}, SYSTEM)
    yield db


def _state() -> dict[str, int]:
    database = proxy.obj
    return {m._meta.table_name: database.execute_sql(
        f'SELECT count(*) FROM "{m._meta.table_name}"').fetchone()[0] for m in ALL_MODELS}


def _harmless(call) -> None:  # noqa: ANN001
    """Every payload: the call finds nothing (or is refused as a domain error), and every table
    keeps its rows."""
    before = _state()
    for payload in PAYLOADS:
        try:
            found = call(payload)
        except ItsmError:
            found = []
        assert not found, (payload, found)
        assert _state() == before, payload
    assert before["journal"] > 0 and before["incident"] == 1


def test_ticket_search(seeded):
    from itsmdesk.services.search import incident_ids, search_incidents

    _harmless(search_incidents)
    _harmless(lambda text: incident_ids(text, open_only=True))
    assert search_incidents("printer")  # (the search itself works)


def test_quick_open(seeded):
    from itsmdesk.services.search import quick_open

    _harmless(quick_open)
    assert quick_open("mailserver")


def test_suggestions_for_a_ticket(seeded):
    from itsmdesk.services.search import suggest

    _harmless(suggest)


def test_ci_and_people_pickers(seeded):
    from itsmdesk.services import people, search

    _harmless(search.find_cis)
    _harmless(lambda text: search.find_cis(text, services_only=True))
    _harmless(search.find_people)
    _harmless(people.find_people)
    assert search.find_cis("mail") and people.find_people("Alice")


def test_full_text_search_of_every_table(seeded):
    from itsmdesk.services.textsearch import _RANKING, fts_ids

    for table in _RANKING:
        _harmless(lambda text, table=table: fts_ids(table, text))
        _harmless(lambda text, table=table: fts_ids(table, text, 20, "t.title <> ?", (text,)))


def test_knowledge_search(seeded):
    from itsmdesk.services.knowledge.articles import search

    _harmless(search)
    assert search("jam")


def test_cmdb_tree_filter_box(seeded):
    from itsmdesk.services.cmdb import tree

    _harmless(tree.find_cis)
    for grouping in ("class", "site", "service"):
        _harmless(lambda text, grouping=grouping: tree.roots(grouping, text))
    assert tree.find_cis("mail")


def test_change_list_filter(seeded):
    from itsmdesk.services.change.changes import page_changes

    _harmless(page_changes)
    _harmless(lambda text: page_changes("", status=text))


def test_change_calendar_filter(seeded):
    import datetime as dt

    from itsmdesk.services.change import calendar

    start, end = dt.datetime(2000, 1, 1), dt.datetime(2100, 1, 1)
    _harmless(lambda text: calendar.load(start, end, calendar.Filters(status=text)).items)


def test_problem_list_filter(seeded):
    from itsmdesk.services.problem.problems import list_problems

    _harmless(lambda text: list_problems(text=text))
    _harmless(lambda text: list_problems(statuses=[text]))


def test_queue_filters(seeded):
    from itsmdesk.services.servicedesk import queues

    _harmless(lambda text: queues.count_definition([["title", "contains", text]]))
    _harmless(lambda text: queues.count_definition([["status", "in", [text]]]))
    for bad in (["title; DROP TABLE journal", "eq", "x"], ["title", "eq'; --", "x"]):
        with pytest.raises(ItsmError):
            queues.count_definition([bad])
    with pytest.raises(ItsmError):
        queues.save_definition("q", [["status", "eq", "new"]],
                               ("opened_at; DROP TABLE journal", "desc"), ["ref"])
    assert "journal" in [m._meta.table_name for m in ALL_MODELS]


def test_reference_lookup(seeded):
    from itsmdesk.services.lookup import find_by_reference

    _harmless(find_by_reference)
    _harmless(lambda text: find_by_reference("INC-" + text))


def test_record_listing(seeded):
    from itsmdesk.services.listing import list_records

    _harmless(list_records)


# -- the CLI ------------------------------------------------------------------------------------------
def _cli(info, *args: str) -> int:
    from itsmdesk.cli import main

    return main(["--db", info.url, *args])


def _cli_harmless(info, capsys, *before_payload: str) -> None:  # noqa: ANN001
    state = _state()
    for payload in PAYLOADS:
        rc = _cli(info, *before_payload, "--json", "--", payload) if before_payload[0] != "list" \
            else _cli(info, "list", payload)
        out = capsys.readouterr()
        assert rc in (0, 1, 2), (payload, out.err)
        assert "Unexpected" not in out.err and "Error:" not in out.err, (payload, out.err)
        if rc == 0:
            assert out.out.strip() in ("[]", ""), (payload, out.out)
        assert _state() == state, payload


def test_cli_search(seeded, capsys):
    _cli_harmless(seeded, capsys, "search")


def test_cli_find(seeded, capsys):
    _cli_harmless(seeded, capsys, "find")


def test_cli_knowledge_search(seeded, capsys):
    _cli_harmless(seeded, capsys, "kb", "search")


def test_cli_list(seeded, capsys):
    with pytest.raises(SystemExit):  # (argparse refuses a kind not in the list)
        _cli(seeded, "list", "incident'; DROP TABLE journal; --")
    capsys.readouterr()
    assert _state()["journal"] > 0
