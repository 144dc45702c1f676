"""Release form: fields, bundled changes (with their approval roll-up), the plan as a table and
a Gantt chart, the definitive media library, status moves and "Deploy wave".

Every read and write goes through the services on ``ctx.worker``; after a write the form
reloads the release and reports what changed with ``ctx.records_changed``.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from PySide6.QtCore import Qt, QTimeZone, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence
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
from itsmdesk.models.release import RELEASE_TYPES
from itsmdesk.services.release import dml, releases
from itsmdesk.services.release import lifecycle as release_lifecycle
from itsmdesk.services.release import plan as release_plan
from itsmdesk.views.messages import show_error
from itsmdesk.views.releases.editors import DateTimeField, StepDialog
from itsmdesk.views.releases.gantt import GanttView
from itsmdesk.views.timefmt import local_text
from itsmdesk.words import word

RISK_COLOURS = {"low": "#15803d", "medium": "#b45309", "high": "#c2410c", "very_high": "#b91c1c"}
STEP_STATUS_COLOURS = {"done": "#15803d", "in_progress": "#b45309", "failed": "#b91c1c",
                       "skipped": "#6b7280"}
UTC = QTimeZone.utc()


def _label(value: Any) -> str:
    """A stored value (status, type, risk, step kind) in the user's language."""
    return "" if value is None else word(str(value))


def _when(value: dt.datetime | None) -> str:
    """A stored (UTC) time in the user's zone."""
    return local_text(value)


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


class ReleaseForm(QWidget):
    sig_title_changed = Signal(str)
    """(tab title) after the release was loaded or saved."""

    def __init__(self, ctx, release_id=None, window=None, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.window_ = window
        self.release_id = str(release_id) if release_id else None
        self.detail: releases.ReleaseDetail | None = None
        self.setObjectName("releaseForm")
        self._dirty = False

        self.heading = QLabel(self.tr("New release"))
        self.heading.setObjectName("releaseHeading")
        self.heading.setStyleSheet("font-size: 15pt; font-weight: 600;")
        self.summary = QLabel()
        self.summary.setObjectName("releaseSummary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.transition_combo = QComboBox()
        self.transition_combo.setObjectName("transitionCombo")
        self.transition_button = QPushButton(self.tr("&Move"))
        self.transition_button.setObjectName("transitionButton")
        self.transition_button.clicked.connect(self.move_status)
        self.pdf_button = QPushButton(self.tr("Release plan P&DF…"))
        self.pdf_button.clicked.connect(self.show_pdf)
        self.heading.setWordWrap(True)
        top = QHBoxLayout()  # the heading on its own line: the form must fit beside the docks
        top.addWidget(QLabel(self.tr("Move to:")))
        top.addWidget(self.transition_combo)
        top.addWidget(self.transition_button)
        top.addStretch(1)
        top.addWidget(self.pdf_button)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("releaseTabs")
        self.tabs.addTab(self._details_tab(), self.tr("&Details"))
        self.tabs.addTab(self._changes_tab(), self.tr("&Changes"))
        self.tabs.addTab(self._plan_tab(), self.tr("&Plan"))
        self.tabs.addTab(self._dml_tab(), self.tr("&Media library"))
        self.history_table = _table([self.tr("When"), self.tr("Who"), self.tr("Site"),
                                     self.tr("Field"), self.tr("Old"), self.tr("New")],
                                    "historyTable")
        self.tabs.addTab(self.history_table, self.tr("&History"))
        self.tabs.currentChanged.connect(self._tab_changed)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)
        save = QAction(self.tr("Save"), self)
        save.setShortcut(QKeySequence("Ctrl+S"))
        save.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        save.triggered.connect(self.save)
        self.addAction(save)
        ctx.sig_records_changed.connect(self._records_changed)
        self._set_enabled()
        if self.release_id:
            self.reload()

    # -- tabs ------------------------------------------------------------------------------------
    def _details_tab(self) -> QWidget:
        w = QWidget()
        self.name = QLineEdit()
        self.name.setObjectName("releaseName")
        self.version_edit = QLineEdit()
        self.version_edit.setObjectName("releaseVersion")
        self.type_combo = QComboBox()
        for t in RELEASE_TYPES:
            self.type_combo.addItem(self.tr(t.capitalize()), t)
        self.start_edit, self.end_edit = DateTimeField(), DateTimeField()
        self.description = QPlainTextEdit()
        self.backout = QPlainTextEdit()
        self.backout.setObjectName("releaseBackout")
        self.risk_label = QLabel()
        self.risk_label.setObjectName("riskFactors")
        self.risk_label.setWordWrap(True)
        self.save_button = QPushButton(self.tr("&Save"))
        self.save_button.setObjectName("saveButton")
        self.save_button.clicked.connect(self.save)
        form = QFormLayout()
        form.addRow(self.tr("&Name"), self.name)
        form.addRow(self.tr("&Version"), self.version_edit)
        form.addRow(self.tr("&Type"), self.type_combo)
        form.addRow(self.tr("Planned &start"), self.start_edit)
        form.addRow(self.tr("Planned &end"), self.end_edit)
        form.addRow(self.tr("Descr&iption"), self.description)
        form.addRow(self.tr("&Backout plan"), self.backout)
        form.addRow(self.tr("Risk"), self.risk_label)
        layout = QVBoxLayout(w)
        layout.addLayout(form)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.save_button)
        layout.addLayout(row)
        return w

    def _changes_tab(self) -> QWidget:
        w = QWidget()
        self.changes_table = _table([self.tr("Change"), self.tr("Title"), self.tr("Status"),
                                     self.tr("Approved"), self.tr("Risk")], "changesTable")
        self.changes_table.doubleClicked.connect(
            lambda i: self.ctx.open_record("change", self.changes_table.item(i.row(), 0)
                                           .data(Qt.ItemDataRole.UserRole)))
        self.change_ref = QLineEdit()
        self.change_ref.setObjectName("changeRefEdit")
        self.change_ref.setPlaceholderText(self.tr("CHG-000123"))
        self.change_ref.returnPressed.connect(self.add_change)
        add = QPushButton(self.tr("&Add change"))
        add.clicked.connect(self.add_change)
        remove = QPushButton(self.tr("&Remove"))
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
        self.steps_table = _table([self.tr("Step"), self.tr("Kind"), self.tr("Owner"),
                                   self.tr("Site"), self.tr("Planned start"),
                                   self.tr("Planned end"), self.tr("Actual start"),
                                   self.tr("Actual end"), self.tr("Status"), self.tr("After")],
                                  "stepsTable")
        self.steps_table.itemSelectionChanged.connect(self._set_enabled)
        self.gantt = GanttView()
        self.gantt.sig_step_clicked.connect(self.select_step)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.steps_table)
        split.addWidget(self.gantt)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        add = QPushButton(self.tr("Add s&tep…"))
        add.clicked.connect(self.add_step)
        self.step_status = QComboBox()
        self.step_status.setObjectName("stepStatusCombo")
        for status in ("in_progress", "done", "failed", "skipped", "planned"):
            self.step_status.addItem(_label(status), status)
        self.step_status_button = QPushButton(self.tr("Set stat&us"))
        self.step_status_button.clicked.connect(self.set_step_status)
        self.edit_step_button = QPushButton(self.tr("&Edit step…"))
        self.edit_step_button.setObjectName("editStepButton")
        self.edit_step_button.clicked.connect(self.edit_step)
        self.steps_table.doubleClicked.connect(lambda _i: self.edit_step())
        self.delete_step_button = QPushButton(self.tr("De&lete step"))
        self.delete_step_button.clicked.connect(self.delete_step)
        self.deploy_button = QPushButton(self.tr("Deplo&y wave…"))
        self.deploy_button.setObjectName("deployWaveButton")
        self.deploy_button.setToolTip(self.tr("Update the software CIs at the wave's site to "
                                              "the versions in the media library"))
        self.deploy_button.clicked.connect(self.deploy_wave)
        self.problems_label = QLabel()
        self.problems_label.setObjectName("planProblems")
        self.problems_label.setStyleSheet("color: #b45309;")
        self.problems_label.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(add)
        bar.addWidget(self.edit_step_button)
        bar.addWidget(self.delete_step_button)
        bar.addStretch(1)
        bar.addWidget(self.step_status)
        bar.addWidget(self.step_status_button)
        bar.addWidget(self.deploy_button)
        layout = QVBoxLayout(w)
        layout.addLayout(bar)
        layout.addWidget(self.problems_label)
        layout.addWidget(split, 1)
        return w

    def _dml_tab(self) -> QWidget:
        w = QWidget()
        self.items_table = _table([self.tr("Item"), self.tr("Version"), self.tr("Checksum"),
                                   self.tr("Master CI")], "itemsTable")
        self.item_name = QLineEdit()
        self.item_name.setPlaceholderText(self.tr("Item name"))
        self.item_version = QLineEdit()
        self.item_version.setPlaceholderText(self.tr("Version"))
        self.item_checksum = QLineEdit()
        self.item_checksum.setPlaceholderText(self.tr("sha256:…"))
        add = QPushButton(self.tr("Add &item"))
        add.clicked.connect(self.add_item)
        remove = QPushButton(self.tr("Remo&ve item"))
        remove.clicked.connect(self.remove_item)
        bar = QHBoxLayout()
        bar.addWidget(self.item_name, 2)
        bar.addWidget(self.item_version, 1)
        bar.addWidget(self.item_checksum, 3)
        bar.addWidget(add)
        bar.addWidget(remove)
        layout = QVBoxLayout(w)
        intro = QLabel(self.tr("Software this release delivers (each is a software CI in "
                               "the CMDB). Deploying a wave sets the version of the "
                               "matching software CIs at the wave's site."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self.items_table, 1)
        layout.addLayout(bar)
        return w

    # -- loading ---------------------------------------------------------------------------------
    def title(self) -> str:
        if self.detail is None:
            return self.tr("New release")
        return self.detail.release.ref

    def can_close(self) -> bool:
        return True

    def _records_changed(self, kind: str, ids: list) -> None:
        if self.release_id and kind == "change" and self.detail is not None:
            mine = {str(c.id) for c in self.detail.rollup.changes}
            if mine & set(ids):
                self.reload()

    def reload(self) -> None:
        if self.release_id:
            self.ctx.worker.submit(releases.release_detail, self.release_id, on_done=self._show,
                                   on_error=lambda e: show_error(self, e),
                                   key=f"release-form-{self.release_id}")

    def _show(self, detail: releases.ReleaseDetail) -> None:
        from itsmdesk.models.base import utcnow

        self.detail = detail
        r = detail.release
        self.release_id = str(r.id)
        self.heading.setText(f"{r.ref} · {r.name} {r.release_version or ''}".strip())
        risk = detail.risk.level
        roll = detail.rollup
        approval = (self.tr("all changes approved") if roll.all_approved else
                    self.tr("no changes bundled") if not roll.changes else
                    self.tr("{n} change(s) not approved: cannot deploy").format(
                        n=len(roll.unapproved)))
        colour = "#15803d" if roll.all_approved else "#b91c1c"
        self.summary.setText(
            self.tr("Status <b>{status}</b> · type {type} · risk "
                    "<b><span style='color:{rc}'>{risk}</span></b> · "
                    "<span style='color:{ac}'>{approval}</span> · manager {manager}").format(
                status=escape(_label(r.status)), type=escape(_label(r.type)),
                rc=RISK_COLOURS.get(risk, "#374151"), risk=escape(_label(risk).upper()),
                ac=colour, approval=escape(approval), manager=escape(detail.manager or "—")))
        self.name.setText(r.name)
        self.version_edit.setText(r.release_version or "")
        self.type_combo.setCurrentIndex(max(0, self.type_combo.findData(r.type)))
        self.start_edit.set_value(r.planned_start)
        self.end_edit.set_value(r.planned_end)
        self.description.setPlainText(r.description or "")
        self.backout.setPlainText(r.backout_plan or "")
        self.risk_label.setText("\n".join(f"{_label(f.level)}: {reason_text(f)}"
                                          for f in detail.risk.factors) or self.tr("no factors"))
        self.transition_combo.clear()
        for status in detail.allowed:
            self.transition_combo.addItem(_label(status), status)
        # changes
        _fill(self.changes_table,
              [[c.ref, c.title, _label(c.status), self.tr("yes") if c.approved else self.tr("NO"),
                _label(c.risk)] for c in roll.changes],
              [c.id for c in roll.changes],
              {(i, 3): "#b91c1c" for i, c in enumerate(roll.changes) if not c.approved})
        self.changes_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.rollup_label.setText(", ".join(f"{_label(s)}: {n}" for s, n in
                                            sorted(roll.by_status.items())) or self.tr("no changes"))
        self.services_label.setText(self.tr("Affected services: {names}").format(
            names=", ".join(s.name for s in detail.services) or "—"))
        # plan
        _fill(self.steps_table,
              [[("    " * p.level) + p.name, _label(p.kind), p.owner, p.site or "",
                _when(p.planned_start), _when(p.planned_end), _when(p.actual_start),
                _when(p.actual_end), _label(p.status), ", ".join(p.depends_on_names)]
               for p in detail.plan],
              [p.id for p in detail.plan],
              {(i, 8): STEP_STATUS_COLOURS[p.status] for i, p in enumerate(detail.plan)
               if p.status in STEP_STATUS_COLOURS})
        self.gantt.set_rows(detail.plan, utcnow())
        self.problems_label.setText("\n".join(f"⚠ {p}" for p in detail.problems))
        self.problems_label.setVisible(bool(detail.problems))
        # DML
        _fill(self.items_table, [[i.name, i.version, i.checksum or "", i.ci_name or ""]
                                 for i in detail.items], [i.id for i in detail.items])
        self._set_enabled()
        self._tab_changed(self.tabs.currentIndex())
        self.sig_title_changed.emit(self.title())

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.history_table and self.release_id:
            from itsmdesk.services import records

            self.ctx.worker.submit(records.history, "release", self.release_id, 500,
                                   on_done=self._show_history,
                                   key=f"release-history-{self.release_id}")

    def _show_history(self, entries: list) -> None:
        _fill(self.history_table,
              [[local_text(h.at, seconds=True), h.who or "", h.site, h.field, h.old or "",
                h.new or ""] for h in entries], [i for i in range(len(entries))])

    def _set_enabled(self) -> None:
        exists = self.detail is not None
        for widget in (self.transition_combo, self.transition_button, self.pdf_button,
                       self.tabs.widget(1), self.tabs.widget(2), self.tabs.widget(3),
                       self.tabs.widget(4)):
            widget.setEnabled(exists)
        self.transition_button.setEnabled(exists and self.transition_combo.count() > 0)
        step = self.selected_step()
        self.deploy_button.setEnabled(
            step is not None and step.kind in dml.WAVE_KINDS and step.status != "done"
            and self.detail is not None and self.detail.release.status in dml.DEPLOYABLE)
        self.step_status_button.setEnabled(step is not None and step.kind != "phase")
        self.delete_step_button.setEnabled(step is not None)
        self.edit_step_button.setEnabled(step is not None)

    def selected_step(self):  # noqa: ANN201
        if self.detail is None:
            return None
        rows = self.steps_table.selectionModel().selectedRows()
        if not rows:
            return None
        index = rows[0].row()
        return self.detail.plan[index] if index < len(self.detail.plan) else None

    def select_step(self, step_id: str) -> None:
        if self.detail is None:
            return
        for i, p in enumerate(self.detail.plan):
            if str(p.id) == step_id:
                self.steps_table.selectRow(i)
                return

    # -- writes ----------------------------------------------------------------------------------
    def _run(self, fn, *args, done_kind: str = "release", extra=None) -> None:  # noqa: ANN001
        def finished(result: Any) -> None:
            if extra:
                extra(result)
            self.ctx.records_changed(done_kind, [self.release_id])
            self.reload()

        self.ctx.worker.submit(fn, *args, on_done=finished, on_error=lambda e: show_error(self, e))

    def save(self) -> None:
        values = {"name": self.name.text().strip(),
                  "release_version": self.version_edit.text().strip() or None,
                  "type": self.type_combo.currentData(),
                  "planned_start": self.start_edit.value(), "planned_end": self.end_edit.value(),
                  "description": self.description.toPlainText().strip() or None,
                  "backout_plan": self.backout.toPlainText().strip() or None}
        if self.detail is None:
            def created(release) -> None:  # noqa: ANN001
                self.release_id = str(release.id)
                self.ctx.records_changed("release", [self.release_id])
                self.reload()

            self.ctx.worker.submit(releases.create_release, values, self.ctx.actor,
                                   on_done=created, on_error=lambda e: show_error(self, e))
            return
        self._run(releases.update_release, self.detail.release.id, self.detail.release.version,
                  values, self.ctx.actor)

    def move_status(self) -> None:
        status = self.transition_combo.currentData()
        if self.detail is None or not status:
            return
        self._run(release_lifecycle.transition, self.detail.release.id, status, self.ctx.actor,
                  self.detail.release.version)

    def add_change(self) -> None:
        ref = self.change_ref.text().strip()
        if self.detail is None or not ref:
            return
        self.change_ref.clear()
        self._run(releases.add_change_by_ref, self.detail.release.id, ref, self.ctx.actor)

    def remove_change(self) -> None:
        rows = self.changes_table.selectionModel().selectedRows()
        if self.detail is None or not rows:
            return
        change = self.detail.rollup.changes[rows[0].row()]
        self._run(releases.remove_change_and_rerisk, self.detail.release.id, change.id,
                  self.ctx.actor)

    def add_step(self) -> None:
        if self.detail is None:
            return
        dialog = StepDialog(releases.plan_choices(), self.detail.plan, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        values, after = dialog.values()
        self._run(release_plan.add_step, self.detail.release.id, values, self.ctx.actor, after)

    def edit_step(self) -> None:
        step = self.selected_step()
        if step is None or self.detail is None:
            return
        dialog = StepDialog(releases.plan_choices(), self.detail.plan, self)
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
        self._run(release_plan.edit_step, step.id, step.version, changes,
                  list(after), self.ctx.actor)

    def set_step_status(self) -> None:
        step = self.selected_step()
        if step is None:
            return
        self._run(release_plan.set_step_status, step.id, self.step_status.currentData(),
                  self.ctx.actor, step.version)

    def delete_step(self) -> None:
        step = self.selected_step()
        if step is None:
            return
        answer = QMessageBox.question(self, self.tr("Delete step"),
                                      self.tr("Delete '{name}' from the plan?").format(name=step.name))
        if answer == QMessageBox.StandardButton.Yes:
            self._run(release_plan.delete_step, step.id, self.ctx.actor, step.version)

    def deploy_wave(self) -> None:
        step = self.selected_step()
        if step is None or step.kind not in dml.WAVE_KINDS:
            return
        try:
            targets = dml.preview_wave(step.id)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return
        names = "\n".join(f"• {ci.name}: {ci.ci_version or '—'} → {item.version}"
                          for item, ci in targets[:12])
        more = len(targets) - 12
        text = self.tr("Deploy '{wave}' at {site}?\n\n{count} software CI(s) will be "
                       "updated:\n{names}").format(wave=step.name, site=step.site,
                                                   count=len(targets), names=names or "—")
        if more > 0:
            text += "\n" + self.tr("…and {n} more").format(n=more)
        answer = QMessageBox.question(self, self.tr("Deploy wave"), text)
        if answer != QMessageBox.StandardButton.Yes:
            return

        def deployed(result: dml.WaveResult) -> None:
            self.ctx.records_changed("ci", [str(u.ci_id) for u in result.updated])
            self.ctx.sig_status.emit(self.tr("{wave}: {n} CI(s) updated; release is {status}")
                                     .format(wave=result.step_name, n=len(result.updated),
                                             status=_label(result.release_status)))

        self._run(dml.deploy_wave, step.id, self.ctx.actor, extra=deployed)

    def add_item(self) -> None:
        if self.detail is None:
            return
        name, version = self.item_name.text().strip(), self.item_version.text().strip()
        checksum = self.item_checksum.text().strip() or None

        def added(_item) -> None:  # noqa: ANN001
            for edit in (self.item_name, self.item_version, self.item_checksum):
                edit.clear()

        self._run(dml.add_item, self.detail.release.id, name, version, checksum, self.ctx.actor,
                  extra=added)

    def remove_item(self) -> None:
        rows = self.items_table.selectionModel().selectedRows()
        if self.detail is None or not rows:
            return
        self._run(dml.remove_item, self.detail.items[rows[0].row()].id, self.ctx.actor)

    def show_pdf(self) -> None:
        if self.detail is not None:
            from itsmdesk.views.releases.preview import show_preview

            show_preview(self, self.detail.release.ref)


def create_form(ctx, record_id, window, kind: str = "release") -> QWidget:  # noqa: ANN001
    return ReleaseForm(ctx, record_id, window)
