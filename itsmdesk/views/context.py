"""What every panel and form gets: the database description, who is signed in, the operations
that run database work off the GUI thread, and the signals panels use to talk to each other
(Spyder's ``sig_*`` convention)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from itsmdesk.errors import ConflictError
from itsmdesk.services.context import SYSTEM, Actor, current_site
from itsmdesk.services.records import Changes
from itsmdesk.services.session import DbInfo
from itsmdesk.views.ops import Ops, Ticket


class AppContext(QObject):
    sig_changes = Signal(object)
    """(records.Changes) once after every committed write, from this workstation or another
    one (a ``services.live.LiveChanges`` from the live feed, with ``who`` and ``at``): panels
    refresh what it names, by kind and id."""

    sig_open_record = Signal(str, object)
    """(record kind, record id or None for a new record): open a form tab in the centre."""

    sig_actor_changed = Signal()
    """The signed-in person changed."""

    sig_status = Signal(str)
    """A short message for the status bar."""

    sig_database_error = Signal(str)
    """(message) an operation failed because the database could not be reached."""

    sig_database_open = Signal()
    """The database the window was started on is open (see ``open_url``)."""

    sig_database_failed = Signal(object)
    """(error) the database the window was started on could not be opened."""

    sig_connection = Signal(bool, int)
    """(connected, attempt): ``False, n`` while a connection (a worker's or the live feed's) is
    lost and reconnect attempt n is under way; ``True, 0`` once every one is back."""

    def __init__(self, info: DbInfo, synchronous: bool = False, parent: QObject | None = None,
                 open_url: str | None = None, demo: bool = False, live: bool | None = None
                 ) -> None:
        """``open_url``: open (connect, create or upgrade, and with ``demo`` fill an empty
        one) this database on the writer thread while the window is shown; reads wait for it.
        Without it the database is open already.  ``live``: listen for other workstations'
        changes (default: on PostgreSQL, unless synchronous)."""
        super().__init__(parent)
        self.info = info
        self.demo = demo  # (the sign-in dialog tells how the demo's people sign in)
        self.ops = Ops(synchronous=synchronous, readers=2, parent=self)
        self.ops.broadcast = self.broadcast
        self.ops.default_error = self._default_error
        self.ops.sig_connection.connect(self.connection_report)
        self._down: dict[str, int] = {}  # source -> attempt, while its connection is lost
        self.live_feed = None
        if live is None:
            live = info.backend == "postgresql" and not synchronous
        if live:
            if open_url is not None:
                self.sig_database_open.connect(self.start_live)
            else:
                self.start_live()
        if open_url is not None:
            from itsmdesk.services.session import open_for_gui

            self.ops.open_first(open_for_gui, open_url, demo,
                                on_done=lambda _info: self.sig_database_open.emit(),
                                on_error=self.sig_database_failed.emit)
        self.ops.warm()  # connections open in parallel while the window is built
        self.actor: Actor = SYSTEM
        self.site: str = current_site()  # ITSMDESK_SITE: references come from its block
        self.clock = None  # tests may set a callable returning "now" (UTC, naive)

    # -- operations --------------------------------------------------------------------------------
    def query(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
              on_error: Callable[[BaseException], None] | None = None, key: str | None = None,
              owner: QObject | None = None) -> Ticket:
        """A read off the GUI thread (see :mod:`itsmdesk.views.ops`)."""
        return self.ops.query(fn, *args, on_done=on_done, on_error=on_error, key=key, owner=owner)

    def write(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
              on_error: Callable[[BaseException], None] | None = None,
              on_conflict: Callable[[ConflictError], None] | None = None,
              owner: QObject | None = None, label: str = "") -> Ticket:
        """A service call that writes, off the GUI thread; its Changes are broadcast once."""
        return self.ops.write(fn, *args, on_done=on_done, on_error=on_error,
                              on_conflict=on_conflict, owner=owner, label=label)

    def broadcast(self, changes: Changes) -> None:
        """Tell every panel what changed (once per write)."""
        if not changes:
            return
        self.sig_changes.emit(changes)

    def _default_error(self, error: BaseException, owner: QObject | None) -> None:
        from itsmdesk.views.messages import error_text, is_connection_error, show_error

        if is_connection_error(error):
            self.sig_database_error.emit(error_text(error))
            return
        from PySide6.QtWidgets import QWidget

        widget = owner if isinstance(owner, QWidget) else None
        show_error(widget.window() if widget is not None else None, error)

    # -- live refresh and lost connections ----------------------------------------------------------
    def start_live(self) -> None:
        """Listen for other workstations' changes (PostgreSQL) and feed them to the panels."""
        if self.live_feed is not None:
            return
        from itsmdesk.views.live_feed import LiveFeed

        self.live_feed = LiveFeed(self, parent=self)
        self.live_feed.start()
        self.ops.on_stop.append(self.live_feed.stop)

    @property
    def connected(self) -> bool:
        return not self._down

    def connection_report(self, source: str, state: str, attempt: int) -> None:
        """A worker or the live feed lost (``"lost"``, attempt n next) or regained
        (``"reconnected"``/``"connected"``) its connection: one state for the banner."""
        was_down = bool(self._down)
        if state == "lost":
            self._down[source] = attempt
            self.sig_connection.emit(False, max(self._down.values()))
            return
        self._down.pop(source, None)
        if was_down and not self._down:
            self.sig_connection.emit(True, 0)

    # -- the rest ----------------------------------------------------------------------------------
    def set_actor(self, actor: Actor) -> None:
        self.actor = actor
        self.sig_actor_changed.emit()

    def changed_elsewhere(self, kind: str, ids: list[Any] | None = None) -> None:
        """Broadcast a change made outside this window's operations (another workstation's,
        as the change feed will deliver it): kind and ids, or the whole kind when ``ids`` is
        empty."""
        changes = Changes()
        if ids:
            for record_id in ids:
                changes.note("changed", kind, uuid.UUID(str(record_id))
                             if not isinstance(record_id, uuid.UUID) else record_id)
        else:
            changes.note_many(kind)
        self.broadcast(changes)

    def open_record(self, kind: str, record_id: Any = None) -> None:
        self.sig_open_record.emit(kind, record_id)
