"""The Subscribers tab of a business service's form: who gets its outage announcements by
mail; add a person by name or address, remove the selected ones (each one write, journalled on
the service)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.services.mail import subscriptions
from itsmdesk.views.messages import show_error
from itsmdesk.views.signin import gate


class SubscribersWidget(QWidget):
    """``set_service(ci_id)`` reads it; ``availability`` says whether the CI is a service."""

    availability = Signal(bool)
    counted = Signal(int)

    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.service_id: Any = None
        self._matches: dict[str, Any] = {}
        self.setObjectName("serviceSubscribers")
        self.list = QListWidget(objectName="subscriberList")
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.list.setWordWrap(True)
        self.person = QLineEdit(objectName="subscriberPerson")
        self.person.setPlaceholderText(self.tr("name or e-mail address"))
        self._completions = QStringListModel(self)
        completer = QCompleter(self._completions, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.person.setCompleter(completer)
        self.person.textEdited.connect(self._complete)
        self.person.returnPressed.connect(self.add)
        self.add_button = QPushButton(self.tr("Add"), objectName="addSubscriber")
        self.remove_button = QPushButton(self.tr("Remove selected"), objectName="removeSubscriber")
        self.add_button.clicked.connect(self.add)
        self.remove_button.clicked.connect(self.remove)
        gate(self.add_button, ctx, "ci.edit")
        gate(self.remove_button, ctx, "ci.edit")
        bar = QHBoxLayout()
        bar.addWidget(self.person, 1)
        bar.addWidget(self.add_button)
        bar.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        note = QLabel(self.tr("These people get the service's outage announcements by mail, "
                              "with a calendar invitation of the window."))
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addWidget(self.list, 1)
        layout.addLayout(bar)

    def set_service(self, service_id: Any) -> None:
        self.service_id = service_id
        self.ctx.query(subscriptions.subscribers_view, service_id, on_done=self._fill,
                       key=f"subscribers-{id(self)}", owner=self)

    def _fill(self, view: subscriptions.SubscribersView) -> None:
        self.list.clear()
        for s in view.subscribers:
            item = QListWidgetItem(f"{s.name} <{s.email}>" if s.email else s.name)
            item.setData(Qt.ItemDataRole.UserRole, str(s.person_id))
            self.list.addItem(item)
        if not view.subscribers:  # an empty list said in words (not selectable, no person)
            empty = QListWidgetItem(self.tr("Nobody gets this service's announcements by mail "
                                            "yet: type a name or an address below, then Add."))
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(empty)
        self.availability.emit(view.is_service)
        self.counted.emit(len(view.subscribers))

    def _complete(self, text: str) -> None:
        if len(text.strip()) < 2:
            return
        self.ctx.query(subscriptions.people_matching, text, 20,
                       key=f"subscriber-complete-{id(self)}", owner=self,
                       on_done=self._show_completions)

    def _show_completions(self, matches: list[tuple[Any, str]]) -> None:
        self._matches.update({label: person_id for person_id, label in matches})
        labels = [label for _id, label in matches]
        if labels != self._completions.stringList():
            self._completions.setStringList(labels)
            if self.person.hasFocus():
                self.person.completer().complete()

    def add(self) -> None:
        label = self.person.text().strip()
        person_id = self._matches.get(label)
        if self.service_id is None or not label:
            return
        if person_id is None:  # typed without picking: the CLI's rules (login, address, name)
            def found(person) -> None:  # noqa: ANN001
                self._subscribe(person.id)

            self.ctx.query(subscriptions.find_person, label, on_done=found,
                           on_error=lambda exc: show_error(self, exc), owner=self)
            return
        self._subscribe(person_id)

    def _subscribe(self, person_id: Any) -> None:
        def done(_added: bool) -> None:
            self.person.clear()
            self.set_service(self.service_id)

        self.ctx.write(subscriptions.subscribe, self.service_id, person_id, self.ctx.actor,
                       on_done=done, on_error=lambda exc: show_error(self, exc), owner=self)

    def remove(self) -> None:
        ids = [item.data(Qt.ItemDataRole.UserRole) for item in self.list.selectedItems()]
        if self.service_id is None or not ids:
            return

        self.ctx.write(subscriptions.unsubscribe_many, self.service_id, ids, self.ctx.actor,
                       on_done=lambda _n: self.set_service(self.service_id),
                       on_error=lambda exc: show_error(self, exc), owner=self)
