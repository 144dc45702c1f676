"""Passwords of shared (PostgreSQL) databases: never in a URL on the command line, never in a
settings file, never in a log.

A saved connection is its URL *without* the password (the workstation settings keep that); the
password comes, in this order, from ``$ITSMDESK_PASSWORD``, the operating system's keyring
(service ``itsmdesk``, user ``<login>@<host>:<port>/<database>``), or the person, asked.  A
computer whose keyring has no backend (a bare server, a CI box) simply does not remember: every
function here says so instead of failing.  No Qt here: the CLI and the GUI share it.
"""

from __future__ import annotations

import os
from urllib.parse import quote, urlsplit, urlunsplit

from itsmdesk.models.database import DbInfo, parse_url

SERVICE = "itsmdesk"


def _info(target: DbInfo | str) -> DbInfo:
    return parse_url(target) if isinstance(target, str) else target


def keyring_user(target: DbInfo | str) -> str:
    """The keyring entry's user name for a PostgreSQL database (its URL or DbInfo):
    ``login@host:port/db``."""
    info = _info(target)
    return f"{info.user or ''}@{info.host}:{info.port}/{info.dbname}"


def _backend():  # noqa: ANN202 - a keyring backend, or None when there is no usable one
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - a broken keyring install is "no keyring"
        return None
    if isinstance(backend, fail.Keyring):
        return None
    return backend


def keyring_available() -> bool:
    return _backend() is not None


def stored_password(info: DbInfo | str) -> str | None:
    """The remembered password, or None (none remembered, or no keyring)."""
    backend = _backend()
    if backend is None:
        return None
    try:
        return backend.get_password(SERVICE, keyring_user(_info(info)))
    except Exception:  # noqa: BLE001 - keyring.errors.KeyringError, a locked or absent store
        return None


def remember_password(info: DbInfo | str, password: str) -> bool:
    """Keep the password in the keyring; False when this computer has no keyring (nothing is
    written anywhere else)."""
    backend = _backend()
    if backend is None:
        return False
    try:
        backend.set_password(SERVICE, keyring_user(_info(info)), password)
    except Exception:  # noqa: BLE001 - keyring.errors.PasswordSetError, NoKeyringError
        return False
    return True


def forget_password(info: DbInfo | str) -> None:
    backend = _backend()
    if backend is None:
        return
    try:
        backend.delete_password(SERVICE, keyring_user(_info(info)))
    except Exception:  # noqa: BLE001 - keyring.errors.PasswordDeleteError: none was kept
        pass


def stored_secret(entry: str) -> str | None:
    """Another service's remembered password (a mailbox: ``imap:user@host:port``), or None."""
    backend = _backend()
    if backend is None:
        return None
    try:
        return backend.get_password(SERVICE, entry)
    except Exception:  # noqa: BLE001 - a locked or absent store
        return None


def remember_secret(entry: str, password: str) -> bool:
    """Keep another service's password in the keyring; False when there is no keyring."""
    backend = _backend()
    if backend is None:
        return False
    try:
        backend.set_password(SERVICE, entry, password)
    except Exception:  # noqa: BLE001 - keyring.errors.PasswordSetError, NoKeyringError
        return False
    return True


def without_password(url: str) -> str:
    """The URL as it may be kept or shown: the password taken out."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.hostname or ""
    if parts.username:
        netloc = f"{quote(parts.username, safe='')}@{netloc}"
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def with_password(url: str, password: str | None) -> str:
    """The URL to connect with (kept in memory only): ``password`` put in."""
    if not password or not url.startswith(("postgresql://", "postgres://")):
        return url
    parts = urlsplit(without_password(url))
    user = quote(parts.username or "", safe="")
    netloc = f"{user}:{quote(password, safe='')}@{parts.hostname}"
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def needs_password(url: str) -> bool:
    info = parse_url(url)
    return info.backend == "postgresql" and not info.password


def known_password(url: str) -> str | None:
    """A PostgreSQL URL's password without asking: ``$ITSMDESK_PASSWORD``, else the keyring."""
    env = os.environ.get("ITSMDESK_PASSWORD")
    if env is not None:
        return env
    return stored_password(parse_url(url))


def check_connection(url: str) -> str:
    """Connect to ``url`` on a connection of its own (the database the app works on is not
    touched) and return the display name; raises DatabaseUnavailableError with the reason."""
    from itsmdesk.models.database import _close_quietly, describe_failure, make_database

    info = parse_url(url)
    database = make_database(info)
    try:
        database.connect()
        database.execute_sql("SELECT 1").fetchone()
    except Exception as exc:  # noqa: BLE001 - every driver error becomes one sentence
        raise describe_failure(info, exc) from None
    finally:
        _close_quietly(database)
    return info.display
