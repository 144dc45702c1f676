"""The saved-queue editor: name, shared, filters (field, operator, value), sort, visible columns.

Creates a new saved queue or edits one (version-checked: a stale edit shows the conflict and
changes nothing).  The dialog opens at once and fills in when its data (the value pickers, the
shared flag: ``queues.editor_data``) has been read; Save stays disabled until then.  While the
filters change, a "matches N tickets" count is read off the GUI thread
(``queues.count_definition``).  Save is one write; the dialog closes when it went through and
stays open with the error's sentence when it did not.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QDate, QEvent, Qt, QTimer
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services.servicedesk import queues
from itsmdesk.views.context import AppContext
from itsmdesk.views.layout import boxed, button_row, edit_table
from itsmdesk.views.messages import error_text, show_error
from itsmdesk.views.numfmt import grouped

CONTEXT = "QueueEditor"



FIELD_LABELS = {
    "ref": QT_TRANSLATE_NOOP("QueueEditor", "Reference"),
    "priority": QT_TRANSLATE_NOOP("QueueEditor", "Priority"),
    "title": QT_TRANSLATE_NOOP("QueueEditor", "Title"),
    "status": QT_TRANSLATE_NOOP("QueueEditor", "Status"),
    "sla_state": QT_TRANSLATE_NOOP("QueueEditor", "SLA"),
    "resolution_due": QT_TRANSLATE_NOOP("QueueEditor", "Due"),
    "team": QT_TRANSLATE_NOOP("QueueEditor", "Team"),
    "assignee": QT_TRANSLATE_NOOP("QueueEditor", "Assignee"),
    "caller": QT_TRANSLATE_NOOP("QueueEditor", "Caller"),
    "category": QT_TRANSLATE_NOOP("QueueEditor", "Category"),
    "ci": QT_TRANSLATE_NOOP("QueueEditor", "CI"),
    "opened_at": QT_TRANSLATE_NOOP("QueueEditor", "Opened"),
    "updated_at": QT_TRANSLATE_NOOP("QueueEditor", "Updated"),
    "kind": QT_TRANSLATE_NOOP("QueueEditor", "Kind"),
    "channel": QT_TRANSLATE_NOOP("QueueEditor", "Channel"),
    "impact": QT_TRANSLATE_NOOP("QueueEditor", "Impact"),
    "urgency": QT_TRANSLATE_NOOP("QueueEditor", "Urgency"),
    "resolved_at": QT_TRANSLATE_NOOP("QueueEditor", "Resolved"),
}
OP_LABELS = {
    "eq": QT_TRANSLATE_NOOP("QueueEditor", "is"),
    "ne": QT_TRANSLATE_NOOP("QueueEditor", "is not"),
    "in": QT_TRANSLATE_NOOP("QueueEditor", "is one of"),
    "not_in": QT_TRANSLATE_NOOP("QueueEditor", "is none of"),
    "lt": QT_TRANSLATE_NOOP("QueueEditor", "less than"),
    "le": QT_TRANSLATE_NOOP("QueueEditor", "at most"),
    "gt": QT_TRANSLATE_NOOP("QueueEditor", "more than"),
    "ge": QT_TRANSLATE_NOOP("QueueEditor", "at least"),
    "null": QT_TRANSLATE_NOOP("QueueEditor", "is empty"),
    "not_null": QT_TRANSLATE_NOOP("QueueEditor", "is not empty"),
    "contains": QT_TRANSLATE_NOOP("QueueEditor", "contains"),
}
DATE_OP_LABELS = {
    "lt": QT_TRANSLATE_NOOP("QueueEditor", "before"),
    "le": QT_TRANSLATE_NOOP("QueueEditor", "on or before"),
    "gt": QT_TRANSLATE_NOOP("QueueEditor", "after"),
    "ge": QT_TRANSLATE_NOOP("QueueEditor", "on or after"),
}
VALUE_LABELS = {  # fixed values the service lists in English
    "new": QT_TRANSLATE_NOOP("QueueEditor", "new"),
    "approval": QT_TRANSLATE_NOOP("QueueEditor", "approval"),
    "assigned": QT_TRANSLATE_NOOP("QueueEditor", "assigned"),
    "in progress": QT_TRANSLATE_NOOP("QueueEditor", "in progress"),
    "pending": QT_TRANSLATE_NOOP("QueueEditor", "pending"),
    "resolved": QT_TRANSLATE_NOOP("QueueEditor", "resolved"),
    "closed": QT_TRANSLATE_NOOP("QueueEditor", "closed"),
    "fulfilled": QT_TRANSLATE_NOOP("QueueEditor", "fulfilled"),
    "cancelled": QT_TRANSLATE_NOOP("QueueEditor", "cancelled"),
    "ok": QT_TRANSLATE_NOOP("QueueEditor", "ok"),
    "at risk": QT_TRANSLATE_NOOP("QueueEditor", "at risk"),
    "breached": QT_TRANSLATE_NOOP("QueueEditor", "breached"),
    "paused": QT_TRANSLATE_NOOP("QueueEditor", "paused"),
    "met": QT_TRANSLATE_NOOP("QueueEditor", "met"),
    "incident": QT_TRANSLATE_NOOP("QueueEditor", "incident"),
    "request": QT_TRANSLATE_NOOP("QueueEditor", "request"),
    "phone": QT_TRANSLATE_NOOP("QueueEditor", "phone"),
    "email": QT_TRANSLATE_NOOP("QueueEditor", "email"),
    "portal": QT_TRANSLATE_NOOP("QueueEditor", "portal"),
    "walk in": QT_TRANSLATE_NOOP("QueueEditor", "walk in"),
    "chat": QT_TRANSLATE_NOOP("QueueEditor", "chat"),
    "monitoring": QT_TRANSLATE_NOOP("QueueEditor", "monitoring"),
    "1 high": QT_TRANSLATE_NOOP("QueueEditor", "1 high"),
    "2 medium": QT_TRANSLATE_NOOP("QueueEditor", "2 medium"),
    "3 low": QT_TRANSLATE_NOOP("QueueEditor", "3 low"),
}
TRANSLATED_CHOICES = {"status", "sla_state", "kind", "channel", "impact", "urgency"}
ORDERED_CHOICES = {"priority", "impact", "urgency"}
TEXT_FIELDS = {"ref", "title"}
DAYS_PREFIX = "$days:"


def field_label(name: str) -> str:
    return QCoreApplication.translate(CONTEXT, FIELD_LABELS.get(name, name))


def ops_for(name: str) -> list[str]:
    """The operators that make sense for a field (the editor offers only these)."""
    nulls = ["null", "not_null"] if name in queues.NULLABLE_FILTERS else []
    if name in queues.DATE_FILTERS:
        return ["lt", "le", "gt", "ge"] + nulls
    if name in TEXT_FIELDS:
        return ["contains", "eq", "ne"] + nulls
    ordered = ["lt", "le", "gt", "ge"] if name in ORDERED_CHOICES else []
    return ["eq", "ne", "in", "not_in"] + ordered + nulls


def op_label(name: str, op: str) -> str:
    if name in queues.DATE_FILTERS and op in DATE_OP_LABELS:
        return QCoreApplication.translate(CONTEXT, DATE_OP_LABELS[op])
    return QCoreApplication.translate(CONTEXT, OP_LABELS.get(op, op))


class CheckList(QComboBox):
    """A combo box whose items are check boxes ("is one of"); the line shows the checked ones."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(QStandardItemModel(self))
        self.setEditable(True)
        self.lineEdit().setReadOnly(True)
        self.lineEdit().setPlaceholderText(QCoreApplication.translate("QueueEditor", "(pick one or more)"))
        self.view().viewport().installEventFilter(self)
        self.model().itemChanged.connect(lambda _i: self._show_text())
        self.activated.connect(self._toggle_row)  # the keyboard: Enter on an item ticks it

    def add_item(self, label: str, value: Any, checked: bool = False) -> None:
        item = QStandardItem(label)
        item.setData(value, Qt.ItemDataRole.UserRole)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.model().appendRow(item)

    def eventFilter(self, obj, event) -> bool:  # noqa: ANN001, N802 - Qt's name
        if event.type() == QEvent.Type.MouseButtonRelease and obj is self.view().viewport():
            item = self.model().itemFromIndex(self.view().indexAt(event.position().toPoint()))
            if item is not None:
                self.set_checked(item.data(Qt.ItemDataRole.UserRole),
                                 item.checkState() != Qt.CheckState.Checked)
            return True  # keep the list open while ticking
        return super().eventFilter(obj, event)

    def _toggle_row(self, row: int) -> None:
        item = self.model().item(row)
        if item is not None:
            item.setCheckState(Qt.CheckState.Unchecked if item.checkState() == Qt.CheckState.Checked
                               else Qt.CheckState.Checked)
        self._show_text()

    def set_checked(self, value: Any, checked: bool = True) -> None:
        for row in range(self.model().rowCount()):
            item = self.model().item(row)
            if item.data(Qt.ItemDataRole.UserRole) == value:
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def checked(self) -> list[Any]:
        model = self.model()
        return [model.item(r).data(Qt.ItemDataRole.UserRole) for r in range(model.rowCount())
                if model.item(r).checkState() == Qt.CheckState.Checked]

    def _show_text(self) -> None:
        model = self.model()
        labels = [model.item(r).text() for r in range(model.rowCount())
                  if model.item(r).checkState() == Qt.CheckState.Checked]
        self.lineEdit().setText(", ".join(labels))
        self.lineEdit().setCursorPosition(0)
        self.setToolTip("\n".join(labels))


class ValueEditor(QWidget):
    """The value cell of a filter row: a picker that suits the field and the operator."""

    def __init__(self, choices: dict[str, list[tuple[Any, str]]], on_change,  # noqa: ANN001
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choices = choices
        self.on_change = on_change
        self.mode = "none"
        self.widget: QWidget | None = None
        self.date_mode: QComboBox | None = None
        self.days: QSpinBox | None = None
        self.date: QDateEdit | None = None
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(2, 0, 2, 0)
        self.layout_.setSpacing(4)

    def _clear(self) -> None:
        while self.layout_.count():
            item = self.layout_.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.widget = self.date_mode = self.days = self.date = None

    def _choices(self, name: str) -> list[tuple[Any, str]]:
        out = []
        for value, label in self.choices.get(name, []):
            if name in TRANSLATED_CHOICES:
                label = QCoreApplication.translate(CONTEXT, VALUE_LABELS.get(label, label))
            out.append((value, label))
        return out

    def configure(self, name: str, op: str, value: Any = None) -> None:
        """Rebuild for a field and operator, showing ``value``."""
        self._clear()
        if op in ("null", "not_null"):
            self.mode = "none"
            label = QLabel("—")
            label.setEnabled(False)
            self.widget = label
            self.layout_.addWidget(label)
        elif name in queues.DATE_FILTERS:
            self._date_editor(value)
        elif name in TEXT_FIELDS:
            self.mode = "text"
            edit = QLineEdit("" if value is None else str(value))
            edit.setPlaceholderText(QCoreApplication.translate("QueueEditor", "text") if op == "contains" else QCoreApplication.translate("QueueEditor", "exact value"))
            edit.textChanged.connect(lambda _t: self.on_change())
            self.widget = edit
            self.layout_.addWidget(edit)
        elif op in queues.LIST_OPS:
            self.mode = "multi"
            box = CheckList()
            if name == "team":
                box.add_item(QCoreApplication.translate("QueueEditor", "My teams (signed-in person's)"), "$my_teams", value == "$my_teams")
            chosen = value if isinstance(value, list) else []
            chosen_text = {str(v) for v in chosen}
            for choice, label in self._choices(name):
                box.add_item(label, choice, str(choice) in chosen_text)
            box._show_text()
            box.model().itemChanged.connect(lambda _i: self.on_change())
            self.widget = box
            self.layout_.addWidget(box)
        else:
            self.mode = "single"
            box = QComboBox()
            if name in ("assignee", "caller"):
                box.addItem(QCoreApplication.translate("QueueEditor", "Me (signed-in person)"), "$me")
            for choice, label in self._choices(name):
                box.addItem(label, choice)
            if value is not None:
                index = next((i for i in range(box.count()) if str(box.itemData(i)) == str(value)),
                             -1)
                if index < 0:  # a value no longer listed (a team since deleted, ...)
                    box.addItem(str(value), value)
                    index = box.count() - 1
                box.setCurrentIndex(index)
            box.currentIndexChanged.connect(lambda _i: self.on_change())
            self.widget = box
            self.layout_.addWidget(box)

    def _date_editor(self, value: Any) -> None:
        self.mode = "date"
        self.date_mode = QComboBox()
        self.date_mode.addItem(QCoreApplication.translate("QueueEditor", "relative to today"), "days")
        self.date_mode.addItem(QCoreApplication.translate("QueueEditor", "fixed date"), "date")
        self.days = QSpinBox()
        self.days.setRange(-3650, 3650)
        self.days.setValue(-7)
        self.days.setSuffix(QCoreApplication.translate("QueueEditor", " days"))
        self.days.setToolTip(QCoreApplication.translate("QueueEditor", "Negative: in the past (-7 = a week ago)"))
        self.date = QDateEdit()
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        self.date.setDate(QDate.currentDate())
        if isinstance(value, str) and value.startswith(DAYS_PREFIX):
            try:
                self.days.setValue(int(value[len(DAYS_PREFIX):]))
            except ValueError:
                pass
        elif isinstance(value, str) and value:
            self.date_mode.setCurrentIndex(1)
            parsed = QDate.fromString(value[:10], "yyyy-MM-dd")
            if parsed.isValid():
                self.date.setDate(parsed)
        self.layout_.addWidget(self.date_mode)
        self.layout_.addWidget(self.days, 1)
        self.layout_.addWidget(self.date, 1)
        self._date_mode_changed()
        self.date_mode.currentIndexChanged.connect(self._date_mode_changed)
        self.days.valueChanged.connect(lambda _v: self.on_change())
        self.date.dateChanged.connect(lambda _d: self.on_change())
        self.widget = self.date_mode

    def _date_mode_changed(self) -> None:
        relative = self.date_mode.currentData() == "days"
        self.days.setVisible(relative)
        self.date.setVisible(not relative)
        self.on_change()

    def value(self) -> Any:
        if self.mode == "none":
            return None
        if self.mode == "text":
            return self.widget.text().strip()
        if self.mode == "multi":
            checked = self.widget.checked()
            return "$my_teams" if "$my_teams" in checked else checked
        if self.mode == "date":
            if self.date_mode.currentData() == "days":
                return f"{DAYS_PREFIX}{self.days.value()}"
            return self.date.date().toString("yyyy-MM-dd")
        return self.widget.currentData()


class FilterRow:
    """The widgets of one filter row in the table."""

    def __init__(self, dialog: QueueEditorDialog, name: str, op: str, value: Any) -> None:
        self.dialog = dialog
        self.field = QComboBox()
        for key in queues.COLUMNS:
            self.field.addItem(field_label(key), key)
        self.field.setCurrentIndex(max(0, self.field.findData(name)))
        self.op = QComboBox()
        self.value = ValueEditor(dialog.choices, dialog.schedule_count)
        self._fill_ops(op)
        self.value.configure(self.field.currentData(), self.op.currentData(), value)
        self.field.currentIndexChanged.connect(self._field_changed)
        self.op.currentIndexChanged.connect(self._op_changed)

    def _fill_ops(self, op: str | None) -> None:
        name = self.field.currentData()
        ops = ops_for(name)
        if op and op not in ops:
            ops.append(op)  # kept from an older definition
        self.op.blockSignals(True)
        self.op.clear()
        for key in ops:
            self.op.addItem(op_label(name, key), key)
        self.op.setCurrentIndex(max(0, self.op.findData(op)) if op else 0)
        self.op.blockSignals(False)

    def _field_changed(self) -> None:
        self._fill_ops(None)
        self.value.configure(self.field.currentData(), self.op.currentData())
        self.dialog.schedule_count()

    def _op_changed(self) -> None:
        old = self.value.value()
        keep = old if (isinstance(old, list)) == (self.op.currentData() in queues.LIST_OPS) else None
        self.value.configure(self.field.currentData(), self.op.currentData(), keep)
        self.dialog.schedule_count()

    def definition(self) -> list:
        return [self.field.currentData(), self.op.currentData(), self.value.value()]


class QueueEditorDialog(QDialog):
    """New saved queue (``spec`` None) or edit a saved one; ``saved_row`` after a save."""

    def __init__(self, ctx: AppContext, spec: queues.QueueSpec | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.spec = spec
        self.saved_row = None
        self.match_count: int | None = None
        self.setObjectName("queueEditorDialog")
        self.setWindowTitle(QCoreApplication.translate("QueueEditor", "Edit queue") if spec else QCoreApplication.translate("QueueEditor", "New queue"))
        self.choices: dict[str, list[tuple[Any, str]]] = {}  # filled by the read below
        self.loaded = False
        self.rows: list[FilterRow] = []

        self.name_edit = QLineEdit(spec.name if spec else "")
        self.name_edit.setObjectName("queueName")
        self.name_edit.setPlaceholderText(QCoreApplication.translate("QueueEditor", "e.g. Network tickets this week"))
        self.shared_check = QCheckBox(QCoreApplication.translate("QueueEditor", "Shared with everyone"))
        self.shared_check.setObjectName("queueShared")
        self.shared_check.setToolTip(QCoreApplication.translate("QueueEditor", "Unshared queues are listed only for you"))
        name_row = QHBoxLayout()
        name_row.addWidget(QLabel(QCoreApplication.translate("QueueEditor", "&Name")), 0)
        name_row.itemAt(0).widget().setBuddy(self.name_edit)
        name_row.addWidget(self.name_edit, 1)
        name_row.addSpacing(12)
        name_row.addWidget(self.shared_check)

        # filters
        self.filter_table = edit_table(
            "queueFilters", [QCoreApplication.translate("QueueEditor", "Field"),
                             QCoreApplication.translate("QueueEditor", "Condition"),
                             QCoreApplication.translate("QueueEditor", "Value")],
            row_height=32, stretch=2)
        self.filter_table.setColumnWidth(0, 130)
        self.filter_table.setColumnWidth(1, 120)
        self.add_filter_button = QPushButton(QCoreApplication.translate("QueueEditor", "&Add filter"))
        self.add_filter_button.setObjectName("addFilter")
        self.add_filter_button.clicked.connect(lambda: self.add_filter("status", "in", []))
        self.add_filter_button.setEnabled(False)  # until the pickers' values are read
        self.remove_filter_button = QPushButton(QCoreApplication.translate("QueueEditor", "&Remove filter"))
        self.remove_filter_button.setObjectName("removeFilter")
        self.remove_filter_button.clicked.connect(self.remove_filter)
        self.count_label = QLabel()
        self.count_label.setObjectName("queueMatchCount")
        self.count_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        filter_box = boxed(QCoreApplication.translate("QueueEditor", "Tickets that match all of these"),
                           self.filter_table,
                           button_row(self.add_filter_button, self.remove_filter_button, None,
                                      self.count_label))

        # sort
        self.sort_field = QComboBox()
        self.sort_field.setObjectName("queueSortField")
        for key in queues.COLUMNS:
            if key in queues.SORTABLE:
                self.sort_field.addItem(field_label(key), key)
        self.sort_dir = QComboBox()
        self.sort_dir.setObjectName("queueSortDirection")
        self.sort_dir.addItem(QCoreApplication.translate("QueueEditor", "newest / highest first (descending)"), "desc")
        self.sort_dir.addItem(QCoreApplication.translate("QueueEditor", "oldest / lowest first (ascending)"), "asc")
        sort_row = QHBoxLayout()
        sort_row.addWidget(self.sort_field, 1)
        sort_row.addWidget(self.sort_dir, 2)
        sort_label = QLabel(QCoreApplication.translate("QueueEditor", "&Sort by"))
        sort_label.setBuddy(self.sort_field)
        sort_row.insertWidget(0, sort_label)

        # columns
        self.column_list = QListWidget()
        self.column_list.setObjectName("queueColumns")
        self.column_list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.column_list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.column_list.setToolTip(QCoreApplication.translate("QueueEditor", "Tick the columns to show; drag or use the buttons to "
                                       "order them"))
        self.up_button = QPushButton(QCoreApplication.translate("QueueEditor", "Move &up"))
        self.up_button.clicked.connect(lambda: self.move_column(-1))
        self.down_button = QPushButton(QCoreApplication.translate("QueueEditor", "Move do&wn"))
        self.down_button.clicked.connect(lambda: self.move_column(1))
        column_buttons = QHBoxLayout()
        column_buttons.addWidget(self.up_button)
        column_buttons.addWidget(self.down_button)
        column_box = QGroupBox(QCoreApplication.translate("QueueEditor", "Columns"))
        column_layout = QVBoxLayout(column_box)
        column_layout.addWidget(self.column_list, 1)
        column_layout.addLayout(column_buttons)
        column_box.setMinimumWidth(200)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setEnabled(False)  # until the dialog's data is read

        left = QVBoxLayout()
        left.addLayout(name_row)
        left.addWidget(filter_box, 1)
        left.addLayout(sort_row)
        body = QHBoxLayout()
        body.addLayout(left, 3)
        body.addWidget(column_box, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(buttons)
        self.resize(900, 500)

        self._count_timer = QTimer(self, singleShot=True, interval=300)
        self._count_timer.timeout.connect(self.refresh_count)
        self._loading = True
        self._load_layout(spec)  # known without the database: sort and columns at once
        self.count_label.setText(QCoreApplication.translate("QueueEditor", "Loading…"))
        ctx.query(queues.editor_data, spec.saved_id if spec else None, on_done=self._data_read,
                  owner=self)

    # -- loading ------------------------------------------------------------------------------------
    def _data_read(self, data: queues.EditorData) -> None:
        self.choices = data.choices
        self._loading = True
        self._load_filters(self.spec, data.shared)
        self._loading = False
        self.loaded = True
        self.add_filter_button.setEnabled(True)
        self.save_button.setEnabled(True)
        self.refresh_count()

    def _load_filters(self, spec: queues.QueueSpec | None, shared: bool) -> None:
        """The filter rows (their value pickers need the choices read) and the shared flag."""
        if spec is None:
            filters: list = [["status", "in", list(queues.OPEN[2])]]
        else:
            filters = [list(f) for f in spec.filters]
        if spec is not None:  # a new queue keeps what was ticked meanwhile
            self.shared_check.setChecked(shared)
        for name, op, value in filters:
            self.add_filter(name, op, value)

    def _load_layout(self, spec: queues.QueueSpec | None) -> None:
        """The sort and the columns (from the spec; nothing to read)."""
        if spec is None:
            sort, columns = ("opened_at", "desc"), list(queues.DEFAULT_COLUMNS)
        else:
            sort, columns = spec.sort, list(spec.columns)
        self.sort_field.setCurrentIndex(max(0, self.sort_field.findData(sort[0])))
        self.sort_dir.setCurrentIndex(max(0, self.sort_dir.findData(sort[1])))
        for key in columns + [c for c in queues.COLUMNS if c not in columns]:
            item = QListWidgetItem(field_label(key))
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                          | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsDragEnabled)
            item.setCheckState(Qt.CheckState.Checked if key in columns else Qt.CheckState.Unchecked)
            self.column_list.addItem(item)

    # -- filters ------------------------------------------------------------------------------------
    def add_filter(self, name: str = "status", op: str = "in", value: Any = None) -> FilterRow:
        row = FilterRow(self, name, op, value)
        r = self.filter_table.rowCount()
        self.filter_table.insertRow(r)
        self.filter_table.setCellWidget(r, 0, row.field)
        self.filter_table.setCellWidget(r, 1, row.op)
        self.filter_table.setCellWidget(r, 2, row.value)
        self.rows.append(row)
        self.filter_table.selectRow(r)
        self.schedule_count()
        return row

    def remove_filter(self, index: int | None = None) -> None:
        if index is None or index is False:
            index = self.filter_table.currentRow()
            if index < 0:
                index = len(self.rows) - 1
        if not 0 <= index < len(self.rows):
            return
        self.filter_table.removeRow(index)
        del self.rows[index]
        self.schedule_count()

    def filters(self) -> list[list]:
        return [row.definition() for row in self.rows]

    # -- columns ------------------------------------------------------------------------------------
    def columns(self) -> list[str]:
        return [self.column_list.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.column_list.count())
                if self.column_list.item(i).checkState() == Qt.CheckState.Checked]

    def set_columns(self, keys: list[str]) -> None:
        """Tick exactly ``keys``, in that order, at the top of the list (for tests and presets)."""
        all_items = []
        while self.column_list.count():
            all_items.append(self.column_list.takeItem(0))
        by_key = {it.data(Qt.ItemDataRole.UserRole): it for it in all_items}
        for key in list(keys) + [k for k in by_key if k not in keys]:
            item = by_key[key]
            item.setCheckState(Qt.CheckState.Checked if key in keys else Qt.CheckState.Unchecked)
            self.column_list.addItem(item)

    def move_column(self, step: int) -> None:
        row = self.column_list.currentRow()
        target = row + step
        if row < 0 or not 0 <= target < self.column_list.count():
            return
        item = self.column_list.takeItem(row)
        self.column_list.insertItem(target, item)
        self.column_list.setCurrentRow(target)

    # -- count ----------------------------------------------------------------------------------
    def schedule_count(self) -> None:
        if not getattr(self, "_loading", True):
            self._count_timer.start()

    def refresh_count(self) -> None:
        self._count_timer.stop()
        if not self.loaded:
            return
        filters = self.filters()
        person = self.ctx.actor.person_id
        now = self.ctx.clock() if self.ctx.clock else None
        self.count_label.setText(QCoreApplication.translate("QueueEditor", "Counting…"))
        self.ctx.query(queues.count_definition, filters, person, now, self.ctx.actor,
                       on_done=self._show_count, on_error=self._count_failed,
                       key=f"queue-editor-count-{id(self)}", owner=self)

    def _show_count(self, n: int) -> None:
        self.match_count = n
        self.count_label.setStyleSheet("")
        self.count_label.setText(QCoreApplication.translate("QueueEditor", "Matches {n} tickets now").format(
            n=grouped(n)))

    def _count_failed(self, error: BaseException) -> None:
        self.match_count = None
        self.count_label.setStyleSheet("color: #c62828;")
        self.count_label.setText(error_text(error))

    # -- save ---------------------------------------------------------------------------------------
    def sort(self) -> tuple[str, str]:
        return self.sort_field.currentData(), self.sort_dir.currentData()

    def save(self) -> None:
        """Save the queue in one write: the dialog closes (accepted, ``saved_row`` set) once it
        went through; on an error it shows the sentence and stays open with the edits."""
        if not self.loaded:
            return
        spec = self.spec
        self.save_button.setEnabled(False)

        def done(row) -> None:  # noqa: ANN001 - the saved queue's row
            self.saved_row = row
            self.accept()

        def failed(exc: BaseException) -> None:
            self.save_button.setEnabled(True)
            show_error(self, exc, QCoreApplication.translate("QueueEditor", "Queue not saved"))

        self.ctx.write(queues.save_definition, self.name_edit.text(), self.filters(), self.sort(),
                       self.columns(), self.shared_check.isChecked(), self.ctx.actor,
                       spec.saved_id if spec else None, spec.version if spec else None,
                       on_done=done, on_error=failed, owner=self)
