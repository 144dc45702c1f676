"""Translations without Qt, for the command line and everything below the views.

The desktop app translates through Qt (``QTranslator`` objects installed in the application;
``self.tr`` in the views).  A headless command should not load Qt for that: importing QtCore
alone costs more than the rest of a ``itsmdesk stats``.  So :func:`translate` reads the same
compiled catalogue, ``resources/translations/itsmdesk_<lang>.qm``, with a small reader of Qt's
.qm format (the messages block: context, source text and translation of every message; lrelease
keeps them all) and looks texts up in a dict.

When a Qt application exists in the process (the GUI, a PDF report rendered by the CLI, the
tests), :func:`translate` asks Qt instead, so the installed translators stay the one truth and
tests that install or remove them see the effect.

``QT_TRANSLATE_NOOP`` marks a text for lupdate without translating it, as Qt's does; lupdate
recognises the calls by name, wherever the function comes from.
"""

from __future__ import annotations

import functools
import os
import struct
import sys
from pathlib import Path

QM_MAGIC = bytes.fromhex("3cb86418caef9c95cd211cbf60a1bddd")
_MESSAGES, _END, _TRANSLATION, _OBSOLETE1, _SOURCE, _CONTEXT, _COMMENT = 0x69, 1, 3, 5, 6, 7, 8


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # noqa: N802 - Qt's name, for lupdate
    return text


def current_language() -> str:
    """``ITSMDESK_LANG``, else the system's (``LC_ALL``, ``LC_MESSAGES``, ``LANG``: what
    ``QLocale.system()`` reads on Linux), e.g. ``sv_SE``; "C" when none is set."""
    from itsmdesk import config

    chosen = config.value(config.LANG)
    if chosen:
        return chosen
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return value.split(".")[0].split("@")[0] or "C"
    return "C"


def is_english(lang: str) -> bool:
    base = lang.split("_")[0].split("-")[0].lower()
    return base in ("", "c", "en", "posix")


def qm_file(lang: str) -> Path:
    from itsmdesk.resource_files import translations_dir

    return translations_dir() / f"itsmdesk_{lang.split('_')[0].split('-')[0]}.qm"


def read_qm(data: bytes) -> dict[tuple[str, str], str]:
    """(context, source text) -> translation, from a .qm file's bytes.  Untranslated and
    plural-form messages (more than one translation) are left out: the caller then shows the
    source text, as Qt does."""
    if not data.startswith(QM_MAGIC):
        raise ValueError("not a Qt .qm file")
    pos, block = len(QM_MAGIC), b""
    while pos + 5 <= len(data):
        tag, length = data[pos], struct.unpack_from(">I", data, pos + 1)[0]
        if tag == _MESSAGES:
            block = data[pos + 5:pos + 5 + length]
        pos += 5 + length
    out: dict[tuple[str, str], str] = {}
    m, context, source, translations = 0, "", "", []
    while m < len(block):
        tag = block[m]
        m += 1
        if tag == _END:
            if len(translations) == 1 and translations[0]:
                out[(context, source)] = translations[0]
            context, source, translations = "", "", []
        elif tag == _TRANSLATION:
            length = struct.unpack_from(">I", block, m)[0]
            m += 4
            if length == 0xFFFFFFFF:
                translations.append("")
                continue
            translations.append(block[m:m + length].decode("utf-16-be"))
            m += length
        elif tag in (_SOURCE, _CONTEXT, _COMMENT):
            length = struct.unpack_from(">I", block, m)[0]
            m += 4
            text = block[m:m + length].decode("utf-8")
            m += length
            if tag == _SOURCE:
                source = text
            elif tag == _CONTEXT:
                context = text
        elif tag == _OBSOLETE1:
            m += 4
        else:  # a tag this reader does not know: stop rather than misread the rest
            break
    return out


@functools.lru_cache(maxsize=4)
def messages(lang: str) -> dict[tuple[str, str], str]:
    """The catalogue for ``lang`` (empty for English or a language without one)."""
    if is_english(lang):
        return {}
    path = qm_file(lang)
    try:
        return read_qm(path.read_bytes())
    except (OSError, ValueError):
        return {}


def translate(context: str, text: str, disambiguation: str | None = None, n: int = -1) -> str:
    """``text`` in the user's language: through Qt's installed translators when a Qt
    application runs in this process, else from the catalogue."""
    qt = sys.modules.get("PySide6.QtCore")
    if qt is not None and qt.QCoreApplication.instance() is not None:
        return qt.QCoreApplication.translate(context, text, disambiguation, n)
    return messages(current_language()).get((context, text), text)
