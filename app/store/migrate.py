"""Applying the Alembic migrations on start, quickly when there is nothing to do."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from .engine import Store, StoreError, StoreUnavailable, describe_url, resolve_store_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r"^(down_)?revision\s*(?::[^=]*)?=\s*['\"]?([\w-]+|None)['\"]?", re.M)


def file_head() -> str:
    """The newest revision, read from the revision files' ``revision`` and
    ``down_revision`` lines: the commands that open a store on every call (``queue
    list`` in a loop) skip importing Alembic (about 60 ms) when nothing is to do.
    tests/core checks it agrees with Alembic's own answer."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for down, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            if value != "None":
                (parents if down else revisions).add(value)
    heads = revisions - parents
    if len(heads) != 1:
        raise StoreError(f"the store's migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def _current_revision(store: Store) -> str | None:
    try:
        with store.engine.connect() as conn:
            value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            conn.rollback()
    except DBAPIError:
        return None  # no table yet (a new store) or unreadable: Alembic decides
    return str(value) if value is not None else None


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def upgrade(store: Store) -> None:
    """Bring the schema to the newest revision (no-op when it is already there)."""
    if _current_revision(store) == file_head():
        return
    from alembic import command
    from alembic.runtime.migration import MigrationContext

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
        raise StoreUnavailable(
            f"cannot open the store {describe_url(store.url)}: {detail}") from exc


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
