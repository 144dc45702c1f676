"""What every panel and form gets: the database description, who is signed in, the worker,
and the signals panels use to talk to each other (Spyder's ``sig_*`` convention)."""

from __future__ import annotations

import uuid
from typing import Any

from PySide6.QtCore import QObject, Signal

from itsmdesk.models.database import DbInfo
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.views.worker import DbWorker


class AppContext(QObject):
    sig_records_changed = Signal(str, list)
    """(record kind, [record ids]) after a write, so panels refresh only what changed."""

    sig_open_record = Signal(str, object)
    """(record kind, record id or None for a new record): open a form tab in the centre."""

    sig_actor_changed = Signal()
    """The signed-in person changed."""

    sig_status = Signal(str)
    """A short message for the status bar."""

    def __init__(self, info: DbInfo, synchronous: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.info = info
        self.worker = DbWorker(synchronous=synchronous, parent=self)
        self.actor: Actor = SYSTEM
        self.site: str = ""
        self.clock = None  # tests may set a callable returning "now" (UTC, naive)

    def set_actor(self, actor: Actor) -> None:
        self.actor = actor
        self.sig_actor_changed.emit()

    def records_changed(self, kind: str, ids: list[Any] | None = None) -> None:
        self.sig_records_changed.emit(kind, [str(i) if isinstance(i, uuid.UUID) else i
                                             for i in (ids or [])])

    def open_record(self, kind: str, record_id: Any = None) -> None:
        self.sig_open_record.emit(kind, record_id)
