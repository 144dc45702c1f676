"""The CI form: the CI's fields and the attributes of its class; its relations both ways (add,
remove); the open incidents, problems, known errors and changes touching it; its impact graph;
its history from the journal.  Ctrl+S saves (version-checked)."""

from __future__ import annotations

import uuid
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.errors import ConflictError
from itsmdesk.models.cmdb import CI_STATUSES, CRITICALITIES, RELATION_TYPES
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.cmdb import tree as cmdb_tree
from itsmdesk.views.cmdb.graph import ImpactGraphWidget
from itsmdesk.views.forms.common import RecordForm
from itsmdesk.views.messages import show_error
from itsmdesk.words import word

ID_ROLE = Qt.ItemDataRole.UserRole + 1


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(24)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: list[tuple], ids: list[Any] | None = None) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            item = QTableWidgetItem("" if value is None else str(value))
            if ids is not None and c == 0:
                item.setData(ID_ROLE, ids[r])
            table.setItem(r, c, item)


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


class CIForm(RecordForm):
    def __init__(self, ctx, record_id: Any = None, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(ctx, record_id, parent)
        self.ci_name = ""
        self._dirty = False
        self._attr_edits: dict[str, QWidget] = {}
        self.setObjectName("ciForm")
        labels = {"planned": self.tr("Planned"), "in_production": self.tr("In production"),
                  "in_maintenance": self.tr("In maintenance"), "retired": self.tr("Retired"),
                  "low": self.tr("Low"), "medium": self.tr("Medium"), "high": self.tr("High"),
                  "critical": self.tr("Critical")}
        self.heading = QLabel(self.tr("New CI"))
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.heading.setFont(font)
        self.name = QLineEdit()
        self.name.setObjectName("ciName")
        self.ci_class = QComboBox()
        self.status = QComboBox()
        for s in CI_STATUSES:
            self.status.addItem(labels[s], s)
        self.criticality = QComboBox()
        for c in CRITICALITIES:
            self.criticality.addItem(labels[c], c)
        self.team = QComboBox()
        self.site = QComboBox()
        self.ci_version = QLineEdit()
        self.ci_version.setObjectName("ciVersion")
        self.vendor = QLineEdit()
        self.serial = QLineEdit()
        self.min_up = QSpinBox()
        self.min_up.setRange(0, 999)
        self.min_up.setSpecialValueText(self.tr("every dependency needed"))
        self.min_up.setToolTip(self.tr("Redundancy: the CI stays up while at least this many of "
                                       "its redundant dependencies are up"))
        self.description = QPlainTextEdit()
        self.description.setMaximumHeight(70)
        choices = cmdb_tree.choices()
        for name, label in choices["classes"]:
            self.ci_class.addItem(label, name)
        self.team.addItem(self.tr("(none)"), None)
        for tid, label in choices["teams"]:
            self.team.addItem(label, str(tid))
        self.site.addItem(self.tr("(none)"), None)
        for sid, label in choices["sites"]:
            self.site.addItem(label, str(sid))
        form = QFormLayout()
        form.addRow(self.tr("Name"), self.name)
        form.addRow(self.tr("Class"), self.ci_class)
        form.addRow(self.tr("Status"), self.status)
        form.addRow(self.tr("Criticality"), self.criticality)
        form.addRow(self.tr("Owner team"), self.team)
        form.addRow(self.tr("Site"), self.site)
        form.addRow(self.tr("Version"), self.ci_version)
        form.addRow(self.tr("Vendor"), self.vendor)
        form.addRow(self.tr("Serial"), self.serial)
        form.addRow(self.tr("Members that must stay up"), self.min_up)
        form.addRow(self.tr("Description"), self.description)
        self.attr_box = QGroupBox(self.tr("Class attributes"))
        self.attr_form = QFormLayout(self.attr_box)
        self.save_button = QPushButton(self.tr("Save (Ctrl+S)"))
        self.save_button.clicked.connect(self.save)
        details = QWidget()
        left = QVBoxLayout(details)
        left.addLayout(form)
        left.addWidget(self.attr_box)
        left.addStretch(1)
        # relations
        self.relations = _table([self.tr("Direction"), self.tr("Relation"), self.tr("CI"),
                                 self.tr("Class"), self.tr("Redundant")])
        self.relations.setObjectName("ciRelations")
        self.rel_type = QComboBox()
        for t in RELATION_TYPES:
            self.rel_type.addItem(word(t), t)
        self.rel_target = QLineEdit()
        self.rel_target.setPlaceholderText(self.tr("CI name"))
        self._completer_names: list[str] = []
        self.rel_redundant = QCheckBox(self.tr("redundant"))
        add_rel = QPushButton(self.tr("Add"))
        remove_rel = QPushButton(self.tr("Remove selected"))
        add_rel.clicked.connect(self.add_relation)
        remove_rel.clicked.connect(self.remove_relation)
        self.rel_target.textEdited.connect(self._complete)
        rel_bar = QHBoxLayout()
        rel_bar.addWidget(QLabel(self.tr("This CI")))
        rel_bar.addWidget(self.rel_type)
        rel_bar.addWidget(self.rel_target, 1)
        rel_bar.addWidget(self.rel_redundant)
        rel_bar.addWidget(add_rel)
        rel_bar.addWidget(remove_rel)
        rel_page = QWidget()
        rel_layout = QVBoxLayout(rel_page)
        rel_layout.addWidget(self.relations, 1)
        rel_layout.addLayout(rel_bar)
        self.relations.doubleClicked.connect(self._open_related)
        # linked records
        self.linked = _table([self.tr("Reference"), self.tr("Kind"), self.tr("Title"),
                              self.tr("Status")])
        self.linked.setObjectName("ciLinked")
        self.linked.doubleClicked.connect(self._open_linked)
        # impact
        self.impact = ImpactGraphWidget(ctx, parent=self)
        # history
        self.history = _table([self.tr("When (UTC)"), self.tr("Who"), self.tr("Field"),
                               self.tr("Old"), self.tr("New")])
        self.history.setObjectName("ciHistory")
        self.tabs = QTabWidget()
        self.tabs.addTab(details, self.tr("Details"))
        self.tabs.addTab(rel_page, self.tr("Relations"))
        self.tabs.addTab(self.linked, self.tr("Open records"))
        self.tabs.addTab(self.impact, self.tr("Impact"))
        self.tabs.addTab(self.history, self.tr("History"))
        header = QHBoxLayout()
        header.addWidget(self.heading, 1)
        header.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.tabs, 1)
        QShortcut(QKeySequence("Ctrl+S"), self, self.save,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.ci_class.currentIndexChanged.connect(lambda _i: self._build_attributes({}))
        for w in (self.name, self.ci_version, self.vendor, self.serial):
            w.textEdited.connect(self._mark_dirty)
        for w in (self.ci_class, self.status, self.criticality, self.team, self.site):
            w.activated.connect(self._mark_dirty)
        self.min_up.valueChanged.connect(self._mark_dirty)
        self.description.textChanged.connect(self._mark_dirty)
        self.name.textEdited.connect(lambda _t: self.sig_title_changed.emit(self.title()))
        if record_id is not None:
            self.load()
        else:
            self._build_attributes({})
            self.tabs.setTabEnabled(1, False)
            self.tabs.setTabEnabled(2, False)
            self.tabs.setTabEnabled(3, False)
            self.tabs.setTabEnabled(4, False)
        self._dirty = False

    # -- loading -------------------------------------------------------------------------------
    def load(self) -> None:
        self.ctx.worker.submit(cmdb_tree.ci_detail, self.record_id, on_done=self._show,
                               key=f"ci-form-{self.record_id}")

    def _show(self, detail: cmdb_tree.CIDetail) -> None:
        ci = detail.ci
        self.record_id, self.version, self.ci_name = ci.id, ci.version, ci.name
        self.heading.setText(ci.name)
        self.name.setText(ci.name)
        self._set_combo(self.ci_class, detail.ci_class.name)
        self._set_combo(self.status, ci.status)
        self._set_combo(self.criticality, ci.criticality)
        self._set_combo(self.team, str(ci.owner_team_id) if ci.owner_team_id else None)
        self._set_combo(self.site, str(ci.site_id) if ci.site_id else None)
        self.ci_version.setText(ci.ci_version or "")
        self.vendor.setText(ci.vendor or "")
        self.serial.setText(ci.serial or "")
        self.min_up.setValue(ci.min_members_up or 0)
        self.description.setPlainText(ci.description or "")
        self._build_attributes(ci.attributes or {})
        dirs = {"out": self.tr("this CI →"), "in": self.tr("→ this CI")}
        _fill(self.relations, [(dirs[r.direction], word(r.type), r.other_name,
                                r.other_class, self.tr("yes") if r.redundant else "")
                               for r in detail.relations],
              [(r.relation_id, r.other_id) for r in detail.relations])
        kinds = {"incident": self.tr("Incident"), "problem": self.tr("Problem"),
                 "known_error": self.tr("Known error"), "change": self.tr("Change")}
        _fill(self.linked, [(r.ref, kinds[r.kind], r.title, word(r.status))
                            for r in detail.linked], [(r.kind, r.id) for r in detail.linked])
        _fill(self.history, [(h.at, h.who, h.field, h.old, h.new) for h in detail.history])
        self.tabs.setTabText(1, self.tr("Relations ({n})").format(n=len(detail.relations)))
        self.tabs.setTabText(2, self.tr("Open records ({n})").format(n=len(detail.linked)))
        self.impact.set_ci(ci.id, ci.name)
        self._dirty = False
        self.sig_title_changed.emit(self.title())

    @staticmethod
    def _set_combo(combo: QComboBox, value: Any) -> None:
        index = combo.findData(value)
        combo.setCurrentIndex(max(index, 0))

    def _build_attributes(self, values: dict[str, Any]) -> None:
        while self.attr_form.rowCount():
            self.attr_form.removeRow(0)
        self._attr_edits = {}
        from itsmdesk.services.cmdb.cis import get_class

        name = self.ci_class.currentData()
        if not name:
            return
        spec = get_class(name).attributes or []
        for attr in spec:
            edit = QLineEdit("" if values.get(attr["name"]) is None else str(values[attr["name"]]))
            edit.setPlaceholderText(attr.get("type", "text"))
            edit.textEdited.connect(self._mark_dirty)
            self.attr_form.addRow(attr.get("label") or attr["name"], edit)
            self._attr_edits[attr["name"]] = edit
        self.attr_box.setVisible(bool(spec))

    # -- editing -------------------------------------------------------------------------------
    def _mark_dirty(self, *_args) -> None:  # noqa: ANN002
        self._dirty = True

    def values(self) -> dict[str, Any]:
        return {"name": self.name.text().strip(), "ci_class": self.ci_class.currentData(),
                "status": self.status.currentData(), "criticality": self.criticality.currentData(),
                "owner_team": _uuid_or_none(self.team.currentData()),
                "site": _uuid_or_none(self.site.currentData()),
                "ci_version": self.ci_version.text().strip() or None,
                "vendor": self.vendor.text().strip() or None,
                "serial": self.serial.text().strip() or None,
                "min_members_up": self.min_up.value() or None,
                "description": self.description.toPlainText().strip() or None,
                "attributes": {k: e.text().strip() for k, e in self._attr_edits.items()
                               if e.text().strip()}}

    def save(self) -> bool:
        try:
            if self.record_id is None:
                ci = cmdb.create_ci(self.values(), self.ctx.actor)
                for i in range(1, 5):
                    self.tabs.setTabEnabled(i, True)
            else:
                ci = cmdb.update_ci(self.record_id, self.version, self.values(), self.ctx.actor)
        except ConflictError as exc:
            show_error(self, exc)
            return False
        except Exception as exc:  # noqa: BLE001 - shown to the person
            show_error(self, exc)
            return False
        self.record_id = ci.id
        self._dirty = False
        self.ctx.records_changed("ci", [ci.id])
        self.load()
        return True

    def _complete(self, text: str) -> None:
        if len(text) < 2:
            return
        names = [n.label for n in cmdb_tree.find_cis(text, 30)]
        if names != self._completer_names:
            self._completer_names = names
            completer = QCompleter(names, self)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            self.rel_target.setCompleter(completer)
            completer.complete()

    def add_relation(self) -> None:
        if self.record_id is None:
            return
        try:
            cmdb.create_relation(cmdb.get_ci_by_name(self.ci_name), self.rel_type.currentData(),
                                 self.rel_target.text().strip(), self.ctx.actor,
                                 redundant=self.rel_redundant.isChecked())
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return
        self.rel_target.clear()
        self.ctx.records_changed("relation", [])
        self.load()

    def remove_relation(self) -> None:
        rows = {i.row() for i in self.relations.selectionModel().selectedRows()}
        if not rows:
            return
        answer = QMessageBox.question(self, self.tr("Remove relations"),
                                      self.tr("Remove {n} relation(s)?").format(n=len(rows)))
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            for row in rows:
                cmdb.delete_relation(self.relations.item(row, 0).data(ID_ROLE)[0], self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
        self.ctx.records_changed("relation", [])
        self.load()

    def _open_related(self, index) -> None:  # noqa: ANN001
        data = self.relations.item(index.row(), 0).data(ID_ROLE)
        if data:
            self.ctx.open_record("ci", data[1])

    def _open_linked(self, index) -> None:  # noqa: ANN001
        data = self.linked.item(index.row(), 0).data(ID_ROLE)
        if data:
            self.ctx.open_record(data[0], data[1])

    # -- tab protocol ----------------------------------------------------------------------------
    def title(self) -> str:
        return self.ci_name or self.name.text() or self.tr("New CI")

    def can_close(self) -> bool:
        if not self._dirty:
            return True
        answer = QMessageBox.question(
            self, self.tr("Unsaved changes"), self.tr("Save the changes to {name}?").format(
                name=self.title()),
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard


def create_form(ctx, record_id, window, kind: str = "ci") -> QWidget:  # noqa: ANN001
    return CIForm(ctx, record_id, window)
