"""The RFC form: every field, affected CIs (drop CIs from the CMDB tree), risk with its factors
and override, conflicts, the lifecycle buttons that apply now (with a reason for the history),
rescheduling, the post-implementation review and the history."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from PySide6.QtCore import QCoreApplication, QDateTime, Qt, QTimeZone, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.i18n import reason_text, template_text
from itsmdesk.kinds import Kind
from itsmdesk.services.change import changes, risk
from itsmdesk.views.changes.form_actions import FormActions
from itsmdesk.views.forms.base import RecordForm
from itsmdesk.views.forms.common import header_label
from itsmdesk.views.timefmt import local_text
from itsmdesk.words import word

CI_MIME = "application/x-itsmdesk-ci"
TEXTS = ("reason", "description", "implementation_plan", "backout_plan", "test_plan")




def to_qdt(value: dt.datetime | None) -> QDateTime:
    """A stored (naive UTC) time as a local QDateTime."""
    if value is None:
        return QDateTime()
    q = QDateTime(value.date(), value.time(), QTimeZone.utc())
    return q.toLocalTime()


def from_qdt(q: QDateTime) -> dt.datetime | None:
    """A QDateTime as a stored (naive UTC) time, to the minute."""
    if not q.isValid():
        return None
    u = q.toUTC()
    d, t = u.date(), u.time()
    return dt.datetime(d.year(), d.month(), d.day(), t.hour(), t.minute())


def to_minute(value: dt.datetime | None) -> dt.datetime | None:
    """What an editor showing ``value`` gives back (editors hold minutes)."""
    return value.replace(second=0, microsecond=0) if value is not None else None


def dt_edit() -> QDateTimeEdit:
    edit = QDateTimeEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd HH:mm")
    return edit


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


class RescheduleDialog(QDialog):
    """A new planned window; the downtime window moves with it."""

    def __init__(self, start: dt.datetime | None, end: dt.datetime | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rescheduleDialog")
        self.setWindowTitle(QCoreApplication.translate("ChangeForm", "Reschedule"))
        self.start_edit, self.end_edit = dt_edit(), dt_edit()
        self.start_edit.setDateTime(to_qdt(start) if start else QDateTime.currentDateTime())
        self.end_edit.setDateTime(to_qdt(end) if end else
                                  self.start_edit.dateTime().addSecs(7200))
        form = QFormLayout(self)
        note = QLabel(QCoreApplication.translate("ChangeForm", "The downtime window moves by the same amount."))
        note.setWordWrap(True)
        form.addRow(note)
        form.addRow(QCoreApplication.translate("ChangeForm", "Planned &start"), self.start_edit)
        form.addRow(QCoreApplication.translate("ChangeForm", "Planned &end"), self.end_edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def chosen(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        return from_qdt(self.start_edit.dateTime()), from_qdt(self.end_edit.dateTime())


class RiskReasonDialog(QDialog):
    """Why the risk of an approved change changes: a new level sends it back for approval."""

    def __init__(self, ref: str, status: str, reason: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("riskReasonDialog")
        self.setWindowTitle(QCoreApplication.translate("ChangeForm", "Change the risk of an approved change"))
        text = QLabel(QCoreApplication.translate(
            "ChangeForm", "{ref} is {status}: it was approved with its current risk. If the "
            "level changes, the change goes back for approval (the CAB votes again). The "
            "reason is kept in its history.").format(ref=ref, status=word(status)))
        text.setWordWrap(True)
        self.reason_edit = QLineEdit(reason)
        self.reason_edit.setObjectName("riskReason")
        self.reason_edit.setPlaceholderText(QCoreApplication.translate("ChangeForm", "Reason (required)"))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(reason.strip()))
        self.reason_edit.textChanged.connect(lambda t: ok.setEnabled(bool(t.strip())))
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.reason_edit)
        layout.addWidget(self.buttons)
        self.resize(460, self.sizeHint().height())

    def reason(self) -> str:
        return self.reason_edit.text().strip()


class ChangeForm(FormActions, RecordForm):
    KIND = Kind.CHANGE

    # -- building ---------------------------------------------------------------------------------
    def build(self) -> None:
        self.setObjectName("changeForm")
        self.ci_rows: list[changes.AffectedCI] = []
        self._shown: dict[str, Any] = {}
        self.choices: changes.ChangeChoices | None = None
        self.header = header_label(QCoreApplication.translate("ChangeForm", "New change"))
        self.header.setWordWrap(True)
        self.status_label = QLabel(QCoreApplication.translate("ChangeForm", "new (draft)"))
        self.status_label.setObjectName("changeStatus")
        self.lifecycle_row = QHBoxLayout()
        self.lifecycle_buttons: dict[str, QPushButton] = {}
        self.transition_note = QLineEdit()
        self.transition_note.setObjectName("transitionNote")
        self.transition_note.setPlaceholderText(QCoreApplication.translate("ChangeForm", "Reason for the next step (kept in the history)"))
        steps = QHBoxLayout()
        steps.addWidget(self.status_label)
        steps.addLayout(self.lifecycle_row)
        steps.addStretch(1)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._details_tab(), QCoreApplication.translate("ChangeForm", "Details"))
        self.tabs.addTab(self._plans_tab(), QCoreApplication.translate("ChangeForm", "Plans"))
        self.tabs.addTab(self._cis_tab(), QCoreApplication.translate("ChangeForm", "Affected CIs"))
        self.tabs.addTab(self._risk_tab(), QCoreApplication.translate("ChangeForm", "Risk and conflicts"))
        self.tabs.addTab(self._pir_tab(), QCoreApplication.translate("ChangeForm", "Review (PIR)"))
        self.tabs.addTab(self.history, QCoreApplication.translate("ChangeForm", "Histor&y"))
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addLayout(steps)
        layout.addWidget(self.transition_note)
        layout.addWidget(self.tabs, 1)
        self.watch(self.title_edit, self.type_box, self.category_edit, self.team_box,
                   self.start_edit, self.end_edit, self.downtime_check, self.down_start,
                   self.down_end, self.outage_check, self.reason_edit, self.description_edit,
                   self.impl_edit, self.backout_edit, self.test_edit)
        self.title_edit.textEdited.connect(lambda _t: self.sig_title_changed.emit(self.tab_title()))
        self._update_actions()

    def _details_tab(self) -> QWidget:
        self.title_edit = QLineEdit()
        self.title_edit.setObjectName("titleEdit")
        self.type_box = QComboBox()
        for t in changes.CHANGE_TYPES:
            self.type_box.addItem(word(t), t)
        self.type_box.setCurrentIndex(self.type_box.findData("normal"))
        self.category_edit = QLineEdit()
        self.team_box = QComboBox()
        self.team_box.setObjectName("teamBox")
        self.team_box.addItem(QCoreApplication.translate("ChangeForm", "(no team)"), None)
        self.people_label = QLabel()
        self.people_label.setWordWrap(True)
        self.people_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.start_edit, self.end_edit = dt_edit(), dt_edit()
        self.reschedule_btn = QPushButton(QCoreApplication.translate("ChangeForm", "Re&schedule…"))
        self.reschedule_btn.setObjectName("rescheduleButton")
        self.reschedule_btn.setToolTip(QCoreApplication.translate("ChangeForm", "Move the planned window; the downtime window moves "
                                          "with it"))
        self.reschedule_btn.clicked.connect(self.reschedule)
        self.downtime_check = QCheckBox(QCoreApplication.translate("ChangeForm", "Downtime window"))
        self.down_start, self.down_end = dt_edit(), dt_edit()
        self.downtime_check.toggled.connect(self.down_start.setEnabled)
        self.downtime_check.toggled.connect(self.down_end.setEnabled)
        self.down_start.setEnabled(False)
        self.down_end.setEnabled(False)
        self.outage_check = QCheckBox(QCoreApplication.translate("ChangeForm", "Service outage"))
        self.reason_edit = QPlainTextEdit()
        self.description_edit = QPlainTextEdit()
        for e in (self.reason_edit, self.description_edit):
            e.setMaximumHeight(90)
            e.setTabChangesFocus(True)
        details = QWidget()
        form = QFormLayout(details)
        form.addRow(QCoreApplication.translate("ChangeForm", "&Title"), self.title_edit)
        row = QHBoxLayout()
        row.addWidget(self.type_box)
        row.addWidget(QLabel(QCoreApplication.translate("ChangeForm", "Category")))
        row.addWidget(self.category_edit, 1)
        form.addRow(QCoreApplication.translate("ChangeForm", "Type"), row)
        form.addRow(QCoreApplication.translate("ChangeForm", "Team"), self.team_box)
        form.addRow(QCoreApplication.translate("ChangeForm", "People"), self.people_label)
        row = QHBoxLayout()
        row.addWidget(self.start_edit)
        row.addWidget(QLabel("–"))
        row.addWidget(self.end_edit)
        row.addStretch(1)
        form.addRow(QCoreApplication.translate("ChangeForm", "Planned window"), row)
        row = QHBoxLayout()
        row.addWidget(self.reschedule_btn)
        row.addStretch(1)
        form.addRow("", row)
        form.addRow(QCoreApplication.translate("ChangeForm", "Downtime"), self.downtime_check)
        row = QHBoxLayout()
        row.addWidget(self.down_start)
        row.addWidget(QLabel("–"))
        row.addWidget(self.down_end)
        row.addStretch(1)
        form.addRow("", row)
        form.addRow("", self.outage_check)
        form.addRow(QCoreApplication.translate("ChangeForm", "&Reason"), self.reason_edit)
        form.addRow(QCoreApplication.translate("ChangeForm", "&Description"), self.description_edit)
        # what another tool's export said that has no edit here (read-only, shown when set)
        self.imported = {name: QLabel() for name in ("external_key", "opened_at",
                                                     "requested_end", "cab_approval_needed")}
        imported = QFormLayout()
        for name, label in (
                ("external_key", QCoreApplication.translate("ChangeForm", "Key in the old tool")),
                ("opened_at", QCoreApplication.translate("ChangeForm", "Raised")),
                ("requested_end", QCoreApplication.translate("ChangeForm", "Requested end")),
                ("cab_approval_needed", QCoreApplication.translate("ChangeForm", "CAB approval"))):
            self.imported[name].setObjectName(f"imported_{name}")
            self.imported[name].setTextInteractionFlags(
                Qt.TextInteractionFlag.TextSelectableByMouse)
            imported.addRow(label, self.imported[name])
        self.imported_form = imported
        self.imported_box = QGroupBox(QCoreApplication.translate("ChangeForm", "Imported"))
        self.imported_box.setObjectName("importedBox")
        self.imported_box.setLayout(imported)
        self.imported_box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.imported_box.setVisible(False)
        form.addRow(self.imported_box)
        # scrolls when short of room: with the Imported box the page asked 660 px, and the main
        # window grew past the screen (949 px of 900) when a bottom dock was open
        page = QScrollArea()
        page.setObjectName("changeDetailsPage")
        page.setWidgetResizable(True)
        page.setFrameShape(QFrame.Shape.NoFrame)
        page.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        page.setWidget(details)
        return page

    def _plans_tab(self) -> QWidget:
        self.impl_edit, self.backout_edit, self.test_edit = (QPlainTextEdit(), QPlainTextEdit(),
                                                             QPlainTextEdit())
        for e in (self.impl_edit, self.backout_edit, self.test_edit):
            e.setTabChangesFocus(True)
        plans = QWidget()
        form = QFormLayout(plans)
        form.addRow(QCoreApplication.translate("ChangeForm", "&Implementation plan"), self.impl_edit)
        form.addRow(QCoreApplication.translate("ChangeForm", "&Backout plan"), self.backout_edit)
        form.addRow(QCoreApplication.translate("ChangeForm", "Te&st plan"), self.test_edit)
        return plans

    def _cis_tab(self) -> QWidget:
        cis = QWidget()
        layout = QVBoxLayout(cis)
        layout.addWidget(QLabel(QCoreApplication.translate("ChangeForm", "Drop CIs here from the CMDB tree, or add one by name.")))
        self.ci_list = CIDropList()
        self.ci_list.setObjectName("affectedCIs")
        self.ci_list.sig_dropped.connect(self.add_cis)
        layout.addWidget(self.ci_list)
        row = QHBoxLayout()
        self.ci_name_edit = QLineEdit()
        self.ci_name_edit.setPlaceholderText(QCoreApplication.translate("ChangeForm", "CI name"))
        self.ci_name_edit.returnPressed.connect(self.add_ci_by_name)
        add = QPushButton(QCoreApplication.translate("ChangeForm", "Add"))
        add.clicked.connect(self.add_ci_by_name)
        remove = QPushButton(QCoreApplication.translate("ChangeForm", "Remove selected"))
        remove.clicked.connect(self.remove_cis)
        row.addWidget(self.ci_name_edit)
        row.addWidget(add)
        row.addWidget(remove)
        layout.addLayout(row)
        return cis

    def _risk_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.risk_label = QLabel()
        self.risk_label.setObjectName("riskLabel")
        self.risk_label.setWordWrap(True)
        layout.addWidget(self.risk_label)
        self.factor_table = QTableWidget(0, 4)
        self.factor_table.setHorizontalHeaderLabels([QCoreApplication.translate("ChangeForm", "Factor"), QCoreApplication.translate("ChangeForm", "Points"), QCoreApplication.translate("ChangeForm", "Weight"),
                                                     QCoreApplication.translate("ChangeForm", "Why")])
        self.factor_table.horizontalHeader().setStretchLastSection(True)
        self.factor_table.verticalHeader().setVisible(False)
        self.factor_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.factor_table.setObjectName("riskFactors")
        layout.addWidget(self.factor_table)
        self.factor_note = QLabel()
        self.factor_note.setObjectName("riskFactorNote")
        self.factor_note.setWordWrap(True)
        self.factor_note.hide()
        layout.addWidget(self.factor_note)
        self.assess_btn = QPushButton(QCoreApplication.translate("ChangeForm", "Assess risk"))
        self.assess_btn.setObjectName("assessButton")
        self.assess_btn.clicked.connect(self.assess)
        layout.addWidget(self.assess_btn)
        box = QGroupBox(QCoreApplication.translate("ChangeForm", "Override"))
        row = QHBoxLayout(box)
        self.override_box = QComboBox()
        self.override_box.addItem(QCoreApplication.translate("ChangeForm", "(computed)"), None)
        for level in changes.RISK_LEVELS:
            self.override_box.addItem(word(level), level)
        self.override_reason = QLineEdit()
        self.override_reason.setPlaceholderText(QCoreApplication.translate("ChangeForm", "Reason (required)"))
        self.override_btn = QPushButton(QCoreApplication.translate("ChangeForm", "Apply override"))
        self.override_btn.clicked.connect(self.apply_override)
        row.addWidget(self.override_box)
        row.addWidget(self.override_reason, 1)
        row.addWidget(self.override_btn)
        layout.addWidget(box)
        layout.addWidget(QLabel(QCoreApplication.translate("ChangeForm", "Conflicts")))
        self.conflict_list = QListWidget()
        self.conflict_list.setObjectName("changeConflicts")
        layout.addWidget(self.conflict_list)
        return page

    def _pir_tab(self) -> QWidget:
        pir = QWidget()
        form = QFormLayout(pir)
        self.pir_box = QComboBox()
        self.pir_box.addItem(QCoreApplication.translate("ChangeForm", "(not reviewed)"), None)
        for value in changes.PIR_OUTCOMES:
            self.pir_box.addItem(word(value), value)
        self.pir_lessons = QPlainTextEdit()
        self.pir_lessons.setTabChangesFocus(True)
        self.pir_incidents = QLineEdit()
        self.pir_incidents.setPlaceholderText("INC-000123, INC-000124")
        self.pir_btn = QPushButton(QCoreApplication.translate("ChangeForm", "Record review"))
        self.pir_btn.setObjectName("pirButton")
        self.pir_btn.clicked.connect(self.save_pir)
        self.pir_hint = QLabel()
        self.pir_hint.setWordWrap(True)
        form.addRow(self.pir_hint)
        form.addRow(QCoreApplication.translate("ChangeForm", "Outcome"), self.pir_box)
        form.addRow(QCoreApplication.translate("ChangeForm", "Lessons"), self.pir_lessons)
        form.addRow(QCoreApplication.translate("ChangeForm", "Incidents caused"), self.pir_incidents)
        form.addRow("", self.pir_btn)
        return pir

    # -- reading ----------------------------------------------------------------------------------
    def load_call(self):  # noqa: ANN201
        return changes.change_view, (self.record_id,)

    def new_call(self):  # noqa: ANN201
        return changes.change_choices, ()

    def show_new(self, data: changes.ChangeChoices | None = None) -> None:
        self._set_choices(data)
        start = QDateTime.currentDateTime().addDays(7)
        start.setTime(start.time().addSecs(-start.time().second()))
        self.start_edit.setDateTime(start)
        self.end_edit.setDateTime(start.addSecs(7200))
        self.down_start.setDateTime(start)
        self.down_end.setDateTime(start.addSecs(3600))
        self._update_actions()

    def _set_choices(self, choices: changes.ChangeChoices | None) -> None:
        self.choices = choices
        current = self.team_box.currentData()
        self.team_box.clear()
        self.team_box.addItem(QCoreApplication.translate("ChangeForm", "(no team)"), None)
        for tid, name in (choices.teams if choices else ()):
            self.team_box.addItem(name, str(tid))  # str: QVariant compares it in findData
        self.team_box.setCurrentIndex(max(0, self.team_box.findData(current)))

    def _show_imported(self, data: changes.ChangeView) -> None:
        needed = data.cab_approval_needed
        shown = {
            "external_key": data.external_key or "",
            "opened_at": local_text(data.opened_at) if data.opened_at else "",
            "requested_end": local_text(data.requested_end) if data.requested_end else "",
            "cab_approval_needed": "" if needed is None else (
                QCoreApplication.translate("ChangeForm", "needed") if needed else
                QCoreApplication.translate("ChangeForm", "not needed")),
        }
        for name, text in shown.items():
            self.imported[name].setText(text)
            self.imported_form.setRowVisible(self.imported[name], bool(text))
        self.imported_box.setVisible(any(shown.values()))

    def fill(self, data: changes.ChangeView) -> None:
        self._set_choices(data.choices)
        self.header.setText(f"{data.ref}: {data.title}")
        self.status_label.setText(QCoreApplication.translate("ChangeForm", "Status: %s") % word(data.status))
        self.title_edit.setText(data.title)
        self.type_box.setCurrentIndex(max(0, self.type_box.findData(data.type)))
        self.category_edit.setText(data.category or "")
        self.team_box.setCurrentIndex(max(0, self.team_box.findData(
            str(data.team_id) if data.team_id else None)))
        if data.team_id and self.team_box.findData(str(data.team_id)) < 0:
            self.team_box.addItem(data.team_name or str(data.team_id), str(data.team_id))
            self.team_box.setCurrentIndex(self.team_box.count() - 1)
        self.people_label.setText(QCoreApplication.translate("ChangeForm", "Requester: %s · Implementer: %s") % (
            data.requester_name or "—", data.assignee_name or "—"))
        start = to_qdt(data.planned_start) if data.planned_start else \
            QDateTime.currentDateTime().addDays(7)
        self.start_edit.setDateTime(start)
        self.end_edit.setDateTime(to_qdt(data.planned_end) if data.planned_end
                                  else start.addSecs(7200))
        self.downtime_check.setChecked(bool(data.downtime_start))
        if data.downtime_start:
            self.down_start.setDateTime(to_qdt(data.downtime_start))
            self.down_end.setDateTime(to_qdt(data.downtime_end or data.downtime_start))
        else:  # a suggestion, should the person tick "Downtime window"
            self.down_start.setDateTime(self.start_edit.dateTime())
            self.down_end.setDateTime(self.end_edit.dateTime())
        self.outage_check.setChecked(data.outage)
        self._show_imported(data)
        for edit, value in ((self.reason_edit, data.reason),
                            (self.description_edit, data.description),
                            (self.impl_edit, data.implementation_plan),
                            (self.backout_edit, data.backout_plan),
                            (self.test_edit, data.test_plan),
                            (self.pir_lessons, data.pir_lessons)):
            edit.setPlainText(value or "")
        self.ci_rows = list(data.cis)
        self._show_cis()
        self._show_risk(data)
        self.pir_box.setCurrentIndex(max(0, self.pir_box.findData(data.pir_outcome)))
        self.pir_incidents.setText(", ".join(data.incident_refs))
        self.conflict_list.clear()
        for c in data.conflicts:
            self.conflict_list.addItem(template_text(c.template, c.params))
        if not data.conflicts:
            item = QListWidgetItem(QCoreApplication.translate("ChangeForm", "No conflicts."))
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.conflict_list.addItem(item)
        self.transition_note.clear()
        self._lifecycle_buttons(data)
        self._update_actions()
        self._shown = self._values()

    def _show_cis(self) -> None:
        self.ci_list.clear()
        for r in sorted(self.ci_rows, key=lambda r: r.name.casefold()):
            item = QListWidgetItem(f"{r.name}  ·  {r.ci_class}  ·  {word(r.criticality)}")
            item.setData(Qt.ItemDataRole.UserRole, str(r.id))
            self.ci_list.addItem(item)

    def _show_risk(self, data: changes.ChangeView) -> None:
        score, level, override = data.risk_score, data.risk_level, data.risk_override
        if score is None and not override:
            self.risk_label.setText(QCoreApplication.translate("ChangeForm", "Risk not assessed yet."))
        else:
            text = QCoreApplication.translate("ChangeForm", "Risk: %s (score %s)") % (word(override or level) or "—",
                                                score if score is not None else "—")
            if override:
                text += " · " + QCoreApplication.translate("ChangeForm", "overridden from %s: %s") % (word(level) or "—",
                                                                 data.risk_override_reason or "")
            if data.status in risk.REAPPROVAL_STATUSES:
                text += " · " + QCoreApplication.translate(
                    "ChangeForm", "approved with this risk: a new level sends it back for approval")
            self.risk_label.setText(text)
        # the factors stored with the assessment; a risk set without one (imported, typed) has
        # none, and the table gives way to a note saying so
        no_factors = not data.risk_factors and (score is not None or bool(level))
        self.factor_table.setVisible(not no_factors)
        self.factor_note.setVisible(no_factors)
        self.factor_note.setText(QCoreApplication.translate(
            "ChangeForm", "No factors were stored with this risk: it was set without an "
            "assessment. Assessing the risk computes them and stores them with the change.")
            if no_factors else "")
        self.factor_table.setRowCount(0)
        for f in data.risk_factors:
            r = self.factor_table.rowCount()
            self.factor_table.insertRow(r)
            for c, value in enumerate((word(f.factor), f.points, f.weight, reason_text(f))):
                self.factor_table.setItem(r, c, QTableWidgetItem(str(value)))
        self.override_box.setCurrentIndex(max(0, self.override_box.findData(override)))
        self.override_reason.setText(data.risk_override_reason or "")

    def _lifecycle_buttons(self, data: changes.ChangeView | None) -> None:
        while self.lifecycle_row.count():
            w = self.lifecycle_row.takeAt(0).widget()
            if w:
                w.deleteLater()
        self.lifecycle_buttons = {}
        for target, label in (data.next_steps if data else ()):
            b = QPushButton(QCoreApplication.translate("errors", label))  # an N_() label
            b.setObjectName(f"to_{target}")
            b.clicked.connect(lambda _c=False, t=target: self.transition(t))
            if data is not None:
                from itsmdesk.services.permissions import transition_action
                from itsmdesk.views.signin import gate

                gate(b, self.ctx, transition_action(data.status, target))
            self.lifecycle_row.addWidget(b)
            self.lifecycle_buttons[target] = b

    def _update_actions(self) -> None:
        d = self.data
        status = d.status if d is not None else None
        self.transition_note.setVisible(bool(self.lifecycle_buttons))
        self.reschedule_btn.setEnabled(status in changes.RESCHEDULABLE)
        self.pir_btn.setEnabled(status in changes.PIR_STATUSES)
        self.pir_hint.setText("" if status in changes.PIR_STATUSES else
                              QCoreApplication.translate("ChangeForm", "The review follows implementation."))
        frozen = status in risk.FROZEN_STATUSES
        self.override_btn.setEnabled(d is not None and not frozen)
        self.assess_btn.setEnabled(not frozen)
        self.assess_btn.setToolTip(QCoreApplication.translate(
            "ChangeForm", "The change has started: its risk is history and is no longer "
            "re-assessed.") if frozen else "")
        self.assess_btn.setText(QCoreApplication.translate("ChangeForm", "Re-assess risk…")
                                if status in risk.REAPPROVAL_STATUSES
                                else QCoreApplication.translate("ChangeForm", "Assess risk"))

    def title(self) -> str:
        text = self.title_edit.text().strip() or QCoreApplication.translate("ChangeForm", "New change")
        return f"{self.data.ref} {text}" if self.data is not None else text

    # -- editing ----------------------------------------------------------------------------------
    def _values(self) -> dict[str, Any]:
        team = self.team_box.currentData()
        v: dict[str, Any] = {
            "title": self.title_edit.text().strip(), "type": self.type_box.currentData(),
            "category": self.category_edit.text().strip() or None,
            "team": uuid.UUID(team) if team else None,
            "planned_start": from_qdt(self.start_edit.dateTime()),
            "planned_end": from_qdt(self.end_edit.dateTime()),
            "outage": self.outage_check.isChecked(),
            "reason": self.reason_edit.toPlainText().strip() or None,
            "description": self.description_edit.toPlainText().strip() or None,
            "implementation_plan": self.impl_edit.toPlainText().strip() or None,
            "backout_plan": self.backout_edit.toPlainText().strip() or None,
            "test_plan": self.test_edit.toPlainText().strip() or None,
            "ci_ids": sorted((r.id for r in self.ci_rows), key=str)}
        if self.downtime_check.isChecked():
            v["downtime_start"] = from_qdt(self.down_start.dateTime())
            v["downtime_end"] = from_qdt(self.down_end.dateTime())
        else:
            v["downtime_start"] = v["downtime_end"] = None
        return v

    def edits(self) -> dict[str, Any]:
        values = self._values()
        if self.data is None:
            return {k: v for k, v in values.items() if v not in (None, "", [])}
        # versus what fill() showed of the read model (editors hold minutes; a change without a
        # planned window shows a suggestion, which is no edit until the person changes it)
        return {k: v for k, v in values.items() if v != self._shown.get(k)}

    def save_call(self, edits: dict[str, Any]):  # noqa: ANN201
        return changes.save_change, (self.record_id, self.version, edits, self.ctx.actor,
                                     self.new_id)

    def describe_value(self, field: str, value: Any) -> str:
        if field == "team":
            teams = dict((str(i), n) for i, n in (self.choices.teams if self.choices else ()))
            return teams.get(str(value), "") if value else ""
        if field == "ci_ids":
            names = {str(r.id): r.name for r in self.ci_rows}
            return ", ".join(names.get(str(i), str(i)) for i in value)
        if field == "type":
            return word(value)
        if isinstance(value, dt.datetime):
            return to_qdt(value).toString("yyyy-MM-dd HH:mm")
        return super().describe_value(field, value)

    # -- affected CIs (names looked up off the GUI thread) ------------------------------------------
    def add_cis(self, ids: list) -> None:
        self.ctx.query(changes.ci_rows, list(ids), on_done=self._add_ci_rows, owner=self)

    def _add_ci_rows(self, rows: tuple) -> None:
        known = {str(r.id) for r in self.ci_rows}
        new = [r for r in rows if str(r.id) not in known]
        if not new:
            return
        self.ci_rows += new
        self._show_cis()
        self.mark_dirty()

    def add_ci_by_name(self) -> None:
        name = self.ci_name_edit.text().strip()
        if not name:
            return

        def found(row: changes.AffectedCI | None) -> None:
            if row is None:
                self.say(QCoreApplication.translate("ChangeForm", "No CI named {name}").format(name=name), error=True)
                return
            self.ci_name_edit.clear()
            self._add_ci_rows((row,))

        self.ctx.query(changes.ci_row_by_name, name, on_done=found, owner=self)

    def remove_cis(self) -> None:
        gone = {i.data(Qt.ItemDataRole.UserRole) for i in self.ci_list.selectedItems()}
        if not gone:
            return
        self.ci_rows = [r for r in self.ci_rows if str(r.id) not in gone]
        self._show_cis()
        self.mark_dirty()

    # -- actions (each a write at the version the form holds; unsaved edits are saved first) ---------
    def transition(self, target: str) -> None:
        self.when_saved(lambda: self.act(
            changes.transition, self.record_id, self.version, target, self.ctx.actor, None,
            self.transition_note.text().strip() or None))

    def reschedule(self) -> None:
        self.when_saved(self._reschedule)

    def _reschedule(self) -> None:
        d = self.data
        dialog = RescheduleDialog(d.planned_start, d.planned_end, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        start, end = dialog.chosen()
        self.act(changes.reschedule, self.record_id, self.version, start, end, self.ctx.actor)

    def assess(self) -> None:
        self.when_saved(self._assess)

    def _assess(self) -> None:
        reason = self._approved_reason()
        if reason is False:
            return
        self.act(risk.reassess, self.record_id, self.ctx.actor, self.version, reason or None,
                 done=self._risk_changed)

    def apply_override(self) -> None:
        self.when_saved(self._apply_override)

    def _apply_override(self) -> None:
        level, text = self.override_box.currentData(), self.override_reason.text()
        reason = self._approved_reason(text)
        if reason is False:
            return
        self.act(risk.set_override, self.record_id, self.version, level,
                 reason or text, self.ctx.actor, done=self._risk_changed)

    def _approved_reason(self, suggestion: str = "") -> str | bool | None:
        """An approved change's risk changes only for a reason: asked here (False: cancelled;
        None: the change is not approved, no reason needed)."""
        d = self.data
        if d is None or d.status not in risk.REAPPROVAL_STATUSES:
            return None
        dialog = RiskReasonDialog(d.ref, d.status, suggestion, self)
        if dialog.exec() != QDialog.DialogCode.Accepted or not dialog.reason():
            return False
        return dialog.reason()

    def _risk_changed(self, done: risk.RiskChange) -> None:
        """Say what the assessment or override did."""
        c = done.change
        if done.sent_back_to:
            self.say(QCoreApplication.translate(
                "ChangeForm", "Risk changed from {old} to {new}: {ref} went back to {status} for "
                "approval.").format(old=word(done.level_before or "not_assessed"),
                                    new=word(done.level_after or "not_assessed"), ref=c.ref,
                                    status=word(c.status)))
        elif self.data is not None and self.data.status in risk.REAPPROVAL_STATUSES:
            self.say(QCoreApplication.translate(
                "ChangeForm", "Risk level unchanged ({level}): the approval stands.").format(
                    level=word(done.level_after or "not_assessed")))
        elif done.assessment is not None:
            self.say(QCoreApplication.translate(
                "ChangeForm", "Risk assessed: {level} (score {score}).").format(
                    level=word(done.assessment.level), score=done.assessment.score))

    def save_pir(self) -> None:
        if not self.pir_box.currentData():
            self.say(QCoreApplication.translate("ChangeForm", "Choose the review's outcome first."), error=True)
            return
        self.when_saved(lambda: self.act(
            changes.record_pir_refs, self.record_id, self.version, self.pir_box.currentData(),
            self.pir_lessons.toPlainText().strip(),
            self.pir_incidents.text().replace(";", ",").split(","), self.ctx.actor))


def create_form(ctx, record_id, window, kind: str = "change") -> QWidget:  # noqa: ANN001
    return ChangeForm(ctx, record_id)
