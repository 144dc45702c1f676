"""Release form: fields, bundled changes (with their approval roll-up), the plan as a table and
a Gantt chart, the definitive media library, status moves, "Deploy wave" and the history.

It reads one read model (``releases.release_view``) and saves with one call
(``releases.save_release``); every other action is a write at the version the form holds (the
release's, or the plan step's)."""

from __future__ import annotations

import datetime as dt
import uuid
from html import escape
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.i18n import reason_text
from itsmdesk.kinds import Kind
from itsmdesk.services.clock import utcnow
from itsmdesk.services.release import dml, releases
from itsmdesk.services.release import lifecycle as release_lifecycle
from itsmdesk.services.release import plan as release_plan
from itsmdesk.views.changes.form_actions import FormActions
from itsmdesk.views.forms.base import RecordForm
from itsmdesk.views.releases.editors import DateTimeField, StepDialog
from itsmdesk.views.releases.gantt import GanttView
from itsmdesk.views.timefmt import local_text
from itsmdesk.words import word

RISK_COLOURS = {"low": "#15803d", "medium": "#b45309", "high": "#c2410c", "very_high": "#b91c1c"}
STEP_STATUS_COLOURS = {"done": "#15803d", "in_progress": "#b45309", "failed": "#b91c1c",
                       "skipped": "#6b7280"}
TEXTS = ("description", "backout_plan")




def _label(value: Any) -> str:
    """A stored value (status, type, risk, step kind) in the user's language."""
    return "" if value is None else word(str(value))


def _uuid(value: Any) -> Any:
    return uuid.UUID(value) if isinstance(value, str) else value


def _table(columns: list[str], name: str) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setAlternatingRowColors(True)
    table.verticalHeader().hide()
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: list[list[Any]], ids: list[Any],
          colours: dict[tuple[int, int], str] | None = None) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = QTableWidgetItem("" if value is None else str(value))
            item.setData(Qt.ItemDataRole.UserRole, str(ids[r]))
            colour = (colours or {}).get((r, c))
            if colour:
                item.setForeground(QColor(colour))
            table.setItem(r, c, item)
    table.resizeColumnsToContents()


class ReleaseForm(FormActions, RecordForm):
    KIND = Kind.RELEASE

    # -- building ---------------------------------------------------------------------------------
    def build(self) -> None:
        self.setObjectName("releaseForm")
        self.choices: releases.PlanChoices | None = None
        self._shown: dict[str, Any] = {}
        self.heading = QLabel(QCoreApplication.translate("ReleaseForm", "New release"))
        self.heading.setObjectName("releaseHeading")
        self.heading.setStyleSheet("font-size: 15pt; font-weight: 600;")
        self.heading.setWordWrap(True)
        self.summary = QLabel()
        self.summary.setObjectName("releaseSummary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.transition_combo = QComboBox()
        self.transition_combo.setObjectName("transitionCombo")
        # filled once the release is read: the combo grows to its longest status
        self.transition_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.transition_button = QPushButton(QCoreApplication.translate("ReleaseForm", "&Move"))
        self.transition_button.setObjectName("transitionButton")
        self.transition_button.clicked.connect(self.move_status)
        self.pdf_button = QPushButton(QCoreApplication.translate("ReleaseForm", "Release plan P&DF…"))
        self.pdf_button.setObjectName("releasePdfButton")
        self.pdf_button.clicked.connect(self.show_pdf)
        top = QHBoxLayout()  # the heading on its own line: the form must fit beside the docks
        top.addWidget(QLabel(QCoreApplication.translate("ReleaseForm", "Move to:")))
        top.addWidget(self.transition_combo)
        top.addWidget(self.transition_button)
        top.addStretch(1)
        top.addWidget(self.pdf_button)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("releaseTabs")
        self.tabs.addTab(self._details_tab(), QCoreApplication.translate("ReleaseForm", "&Details"))
        self.tabs.addTab(self._changes_tab(), QCoreApplication.translate("ReleaseForm", "&Changes"))
        self.tabs.addTab(self._plan_tab(), QCoreApplication.translate("ReleaseForm", "&Plan"))
        self.tabs.addTab(self._dml_tab(), QCoreApplication.translate("ReleaseForm", "&Media library"))
        self.tabs.addTab(self.history, QCoreApplication.translate("ReleaseForm", "&History"))
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)
        self.watch(self.name, self.version_edit, self.type_combo, self.manager_box,
                   self.team_box, self.start_edit, self.end_edit, self.description, self.backout)
        self.name.textEdited.connect(lambda _t: self.sig_title_changed.emit(self.tab_title()))
        self.follow("change", lambda: [c.id for c in self.data.changes] if self.data else [])
        self.follow("release_step", lambda: [p.id for p in self.data.plan] if self.data else [])
        self._set_enabled()

    def _details_tab(self) -> QWidget:
        w = QWidget()
        self.name = QLineEdit()
        self.name.setObjectName("releaseName")
        self.version_edit = QLineEdit()
        self.version_edit.setObjectName("releaseVersion")
        self.type_combo = QComboBox()
        for t in releases.RELEASE_TYPES:
            self.type_combo.addItem(_label(t), t)
        self.type_combo.setCurrentIndex(max(0, self.type_combo.findData("minor")))
        self.manager_box = QComboBox()
        self.manager_box.setObjectName("managerBox")
        self.team_box = QComboBox()
        self.team_box.setObjectName("teamBox")
        self.start_edit, self.end_edit = DateTimeField(), DateTimeField()
        self.description = QPlainTextEdit()
        self.backout = QPlainTextEdit()
        self.backout.setObjectName("releaseBackout")
        for e in (self.description, self.backout):
            e.setTabChangesFocus(True)
        self.risk_label = QLabel()
        self.risk_label.setObjectName("riskFactors")
        self.risk_label.setWordWrap(True)
        form = QFormLayout(w)
        form.addRow(QCoreApplication.translate("ReleaseForm", "&Name"), self.name)
        form.addRow(QCoreApplication.translate("ReleaseForm", "&Version"), self.version_edit)
        form.addRow(QCoreApplication.translate("ReleaseForm", "&Type"), self.type_combo)
        form.addRow(QCoreApplication.translate("ReleaseForm", "Release &manager"), self.manager_box)
        form.addRow(QCoreApplication.translate("ReleaseForm", "Release t&eam"), self.team_box)
        form.addRow(QCoreApplication.translate("ReleaseForm", "Planned &start"), self.start_edit)
        form.addRow(QCoreApplication.translate("ReleaseForm", "Planned &end"), self.end_edit)
        form.addRow(QCoreApplication.translate("ReleaseForm", "Descr&iption"), self.description)
        form.addRow(QCoreApplication.translate("ReleaseForm", "&Backout plan"), self.backout)
        form.addRow(QCoreApplication.translate("ReleaseForm", "Risk"), self.risk_label)
        return w

    def _changes_tab(self) -> QWidget:
        w = QWidget()
        self.changes_table = _table([QCoreApplication.translate("ReleaseForm", "Change"), QCoreApplication.translate("ReleaseForm", "Title"), QCoreApplication.translate("ReleaseForm", "Status"), QCoreApplication.translate("ReleaseForm", "Approved"),
                                     QCoreApplication.translate("ReleaseForm", "Risk")], "changesTable")
        self.changes_table.doubleClicked.connect(
            lambda i: self.ctx.open_record("change", _uuid(self.changes_table.item(i.row(), 0)
                                                           .data(Qt.ItemDataRole.UserRole))))
        self.change_ref = QLineEdit()
        self.change_ref.setObjectName("changeRefEdit")
        self.change_ref.setPlaceholderText(QCoreApplication.translate("ReleaseForm", "CHG-000123"))
        self.change_ref.returnPressed.connect(self.add_change)
        add = QPushButton(QCoreApplication.translate("ReleaseForm", "&Add change"))
        add.clicked.connect(self.add_change)
        remove = QPushButton(QCoreApplication.translate("ReleaseForm", "&Remove"))
        remove.clicked.connect(self.remove_change)
        self.rollup_label = QLabel()
        self.rollup_label.setObjectName("rollupLabel")
        self.services_label = QLabel()
        self.services_label.setObjectName("servicesLabel")
        self.services_label.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(self.change_ref)
        bar.addWidget(add)
        bar.addWidget(remove)
        bar.addStretch(1)
        layout = QVBoxLayout(w)
        layout.addWidget(self.rollup_label)
        layout.addWidget(self.changes_table, 1)
        layout.addLayout(bar)
        layout.addWidget(self.services_label)
        return w

    def _plan_tab(self) -> QWidget:
        w = QWidget()
        self.steps_table = _table([QCoreApplication.translate("ReleaseForm", "Step"), QCoreApplication.translate("ReleaseForm", "Kind"), QCoreApplication.translate("ReleaseForm", "Owner"), QCoreApplication.translate("ReleaseForm", "Site"),
                                   QCoreApplication.translate("ReleaseForm", "Planned start"), QCoreApplication.translate("ReleaseForm", "Planned end"), QCoreApplication.translate("ReleaseForm", "Actual start"),
                                   QCoreApplication.translate("ReleaseForm", "Actual end"), QCoreApplication.translate("ReleaseForm", "Status"), QCoreApplication.translate("ReleaseForm", "After")], "stepsTable")
        self.steps_table.itemSelectionChanged.connect(self._set_enabled)
        self.gantt = GanttView()
        self.gantt.sig_step_clicked.connect(self.select_step)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.steps_table)
        split.addWidget(self.gantt)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        add = QPushButton(QCoreApplication.translate("ReleaseForm", "Add s&tep…"))
        add.setObjectName("addStepButton")
        add.clicked.connect(self.add_step)
        self.step_status = QComboBox()
        self.step_status.setObjectName("stepStatusCombo")
        for status in ("in_progress", "done", "failed", "skipped", "planned"):
            self.step_status.addItem(_label(status), status)
        self.step_status_button = QPushButton(QCoreApplication.translate("ReleaseForm", "Set stat&us"))
        self.step_status_button.clicked.connect(self.set_step_status)
        self.edit_step_button = QPushButton(QCoreApplication.translate("ReleaseForm", "&Edit step…"))
        self.edit_step_button.setObjectName("editStepButton")
        self.edit_step_button.clicked.connect(self.edit_step)
        self.steps_table.doubleClicked.connect(lambda _i: self.edit_step())
        self.delete_step_button = QPushButton(QCoreApplication.translate("ReleaseForm", "De&lete step"))
        self.delete_step_button.clicked.connect(self.delete_step)
        self.deploy_button = QPushButton(QCoreApplication.translate("ReleaseForm", "Deplo&y wave…"))
        self.deploy_button.setObjectName("deployWaveButton")
        self.deploy_button.setToolTip(QCoreApplication.translate("ReleaseForm", "Update the software CIs at the wave's site to the "
                                         "versions in the media library"))
        self.deploy_button.clicked.connect(self.deploy_wave)
        self.problems_label = QLabel()
        self.problems_label.setObjectName("planProblems")
        self.problems_label.setStyleSheet("color: #b45309;")
        self.problems_label.setWordWrap(True)
        bar = QHBoxLayout()  # two rows: the form must fit beside the docks
        bar.addWidget(add)
        bar.addWidget(self.edit_step_button)
        bar.addWidget(self.delete_step_button)
        bar.addStretch(1)
        status_bar = QHBoxLayout()
        status_bar.addWidget(self.step_status)
        status_bar.addWidget(self.step_status_button)
        status_bar.addStretch(1)
        status_bar.addWidget(self.deploy_button)
        layout = QVBoxLayout(w)
        layout.addLayout(bar)
        layout.addLayout(status_bar)
        layout.addWidget(self.problems_label)
        layout.addWidget(split, 1)
        return w

    def _dml_tab(self) -> QWidget:
        w = QWidget()
        self.items_table = _table([QCoreApplication.translate("ReleaseForm", "Item"), QCoreApplication.translate("ReleaseForm", "Version"), QCoreApplication.translate("ReleaseForm", "Checksum"), QCoreApplication.translate("ReleaseForm", "Master CI")],
                                  "itemsTable")
        self.item_name = QLineEdit()
        self.item_name.setPlaceholderText(QCoreApplication.translate("ReleaseForm", "Item name"))
        self.item_version = QLineEdit()
        self.item_version.setPlaceholderText(QCoreApplication.translate("ReleaseForm", "Version"))
        self.item_checksum = QLineEdit()
        self.item_checksum.setPlaceholderText(QCoreApplication.translate("ReleaseForm", "sha256:…"))
        add = QPushButton(QCoreApplication.translate("ReleaseForm", "Add &item"))
        add.clicked.connect(self.add_item)
        remove = QPushButton(QCoreApplication.translate("ReleaseForm", "Remo&ve item"))
        remove.clicked.connect(self.remove_item)
        bar = QHBoxLayout()
        bar.addWidget(self.item_name, 2)
        bar.addWidget(self.item_version, 1)
        bar.addWidget(self.item_checksum, 3)
        bar.addWidget(add)
        bar.addWidget(remove)
        layout = QVBoxLayout(w)
        intro = QLabel(QCoreApplication.translate("ReleaseForm", "Software this release delivers (each is a software CI in the CMDB). "
                          "Deploying a wave sets the version of the matching software CIs at "
                          "the wave's site."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self.items_table, 1)
        layout.addLayout(bar)
        return w

    # -- reading ----------------------------------------------------------------------------------
    def load_call(self):  # noqa: ANN201
        return releases.release_view, (self.record_id, False)

    def reload(self) -> None:
        """The read model and, in parallel on the other reader, the services the release
        reaches (an impact walk of several rounds: it must not wait for the form, nor the
        form for it)."""
        super().reload()
        if self.record_id is not None:
            self.ctx.query(releases.release_services, self.record_id, owner=self,
                           on_done=self._show_services, on_error=lambda _e: None,
                           key=f"release-services-{id(self)}")

    def _show_services(self, names: tuple[str, ...]) -> None:
        self.services_label.setText(QCoreApplication.translate("ReleaseForm", "Affected services: {names}").format(
            names=", ".join(names) or "—"))

    def new_call(self):  # noqa: ANN201
        return releases.plan_choices, ()

    def show_new(self, data: releases.PlanChoices | None = None) -> None:
        self._set_choices(data)
        self._set_enabled()

    def _set_choices(self, choices: releases.PlanChoices | None, manager: tuple = (),
                     team: tuple = ()) -> None:
        self.choices = choices
        for box, none_text, rows, current in (
                (self.manager_box, QCoreApplication.translate("ReleaseForm", "(nobody)"), choices.people if choices else (), manager),
                (self.team_box, QCoreApplication.translate("ReleaseForm", "(no team)"), choices.teams if choices else (), team)):
            box.clear()
            box.addItem(none_text, None)
            for rid, label in rows:
                box.addItem(label, str(rid))
            if current and current[0] is not None:
                index = box.findData(str(current[0]))
                if index < 0:  # not an agent any more: still shown
                    box.addItem(current[1] or str(current[0]), str(current[0]))
                    index = box.count() - 1
                box.setCurrentIndex(index)

    def fill(self, data: releases.ReleaseView) -> None:
        self._set_choices(data.choices, (data.manager_id, data.manager_name),
                          (data.team_id, data.team_name))
        self.heading.setText(f"{data.ref} · {data.name} {data.release_version or ''}".strip())
        risk = data.risk.level
        approval = (QCoreApplication.translate("ReleaseForm", "all changes approved") if data.all_approved else
                    QCoreApplication.translate("ReleaseForm", "no changes bundled") if not data.changes else
                    QCoreApplication.translate("ReleaseForm", "{n} change(s) not approved: cannot deploy").format(
                        n=len(data.unapproved)))
        colour = "#15803d" if data.all_approved else "#b91c1c"
        self.summary.setText(
            QCoreApplication.translate("ReleaseForm", "Status <b>{status}</b> · type {type} · risk "
               "<b><span style='color:{rc}'>{risk}</span></b> · "
               "<span style='color:{ac}'>{approval}</span> · manager {manager}").format(
                status=escape(_label(data.status)), type=escape(_label(data.type)),
                rc=RISK_COLOURS.get(risk, "#374151"), risk=escape(_label(risk).upper()),
                ac=colour, approval=escape(approval), manager=escape(data.manager_name or "—")))
        self.name.setText(data.name)
        self.version_edit.setText(data.release_version or "")
        self.type_combo.setCurrentIndex(max(0, self.type_combo.findData(data.type)))
        self.start_edit.set_value(data.planned_start)
        self.end_edit.set_value(data.planned_end)
        self.description.setPlainText(data.description or "")
        self.backout.setPlainText(data.backout_plan or "")
        self.risk_label.setText("\n".join(f"{_label(f.level)}: {reason_text(f)}"
                                          for f in data.risk.factors) or QCoreApplication.translate("ReleaseForm", "no factors"))
        self.transition_combo.clear()
        for status in data.allowed:
            self.transition_combo.addItem(_label(status), status)
        # changes
        _fill(self.changes_table,
              [[c.ref, c.title, _label(c.status), QCoreApplication.translate("ReleaseForm", "yes") if c.approved else QCoreApplication.translate("ReleaseForm", "NO"),
                _label(c.risk)] for c in data.changes],
              [c.id for c in data.changes],
              {(i, 3): "#b91c1c" for i, c in enumerate(data.changes) if not c.approved})
        self.changes_table.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.Stretch)
        self.rollup_label.setText(", ".join(f"{_label(s)}: {n}" for s, n in
                                            sorted(data.by_status.items())) or QCoreApplication.translate("ReleaseForm", "no changes"))
        if data.services is not None:
            self._show_services(data.services)
        # plan
        _fill(self.steps_table,
              [[("    " * p.level) + p.name, _label(p.kind), p.owner, p.site or "",
                local_text(p.planned_start), local_text(p.planned_end),
                local_text(p.actual_start), local_text(p.actual_end), _label(p.status),
                ", ".join(p.depends_on_names)] for p in data.plan],
              [p.id for p in data.plan],
              {(i, 8): STEP_STATUS_COLOURS[p.status] for i, p in enumerate(data.plan)
               if p.status in STEP_STATUS_COLOURS})
        self.gantt.set_rows(list(data.plan), utcnow())
        self.problems_label.setText("\n".join(f"⚠ {p}" for p in data.problems))
        self.problems_label.setVisible(bool(data.problems))
        # DML
        _fill(self.items_table, [[i.name, i.version, i.checksum or "", i.ci_name or ""]
                                 for i in data.items], [i.id for i in data.items])
        self._set_enabled()
        self._shown = self._values()

    def title(self) -> str:
        text = self.name.text().strip() or QCoreApplication.translate("ReleaseForm", "New release")
        return f"{self.data.ref} {text}" if self.data is not None else text

    def _set_enabled(self) -> None:
        exists = self.data is not None
        for widget in (self.transition_combo, self.transition_button, self.pdf_button,
                       self.tabs.widget(1), self.tabs.widget(2), self.tabs.widget(3),
                       self.tabs.widget(4)):
            widget.setEnabled(exists)
        from itsmdesk.views.signin import enable, gate

        if not getattr(self, "_gated", False):  # release managers move releases and their plans
            self._gated = True
            for widget in (self.transition_button, self.deploy_button, self.step_status_button,
                           self.delete_step_button, self.edit_step_button):
                gate(widget, self.ctx, "release.manage", widget.toolTip())
        enable(self.transition_button, exists and self.transition_combo.count() > 0)
        step = self.selected_step()
        enable(self.deploy_button,
               step is not None and step.kind in dml.WAVE_KINDS and step.status != "done"
               and exists and self.data.status in dml.DEPLOYABLE)
        enable(self.step_status_button, step is not None and step.kind != "phase")
        enable(self.delete_step_button, step is not None)
        enable(self.edit_step_button, step is not None)

    def selected_step(self) -> release_plan.PlanRow | None:
        if self.data is None:
            return None
        rows = self.steps_table.selectionModel().selectedRows()
        if not rows:
            return None
        index = rows[0].row()
        return self.data.plan[index] if index < len(self.data.plan) else None

    def select_step(self, step_id: str) -> None:
        if self.data is None:
            return
        for i, p in enumerate(self.data.plan):
            if str(p.id) == step_id:
                self.steps_table.selectRow(i)
                return

    # -- editing ----------------------------------------------------------------------------------
    def _values(self) -> dict[str, Any]:
        manager, team = self.manager_box.currentData(), self.team_box.currentData()
        return {"name": self.name.text().strip(),
                "release_version": self.version_edit.text().strip() or None,
                "type": self.type_combo.currentData(),
                "manager": _uuid(manager) if manager else None,
                "team": _uuid(team) if team else None,
                "planned_start": self.start_edit.value(), "planned_end": self.end_edit.value(),
                "description": self.description.toPlainText().strip() or None,
                "backout_plan": self.backout.toPlainText().strip() or None}

    def edits(self) -> dict[str, Any]:
        values = self._values()
        if self.data is None:
            return {k: v for k, v in values.items() if v not in (None, "")}
        return {k: v for k, v in values.items() if v != self._shown.get(k)}

    def save_call(self, edits: dict[str, Any]):  # noqa: ANN201
        return releases.save_release, (self.record_id, self.version, edits, self.ctx.actor,
                                       self.new_id)

    def describe_value(self, field: str, value: Any) -> str:
        if field in ("manager", "team") and value:
            rows = (self.choices.people if field == "manager" else self.choices.teams) \
                if self.choices else ()
            return dict((str(i), n) for i, n in rows).get(str(value), "")
        if field == "type":
            return _label(value)
        if isinstance(value, dt.datetime):
            return local_text(value)
        return super().describe_value(field, value)

    # -- actions (each a write at the version the form holds; unsaved edits are saved first) ---------
    def move_status(self) -> None:
        status = self.transition_combo.currentData()
        if not status:
            return
        self.when_saved(lambda: self.act(release_lifecycle.transition, self.record_id,
                                         self.version, status, self.ctx.actor))

    def add_change(self) -> None:
        ref = self.change_ref.text().strip()
        if not ref:
            return
        self.when_saved(lambda: self.act(releases.add_change_by_ref, self.record_id, ref,
                                         self.ctx.actor, self.version,
                                         done=lambda _c: self.change_ref.clear()))

    def remove_change(self) -> None:
        rows = self.changes_table.selectionModel().selectedRows()
        if self.data is None or not rows:
            return
        change = self.data.changes[rows[0].row()]
        self.when_saved(lambda: self.act(releases.remove_change_and_rerisk, self.record_id,
                                         change.id, self.ctx.actor, self.version))

    def _step_dialog(self) -> StepDialog:
        return StepDialog(self.data.choices, list(self.data.plan), self)

    def add_step(self) -> None:
        """A phase or a step (with the step it waits for): a new record of the plan."""
        if self.data is None:
            return
        dialog = self._step_dialog()
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        values, after = dialog.values()
        self.when_saved(lambda: self.act(release_plan.add_step, self.record_id, values,
                                         self.ctx.actor, after))

    def edit_step(self) -> None:
        """A step's fields and what it waits for, at the step's version."""
        step = self.selected_step()
        if step is None:
            return
        dialog = self._step_dialog()
        dialog.prefill(step)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        values, after = dialog.values()
        fields = ("name", "kind", "phase", "owner_person", "owner_team", "site", "planned_start",
                  "planned_end")
        current = {"name": step.name, "kind": step.kind, "phase": step.phase_id,
                   "owner_person": step.owner_person_id, "owner_team": step.owner_team_id,
                   "site": step.site_id, "planned_start": step.planned_start,
                   "planned_end": step.planned_end}

        def same(a: Any, b: Any) -> bool:
            return (a is None and b is None) or (a is not None and b is not None
                                                  and str(a) == str(b))

        changes = {f: values.get(f) for f in fields if not same(values.get(f), current[f])}
        self.when_saved(lambda: self.act(release_plan.edit_step, step.id, step.version, changes,
                                         list(after), self.ctx.actor))

    def set_step_status(self) -> None:
        step = self.selected_step()
        if step is None:
            return
        status = self.step_status.currentData()
        self.when_saved(lambda: self.act(release_plan.set_step_status, step.id, status,
                                         self.ctx.actor, step.version))

    def delete_step(self) -> None:
        step = self.selected_step()
        if step is None:
            return
        answer = QMessageBox.question(self, QCoreApplication.translate("ReleaseForm", "Delete step"),
                                      QCoreApplication.translate("ReleaseForm", "Delete '{name}' from the plan?").format(name=step.name))
        if answer == QMessageBox.StandardButton.Yes:
            self.when_saved(lambda: self.act(release_plan.delete_step, step.id, self.ctx.actor,
                                             step.version))

    def deploy_wave(self) -> None:
        """Show what the wave will update (read off the GUI thread), ask, then deploy it at the
        wave's and the release's versions."""
        step = self.selected_step()
        if step is None or step.kind not in dml.WAVE_KINDS:
            return
        self.when_saved(lambda: self.ctx.query(
            dml.preview_wave, step.id, owner=self, on_error=self._action_failed,
            on_done=lambda targets: self._confirm_deploy(step, targets)))

    def _confirm_deploy(self, step: release_plan.PlanRow, targets: list) -> None:
        names = "\n".join(f"• {ci.name}: {ci.ci_version or '—'} → {item.version}"
                          for item, ci in targets[:12])
        more = len(targets) - 12
        text = QCoreApplication.translate("ReleaseForm", "Deploy '{wave}' at {site}?\n\n{count} software CI(s) will be "
                  "updated:\n{names}").format(wave=step.name, site=step.site,
                                              count=len(targets), names=names or "—")
        if more > 0:
            text += "\n" + QCoreApplication.translate("ReleaseForm", "…and {n} more").format(n=more)
        answer = QMessageBox.question(self, QCoreApplication.translate("ReleaseForm", "Deploy wave"), text)
        if answer != QMessageBox.StandardButton.Yes:
            return

        def deployed(result: dml.WaveResult) -> None:
            self.say(QCoreApplication.translate("ReleaseForm", "{wave}: {n} CI(s) updated; release is {status}").format(
                wave=result.step_name, n=len(result.updated),
                status=_label(result.release_status)))

        self.act(dml.deploy_wave, step.id, self.ctx.actor, step.version, self.version,
                 done=deployed)

    def add_item(self) -> None:
        name, version = self.item_name.text().strip(), self.item_version.text().strip()
        checksum = self.item_checksum.text().strip() or None

        def added(_item: Any) -> None:
            for edit in (self.item_name, self.item_version, self.item_checksum):
                edit.clear()

        self.when_saved(lambda: self.act(dml.add_item, self.record_id, name, version, checksum,
                                         self.ctx.actor, None, self.version, done=added))

    def remove_item(self) -> None:
        rows = self.items_table.selectionModel().selectedRows()
        if self.data is None or not rows:
            return
        item = self.data.items[rows[0].row()]
        self.when_saved(lambda: self.act(dml.remove_item, item.id, self.ctx.actor,
                                         self.version))

    def show_pdf(self) -> None:
        """The release plan's print preview (its data read off the GUI thread)."""
        if self.data is None:
            return
        from itsmdesk.views.releases.preview import show_preview

        self.when_saved(lambda: self.ctx.query(
            releases.release_detail, self.record_id, owner=self, on_error=self._action_failed,
            on_done=lambda detail: show_preview(self, detail, self.ctx)))


def create_form(ctx, record_id, window, kind: str = "release") -> QWidget:  # noqa: ANN001
    return ReleaseForm(ctx, record_id)
