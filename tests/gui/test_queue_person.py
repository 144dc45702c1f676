"""The queues count and list the work of the person signed in: the person remembered at this
workstation from the start, and whoever signs in later (the counts and the queue shown both
follow; "My open" never lists the previous person's tickets beside the new person's counts)."""

from __future__ import annotations

import pytest

from itsmdesk import config
from itsmdesk.demo.servicedesk import sample_desk
from itsmdesk.services.context import ALL_ROLES, Actor
from itsmdesk.services.servicedesk import incidents
from itsmdesk.views.main_window import MainWindow

pytestmark = pytest.mark.gui


def _entries(panel):
    return {panel.queue_list.item(i).data(256): panel.queue_list.item(i).text()
            for i in range(panel.queue_list.count())}


def _titles(panel):
    col = panel.model.columns.index("title")
    return sorted(panel.model.index(r, col).data() for r in range(panel.model.rowCount()))


@pytest.fixture
def tickets(ctx):
    d = sample_desk()
    for i in range(3):
        incidents.create_incident({"title": f"Olle {i}", "assignee": d["agent"].id,
                                   "team": d["desk"].id})
    for i in range(2):
        incidents.create_incident({"title": f"Sara {i}", "assignee": d["agent2"].id,
                                   "team": d["network"].id})
    incidents.create_incident({"title": "Nobody's yet"})
    return d


@pytest.mark.parametrize("with_name", [True, False])
def test_counts_and_list_are_the_remembered_and_then_the_new_persons(ctx, qtbot, settings, tickets,
                                                                    with_name, gui_sql):
    d = tickets
    settings.setValue(config.PERSON_ID.key, str(d["agent"].id))
    if with_name:
        settings.setValue(config.PERSON_NAME.key, "Olle Agent")
    w = MainWindow(ctx, settings)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    panel = w.panels["queuesDock"]
    assert ctx.actor.person_id == d["agent"].id
    entries = _entries(panel)
    assert entries["my_open"] == "My open  (3)"
    assert entries["my_team"] == "My team  (3)"  # the Service Desk's tickets
    assert panel.current_key() == "my_open"
    assert _titles(panel) == ["Olle 0", "Olle 1", "Olle 2"]
    assert panel.count_label.text() == "3 tickets"

    # another person signs in at this desk: their counts, and their "My open"
    ctx.set_actor(Actor.for_person(d["agent2"], roles=ALL_ROLES))
    entries = _entries(panel)
    assert entries["my_open"] == "My open  (2)"
    assert entries["my_team"] == "My team  (5)"  # Service Desk and Network
    assert panel.current_key() == "my_open"
    assert _titles(panel) == ["Sara 0", "Sara 1"]
    assert panel.count_label.text() == "2 tickets"
    assert settings.value(config.PERSON_ID.key) == str(d["agent2"].id)

    # signed out (nobody at the desk): no "my" tickets listed
    ctx.set_actor(Actor())
    assert _entries(panel)["my_open"] == "My open  (0)"
    assert panel.model.rowCount() == 0 or panel.current_key() != "my_open"
    assert gui_sql.statements == []


def test_counts_follow_a_person_known_only_after_the_queues_were_counted(ctx, qtbot, settings,
                                                                        tickets, gui_sql):
    """The queues were counted before the person was known, and the person arrived without
    the actor signal (``MainWindow._restore_actor`` sets ``ctx.actor`` directly): as soon as
    the list shows that person's tickets the counts beside the queues are theirs too -- never
    "My open (0)" beside their three tickets."""
    d = tickets
    w = MainWindow(ctx, settings)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    panel = w.panels["queuesDock"]
    assert _entries(panel)["my_open"] == "My open  (0)"
    ctx.actor = Actor.for_person(d["agent"], roles=ALL_ROLES)  # no signal
    panel.select_queue("my_open")
    assert _titles(panel) == ["Olle 0", "Olle 1", "Olle 2"]
    entries = _entries(panel)
    assert entries["my_open"] == "My open  (3)"
    assert entries["my_team"] == "My team  (3)"
    assert gui_sql.statements == []


def test_signing_out_on_a_database_with_accounts_empties_the_queue(ctx, qtbot, settings, tickets):
    """The list was read for whoever worked before the database said it has accounts; nobody
    signed in then sees no tickets: the list is read again, not only the counts."""
    from itsmdesk.services import accounts
    from itsmdesk.services.context import ANONYMOUS

    w = MainWindow(ctx, settings)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    panel = w.panels["queuesDock"]
    assert panel.model.rowCount() == 6
    accounts.create_first_administrator("boss", "Big Boss", "correct horse")
    ctx.set_actor(ANONYMOUS)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 0, timeout=5000)
    assert _entries(panel)["all_open"].endswith("(0)")
    ctx.set_actor(accounts.sign_in("boss", "correct horse"))
    qtbot.waitUntil(lambda: panel.model.rowCount() == 6, timeout=5000)
