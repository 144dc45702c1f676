"""What every command handler gets: the database, opened on first use, and output helpers."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import peewee as pw

from itsmdesk.config import resolve_db_url
from itsmdesk.errors import N_, ValidationError
from itsmdesk.models.database import DbInfo


class CommandContext:
    def __init__(self, db_url: str | None) -> None:
        self.url = resolve_db_url(db_url)
        self.database: pw.Database | None = None
        self.info: DbInfo | None = None

    def open(self, upgrade: bool = True) -> DbInfo:
        """Open (and create or upgrade) the database once."""
        if self.database is None:
            from itsmdesk.services.session import open_database

            self.database, self.info = open_database(self.url, upgrade=upgrade,
                                                     progress=lambda m: print(m, file=sys.stderr))
        assert self.info is not None
        return self.info

    def close(self) -> None:
        if self.database is not None:
            try:
                self.database.close()
            except Exception:  # noqa: BLE001
                pass
            self.database = None


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str, ensure_ascii=False)
    sys.stdout.write("\n")


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A plain aligned text table (for people; scripts use --json)."""
    if not rows:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c) if r.get(c) is not None else "")) for r in rows))
              for c in columns}
    widths = {c: min(w, 60) for c, w in widths.items()}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for r in rows:
        cells = []
        for c in columns:
            value = "" if r.get(c) is None else str(r.get(c))
            cells.append(value[: widths[c]].ljust(widths[c]))
        print("  ".join(cells).rstrip())


def parse_date(text: str | None, end_of_day: bool = False) -> dt.datetime | None:
    """``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM`` (UTC) -> naive UTC datetime; clear error if not."""
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(N_("'{value}' is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)"),
                              value=text) from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    if end_of_day and len(text.strip()) == 10:
        value = value + dt.timedelta(days=1)
    return value
