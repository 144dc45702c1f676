"""The status bar's word on a replica: "Replica OSL of <hub> · last synced <time>" (hidden on a
database that is not a replica).  Read off the GUI thread at start and after each sync from
this window (its Changes name the kind ``replica``)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from itsmdesk.services.records import Changes
from itsmdesk.services.sync.overview import Overview, overview
from itsmdesk.views.conflicts.panel import SYNC_KIND
from itsmdesk.views.timefmt import local_text

HUB_SHOWN_MAX = 48


def _short_hub(hub: str) -> str:
    return hub if len(hub) <= HUB_SHOWN_MAX else "…" + hub[-(HUB_SHOWN_MAX - 1):]


class ReplicaLabel(QLabel):
    def __init__(self, ctx, parent: QWidget | None = None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("replicaLabel")
        self.hide()
        ctx.sig_changes.connect(self._changed)
        self.refresh()

    def refresh(self) -> None:
        self.ctx.query(overview, False, on_done=self.show_state, on_error=lambda _e: None,
                       key=f"replica-label-{id(self)}", owner=self)

    def show_state(self, state: Overview) -> None:
        if not state.is_replica:
            self.hide()
            return
        when = local_text(state.last_sync) if state.last_sync else self.tr("never")
        self.setText(self.tr("Replica {site} of {hub} · last synced {when}").format(
            site=state.site, hub=_short_hub(state.hub_name or state.hub), when=when))
        tip = self.tr("Hub: {hub}\nLocal journal rows waiting to be sent: {n}").format(
            hub=state.hub, n=state.unpushed_rows)
        self.setToolTip(tip)
        self.show()

    def _changed(self, changes: Changes) -> None:
        if changes.touches(SYNC_KIND):
            self.refresh()
