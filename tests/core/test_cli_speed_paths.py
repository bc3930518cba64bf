"""The fast paths that keep a CLI command quick must agree with the slow truth."""

from __future__ import annotations

import subprocess
import sys

from countersign.store.migrate import file_head, head_revision


def test_file_head_is_alembics_head() -> None:
    # Opening a store skips Alembic when the stored revision equals file_head(); a
    # disagreement would leave a store unmigrated.
    assert file_head() == head_revision()


def test_queue_list_imports_neither_alembic_nor_the_receiver(sqlite_url: str) -> None:
    probe = (
        "import sys; from countersign.cli import main; "
        f"code = main(['--store', {sqlite_url!r}, 'queue', 'list']); "
        "heavy = [m for m in ('alembic', 'uvicorn', 'countersign.ingest.receiver', "
        "'jsonschema', 'httpx') if m in sys.modules]; "
        "print(heavy); sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
