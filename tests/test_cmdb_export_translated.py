"""The CMDB menu and CSV export texts are extractable and Swedish: the save dialog's title, the
progress label and the status line ("{n} CIs written to {path}") follow the user's language;
English reads as before apart from "CIs" (not "cis")."""

from __future__ import annotations

from itsmdesk.services.cmdb import cis as cmdb


def _export(ctx, kind: str, tmp_path, monkeypatch) -> dict:
    from itsmdesk.views.cmdb import dialogs

    seen: dict = {"status": []}
    target = tmp_path / f"{kind}.csv"

    def save_name(parent, title, name, filters):  # noqa: ANN001, ANN202
        seen["title"], seen["name"] = title, name
        return str(target), filters

    class Progress(dialogs.QProgressDialog):
        def __init__(self, label, *args) -> None:  # noqa: ANN001
            super().__init__(label, *args)
            seen["progress"] = self.labelText()

    monkeypatch.setattr(dialogs.QFileDialog, "getSaveFileName", staticmethod(save_name))
    monkeypatch.setattr(dialogs, "QProgressDialog", Progress)
    ctx.sig_status.connect(seen["status"].append)
    cmdb.ensure_standard_classes()
    seen["count"] = dialogs.export_with_dialog(ctx, kind)
    seen["path"] = str(target)
    assert target.exists()
    return seen


def test_export_texts_in_swedish(swedish, ctx, tmp_path, monkeypatch):
    cis = _export(ctx, "cis", tmp_path, monkeypatch)
    assert cis["title"] == "Exportera CI:n som CSV" and cis["name"] == "cis.csv"
    assert cis["progress"] == "Exporterar…"
    assert cis["status"] == [f"{cis['count']} CI:n skrivna till {cis['path']}"]
    rels = _export(ctx, "relations", tmp_path, monkeypatch)
    assert rels["title"] == "Exportera relationer som CSV"
    assert rels["status"] == [f"{rels['count']} relationer skrivna till {rels['path']}"]


def test_export_texts_in_english(ctx, tmp_path, monkeypatch):
    cis = _export(ctx, "cis", tmp_path, monkeypatch)
    assert (cis["title"], cis["progress"]) == ("Export CIs as CSV", "Exporting…")
    assert cis["status"] == [f"{cis['count']} CIs written to {cis['path']}"]
    rels = _export(ctx, "relations", tmp_path, monkeypatch)
    assert rels["status"] == [f"{rels['count']} relations written to {rels['path']}"]


def test_cmdb_menu_in_swedish(swedish, ctx, qtbot):
    from PySide6.QtWidgets import QWidget

    from itsmdesk.views.cmdb.panel import menu_actions

    window = QWidget()
    qtbot.addWidget(window)
    texts = [action.text() for _menu, action in menu_actions(ctx, window)]
    assert texts[:5] == ["Importera CI:n/relationer från CSV…", "Exportera CI:n som CSV…",
                         "Exportera relationer som CSV…", "CMDB-baslinjer…",
                         "Granska CMDB mot en skanning…"]
