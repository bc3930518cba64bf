"""Opening the store: one engine factory, SQLite pragmas, read/write sessions.

SQLite writers begin with ``BEGIN IMMEDIATE``: a deferred transaction that reads and
then writes can fail at once with "database is locked" (SQLite detects the deadlock
and ignores busy_timeout), which is exactly the two-consoles race. Readers use plain
``BEGIN`` and never block writers under WAL. PostgreSQL needs none of this.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from ..secrets import remember_secret

STORE_ENV = "COUNTERSIGN_STORE"
_WRITE = "countersign_write"
#: How long a SQLite writer waits for another process's transaction before giving up.
SQLITE_BUSY_TIMEOUT_MS = 15_000


class StoreError(Exception):
    """The store cannot be used; the message says why in words a user can act on."""


class StoreUnavailable(StoreError):
    """A read or a write could not be carried out by the store: unreachable, locked,
    full, out of resources, or failing I/O. One sentence naming the store and the
    cause; the unit of work it interrupted was rolled back, so nothing of it was
    written. The gate SDK raises it to agents (``countersign.gate.StoreUnavailable``)."""


def default_store_url() -> str:
    data_dir = Path(platformdirs.user_data_dir("countersign", appauthor=False))
    return f"sqlite:///{data_dir / 'countersign.db'}"


def resolve_store_url(explicit: str | None = None) -> str:
    """``--store`` wins over ``$COUNTERSIGN_STORE`` over the embedded default."""
    return explicit or os.environ.get(STORE_ENV) or default_store_url()


def describe_url(url: str) -> str:
    """The URL without its password, for messages and the status bar."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid store URL>"


def _sqlite_connect_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Driver-level autocommit: SQLAlchemy's "begin" hook below owns BEGIN.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        # FULL: a verdict the console has shown as decided survives a power cut too.
        cur.execute("PRAGMA synchronous = FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Store:
    """The database behind the console: engines and sessions, nothing domain-specific.

    ``read()`` and ``write()`` each give one session for one unit of work and commit
    (write) or roll back (read) at the end.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StoreError(f"'{url}' is not a database URL ({exc})") from exc
        self.dialect = parsed.get_backend_name()
        remember_secret(parsed.password)  # a driver error quoting it is redacted
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:":
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {
                "check_same_thread": False,
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            }
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = 8
        try:
            self.engine = create_engine(parsed, **kwargs)
        except (NoSuchModuleError, ImportError) as exc:
            raise StoreError(
                f"no database driver for '{describe_url(url)}' ({exc}); for PostgreSQL "
                "install the 'postgres' extra (psycopg)"
            ) from exc
        if self.dialect == "sqlite":
            _sqlite_connect_hooks(self.engine)
        self._write_engine = self.engine.execution_options(**{_WRITE: True})
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(self._write_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        with translate_errors(self.url, writing=False), self._reads() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        with translate_errors(self.url), self._writes() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def translate_errors(url: str, *, writing: bool = True) -> Iterator[None]:
    """Turn driver errors about the store itself (reaching it, its lock, its disk, its
    resources) into a `StoreUnavailable` a person can act on, also when they happen at
    commit; errors about the data itself pass through for the services to handle.
    Wraps the whole unit of work, so the message can say that nothing was written."""
    try:
        yield
    except DBAPIError as exc:
        cause = _store_failure(exc)
        if cause is None:
            raise
        raise StoreUnavailable(_availability_message(url, cause, writing=writing)) from exc


def _store_failure(exc: DBAPIError) -> DBAPIError | None:
    """The error that says the store failed: ``exc``, or the one it was raised while
    handling. SQLite rolls a transaction back by itself on SQLITE_FULL or an I/O
    error, so the ``ROLLBACK TO SAVEPOINT`` that follows fails with "no such
    savepoint", hiding the real cause in ``__context__``."""
    seen: BaseException | None = exc
    for _ in range(8):
        if isinstance(seen, DBAPIError) and (seen.connection_invalidated
                                             or _is_availability_error(seen)):
            return seen
        if seen is None:
            break
        seen = seen.__cause__ or seen.__context__
    return None


#: SQLite result codes (the primary code, the low byte) that mean the store failed:
#: BUSY, LOCKED, NOMEM, READONLY, IOERR, CORRUPT, FULL, CANTOPEN, PROTOCOL, NOTADB.
_SQLITE_UNAVAILABLE = {5, 6, 7, 8, 10, 11, 13, 14, 15, 26}
_SQLITE_FULL = 13
#: PostgreSQL SQLSTATE classes that mean the server cannot do it now: connection
#: exception, insufficient resources (disk full, out of memory, too many connections),
#: operator intervention (shutdown), system error (I/O).
_PG_UNAVAILABLE = ("08", "53", "57P", "58")
_PG_DISK_FULL = "53100"


def _sqlstate(exc: DBAPIError) -> str:
    return str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")


def _sqlite_code(exc: DBAPIError) -> int | None:
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _is_full(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return (_sqlite_code(exc) == _SQLITE_FULL or _sqlstate(exc) == _PG_DISK_FULL
            or "disk is full" in text or "no space left" in text)


def _is_availability_error(exc: DBAPIError) -> bool:
    if _sqlite_code(exc) in _SQLITE_UNAVAILABLE or _sqlstate(exc).startswith(_PG_UNAVAILABLE):
        return True
    text = str(exc.orig).lower()
    needles = (
        "database or disk is full",
        "no space left on device",
        "could not extend file",
        "out of memory",
        "too many connections",
        "database is locked",
        "unable to open database",
        "disk i/o error",
        "readonly database",
        "connection refused",
        "could not connect",
        "connection timeout",
        "server closed the connection",
        "terminating connection",
        "does not exist",
        "no such host",
        "name or service not known",
        "authentication failed",
    )
    return any(n in text for n in needles) or (type(exc.orig).__name__ == "OperationalError" and (
        "connection" in text
    ))


def _availability_message(url: str, exc: DBAPIError, *, writing: bool = True) -> str:
    where = describe_url(url)
    text = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc).__name__
    if "locked" in text.lower():
        return (
            f"the store {where} is locked by another program and stayed locked for "
            f"{SQLITE_BUSY_TIMEOUT_MS // 1000} s; close the program holding it and try again"
        )
    unsaved = " (nothing was saved)" if writing else ""
    if _is_full(exc):
        return (f"the store {where} is full ({text}){unsaved}; free disk space on its "
                "volume, or raise its size limit, and try again")
    return f"cannot use the store {where}: {text}{unsaved}"
