"""The History tab shows names where the journal holds ids (a relation by its CIs, the change an
announcement is about)."""

import re

from itsmdesk.models.servicedesk import Announcement
from itsmdesk.services import records
from itsmdesk.services.cmdb import cis as cmdb
from itsmdesk.views.forms.history_view import HistoryView
from tests.change_helpers import T0, change, ci

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _texts(view: HistoryView) -> list[str]:
    tree = view.tree
    return [" | ".join(tree.topLevelItem(i).text(c) for c in range(6))
            for i in range(tree.topLevelItemCount())]


def test_history_view_names_relations_and_referenced_records(ctx, qtbot):
    app, dbs = ci("hr-app", "application"), ci("hr-db", "database")
    rel = cmdb.create_relation(app, "depends_on", dbs)
    chg = change("Patch HR", cis=[app])
    ann = records.create(Announcement, {"title": "HR down", "kind": "change",
                                        "change_id": chg.id, "starts_at": T0})
    view = HistoryView(ctx, "relation")
    qtbot.addWidget(view)
    view.set_record(rel.id)
    view.show()
    qtbot.waitUntil(lambda: view.tree.topLevelItemCount() > 0)
    lines = _texts(view)
    assert any(line.endswith("| hr-app depends_on hr-db") for line in lines), lines
    assert not any(UUID.search(line) for line in lines), lines
    other = HistoryView(ctx, "announcement")
    qtbot.addWidget(other)
    other.set_record(ann.id)
    other.show()
    qtbot.waitUntil(lambda: other.tree.topLevelItemCount() > 0)
    lines = _texts(other)
    assert any(line.endswith(f"| {chg.ref}") for line in lines), lines
    assert not any(UUID.search(line) for line in lines), lines
