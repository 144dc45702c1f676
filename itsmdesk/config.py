"""Every setting, declared once with its type, default and where it lives (after Picard's
``options.py``).

Three homes:

* ``environment``: a variable of the process (``ITSMDESK_DB``, ``ITSMDESK_SITE``...), read with
  :func:`value`; a bad value is refused with a sentence naming it;
* ``workstation``: the desk's own settings (window layout, who signed in last), kept by Qt's
  ``QSettings`` under the option's ``key``;
* ``organisation``: shared by everyone, kept in the database as a versioned, journalled setting
  (``records.set_setting``) under the option's ``key``.

``itsmdesk settings`` lists them all with their current values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from itsmdesk.errors import N_, ValidationError

APP_NAME = "itsmdesk"
APP_AUTHOR = "itsmdesk"

ENVIRONMENT, WORKSTATION, ORGANISATION = "environment", "workstation", "organisation"


@dataclass(frozen=True)
class Option:
    name: str
    scope: str  # environment | workstation | organisation
    key: str  # the variable's name, the QSettings key or the database setting's key
    default: Any
    doc: str
    parse: Callable[[str], Any] | None = None  # environment: text -> value (raises ValueError)


OPTIONS: dict[str, Option] = {}


def _option(name: str, scope: str, key: str, default: Any, doc: str,
            parse: Callable[[str], Any] | None = None) -> Option:
    opt = Option(name, scope, key, default, doc, parse)
    OPTIONS[name] = opt
    return opt


def _site_code(text: str) -> str:
    code = text.strip().upper()
    if code and not re.fullmatch(r"[A-Z0-9]{2,8}", code):
        raise ValueError(text)
    return code


def _flag(text: str) -> bool:
    return text.strip().lower() not in ("", "0", "false", "no", "off")


def _positive_int(text: str) -> int:
    number = int(text)
    if number <= 0:
        raise ValueError(text)
    return number


_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024 ** 2, "mb": 1024 ** 2,
               "mib": 1024 ** 2, "g": 1024 ** 3, "gb": 1024 ** 3, "gib": 1024 ** 3}
MAX_SIZE = 1024 ** 3  # an attachment is kept in the database: 1 GB at most


def _size(text: str) -> int:
    """``1048576``, ``512kB``, ``10MB``, ``1.5 MiB`` -> bytes (k, M, G are powers of 1024)."""
    match = re.fullmatch(r"\s*(\d{1,12}(?:\.\d{1,6})?)\s*([a-zA-Z]{0,3})\s*", text)
    if not match or match.group(2).lower() not in _SIZE_UNITS:
        raise ValueError(text)
    number = int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
    if not 0 < number <= MAX_SIZE:
        raise ValueError(text)
    return number


# -- environment -------------------------------------------------------------------------------
DB_URL = _option("db_url", ENVIRONMENT, "ITSMDESK_DB", "",
                 "Database URL (sqlite:///FILE or postgresql://...); --db wins over it")
SITE = _option("site", ENVIRONMENT, "ITSMDESK_SITE", "",
               "This workstation's site code (2-8 letters or digits): references it creates "
               "come from the site's own block, e.g. INC-OSL-000001", _site_code)
LANG = _option("lang", ENVIRONMENT, "ITSMDESK_LANG", "",
               "Language of the GUI, the CLI and the reports (e.g. sv_SE); else the system's")
MAX_ATTACHMENT = _option("max_attachment", ENVIRONMENT, "ITSMDESK_MAX_ATTACHMENT",
                         10 * 1024 * 1024, "Largest attachment: bytes, or a size such as 512kB "
                         "or 10MB (k, M, G are powers of 1024), at most 1GB", _size)
DEBUG = _option("debug", ENVIRONMENT, "ITSMDESK_DEBUG", False,
                "Show tracebacks of unexpected errors on the command line", _flag)
DEMO_ANCHOR = _option("demo_anchor", ENVIRONMENT, "ITSMDESK_DEMO_ANCHOR", "",
                      "Build demo data as if today were this date (YYYY-MM-DD)")
EXIT_WHEN_READY = _option("exit_when_ready", ENVIRONMENT, "ITSMDESK_EXIT_WHEN_READY", False,
                          "Quit with status 0 once the window shows its first queue rows (a "
                          "smoke test of an installed or bundled app)", _flag)
# -- workstation (QSettings) -------------------------------------------------------------------
LAYOUT_VERSION = _option("layout_version", WORKSTATION, "layout/version", 0,
                         "Version of the saved window layout (an older one is not restored)")
LAYOUT_GEOMETRY = _option("layout_geometry", WORKSTATION, "layout/geometry", None,
                          "The main window's saved size and position")
LAYOUT_STATE = _option("layout_state", WORKSTATION, "layout/state", None,
                       "The docks' saved arrangement")
QUEUE_COLUMNS = _option("queue_columns", WORKSTATION, "layout/queue_columns", None,
                        "The ticket queue's columns as the person arranged them: which, in what "
                        "order, how wide (JSON, per set of columns)")
PERSON_ID = _option("person_id", WORKSTATION, "session/person_id", None,
                    "Who worked at this desk last (signed in again at start)")
PERSON_NAME = _option("person_name", WORKSTATION, "session/person_name", None,
                      "That person's name, shown before the database answers")
CONNECTION_URL = _option("connection_url", WORKSTATION, "connection/url", "",
                        "The shared database chosen with File > Connect, without its password "
                        "(that stays in the keyring)")
# -- organisation (in the database) ------------------------------------------------------------
PRIORITY_MATRIX = _option("priority_matrix", ORGANISATION, "priority_matrix", None,
                          "Impact x urgency -> priority (default: the ITIL 3x3 matrix)")
ESCALATE_PCT = _option("escalate_pct", ORGANISATION, "sla_escalate_at_pct", 75,
                       "Share of the resolution time at which a ticket is flagged at risk")
CONFLICT_STRETCH = _option("conflict_stretch_minutes", ORGANISATION,
                           "change_conflict_stretch_minutes", 60,
                           "Minutes a change without an end counts as in conflict checks "
                           "(0: an instant, overlapping nothing)")

# -- mail (services/mail/account.py; passwords only in the keyring) -------------------------------
MAIL_IMAP_HOST = _option("mail_imap_host", ORGANISATION, "mail.imap.host", "",
                         "The Service Desk mailbox's IMAP server (empty: no mail intake)")
MAIL_IMAP_PORT = _option("mail_imap_port", ORGANISATION, "mail.imap.port", 0,
                         "Its port (0: 993 for ssl, 143 otherwise)")
MAIL_IMAP_SECURITY = _option("mail_imap_security", ORGANISATION, "mail.imap.security", "ssl",
                             "ssl (IMAPS), starttls, or none (loopback and tests only)")
MAIL_IMAP_USER = _option("mail_imap_user", ORGANISATION, "mail.imap.user", "",
                         "The mailbox's login (its password is kept in the keyring)")
MAIL_IMAP_FOLDER = _option("mail_imap_folder", ORGANISATION, "mail.imap.folder", "INBOX",
                           "The folder mail is taken from")
MAIL_IMAP_DONE_FOLDER = _option("mail_imap_done_folder", ORGANISATION, "mail.imap.done_folder", "",
                                "Move mail taken in to this folder (empty: flag it and leave it)")
MAIL_IMAP_CAFILE = _option("mail_imap_cafile", ORGANISATION, "mail.imap.cafile", "",
                           "A CA certificate file to trust for the IMAP server (a company CA)")
MAIL_FETCH_MINUTES = _option("mail_fetch_minutes", ORGANISATION, "mail.fetch_minutes", 5,
                             "How often the desktop fetches mail (minutes; 0: only on demand)")
MAIL_SMTP_HOST = _option("mail_smtp_host", ORGANISATION, "mail.smtp.host", "",
                         "The SMTP server notifications are sent through")
MAIL_SMTP_PORT = _option("mail_smtp_port", ORGANISATION, "mail.smtp.port", 0,
                         "Its port (0: 465 for ssl, 587 for starttls, 25 otherwise)")
MAIL_SMTP_SECURITY = _option("mail_smtp_security", ORGANISATION, "mail.smtp.security", "starttls",
                             "ssl, starttls, or none (loopback and tests only)")
MAIL_SMTP_USER = _option("mail_smtp_user", ORGANISATION, "mail.smtp.user", "",
                         "The SMTP login (empty: no login; its password is kept in the keyring)")
MAIL_SMTP_FROM = _option("mail_smtp_from", ORGANISATION, "mail.smtp.from", "",
                         "The Service Desk's address mail is sent from")
MAIL_SMTP_CAFILE = _option("mail_smtp_cafile", ORGANISATION, "mail.smtp.cafile", "",
                           "A CA certificate file to trust for the SMTP server (a private CA)")
MAIL_RULES = _option("mail_rules", ORGANISATION, "mail.rules", None,
                     "What a new mail becomes: rules by sender, recipient or subject words "
                     "giving a kind, category and team (JSON list); no rule: the unmatched queue")
MAIL_REOPEN_DAYS = _option("mail_reopen_days", ORGANISATION, "mail.reopen_days", 14,
                           "A reply to a ticket closed at most this many days ago reopens it; "
                           "an older one opens a follow-up ticket")
MAIL_OWN_DOMAIN = _option("mail_own_domain", ORGANISATION, "mail.own_domain", "",
                          "The domain of the Message-IDs we write (our own mail coming back is "
                          "never taken in); default: the From address's domain")
MAIL_PASSWORD = _option("mail_password", ENVIRONMENT, "ITSMDESK_MAIL_PASSWORD", "",
                        "The IMAP mailbox's password when the keyring has none (servers, CI)")
SMTP_PASSWORD = _option("smtp_password", ENVIRONMENT, "ITSMDESK_SMTP_PASSWORD", "",
                        "The SMTP password when the keyring has none (servers, CI)")


def value(opt: Option, environ: dict[str, str] | None = None) -> Any:
    """An environment option's value (its default when unset or empty)."""
    if opt.scope != ENVIRONMENT:
        raise TypeError(f"{opt.name} is not read from the environment")
    text = (environ if environ is not None else os.environ).get(opt.key, "")
    if text == "":
        return opt.default
    if opt.parse is None:
        return text
    try:
        return opt.parse(text)
    except ValueError:
        raise ValidationError(N_("{name}={value} is not valid: {doc}"), field=opt.name,
                              name=opt.key, value=text, doc=opt.doc) from None


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME, APP_AUTHOR))


def default_db_url() -> str:
    return f"sqlite:///{data_dir() / 'itsmdesk.db'}"


def demo_db_url() -> str:
    return f"sqlite:///{data_dir() / 'demo.db'}"


def resolve_db_url(cli_value: str | None) -> str:
    """``--db`` wins over ``ITSMDESK_DB``, which wins over the default file."""
    return cli_value or value(DB_URL) or default_db_url()


@dataclass(frozen=True)
class Settings:
    """Per-workstation settings that are not stored in the shared database."""

    site_code: str = ""          # empty for the central site; e.g. "OSL" for an offline site
    max_attachment_bytes: int = 10 * 1024 * 1024

    @classmethod
    def from_env(cls) -> Settings:
        return cls(site_code=value(SITE), max_attachment_bytes=value(MAX_ATTACHMENT))
