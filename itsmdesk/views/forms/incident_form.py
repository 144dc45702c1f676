"""The incident / service request form (a tab in the centre).

Left: who, what, where (caller, channel, title, description, category, CI and service, impact x
urgency -> priority, team and assignee), the lifecycle (status with pending reason and
resolution), and links (problem, change, known error, parent).  Right: announcements that touch
the CI, known errors and articles matching what the agent types, the category's diagnostic
script, the work log and attachments.

A CI dragged from the CMDB tree ("application/x-itsmdesk-ci") drops onto the form to set its CI.
A stale save (someone else saved first) opens the merge dialog: nothing is overwritten.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.errors import ConflictError
from itsmdesk.models.base import utcnow
from itsmdesk.models.incident import CHANNELS
from itsmdesk.services import search
from itsmdesk.services.servicedesk import incidents
from itsmdesk.services.servicedesk.priority import priority_for
from itsmdesk.views.context import AppContext
from itsmdesk.views.forms.incident_pickers import RecordPicker, ci_ids_from_mime
from itsmdesk.views.messages import error_text, show_error
from itsmdesk.views.queue.model import PRIORITY_COLOURS, format_remaining
from itsmdesk.views.timefmt import local_text
from itsmdesk.words import word


def tr(text: str) -> str:
    return QCoreApplication.translate("IncidentForm", text)


LEVELS = ((1, QT_TRANSLATE_NOOP("IncidentForm", "1 – high")),
          (2, QT_TRANSLATE_NOOP("IncidentForm", "2 – medium")),
          (3, QT_TRANSLATE_NOOP("IncidentForm", "3 – low")))
STATUS_LABELS = {"new": QT_TRANSLATE_NOOP("IncidentForm", "New"),
                 "approval": QT_TRANSLATE_NOOP("IncidentForm", "Awaiting approval"),
                 "assigned": QT_TRANSLATE_NOOP("IncidentForm", "Assigned"),
                 "in_progress": QT_TRANSLATE_NOOP("IncidentForm", "In progress"),
                 "pending": QT_TRANSLATE_NOOP("IncidentForm", "Pending"),
                 "resolved": QT_TRANSLATE_NOOP("IncidentForm", "Resolved"),
                 "fulfilled": QT_TRANSLATE_NOOP("IncidentForm", "Fulfilled"),
                 "closed": QT_TRANSLATE_NOOP("IncidentForm", "Closed"),
                 "cancelled": QT_TRANSLATE_NOOP("IncidentForm", "Cancelled")}
# form field -> service field, for the plain editable values
SIMPLE_FIELDS = ("title", "description", "channel", "impact", "urgency", "category", "team",
                 "assignee", "caller", "ci", "service", "major")


class IncidentForm(QWidget):
    sig_title_changed = Signal(str)
    """(tab title) after a save or load."""

    sig_saved = Signal(object)
    """(incident id) after a successful save."""

    def __init__(self, ctx: AppContext, record_id: Any = None, parent: QWidget | None = None,
                 kind: str = "incident") -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.record_id = record_id
        self.kind = kind
        self.version: int | None = None
        self.loaded: dict[str, Any] = {}
        self.data: dict[str, Any] = {}
        self.dirty = False
        self.setObjectName("incidentForm")
        self.setAcceptDrops(True)
        self.choices = incidents.choices(kind)
        self._suggest_timer = QTimer(self, singleShot=True, interval=400)
        self._suggest_timer.timeout.connect(self._suggest)
        self._build()
        self._countdown = QTimer(self, interval=30_000)
        self._countdown.timeout.connect(self._show_sla)
        self._countdown.start()
        if record_id is not None:
            self.reload()
        else:
            self._show_new()

    # -- building -----------------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return self.ctx.clock() if self.ctx.clock else utcnow()

    def _combo(self, name: str, items: list[tuple[Any, str]], none_label: str | None = None) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        if none_label is not None:
            combo.addItem(none_label, None)
        for value, label in items:
            combo.addItem(label, _key(value))
        combo.currentIndexChanged.connect(self._changed)
        return combo

    def _build(self) -> None:
        self.header = QLabel()
        self.header.setObjectName("formHeader")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        self.header.setMinimumWidth(200)
        self.sla_label = QLabel()
        self.sla_label.setObjectName("slaLabel")
        self.announcement = QLabel()
        self.announcement.setObjectName("announcementBanner")
        self.announcement.setWordWrap(True)
        self.announcement.hide()

        self.title_edit = QLineEdit()
        self.title_edit.setObjectName("title")
        self.title_edit.setPlaceholderText(QCoreApplication.translate("IncidentForm", "Short summary of what the caller reports"))
        self.description_edit = QPlainTextEdit()
        self.description_edit.setObjectName("description")
        self.description_edit.setPlaceholderText(QCoreApplication.translate("IncidentForm", "What happens, since when, what was tried"))
        self.description_edit.setMinimumHeight(80)
        self.caller = RecordPicker(self.ctx, search.find_people)
        self.caller.setObjectName("caller")
        self.channel = self._combo("channel", [(c, word(c)) for c in CHANNELS])
        self.category = self._combo("category", self.choices["category"], QCoreApplication.translate("IncidentForm", "(none)"))
        self.ci = RecordPicker(self.ctx, search.find_cis)
        self.ci.setObjectName("ci")
        self.ci.setPlaceholderText(QCoreApplication.translate("IncidentForm", "Type a CI name, or drop one from the CMDB"))
        self.service = RecordPicker(self.ctx, lambda t: search.find_cis(t, 20, services_only=True))
        self.service.setObjectName("service")
        self.impact = self._combo("impact", [(v, tr(label)) for v, label in LEVELS])
        self.urgency = self._combo("urgency", [(v, tr(label)) for v, label in LEVELS])
        self.impact.setCurrentIndex(2)
        self.urgency.setCurrentIndex(2)
        self.priority_label = QLabel()
        self.priority_label.setObjectName("priorityLabel")
        self.team = self._combo("team", self.choices["team"], QCoreApplication.translate("IncidentForm", "(no team)"))
        self.assignee = self._combo("assignee", self.choices["assignee"], QCoreApplication.translate("IncidentForm", "(nobody)"))
        self.major = QCheckBox(QCoreApplication.translate("IncidentForm", "Major incident"))
        self.major.setObjectName("major")
        for w in (self.title_edit, self.caller, self.ci, self.service):
            w.textEdited.connect(self._changed)
        self.description_edit.textChanged.connect(self._changed)
        self.major.toggled.connect(self._changed)
        self.impact.currentIndexChanged.connect(self._show_priority)
        self.urgency.currentIndexChanged.connect(self._show_priority)
        self.title_edit.textEdited.connect(lambda _t: self._suggest_timer.start())
        self.description_edit.textChanged.connect(self._suggest_timer.start)
        self.ci.sig_value_changed.connect(self._ci_changed)
        self.service.sig_value_changed.connect(self._ci_changed)
        self.category.currentIndexChanged.connect(self._show_script)

        what = QFormLayout()
        what.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        what.addRow(QCoreApplication.translate("IncidentForm", "Caller"), self.caller)
        what.addRow(QCoreApplication.translate("IncidentForm", "Channel"), self.channel)
        what.addRow(QCoreApplication.translate("IncidentForm", "Title"), self.title_edit)
        what.addRow(QCoreApplication.translate("IncidentForm", "Description"), self.description_edit)
        what.addRow(QCoreApplication.translate("IncidentForm", "Category"), self.category)
        what.addRow(QCoreApplication.translate("IncidentForm", "CI"), self.ci)
        what.addRow(QCoreApplication.translate("IncidentForm", "Service"), self.service)
        what.addRow(QCoreApplication.translate("IncidentForm", "Impact"), self.impact)
        prio = QHBoxLayout()
        prio.addWidget(self.urgency, 1)
        prio.addWidget(QLabel(QCoreApplication.translate("IncidentForm", "Priority")))
        prio.addWidget(self.priority_label)
        what.addRow(QCoreApplication.translate("IncidentForm", "Urgency"), prio)
        what.addRow(QCoreApplication.translate("IncidentForm", "Team"), self.team)
        what.addRow(QCoreApplication.translate("IncidentForm", "Assignee"), self.assignee)
        what.addRow("", self.major)

        # lifecycle
        self.status_label = QLabel()
        self.status_label.setObjectName("statusLabel")
        self.next_status = QComboBox()
        self.next_status.setObjectName("nextStatus")
        self.pending_reason = QLineEdit()
        self.pending_reason.setObjectName("pendingReason")
        self.pending_reason.setPlaceholderText(QCoreApplication.translate("IncidentForm", "Why is the ticket waiting? (needed for pending)"))
        self.resolution_code = QComboBox()
        self.resolution_code.setObjectName("resolutionCode")
        self.resolution_code.addItem("", None)
        for code in incidents.RESOLUTION_CODES:
            self.resolution_code.addItem(word(code), code)
        self.solution = QPlainTextEdit()
        self.solution.setObjectName("solution")
        self.solution.setMaximumHeight(70)
        self.solution.setPlaceholderText(QCoreApplication.translate("IncidentForm", "How it was solved (needed to resolve)"))
        self.move_button = QPushButton(QCoreApplication.translate("IncidentForm", "Move"))
        self.move_button.setObjectName("moveButton")
        self.move_button.setToolTip(QCoreApplication.translate("IncidentForm", "Apply the status change and save (Ctrl+Return)"))
        self.move_button.clicked.connect(self.move_status)
        move_row = QHBoxLayout()
        move_row.addWidget(self.next_status, 1)
        move_row.addWidget(self.move_button)
        life = QFormLayout()
        life.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        life.addRow(QCoreApplication.translate("IncidentForm", "Status"), self.status_label)
        life.addRow(QCoreApplication.translate("IncidentForm", "Move to"), move_row)
        life.addRow(QCoreApplication.translate("IncidentForm", "Pending reason"), self.pending_reason)
        life.addRow(QCoreApplication.translate("IncidentForm", "Resolution code"), self.resolution_code)
        life.addRow(QCoreApplication.translate("IncidentForm", "Solution"), self.solution)
        life_box = QGroupBox(QCoreApplication.translate("IncidentForm", "Lifecycle"))
        life_box.setLayout(life)

        # links
        self.problem_ref = QLineEdit()
        self.change_ref = QLineEdit()
        self.known_error_ref = QLineEdit()
        self.parent_ref = QLineEdit()
        for name, w, ph in (("problemRef", self.problem_ref, "PRB-000001"),
                            ("changeRef", self.change_ref, "CHG-000001"),
                            ("knownErrorRef", self.known_error_ref, "KE-000001"),
                            ("parentRef", self.parent_ref, "INC-000001")):
            w.setObjectName(name)
            w.setPlaceholderText(ph)
            w.textEdited.connect(self._changed)
        self.children_list = QListWidget()
        self.children_list.setObjectName("childrenList")
        self.children_list.setMaximumHeight(70)
        self.children_list.itemActivated.connect(self._open_item)
        links = QFormLayout()
        links.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        links.addRow(QCoreApplication.translate("IncidentForm", "Problem"), self.problem_ref)
        links.addRow(QCoreApplication.translate("IncidentForm", "Change"), self.change_ref)
        links.addRow(QCoreApplication.translate("IncidentForm", "Known error"), self.known_error_ref)
        links.addRow(QCoreApplication.translate("IncidentForm", "Parent"), self.parent_ref)
        links.addRow(QCoreApplication.translate("IncidentForm", "Child tickets"), self.children_list)
        links_box = QGroupBox(QCoreApplication.translate("IncidentForm", "Links"))
        links_box.setLayout(links)

        self.save_button = QPushButton(QCoreApplication.translate("IncidentForm", "Save"))
        self.save_button.setObjectName("saveButton")
        self.save_button.setDefault(True)
        self.save_button.setToolTip(QCoreApplication.translate("IncidentForm", "Save (Ctrl+S)"))
        self.save_button.clicked.connect(self.save)
        self.escalate_button = QPushButton(QCoreApplication.translate("IncidentForm", "Escalate…"))
        self.escalate_button.setObjectName("escalateButton")
        self.escalate_button.clicked.connect(self.escalate)
        buttons = QHBoxLayout()
        buttons.addWidget(self.escalate_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(what)
        left_layout.addWidget(life_box)
        left_layout.addWidget(links_box)
        left_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(left)

        right = QScrollArea()
        right.setWidgetResizable(True)
        right.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        right.setFrameShape(QFrame.Shape.NoFrame)
        right.setWidget(self._build_side())
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter

        head = QHBoxLayout()
        head.addWidget(self.header, 1)
        head.addWidget(self.sla_label)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.announcement)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)

        for text, shortcut, slot in ((QCoreApplication.translate("IncidentForm", "Save"), "Ctrl+S", self.save),
                                     (QCoreApplication.translate("IncidentForm", "Move status"), "Ctrl+Return", self.move_status),
                                     (QCoreApplication.translate("IncidentForm", "Add work log note"), "Ctrl+L", self._focus_note)):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)

    def _build_side(self) -> QWidget:
        from itsmdesk.views.forms.incident_side import SidePanel

        self.side = SidePanel(self)
        return self.side

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        """Side by side when there is room, else the work log goes below the details."""
        super().resizeEvent(event)
        wide = event.size().width() >= 880
        wanted = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.splitter.orientation() != wanted:
            self.splitter.setOrientation(wanted)

    # -- loading ------------------------------------------------------------------------------------
    def _show_new(self) -> None:
        self.header.setText("<h2>" + (QCoreApplication.translate("IncidentForm", "New service request") if self.kind == "request"
                                      else QCoreApplication.translate("IncidentForm", "New incident")) + "</h2>")
        if self.ctx.actor.person_id is not None:
            index = self.assignee.findData(_key(self.ctx.actor.person_id))
            if index >= 0:
                self.assignee.setCurrentIndex(index)
        self.status_label.setText(QCoreApplication.translate("IncidentForm", "New"))
        self.next_status.setEnabled(False)
        self.move_button.setEnabled(False)
        self.escalate_button.setEnabled(False)
        self.side.set_enabled_for_record(False)
        self._show_priority()
        self.dirty = False

    def reload(self) -> None:
        self.ctx.worker.submit(incidents.form_data, self.record_id, self.now(), on_done=self._loaded,
                               on_error=lambda e: show_error(self, e), key=f"form-{self.record_id}")

    def _loaded(self, data: dict[str, Any]) -> None:
        self.data = data
        self.loaded = dict(data)
        self.version = data["version"]
        self.kind = data["kind"]
        widgets = [self.title_edit, self.description_edit, self.channel, self.category, self.impact,
                   self.urgency, self.team, self.assignee, self.major, self.resolution_code]
        for w in widgets:
            w.blockSignals(True)
        self.title_edit.setText(data["title"] or "")
        self.description_edit.setPlainText(data["description"] or "")
        self._set_combo(self.channel, data["channel"])
        self._set_combo(self.category, data["category"])
        self._set_combo(self.impact, data["impact"])
        self._set_combo(self.urgency, data["urgency"])
        self._set_combo(self.team, data["team"])
        self._set_combo(self.assignee, data["assignee"])
        self._set_combo(self.resolution_code, data["resolution_code"])
        self.major.setChecked(bool(data["major"]))
        for w in widgets:
            w.blockSignals(False)
        self.caller.set_value(data["caller"], data["caller_name"])
        self.ci.set_value(data["ci"], data["ci_name"])
        self.service.set_value(data["service"], data["service_name"])
        self.pending_reason.setText(data["pending_reason"] or "")
        self.solution.setPlainText(data["solution"] or "")
        self.problem_ref.setText(data["problem_ref"])
        self.change_ref.setText(data["change_ref"])
        self.known_error_ref.setText(data["known_error_ref"])
        self.parent_ref.setText(data["parent_ref"])
        self.children_list.clear()
        for child in data["children"]:
            item = QListWidgetItem(f"{child['ref']}  {child['title']}  ({word(child['status'])})")
            item.setData(Qt.ItemDataRole.UserRole, child["id"])
            self.children_list.addItem(item)
        self.status_label.setText(f"<b>{tr(STATUS_LABELS.get(data['status'], data['status']))}</b>")
        self.next_status.clear()
        for s in data["allowed_statuses"]:
            label = QCoreApplication.translate("IncidentForm", "Reopen") if data["status"] in incidents.CLOSED_STATUSES and \
                s == "in_progress" else tr(STATUS_LABELS.get(s, s))
            self.next_status.addItem(label, s)
        self.next_status.setEnabled(bool(data["allowed_statuses"]))
        self.move_button.setEnabled(bool(data["allowed_statuses"]))
        self.escalate_button.setEnabled(True)
        self._show_header()
        self._show_priority()
        self._show_sla()
        self._show_announcements(data["announcements"])
        self.side.set_enabled_for_record(True)
        self.side.show_record(data)
        self._show_script()
        self._suggest()
        self.dirty = False
        self.sig_title_changed.emit(self.title())

    def _set_combo(self, combo: QComboBox, value: Any) -> None:
        value = _key(value)
        index = combo.findData(value)
        if index < 0 and value is not None:
            combo.addItem(str(value), value)
            index = combo.count() - 1
        combo.setCurrentIndex(max(index, 0))

    def _show_header(self) -> None:
        d = self.data
        kind = QCoreApplication.translate("IncidentForm", "Service request") if d.get("kind") == "request" else QCoreApplication.translate("IncidentForm", "Incident")
        self.header.setText(f"<h2 style='margin:0'>{d['ref']} <span style='font-weight:normal'>"
                            f"{_esc(d['title'])}</span></h2><span style='color:#666'>{kind} · "
                            f"{QCoreApplication.translate('IncidentForm', 'opened')} {local_text(d['opened_at'])}</span>")

    def _show_priority(self) -> None:
        impact, urgency = self.impact.currentData(), self.urgency.currentData()
        if impact is None or urgency is None:
            return
        p = priority_for(impact, urgency)
        self.priority_label.setText(f"<b style='color:{PRIORITY_COLOURS[p]}'>P{p}</b>")
        self.priority_label.setProperty("priority", p)

    def _show_sla(self) -> None:
        d = self.data
        if not d:
            self.sla_label.setText("")
            return
        state = d.get("sla_state") or "ok"
        due = d.get("resolution_due")
        if d.get("status") == "pending":
            text, colour = QCoreApplication.translate("IncidentForm", "SLA paused"), "#607d8b"
        elif d.get("status") in incidents.CLOSED_STATUSES:
            text = QCoreApplication.translate("IncidentForm", "SLA met") if state == "met" else QCoreApplication.translate("IncidentForm", "SLA breached")
            colour = "#2e7d32" if state == "met" else "#c62828"
        else:
            if due and self.now() > due:
                state = "breached"
            left = format_remaining(due, self.now())
            text = {"breached": QCoreApplication.translate("IncidentForm", "Breached {t}"), "at_risk": QCoreApplication.translate("IncidentForm", "At risk: {t} left")}.get(
                state, QCoreApplication.translate("IncidentForm", "{t} left")).format(t=left)
            colour = {"breached": "#c62828", "at_risk": "#ef6c00"}.get(state, "#2e7d32")
        self.sla_label.setText(f"<b style='color:{colour}'>{text}</b>")
        self.sla_label.setProperty("slaState", state)

    def _show_announcements(self, items: list[str]) -> None:
        if items:
            self.announcement.setText("⚠ " + QCoreApplication.translate("IncidentForm", "Announced for this CI/service: ") + "; ".join(items))
            self.announcement.show()
        else:
            self.announcement.hide()

    def _ci_changed(self, _value: Any = None) -> None:
        self._changed()
        ci, service = self.ci.value(), self.service.value()
        self.ctx.worker.submit(incidents.announcements_for_ticket, ci, service, self.now(),
                               on_done=self._show_announcements, key=f"ann-{id(self)}")

    def _show_script(self) -> None:
        self.side.show_script(incidents.diagnostic_script(_uuid(self.category.currentData())))

    def _suggest(self) -> None:
        text = f"{self.title_edit.text()} {self.description_edit.toPlainText()}"
        self.ctx.worker.submit(search.suggest, text, on_done=self.side.show_suggestions,
                               key=f"suggest-{id(self)}")

    def _changed(self, *_args: Any) -> None:
        self.dirty = True

    def _focus_note(self) -> None:
        self.side.note_edit.setFocus()

    def _open_item(self, item: QListWidgetItem) -> None:
        self.ctx.open_record("incident", item.data(Qt.ItemDataRole.UserRole))

    # -- drag and drop of CIs from the CMDB tree --------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        if ci_ids_from_mime(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: N802, ANN001
        if ci_ids_from_mime(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802, ANN001
        ids = ci_ids_from_mime(event.mimeData())
        if ids:
            self.set_ci(ids[0])
            event.acceptProposedAction()

    def set_ci(self, ci_id: Any) -> None:
        names = search.ci_names([ci_id])
        if ci_id in names:
            self.ci.set_value(ci_id, names[ci_id])

    # -- saving -------------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        return {
            "title": self.title_edit.text().strip(),
            "description": self.description_edit.toPlainText().strip() or None,
            "channel": self.channel.currentData(),
            "impact": self.impact.currentData(),
            "urgency": self.urgency.currentData(),
            "category": _uuid(self.category.currentData()),
            "team": _uuid(self.team.currentData()),
            "assignee": _uuid(self.assignee.currentData()),
            "caller": self.caller.value(),
            "ci": self.ci.value(),
            "service": self.service.value(),
            "major": self.major.isChecked(),
        }

    def _link_changes(self) -> dict[str, Any]:
        out = {}
        for kind, edit in (("problem", self.problem_ref), ("change", self.change_ref),
                           ("known_error", self.known_error_ref), ("parent", self.parent_ref)):
            if edit.text().strip().upper() != (self.loaded.get(f"{kind}_ref") or "").upper():
                out[kind] = incidents.resolve_ref(kind, edit.text())
        return out

    def changes(self) -> dict[str, Any]:
        """Fields the agent changed since loading."""
        current = self.values()
        out = {k: v for k, v in current.items()
               if str(v if v is not None else "") != str(self.loaded.get(k) if self.loaded.get(k)
                                                         is not None else "")}
        for name, edit in (("pending_reason", self.pending_reason),):
            text = edit.text().strip() or None
            if text != self.loaded.get(name) and self.loaded.get("status") == "pending":
                out[name] = text
        return out

    def save(self, extra: dict[str, Any] | None = None) -> bool:
        """Save; returns True when saved.  A stale edit opens the merge dialog instead."""
        try:
            if self.record_id is None:
                values = {k: v for k, v in self.values().items() if v is not None}
                values["kind"] = self.kind
                values.update(self._link_changes())
                values["opened_at"] = self.now()
                row = incidents.create_incident(values, self.ctx.actor)
                self.record_id = row.id
                self.setProperty("recordKey", f"{self.kind}:{row.id}")
            else:
                changes = {**self.changes(), **self._link_changes(), **(extra or {})}
                if not changes:
                    self.ctx.sig_status.emit(QCoreApplication.translate("IncidentForm", "Nothing to save"))
                    return True
                row = incidents.update_incident(self.record_id, self.version, changes,
                                                self.ctx.actor, now=self.now())
        except ConflictError as exc:
            return self._merge(exc, extra)
        except Exception as exc:  # noqa: BLE001 - every domain error is shown, never raised
            show_error(self, exc)
            return False
        self.ctx.records_changed("incident", [row.id])
        self.ctx.sig_status.emit(QCoreApplication.translate("IncidentForm", "Saved {ref}").format(ref=row.ref))
        self.sig_saved.emit(row.id)
        self._after_save(row)
        return True

    def _after_save(self, row) -> None:  # noqa: ANN001
        self.ctx.worker.submit(incidents.form_data, row.id, self.now(), on_done=self._loaded,
                               on_error=lambda e: show_error(self, e))

    def _merge(self, exc: ConflictError, extra: dict[str, Any] | None) -> bool:
        from itsmdesk.views.forms.merge_dialog import MergeDialog

        mine = {**self.changes(), **(extra or {})}
        dialog = MergeDialog(error_text(exc), mine, exc.current, exc.changed_fields, self)
        self.last_merge_dialog = dialog
        if not dialog.exec():
            return False
        keep = dialog.result_changes()
        self.version = exc.current.get("version")
        self.loaded.update({k: exc.current.get(k) for k in exc.current})
        try:
            row = incidents.update_incident(self.record_id, self.version, keep, self.ctx.actor,
                                            now=self.now()) if keep else None
        except Exception as again:  # noqa: BLE001
            show_error(self, again)
            return False
        self.ctx.records_changed("incident", [self.record_id])
        self._after_save(row or incidents.records.get(incidents.Incident, self.record_id))
        return True

    def move_status(self) -> None:
        target = self.next_status.currentData()
        if target is None or self.record_id is None:
            return
        extra: dict[str, Any] = {"status": target}
        if target == "pending":
            extra["pending_reason"] = self.pending_reason.text().strip()
        if target in ("resolved", "fulfilled"):
            extra["resolution_code"] = self.resolution_code.currentData()
            extra["solution"] = self.solution.toPlainText().strip()
        was_major = self.data.get("major")
        if self.save(extra) and target in ("resolved", "fulfilled") and was_major \
                and incidents.open_children(self.record_id):
            answer = QMessageBox.question(
                self, QCoreApplication.translate("IncidentForm", "Resolve child tickets"),
                QCoreApplication.translate("IncidentForm", "This major incident has open child tickets. Resolve them too?"))
            if answer == QMessageBox.StandardButton.Yes:
                self.resolve_children()

    def resolve_children(self) -> int:
        n = incidents.resolve_children(self.record_id, self.ctx.actor, now=self.now())
        self.ctx.records_changed("incident", [])
        self.reload()
        return n

    def escalate(self) -> None:
        if self.record_id is None:
            return
        kinds = [QCoreApplication.translate("IncidentForm", "To another team (functional)"), QCoreApplication.translate("IncidentForm", "To the team lead (hierarchical)")]
        choice, ok = QInputDialog.getItem(self, QCoreApplication.translate("IncidentForm", "Escalate"), QCoreApplication.translate("IncidentForm", "How?"), kinds, 0, False)
        if not ok:
            return
        if choice == kinds[0]:
            names = [label for _v, label in self.choices["team"]]
            team, ok = QInputDialog.getItem(self, QCoreApplication.translate("IncidentForm", "Escalate"), QCoreApplication.translate("IncidentForm", "Team"), names, 0, False)
            if not ok:
                return
            team_id = self.choices["team"][names.index(team)][0]
            reason, ok = QInputDialog.getText(self, QCoreApplication.translate("IncidentForm", "Escalate"), QCoreApplication.translate("IncidentForm", "Reason"))
            if ok:
                self.escalate_to_team(team_id, reason)
        else:
            reason, ok = QInputDialog.getText(self, QCoreApplication.translate("IncidentForm", "Escalate"), QCoreApplication.translate("IncidentForm", "Reason"))
            if ok:
                self.escalate_to_manager(reason)

    def escalate_to_team(self, team_id: Any, reason: str) -> bool:
        try:
            row = incidents.escalate_to_team(self.record_id, self.version, team_id, reason,
                                             self.ctx.actor)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return False
        self.ctx.records_changed("incident", [row.id])
        self._after_save(row)
        return True

    def escalate_to_manager(self, reason: str) -> bool:
        try:
            notes = incidents.escalate_to_manager(self.record_id, reason, self.ctx.actor, self.now())
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return False
        self.ctx.sig_status.emit(QCoreApplication.translate("IncidentForm", "{n} people notified").format(n=len(notes)))
        self.reload()
        return True

    # -- tab contract -------------------------------------------------------------------------------
    def title(self) -> str:
        if self.data:
            return self.data["ref"]
        return QCoreApplication.translate("IncidentForm", "New request") if self.kind == "request" else QCoreApplication.translate("IncidentForm", "New incident")

    def can_close(self) -> bool:
        if not self.dirty:
            return True
        answer = QMessageBox.question(
            self, QCoreApplication.translate("IncidentForm", "Unsaved changes"), QCoreApplication.translate("IncidentForm", "Discard the changes to {t}?").format(t=self.title()))
        return answer == QMessageBox.StandardButton.Yes


def _key(value: Any) -> Any:
    """Combo data: ids as text (Qt compares Python objects by identity)."""
    import uuid

    return str(value) if isinstance(value, uuid.UUID) else value


def _uuid(value: Any) -> Any:
    import uuid

    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return value


def _esc(text: str) -> str:
    import html

    return html.escape(text or "")


def create_form(ctx: AppContext, record_id: Any, window, kind: str = "incident") -> QWidget:  # noqa: ANN001
    return IncidentForm(ctx, record_id, window, kind=kind)
