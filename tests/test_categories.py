"""Categories and their diagnostic scripts (services/categories.py), on SQLite and PostgreSQL."""

import json

import pytest

from itsmdesk.errors import ConflictError, ValidationError
from itsmdesk.models.servicedesk import Category
from itsmdesk.services import people
from itsmdesk.services.context import Actor
from itsmdesk.services.servicedesk import categories, incidents


@pytest.fixture
def setup(db):
    boss = people.create_person({"name": "Maja Lead", "email": "maja@example.org", "is_agent": True})
    net = people.create_team({"name": "Network", "lead": boss.id}, [boss])
    desk = people.create_team({"name": "Service Desk", "lead": boss.id}, [boss])
    cat = categories.create_category("Network", "incident", Actor.for_person(boss))
    return {"boss": boss, "net": net, "desk": desk, "cat": cat, "actor": Actor.for_person(boss)}


def _stored(cat_id):
    return Category.get_by_id(cat_id)


def test_save_valid_script_routes_by_team_id(setup):
    cat, net = setup["cat"], setup["net"]
    steps = [{"question": "  More than one user affected? ",
              "answers": [{"label": "Yes, the whole site", "route_team": str(net.id)},
                          {"label": "Only this caller", "route_team": None}]},
             {"question": "Cable connected?", "answers": [{"label": "Yes"},
                                                          {"label": "No", "route_team": "Network"}]}]
    row = categories.save_script(cat.id, cat.version, steps, setup["actor"])
    stored = _stored(cat.id)
    assert row.version == cat.version + 1 == stored.version
    assert stored.diagnostic_script == [
        {"question": "More than one user affected?",
         "answers": [{"label": "Yes, the whole site", "route_team": str(net.id)},
                     {"label": "Only this caller"}]},
        {"question": "Cable connected?",
         "answers": [{"label": "Yes"}, {"label": "No", "route_team": str(net.id)}]}]
    # what the incident form reads, and routing through record_diagnosis works with the id
    assert incidents.diagnostic_script(cat.id) == stored.diagnostic_script
    inc = incidents.create_incident({"title": "No network", "category": cat.id,
                                     "team": setup["desk"].id})
    routed = incidents.record_diagnosis(inc.id, [("More than one user affected?", "Yes")],
                                        stored.diagnostic_script[0]["answers"][0]["route_team"])
    assert routed.team_id == net.id
    info = next(c for c in categories.list_categories("incident") if c.id == cat.id)
    assert info.steps == stored.diagnostic_script and info.version == stored.version


@pytest.mark.parametrize("steps", [
    [{"question": "", "answers": [{"label": "Yes"}]}],
    [{"question": "Restarted?", "answers": []}],
    [{"question": "Restarted?"}],
    [{"question": "Restarted?", "answers": [{"label": "  "}]}],
    [{"question": "Restarted?", "answers": [{"label": "Yes", "route_team": "No such team"}]}],
    "not a list",
])
def test_invalid_script_refused_db_unchanged(setup, steps):
    cat = setup["cat"]
    good = [{"question": "Restarted?", "answers": [{"label": "Yes"}]}]
    cat = categories.save_script(cat.id, cat.version, good)
    before = _stored(cat.id)
    with pytest.raises(ValidationError):
        categories.save_script(cat.id, cat.version, steps, setup["actor"])
    after = _stored(cat.id)
    assert after.version == before.version
    assert after.diagnostic_script == good


def test_stale_version_refused(setup):
    cat = setup["cat"]
    categories.save_script(cat.id, cat.version, [{"question": "A?", "answers": [{"label": "a"}]}])
    with pytest.raises(ConflictError) as err:
        categories.save_script(cat.id, cat.version, [{"question": "B?", "answers": [{"label": "b"}]}])
    assert "nothing was saved" in err.value.message
    assert _stored(cat.id).diagnostic_script[0]["question"] == "A?"


def test_empty_script_removes_it(setup):
    cat = setup["cat"]
    cat = categories.save_script(cat.id, cat.version, [{"question": "A?", "answers": ["a"]}])
    assert _stored(cat.id).diagnostic_script == [{"question": "A?", "answers": [{"label": "a"}]}]
    categories.save_script(cat.id, cat.version, [])
    assert _stored(cat.id).diagnostic_script is None
    assert incidents.diagnostic_script(cat.id) == []


def test_create_and_rename_category(setup):
    req = categories.create_category("Access", "request")
    assert Category.get_by_id(req.id).kind == "request"
    with pytest.raises(ValidationError):
        categories.create_category("network", "incident")  # same name, same kind
    with pytest.raises(ValidationError):
        categories.create_category("  ", "incident")
    categories.create_category("Network", "request")  # another kind may share the name
    renamed = categories.rename_category(req.id, req.version, "Access rights")
    assert Category.get_by_id(req.id).name == "Access rights" == renamed.name
    with pytest.raises(ConflictError):
        categories.rename_category(req.id, req.version, "Old view")
    with pytest.raises(ValidationError):
        categories.find_category("Network")  # two kinds: say which
    assert categories.find_category("network", "incident").id == setup["cat"].id


def test_cli_script_show_and_set(sqlite_db, tmp_path, capsys):
    from itsmdesk.cli import main

    boss = people.create_person({"name": "Maja Lead", "email": "maja@example.org"})
    net = people.create_team({"name": "Network", "lead": boss.id}, [boss])
    cat = categories.create_category("Network", "incident")
    path = tmp_path / "script.json"
    path.write_text(json.dumps([{"question": "Which floor?",
                                 "answers": [{"label": "3", "route_team": "Network"}]}]))
    url = sqlite_db.url
    assert main(["--db", url, "categories", "script", "set", "network", str(path)]) == 0
    capsys.readouterr()
    assert main(["--db", url, "categories", "script", "show", "Network"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == [{"question": "Which floor?",
                      "answers": [{"label": "3", "route_team": str(net.id)}]}]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"question": "", "answers": []}]))
    assert main(["--db", url, "categories", "script", "set", "Network", str(bad)]) == 2
    assert "Step 1 needs a question" in capsys.readouterr().err
    assert main(["--db", url, "categories", "list"]) == 0
    assert "Network" in capsys.readouterr().out
    assert cat.id


def test_demo_script_routes_a_ticket_and_old_name_routes_still_work(demo_db):
    """The demo stores route-to teams as ids; a script saved with a team *name* (older data)
    still routes, and an unknown name is refused with nothing written."""
    from itsmdesk.models.incident import Incident, WorkLog
    from itsmdesk.models.people import Team

    net = Team.get(Team.name == "Network Operations")
    cat = Category.get(Category.name == "Network")
    route = cat.diagnostic_script[0]["answers"][0]["route_team"]
    assert route == str(net.id)
    ticket = (Incident.select().where((Incident.team != net.id) & (Incident.status == "new"))
              .first())
    routed = incidents.record_diagnosis(ticket.id, [("Is more than one user affected?",
                                                     "Yes, the whole site")], route)
    assert routed.team_id == net.id
    apps = Team.get(Team.name == "Application Support")
    assert incidents.record_diagnosis(ticket.id, [("q", "a")], "Application Support").team_id \
        == apps.id
    notes = WorkLog.select().where(WorkLog.incident == ticket.id).count()
    with pytest.raises(ValidationError):
        incidents.record_diagnosis(ticket.id, [("q", "a")], "No Such Team")
    assert WorkLog.select().where(WorkLog.incident == ticket.id).count() == notes
    assert Incident.get_by_id(ticket.id).team_id == apps.id
