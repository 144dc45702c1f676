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
    panel.search.clear()
    qtbot.waitUntil(lambda: panel.results.count() == 0, timeout=2000)


def test_article_form_edit_preview_versions_links(ctx, qtbot):
    from itsmdesk.views.forms.article_form import ArticleForm

    a, _b = _articles()
    ke = problems.create_known_error({"title": "VPN MTU", "workaround": "MTU 1380"})
    form = ArticleForm(ctx, a.id)
    qtbot.addWidget(form)
    assert form.title().startswith(a.ref)
    form.body.setPlainText("# Remote access\n\n- step one\n- step two")
    form.update_preview()
    assert "step two" in form.preview.toPlainText()
    form.tags.setText("VPN, Remote, vpn")
    assert form.save()
    article = Article.get_by_id(a.id)
    assert article.tags == "vpn, remote" and article.body.startswith("# Remote access")
    assert form.versions.count() == 2
    form.versions.setCurrentRow(1)
    assert "Install the client." in form.version_view.toPlainText()
    form.link_edit.setText(ke.ref)
    form.add_link()
    assert form.links.count() == 1 and ke.ref in form.links.item(0).text()


def test_new_article_form(ctx, qtbot):
    from itsmdesk.views.forms.article_form import ArticleForm

    form = ArticleForm(ctx, None)
    qtbot.addWidget(form)
    form.title_edit.setText("Reset MFA")
    form.body.setPlainText("Call the desk.")
    assert form.save()
    assert Article.get(Article.title == "Reset MFA").status == "draft"


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
