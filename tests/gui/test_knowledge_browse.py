"""Knowledge dock: search snippets are plain text with the matched words in bold (no Markdown,
no marker characters); with no words typed the dock lists the articles by category."""

from __future__ import annotations

import pytest

from itsmdesk.services.knowledge import articles as knowledge
from itsmdesk.services.knowledge.browse import browse, categories, marked_parts, plain_text
from itsmdesk.views.knowledge.panel import HTML_ROLE, ID_ROLE, KnowledgePanel, snippet_html

pytestmark = pytest.mark.gui

MARKS = ("#", "*", "`", "«", "»", "](", "**", "__")


def _kb():
    made = [
        knowledge.create_article({
            "title": "Clearing a stuck print queue", "category": "Workstation",
            "body": "# Clearing a stuck print queue\n\n**Restart** the *Print Spooler* service, "
                    "then delete the files in `C:\\Windows\\System32\\spool\\PRINTERS`.\n\n"
                    "- Open [Services](https://learn.example/services)\n- Restart the spooler"}),
        knowledge.create_article({
            "title": "VPN drops every few minutes", "category": "Network",
            "body": "## Workaround\n\n> Set the MTU to **1380** and restart the VPN client."}),
        knowledge.create_article({
            "title": "Mapped drives missing", "category": "Workstation",
            "body": "Run `gpupdate /force` and sign out."}),
        knowledge.create_article({"title": "Old fax guide", "category": "Legacy",
                                  "body": "Fax", "status": "retired"}),
        knowledge.create_article({"title": "Reading the SLA clock", "body": "Business hours."}),
    ]
    return made


def test_plain_text_strips_markdown_and_keeps_match_markers():
    raw = "…the *Print Spooler* «service», then `gpupdate` — see [Services](http://x/y)\n# Heading"
    text = plain_text(raw)
    assert text == "…the Print Spooler «service», then gpupdate — see Services Heading"
    assert marked_parts(text)[1] == ("service", True)
    assert plain_text("snake_case and C# stay, 2*3*4 too") == "snake_case and C# stay, 2*3*4 too"
    assert plain_text("# Title\n\nFirst line", drop_first_heading=True) == "First line"


def test_search_snippets_are_plain_text_with_bold_matches(ctx, qtbot):
    made = _kb()
    panel = KnowledgePanel(ctx)
    qtbot.addWidget(panel)
    panel.show()
    panel.search.setText("restart")
    panel.run_search()
    assert panel.results.count() == 2
    for row in range(panel.results.count()):
        item = panel.results.item(row)
        snippet = item.text().split("\n", 1)[1]
        assert not any(mark in snippet for mark in MARKS), snippet
        html = item.data(HTML_ROLE)
        assert "<b>Restart</b>" in html or "<b>restart</b>" in html
        assert "«" not in html and "»" not in html and "**" not in html
    first = panel.results.item(0)
    assert first.text().startswith(made[0].ref)
    assert "Print Spooler" in first.text()
    # the list draws the rich text: the matched word is in a bold run of the document
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(first.data(HTML_ROLE))
    bold = []
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            if frag.charFormat().fontWeight() > 400:
                bold.append(frag.text())
            it += 1
        block = block.next()
    assert any(t.lower() == "restart" for t in bold), bold
    assert panel.results.visualItemRect(first).height() >= 3 * panel.fontMetrics().height()


def test_snippet_html_escapes_and_bolds():
    assert snippet_html("x < y & «b» <em>z</em>") == "x &lt; y &amp; <b>b</b> z"


def test_browse_lists_articles_by_category_without_a_search(ctx, qtbot):
    made = _kb()
    assert categories() == [("Network", 1), ("Workstation", 2), ("", 1)]
    assert [r.title for r in browse("Workstation")] == ["Clearing a stuck print queue",
                                                        "Mapped drives missing"]
    assert browse("Workstation")[0].summary.startswith("Restart the Print Spooler service")
    panel = KnowledgePanel(ctx)
    qtbot.addWidget(panel)
    panel.show()
    # nothing typed: every article that is not retired, by category, the first one previewed
    assert panel.results.count() == 4
    texts = [panel.results.item(r).text() for r in range(4)]
    assert texts[0].startswith(made[1].ref)  # Network first, then Workstation, then none
    assert not any("Old fax guide" in t for t in texts)
    assert "Set the MTU to 1380" in texts[0] and "**" not in texts[0]
    assert "Set the MTU to 1380" in panel.preview.toPlainText()
    boxes = [panel.category_box.itemText(i) for i in range(panel.category_box.count())]
    assert boxes[0].endswith("(4)") and "Workstation (2)" in boxes
    # a category: its articles only
    panel.category_box.setCurrentIndex(panel.category_box.findData("Workstation"))
    assert [panel.results.item(r).data(ID_ROLE) for r in range(panel.results.count())] == \
        [made[0].id, made[2].id]
    assert "in Workstation" in panel.count_label.text()
    # a search keeps to the category chosen
    panel.search.setText("restart")
    panel.run_search()
    assert [panel.results.item(r).data(ID_ROLE) for r in range(panel.results.count())] == \
        [made[0].id]
    # an article written meanwhile is listed and counted without a search
    panel.search.clear()
    panel.run_search()
    ctx.write(knowledge.create_article, {"title": "Printer offline", "category": "Workstation"},
              owner=panel)
    qtbot.waitUntil(lambda: panel.results.count() == 3, timeout=2000)
    assert panel.category_box.currentText() == "Workstation (3)"


def test_browse_without_a_category_lists_at_most_the_limit(ctx, qtbot, monkeypatch):
    import itsmdesk.views.knowledge.panel as kb_panel

    monkeypatch.setattr(kb_panel, "BROWSE_LIMIT", 3)
    _kb()
    panel = KnowledgePanel(ctx)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.results.count() == 3
    assert "choose a category" in panel.count_label.text()
    panel.category_box.setCurrentIndex(panel.category_box.findData("Workstation"))
    assert panel.results.count() == 2 and "in Workstation" in panel.count_label.text()
