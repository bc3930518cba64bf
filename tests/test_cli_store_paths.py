"""Only the default store is created by itself (issue 11): an explicit store that does not
exist is an error naming the path, for every command but `countersign init`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "countersign", *args], capture_output=True,
                          text=True, timeout=120, check=False, env=env)


@pytest.mark.parametrize("command", [["queue", "list"], ["audit", "verify"],
                                     ["trace", "list", "--json"], ["review", "list"]])
def test_an_explicit_missing_store_is_refused_and_not_created(tmp_path: Path,
                                                              command: list[str]) -> None:
    path = tmp_path / "no" / "such" / "x.db"
    done = _cli("--store", f"sqlite:///{path}", *command)
    assert done.returncode == 3, done.stdout + done.stderr
    assert str(path) in done.stderr and "countersign init" in done.stderr
    assert not path.parent.exists()  # no directories, no empty store


def test_init_creates_the_named_store(tmp_path: Path) -> None:
    path = tmp_path / "new" / "x.db"
    assert _cli("--store", f"sqlite:///{path}", "init").returncode == 0
    assert path.exists()
    done = _cli("--store", f"sqlite:///{path}", "queue", "list", "--json")
    assert (done.returncode, done.stdout.strip()) == (0, "[]")


def test_the_default_store_is_created_by_itself(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COUNTERSIGN_STORE"}
    env.update(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    done = _cli("queue", "list", "--json", env=env)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr
    assert (tmp_path / "data" / "countersign" / "countersign.db").exists()
