"""The Swedish translation reaches the running app: our own texts and Qt's standard buttons."""

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator
from PySide6.QtWidgets import QDialogButtonBox

from itsmdesk.app import make_application


def test_swedish_app_texts_and_qt_buttons(qapp, monkeypatch):
    monkeypatch.setenv("ITSMDESK_LANG", "sv_SE")
    before = set(qapp.findChildren(QTranslator))
    locale_before = QLocale()
    app = make_application()
    added = [t for t in app.findChildren(QTranslator) if t not in before]
    try:
        assert len(added) == 2  # itsmdesk_sv and Qt's qtbase_sv
        assert QCoreApplication.translate("QueuePanel", "New ticket") == "Nytt ärende"
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        assert sorted(b.text() for b in buttons.buttons()) == ["Avbryt", "Spara"]
        # names the views keep in tables (marked with QT_TRANSLATE_NOOP / N_) are found too
        assert QCoreApplication.translate("QueuePanel", "My open") == "Mina öppna"
        assert QCoreApplication.translate("errors", "Reference") == "Referens"
        from itsmdesk.words import word

        assert word("in_progress") == "pågår" and word("retired") == "avvecklad"
        # dates and numbers follow the language too
        from itsmdesk.views.numfmt import grouped
        from itsmdesk.views.timefmt import weekday_names

        assert weekday_names()[0].lower().startswith("mån")
        assert grouped(1050000) == "1\u00a0050\u00a0000"
    finally:
        QLocale.setDefault(locale_before)
        for translator in added:
            app.removeTranslator(translator)
            translator.deleteLater()
    assert QCoreApplication.translate("QueuePanel", "New ticket") == "New ticket"
