"""Full-text search over tickets (title, description, work log), quick open, suggestions."""

from itsmdesk.demo.servicedesk import sample_desk
from itsmdesk.services import search
from itsmdesk.services.problem import problems
from itsmdesk.services.servicedesk import incidents


def test_search_title_description_worklog(db):
    d = sample_desk()
    a = incidents.create_incident({"title": "Printer jammed", "description": "third floor"})
    b = incidents.create_incident({"title": "Laptop slow", "description": "fans running"})
    c = incidents.create_incident({"title": "Other thing"})
    incidents.add_work_log(c.id, "Replaced the toner cartridge", d["actor"])
    assert [h.ref for h in search.search_incidents("printer")] == [a.ref]
    assert [h.ref for h in search.search_incidents("floor")] == [a.ref]
    assert [h.ref for h in search.search_incidents("run")] == [b.ref]  # stemming / prefix
    assert [h.ref for h in search.search_incidents("toner")] == [c.ref]
    assert search.search_incidents("") == []
    assert search.search_incidents("printer zebra") == []
    assert search.search_incidents('"; DROP TABLE incident') == []


def test_quick_open_reference_and_words(db):
    sample_desk()
    inc = incidents.create_incident({"title": "VPN broken"})
    number = int(inc.ref.split("-")[1])
    assert search.quick_open(f"inc-{number}")[0].id == inc.id
    assert search.quick_open(inc.ref)[0].kind == "incident"
    hits = search.quick_open("mail")
    assert any(h.kind == "ci" and h.title == "mail-srv-01" for h in hits)
    assert any(h.ref == inc.ref for h in search.quick_open("vpn"))


def test_suggest_known_errors(db):
    sample_desk()
    problems.create_known_error({"title": "Outlook crashes on start", "symptom": "outlook closes",
                                 "workaround": "Start in safe mode"})
    hits = search.suggest("user says outlook crashes")
    assert hits and hits[0].kind == "known_error"
    assert search.suggest("xy") == []
