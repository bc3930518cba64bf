"""The README's "Command line" section: the commands that show how to reach the
``countersign`` command after ``make run`` work exactly as written.

``make run`` leaves the command in ``.venv/bin``, not on PATH; the README says to
call it as ``.venv/bin/countersign`` or from the shell ``make shell`` opens. Both
are run here from the README's own text, on a store in a temporary data directory.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Command line", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section.split("\n## ", 1)[0], re.DOTALL)
    assert block, "the Command line section has no ```sh block of commands to run"
    return [line for line in block.group(1).splitlines() if line.strip()]


def _env(tmp_path: Path) -> dict[str, str]:
    """A user with no store yet (the default store is created on first use)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("COUNTERSIGN_", "VIRTUAL_ENV"))}
    venv_bin = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
    env.update(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), SHELL="/bin/sh")
    return env


def test_the_readme_commands_run_as_written(tmp_path: Path) -> None:
    commands = _readme_commands()
    assert commands[0].startswith(".venv/bin/countersign ")
    assert "make shell" in commands
    env = _env(tmp_path)
    if shutil.which("countersign", path=env["PATH"]) is not None:
        pytest.fail("countersign is on PATH outside the venv: this test would prove nothing")
    shell_at = commands.index("make shell")
    for command in commands[:shell_at]:
        done = subprocess.run(["sh", "-c", command], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, f"{command}: {done.stderr}"
    # The lines after `make shell` are typed into the shell it opens. -o: take the
    # venv as installed, so that the test never reinstalls it.
    typed = "\n".join([*commands[shell_at + 1:], "command -v countersign"]) + "\n"
    done = subprocess.run(["make", "-s", "-o", ".venv/.installed", "shell"], cwd=ROOT, env=env,
                          input=typed, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(ROOT / ".venv" / "bin" / "countersign")
