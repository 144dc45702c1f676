"""The incident / service request form (a tab in the centre; a :class:`RecordForm`).

Left: who, what, where (caller, channel, title, description, category, CI and service, impact x
urgency -> priority, team and assignee), the lifecycle (status with pending reason and
resolution), and links (problem, change, known error, parent, child tickets).  Right:
known errors and articles matching what the agent types, the category's diagnostic script, the
work log and attachments.  A History tab shows who changed what.

The form opens at once and fills in when its read model (``incidents.incident_view``) arrives;
a new ticket first asks ``incidents.new_ticket`` for the pickers' choices.  The priority preview
and the SLA countdown are computed here from the read model (the priority matrix comes with
it); the announcement banner for the chosen CI/service and the suggestions are queries of their
own.  Saving is ``incidents.save_incident`` with the edits; a status move is a save with the
status and what it needs (pending reason, resolution code, solution).  Every other action
(escalate, add a note or a file, record a diagnosis, link a known error or a child ticket) is a
write with the version the form holds; with unsaved edits the form saves them first.

A CI dragged from the CMDB tree ("application/x-itsmdesk-ci") drops onto the form to set its CI.
"""

from __future__ import annotations

import datetime as dt
import html
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QLocale, Qt, QTimer
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
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.kinds import Kind
from itsmdesk.services import search
from itsmdesk.services.clock import utcnow
from itsmdesk.services.problem import kedb
from itsmdesk.services.servicedesk import incidents
from itsmdesk.services.servicedesk.sla import shown_state
from itsmdesk.views import style
from itsmdesk.views.forms.base import RecordForm
from itsmdesk.views.queue.incident_pickers import RecordPicker, ci_ids_from_mime
from itsmdesk.views.queue.incident_side import SidePanel
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
RESOLVING = ("resolved", "fulfilled")
LINKS = ("problem", "change", "known_error", "parent")
COUNTDOWN_MS = 30_000


class IncidentForm(RecordForm):
    KIND = Kind.INCIDENT  # a service request is a ticket of the same record kind

    def __init__(self, ctx, record_id: Any = None, parent: QWidget | None = None,  # noqa: ANN001
                 kind: str = "incident") -> None:
        self.ticket_kind = kind if kind in ("incident", "request") else "incident"
        self.choices: incidents.TicketChoices | None = None
        self._move: dict[str, Any] | None = None
        self._suggested_for: str | None = None
        self._announced_for: tuple[str, str] | None = None
        self._saved_ref: str | None = None
        super().__init__(ctx, record_id, parent)
        self.sig_saved.connect(self._saved_key)
        ctx.sig_changes.connect(self._announcements_changed)

    # -- building -----------------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return self.ctx.clock() if self.ctx.clock else utcnow()

    def _combo(self, name: str, items: list[tuple[Any, str]],
               none_label: str | None = None) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        combo.setProperty("noneLabel", none_label)
        if none_label is not None:
            combo.addItem(none_label, None)
        for value, label in items:
            combo.addItem(label, _key(value))
        return combo

    def build(self) -> Iterator[None]:
        """In steps (see RecordForm): the fields, the lifecycle and links, the side panel."""
        self.setObjectName("incidentForm")
        self.setAcceptDrops(True)
        self._suggest_timer = QTimer(self, singleShot=True, interval=400)
        self._suggest_timer.timeout.connect(self._suggest)
        self._countdown = QTimer(self, interval=COUNTDOWN_MS)
        self._countdown.timeout.connect(self._show_sla)
        self._countdown.start()

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
        style.banner(self.announcement)
        self.announcement.hide()

        self.title_edit = QLineEdit()
        self.title_edit.setObjectName("title")
        self.title_edit.setPlaceholderText(QCoreApplication.translate("IncidentForm", "Short summary of what the caller reports"))
        self.description_edit = QPlainTextEdit()
        self.description_edit.setObjectName("description")
        self.description_edit.setPlaceholderText(QCoreApplication.translate("IncidentForm", "What happens, since when, what was tried"))
        self.description_edit.setMinimumHeight(80)
        self.description_edit.setTabChangesFocus(True)
        self.caller = RecordPicker(self.ctx, search.find_people)
        self.caller.setObjectName("caller")
        self.channel = self._combo("channel", [(c, word(c)) for c in incidents.CHANNELS])
        self.category = self._combo("category", [], QCoreApplication.translate("IncidentForm", "(none)"))
        self.ci = RecordPicker(self.ctx, search.find_cis)
        self.ci.setObjectName("ci")
        self.ci.setPlaceholderText(QCoreApplication.translate("IncidentForm", "Type a CI name, or drop one from the CMDB"))
        self.service = RecordPicker(self.ctx, search.find_cis, None, 20, True)
        self.service.setObjectName("service")
        self.impact = self._combo("impact", [(v, tr(label)) for v, label in LEVELS])
        self.urgency = self._combo("urgency", [(v, tr(label)) for v, label in LEVELS])
        self.impact.setCurrentIndex(2)
        self.urgency.setCurrentIndex(2)
        self.priority_label = QLabel()
        self.priority_label.setObjectName("priorityLabel")
        self.team = self._combo("team", [], QCoreApplication.translate("IncidentForm", "(no team)"))
        self.assignee = self._combo("assignee", [], QCoreApplication.translate("IncidentForm", "(nobody)"))
        self.major = QCheckBox(QCoreApplication.translate("IncidentForm", "Major incident"))
        self.major.setObjectName("major")
        self.impact.currentIndexChanged.connect(self._show_priority)
        self.urgency.currentIndexChanged.connect(self._show_priority)
        self.title_edit.textEdited.connect(lambda _t: self._suggest_timer.start())
        self.description_edit.textChanged.connect(self._description_changed)
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
        yield

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
        self.solution.setTabChangesFocus(True)
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
        self.link_edits = {"problem": self.problem_ref, "change": self.change_ref,
                           "known_error": self.known_error_ref, "parent": self.parent_ref}
        # A hint, not something that reads like a linked record: "Reference, e.g. PRB-000123"
        # in the placeholder's muted colour.
        for name, w, example in (("problemRef", self.problem_ref, "PRB-000123"),
                                 ("changeRef", self.change_ref, "CHG-000123"),
                                 ("knownErrorRef", self.known_error_ref, "KE-000123"),
                                 ("parentRef", self.parent_ref, "INC-000123")):
            w.setObjectName(name)
            w.setPlaceholderText(QCoreApplication.translate(
                "IncidentForm", "Reference, e.g. {example}").format(example=example))
            w.setClearButtonEnabled(True)
        self.children_list = QListWidget()
        self.children_list.setObjectName("childrenList")
        self.children_list.setMaximumHeight(70)
        self.children_list.itemActivated.connect(self._open_item)
        self.link_child_button = QPushButton(QCoreApplication.translate("IncidentForm", "Link child ticket…"))
        self.link_child_button.setObjectName("linkChildButton")
        self.link_child_button.setToolTip(QCoreApplication.translate("IncidentForm", "Make another ticket a child of this one (this one "
                                             "becomes a major incident)"))
        self.link_child_button.clicked.connect(self._ask_child)
        children = QVBoxLayout()
        children.addWidget(self.children_list)
        children.addWidget(self.link_child_button, 0, Qt.AlignmentFlag.AlignRight)
        links = QFormLayout()
        links.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        links.addRow(QCoreApplication.translate("IncidentForm", "Problem"), self.problem_ref)
        links.addRow(QCoreApplication.translate("IncidentForm", "Change"), self.change_ref)
        links.addRow(QCoreApplication.translate("IncidentForm", "Known error"), self.known_error_ref)
        links.addRow(QCoreApplication.translate("IncidentForm", "Parent"), self.parent_ref)
        links.addRow(QCoreApplication.translate("IncidentForm", "Child tickets"), children)
        # the service desk contacts (calls, e-mails) this ticket came from
        self.interactions_list = QListWidget()
        self.interactions_list.setObjectName("interactionsList")
        self.interactions_list.setMaximumHeight(70)
        links.addRow(QCoreApplication.translate("IncidentForm", "Interactions"),
                     self.interactions_list)
        self.links_form = links
        links_box = QGroupBox(QCoreApplication.translate("IncidentForm", "Links"))
        links_box.setLayout(links)

        # what another tool's export said that has no edit here (read-only)
        self.imported = {name: QLabel() for name in ("external_key", "caused_by_ci",
                                                     "reopened_at", "reassignments",
                                                     "handle_hours")}
        imported = QFormLayout()
        for name, label in (
                ("external_key", QCoreApplication.translate("IncidentForm", "Key in the old tool")),
                ("caused_by_ci", QCoreApplication.translate("IncidentForm", "Caused by CI")),
                ("reopened_at", QCoreApplication.translate("IncidentForm", "Reopened")),
                ("reassignments", QCoreApplication.translate("IncidentForm", "Reassignments")),
                ("handle_hours", QCoreApplication.translate("IncidentForm", "Handle time"))):
            self.imported[name].setObjectName(f"imported_{name}")
            self.imported[name].setTextInteractionFlags(
                Qt.TextInteractionFlag.TextSelectableByMouse)
            imported.addRow(label, self.imported[name])
        self.imported_form = imported
        self.imported_box = QGroupBox(QCoreApplication.translate("IncidentForm", "Imported"))
        self.imported_box.setObjectName("importedBox")
        self.imported_box.setLayout(imported)
        self.imported_box.setVisible(False)

        left = QWidget()
        left.setObjectName("ticketDetails")
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(what)
        left_layout.addWidget(life_box)
        left_layout.addWidget(links_box)
        left_layout.addWidget(self.imported_box)
        left_layout.addStretch(1)
        self.details = left
        yield

        # Details and the side panel (suggestions, work log, files) side by side in a wide tab,
        # one below the other in a narrow one; either way ONE scroll area holds both, so a
        # narrow form scrolls as one page (not two scroll bars stacked in one column).
        self.side = SidePanel(self)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        scroll = QScrollArea()
        scroll.setObjectName("ticketPage")
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(splitter)
        self.page = scroll

        self.tabs = QTabWidget()
        self.tabs.setObjectName("incidentTabs")
        self.tabs.addTab(scroll, QCoreApplication.translate("IncidentForm", "&Details"))
        self.tabs.addTab(self.history, QCoreApplication.translate("IncidentForm", "Histor&y"))
        from itsmdesk.views.mail.thread_view import MailThreadView

        self.mail_thread = MailThreadView(self.ctx, self)  # the ticket's mails (issue 20)
        self.tabs.addTab(self.mail_thread, QCoreApplication.translate("IncidentForm", "&Mail"))

        head = QHBoxLayout()
        head.addWidget(self.header, 1)
        head.addWidget(self.sla_label)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.announcement)
        layout.addWidget(self.tabs, 1)

        self.escalate_button = QPushButton(QCoreApplication.translate("IncidentForm", "Escalate…"))
        self.escalate_button.setObjectName("escalateButton")
        self.escalate_button.clicked.connect(self.escalate)
        self.escalate_button.setEnabled(False)
        self.button_row.insertWidget(0, self.escalate_button)

        for text, shortcut, slot in ((QCoreApplication.translate("IncidentForm", "Move status"), "Ctrl+Return", self.move_status),
                                     (QCoreApplication.translate("IncidentForm", "Add work log note"), "Ctrl+L", self._focus_note)):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)

        self.watch(self.title_edit, self.description_edit, self.caller, self.channel,
                   self.category, self.ci, self.service, self.impact, self.urgency, self.team,
                   self.assignee, self.major, self.resolution_code, self.solution,
                   self.problem_ref, self.change_ref, self.known_error_ref, self.parent_ref)
        # the pending reason is an edit of a pending ticket; otherwise it waits for a move
        self.pending_reason.textEdited.connect(
            lambda _t: self.mark_dirty() if self._status() == "pending" else None)

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        """Side by side when there is room, else the work log goes below the details."""
        super().resizeEvent(event)
        if not hasattr(self, "splitter"):
            return  # (still being built)
        wide = event.size().width() >= 880
        wanted = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.splitter.orientation() != wanted:
            self.splitter.setOrientation(wanted)
            # below the details the side panel keeps the height it needs (the work log is not
            # squeezed to a line); beside them it takes the column's height
            self.side.setMinimumHeight(0 if wide else self.side.sizeHint().height())

    # -- reading ------------------------------------------------------------------------------------
    def load_call(self):  # noqa: ANN201
        return incidents.incident_view, (self.record_id, self.ctx.actor)

    def new_call(self):  # noqa: ANN201
        return incidents.new_ticket, (self.ticket_kind,)

    def show_new(self, data: incidents.NewTicketView | None = None) -> None:
        if data is not None:
            self._set_choices(data.choices)
            _set_combo(self.channel, data.channel)
            _set_combo(self.impact, data.impact)
            _set_combo(self.urgency, data.urgency)
        self.header.setText("<h2>" + html.escape(self.title()) + "</h2>")
        if self.ctx.actor.person_id is not None:
            index = self.assignee.findData(_key(self.ctx.actor.person_id))
            if index >= 0:
                self.assignee.setCurrentIndex(index)
        self.status_label.setText(QCoreApplication.translate("IncidentForm", "New"))
        for w in (self.next_status, self.move_button, self.escalate_button,
                  self.link_child_button):
            w.setEnabled(False)
        self.side.set_enabled_for_record(False)
        self._show_priority()
        self._show_script()

    def fill(self, data: incidents.IncidentView) -> None:
        self.ticket_kind = data.kind
        self._set_choices(data.choices)
        self.title_edit.setText(data.title or "")
        self.description_edit.setPlainText(data.description or "")
        _set_combo(self.channel, data.channel, word(data.channel))
        _set_combo(self.category, data.category_id, data.category_name)
        _set_combo(self.impact, data.impact)
        _set_combo(self.urgency, data.urgency)
        _set_combo(self.team, data.team_id, data.team_name)
        _set_combo(self.assignee, data.assignee_id, data.assignee_name)
        _set_combo(self.resolution_code, data.resolution_code, word(data.resolution_code or ""))
        self.major.setChecked(data.major)
        self.caller.set_value(data.caller_id, data.caller_name)
        self.ci.set_value(data.ci_id, data.ci_name)
        self.service.set_value(data.service_id, data.service_name)
        self.pending_reason.setText(data.pending_reason or "")
        self.solution.setPlainText(data.solution or "")
        for name, edit in self.link_edits.items():
            edit.setText(getattr(data, f"{name}_ref"))
        for edit in (self.title_edit, self.caller, self.ci, self.service):
            edit.setCursorPosition(0)  # a long value shows its beginning
        self._show_imported(data)
        self.children_list.clear()
        for child in data.children:
            item = QListWidgetItem(f"{child.ref}  {child.title}  ({word(child.status)})")
            item.setData(Qt.ItemDataRole.UserRole, child.id)
            self.children_list.addItem(item)
        self.status_label.setText(f"<b>{tr(STATUS_LABELS.get(data.status, data.status))}</b>")
        self.next_status.clear()
        for s in data.allowed_statuses:
            label = QCoreApplication.translate("IncidentForm", "Reopen") if data.status in incidents.CLOSED_STATUSES and \
                s == "in_progress" else tr(STATUS_LABELS.get(s, s))
            self.next_status.addItem(label, s)
        self.next_status.setEnabled(bool(data.allowed_statuses))
        self.move_button.setEnabled(bool(data.allowed_statuses))
        self.escalate_button.setEnabled(True)
        self.link_child_button.setEnabled(True)
        self.side.set_enabled_for_record(True)
        self.side.show_record(data)
        self._show_header(data)
        self._show_priority()
        self._show_sla()
        self._show_script()
        self._ask_announcements()
        self.mail_thread.show_ticket(self.record_id)
        if self._suggested_for is None:  # first load; later the agent's typing asks for them
            self._suggest()

    def _show_imported(self, data: incidents.IncidentView) -> None:
        """The interactions it came from, and what an import kept that has no edit here."""
        self.interactions_list.clear()
        for contact in data.interactions:
            item = QListWidgetItem(f"{contact.ref}  {local_text(contact.contacted_at)}  "
                                   f"{word(contact.channel)}  {contact.summary}")
            item.setData(Qt.ItemDataRole.UserRole, contact.id)
            self.interactions_list.addItem(item)
        self.links_form.setRowVisible(self.interactions_list, bool(data.interactions))
        hours = data.handle_hours
        shown = {
            "external_key": data.external_key or "",
            "caused_by_ci": data.caused_by_ci_name,
            "reopened_at": local_text(data.reopened_at) if data.reopened_at else "",
            "reassignments": "" if data.reassignments is None else str(data.reassignments),
            "handle_hours": "" if hours is None else QCoreApplication.translate(
                "IncidentForm", "{hours} h").format(hours=QLocale().toString(hours, "f", 1)),
        }
        for name, text in shown.items():
            self.imported[name].setText(text)
            self.imported_form.setRowVisible(self.imported[name], bool(text))
        self.imported_box.setVisible(any(shown.values()))

    def _set_choices(self, choices: incidents.TicketChoices) -> None:
        self.choices = choices
        for combo, items in ((self.team, choices.teams), (self.assignee, choices.assignees),
                             (self.category, [(c.id, c.name) for c in choices.categories])):
            current = combo.currentData()
            combo.clear()
            combo.addItem(combo.property("noneLabel"), None)
            for value, label in items:
                combo.addItem(label, _key(value))
            combo.setCurrentIndex(max(0, combo.findData(current)))

    def title(self) -> str:
        if self.data is not None:
            return self.data.ref
        if self._saved_ref:  # saved, not read back yet
            return self._saved_ref
        if self.record_id is not None:
            return QCoreApplication.translate("IncidentForm", "Service request") if self.ticket_kind == "request" else QCoreApplication.translate("IncidentForm", "Incident")
        return QCoreApplication.translate("IncidentForm", "New request") if self.ticket_kind == "request" else QCoreApplication.translate("IncidentForm", "New incident")

    def tab_title(self) -> str:
        """The tab: the reference and then the ticket's title ("INC-000102 Checkout fails…");
        a crowded tab bar elides the title, never the reference."""
        text = super().tab_title()
        if self.data is None or not self.data.title:
            return text
        return text.replace(self.data.ref, f"{self.data.ref} {self.data.title}", 1)

    def _status(self) -> str:
        return self.data.status if self.data is not None else "new"

    def _show_header(self, d: incidents.IncidentView) -> None:
        kind = QCoreApplication.translate("IncidentForm", "Service request") if d.kind == "request" else QCoreApplication.translate("IncidentForm", "Incident")
        # (outside the f-string: the string extractor did not see it there, it stayed English)
        opened = QCoreApplication.translate("IncidentForm", "opened")
        self.header.setText(f"<h2 style='margin:0'>{d.ref} <span style='font-weight:normal'>"
                            f"{html.escape(d.title or '')}</span></h2><span style='color:#666'>"
                            f"{kind} · {opened} {local_text(d.opened_at)}</span>")

    def _show_priority(self) -> None:
        """The priority impact x urgency gives, from the matrix that came with the read model."""
        impact, urgency = self.impact.currentData(), self.urgency.currentData()
        if impact is None or urgency is None or self.choices is None:
            self.priority_label.setText("")
            return
        p = self.choices.priority(impact, urgency)
        self.priority_label.setText(f"<b style='color:{PRIORITY_COLOURS[p]}'>P{p}</b>")
        self.priority_label.setProperty("priority", p)

    def _show_sla(self) -> None:
        """The SLA countdown, from the read model's due dates and the clock (no query)."""
        d = self.data
        if d is None:
            self.sla_label.setText("")
            return
        due = d.resolution_due
        now = self.now()
        # the stored state, 'breached' once a running ticket passes its due (the SLA clock's
        # rules: services/servicedesk/sla.py); a pause after the due never undoes a breach
        state = shown_state(d.sla_state, d.status, due, now)
        if d.status == "pending" and state != "breached":
            state, text, colour = "paused", QCoreApplication.translate("IncidentForm", "SLA paused"), "#607d8b"
        elif d.status in incidents.CLOSED_STATUSES:
            text = QCoreApplication.translate("IncidentForm", "SLA met") if state == "met" else QCoreApplication.translate("IncidentForm", "SLA breached")
            colour = "#2e7d32" if state == "met" else "#c62828"
        else:
            left = format_remaining(due, now)
            text = {"breached": QCoreApplication.translate("IncidentForm", "Breached {t}"), "at_risk": QCoreApplication.translate("IncidentForm", "At risk: {t} left")}.get(
                state, QCoreApplication.translate("IncidentForm", "{t} left")).format(t=left)
            colour = {"breached": "#c62828", "at_risk": "#ef6c00"}.get(state, "#2e7d32")
        self.sla_label.setText(f"<b style='color:{colour}'>{text}</b>")
        self.sla_label.setProperty("slaState", state)

    def _ci_changed(self, _value: Any) -> None:
        if not self._filling:  # fill() asks once, after every picker is set
            self._ask_announcements()

    def _ask_announcements(self, again: bool = False) -> None:
        """Announcements touching the chosen CI/service: a query keyed per form (a newer choice
        supersedes an answer still on its way), asked when the choice changes."""
        chosen = (str(self.ci.value()), str(self.service.value()))
        if chosen == self._announced_for and not again:
            return
        self._announced_for = chosen
        self.ctx.query(incidents.announcements_for_ticket, self.ci.value(), self.service.value(),
                       self.now(), on_done=self._show_announcements,
                       on_error=lambda _e: self.announcement.hide(),
                       key=f"incident-announcements-{id(self)}", owner=self)

    def _announcements_changed(self, changes: Any) -> None:
        if self._announced_for is not None and changes.touches(Kind.ANNOUNCEMENT):
            self._ask_announcements(again=True)

    def _show_announcements(self, items: list[str]) -> None:
        if items:
            self.announcement.setText("⚠ " + QCoreApplication.translate("IncidentForm", "Announced for this CI/service: ")
                                      + "; ".join(items))
            self.announcement.show()
        else:
            self.announcement.hide()

    def _show_script(self, *_args: Any) -> None:
        script = self.choices.script(self.category.currentData()) if self.choices else ()
        self.side.show_script(script)

    def _description_changed(self) -> None:
        if not self._filling:
            self._suggest_timer.start()

    def _suggest(self) -> None:
        text = f"{self.title_edit.text()} {self.description_edit.toPlainText()}".strip()
        if text == self._suggested_for:
            return
        self._suggested_for = text
        self.ctx.query(search.suggest, text, on_done=self.side.show_suggestions,
                       on_error=lambda _e: self.side.show_suggestions([]),  # a hint, not a task
                       key=f"incident-suggest-{id(self)}", owner=self)

    def _focus_note(self) -> None:
        self.tabs.setCurrentIndex(0)
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
        """Set the CI by id; its name is looked up by a query."""
        def found(names: dict[Any, str]) -> None:
            if ci_id in names:
                self.ci.set_value(ci_id, names[ci_id])

        self.ctx.query(search.ci_names, [ci_id], on_done=found, owner=self,
                       key=f"incident-drop-{id(self)}")

    # -- saving -------------------------------------------------------------------------------------
    def _values(self) -> dict[str, Any]:
        values = {
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
            "resolution_code": self.resolution_code.currentData(),
            "solution": self.solution.toPlainText().strip() or None,
            **{name: edit.text().strip().upper() for name, edit in self.link_edits.items()},
        }
        if self._status() == "pending":
            values["pending_reason"] = self.pending_reason.text().strip() or None
        return values

    def _loaded_values(self) -> dict[str, Any]:
        d = self.data
        return {"title": d.title, "description": d.description, "channel": d.channel,
                "impact": d.impact, "urgency": d.urgency, "category": d.category_id,
                "team": d.team_id, "assignee": d.assignee_id, "caller": d.caller_id,
                "ci": d.ci_id, "service": d.service_id, "major": d.major,
                "resolution_code": d.resolution_code, "solution": d.solution,
                "pending_reason": d.pending_reason,
                **{name: getattr(d, f"{name}_ref").upper() for name in LINKS}}

    def edits(self) -> dict[str, Any]:
        values = self._values()
        if self.data is None:
            out = {k: v for k, v in values.items() if v not in (None, "", False)}
            out["kind"] = self.ticket_kind
            return out
        was = self._loaded_values()
        out = {k: v for k, v in values.items() if not _same(v, was[k])}
        if self._move:
            out.update(self._move)
        return out

    def save_call(self, edits: dict[str, Any]):  # noqa: ANN201
        return incidents.save_incident, (self.record_id, self.version, edits, self.ctx.actor,
                                         self.new_id, self.now())

    def saved_id(self, result: Any) -> Any:
        # an action waiting for this save (after_save) writes at the version the save made
        if getattr(result, "version", None) is not None:
            self.version = result.version
        self._saved_ref = getattr(result, "ref", None)
        return result.id

    def _saved_key(self, record_id: Any) -> None:
        self.setProperty("recordKey", f"{self.ticket_kind}:{record_id}")
        # The ticket exists from now on: its work log takes notes at once, not only once the
        # saved ticket has been read back (that read may be slow, or fail).
        self.side.set_enabled_for_record(True)

    def describe_value(self, field: str, value: Any) -> str:
        if value is None or value == "":
            return ""
        if field in ("team", "assignee", "category") and self.choices is not None:
            items = {"team": self.choices.teams, "assignee": self.choices.assignees,
                     "category": [(c.id, c.name) for c in self.choices.categories]}[field]
            for item_id, name in items:
                if str(item_id) == str(value):
                    return name
        if field in ("caller", "ci", "service"):
            picker = getattr(self, field)
            if str(picker.value()) == str(value):
                return picker.text()
        if field in ("impact", "urgency"):
            return tr(dict(LEVELS).get(value, str(value)))
        if field == "status":
            return tr(STATUS_LABELS.get(value, value))
        if field in ("channel", "resolution_code"):
            return word(value)
        return super().describe_value(field, value)

    # -- status moves -------------------------------------------------------------------------------
    def move_status(self) -> None:
        """Apply the chosen status (with what it needs) and save, together with any edits."""
        target = self.next_status.currentData()
        if target is None or self.data is None or self._save_ticket is not None:
            return
        move: dict[str, Any] = {"status": target}
        if target == "pending":
            move["pending_reason"] = self.pending_reason.text().strip()
        if target in RESOLVING:
            move["resolution_code"] = self.resolution_code.currentData()
            move["solution"] = self.solution.toPlainText().strip()
        if target in RESOLVING and self.data.major and self.data.open_children:
            self.after_save(self._offer_resolve_children)
        self._move = move
        try:
            self.save()
        finally:
            self._move = None

    def _offer_resolve_children(self) -> None:
        answer = QMessageBox.question(
            self, QCoreApplication.translate("IncidentForm", "Resolve child tickets"),
            QCoreApplication.translate("IncidentForm", "This major incident has open child tickets. Resolve them too?"))
        if answer == QMessageBox.StandardButton.Yes:
            self.resolve_children()

    def resolve_children(self) -> None:
        self.act(incidents.resolve_children, self.record_id, self.ctx.actor, self.now(),
                 done=lambda n: self.say(QCoreApplication.translate("IncidentForm", "{n} child tickets resolved").format(n=n)))

    # -- the other actions: writes with the version the form holds -------------------------------
    def escalate(self) -> None:
        if self.record_id is None or self.choices is None:
            return
        kinds = [QCoreApplication.translate("IncidentForm", "To another team (functional)"), QCoreApplication.translate("IncidentForm", "To the team lead (hierarchical)")]
        choice, ok = QInputDialog.getItem(self, QCoreApplication.translate("IncidentForm", "Escalate"), QCoreApplication.translate("IncidentForm", "How?"), kinds, 0, False)
        if not ok:
            return
        if choice == kinds[0]:
            names = [label for _v, label in self.choices.teams]
            if not names:
                return
            team, ok = QInputDialog.getItem(self, QCoreApplication.translate("IncidentForm", "Escalate"), QCoreApplication.translate("IncidentForm", "Team"), names, 0, False)
            if not ok:
                return
            team_id = self.choices.teams[names.index(team)][0]
            reason, ok = QInputDialog.getText(self, QCoreApplication.translate("IncidentForm", "Escalate"), QCoreApplication.translate("IncidentForm", "Reason"))
            if ok:
                self.escalate_to_team(team_id, reason)
        else:
            reason, ok = QInputDialog.getText(self, QCoreApplication.translate("IncidentForm", "Escalate"), QCoreApplication.translate("IncidentForm", "Reason"))
            if ok:
                self.escalate_to_manager(reason)

    def escalate_to_team(self, team_id: Any, reason: str) -> None:
        """Functional escalation."""
        self.when_saved(lambda: self.act(incidents.escalate_to_team, self.record_id,
                                         self.version, team_id, reason, self.ctx.actor))

    def escalate_to_manager(self, reason: str) -> None:
        """Hierarchical escalation: the team lead (and the assignee's manager) are notified."""
        self.when_saved(lambda: self.act(
            incidents.escalate_to_manager, self.record_id, reason, self.ctx.actor, self.now(),
            self.version,
            done=lambda notes: self.say(QCoreApplication.translate("IncidentForm", "{n} people notified").format(n=len(notes)))))

    def add_note(self, text: str, public: bool = False) -> None:
        self.when_saved(lambda: self.act(
            incidents.add_work_log, self.record_id, text, self.ctx.actor, public, 0,
            self.version, done=lambda _row: self.side.note_added()))

    def attach(self, path: str) -> None:
        self.when_saved(lambda: self.act(incidents.add_attachment, self.record_id, path,
                                         self.ctx.actor, None, self.version))

    def fetch_attachment(self, attachment_id: Any, on_done: Callable[[Any], None]) -> None:
        self.ctx.query(incidents.attachment_data, attachment_id, on_done=on_done, owner=self)

    def record_diagnosis(self, answers: list[tuple[str, str]], route: Any) -> None:
        self.when_saved(lambda: self.act(incidents.record_diagnosis, self.record_id, answers,
                                         route, self.ctx.actor, self.version))

    def link_known_error(self, ke_id: Any, apply_workaround: bool = False) -> None:
        """Link a suggested known error (and, ``apply_workaround``, note its workaround)."""
        fn = kedb.apply_workaround if apply_workaround else kedb.link_incident
        self.when_saved(lambda: self.act(fn, self.record_id, ke_id, self.ctx.actor,
                                         self.version))

    def _ask_child(self) -> None:
        ref, ok = QInputDialog.getText(self, QCoreApplication.translate("IncidentForm", "Link child ticket"),
                                       QCoreApplication.translate("IncidentForm", "Reference of the child ticket (INC-… or REQ-…)"))
        if ok and ref.strip():
            self.link_child(ref.strip())

    def link_child(self, child_ref: str) -> None:
        """Make the ticket ``child_ref`` a child of this one (which becomes major)."""
        self.when_saved(lambda: self.act(incidents.link_child_ref, self.record_id, self.version,
                                         child_ref, self.ctx.actor))


def _key(value: Any) -> Any:
    """Combo data: ids as text (Qt compares Python objects by identity)."""
    return str(value) if isinstance(value, uuid.UUID) else value


def _uuid(value: Any) -> Any:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return value


def _same(a: Any, b: Any) -> bool:
    """Equal as the form shows them (None and "" alike, ids as text)."""
    def norm(v: Any) -> str:
        return "" if v is None else str(v)
    return norm(a) == norm(b)


def _set_combo(combo: QComboBox, value: Any, label: str = "") -> None:
    value = _key(value)
    index = combo.findData(value)
    if index < 0 and value is not None:
        combo.addItem(label or str(value), value)
        index = combo.count() - 1
    combo.setCurrentIndex(max(index, 0))


def create_form(ctx, record_id: Any, window, kind: str = "incident") -> QWidget:  # noqa: ANN001
    return IncidentForm(ctx, record_id, kind=kind)
