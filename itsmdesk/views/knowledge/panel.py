"""Knowledge dock: browse the articles by category, or search while typing (ranked hits with
the matched words in bold), and a Markdown preview of the selected one."""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtCore import QCoreApplication, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, QTimer
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QAction,
    QFont,
    QFontMetrics,
    QKeySequence,
    QPalette,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.kinds import Kind
from itsmdesk.services.knowledge import articles as knowledge
from itsmdesk.services.knowledge import browse
from itsmdesk.services.records import Changes
from itsmdesk.views.messages import show_error
from itsmdesk.words import word

ID_ROLE = Qt.ItemDataRole.UserRole
HTML_ROLE = Qt.ItemDataRole.UserRole + 1
PARTS_ROLE = Qt.ItemDataRole.UserRole + 2  # (title, meta, body, has bold words) as plain text
MUTED = "#6b7280"
BROWSE_LIMIT = 200  # articles listed without a search (a category narrows them)
ALL = "\x00all"  # the category box's "all categories" (a real category is never this)


def snippet_html(snippet: str) -> str:
    """A search snippet as rich text: plain words (no Markdown), the matched words in bold."""
    return "".join(f"<b>{escape(part)}</b>" if matched else escape(part)
                   for part, matched in browse.marked_parts(browse.plain_text(snippet)))


def snippet_plain(snippet: str) -> str:
    return "".join(part for part, _m in browse.marked_parts(browse.plain_text(snippet)))


class ResultDelegate(QStyledItemDelegate):
    """Draws a result's rich text (HTML_ROLE), wrapped to the list's width."""

    def __init__(self, parent: QListView) -> None:
        super().__init__(parent)
        self._heights: dict[tuple, int] = {}

    def _document(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex,
                  width: int, selected: bool = False) -> QTextDocument:
        doc = QTextDocument()
        doc.setDefaultFont(option.font)
        doc.setDocumentMargin(4)
        html = index.data(HTML_ROLE) or escape(index.data() or "")
        if selected:  # muted grey is unreadable on the selection colour
            html = html.replace(f"color:{MUTED}", "")
        doc.setHtml(html)
        doc.setTextWidth(max(60, width))
        return doc

    def _width(self, option: QStyleOptionViewItem) -> int:
        view = self.parent()
        return view.viewport().width() if isinstance(view, QListView) else option.rect.width()

    def paint(self, painter, option, index) -> None:  # noqa: ANN001
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        doc = self._document(opt, index, opt.rect.width(), selected)
        context = QAbstractTextDocumentLayout.PaintContext()
        if selected:
            context.palette.setColor(QPalette.ColorRole.Text,
                                     opt.palette.color(QPalette.ColorRole.HighlightedText))
        else:
            context.palette.setColor(QPalette.ColorRole.Text,
                                     opt.palette.color(QPalette.ColorRole.Text))
        painter.save()
        painter.translate(opt.rect.topLeft())
        painter.setClipRect(opt.rect.translated(-opt.rect.topLeft()))
        doc.documentLayout().draw(painter, context)
        painter.restore()

    def sizeHint(self, option, index) -> QSize:  # noqa: ANN001, N802 - Qt API
        """Measured with font metrics (a rich-text layout for each of hundreds of rows held the
        window): the title and the matched words are bold, so bold metrics are used for them."""
        width = self._width(option)
        parts = index.data(PARTS_ROLE)
        if not parts:
            return QSize(width, int(self._document(option, index, width).size().height()) + 2)
        key = (parts, width, option.font.key())
        cached = self._heights.get(key)
        if cached is not None:
            return QSize(width, cached)
        if len(self._heights) > 5000:
            self._heights.clear()
        title, meta, body, marked = parts
        bold = QFont(option.font)
        bold.setBold(True)
        regular_m, bold_m = QFontMetrics(option.font), QFontMetrics(bold)
        box = QRect(0, 0, max(60, width) - 8 - 4, 100000)  # document margins, a spare pixel or so
        flags = int(Qt.TextFlag.TextWordWrap)
        height = bold_m.boundingRect(box, flags, title).height()
        height += regular_m.boundingRect(box, flags, meta).height()
        if body:
            height += (bold_m if marked else regular_m).boundingRect(box, flags, body).height()
        self._heights[key] = height + 8 + 2
        return QSize(width, height + 8 + 2)


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
        self.category_box = QComboBox()
        self.category_box.setObjectName("knowledgeCategory")
        self.category_box.setToolTip(self.tr("Show the articles of one category"))
        self.category_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.category_box.setMinimumContentsLength(12)
        self.category_box.addItem(self.tr("All categories"), ALL)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.new_button)
        filters = QHBoxLayout()
        filters.addWidget(self.category_box, 1)
        self.results = QListWidget()
        self.results.setObjectName("knowledgeResults")
        self.results.setWordWrap(True)
        self.results.setAlternatingRowColors(True)
        self.results.setResizeMode(QListView.ResizeMode.Adjust)
        self.results.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.results.setItemDelegate(ResultDelegate(self.results))
        self.count_label = QLabel()
        self.count_label.setObjectName("knowledgeCount")
        self.count_label.setWordWrap(True)
        self.preview = QTextBrowser()
        self.preview.setObjectName("knowledgePreview")
        self.preview.setOpenLinks(False)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.results)
        split.addWidget(self.preview)
        split.setSizes([260, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addWidget(self.count_label)
        layout.addWidget(split, 1)

        self._shown_once = False
        self._debounce = QTimer(self, singleShot=True, interval=200)
        self._debounce.timeout.connect(self.run_search)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.search.returnPressed.connect(self.run_search)
        self.category_box.currentIndexChanged.connect(lambda _i: self.run_search())
        self.results.currentItemChanged.connect(self._selected)
        self.results.itemActivated.connect(
            lambda item: self.ctx.open_record("article", item.data(ID_ROLE)))
        ctx.sig_changes.connect(self._records_changed)

    def showEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt API
        super().showEvent(event)
        if not self._shown_once:  # the dock is read when first seen, not at start-up
            self._shown_once = True
            self.refresh_categories()
            self.run_search()

    def _records_changed(self, changes: Changes) -> None:
        if changes.touches(Kind.ARTICLE) and self._shown_once:
            self.refresh_categories()
            self._debounce.start()

    def category(self) -> str | None:
        """The chosen category ("" for articles without one), None for all of them."""
        data = self.category_box.currentData()
        return None if data in (ALL, None) else data

    def refresh_categories(self) -> None:
        self.ctx.query(browse.categories, on_done=self._fill_categories, key="kb-categories",
                       owner=self)

    def _fill_categories(self, found: list[tuple[str, int]]) -> None:
        current = self.category_box.currentData()
        self.category_box.blockSignals(True)
        try:
            self.category_box.clear()
            total = sum(n for _c, n in found)
            self.category_box.addItem(self.tr("All categories ({n})").format(n=total), ALL)
            for name, n in found:
                label = name or self.tr("(no category)")
                self.category_box.addItem(f"{label} ({n})", name)
            index = self.category_box.findData(current)
            self.category_box.setCurrentIndex(max(0, index))
        finally:
            self.category_box.blockSignals(False)
        if current not in (ALL, None) and self.category_box.findData(current) < 0:
            self.run_search()  # the category chosen is gone: show them all

    def run_search(self) -> None:
        """Search for the words typed (within the category chosen); with none, list the
        category's articles."""
        text = self.search.text().strip()
        category = self.category()
        if not text:
            self.ctx.query(browse.browse, category, BROWSE_LIMIT + 1, on_done=self._show_browse,
                           key="kb-search", owner=self)
            return

        def search() -> list[knowledge.ArticleHit]:
            hits = knowledge.search(text, 50 if category is None else 200)
            if category is not None:
                hits = [h for h in hits if (h.category or "") == category][:50]
            return hits

        self.ctx.query(search, on_done=self._show, key="kb-search", owner=self)

    def _item(self, article_id: Any, ref: str, title: str, meta: str, body_html: str,
              body: str, tip: str) -> QListWidgetItem:
        html = (f"<b>{escape(ref)}</b>&nbsp; {escape(title)}"
                f"<br><span style='color:{MUTED}'>{escape(meta)}</span>"
                + (f"<br>{body_html}" if body_html else ""))
        item = QListWidgetItem(f"{ref}  {title}\n{meta}  {body}".rstrip())
        item.setData(ID_ROLE, article_id)
        item.setData(HTML_ROLE, html)
        item.setData(PARTS_ROLE, (f"{ref}\u00a0 {title}", meta, body, "<b>" in body_html))
        item.setToolTip(tip)
        return item

    def _show(self, hits: list[knowledge.ArticleHit]) -> None:
        self.results.clear()
        best = hits[0].rank if hits and hits[0].rank > 0 else 1.0
        for hit in hits:
            stars = "●" * max(1, round(5 * hit.rank / best)) if hit.rank > 0 else "●"
            meta = "  ".join(x for x in (stars, hit.category or "", self._status(hit.status)) if x)
            self.results.addItem(self._item(hit.id, hit.ref, hit.title, meta,
                                            snippet_html(hit.snippet), snippet_plain(hit.snippet),
                                            hit.tags))
        self.count_label.setText(self.tr("{n} article(s), best match first").format(n=len(hits)))
        self._select_first(bool(hits))

    def _show_browse(self, rows: list[browse.ArticleRow]) -> None:
        self.results.clear()
        more = len(rows) > BROWSE_LIMIT
        rows = rows[:BROWSE_LIMIT]
        for row in rows:
            tags = "" if row.tags.lower() == row.category.lower() else row.tags
            meta = "  ".join(x for x in (row.category or self.tr("(no category)"),
                                         self._status(row.status), tags) if x)
            self.results.addItem(self._item(row.id, row.ref, row.title, meta,
                                            escape(row.summary), row.summary, row.tags))
        category = self.category()
        if more:
            text = self.tr("The first {n} articles; choose a category or type words to search.") \
                .format(n=len(rows))
        elif category is None:
            text = self.tr("{n} article(s) by category; type words to search titles, tags and "
                           "text.").format(n=len(rows))
        else:
            text = self.tr("{n} article(s) in {category}").format(
                n=len(rows), category=category or self.tr("(no category)"))
        self.count_label.setText(text)
        self._select_first(bool(rows))

    def _status(self, status: str) -> str:
        return "" if status == "published" else word(status)

    def _select_first(self, any_rows: bool) -> None:
        if any_rows:
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
