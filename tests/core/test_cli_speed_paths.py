"""The fast paths that keep a CLI command quick must agree with the slow truth."""

from __future__ import annotations

import subprocess
import sys

import pytest

from countersign.store.migrate import file_head, head_revision


def test_file_head_is_alembics_head() -> None:
    # Opening a store skips Alembic when the stored revision equals file_head(); a
    # disagreement would leave a store unmigrated.
    assert file_head() == head_revision()


#: What a read command in a runbook's loop must not pay for: migrations, the receiver,
#: schema checking, HTTP, Qt, and the services it does not call. (Not asyncio:
#: SQLAlchemy imports it itself.)
HEAVY = ("alembic", "uvicorn", "countersign.ingest.receiver", "jsonschema", "httpx",
         "countersign.services.traces", "countersign.services.datasets",
         "countersign.services.autonomy_service", "countersign.services.review",
         "countersign.ingest.files", "PySide6")


@pytest.mark.parametrize("command", [["queue", "list"], ["audit", "verify"]])
def test_read_commands_import_only_what_they_use(sqlite_url: str, command: list[str]) -> None:
    probe = (
        "import sys; from countersign.cli import main; "
        f"code = main(['--store', {sqlite_url!r}, *{command!r}]); "
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]; "
        "print(heavy); sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
