"""The CI form: the CI's fields and the attributes of its class; its relations both ways (add,
remove); the open incidents, problems, known errors and changes touching it; its impact graph;
its history (with the relations bulk imports created from it).  Ctrl+S saves (version-checked);
adding and removing relations are writes of their own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from PySide6.QtCore import QCoreApplication, QStringListModel, Qt
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

from itsmdesk.kinds import Kind
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.services.cmdb import tree as cmdb_tree
from itsmdesk.views.cmdb.graph import ImpactGraphWidget
from itsmdesk.views.forms.base import RecordForm
from itsmdesk.views.forms.common import header_label
from itsmdesk.views.forms.history_view import HistoryView
from itsmdesk.words import word

ID_ROLE = Qt.ItemDataRole.UserRole + 1
TAB_DETAILS, TAB_RELATIONS, TAB_LINKED, TAB_IMPACT, TAB_HISTORY, TAB_SUBSCRIBERS = range(6)




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


def _id_text(value: Any) -> str | None:
    return None if value is None else str(value)


class CIHistoryView(HistoryView):
    """The shared History tab, reading the CI's history with the relations bulk imports created
    from it (``cmdb.tree.ci_history``: named_history plus those)."""

    def refresh(self) -> None:
        if self.record_id is None:
            self.show_entries([])
            return
        self.stale = False
        self.ctx.query(cmdb_tree.ci_history, self.record_id, on_done=self.show_entries,
                       key=f"history-ci-{self.record_id}", owner=self)


class CIForm(RecordForm):
    KIND = Kind.CI

    def build(self) -> Iterator[None]:
        """In steps (see RecordForm): the details, the relations, the rest."""
        self.setObjectName("ciForm")
        replaced, self.history = self.history, CIHistoryView(self.ctx, self.kind, self)
        replaced.hide()
        replaced.setParent(None)
        replaced.deleteLater()
        self.choices = cmdb_tree.CIChoices((), (), ())
        self._attr_edits: dict[str, QLineEdit] = {}
        self._impact_for: Any = None
        labels = {"planned": QCoreApplication.translate("CIForm", "Planned"), "in_production": QCoreApplication.translate("CIForm", "In production"),
                  "in_maintenance": QCoreApplication.translate("CIForm", "In maintenance"), "retired": QCoreApplication.translate("CIForm", "Retired"),
                  "low": QCoreApplication.translate("CIForm", "Low"), "medium": QCoreApplication.translate("CIForm", "Medium"), "high": QCoreApplication.translate("CIForm", "High"),
                  "critical": QCoreApplication.translate("CIForm", "Critical")}
        self.heading = header_label(QCoreApplication.translate("CIForm", "New CI"))
        self.heading.setObjectName("ciHeading")
        self.name = QLineEdit()
        self.name.setObjectName("ciName")
        self.ci_class = QComboBox()
        self.ci_class.setObjectName("ciClass")
        self.status = QComboBox()
        for s in cmdb.CI_STATUSES:
            self.status.addItem(labels[s], s)
        self.criticality = QComboBox()
        for c in cmdb.CRITICALITIES:
            self.criticality.addItem(labels[c], c)
        self.criticality.setCurrentIndex(self.criticality.findData("medium"))
        self.team = QComboBox()
        self.site = QComboBox()
        self.ci_version = QLineEdit()
        self.ci_version.setObjectName("ciVersion")
        self.vendor = QLineEdit()
        self.serial = QLineEdit()
        self.min_up = QSpinBox()
        self.min_up.setRange(0, 999)
        self.min_up.setSpecialValueText(QCoreApplication.translate("CIForm", "every dependency needed"))
        self.min_up.setToolTip(QCoreApplication.translate("CIForm", "Redundancy: the CI stays up while at least this many of "
                                  "its redundant dependencies are up"))
        self.description = QPlainTextEdit()
        self.description.setMaximumHeight(70)
        self.description.setTabChangesFocus(True)
        form = QFormLayout()
        form.addRow(QCoreApplication.translate("CIForm", "Name"), self.name)
        form.addRow(QCoreApplication.translate("CIForm", "Class"), self.ci_class)
        form.addRow(QCoreApplication.translate("CIForm", "Status"), self.status)
        form.addRow(QCoreApplication.translate("CIForm", "Criticality"), self.criticality)
        form.addRow(QCoreApplication.translate("CIForm", "Owner team"), self.team)
        form.addRow(QCoreApplication.translate("CIForm", "Site"), self.site)
        form.addRow(QCoreApplication.translate("CIForm", "Version"), self.ci_version)
        form.addRow(QCoreApplication.translate("CIForm", "Vendor"), self.vendor)
        form.addRow(QCoreApplication.translate("CIForm", "Serial"), self.serial)
        form.addRow(QCoreApplication.translate("CIForm", "Members that must stay up"), self.min_up)
        form.addRow(QCoreApplication.translate("CIForm", "Description"), self.description)
        self.attr_box = QGroupBox(QCoreApplication.translate("CIForm", "Class attributes"))
        self.attr_form = QFormLayout(self.attr_box)
        self.attr_box.hide()
        details = QWidget()
        left = QVBoxLayout(details)
        left.addLayout(form)
        left.addWidget(self.attr_box)
        left.addStretch(1)
        yield
        # relations
        self.relations = _table([QCoreApplication.translate("CIForm", "Direction"), QCoreApplication.translate("CIForm", "Relation"), QCoreApplication.translate("CIForm", "CI"), QCoreApplication.translate("CIForm", "Class"),
                                 QCoreApplication.translate("CIForm", "Redundant")])
        self.relations.setObjectName("ciRelations")
        self.rel_type = QComboBox()
        for t in cmdb.RELATION_TYPES:
            self.rel_type.addItem(word(t), t)
        self.rel_target = QLineEdit()
        self.rel_target.setObjectName("relationTarget")
        self.rel_target.setPlaceholderText(QCoreApplication.translate("CIForm", "CI name"))
        self._completions = QStringListModel(self)
        completer = QCompleter(self._completions, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.rel_target.setCompleter(completer)
        self.rel_redundant = QCheckBox(QCoreApplication.translate("CIForm", "redundant"))
        self.add_rel_button = QPushButton(QCoreApplication.translate("CIForm", "Add"))
        self.add_rel_button.setObjectName("addRelationButton")
        self.remove_rel_button = QPushButton(QCoreApplication.translate("CIForm", "Remove selected"))
        self.remove_rel_button.setObjectName("removeRelationButton")
        self.add_rel_button.clicked.connect(self.add_relation)
        from itsmdesk.views.signin import gate

        gate(self.add_rel_button, self.ctx, "ci.edit")
        gate(self.save_button, self.ctx, "ci.edit", self.save_button.toolTip())
        self.rel_target.returnPressed.connect(self.add_relation)
        self.remove_rel_button.clicked.connect(self.remove_relation)
        self.rel_target.textEdited.connect(self._complete)
        rel_bar = QHBoxLayout()
        rel_bar.addWidget(QLabel(QCoreApplication.translate("CIForm", "This CI")))
        rel_bar.addWidget(self.rel_type)
        rel_bar.addWidget(self.rel_target, 1)
        rel_bar.addWidget(self.rel_redundant)
        rel_bar.addWidget(self.add_rel_button)
        rel_bar.addWidget(self.remove_rel_button)
        rel_page = QWidget()
        rel_layout = QVBoxLayout(rel_page)
        rel_layout.addWidget(self.relations, 1)
        rel_layout.addLayout(rel_bar)
        self.relations.doubleClicked.connect(self._open_related)
        yield
        # linked records
        self.linked = _table([QCoreApplication.translate("CIForm", "Reference"), QCoreApplication.translate("CIForm", "Kind"), QCoreApplication.translate("CIForm", "Title"), QCoreApplication.translate("CIForm", "Status")])
        self.linked.setObjectName("ciLinked")
        self.linked.doubleClicked.connect(self._open_linked)
        # impact: read when its tab is first shown
        self.impact = ImpactGraphWidget(self.ctx, parent=self)
        self.tabs = QTabWidget()
        self.tabs.addTab(details, QCoreApplication.translate("CIForm", "Details"))
        self.tabs.addTab(rel_page, QCoreApplication.translate("CIForm", "Relations"))
        self.tabs.addTab(self.linked, QCoreApplication.translate("CIForm", "Open records"))
        self.tabs.addTab(self.impact, QCoreApplication.translate("CIForm", "Impact"))
        self.tabs.addTab(self.history, QCoreApplication.translate("CIForm", "History"))
        # a business service: who gets its outage announcements by mail (views/mail)
        from itsmdesk.views.mail.subscribers import SubscribersWidget

        self.subscribers = SubscribersWidget(self.ctx, self)
        self.tabs.addTab(self.subscribers, QCoreApplication.translate("CIForm", "Subscribers"))
        self.tabs.setTabVisible(TAB_SUBSCRIBERS, False)
        self.subscribers.availability.connect(
            lambda on: self.tabs.setTabVisible(TAB_SUBSCRIBERS, on))
        self.subscribers.counted.connect(lambda n: self.tabs.setTabText(
            TAB_SUBSCRIBERS, QCoreApplication.translate("CIForm", "Subscribers ({n})").format(n=n)))
        self.tabs.currentChanged.connect(lambda _i: self._show_impact())
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.tabs, 1)
        self.ci_class.currentIndexChanged.connect(lambda _i: self._class_changed())
        self.watch(self.name, self.ci_class, self.status, self.criticality, self.team, self.site,
                   self.ci_version, self.vendor, self.serial, self.min_up, self.description)
        self.name.textEdited.connect(lambda _t: self.sig_title_changed.emit(self.tab_title()))
        self._enable_tabs(False)

    # -- reading -----------------------------------------------------------------------------------
    def load_call(self):  # noqa: ANN201
        return cmdb_tree.ci_view, (self.record_id,)

    def new_call(self):  # noqa: ANN201
        return cmdb_tree.ci_choices, ()

    def _set_choices(self, choices: cmdb_tree.CIChoices) -> None:
        self.choices = choices
        self.ci_class.clear()
        for c in choices.classes:
            self.ci_class.addItem(c.label, c.name)
        for combo, items in ((self.team, choices.teams), (self.site, choices.sites)):
            combo.clear()
            combo.addItem(QCoreApplication.translate("CIForm", "(none)"), None)
            for item_id, label in items:
                combo.addItem(label, str(item_id))

    @staticmethod
    def _set_combo(combo: QComboBox, value: Any) -> None:
        combo.setCurrentIndex(max(combo.findData(value), 0))

    def show_new(self, data: cmdb_tree.CIChoices | None = None) -> None:
        self._set_choices(data or cmdb_tree.CIChoices((), (), ()))
        self._build_attributes({})

    def fill(self, data: cmdb_tree.CIView) -> None:
        self._set_choices(data.choices)
        self.heading.setText(data.name)
        self.name.setText(data.name)
        self._set_combo(self.ci_class, data.class_name)
        self._set_combo(self.status, data.status)
        self._set_combo(self.criticality, data.criticality)
        self._set_combo(self.team, _id_text(data.owner_team_id))
        self._set_combo(self.site, _id_text(data.site_id))
        self.ci_version.setText(data.ci_version or "")
        self.vendor.setText(data.vendor or "")
        self.serial.setText(data.serial or "")
        self.min_up.setValue(data.min_members_up or 0)
        self.description.setPlainText(data.description or "")
        self._build_attributes(data.attribute_texts)
        dirs = {"out": QCoreApplication.translate("CIForm", "this CI →"), "in": QCoreApplication.translate("CIForm", "→ this CI")}
        _fill(self.relations, [(dirs[r.direction], word(r.type), r.other_name, r.other_class,
                                QCoreApplication.translate("CIForm", "yes") if r.redundant else "") for r in data.relations],
              [(r.relation_id, r.other_id, r.version) for r in data.relations])
        kinds = {"incident": QCoreApplication.translate("CIForm", "Incident"), "problem": QCoreApplication.translate("CIForm", "Problem"),
                 "known_error": QCoreApplication.translate("CIForm", "Known error"), "change": QCoreApplication.translate("CIForm", "Change")}
        _fill(self.linked, [(r.ref, kinds[r.kind], r.title, word(r.status)) for r in data.linked],
              [(r.kind, r.id) for r in data.linked])
        self.tabs.setTabText(TAB_RELATIONS, QCoreApplication.translate("CIForm", "Relations ({n})").format(n=len(data.relations)))
        self.tabs.setTabText(TAB_LINKED, QCoreApplication.translate("CIForm", "Open records ({n})").format(n=len(data.linked)))
        self._enable_tabs(True)
        self._impact_for = None  # read again when its tab shows
        self.subscribers.set_service(data.id)
        self._show_impact()

    def _enable_tabs(self, enabled: bool) -> None:
        for index in (TAB_RELATIONS, TAB_LINKED, TAB_IMPACT, TAB_HISTORY):
            self.tabs.setTabEnabled(index, enabled)

    def _show_impact(self) -> None:
        if self.data is None or self.tabs.currentIndex() != TAB_IMPACT:
            return
        key = (self.data.id, self.data.version)
        if self._impact_for != key:
            self._impact_for = key
            self.impact.set_ci(self.data.id, self.data.name)

    def _class_changed(self) -> None:
        if self._filling:
            return
        self._build_attributes({k: e.text() for k, e in self._attr_edits.items()})

    def _build_attributes(self, values: dict[str, str]) -> None:
        """Editors for the attributes of the class chosen (from the choices read with the
        form: no database)."""
        while self.attr_form.rowCount():
            self.attr_form.removeRow(0)
        self._attr_edits = {}
        chosen = self.choices.class_named(self.ci_class.currentData())
        specs = chosen.attributes if chosen is not None else ()
        for spec in specs:
            edit = QLineEdit(values.get(spec.name, ""))
            edit.setObjectName(f"attribute_{spec.name}")
            edit.setPlaceholderText(spec.type)
            self.watch(edit)
            self.attr_form.addRow(spec.label, edit)
            self._attr_edits[spec.name] = edit
        self.attr_box.setVisible(bool(specs))

    def title(self) -> str:
        return self.name.text().strip() or (self.data.name if self.data is not None
                                            else QCoreApplication.translate("CIForm", "New CI"))

    # -- saving ------------------------------------------------------------------------------------
    def _values(self) -> dict[str, Any]:
        return {"name": self.name.text().strip(), "ci_class": self.ci_class.currentData(),
                "status": self.status.currentData(), "criticality": self.criticality.currentData(),
                "owner_team": self.team.currentData(), "site": self.site.currentData(),
                "ci_version": self.ci_version.text().strip() or None,
                "vendor": self.vendor.text().strip() or None,
                "serial": self.serial.text().strip() or None,
                "min_members_up": self.min_up.value() or None,
                "description": self.description.toPlainText().strip() or None,
                "attributes": {k: e.text().strip() for k, e in self._attr_edits.items()
                               if e.text().strip()}}

    def edits(self) -> dict[str, Any]:
        values = self._values()
        if self.data is None:
            return {k: v for k, v in values.items() if v not in (None, "", {})}
        d = self.data
        was = {"name": d.name, "ci_class": d.class_name, "status": d.status,
               "criticality": d.criticality, "owner_team": _id_text(d.owner_team_id),
               "site": _id_text(d.site_id), "ci_version": d.ci_version, "vendor": d.vendor,
               "serial": d.serial, "min_members_up": d.min_members_up,
               "description": d.description, "attributes": d.attribute_texts}
        out = {k: v for k, v in values.items() if v != was[k]}
        if "ci_class" in out:  # the attributes are typed against the new class
            out["attributes"] = values["attributes"]
        return out

    def save_call(self, edits: dict[str, Any]):  # noqa: ANN201
        return cmdb.save_ci, (self.record_id, self.version, edits, self.ctx.actor, self.new_id)

    def describe_value(self, field: str, value: Any) -> str:
        if field in ("owner_team", "site"):
            items = dict((str(i), n) for i, n in (self.choices.teams if field == "owner_team"
                                                  else self.choices.sites))
            return items.get(str(value), "") if value else ""
        if field == "ci_class":
            chosen = self.choices.class_named(value)
            return chosen.label if chosen is not None else str(value or "")
        if field == "attributes":
            return ", ".join(f"{k}: {v}" for k, v in (value or {}).items())
        if field in ("status", "criticality"):
            return word(value)
        return super().describe_value(field, value)

    # -- relations (writes of their own) -------------------------------------------------------------
    def _complete(self, text: str) -> None:
        if len(text.strip()) < 2:
            return
        self.ctx.query(cmdb_tree.find_cis, text, 30, key=f"ci-form-complete-{id(self)}",
                       owner=self, on_done=self._show_completions)

    def _show_completions(self, nodes: list) -> None:
        names = [n.label for n in nodes if self.data is None or n.label != self.data.name]
        if names != self._completions.stringList():
            self._completions.setStringList(names)
            if self.rel_target.hasFocus():
                self.rel_target.completer().complete()

    def add_relation(self) -> None:
        """This CI <type> the CI named in the box."""
        target = self.rel_target.text().strip()
        if not target or self.save_first(self.add_relation):
            return
        self.act(cmdb.create_relation_from, self.record_id, self.rel_type.currentData(), target,
                  self.ctx.actor, self.rel_redundant.isChecked(),
                  done=lambda _r: self.rel_target.clear())

    def remove_relation(self) -> None:
        """Remove the selected relations (each at the version the form shows)."""
        rows = sorted({i.row() for i in self.relations.selectionModel().selectedRows()})
        if not rows:
            return
        answer = QMessageBox.question(self, QCoreApplication.translate("CIForm", "Remove relations"),
                                      QCoreApplication.translate("CIForm", "Remove {n} relation(s)?").format(n=len(rows)))
        if answer != QMessageBox.StandardButton.Yes:
            return
        versions = {}
        for row in rows:
            relation_id, _other, version = self.relations.item(row, 0).data(ID_ROLE)
            versions[relation_id] = version
        self._remove_relations(versions)

    def _remove_relations(self, versions: dict[Any, int]) -> None:
        if self.save_first(lambda: self._remove_relations(versions)):
            return
        self.act(cmdb.delete_relations, versions, self.ctx.actor)

    def _open_related(self, index) -> None:  # noqa: ANN001
        data = self.relations.item(index.row(), 0).data(ID_ROLE)
        if data:
            self.ctx.open_record("ci", data[1])

    def _open_linked(self, index) -> None:  # noqa: ANN001
        data = self.linked.item(index.row(), 0).data(ID_ROLE)
        if data:
            self.ctx.open_record(data[0], data[1])


def create_form(ctx, record_id, window, kind: str = "ci") -> QWidget:  # noqa: ANN001
    return CIForm(ctx, record_id)
