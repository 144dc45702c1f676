"""Numbers as people read them: grouped the way the user's locale writes them."""

from __future__ import annotations

from PySide6.QtCore import QLocale


def grouped(n: object) -> str:
    """1050000 -> "1,050,000" (en), "1 050 000" (sv).  Qt's C locale omits the grouping by
    default, which makes a million tickets hard to read, so it is always switched on."""
    if not isinstance(n, int) or isinstance(n, bool):
        return str(n)
    locale = QLocale()
    locale.setNumberOptions(locale.numberOptions() & ~QLocale.NumberOption.OmitGroupSeparator)
    return locale.toString(n)
