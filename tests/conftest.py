"""Fixtures every test may use: a fresh store per test, on SQLite and PostgreSQL.

PostgreSQL is the team deployment, so the store, decision and race tests run on it
whenever the server on 127.0.0.1:5432 answers. Under CI it must answer: a missing
server fails there instead of silently skipping half the matrix.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from countersign.store.engine import Store
from countersign.store.migrate import open_store

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PG_ADMIN_URL = os.environ.get(
    "COUNTERSIGN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_pg_problem: str | None = None
_pg_checked = False


def _pg_unavailable() -> str | None:
    global _pg_checked, _pg_problem
    if _pg_checked:
        return _pg_problem
    _pg_checked = True
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:
        _pg_problem = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}".splitlines()[0]
    return _pg_problem


def _require_pg() -> None:
    problem = _pg_unavailable()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{problem} (CI must run the PostgreSQL half of the matrix)")
    pytest.skip(problem)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A brand-new PostgreSQL database for one test, dropped afterwards."""
    _require_pg()
    import sqlalchemy as sa

    name = f"cs_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    """An existing (created and migrated) SQLite store: commands refuse an explicit
    store that does not exist (`countersign init` creates one)."""
    from countersign.store.migrate import open_store

    url = f"sqlite:///{tmp_path}/store.db"
    open_store(url).dispose()
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over both backends."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.dispose()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    opened = open_store(sqlite_url)
    yield opened
    opened.dispose()


@pytest.fixture
def memory_keyring() -> Iterator[object]:
    """An in-memory keyring for one test (see tests/keyring_memory.py)."""
    import keyring

    from tests.keyring_memory import MemoryKeyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)
