"""Translations for the app and for headless work.

:func:`install_translators` loads ``resources/translations/itsmdesk_<lang>.qm`` and Qt's own
``qtbase_<lang>`` into an application (the GUI calls it from ``make_application``).
:func:`ensure_translations` gives headless code that renders with Qt (the PDF reports) the same
language: it creates a bare ``QCoreApplication`` (no display needed) when there is none.
Everything else here (error texts, templates) goes through :func:`itsmdesk.catalog.translate`,
which needs no Qt: the command line does not load Qt unless a command needs it.

The language is ``ITSMDESK_LANG`` (e.g. ``sv_SE``), else the system locale.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from itsmdesk.catalog import current_language, is_english, qm_file, translate

if TYPE_CHECKING:
    from PySide6.QtCore import QCoreApplication, QTranslator

# a text every translation has: translated means our translators are installed (the GUI's, or an
# earlier call's); removed translators (tests) no longer count
PROBE = ("PdfCommon", "Page {n} of {m}")
_headless_app: Any = None  # a QCoreApplication kept alive for the rest of the process


def install_translators(app: QCoreApplication, lang: str | None = None) -> list[QTranslator]:
    """Install itsmdesk's and Qt's translations for ``lang`` (default: :func:`current_language`)
    into ``app``; returns the translators installed (children of ``app``)."""
    from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator

    lang = lang or current_language()
    installed: list[QTranslator] = []
    translator = QTranslator(app)
    qm = qm_file(lang)
    if qm.exists() and translator.load(str(qm)):
        app.installTranslator(translator)
        installed.append(translator)
        # Qt's own texts (Save, Cancel, Close, file dialogs) in the same language
        qt_translator = QTranslator(app)
        qt_folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if qt_translator.load(QLocale(lang), "qtbase", "_", qt_folder):
            app.installTranslator(qt_translator)
            installed.append(qt_translator)
    return installed


def use_language_locale(lang: str | None = None) -> None:
    """Dates and numbers follow the chosen language too (``ITSMDESK_LANG=sv_SE``: "måndag",
    "1 050 000"); without a language setting the system locale stays."""
    from PySide6.QtCore import QLocale

    from itsmdesk import config

    lang = lang or config.value(config.LANG)
    if lang:
        QLocale.setDefault(QLocale(lang))


def remove_translators(app: QCoreApplication, translators: list[QTranslator]) -> None:
    """Undo :func:`install_translators` / :func:`ensure_translations` (tests switch back)."""
    for translator in translators:
        app.removeTranslator(translator)
        translator.deleteLater()


def error_text(error: BaseException) -> str:
    """A domain error in the user's language: its template translated in the "errors" context,
    then formatted with its parameters (English when no translator is installed).  Shared by
    the views (``views.messages``) and the command line."""
    from itsmdesk.errors import ItsmError

    if isinstance(error, ItsmError):
        template = translate("errors", error.template)
        try:
            return template.format(**_translated_params(error.params))
        except (KeyError, IndexError, ValueError):
            return error.message
    return translate("errors", "Unexpected error: {error}").format(
        error=f"{type(error).__name__}: {error}")


def reason_text(factor) -> str:  # noqa: ANN001 - a risk factor: dict or object
    """A risk factor's reason ("why") in the user's language: ``why_template`` translated in the
    "errors" context and formatted with ``why_params``; the stored English ``why`` when the
    factor has no template (rows assessed by older versions)."""
    get = factor.get if isinstance(factor, dict) else (lambda key: getattr(factor, key, None))
    template, params, why = get("why_template"), get("why_params") or {}, get("why") or ""
    if not template:
        return why
    try:
        return translate("errors", template).format(**params)
    except (KeyError, IndexError, ValueError):
        return why


def _translated_params(params: dict) -> dict:
    """Parameters that are :class:`itsmdesk.errors.Phrase` (N_() texts themselves) translated."""
    from itsmdesk.errors import Phrase

    return {k: translate("errors", v) if isinstance(v, Phrase) else v for k, v in params.items()}


def template_text(template: str, params: dict, fallback: str = "") -> str:
    """An N_() template in the user's language (the "errors" context), formatted."""
    try:
        return translate("errors", template).format(**_translated_params(params))
    except (KeyError, IndexError, ValueError):
        return fallback or template


def number(value: float | int, digits: int = 0) -> str:
    """``value`` grouped and with ``digits`` decimals the way the user's locale writes numbers
    ("8,760.5" / "8 760,5"); Qt's C locale omits grouping unless asked, so it is asked."""
    from PySide6.QtCore import QLocale

    locale = QLocale()
    locale.setNumberOptions(locale.numberOptions() & ~QLocale.NumberOption.OmitGroupSeparator)
    if digits == 0 and isinstance(value, int):
        return locale.toString(value)
    return locale.toString(float(value), "f", digits)


def ensure_translations(lang: str | None = None) -> list[QTranslator]:
    """Make ``QCoreApplication.translate`` follow the user's language outside the GUI.

    English (or a language without a translation file): nothing to do. Otherwise the existing
    application is reused (a bare ``QCoreApplication`` is created when there is none) and the
    translators are installed unless translations are already active (the GUI's).
    Returns the translators installed by this call (``removeTranslator`` undoes them).
    """
    from PySide6.QtCore import QCoreApplication

    global _headless_app
    lang = lang or current_language()
    if is_english(lang) or not qm_file(lang).exists():
        return []
    app = QCoreApplication.instance()
    if app is None:
        _headless_app = app = QCoreApplication(sys.argv[:1] or ["itsmdesk"])
    if QCoreApplication.translate(*PROBE) != PROBE[1]:
        return []  # translations already active
    return install_translators(app, lang)


__all__ = ["current_language", "ensure_translations", "error_text", "install_translators", "number", "qm_file",
           "reason_text", "remove_translators"]
