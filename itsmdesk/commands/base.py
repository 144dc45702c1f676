"""What every command handler gets: the database, opened on first use, and output helpers."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import peewee as pw

from itsmdesk.catalog import QT_TRANSLATE_NOOP, translate
from itsmdesk.config import resolve_db_url
from itsmdesk.errors import N_, NotFoundError, ValidationError
from itsmdesk.i18n import template_text
from itsmdesk.models.database import DbInfo

# column key -> header of the human tables (translated when printed; --json keeps the keys)
HEADERS = {
    "action": QT_TRANSLATE_NOOP("Cli", "ACTION"),
    "after": QT_TRANSLATE_NOOP("Cli", "AFTER"),
    "approved": QT_TRANSLATE_NOOP("Cli", "APPROVED"),
    "at": QT_TRANSLATE_NOOP("Cli", "AT"),
    "availability_pct": QT_TRANSLATE_NOOP("Cli", "AVAILABILITY_PCT"),
    "category": QT_TRANSLATE_NOOP("Cli", "CATEGORY"),
    "caused_incidents": QT_TRANSLATE_NOOP("Cli", "CAUSED_INCIDENTS"),
    "change": QT_TRANSLATE_NOOP("Cli", "CHANGE"),
    "change_pct": QT_TRANSLATE_NOOP("Cli", "CHANGE_PCT"),
    "checksum": QT_TRANSLATE_NOOP("Cli", "CHECKSUM"),
    "ci": QT_TRANSLATE_NOOP("Cli", "CI"),
    "cis": QT_TRANSLATE_NOOP("Cli", "CIS"),
    "class_label": QT_TRANSLATE_NOOP("Cli", "CLASS_LABEL"),
    "count": QT_TRANSLATE_NOOP("Cli", "COUNT"),
    "criticality": QT_TRANSLATE_NOOP("Cli", "CRITICALITY"),
    "delta": QT_TRANSLATE_NOOP("Cli", "DELTA"),
    "depth": QT_TRANSLATE_NOOP("Cli", "DEPTH"),
    "detail": QT_TRANSLATE_NOOP("Cli", "DETAIL"),
    "downtime_h": QT_TRANSLATE_NOOP("Cli", "DOWNTIME_H"),
    "end": QT_TRANSLATE_NOOP("Cli", "END"),
    "escalate_pct": QT_TRANSLATE_NOOP("Cli", "ESCALATE_PCT"),
    "external_key": QT_TRANSLATE_NOOP("Cli", "EXTERNAL_KEY"),
    "factor": QT_TRANSLATE_NOOP("Cli", "FACTOR"),
    "failed": QT_TRANSLATE_NOOP("Cli", "FAILED"),
    "failures": QT_TRANSLATE_NOOP("Cli", "FAILURES"),
    "field": QT_TRANSLATE_NOOP("Cli", "FIELD"),
    "finished": QT_TRANSLATE_NOOP("Cli", "FINISHED"),
    "from": QT_TRANSLATE_NOOP("Cli", "FROM"),
    "incidents": QT_TRANSLATE_NOOP("Cli", "INCIDENTS"),
    "item": QT_TRANSLATE_NOOP("Cli", "ITEM"),
    "key": QT_TRANSLATE_NOOP("Cli", "KEY"),
    "kind": QT_TRANSLATE_NOOP("Cli", "KIND"),
    "mtbf_h": QT_TRANSLATE_NOOP("Cli", "MTBF_H"),
    "mttr_h": QT_TRANSLATE_NOOP("Cli", "MTTR_H"),
    "name": QT_TRANSLATE_NOOP("Cli", "NAME"),
    "new": QT_TRANSLATE_NOOP("Cli", "NEW"),
    "old": QT_TRANSLATE_NOOP("Cli", "OLD"),
    "on": QT_TRANSLATE_NOOP("Cli", "ON"),
    "other": QT_TRANSLATE_NOOP("Cli", "OTHER"),
    "owner": QT_TRANSLATE_NOOP("Cli", "OWNER"),
    "points": QT_TRANSLATE_NOOP("Cli", "POINTS"),
    "previous": QT_TRANSLATE_NOOP("Cli", "PREVIOUS"),
    "propagates": QT_TRANSLATE_NOOP("Cli", "PROPAGATES"),
    "priority": QT_TRANSLATE_NOOP("Cli", "PRIORITY"),
    "rank": QT_TRANSLATE_NOOP("Cli", "RANK"),
    "rate": QT_TRANSLATE_NOOP("Cli", "RATE"),
    "default": QT_TRANSLATE_NOOP("Cli", "DEFAULT"),
    "value": QT_TRANSLATE_NOOP("Cli", "VALUE"),
    "ref": QT_TRANSLATE_NOOP("Cli", "REF"),
    "refs": QT_TRANSLATE_NOOP("Cli", "REFS"),
    "relation": QT_TRANSLATE_NOOP("Cli", "RELATION"),
    "relations": QT_TRANSLATE_NOOP("Cli", "RELATIONS"),
    "resolution_min": QT_TRANSLATE_NOOP("Cli", "RESOLUTION_MIN"),
    "response_min": QT_TRANSLATE_NOOP("Cli", "RESPONSE_MIN"),
    "risk": QT_TRANSLATE_NOOP("Cli", "RISK"),
    "rrule": QT_TRANSLATE_NOOP("Cli", "RRULE"),
    "scope": QT_TRANSLATE_NOOP("Cli", "SCOPE"),
    "site": QT_TRANSLATE_NOOP("Cli", "SITE"),
    "source": QT_TRANSLATE_NOOP("Cli", "SOURCE"),
    "sla_state": QT_TRANSLATE_NOOP("Cli", "SLA_STATE"),
    "start": QT_TRANSLATE_NOOP("Cli", "START"),
    "starts_at": QT_TRANSLATE_NOOP("Cli", "STARTS_AT"),
    "status": QT_TRANSLATE_NOOP("Cli", "STATUS"),
    "step": QT_TRANSLATE_NOOP("Cli", "STEP"),
    "steps": QT_TRANSLATE_NOOP("Cli", "STEPS"),
    "successful": QT_TRANSLATE_NOOP("Cli", "SUCCESSFUL"),
    "suggested_title": QT_TRANSLATE_NOOP("Cli", "SUGGESTED_TITLE"),
    "taken_at": QT_TRANSLATE_NOOP("Cli", "TAKEN_AT"),
    "target": QT_TRANSLATE_NOOP("Cli", "TARGET"),
    "title": QT_TRANSLATE_NOOP("Cli", "TITLE"),
    "to": QT_TRANSLATE_NOOP("Cli", "TO"),
    "type": QT_TRANSLATE_NOOP("Cli", "TYPE"),
    "version": QT_TRANSLATE_NOOP("Cli", "VERSION"),
    "via": QT_TRANSLATE_NOOP("Cli", "VIA"),
    "weight": QT_TRANSLATE_NOOP("Cli", "WEIGHT"),
    "who": QT_TRANSLATE_NOOP("Cli", "WHO"),
    "why": QT_TRANSLATE_NOOP("Cli", "WHY"),
}


class CommandContext:
    """``demo``: the command works on the demo database (``--demo`` without ``--db``), built
    with the small demo on first use, as the desktop app does."""

    def __init__(self, db_url: str | None, demo: bool = False, user: str | None = None) -> None:
        import os

        from itsmdesk.config import demo_db_url

        self.demo = demo and not db_url
        self.url = demo_db_url() if self.demo else resolve_db_url(db_url)
        self.database: pw.Database | None = None
        self.info: DbInfo | None = None
        self.user = (user or os.environ.get("ITSMDESK_USER") or "").strip() or None
        self._actor = None

    @property
    def actor(self):  # noqa: ANN201 - an Actor
        """Who the command acts for: the person signed in with ``--user`` (or $ITSMDESK_USER;
        the password from $ITSMDESK_PASSWORD, else asked for), else nobody."""
        from itsmdesk.services.context import ANONYMOUS

        if self._actor is None:
            self.open()
            from itsmdesk.services.accounts import session_actor, sign_in

            connected_as = session_actor()
            if connected_as is not None:  # a secured shared database: the login role is the person
                self._actor = connected_as
            elif self.user:
                self._actor = sign_in(self.user, _password(self.user))
            else:
                self._actor = ANONYMOUS
        return self._actor

    def writer(self):  # noqa: ANN201 - an Actor
        """The actor of a command that writes: the signed-in person; on a database without
        accounts, SYSTEM when nobody signed in.  A database with accounts refuses a write
        without a sign-in."""
        from itsmdesk.errors import PermissionDeniedError
        from itsmdesk.services.accounts import has_accounts
        from itsmdesk.services.context import SYSTEM

        actor = self.actor
        if actor.person_id is not None:
            return actor
        if has_accounts():
            raise PermissionDeniedError(N_(
                "This database has accounts: sign in to change anything (--user LOGIN or "
                "ITSMDESK_USER; the password from ITSMDESK_PASSWORD or asked for)."),
                action="sign_in")
        return SYSTEM

    def reader(self):  # noqa: ANN201 - an Actor or None
        """Whose view a reading command shows: the person signed in with ``--user`` (a
        requester then sees only their own tickets and public notes); without a sign-in, None,
        the whole database (whoever can open an SQLite file can read it anyway; on PostgreSQL
        the login role's row-level security decides what the server returns)."""
        if self.user or (self.info is not None and self.info.backend == "postgresql"):
            return self.actor if self.actor.person_id is not None else None
        return None

    def open(self, upgrade: bool = True, create: bool = False) -> DbInfo:
        """Open (and upgrade) the database once.  An SQLite file that does not exist is said,
        not created (a typo in a path must not leave an empty database and its folders behind),
        unless ``create`` (commands that fill a database: demo, import) or the demo database."""
        if self.database is None:
            from itsmdesk.models.database import parse_url

            info = parse_url(self.url)
            if (info.backend == "sqlite" and info.path is not None and not info.path.exists()
                    and not (create or self.demo)):
                raise NotFoundError(N_("There is no database at {path}. Create one with "
                                       "'itsmdesk --db {url} init', or try the demo with "
                                       "'itsmdesk --demo ...'."), path=str(info.path),
                                    url=self.url)
            self.database, self.info = _open_asking_password(self.url, upgrade)
            if self.demo:
                self._fill_demo()
        assert self.info is not None
        return self.info

    def _fill_demo(self) -> None:
        from itsmdesk.services.stats import counts

        if counts()["incidents"] == 0:
            from itsmdesk.demo import builder

            print(translate("Cli", "building the demo database {db} (once)…").format(
                db=self.info.display if self.info else self.url), file=sys.stderr, flush=True)
            builder.generate("small", 42)

    def close(self) -> None:
        if self.database is not None:
            try:
                self.database.close()
            except Exception:  # noqa: BLE001
                pass
            self.database = None


def _with_pg_password(url: str) -> str:
    """A PostgreSQL URL given without its password (as it should be: a password on the command
    line shows in the process list) gets it from $ITSMDESK_PASSWORD or the keyring; the URL
    with it stays in memory only.  Unchanged when neither has one (libpq may still find one
    in ~/.pgpass or $PGPASSWORD, or the server may not ask)."""
    from itsmdesk.services import credentials

    if not credentials.needs_password(url):
        return url
    password = credentials.known_password(url)
    return credentials.with_password(url, password) if password is not None else url


def _open_asking_password(url: str, upgrade: bool):  # noqa: ANN202 - (database, DbInfo)
    """Open the database; when PostgreSQL wants a password nobody gave, ask on the terminal
    (like psql) or say where to put it."""
    from itsmdesk.errors import DatabaseUnavailableError, SignInError
    from itsmdesk.services import credentials
    from itsmdesk.services.session import open_database

    def progress(message: str) -> None:
        print(message, file=sys.stderr)

    target = _with_pg_password(url)
    try:
        return open_database(target, upgrade=upgrade, progress=progress)
    except DatabaseUnavailableError as exc:
        if not (credentials.needs_password(target) and "password" in str(exc).lower()):
            raise
        if not sys.stdin.isatty():
            raise SignInError(N_("No password for {who}: set ITSMDESK_PASSWORD, remember it in "
                                 "the keyring (File > Connect in the desktop app), or run the "
                                 "command in a terminal"),
                              who=credentials.keyring_user(url)) from None
    import getpass

    password = getpass.getpass(translate("Cli", "Password for {who}: ").format(
        who=credentials.keyring_user(url)))
    return open_database(credentials.with_password(url, password), upgrade=upgrade,
                         progress=progress)


def _password(login: str) -> str:
    import os

    password = os.environ.get("ITSMDESK_PASSWORD")
    if password is not None:
        return password
    if not sys.stdin.isatty():
        from itsmdesk.errors import SignInError

        raise SignInError(N_("No password for {login}: set ITSMDESK_PASSWORD or run the command "
                             "in a terminal"), login=login)
    import getpass

    return getpass.getpass(translate("Cli", "Password for {login}: ").format(login=login))


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str, ensure_ascii=False)
    sys.stdout.write("\n")


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A plain aligned text table (for people; scripts use --json)."""
    if not rows:
        print(translate("Cli", "(none)"))
        return
    headers = {c: translate("Cli", HEADERS[c]) if c in HEADERS else c.upper() for c in columns}
    widths = {c: max(len(headers[c]), *(len(str(r.get(c) if r.get(c) is not None else ""))
                                         for r in rows))
              for c in columns}
    widths = {c: min(w, 60) for c, w in widths.items()}
    print("  ".join(headers[c].ljust(widths[c]) for c in columns))
    for r in rows:
        cells = []
        for c in columns:
            value = "" if r.get(c) is None else str(r.get(c))
            cells.append(value[: widths[c]].ljust(widths[c]))
        print("  ".join(cells).rstrip())


def import_summary(report) -> str:  # noqa: ANN001 - an ImportReport
    """``ImportReport.summary()`` in the user's language (same English text)."""
    if report.dry_run:
        create = translate("Cli", "would create {n}")
    elif report.applied:
        create = translate("Cli", "create {n}")
    else:
        create = translate("Cli", "nothing written; create {n}")
    parts = [translate("Cli", "{kind}: {n} rows read").format(kind=report.kind, n=report.rows_read),
             create.format(n=report.created),
             translate("Cli", "update {n}").format(n=report.updated),
             translate("Cli", "unchanged {n}").format(n=report.unchanged),
             translate("Cli", "rejected {n}").format(n=report.rejected)]
    for key, value in report.extra.items():
        if key == "journal_rows":
            parts.append(translate("Cli", "journal_rows {n}").format(n=value))
        else:
            parts.append(f"{key} {value}")
    return ", ".join(parts)


def row_error_text(error) -> str:  # noqa: ANN001 - an import RowError
    """A bad row in the user's language: the framing and the reason (its N_() template with
    its parameters; the English ``reason`` when it has no template)."""
    reason = error.reason
    if getattr(error, "template", ""):
        reason = template_text(error.template, error.params, fallback=error.reason)
    return translate("Cli", "line {line}, column {column}: {reason}").format(
        line=error.line, column=error.column or "-", reason=reason)


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (``\\n``, ``\\x00``,
    ``\\u2028``): an error is one line on stderr even when it quotes what a person typed."""
    import unicodedata

    return "".join(ch if ch == " " or unicodedata.category(ch) not in ("Cc", "Zl", "Zp")
                   else ch.encode("unicode_escape").decode("ascii") for ch in text)


def whole(low: int, high: int):  # noqa: ANN201 - an argparse type
    """An argparse ``type``: a whole number from ``low`` to ``high`` (a sentence otherwise,
    never a number the database cannot hold)."""
    import argparse

    def parse(text: str) -> int:
        try:
            value = int(text.strip()) if len(text) <= 40 else None
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(translate(
                "Cli", "'{value}' is not a whole number from {low} to {high}").format(
                value=one_line(text[:40]), low=low, high=high))
        return value

    parse.__name__ = "whole number"
    return parse


def decimal_number(low: float, high: float):  # noqa: ANN201 - an argparse type
    """An argparse ``type``: a finite number from ``low`` to ``high``."""
    import argparse
    import math

    def parse(text: str) -> float:
        try:
            value = float(text) if len(text) <= 40 else math.nan
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(translate(
                "Cli", "'{value}' is not a number from {low} to {high}").format(
                value=one_line(text[:40]), low=low, high=high))
        return value

    parse.__name__ = "number"
    return parse


LIMIT = whole(0, 1_000_000)  # --limit, --top, --min: rows or items


# dates a command accepts: far enough for any record, near enough that a period's arithmetic
# (a day added, a year of buckets, a time zone) never leaves Python's datetime range
DATE_MIN = dt.datetime(1900, 1, 1)
DATE_MAX = dt.datetime(2199, 12, 31, 23, 59, 59)


def parse_date(text: str | None, end_of_day: bool = False) -> dt.datetime | None:
    """``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM`` (UTC) -> naive UTC datetime; clear error if not."""
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(N_("'{value}' is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)"),
                              value=text) from None
    if not DATE_MIN <= value.replace(tzinfo=None) <= DATE_MAX:
        raise ValidationError(N_("'{value}' is outside the dates itsmdesk works with ({first} to "
                                 "{last})"), value=text.strip(), first=DATE_MIN.date().isoformat(),
                              last=DATE_MAX.date().isoformat())
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    if end_of_day and len(text.strip()) == 10:
        value = value + dt.timedelta(days=1)
    return value
