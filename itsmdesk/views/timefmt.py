"""Times are stored in UTC; people see them in their own zone and locale."""

from __future__ import annotations

import datetime as dt


def local_text(value: dt.datetime | None, seconds: bool = False) -> str:
    if value is None:
        return ""
    local = value.replace(tzinfo=dt.UTC).astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
