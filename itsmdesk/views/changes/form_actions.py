"""What the change, CAB meeting and release forms add to :class:`RecordForm`:

* :meth:`FormActions.follow` names records of other kinds the form shows (a release's bundled
  changes and plan steps, the changes on a meeting's agenda and their votes): when someone else
  changes one of them and the form has no unsaved edits, it reloads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from itsmdesk.services.records import Changes


class FormActions:
    """A mixin for :class:`itsmdesk.views.forms.base.RecordForm` subclasses (put it first)."""

    # -- records the form shows but does not own ------------------------------------------------
    def follow(self, kind: str, ids: Callable[[], Iterable[Any]]) -> None:
        """Reload when a record of ``kind`` among ``ids()`` changes (and nothing is unsaved)."""
        if not hasattr(self, "_followed"):
            self._followed: list[tuple[str, Callable[[], Iterable[Any]]]] = []
            self.ctx.sig_changes.connect(self._on_followed)
        self._followed.append((kind, ids))

    def _on_followed(self, changes: Changes) -> None:
        if self.record_id is None or self.data is None or self.dirty \
                or self._save_ticket is not None:
            return
        if changes.batches and set(changes.batches) <= self._own_batches:
            return
        if str(self.record_id) in {str(i) for i in changes.ids(self.kind)}:
            return  # the form's own record: RecordForm reloads
        for kind, ids in self._followed:
            if changes.is_wholesale(kind) or \
                    {str(i) for i in changes.ids(kind)} & {str(i) for i in ids()}:
                self.reload()
                return
