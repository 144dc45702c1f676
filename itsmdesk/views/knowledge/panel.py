"""Knowledge search dock: full-text search while typing, ranked hits, a Markdown preview."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.kinds import Kind
from itsmdesk.services.knowledge import articles as knowledge
from itsmdesk.services.records import Changes
from itsmdesk.views.messages import show_error

ID_ROLE = Qt.ItemDataRole.UserRole


class KnowledgePanel(QWidget):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("knowledgePanel")
        self.search = QLineEdit()
        self.search.setObjectName("knowledgeSearch")
        self.search.setPlaceholderText(self.tr("Search the knowledge base…"))
        self.search.setClearButtonEnabled(True)
        self.new_button = QPushButton(self.tr("New"))
        self.new_button.setToolTip(self.tr("New article"))
        self.new_button.clicked.connect(lambda: self.ctx.open_record("article", None))
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.new_button)
        self.results = QListWidget()
        self.results.setObjectName("knowledgeResults")
        self.results.setWordWrap(True)
        self.results.setAlternatingRowColors(True)
        self.count_label = QLabel()
        self.preview = QTextBrowser()
        self.preview.setObjectName("knowledgePreview")
        self.preview.setOpenLinks(False)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.results)
        split.addWidget(self.preview)
        split.setSizes([220, 320])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.count_label)
        layout.addWidget(split, 1)

        self._debounce = QTimer(self, singleShot=True, interval=200)
        self._debounce.timeout.connect(self.run_search)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.search.returnPressed.connect(self.run_search)
        self.results.currentItemChanged.connect(self._selected)
        self.results.itemActivated.connect(
            lambda item: self.ctx.open_record("article", item.data(ID_ROLE)))
        ctx.sig_changes.connect(self._records_changed)
        self.count_label.setText(self.tr("Type words to search titles, tags and text."))

    def _records_changed(self, changes: Changes) -> None:
        if changes.touches(Kind.ARTICLE) and self.search.text().strip():
            self._debounce.start()

    def run_search(self) -> None:
        text = self.search.text().strip()
        if not text:
            self.results.clear()
            self.preview.clear()
            self.count_label.setText(self.tr("Type words to search titles, tags and text."))
            return
        self.ctx.query(knowledge.search, text, 50, on_done=self._show,
                       key="kb-search", owner=self)

    def _show(self, hits: list[knowledge.ArticleHit]) -> None:
        self.results.clear()
        best = hits[0].rank if hits and hits[0].rank > 0 else 1.0
        for hit in hits:
            stars = "●" * max(1, round(5 * hit.rank / best)) if hit.rank > 0 else "●"
            snippet = hit.snippet.replace("\n", " ")
            text = f"{hit.ref}  {hit.title}\n{stars}  {hit.category or ''}  {snippet}".rstrip()
            item = QListWidgetItem(text)
            item.setData(ID_ROLE, hit.id)
            item.setToolTip(hit.tags)
            self.results.addItem(item)
        self.count_label.setText(self.tr("{n} article(s), best match first").format(n=len(hits)))
        if hits:
            self.results.setCurrentRow(0)
        else:
            self.preview.clear()

    def _selected(self, item: QListWidgetItem | None, _prev: Any = None) -> None:
        if item is None:
            return
        self.ctx.query(knowledge.preview, item.data(ID_ROLE), on_done=self._show_preview,
                       key="kb-preview", owner=self)

    def _show_preview(self, data: dict[str, Any]) -> None:
        meta = " · ".join(x for x in (data["ref"], data["category"], data["tags"],
                                       data["author"]) if x)
        self.preview.setMarkdown(f"_{meta}_\n\n{data['body']}")


def article_from_incident(ctx, parent: QWidget) -> None:  # noqa: ANN001
    ref, ok = QInputDialog.getText(parent, QCoreApplication.translate("knowledge", "Article from incident"),
                                   QCoreApplication.translate("knowledge", "Reference of a resolved incident:"))
    if not ok or not ref.strip():
        return
    ctx.write(knowledge.create_from_incident_ref, ref.strip(), ctx.actor, owner=parent,
              on_done=lambda article: ctx.open_record("article", article.id),
              on_error=lambda exc: show_error(parent, exc))


def _t(text: str) -> str:
    return QCoreApplication.translate("knowledge", text)


def create_panel(ctx, window) -> QWidget:  # noqa: ANN001
    return KnowledgePanel(ctx)


def menu_actions(ctx, window) -> list[tuple[str, QAction]]:  # noqa: ANN001
    new = QAction(QCoreApplication.translate("knowledge", "New &article"), window)
    new.setShortcut(QKeySequence("Ctrl+Alt+N"))
    new.triggered.connect(lambda: ctx.open_record("article", None))
    from_inc = QAction(QCoreApplication.translate("knowledge", "Article from resolved &incident…"), window)
    from_inc.setShortcut(QKeySequence("Ctrl+Alt+I"))
    from_inc.triggered.connect(lambda: article_from_incident(ctx, window))
    return [("Records", new), ("Records", from_inc)]
