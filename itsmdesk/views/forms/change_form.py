"""The RFC form: every field, affected CIs (drop CIs from the CMDB tree), risk with its factors
and override, conflicts, the lifecycle buttons that apply now, and the PIR."""

from __future__ import annotations

import datetime as dt
import uuid

from PySide6.QtCore import QCoreApplication, QDateTime, Qt, QTimeZone, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.errors import ItsmError
from itsmdesk.i18n import reason_text, template_text
from itsmdesk.models.change import CHANGE_TYPES, RISK_LEVELS
from itsmdesk.views.messages import show_error
from itsmdesk.words import word

CI_MIME = "application/x-itsmdesk-ci"


def _to_qdt(value: dt.datetime | None) -> QDateTime:
    if value is None:
        return QDateTime()
    q = QDateTime(value.date(), value.time(), QTimeZone.utc())
    return q.toLocalTime()


def _from_qdt(q: QDateTime) -> dt.datetime | None:
    if not q.isValid():
        return None
    u = q.toUTC()
    d, t = u.date(), u.time()
    return dt.datetime(d.year(), d.month(), d.day(), t.hour(), t.minute())


class CIDropList(QListWidget):
    """The affected CIs; accepts drops of ``application/x-itsmdesk-ci`` (UUIDs, one a line)."""

    sig_dropped = Signal(list)
    """([CI id strings]) dropped on the list."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [CI_MIME]

    def dragEnterEvent(self, event) -> None:  # noqa: ANN001, N802
        if event.mimeData().hasFormat(CI_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: ANN001, N802
        if event.mimeData().hasFormat(CI_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: ANN001, N802
        self.handle_mime(event.mimeData())
        event.acceptProposedAction()

    def handle_mime(self, mime) -> None:  # noqa: ANN001
        if not mime.hasFormat(CI_MIME):
            return
        text = bytes(mime.data(CI_MIME)).decode("utf-8", "replace")
        ids = [line.strip() for line in text.splitlines() if line.strip()]
        if ids:
            self.sig_dropped.emit(ids)


class ChangeForm(QWidget):
    sig_title_changed = Signal(str)
    """(tab title) after load and save."""

    def __init__(self, ctx, change_id=None, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.change_id = uuid.UUID(str(change_id)) if change_id else None
        self.change = None
        self.ci_ids: list = []
        self.dirty = False
        self.setObjectName("changeForm")
        self._build()
        if self.change_id:
            self.load()
        else:
            self.status_label.setText(self.tr("new (draft)"))
            self._update_buttons()

    # -- building --------------------------------------------------------------------------------
    def _build(self) -> None:
        self.header = QLabel()
        font = self.header.font()
        font.setPointSizeF(font.pointSizeF() + 3)
        font.setBold(True)
        self.header.setFont(font)
        self.status_label = QLabel()
        self.title_edit = QLineEdit()
        self.type_box = QComboBox()
        for t in CHANGE_TYPES:
            self.type_box.addItem(t, t)
        self.type_box.setCurrentIndex(CHANGE_TYPES.index("normal"))
        self.category_edit = QLineEdit()
        self.team_box = QComboBox()
        self.team_box.addItem(self.tr("(no team)"), None)
        from itsmdesk.services.change.calendar import teams

        for tid, name in teams():
            self.team_box.addItem(name, str(tid))  # str: QVariant compares it in findData

        def dt_edit() -> QDateTimeEdit:
            e = QDateTimeEdit()
            e.setCalendarPopup(True)
            e.setDisplayFormat("yyyy-MM-dd HH:mm")
            e.setDateTime(QDateTime.currentDateTime().addDays(7))
            return e

        self.start_edit, self.end_edit = dt_edit(), dt_edit()
        self.end_edit.setDateTime(self.start_edit.dateTime().addSecs(7200))
        self.downtime_check = QCheckBox(self.tr("Downtime window"))
        self.down_start, self.down_end = dt_edit(), dt_edit()
        self.downtime_check.toggled.connect(self.down_start.setEnabled)
        self.downtime_check.toggled.connect(self.down_end.setEnabled)
        self.down_start.setEnabled(False)
        self.down_end.setEnabled(False)
        self.outage_check = QCheckBox(self.tr("Service outage"))
        self.reason_edit = QPlainTextEdit()
        self.description_edit = QPlainTextEdit()
        self.impl_edit, self.backout_edit, self.test_edit = (QPlainTextEdit(), QPlainTextEdit(),
                                                             QPlainTextEdit())
        for e in (self.reason_edit, self.description_edit):
            e.setMaximumHeight(90)

        details = QWidget()
        form = QFormLayout(details)
        form.addRow(self.tr("&Title"), self.title_edit)
        row = QHBoxLayout()
        row.addWidget(self.type_box)
        row.addWidget(QLabel(self.tr("Category")))
        row.addWidget(self.category_edit, 1)
        form.addRow(self.tr("Type"), row)
        form.addRow(self.tr("Team"), self.team_box)
        self.people_label = QLabel()
        self.people_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        form.addRow(self.tr("People"), self.people_label)
        row = QHBoxLayout()
        row.addWidget(self.start_edit)
        row.addWidget(QLabel("–"))
        row.addWidget(self.end_edit)
        row.addStretch(1)
        form.addRow(self.tr("Planned window"), row)
        row = QHBoxLayout()
        row.addWidget(self.downtime_check)
        row.addWidget(self.down_start)
        row.addWidget(QLabel("–"))
        row.addWidget(self.down_end)
        row.addStretch(1)
        form.addRow(self.tr("Downtime"), row)
        form.addRow("", self.outage_check)
        form.addRow(self.tr("&Reason"), self.reason_edit)
        form.addRow(self.tr("&Description"), self.description_edit)

        plans = QWidget()
        pl = QFormLayout(plans)
        pl.addRow(self.tr("&Implementation plan"), self.impl_edit)
        pl.addRow(self.tr("&Backout plan"), self.backout_edit)
        pl.addRow(self.tr("Te&st plan"), self.test_edit)

        cis = QWidget()
        cl = QVBoxLayout(cis)
        cl.addWidget(QLabel(self.tr("Drop CIs here from the CMDB tree, or add one by name.")))
        self.ci_list = CIDropList()
        self.ci_list.setObjectName("affectedCIs")
        self.ci_list.sig_dropped.connect(self.add_cis)
        cl.addWidget(self.ci_list)
        row = QHBoxLayout()
        self.ci_name_edit = QLineEdit()
        self.ci_name_edit.setPlaceholderText(self.tr("CI name"))
        self.ci_name_edit.returnPressed.connect(self._add_ci_by_name)
        add = QPushButton(self.tr("Add"))
        add.clicked.connect(self._add_ci_by_name)
        remove = QPushButton(self.tr("Remove selected"))
        remove.clicked.connect(self._remove_cis)
        row.addWidget(self.ci_name_edit)
        row.addWidget(add)
        row.addWidget(remove)
        cl.addLayout(row)

        risk = QWidget()
        rl = QVBoxLayout(risk)
        self.risk_label = QLabel()
        self.risk_label.setObjectName("riskLabel")
        rl.addWidget(self.risk_label)
        self.factor_table = QTableWidget(0, 4)
        self.factor_table.setHorizontalHeaderLabels([self.tr("Factor"), self.tr("Points"),
                                                     self.tr("Weight"), self.tr("Why")])
        self.factor_table.horizontalHeader().setStretchLastSection(True)
        self.factor_table.verticalHeader().setVisible(False)
        self.factor_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        rl.addWidget(self.factor_table)
        self.assess_btn = QPushButton(self.tr("Assess risk"))
        self.assess_btn.clicked.connect(self.assess)
        rl.addWidget(self.assess_btn)
        box = QGroupBox(self.tr("Override"))
        ol = QHBoxLayout(box)
        self.override_box = QComboBox()
        self.override_box.addItem(self.tr("(computed)"), None)
        for level in RISK_LEVELS:
            self.override_box.addItem(word(level), level)
        self.override_reason = QLineEdit()
        self.override_reason.setPlaceholderText(self.tr("Reason (required)"))
        apply_btn = QPushButton(self.tr("Apply override"))
        apply_btn.clicked.connect(self.apply_override)
        ol.addWidget(self.override_box)
        ol.addWidget(self.override_reason, 1)
        ol.addWidget(apply_btn)
        rl.addWidget(box)
        rl.addWidget(QLabel(self.tr("Conflicts")))
        self.conflict_list = QListWidget()
        self.conflict_list.setObjectName("changeConflicts")
        rl.addWidget(self.conflict_list)

        pir = QWidget()
        prl = QFormLayout(pir)
        self.pir_box = QComboBox()
        for value in ("", "successful", "partially", "failed"):
            self.pir_box.addItem(value or self.tr("(not reviewed)"), value or None)
        self.pir_lessons = QPlainTextEdit()
        self.pir_incidents = QLineEdit()
        self.pir_incidents.setPlaceholderText("INC-000123, INC-000124")
        pir_btn = QPushButton(self.tr("Record review"))
        pir_btn.clicked.connect(self.save_pir)
        prl.addRow(self.tr("Outcome"), self.pir_box)
        prl.addRow(self.tr("Lessons"), self.pir_lessons)
        prl.addRow(self.tr("Incidents caused"), self.pir_incidents)
        prl.addRow("", pir_btn)

        self.tabs = QTabWidget()
        self.tabs.addTab(details, self.tr("Details"))
        self.tabs.addTab(plans, self.tr("Plans"))
        self.tabs.addTab(cis, self.tr("Affected CIs"))
        self.tabs.addTab(risk, self.tr("Risk and conflicts"))
        self.tabs.addTab(pir, self.tr("Review (PIR)"))

        self.buttons = QHBoxLayout()
        self.save_btn = QPushButton(self.tr("&Save"))
        self.save_btn.setToolTip("Ctrl+S")
        self.save_btn.clicked.connect(self.save)
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save)
        self.lifecycle_row = QHBoxLayout()
        self.buttons.addWidget(self.status_label)
        self.buttons.addLayout(self.lifecycle_row)
        self.buttons.addStretch(1)
        self.buttons.addWidget(self.save_btn)

        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(self.buttons)
        for w in (self.title_edit, self.category_edit):
            w.textChanged.connect(self._mark_dirty)
        for w in (self.reason_edit, self.description_edit, self.impl_edit, self.backout_edit,
                  self.test_edit):
            w.textChanged.connect(self._mark_dirty)

    def _mark_dirty(self, *_args) -> None:  # noqa: ANN002
        self.dirty = True

    # -- loading ---------------------------------------------------------------------------------
    def title(self) -> str:
        return self.change.ref if self.change else self.tr("New change")

    def load(self) -> None:
        from itsmdesk.services.change import changes as svc
        from itsmdesk.services.change import conflicts

        change = svc.get_change(self.change_id)
        self.change = change
        self.header.setText(f"{change.ref}: {change.title}")
        self.status_label.setText(self.tr("Status: %s") % word(change.status))
        self.title_edit.setText(change.title)
        self.type_box.setCurrentIndex(max(0, self.type_box.findData(change.type)))
        self.category_edit.setText(change.category or "")
        self.team_box.setCurrentIndex(max(0, self.team_box.findData(
            str(change.team_id) if change.team_id else None)))
        if change.planned_start:
            self.start_edit.setDateTime(_to_qdt(change.planned_start))
        if change.planned_end:
            self.end_edit.setDateTime(_to_qdt(change.planned_end))
        self.downtime_check.setChecked(bool(change.downtime_start))
        if change.downtime_start:
            self.down_start.setDateTime(_to_qdt(change.downtime_start))
            self.down_end.setDateTime(_to_qdt(change.downtime_end or change.downtime_start))
        self.outage_check.setChecked(bool(change.outage))
        for edit, value in ((self.reason_edit, change.reason),
                            (self.description_edit, change.description),
                            (self.impl_edit, change.implementation_plan),
                            (self.backout_edit, change.backout_plan),
                            (self.test_edit, change.test_plan),
                            (self.pir_lessons, change.pir_lessons)):
            edit.setPlainText(value or "")
        names = svc.names_for(change)
        self.people_label.setText(self.tr("Requester: %s · Implementer: %s") % (
            names["requester"] or "—", names["assignee"] or "—"))
        rows = svc.affected_ci_rows(change.id)
        self.ci_ids = [r["id"] for r in rows]
        self._show_cis(rows)
        self._show_risk(change.risk_score, change.risk_level, change.risk_factors,
                        change.risk_override, change.risk_override_reason)
        self.pir_box.setCurrentIndex(max(0, self.pir_box.findData(change.pir_outcome)))
        self.pir_incidents.setText(", ".join(svc.caused_incident_refs(change.id)))
        self.conflict_list.clear()
        for c in conflicts.for_change(change.id):
            self.conflict_list.addItem(template_text(c.template, c.params))
        self._update_buttons()
        self.dirty = False
        self.sig_title_changed.emit(self.title())

    def _show_cis(self, rows: list[dict]) -> None:
        self.ci_list.clear()
        for r in rows:
            item = QListWidgetItem(f"{r['name']}  ·  {r['class']}  ·  {r['criticality']}")
            item.setData(Qt.ItemDataRole.UserRole, r["id"])
            self.ci_list.addItem(item)

    def _show_risk(self, score, level, factors, override, reason) -> None:  # noqa: ANN001
        if score is None and not override:
            self.risk_label.setText(self.tr("Risk not assessed yet."))
        else:
            text = self.tr("Risk: %s (score %s)") % (word(override or level) or "—",
                                                     score if score is not None else "—")
            if override:
                text += " · " + self.tr("overridden from %s: %s") % (word(level) or "—", reason or "")
            self.risk_label.setText(text)
        self.factor_table.setRowCount(0)
        for f in factors or []:
            r = self.factor_table.rowCount()
            self.factor_table.insertRow(r)
            for c, value in enumerate((word(f["factor"]), f["points"], f["weight"],
                                       reason_text(f))):
                self.factor_table.setItem(r, c, QTableWidgetItem(str(value)))
        self.override_box.setCurrentIndex(max(0, self.override_box.findData(override)))
        self.override_reason.setText(reason or "")

    def _update_buttons(self) -> None:
        from itsmdesk.services.change.lifecycle import allowed_next

        while self.lifecycle_row.count():
            w = self.lifecycle_row.takeAt(0).widget()
            if w:
                w.deleteLater()
        self.lifecycle_buttons: dict[str, QPushButton] = {}
        if not self.change:
            return
        for rule in allowed_next(self.change.status, self.change.type):
            b = QPushButton(QCoreApplication.translate("errors", rule.label))  # an N_() label
            b.setObjectName(f"to_{rule.target}")
            b.clicked.connect(lambda _c=False, t=rule.target: self.transition(t))
            self.lifecycle_row.addWidget(b)
            self.lifecycle_buttons[rule.target] = b

    # -- editing ---------------------------------------------------------------------------------
    def values(self) -> dict:
        v = {"title": self.title_edit.text().strip(), "type": self.type_box.currentData(),
             "category": self.category_edit.text().strip() or None,
             "team": uuid.UUID(self.team_box.currentData()) if self.team_box.currentData()
             else None,
             "planned_start": _from_qdt(self.start_edit.dateTime()),
             "planned_end": _from_qdt(self.end_edit.dateTime()),
             "outage": self.outage_check.isChecked(),
             "reason": self.reason_edit.toPlainText() or None,
             "description": self.description_edit.toPlainText() or None,
             "implementation_plan": self.impl_edit.toPlainText() or None,
             "backout_plan": self.backout_edit.toPlainText() or None,
             "test_plan": self.test_edit.toPlainText() or None}
        if self.downtime_check.isChecked():
            v["downtime_start"] = _from_qdt(self.down_start.dateTime())
            v["downtime_end"] = _from_qdt(self.down_end.dateTime())
        else:
            v["downtime_start"] = v["downtime_end"] = None
        return v

    def save(self) -> bool:
        from itsmdesk.services.change import changes as svc

        try:
            if self.change is None:
                change = svc.create_change(self.values(), self.ctx.actor, cis=self.ci_ids)
                self.change_id = change.id
            else:
                change = svc.update_change(self.change.id, self.change.version, self.values(),
                                           self.ctx.actor)
                svc.set_affected_cis(change.id, self.ci_ids, self.ctx.actor)
        except ItsmError as exc:
            show_error(self, exc)
            return False
        self.ctx.records_changed("change", [change.id])
        self.load()
        return True

    def add_cis(self, ids: list) -> None:
        from itsmdesk.services.change.changes import describe_cis

        rows = describe_cis(ids)
        known = set(self.ci_ids)
        self.ci_ids += [r["id"] for r in rows if r["id"] not in known]
        self._show_cis(describe_cis(self.ci_ids))
        self.dirty = True

    def _add_ci_by_name(self) -> None:
        from itsmdesk.services.change.changes import find_ci_by_name

        row = find_ci_by_name(self.ci_name_edit.text())
        if row:
            self.add_cis([row["id"]])
            self.ci_name_edit.clear()

    def _remove_cis(self) -> None:
        gone = {i.data(Qt.ItemDataRole.UserRole) for i in self.ci_list.selectedItems()}
        self.ci_ids = [i for i in self.ci_ids if i not in gone]
        from itsmdesk.services.change.changes import describe_cis

        self._show_cis(describe_cis(self.ci_ids))
        self.dirty = True

    def transition(self, target: str) -> bool:
        from itsmdesk.services.change import changes as svc

        if self.dirty and not self.save():
            return False
        try:
            svc.transition(self.change.id, target, self.ctx.actor, version=self.change.version)
        except ItsmError as exc:
            show_error(self, exc)
            return False
        self.ctx.records_changed("change", [self.change.id])
        self.load()
        return True

    def assess(self) -> None:
        from itsmdesk.services.change import risk

        if self.change is None and not self.save():
            return
        try:
            risk.assess(self.change.id, self.ctx.actor)
        except ItsmError as exc:
            show_error(self, exc)
            return
        self.ctx.records_changed("change", [self.change.id])
        self.load()

    def apply_override(self) -> None:
        from itsmdesk.services.change import risk

        if self.change is None:
            return
        try:
            risk.override(self.change.id, self.change.version, self.override_box.currentData(),
                          self.override_reason.text(), self.ctx.actor)
        except ItsmError as exc:
            show_error(self, exc)
            return
        self.ctx.records_changed("change", [self.change.id])
        self.load()

    def save_pir(self) -> None:
        from itsmdesk.services.change.changes import record_pir_refs

        if self.change is None or not self.pir_box.currentData():
            return
        try:
            record_pir_refs(self.change.id, self.change.version, self.pir_box.currentData(),
                            self.pir_lessons.toPlainText(),
                            self.pir_incidents.text().replace(";", ",").split(","),
                            self.ctx.actor)
        except ItsmError as exc:
            show_error(self, exc)
            return
        self.ctx.records_changed("change", [self.change.id])
        self.load()

    def can_close(self) -> bool:
        return True


def create_form(ctx, record_id, window, kind: str = "change") -> QWidget:  # noqa: ANN001
    return ChangeForm(ctx, record_id, window)
