"""The status bar's word on a replica: "Replica OSL of <hub> · last synced <time>" (hidden on a
database that is not a replica); a scoped replica names its scope too: "Replica OSL of <hub> ·
scope: site OSL · last synced <time>".  Read off the GUI thread at start and after each sync from
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
        hub = _short_hub(state.hub_name or state.hub)
        if state.is_scoped:
            self.setText(self.tr("Replica {site} of {hub} · scope: {scope} · last synced {when}")
                         .format(site=state.site, hub=hub, scope=self.scope_text(state),
                                 when=when))
        else:
            self.setText(self.tr("Replica {site} of {hub} · last synced {when}").format(
                site=state.site, hub=hub, when=when))
        tip = self.tr("Hub: {hub}\nLocal journal rows waiting to be sent: {n}").format(
            hub=state.hub, n=state.unpushed_rows)
        if state.is_scoped:
            tip += "\n" + self.tr("Scope: {scope} (their CIs, tickets, problems, changes and "
                                  "releases, and all reference data)").format(
                scope=self.scope_text(state))
        self.setToolTip(tip)
        self.show()

    def scope_text(self, state: Overview) -> str:
        """``site OSL``, ``teams Oslo desk, Oslo network``, both joined by "; "; the spec as
        written when it names neither."""
        parts = []
        if len(state.scope_sites) == 1:
            parts.append(self.tr("site {code}").format(code=state.scope_sites[0]))
        elif state.scope_sites:
            parts.append(self.tr("sites {codes}").format(codes=", ".join(state.scope_sites)))
        if len(state.scope_teams) == 1:
            parts.append(self.tr("team {name}").format(name=state.scope_teams[0]))
        elif state.scope_teams:
            parts.append(self.tr("teams {names}").format(names=", ".join(state.scope_teams)))
        return "; ".join(parts) or state.scope

    def _changed(self, changes: Changes) -> None:
        if changes.touches(SYNC_KIND):
            self.refresh()
