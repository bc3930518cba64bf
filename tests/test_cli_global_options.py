"""Global options work on either side of the command, as people type them (issue 14:
``countersign worker --config FILE`` was refused as "unrecognized arguments")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from countersign.cli import _parser, main


@pytest.mark.parametrize("argv", [
    ["--config", "c.toml", "worker"],
    ["worker", "--config", "c.toml"],
    ["trace", "show", "abc", "--config", "c.toml"],
    ["queue", "list", "--config", "c.toml"],
])
def test_config_is_accepted_before_or_after_the_command(argv: list[str]) -> None:
    assert _parser().parse_args(argv).config == Path("c.toml")


def test_a_value_before_the_command_is_kept_when_none_follows() -> None:
    args = _parser().parse_args(["--store", "sqlite:///a.db", "queue", "list"])
    assert args.store == "sqlite:///a.db"


def test_store_after_the_command_reaches_the_store(sqlite_url: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queue", "list", "--json", "--store", sqlite_url]) == 0
    assert capsys.readouterr().out.strip() == "[]"


def test_worker_reads_the_config_given_after_the_command(tmp_path: Path,
                                                         sqlite_url: str) -> None:
    # A config naming a plugin that does not exist: the worker must read this file
    # (and refuse it with exit 2), not ignore the option or die on argparse.
    config = tmp_path / "c.toml"
    config.write_text('[[sources]]\nname = "x"\nplugin = "no-such-plugin"\n')
    done = subprocess.run(
        [sys.executable, "-m", "countersign", "worker", "--config", str(config),
         "--store", sqlite_url, "--no-otlp"],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert "no-such-plugin" in done.stderr
