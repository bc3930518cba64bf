"""Applying the Alembic migrations on start, quickly when there is nothing to do."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError

from .engine import Store, StoreError, describe_url, resolve_store_url

MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def upgrade(store: Store) -> None:
    """Bring the schema to the newest revision (no-op when it is already there)."""
    cfg = _config()
    head = head_revision()
    try:
        with store.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            conn.rollback()
        if current == head:
            return
        with store._write_engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except DBAPIError as exc:
        detail = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else str(exc)
        raise StoreError(f"cannot open the store {describe_url(store.url)}: {detail}") from exc


class StoreMissing(StoreError):
    """An explicitly named store that does not exist (only the default is created by
    itself: a typo in ``--store`` must not silently start an empty store)."""


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for other databases and in-memory ones)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database or "").expanduser()


def open_store(url: str | None = None, *, migrate: bool = True,
               must_exist: bool = False) -> Store:
    """The one way in: resolve the URL, open it, and migrate it. With ``must_exist`` a
    SQLite store whose file is missing is refused with `StoreMissing` naming the path
    and the command that creates it."""
    resolved = resolve_store_url(url)
    path = sqlite_path(resolved)
    if must_exist and path is not None and not path.exists():
        raise StoreMissing(
            f"there is no store at {path}; create it with "
            f"`countersign init --store {describe_url(resolved)}` (only the default "
            "store is created by itself)")
    store = Store(resolved)
    if migrate:
        upgrade(store)
    return store
