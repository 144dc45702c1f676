"""Quick open finds a record by its source-system key (any case) and says which key matched."""

from itsmdesk.models.change import Change
from itsmdesk.services import records
from itsmdesk.views.quick_open import QuickOpen
from tests.change_helpers import change


def test_quick_open_by_external_key(ctx, qtbot):
    chg = change("Move the print server")
    records.update(Change, chg.id, None, {"external_key": "C000123"})
    opened = []
    ctx.sig_open_record.connect(lambda kind, rid: opened.append((kind, rid)))
    dialog = QuickOpen(ctx)
    qtbot.addWidget(dialog)
    dialog.edit.setText("c000123")
    dialog.search()
    assert dialog.results.count() == 1
    text = dialog.results.item(0).text()
    assert text.startswith(f"[Change]  {chg.ref}   Move the print server")
    assert text.endswith("source key C000123")
    dialog.open_current()
    assert opened == [("change", chg.id)]
