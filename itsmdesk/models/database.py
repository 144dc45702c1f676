"""Open the database a URL names and bind it to the one DatabaseProxy.

``sqlite:///relative/file.db``, ``sqlite:////absolute/file.db`` (as SQLAlchemy spells them) and
``postgresql://user:pass@host:port/dbname``.  Every failure becomes a
:class:`DatabaseUnavailableError` whose message names the problem in one line.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import peewee as pw

from itsmdesk.errors import N_, DatabaseUnavailableError
from itsmdesk.models.base import db

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": 10000,
    "cache_size": -64000,  # 64 MB page cache
    "temp_store": "memory",
    "mmap_size": 268435456,
}


# A dead peer is noticed within seconds, not after the kernel's two hours: TCP keepalives
# after 5 s idle, every 2 s, 3 misses; unacknowledged data gives up after 10 s.
PG_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                "keepalives_count": 3, "tcp_user_timeout": 10000}


@dataclass(frozen=True)
class DbInfo:
    """What a URL names: back end, where, and a description safe to show (no password)."""

    url: str
    backend: str  # "sqlite" | "postgresql"
    path: Path | None = None
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = None
    dbname: str | None = None

    @property
    def display(self) -> str:
        if self.backend == "sqlite":
            return str(self.path) if self.path else ":memory:"
        return f"postgresql://{self.user or ''}@{self.host}:{self.port}/{self.dbname}"


def _shown(url: str) -> str:
    """A URL as it may appear in a one-line message: control characters escaped, no password."""
    text = url.encode("unicode_escape").decode("ascii")
    scheme, sep, rest = text.partition("://")
    if sep and "@" in rest and not scheme.startswith("sqlite"):
        # the user information runs to the LAST '@' (a password may hold '@', '/', '#', '?'):
        # keep the user name, hide everything after its ':'
        userinfo, _, host = rest.rpartition("@")
        user, colon, _secret = userinfo.partition(":")
        text = f"{scheme}://{user}{':***' if colon else ''}@{host}"
    text = re.sub(r"(?i)(password=)[^&\s]*", r"\1***", text)
    return text if len(text) <= 120 else text[:117] + "..."


def parse_url(url: str) -> DbInfo:
    url = (url or "").strip()
    shown = _shown(url)
    if url.startswith("sqlite://"):
        rest = url[len("sqlite://"):]
        if not rest.startswith("/") or rest == "/":
            raise DatabaseUnavailableError(
                N_("Bad database URL '{url}': write sqlite:///relative.db or sqlite:////absolute.db"),
                url=shown)
        rest = rest[1:]
        if rest == ":memory:":
            return DbInfo(url, "sqlite", None)
        return DbInfo(url, "sqlite", _sqlite_path(unquote(rest), shown))
    if url.startswith(("postgresql://", "postgres://")):
        if "\x00" in url:
            raise DatabaseUnavailableError(N_("Bad database URL '{url}': it holds a NUL character"),
                                           url=shown)
        try:
            parts = urlsplit(url)
        except ValueError as exc:  # "Invalid IPv6 URL"
            raise DatabaseUnavailableError(
                N_("Bad database URL '{url}' ({reason}): write "
                   "postgresql://USER:PASSWORD@HOST:PORT/DBNAME"), url=shown, reason=str(exc)) from None
        rest = url.split("://", 1)[1]
        if parts.netloc and "@" in rest.partition(parts.netloc)[2]:
            # an '@' after the host: a password holding '/', '#' or '?' cut the URL short, and
            # the rest of it would be taken for the host or the database name (and shown)
            raise DatabaseUnavailableError(
                N_("Bad database URL '{url}': write the characters / # ? @ of a password "
                   "percent-encoded (/ as %2F, # as %23, ? as %3F, @ as %40)"), url=shown)
        dbname = parts.path.lstrip("/")
        if not parts.hostname or not dbname:
            raise DatabaseUnavailableError(
                N_("Bad database URL '{url}': write postgresql://USER:PASSWORD@HOST:PORT/DBNAME"),
                url=shown)
        try:
            port = parts.port or 5432
        except ValueError:
            raise DatabaseUnavailableError(N_("Bad port in database URL '{url}'"), url=shown) from None
        return DbInfo(url, "postgresql", None, parts.hostname, port,
                      unquote(parts.username) if parts.username else None,
                      unquote(parts.password) if parts.password else None, unquote(dbname))
    raise DatabaseUnavailableError(
        N_("Unsupported database URL '{url}': use sqlite:///FILE or "
           "postgresql://USER:PASSWORD@HOST:PORT/DBNAME"), url=shown)


NAME_MAX = 255  # bytes in one file or folder name (ext4, NTFS, APFS)
PATH_MAX = 4096


def _sqlite_path(text: str, shown: str) -> Path:
    """The file an SQLite URL names, refused with a sentence when no file system could hold it."""
    if "\x00" in text:
        raise DatabaseUnavailableError(
            N_("Bad database URL '{url}': the file name holds a NUL character"), url=shown)
    longest = max((len(part.encode("utf-8", "surrogateescape")) for part in text.split("/")),
                  default=0)
    if longest > NAME_MAX or len(text.encode("utf-8", "surrogateescape")) > PATH_MAX:
        raise DatabaseUnavailableError(
            N_("Bad database URL '{url}': a file or folder name may be at most {most} bytes "
               "long, the whole path {path_most}"), url=shown, most=NAME_MAX, path_most=PATH_MAX)
    return Path(text).expanduser()


def create_private(path: Path, reset: bool = False) -> None:
    """Create ``path`` empty, readable and writable by its owner only (0600), unless it exists
    (``reset``: make an existing one 0600 too).  SQLite gives its -wal, -shm and -journal files
    the mode of the database file, so they are private as well."""
    import os

    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if reset:
            os.chmod(path, 0o600)
        return
    os.close(fd)
    os.chmod(path, 0o600)  # (whatever the umask)


def _check_regular(path: Path) -> None:
    """An existing path must be a regular file (not /dev/null, a FIFO, a folder)."""
    import stat

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise DatabaseUnavailableError(N_("Cannot use {path}: {reason}"), path=str(path),
                                       reason=exc.strerror or str(exc)) from None
    if stat.S_ISDIR(mode):
        raise DatabaseUnavailableError(N_("{path} is a folder, not a database file"),
                                       path=str(path))
    if not stat.S_ISREG(mode):
        raise DatabaseUnavailableError(
            N_("{path} is not a regular file (a device, a pipe or a socket); an itsmdesk "
               "database is a file"), path=str(path))


NUL_TEXT = N_("Text holding a NUL character (code 0) cannot be stored or searched; nothing was "
              "saved. Remove the character and try again.")


def nul_error() -> Exception:
    """The one sentence for a NUL in text sent to the database, on both back ends."""
    from itsmdesk.errors import ValidationError

    return ValidationError(NUL_TEXT)


def _check_params(params: object) -> None:
    if params and any(isinstance(p, str) and "\x00" in p for p in params):  # type: ignore[union-attr]
        raise nul_error()


class _SqliteDatabase(pw.SqliteDatabase):
    """SQLite refusing a NUL in text as PostgreSQL does (SQLite would store it, or silently
    find nothing): both back ends answer with the same sentence."""

    def execute_sql(self, sql, params=None, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
        _check_params(params)
        return super().execute_sql(sql, params, *args, **kwargs)


class _PostgresqlDatabase(pw.PostgresqlDatabase):
    """(psycopg2 refuses a NUL with a ValueError of its own; ours is the shared sentence.)"""

    def execute_sql(self, sql, params=None, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
        _check_params(params)
        return super().execute_sql(sql, params, *args, **kwargs)


def make_database(info: DbInfo) -> pw.Database:
    """Create (not yet connect) the peewee database for ``info``."""
    if info.backend == "sqlite":
        name = ":memory:" if info.path is None else str(info.path)
        if info.path is not None:
            parent = info.path.parent
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailableError(
                    N_("Cannot create the folder {path}: {reason}"), path=str(parent),
                    reason=exc.strerror or str(exc)) from None
            _check_regular(info.path)
            if not info.path.exists():
                try:
                    create_private(info.path)
                except OSError as exc:
                    raise DatabaseUnavailableError(
                        N_("Cannot write the database file {path}: {reason}"),
                        path=str(info.path), reason=exc.strerror or str(exc)) from None
        return _SqliteDatabase(name, pragmas=SQLITE_PRAGMAS, timeout=10,
                                 check_same_thread=False)
    return _PostgresqlDatabase(info.dbname, host=info.host, port=info.port, user=info.user,
                                 password=info.password, connect_timeout=5,
                                 application_name="itsmdesk", **PG_KEEPALIVE)


def describe_failure(info: DbInfo, exc: Exception) -> DatabaseUnavailableError:
    """Turn a driver exception into one line a person can act on."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if info.password:  # (a driver that echoes what it was given must not show it)
        text = text.replace(info.password, "***")
    if info.backend == "sqlite":
        low = text.lower()
        if "not a database" in low or "malformed" in low or "corrupt" in low:
            return DatabaseUnavailableError(
                N_("{path} is not an itsmdesk database or is corrupt ({reason})"),
                path=str(info.path), reason=text)
        if "readonly" in low or "read-only" in low or "unable to open" in low or "permission" in low:
            return DatabaseUnavailableError(N_("Cannot write the database file {path}: {reason}"),
                                            path=str(info.path), reason=text)
        return DatabaseUnavailableError(N_("SQLite error on {path}: {reason}"),
                                        path=str(info.path), reason=text)
    return DatabaseUnavailableError(
        N_("Cannot use the PostgreSQL database {db} at {host}:{port}: {reason}"),
        db=info.dbname, host=info.host, port=info.port, reason=text)


def foreign_database_error(where: str, tables: list[str]) -> DatabaseUnavailableError:
    return DatabaseUnavailableError(
        N_("{db} is not an itsmdesk database: it holds {count} tables of something else "
           "(such as '{table}') and no itsmdesk schema. It was left untouched; give "
           "itsmdesk a new file or an empty database."),
        db=where, count=len(tables), table=tables[0])


def _refuse_foreign_sqlite(info: DbInfo) -> None:
    """Look at an existing SQLite file read-only before opening it for real (which switches it to
    WAL): another application's file is refused with not one byte changed."""
    path = info.path
    if path is None or not path.is_file() or path.stat().st_size == 0:
        return
    try:
        probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise describe_failure(info, exc) from None
    try:
        names = [r[0] for r in probe.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
    except sqlite3.Error as exc:
        raise describe_failure(info, exc) from None
    finally:
        probe.close()
    tables = sorted(n for n in names if not n.startswith("sqlite_"))
    if tables and "schema_info" not in tables:
        raise foreign_database_error(str(path), tables)


def connect(url: str) -> tuple[pw.Database, DbInfo]:
    """Open ``url``, check it answers, and bind the proxy to it."""
    info = parse_url(url)
    database = make_database(info)
    if info.backend == "sqlite":
        _refuse_foreign_sqlite(info)
    try:
        database.connect(reuse_if_open=True)
        database.execute_sql("SELECT 1").fetchone()
        if info.backend == "sqlite":
            # Touch the file header: a corrupt or foreign file fails here, not later.
            database.execute_sql("SELECT count(*) FROM sqlite_master").fetchone()
            if info.path is not None and not _writable(info.path):
                raise DatabaseUnavailableError(N_("Cannot write the database file {path}"),
                                               path=str(info.path))
    except DatabaseUnavailableError:
        _close_quietly(database)
        raise
    except (pw.DatabaseError, sqlite3.DatabaseError, OSError) as exc:
        _close_quietly(database)
        raise describe_failure(info, exc) from None
    except Exception as exc:  # psycopg2 raises its own OperationalError subclasses
        _close_quietly(database)
        if type(exc).__module__.startswith("psycopg"):
            raise describe_failure(info, exc) from None
        raise
    db.initialize(database)
    return database, info


def _writable(path: Path) -> bool:
    import os

    return os.access(path, os.W_OK) if path.exists() else os.access(path.parent, os.W_OK)


def _close_quietly(database: pw.Database) -> None:
    try:
        database.close()
    except Exception:  # noqa: BLE001 - we are already reporting a failure
        pass


def is_postgres(database: pw.Database | None = None) -> bool:
    target = database or db.obj
    return isinstance(target, pw.PostgresqlDatabase)


def use_low_memory(database: pw.Database | None = None) -> None:
    """No memory-mapped I/O for this process (the desktop app).

    Mapped pages of a large file count as the process's memory; the app keeps to SQLite's page
    cache instead, while the CLI, reports and benchmarks keep the faster mapped reads.
    Applies to the open connection and to those opened later (the database worker's).
    """
    target = database or db.obj
    if isinstance(target, pw.SqliteDatabase):
        target._pragmas = [(k, v) for k, v in target._pragmas if k != "mmap_size"] + [("mmap_size", 0)]
        target.execute_sql("PRAGMA mmap_size=0")
