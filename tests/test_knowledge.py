"""Knowledge base: ranked full-text search, versions from the journal, links, article from a
resolved incident (SQLite FTS5 and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from problem_helpers import T0, ci, incident

from itsmdesk.errors import ValidationError
from itsmdesk.models import ArticleLink
from itsmdesk.services.context import Actor
from itsmdesk.services.knowledge import articles as knowledge
from itsmdesk.services.problem import problems

BOB = Actor(None, "bob", "")


def _articles():
    a = knowledge.create_article({"title": "Connecting to the VPN from home",
                                  "body": "Install the client. Sign in with your token.",
                                  "tags": "vpn, remote"}, BOB)
    b = knowledge.create_article({"title": "Printer setup",
                                  "body": "If the VPN is down you cannot print from home.",
                                  "tags": "printing"}, BOB)
    c = knowledge.create_article({"title": "Resetting your password", "body": "Use the portal.",
                                  "tags": "account"}, BOB)
    d = knowledge.create_article({"title": "Old VPN client", "body": "VPN vpn vpn",
                                  "status": "retired"}, BOB)
    return a, b, c, d


def test_search_ranks_title_matches_first(db):
    a, b, c, d = _articles()
    hits = knowledge.search("vpn")
    assert [x.ref for x in hits] == [a.ref, b.ref]  # title beats body; retired left out
    assert "«" in hits[1].snippet  # the body match is highlighted
    assert knowledge.search("vpn", include_retired=True)[0].ref in (a.ref, d.ref)
    assert [x.ref for x in knowledge.search("passw")] == [c.ref]  # prefix while typing
    assert knowledge.search("") == []
    # no article has all words: any word may match
    assert [x.ref for x in knowledge.search("password printer")] and \
        {x.ref for x in knowledge.search("password printer")} == {b.ref, c.ref}
    # stemming: "connects" finds "Connecting"
    assert knowledge.search("connects vpn")[0].ref == a.ref


def test_search_sees_edits(db):
    a, *_ = _articles()
    knowledge.update_article(a.id, a.version, {"title": "Remote access with WireGuard"}, BOB)
    assert knowledge.search("wireguard")[0].ref == a.ref


def test_versions_from_the_journal(db):
    a, *_ = _articles()
    a = knowledge.update_article(a.id, a.version, {"body": "Version two."}, BOB)
    a = knowledge.update_article(a.id, a.version, {"title": "VPN at home", "tags": "vpn"},
                                 Actor(None, "carol", ""))
    versions = knowledge.versions(a.id)
    assert [v.version for v in versions] == [3, 2, 1]
    assert versions[0].title == "VPN at home" and versions[0].body == "Version two."
    assert versions[0].who == "carol" and set(versions[0].changed) == {"title", "tags"}
    assert versions[1].body == "Version two." and versions[1].title.startswith("Connecting")
    assert versions[2].body.startswith("Install the client")


def test_links_and_article_from_resolved_incident(db):
    srv = ci("vpn-gw")
    ke = problems.create_known_error({"title": "VPN MTU", "workaround": "MTU 1380"})
    inc = incident("VPN drops every few minutes", T0, srv, description="Drops at home",
                   known_error=ke.id)
    with pytest.raises(ValidationError):
        knowledge.create_from_incident(inc.id, BOB)
    from itsmdesk.services.servicedesk.incidents import update_incident

    update_incident(inc.id, None, {"status": "resolved", "resolution_code": "solved_permanently",
                                   "solution": "Set the client MTU to 1380."})
    art = knowledge.create_from_incident(inc.id, BOB)
    assert art.status == "draft" and art.title == inc.title
    assert "Drops at home" in art.body and "MTU to 1380" in art.body and inc.ref in art.body
    kinds = {link["kind"] for link in knowledge.links_of(art.id)}
    assert kinds == {"incident", "ci", "known_error"}
    knowledge.remove_link(art.id, "ci", srv.id, BOB)
    knowledge.add_link(art.id, "ci", srv.id, BOB)
    knowledge.add_link(art.id, "ci", srv.id, BOB)  # twice: one link
    assert ArticleLink.select().where(ArticleLink.ci == srv.id).count() == 1
    with pytest.raises(ValidationError):
        knowledge.add_link(art.id, "team", srv.id, BOB)
    sugg = knowledge.suggest_for_incident("vpn drops", "")
    assert sugg["known_errors"][0].ref == ke.ref


def test_article_view_save_and_status(db):
    import uuid

    from itsmdesk.errors import ConflictError, NotFoundError

    a, _b, _c, _d = _articles()
    srv = ci("vpn-gw")
    inc = incident("VPN drops", T0, srv)
    knowledge.add_link(a.id, "ci", srv.id, BOB)
    knowledge.add_link_by_reference(a.id, inc.ref, BOB)
    view = knowledge.article_view(a.id)
    assert (view.ref, view.tags, view.status, view.version) == (a.ref, "vpn, remote", "published", 3)
    assert [(link.kind, link.label) for link in view.links] == [
        ("ci", "vpn-gw"), ("incident", f"{inc.ref} VPN drops")]
    assert [v.version for v in view.versions] == [1]
    saved = knowledge.save_article(a.id, view.version, {"tags": "VPN, Home, vpn"}, BOB)
    assert saved.tags == "vpn, home" and saved.version == 4
    with pytest.raises(ConflictError):
        knowledge.set_status(a.id, view.version, "retired", BOB)
    assert knowledge.retire(a.id, saved.version, BOB).status == "retired"
    assert knowledge.article_view(a.id).versions[0].status == "retired"
    with pytest.raises(NotFoundError):
        knowledge.add_link_by_reference(a.id, "INC-999999", BOB, 5)
    new_id = uuid.uuid4()
    created = knowledge.save_article(None, None, {"title": "New", "body": "x"}, BOB, new_id)
    assert created.id == new_id and created.status == "draft"


def test_normalise_tags():
    assert knowledge.normalise_tags(" VPN, remote,vpn,, Home ") == "vpn, remote, home"


def test_cli_kb_search(sqlite_db, capsys):
    from itsmdesk.cli import main

    a, *_ = _articles()
    assert main(["--db", sqlite_db.url, "kb", "search", "vpn", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["ref"] == a.ref and data[0]["rank"] >= data[-1]["rank"]
