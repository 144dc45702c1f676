"""Knowledge article form: Markdown body with a live preview, category, tags, status, links to
CIs / known errors / incidents, and the versions rebuilt from the journal."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
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

from itsmdesk.services.knowledge import articles as knowledge
from itsmdesk.views.forms.common import RecordForm, confirm_close, save_failed, saved
from itsmdesk.views.messages import show_error

ROLE = Qt.ItemDataRole.UserRole


class ArticleForm(RecordForm):
    def __init__(self, ctx, record_id: Any = None, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(ctx, record_id, parent)
        self.ref = ""
        self._dirty = False
        self.setObjectName("articleForm")
        header = self.title_header(self.tr("New article"), self.tr("Title"))
        self.category = QLineEdit()
        self.tags = QLineEdit()
        self.tags.setObjectName("tagsEdit")
        self.tags.setPlaceholderText(self.tr("vpn, remote access"))
        self.status = QComboBox()
        for key, label in (("draft", self.tr("Draft")), ("published", self.tr("Published")),
                           ("retired", self.tr("Retired"))):
            self.status.addItem(label, key)
        self.meta = QLabel()
        meta = QHBoxLayout()
        form = QFormLayout()
        form.addRow(self.tr("Cate&gory"), self.category)
        form.addRow(self.tr("T&ags"), self.tags)
        form2 = QFormLayout()
        form2.addRow(self.tr("Stat&us"), self.status)
        form2.addRow("", self.meta)
        meta.addLayout(form, 2)
        meta.addLayout(form2, 1)

        self.body = QPlainTextEdit()
        self.body.setObjectName("bodyEdit")
        self.body.setPlaceholderText(self.tr("Write Markdown: # heading, - list, **bold**, `code`"))
        self.preview = QTextBrowser()
        self.preview.setObjectName("bodyPreview")
        split = QSplitter()
        split.addWidget(self.body)
        split.addWidget(self.preview)
        self._preview_timer = QTimer(self, singleShot=True, interval=250)
        self._preview_timer.timeout.connect(self.update_preview)
        self.body.textChanged.connect(self._preview_timer.start)
        self.body.textChanged.connect(self._mark_dirty)

        self.links = QListWidget()
        self.links.setObjectName("linksList")
        self.link_edit = QLineEdit()
        self.link_edit.setPlaceholderText(self.tr("INC-…, KE-… or a CI name"))
        add = QPushButton(self.tr("&Add link"))
        remove = QPushButton(self.tr("&Remove"))
        links_tab = QWidget()
        lbar = QHBoxLayout()
        lbar.addWidget(self.link_edit, 1)
        lbar.addWidget(add)
        lbar.addWidget(remove)
        ll = QVBoxLayout(links_tab)
        ll.addLayout(lbar)
        ll.addWidget(self.links)
        add.clicked.connect(self.add_link)
        self.link_edit.returnPressed.connect(self.add_link)
        remove.clicked.connect(self.remove_link)
        self.links.itemActivated.connect(
            lambda item: self.ctx.open_record(item.data(ROLE)[0], item.data(ROLE)[1]))

        self.versions = QListWidget()
        self.versions.setObjectName("versionsList")
        self.version_view = QTextBrowser()
        vsplit = QSplitter()
        vsplit.addWidget(self.versions)
        vsplit.addWidget(self.version_view)
        vsplit.setSizes([260, 600])
        self.versions.currentItemChanged.connect(self._show_version)

        self.tabs = QTabWidget()
        self.tabs.addTab(split, self.tr("&Text"))
        self.tabs.addTab(links_tab, self.tr("&Links"))
        self.tabs.addTab(vsplit, self.tr("&Versions"))

        self.message = QLabel()
        self.save_button = QPushButton(self.tr("&Save"))
        self.save_button.setDefault(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(meta)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(buttons)
        self.save_button.clicked.connect(self.save)
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save)
        for w in (self.title_edit, self.category, self.tags):
            w.textEdited.connect(self._mark_dirty)
        self.title_edit.textEdited.connect(lambda _t: self.sig_title_changed.emit(self.title()))
        if record_id is not None:
            self.reload()
        self._dirty = False

    def _mark_dirty(self, *_a: Any) -> None:
        self._dirty = True

    def update_preview(self) -> None:
        self.preview.setMarkdown(self.body.toPlainText())

    def reload(self) -> None:
        def load(article_id: Any) -> dict[str, Any]:
            return {"article": knowledge.preview(article_id), "links": knowledge.links_of(article_id),
                    "versions": knowledge.versions(article_id)}

        self.ctx.worker.submit(load, self.record_id, on_done=self._show,
                               on_error=lambda e: show_error(self, e), key=f"article-{id(self)}")

    def _show(self, data: dict[str, Any]) -> None:
        a = data["article"]
        self.record_id, self.version, self.ref = a["id"], a["version"], a["ref"]
        self.ref_label.setText(a["ref"])
        self.title_edit.setText(a["title"])
        self.category.setText(a["category"])
        self.tags.setText(a["tags"])
        self.status.setCurrentIndex(max(0, self.status.findData(a["status"])))
        self.body.setPlainText(a["body"])
        self.update_preview()
        self.meta.setText(self.tr("by {author}, version {version}").format(
            author=a["author"] or "—", version=a["version"]))
        self.links.clear()
        for link in data["links"]:
            item = QListWidgetItem(f"{link['kind'].replace('_', ' ')}: {link['label']}")
            item.setData(ROLE, (link["kind"], link["id"]))
            self.links.addItem(item)
        self.versions.clear()
        for v in data["versions"]:
            item = QListWidgetItem(self.tr("v{n} · {at} · {who}\n{fields}").format(
                n=v.version, at=v.at.strftime("%Y-%m-%d %H:%M") if v.at else "",
                who=v.who or "—", fields=", ".join(v.changed)))
            item.setData(ROLE, v)
            self.versions.addItem(item)
        self._dirty = False
        self.sig_title_changed.emit(self.title())

    def _show_version(self, item: QListWidgetItem | None, _prev: Any = None) -> None:
        if item is not None:
            v = item.data(ROLE)
            self.version_view.setMarkdown(f"# {v.title}\n\n_{v.tags}_\n\n{v.body}")

    def title(self) -> str:
        text = self.title_edit.text().strip() or self.tr("New article")
        return f"{self.ref} {text}" if self.ref else text

    def save(self) -> bool:
        values = {"title": self.title_edit.text().strip(), "body": self.body.toPlainText(),
                  "category": self.category.text().strip() or None,
                  "tags": knowledge.normalise_tags(self.tags.text()),
                  "status": self.status.currentData()}
        try:
            if self.record_id is None:
                values["author"] = self.ctx.actor.person_id
                article = knowledge.create_article(values, self.ctx.actor)
            else:
                article = knowledge.update_article(self.record_id, self.version, values,
                                                   self.ctx.actor)
        except Exception as exc:  # noqa: BLE001 - shown to the person
            return save_failed(self, exc)
        return saved(self, "article", article)

    def add_link(self) -> None:
        text = self.link_edit.text().strip()
        if not text or ((self._dirty or self.record_id is None) and not self.save()):
            return
        try:
            from itsmdesk.services.lookup import find_by_reference

            kind, record = find_by_reference(text)
            knowledge.add_link(self.record_id, kind, record.id, self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return
        self.link_edit.clear()
        self.reload()

    def remove_link(self) -> None:
        item = self.links.currentItem()
        if item is None:
            return
        kind, target = item.data(ROLE)
        try:
            knowledge.remove_link(self.record_id, kind, target, self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
        self.reload()

    def can_close(self) -> bool:
        return confirm_close(self, self._dirty, self.tr("Save the changes to this article?"), self.save)


def create_form(ctx, record_id, window, kind: str = "article") -> QWidget:  # noqa: ANN001
    return ArticleForm(ctx, record_id)
