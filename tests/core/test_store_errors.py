"""A store that is locked, unreachable or not a store gives a message, not a traceback."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from countersign.cli import main
from countersign.store import engine as store_engine
from countersign.store.engine import StoreError
from countersign.store.migrate import open_store

from .helpers import request_refund


def test_locked_sqlite_store_is_named_and_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    store = open_store(url)
    action_id = request_refund(store)
    store.dispose()
    # Another program holds the write lock and does not let go.
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(store_engine, "SQLITE_BUSY_TIMEOUT_MS", 300)
    try:
        code = main(["--store", url, "queue", "decide", str(action_id), "--verdict", "approve"])
    finally:
        holder.rollback()
        holder.close()
    err = capsys.readouterr().err
    assert code == 3
    assert "locked" in err and str(path) in err and "Traceback" not in err


def test_unreachable_postgres_is_a_clear_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "countersign", "--store",
         "postgresql+psycopg://nobody@127.0.0.1:1/none", "queue", "list"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 3
    assert "cannot open the store postgresql+psycopg://nobody@127.0.0.1:1/none" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("shopping list\n" * 100)
    with pytest.raises(StoreError, match=r"notes\.txt"):
        open_store(f"sqlite:///{bogus}")


def test_a_url_that_is_not_a_url() -> None:
    with pytest.raises(StoreError, match=r"not a database URL"):
        open_store("definitely not a url")


def test_password_never_appears_in_messages() -> None:
    with pytest.raises(StoreError) as caught:
        open_store("postgresql+psycopg://ann:s3cret@127.0.0.1:1/none")
    assert "s3cret" not in str(caught.value)
