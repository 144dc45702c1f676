"""Times are stored in UTC; people see them in their own zone and locale."""

from __future__ import annotations

import datetime as dt


def local_text(value: dt.datetime | None, seconds: bool = False) -> str:
    if value is None:
        return ""
    local = value.replace(tzinfo=dt.UTC).astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _qdate(day: dt.date):  # noqa: ANN202
    from PySide6.QtCore import QDate

    return QDate(day.year, day.month, day.day)


def date_text(day: dt.date, pattern: str) -> str:
    """``day`` with a Qt date pattern ("ddd d MMM", "MMMM yyyy") in the user's locale, so
    weekday and month names follow the language."""
    from PySide6.QtCore import QLocale

    return QLocale().toString(_qdate(day), pattern)


def weekday_names() -> list[str]:
    """Monday .. Sunday, short, in the user's locale."""
    from PySide6.QtCore import QLocale

    locale = QLocale()
    return [locale.dayName(i, QLocale.FormatType.ShortFormat) for i in range(1, 8)]
