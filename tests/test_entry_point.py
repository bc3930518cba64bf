"""The ``countersign`` script's entry point stays light: the ingest pool's worker
processes re-import the script that started them (multiprocessing's ``spawn``), and
each would otherwise import the whole CLI (SQLAlchemy and all) for nothing."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What pip writes as the console script, plus one task for an ingest worker that
# says whether the CLI got imported there.
SCRIPT = """\
import sys
from countersign.__main__ import main
if __name__ == "__main__":
    from countersign.ingest.pool import IngestPool
    pool = IngestPool(workers=1)
    probe = "'countersign.cli' in __import__('sys').modules"
    print(pool._get().submit(eval, probe).result(timeout=60))
    pool.shutdown()
"""


def test_the_script_entry_point_is_the_light_module() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["countersign"] == "countersign.__main__:main"


def test_ingest_workers_started_by_the_script_do_not_import_the_cli(tmp_path: Path) -> None:
    script = tmp_path / "countersign"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "countersign", "import-otlp", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "FILE" in done.stdout
