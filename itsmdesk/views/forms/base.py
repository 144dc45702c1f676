"""The family every record form belongs to (a tab in the centre of the main window).

A form opens at once and fills in when its data arrives; it never waits on the database:

* **Loading**: ``load_call()`` names one service read that returns the form's typed read model;
  it runs as a query, and ``fill(data)`` puts it into the widgets.  Until then the form shows
  "Loading…" and its editors are disabled.
* **Editing**: widgets passed to ``watch()`` mark the form dirty when the person changes them
  (not while ``fill`` runs); the tab title gets a "•".
* **Saving**: ``save_call(edits)`` names one service call that saves; it runs as a write.  The
  form says "Saving…" (after a moment) and, if the database does not answer within a few
  seconds, offers to stop waiting: the edits stay in the form, and if the save did reach the
  database the next save will find the record's new version and offer the merge.  A new record
  is created with a key chosen when the form opened, so a repeated save can never create it
  twice.
* **A stale edit** (someone saved the record after it was loaded) opens the merge dialog: per
  field, theirs or mine; then the merged values are saved on top of their version.
* **Closing** a form with unsaved edits asks Save / Discard / Cancel; Save closes the tab once
  the save has gone through.
* **Other people's changes**: when the change feed names this record and the form has no
  unsaved edits it reloads; with unsaved edits it says so, and the save will merge.
* **History**: ``self.history`` is a :class:`HistoryView`; a subclass puts it on a tab.
* **Building in steps**: a big form's ``build()`` may be a generator that yields between its
  parts (tabs, side panels).  The first part is built when the form is created, each further
  one in its own turn of the event loop, so no turn holds the window longer than a frame; the
  read is asked for at once and its answer waits for the last part.  ``when_built(callback)``
  runs once the form is whole (the main window adds the tab then).  With synchronous
  operations (tests) the whole form is built at once.

A subclass implements ``build()``, ``load_call()``, ``fill(data)``, ``edits()`` and
``save_call(edits)``, and may override ``show_new()``, ``title()`` and ``saved_id(result)``.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from itsmdesk.errors import ConflictError
from itsmdesk.services.records import Changes
from itsmdesk.views.forms.history_view import HistoryView
from itsmdesk.views.messages import error_text, is_connection_error, show_error

SAVING_SHOWN_AFTER_MS = 300
OFFER_CANCEL_AFTER_MS = 3000
DIRTY_MARK = " •"
_PENDING = object()  # a save handed to the writer whose ticket is not known yet




class RecordForm(QWidget):
    KIND: ClassVar[str] = ""

    sig_title_changed = Signal(str)
    """(tab title) after a load, a save, an edit of the title or a change of the dirty mark."""

    sig_loaded = Signal()
    """The record's data arrived and is shown."""

    sig_saved = Signal(object)
    """(record id) after a save went through."""

    sig_save_failed = Signal()
    """A save was refused, failed, or its merge was cancelled (a window waiting to close stops
    waiting)."""

    def __init__(self, ctx, record_id: Any = None, parent: QWidget | None = None,  # noqa: ANN001
                 kind: str | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.kind = kind or self.KIND
        self.record_id = record_id
        self.new_id = uuid.uuid4() if record_id is None else None
        self.version: int | None = None
        self.data: Any = None
        self.loaded = False
        self._dirty = False
        self._filling = 0
        self._save_ticket = None
        self._close_after_save = False
        self._create_sent = False
        self._own_batches: set[uuid.UUID] = set()
        self._others_changed = False
        self._after_save: list[Callable[[], None]] = []
        self._given_up: tuple[Any, dict[str, Any]] | None = None  # (ticket, its edits)

        self.history = HistoryView(ctx, self.kind, self)
        self.banner = QLabel()
        self.banner.setObjectName("formBanner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        # another workstation changed the record while this form has unsaved edits
        self.changed_bar = QWidget()
        self.changed_bar.setObjectName("changedElsewhereBar")
        self.changed_bar.setStyleSheet("background: #fff8e1;")
        self.changed_label = QLabel()
        self.changed_label.setObjectName("changedElsewhereLabel")
        self.changed_label.setWordWrap(True)
        self.merge_button = QPushButton(QCoreApplication.translate("RecordForm", "&Merge"))
        self.merge_button.setObjectName("mergeButton")
        self.merge_button.setToolTip(QCoreApplication.translate(
            "RecordForm", "Choose, field by field, which of their values to keep, then save"))
        self.merge_button.clicked.connect(self.merge_now)
        self.reload_button = QPushButton(QCoreApplication.translate("RecordForm", "&Reload"))
        self.reload_button.setObjectName("reloadButton")
        self.reload_button.setToolTip(QCoreApplication.translate(
            "RecordForm", "Drop your unsaved edits and show the record as saved now"))
        self.reload_button.clicked.connect(self.discard_and_reload)
        bar = QHBoxLayout(self.changed_bar)
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(self.changed_label, 1)
        bar.addWidget(self.merge_button)
        bar.addWidget(self.reload_button)
        self.changed_bar.hide()
        self.message = QLabel()
        self.message.setObjectName("formMessage")
        self.message.setWordWrap(True)
        self.stop_button = QPushButton(QCoreApplication.translate("RecordForm", "Stop waiting"))
        self.stop_button.setObjectName("stopWaitingButton")
        self.stop_button.setToolTip(QCoreApplication.translate("RecordForm", "Keep the edits in the form and stop waiting for the "
                                       "database; the save may still arrive"))
        self.stop_button.clicked.connect(self.stop_waiting)
        self.stop_button.hide()
        self.save_button = QPushButton(QCoreApplication.translate("RecordForm", "&Save"))
        self.save_button.setObjectName("saveButton")
        self.save_button.setDefault(True)
        self.save_button.setToolTip(QCoreApplication.translate("RecordForm", "Save (Ctrl+S)"))
        self.save_button.clicked.connect(self.save)
        self.button_row = QHBoxLayout()
        self.button_row.addWidget(self.message, 1)
        self.button_row.addWidget(self.stop_button)
        self.button_row.addWidget(self.save_button)

        self.body = QWidget()
        self.body.setObjectName("formBody")
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.changed_bar)
        layout.addWidget(self.body, 1)
        layout.addLayout(self.button_row)
        save_action = QAction(QCoreApplication.translate("RecordForm", "Save"), self)
        save_action.setShortcut(QKeySequence.StandardKey.Save)
        save_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        save_action.triggered.connect(self.save)
        self.addAction(save_action)

        self._saving_timer = QTimer(self, singleShot=True, interval=SAVING_SHOWN_AFTER_MS)
        self._saving_timer.timeout.connect(lambda: self.say(QCoreApplication.translate("RecordForm", "Saving…")))
        self._stuck_timer = QTimer(self, singleShot=True, interval=OFFER_CANCEL_AFTER_MS)
        self._stuck_timer.timeout.connect(self._offer_stop)

        self._building: Iterator[None] | None = None
        self._when_built: list[Callable[[], None]] = []
        self._held: tuple[Callable[[Any], None], Any] | None = None  # (a read that came early)
        steps = self.build()
        if inspect.isgenerator(steps):
            if ctx.ops.synchronous:
                for _step in steps:
                    pass
            else:
                self._building = steps  # the first part now, the others in turns of their own
                self._build_step()
        ctx.sig_changes.connect(self._on_changes)
        if hasattr(ctx, "sig_connection"):
            ctx.sig_connection.connect(self._connection_changed)
        if record_id is None:
            self.history.set_record(None)
            call = self.new_call()
            if call is None:
                self._new_loaded(None)
            else:
                self.body.setEnabled(False)
                self.show_banner(QCoreApplication.translate("RecordForm", "Loading…"))
                fn, args = call
                self.ctx.query(fn, *args, on_done=self._new_loaded, on_error=self._load_failed,
                               owner=self)
        else:
            self.body.setEnabled(False)
            self.show_banner(QCoreApplication.translate("RecordForm", "Loading…"))
            self.reload()

    # -- for subclasses ---------------------------------------------------------------------------
    def build(self) -> None:
        """Create the widgets inside ``self.body`` (and put ``self.history`` on a tab)."""
        raise NotImplementedError

    def load_call(self) -> tuple[Callable[..., Any], tuple]:
        """The service read (function, arguments) returning this form's read model."""
        raise NotImplementedError

    def fill(self, data: Any) -> None:
        """Show ``data`` (the read model) in the widgets.  Runs with dirty tracking off."""
        raise NotImplementedError

    def new_call(self) -> tuple[Callable[..., Any], tuple] | None:
        """The service read (function, arguments) a new record's form needs first (the choices
        its pickers offer, defaults), or None."""
        return None

    def show_new(self, data: Any = None) -> None:
        """Defaults for a new record (``data``: what ``new_call`` returned)."""

    def edits(self) -> dict[str, Any]:
        """The values the person changed (field -> value), for the save and the merge."""
        raise NotImplementedError

    def save_call(self, edits: dict[str, Any]) -> tuple[Callable[..., Any], tuple] | None:
        """The service call (function, arguments) that saves ``edits`` (a new record: creates
        it with the key ``self.new_id``; an existing one: at ``self.version``)."""
        raise NotImplementedError

    def saved_id(self, result: Any) -> Any:
        """The saved record's id, from what the save call returned."""
        return getattr(result, "id", result)

    def title(self) -> str:
        return self.kind

    def describe_value(self, field: str, value: Any) -> str:
        """How one of my edited values reads to a person (the merge dialog): a subclass names
        the ids its pickers hold."""
        return "" if value is None else str(value)

    # -- dirty tracking ---------------------------------------------------------------------------
    def watch(self, *widgets: QWidget) -> None:
        """Mark the form dirty when any of ``widgets`` is changed by the person."""
        for w in widgets:
            if isinstance(w, QLineEdit):
                w.textChanged.connect(self.mark_dirty)
            elif isinstance(w, (QPlainTextEdit, QTextEdit)):
                w.textChanged.connect(self.mark_dirty)
            elif isinstance(w, QComboBox):
                w.currentIndexChanged.connect(self.mark_dirty)
                if w.isEditable():
                    w.editTextChanged.connect(self.mark_dirty)
            elif isinstance(w, QDateTimeEdit):
                w.dateTimeChanged.connect(self.mark_dirty)
            elif isinstance(w, QAbstractSpinBox) and hasattr(w, "valueChanged"):
                w.valueChanged.connect(self.mark_dirty)
            elif isinstance(w, (QCheckBox, QAbstractButton)):
                w.toggled.connect(self.mark_dirty)
            elif hasattr(w, "sig_value_changed"):
                w.sig_value_changed.connect(self.mark_dirty)
            else:
                raise TypeError(f"watch(): cannot watch {type(w).__name__}")

    def mark_dirty(self, *_args: Any) -> None:
        if self._filling or self._dirty:
            return
        self._dirty = True
        self.sig_title_changed.emit(self.tab_title())

    @property
    def dirty(self) -> bool:
        return self._dirty

    def set_clean(self) -> None:
        if self._dirty:
            self._dirty = False
            self.sig_title_changed.emit(self.tab_title())

    def tab_title(self) -> str:
        return self.title() + (DIRTY_MARK if self._dirty else "")

    # -- building in steps -------------------------------------------------------------------------
    @property
    def building(self) -> bool:
        return self._building is not None

    def when_built(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` in a later turn of the event loop, once the form is whole."""
        if self._building is None:
            QTimer.singleShot(1, self, callback)
        else:
            self._when_built.append(callback)

    def _build_step(self) -> None:
        if self._building is None:
            return
        try:
            next(self._building)
        except StopIteration:
            self._building = None
            QTimer.singleShot(1, self, self._built)
            return
        QTimer.singleShot(1, self, self._build_step)

    def _built(self) -> None:
        callbacks, self._when_built = self._when_built, []
        for callback in callbacks:
            callback()
        if self._held is not None:
            QTimer.singleShot(1, self, self._fill_held)

    def _fill_held(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held[0](held[1])

    # -- loading ----------------------------------------------------------------------------------
    def reload(self) -> None:
        if self.record_id is None:
            return
        fn, args = self.load_call()
        self.ctx.query(fn, *args, on_done=self._loaded, on_error=self._load_failed,
                       key=f"form-{self.kind}-{self.record_id}-{id(self)}", owner=self)

    def _loaded(self, data: Any) -> None:
        if self._building is not None or self._when_built:
            self._held = (self._loaded, data)  # shown once the form is whole
            return
        self.data = data
        self.version = getattr(data, "version", None)
        self._filling += 1
        try:
            self.fill(data)
        finally:
            self._filling -= 1
        self.body.setEnabled(True)
        self._others_changed = False
        self.hide_banner()
        self.changed_bar.hide()
        self.set_clean()
        self.loaded = True
        self.history.set_record(self.record_id)
        self.sig_title_changed.emit(self.tab_title())
        self.sig_loaded.emit()

    def _new_loaded(self, data: Any) -> None:
        if self._building is not None or self._when_built:
            self._held = (self._new_loaded, data)
            return
        self._filling += 1
        try:
            self.show_new(data)
        finally:
            self._filling -= 1
        self.body.setEnabled(True)
        self.hide_banner()
        self.loaded = True
        self.sig_title_changed.emit(self.tab_title())
        self.sig_loaded.emit()

    def _load_failed(self, error: BaseException) -> None:
        self.show_banner(error_text(error), error=True)

    # -- saving -----------------------------------------------------------------------------------
    def save(self) -> None:
        """Save the edits (off the GUI thread); nothing to save says so."""
        if self._save_ticket is not None:
            return
        if not self.loaded:
            return
        edits = self.edits()
        if self.record_id is not None and not edits:
            self.say(QCoreApplication.translate("RecordForm", "Nothing to save"))
            self.set_clean()
            if self._close_after_save:
                self._close_now()
                return
            callbacks, self._after_save = self._after_save, []
            for callback in callbacks:  # what waited for a save: the record is saved
                callback()
            return
        self._send_save(edits)

    def _send_save(self, edits: dict[str, Any]) -> None:
        if self.record_id is None and self._create_sent:
            # a create we stopped waiting for may have arrived: look before creating again
            from itsmdesk.services.lookup import exists

            self.ctx.query(exists, self.kind, self.new_id, owner=self,
                           on_done=lambda found: self._adopt() if found else self._start_save(edits))
            return
        self._start_save(edits)

    def _start_save(self, edits: dict[str, Any]) -> None:
        try:
            call = self.save_call(edits)
        except Exception as exc:  # noqa: BLE001 - a value the form could not read: say which
            self._save_failed(exc)
            return
        if call is None:
            return
        fn, args = call
        if self.record_id is None:
            self._create_sent = True
        self.save_button.setEnabled(False)
        self._saving_timer.start()
        self._stuck_timer.start()
        self._pending_edits = edits
        self._save_ticket = _PENDING
        ticket = self.ctx.write(fn, *args, on_done=self._saved, on_error=self._save_failed,
                                on_conflict=self._conflict, owner=self, label=self.title())
        if self._save_ticket is _PENDING:  # not answered yet (always, but in tests)
            self._save_ticket = ticket
            if not getattr(self.ctx, "connected", True):
                self._connection_changed(False, 0)

    def _finish_wait(self) -> None:
        self._save_ticket = None
        self._saving_timer.stop()
        self._stuck_timer.stop()
        self.stop_button.hide()
        self.stop_button.setText(QCoreApplication.translate("RecordForm", "Stop waiting"))
        self.save_button.setEnabled(True)

    def after_save(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the next save has gone through (dropped if it fails): "save
        first, then raise the RFC"."""
        self._after_save.append(callback)

    def _saved(self, result: Any) -> None:
        ticket = self.ctx.ops.delivering
        self._finish_wait()
        if ticket is not None and getattr(ticket, "changes", None) is not None:
            self._own_batches.update(ticket.changes.batches)
        new = self.record_id is None
        self.record_id = self.saved_id(result)
        if getattr(result, "version", None) is not None:
            self.version = result.version  # an action waiting for this save writes at it
        if new:
            self.setProperty("recordKey", f"{self.kind}:{self.record_id}")
        self.set_clean()
        self.say(QCoreApplication.translate("RecordForm", "Saved {title}.").format(title=self.title()))
        self.sig_saved.emit(self.record_id)
        if self._close_after_save:
            self._close_now()
            return
        self.reload()
        callbacks, self._after_save = self._after_save, []
        for callback in callbacks:
            callback()

    def _save_failed(self, error: BaseException) -> None:
        self._finish_wait()
        self._close_after_save = False
        self._after_save.clear()
        self.sig_save_failed.emit()
        if is_connection_error(error):
            self.say(error_text(error), error=True)
            return
        self.say(error_text(error), error=True)
        show_error(self, error)

    def _conflict(self, error: ConflictError) -> None:
        from itsmdesk.views.forms.merge_dialog import MergeDialog

        self._finish_wait()
        self.say(error_text(error), error=True)
        mine = dict(getattr(self, "_pending_edits", {}) or self.edits())
        dialog = MergeDialog(error_text(error), mine, error.current, error.changed_fields, self,
                             shown=error.shown, describe=self.describe_value)
        self.last_merge_dialog = dialog
        if not dialog.exec():
            self._close_after_save = False
            self._after_save.clear()
            self.sig_save_failed.emit()
            return
        keep = dialog.result_changes()
        self.version = error.current.get("version", self.version)
        if keep:
            self._start_save(keep)
        else:
            self.set_clean()
            self.reload()

    def stop_waiting(self) -> None:
        """Give up waiting for a save the database does not answer; the edits stay."""
        if self._save_ticket is not None and self._save_ticket is not _PENDING:
            self._save_ticket.cancel()
            self._given_up = (self._save_ticket, dict(getattr(self, "_pending_edits", {})))
        self._finish_wait()
        self._close_after_save = False
        self._after_save.clear()
        self.sig_save_failed.emit()
        self.say(QCoreApplication.translate("RecordForm", "Stopped waiting: your edits are still here. If the save reached the "
                    "database after all, saving again will show it."), error=True)

    def _offer_stop(self) -> None:
        if self._save_ticket is not None:
            self.say(QCoreApplication.translate("RecordForm", "Waiting for the database…"), error=True)
            self.stop_button.show()

    def _adopt(self) -> None:
        """The record this form was creating exists: it was saved after all."""
        self.record_id = self.new_id
        self.setProperty("recordKey", f"{self.kind}:{self.record_id}")
        self.set_clean()
        self.say(QCoreApplication.translate("RecordForm", "The earlier save did arrive; nothing was saved twice."))
        self.reload()

    # -- the form's other actions --------------------------------------------------------------------
    def when_saved(self, action: Callable[[], None]) -> None:
        """Run ``action`` now, or -- the form has unsaved edits -- once they are saved (the
        action then writes at the version the save made)."""
        if not self.loaded or self._save_ticket is not None:
            return
        if self.record_id is None or self.edits():  # a new record is created first
            self.after_save(action)
            self.save()
            return
        self.set_clean()
        action()

    def save_first(self, then: Callable[[], None]) -> bool:
        """For an action that needs the record saved: True when a save had to start first
        (``then`` runs once it went through; the caller returns), False when the record is
        saved already and the caller goes on."""
        if self.record_id is None or self.edits():
            self.after_save(then)
            self.save()
            return True
        self.set_clean()
        return False

    def act(self, fn: Callable[..., Any], *args: Any,
            done: Callable[[Any], None] | None = None) -> None:
        """Run one of the form's actions (a status move, a vote, a link...) as a write, then
        reload; its echo on the change feed is known as the form's own."""
        def finished(result: Any) -> None:
            ticket = self.ctx.ops.delivering
            if ticket is not None and getattr(ticket, "changes", None) is not None:
                self._own_batches.update(ticket.changes.batches)
            if done is not None:
                done(result)
            if self._dirty:  # typed meanwhile: keep it; the next save merges
                self.show_banner(QCoreApplication.translate(
                    "RecordForm", "Done. Your unsaved edits are kept; when you save, you choose "
                    "what to keep where the record changed."))
            else:
                self.reload()

        self.ctx.write(fn, *args, on_done=finished, on_error=self._action_failed, owner=self,
                       label=self.title())

    def _action_failed(self, error: BaseException) -> None:
        self.say(error_text(error), error=True)
        if is_connection_error(error):
            return
        show_error(self, error)
        if isinstance(error, ConflictError) and not self._dirty:
            self.reload()  # someone else changed the record: show what it is now

    # -- other people's changes ---------------------------------------------------------------------
    def _on_changes(self, changes: Changes) -> None:
        if self.record_id is None:
            return
        mine = changes.ids(self.kind)
        if self.record_id not in mine and str(self.record_id) not in {str(i) for i in mine} \
                and not changes.is_wholesale(self.kind):
            return
        if changes.batches and set(changes.batches) <= self._own_batches:
            return  # our own save: reloaded already
        given_up = self._given_up
        if given_up is not None and given_up[0].changes is not None \
                and set(changes.batches) <= set(given_up[0].changes.batches):
            # the save we stopped waiting for did arrive
            self._given_up = None
            self._own_batches.update(changes.batches)
            if self.edits() == given_up[1] or not self._dirty:
                self.set_clean()
                self.say(QCoreApplication.translate("RecordForm", "The save you stopped waiting "
                                                    "for did reach the database."))
                self.reload()
                self.history.mark_stale()
                return
        if self._save_ticket is not None:
            return
        if self._dirty:
            self._others_changed = True
            self.show_changed_elsewhere(getattr(changes, "who", None), getattr(changes, "at", None))
            self.history.mark_stale()
            return
        self.reload()
        self.history.mark_stale()

    def show_changed_elsewhere(self, who: str | None, at: Any = None) -> None:
        """'Changed by X at HH:MM — Merge / Reload' (the form keeps the unsaved edits)."""
        if who and at is not None:
            from itsmdesk.views.timefmt import local_text

            text = QCoreApplication.translate("RecordForm", "Changed by {who} at {time}").format(
                who=who, time=local_text(at)[-5:])
        elif who:
            text = QCoreApplication.translate("RecordForm", "Changed by {who}").format(who=who)
        else:
            text = QCoreApplication.translate("RecordForm", "Someone else changed this record "
                                              "after you opened it")
        self.changed_label.setText(text + " — " + QCoreApplication.translate(
            "RecordForm", "your edits are kept: merge them with theirs, or reload."))
        self.changed_bar.show()

    def merge_now(self) -> None:
        """Merge my edits with the other change now: the save meets their version and opens
        the merge dialog (per field, theirs or mine)."""
        self.changed_bar.hide()
        self.save()

    def discard_and_reload(self) -> None:
        """Drop my unsaved edits and show the record as it is saved now."""
        self.changed_bar.hide()
        self.set_clean()
        self.reload()

    def _connection_changed(self, connected: bool, _attempt: int) -> None:
        """A save in progress while the connection is lost waits visibly and can be cancelled."""
        if self._save_ticket is None:
            return
        if connected:
            self.say(QCoreApplication.translate("RecordForm", "Saving…"))
            self.stop_button.setText(QCoreApplication.translate("RecordForm", "Stop waiting"))
            return
        self.say(QCoreApplication.translate("RecordForm", "Saving — waiting for the database…"),
                 error=True)
        self.stop_button.setText(QCoreApplication.translate("RecordForm", "Cancel"))
        self.stop_button.show()

    # -- messages ---------------------------------------------------------------------------------
    def say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setProperty("error", error)
        self.message.setStyleSheet("color: #c62828;" if error else "")
        if not error:
            self.ctx.sig_status.emit(text)

    def show_banner(self, text: str, error: bool = False) -> None:
        self.banner.setText(text)
        self.banner.setStyleSheet("background: #fdecea; padding: 4px;" if error
                                  else "background: #fff8e1; padding: 4px;")
        self.banner.show()

    def hide_banner(self) -> None:
        self.banner.hide()

    # -- closing ----------------------------------------------------------------------------------
    def can_close(self) -> bool:
        """May the tab close now?  With unsaved edits: Save (closes once saved) / Discard /
        Cancel."""
        if not self._dirty:
            return self._save_ticket is None or self._ask_leave_while_saving()
        answer = QMessageBox.question(
            self, QCoreApplication.translate("RecordForm", "Unsaved changes"),
            QCoreApplication.translate("RecordForm", "{title} has unsaved changes. Save them?").format(title=self.title()),
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            self._close_after_save = True
            self.save()
            return False
        return answer == QMessageBox.StandardButton.Discard

    def _ask_leave_while_saving(self) -> bool:
        answer = QMessageBox.question(
            self, QCoreApplication.translate("RecordForm", "Still saving"),
            QCoreApplication.translate("RecordForm", "{title} is still being saved. Close it anyway? The save goes on.").format(
                title=self.title()))
        return answer == QMessageBox.StandardButton.Yes

    def _close_now(self) -> None:
        window = self.window()
        closer = getattr(window, "close_form", None)
        if closer is not None:
            closer(self)
