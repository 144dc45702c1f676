"""Knowledge search dock, article form and incident suggestions driven with pytest-qt."""

from __future__ import annotations

import pytest

from itsmdesk.models import Article, Incident, WorkLog
from itsmdesk.services.knowledge import articles as knowledge
from itsmdesk.services.problem import problems
from itsmdesk.services.servicedesk import incidents

pytestmark = pytest.mark.gui


def _articles():
    a = knowledge.create_article({"title": "Connecting to the VPN from home",
                                  "body": "# VPN\n\nInstall the **client**.", "tags": "vpn"})
    b = knowledge.create_article({"title": "Printing", "body": "Printing needs the VPN."})
    return a, b


def test_search_dock_ranks_and_previews(ctx, qtbot):
    from itsmdesk.views.knowledge.panel import KnowledgePanel

    a, b = _articles()
    panel = KnowledgePanel(ctx)
    qtbot.addWidget(panel)
    qtbot.keyClicks(panel.search, "vpn")
    qtbot.waitUntil(lambda: panel.results.count() == 2, timeout=2000)
    assert panel.results.item(0).text().startswith(a.ref)
    assert panel.results.currentRow() == 0
    assert "Install the client." in panel.preview.toPlainText()
    panel.search.clear()  # no words: every article, by category
    qtbot.waitUntil(lambda: "by category" in panel.count_label.text(), timeout=2000)
    assert panel.results.count() == 2


def _article_form(ctx, qtbot, record_id=None):
    from itsmdesk.views.knowledge.article_form import ArticleForm

    form = ArticleForm(ctx, record_id)
    qtbot.addWidget(form)
    assert form.loaded
    return form


def test_article_form_edit_preview_versions_links(ctx, qtbot, gui_sql, monkeypatch):
    from itsmdesk.services import history

    a, _b = _articles()
    ke = problems.create_known_error({"title": "VPN MTU", "workaround": "MTU 1380"})
    gui_sql.clear()
    form = _article_form(ctx, qtbot, a.id)
    # (a) opening fills the form
    assert form.title().startswith(a.ref) and form.title_edit.text() == a.title
    assert form.tags.text() == "vpn" and form.body_edit.toPlainText().startswith("# VPN")
    assert form.status.text() == "Published" and not form.publish_button.isEnabled()
    assert form.versions.count() == 1 and not form.dirty and form.edits() == {}
    # (b) an edit saves only what changed
    form.body_edit.setPlainText("# Remote access\n\n- step one\n- step two")
    form.update_preview()
    assert "step two" in form.preview.toPlainText()
    form.tags.setText("VPN, Remote, vpn")
    assert form.dirty and form.edits() == {
        "body": "# Remote access\n\n- step one\n- step two", "tags": "vpn, remote"}
    form.save()
    assert gui_sql.statements == []  # (e) open, edit, save
    article = Article.get_by_id(a.id)
    assert article.tags == "vpn, remote" and article.body.startswith("# Remote access")
    assert article.title == a.title and article.version == 2
    latest = {e.field for e in history.named_history("article", a.id) if e.version == 2}
    assert latest == {"body", "tags"}
    assert form.versions.count() == 2
    form.versions.setCurrentRow(1)
    assert "Install the client." in form.version_view.toPlainText()
    # links: add by reference, remove; each a write at the form's version
    gui_sql.clear()
    form.link_edit.setText(ke.ref)
    form.add_link()
    assert form.links.count() == 1 and ke.ref in form.links.item(0).text()
    assert form.link_edit.text() == "" and form.data.version == 3
    form.link_edit.setText("no-such-thing")
    shown = []
    monkeypatch.setattr("itsmdesk.views.forms.base.show_error",
                        lambda _w, e: shown.append(str(e)))
    form.add_link()
    assert shown == ["Nothing has the reference or name 'no-such-thing'"]
    form.links.setCurrentRow(0)
    form.remove_link()
    assert form.links.count() == 0
    # retire and publish again
    form.retire_button.click()
    assert form.status.text() == "Retired" and form.data.status == "retired"
    assert form.publish_button.isEnabled() and not form.retire_button.isEnabled()
    form.publish_button.click()
    assert form.data.status == "published"
    # (f) the history tab: who did what, the known error by its reference
    form.tabs.setCurrentWidget(form.history)
    form.history.refresh()
    assert gui_sql.statements == []  # (e) none of the form's actions ran on the GUI thread
    assert Article.get_by_id(a.id).status == "published"
    assert [e.new for e in history.named_history("article", a.id) if e.field == "status"][:2] == [
        "published", "retired"]
    linked = [e for e in form.history.entries if e.field == "article_link"]
    assert {e.action for e in linked} == {"added", "removed"}
    assert all(e.new == ke.ref or e.old == ke.ref for e in linked)
    assert str(ke.id) not in str(form.history.entries)


def test_new_article_form(ctx, qtbot, gui_sql):
    gui_sql.clear()
    form = _article_form(ctx, qtbot)
    assert form.title() == "New article" and not form.retire_button.isEnabled()
    form.title_edit.setText("Reset MFA")
    form.body_edit.setPlainText("Call the desk.")
    assert form.edits() == {"title": "Reset MFA", "body": "Call the desk."}
    form.save()
    article = Article.get(Article.title == "Reset MFA")
    assert article.status == "draft" and article.id == form.new_id == form.record_id
    assert form.title() == f"{article.ref} Reset MFA"
    # "Publish" with unsaved edits: saved first, then published
    gui_sql.clear()
    form.category.setText("Accounts")
    form.publish_button.click()
    assert gui_sql.statements == []
    article = Article.get_by_id(article.id)
    assert (article.category, article.status) == ("Accounts", "published")
    assert not form.dirty and form.status.text() == "Published"


def test_article_form_stale_edit_merges(ctx, qtbot, monkeypatch):
    from itsmdesk.views.forms.merge_dialog import MergeDialog

    a, _b = _articles()
    form = _article_form(ctx, qtbot, a.id)
    knowledge.update_article(a.id, a.version, {"title": "VPN at home", "category": "Network"})
    form.title_edit.setText("Connecting to the VPN")
    form.tags.setText("vpn, home")
    seen = {}

    def pick(dialog):
        seen["conflicts"] = list(dialog.conflicts)
        return True  # theirs for the title

    monkeypatch.setattr(MergeDialog, "exec", pick)
    form.save()
    assert seen["conflicts"] == ["title"]
    saved = Article.get_by_id(a.id)
    assert (saved.title, saved.tags, saved.category) == ("VPN at home", "vpn, home", "Network")
    assert form.title_edit.text() == "VPN at home" and not form.dirty


def test_article_form_can_close_asks(ctx, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    a, _b = _articles()
    form = _article_form(ctx, qtbot, a.id)
    assert form.can_close()
    closed = []
    form.close_form = closed.append
    form.category.setText("Network")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    assert not form.can_close() and closed == []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Save)
    assert not form.can_close()
    assert Article.get_by_id(a.id).category == "Network" and closed == [form]
    form.category.setText("Other")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    assert form.can_close() and Article.get_by_id(a.id).category == "Network"


def test_article_read_model_query_count(ctx, monkeypatch):
    import peewee

    a, _b = _articles()
    ke = problems.create_known_error({"title": "VPN MTU"})
    inc = incidents.create_incident({"title": "VPN down"})
    knowledge.add_link(a.id, "known_error", ke.id)
    knowledge.add_link(a.id, "incident", inc.id)
    seen = []
    original = peewee.Database.execute_sql

    def execute_sql(self, sql, params=None, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        seen.append(sql)
        return original(self, sql, params, *args, **kwargs)

    monkeypatch.setattr(peewee.Database, "execute_sql", execute_sql)
    view = knowledge.article_view(a.id)
    assert [(link.kind, link.label) for link in view.links] == [
        ("known_error", f"{ke.ref} VPN MTU"), ("incident", f"{inc.ref} VPN down")]
    assert len(seen) <= 3, seen
    seen.clear()
    knowledge.save_article(a.id, view.version, {"tags": "VPN, Home"})
    assert len(seen) <= 8, seen


def test_article_form_screenshot(ctx, qtbot, tmp_path):
    a, _b = _articles()
    form = _article_form(ctx, qtbot, a.id)
    form.resize(1400, 900)
    form.show()
    form.grab().save(str(tmp_path / "article_form.png"))
    assert (tmp_path / "article_form.png").stat().st_size > 5000


def test_suggestions_apply_workaround(ctx, qtbot):
    from itsmdesk.views.knowledge.suggestions import SuggestionsWidget

    ke = problems.create_known_error({"title": "Outlook crashes after update",
                                      "workaround": "Disable the add-in"})
    inc = incidents.create_incident({"title": "Outlook crashes"})
    w = SuggestionsWidget(ctx)
    qtbot.addWidget(w)
    w.set_text("outlook crash")
    qtbot.waitUntil(lambda: w.list.count() >= 1, timeout=2000)
    w.list.setCurrentRow(0)
    assert not w.apply_button.isEnabled()  # no incident yet
    w.set_incident(inc.id)
    assert w.apply_button.isEnabled()
    with qtbot.waitSignal(w.sig_applied):
        w.apply_button.click()
    assert Incident.get_by_id(inc.id).known_error_id == ke.id
    assert "Disable the add-in" in WorkLog.get(WorkLog.incident == inc.id).text
