"""Knowledge article form: Markdown body with a live preview, category, tags, links to CIs /
known errors / incidents, the versions rebuilt from the journal, history; "Publish" and
"Retire" (writes of their own; unsaved edits are saved first)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.kinds import Kind
from itsmdesk.services.knowledge import articles as knowledge
from itsmdesk.views.forms.base import RecordForm
from itsmdesk.views.forms.common import header_label
from itsmdesk.views.timefmt import local_text

ROLE = Qt.ItemDataRole.UserRole




def status_label(status: str) -> str:
    return {"draft": QCoreApplication.translate("ArticleForm", "Draft"), "published": QCoreApplication.translate("ArticleForm", "Published"),
            "retired": QCoreApplication.translate("ArticleForm", "Retired")}.get(status, status)


def kind_label(kind: str) -> str:
    return {"ci": QCoreApplication.translate("ArticleForm", "CI"), "known_error": QCoreApplication.translate("ArticleForm", "Known error"),
            "incident": QCoreApplication.translate("ArticleForm", "Incident")}.get(kind, kind)


class ArticleForm(RecordForm):
    KIND = Kind.ARTICLE

    def build(self) -> None:
        self.setObjectName("articleForm")
        self.ref_label = header_label(QCoreApplication.translate("ArticleForm", "New article"))
        self.ref_label.setObjectName("refLabel")
        self.title_edit = QLineEdit()
        self.title_edit.setObjectName("titleEdit")
        self.title_edit.setPlaceholderText(QCoreApplication.translate("ArticleForm", "Title"))
        header = QHBoxLayout()
        header.addWidget(self.ref_label)
        header.addWidget(self.title_edit, 1)
        self.category = QLineEdit()
        self.category.setObjectName("categoryEdit")
        self.tags = QLineEdit()
        self.tags.setObjectName("tagsEdit")
        self.tags.setPlaceholderText(QCoreApplication.translate("ArticleForm", "vpn, remote access"))
        self.status = QLabel(status_label("draft"))
        self.status.setObjectName("statusLabel")
        self.meta = QLabel()
        self.meta.setObjectName("metaLabel")
        meta = QHBoxLayout()
        form = QFormLayout()
        form.addRow(QCoreApplication.translate("ArticleForm", "Cate&gory"), self.category)
        form.addRow(QCoreApplication.translate("ArticleForm", "T&ags"), self.tags)
        form2 = QFormLayout()
        form2.addRow(QCoreApplication.translate("ArticleForm", "Status"), self.status)
        form2.addRow("", self.meta)
        meta.addLayout(form, 2)
        meta.addLayout(form2, 1)

        self.body_edit = QPlainTextEdit()
        self.body_edit.setObjectName("bodyEdit")
        self.body_edit.setPlaceholderText(QCoreApplication.translate("ArticleForm", "Write Markdown: # heading, - list, **bold**, `code`"))
        self.preview = QTextBrowser()
        self.preview.setObjectName("bodyPreview")
        split = QSplitter()
        split.addWidget(self.body_edit)
        split.addWidget(self.preview)
        self._preview_timer = QTimer(self, singleShot=True, interval=250)
        self._preview_timer.timeout.connect(self.update_preview)
        self.body_edit.textChanged.connect(self._preview_timer.start)

        self.links = QListWidget()
        self.links.setObjectName("linksList")
        self.link_edit = QLineEdit()
        self.link_edit.setObjectName("linkEdit")
        self.link_edit.setPlaceholderText(QCoreApplication.translate("ArticleForm", "INC-…, KE-… or a CI name"))
        self.add_link_button = QPushButton(QCoreApplication.translate("ArticleForm", "&Add link"))
        self.remove_link_button = QPushButton(QCoreApplication.translate("ArticleForm", "&Remove"))
        links_tab = QWidget()
        lbar = QHBoxLayout()
        lbar.addWidget(self.link_edit, 1)
        lbar.addWidget(self.add_link_button)
        lbar.addWidget(self.remove_link_button)
        ll = QVBoxLayout(links_tab)
        ll.addLayout(lbar)
        ll.addWidget(self.links)
        self.add_link_button.clicked.connect(self.add_link)
        self.link_edit.returnPressed.connect(self.add_link)
        self.remove_link_button.clicked.connect(self.remove_link)
        self.links.itemActivated.connect(
            lambda item: self.ctx.open_record(item.data(ROLE)[0], item.data(ROLE)[1]))

        self.versions = QListWidget()
        self.versions.setObjectName("versionsList")
        self.version_view = QTextBrowser()
        self.version_view.setObjectName("versionView")
        vsplit = QSplitter()
        vsplit.addWidget(self.versions)
        vsplit.addWidget(self.version_view)
        vsplit.setSizes([260, 600])
        self.versions.currentItemChanged.connect(self._show_version)

        self.tabs = QTabWidget()
        self.tabs.addTab(split, QCoreApplication.translate("ArticleForm", "&Text"))
        self.tabs.addTab(links_tab, QCoreApplication.translate("ArticleForm", "&Links"))
        self.tabs.addTab(vsplit, QCoreApplication.translate("ArticleForm", "&Versions"))
        self.tabs.addTab(self.history, QCoreApplication.translate("ArticleForm", "&History"))
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addLayout(meta)
        layout.addWidget(self.tabs, 1)

        self.publish_button = QPushButton(QCoreApplication.translate("ArticleForm", "&Publish"))
        self.publish_button.setObjectName("publishButton")
        self.publish_button.clicked.connect(lambda: self.set_status("published"))
        self.retire_button = QPushButton(QCoreApplication.translate("ArticleForm", "Re&tire"))
        self.retire_button.setObjectName("retireButton")
        self.retire_button.clicked.connect(lambda: self.set_status("retired"))
        self.button_row.insertWidget(1, self.publish_button)
        self.button_row.insertWidget(2, self.retire_button)
        self.watch(self.title_edit, self.category, self.tags, self.body_edit)
        self.title_edit.textEdited.connect(lambda _t: self.sig_title_changed.emit(self.tab_title()))
        self._show_status("draft")

    def update_preview(self) -> None:
        self.preview.setMarkdown(self.body_edit.toPlainText())

    # -- reading -----------------------------------------------------------------------------------
    def load_call(self):  # noqa: ANN201
        return knowledge.article_view, (self.record_id,)

    def fill(self, data: knowledge.ArticleView) -> None:
        self.ref_label.setText(data.ref)
        self.title_edit.setText(data.title)
        self.category.setText(data.category or "")
        self.tags.setText(data.tags)
        self.body_edit.setPlainText(data.body)
        self.update_preview()
        self._preview_timer.stop()  # (shown now: the edit's textChanged asked for it again)
        self.meta.setText(QCoreApplication.translate("ArticleForm", "by {author}, version {version}").format(
            author=data.author or "—", version=data.version))
        self.links.clear()
        for link in data.links:
            item = QListWidgetItem(f"{kind_label(link.kind)}: {link.label}")
            item.setData(ROLE, (link.kind, link.id))
            self.links.addItem(item)
        self.versions.clear()
        for v in data.versions:
            item = QListWidgetItem(QCoreApplication.translate("ArticleForm", "v{n} · {at} · {who}\n{fields}").format(
                n=v.version, at=local_text(v.at), who=v.who or "—", fields=", ".join(v.changed)))
            item.setData(ROLE, v)
            self.versions.addItem(item)
        if self.versions.count():
            self.versions.setCurrentRow(0)
        self.tabs.setTabText(1, QCoreApplication.translate("ArticleForm", "&Links ({n})").format(n=len(data.links)))
        self._show_status(data.status)

    def _show_status(self, status: str) -> None:
        self.status.setText(status_label(status))
        self.publish_button.setEnabled(status != "published")
        self.retire_button.setEnabled(self.data is not None and status != "retired")

    def _show_version(self, item: QListWidgetItem | None, _prev: Any = None) -> None:
        if item is not None:
            v = item.data(ROLE)
            self.version_view.setMarkdown(f"# {v.title}\n\n_{v.tags}_\n\n{v.body}")

    def title(self) -> str:
        text = self.title_edit.text().strip() or QCoreApplication.translate("ArticleForm", "New article")
        return f"{self.data.ref} {text}" if self.data is not None else text

    # -- saving ------------------------------------------------------------------------------------
    def _values(self) -> dict[str, Any]:
        return {"title": self.title_edit.text().strip(), "body": self.body_edit.toPlainText(),
                "category": self.category.text().strip() or None,
                "tags": knowledge.normalise_tags(self.tags.text())}

    def edits(self) -> dict[str, Any]:
        values = self._values()
        if self.data is None:
            return {k: v for k, v in values.items() if v not in (None, "")}
        d = self.data
        was = {"title": d.title, "body": d.body, "category": d.category, "tags": d.tags}
        return {k: v for k, v in values.items() if v != was[k]}

    def save_call(self, edits: dict[str, Any]):  # noqa: ANN201
        return knowledge.save_article, (self.record_id, self.version, edits, self.ctx.actor,
                                        self.new_id)

    def saved_id(self, result: Any) -> Any:
        # a write queued right after the save (after_save) must name the version it made
        self.version = getattr(result, "version", self.version)
        return super().saved_id(result)

    # -- actions (each a write of its own) ----------------------------------------------------------
    def set_status(self, status: str) -> None:
        """Publish or retire the article (saved first when it has edits)."""
        if self.save_first(lambda: self.set_status(status)):
            return
        self.act(knowledge.set_status, self.record_id, self.version, status, self.ctx.actor,
                  done=lambda _a: self.say(QCoreApplication.translate("ArticleForm", "{ref} is {status} now.").format(
                      ref=self.data.ref if self.data else "",
                      status=status_label(status).lower())))

    def add_link(self) -> None:
        """Link the record (reference) or CI (name) typed in the box."""
        text = self.link_edit.text().strip()
        if not text or self.save_first(self.add_link):
            return
        self.act(knowledge.add_link_by_reference, self.record_id, text, self.ctx.actor,
                  self.version, done=lambda _k: self.link_edit.clear())

    def remove_link(self) -> None:
        item = self.links.currentItem()
        if item is None:
            return
        self._remove_link(*item.data(ROLE))

    def _remove_link(self, kind: str, target: Any) -> None:
        if self.save_first(lambda: self._remove_link(kind, target)):
            return
        self.act(knowledge.remove_link, self.record_id, kind, target, self.ctx.actor,
                  self.version)


def create_form(ctx, record_id, window, kind: str = "article") -> QWidget:  # noqa: ANN001
    return ArticleForm(ctx, record_id)
