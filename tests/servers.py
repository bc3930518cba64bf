"""What the real-server test harnesses share (``tests/langgraph/server.py`` for
``langgraph dev``, ``tests/review/phoenix_server.py`` for ``phoenix serve``): a server
living in its own cached virtualenv (its pins must not leak into the project's), a free
loopback port, a process started and waited on until its health URL answers, stopped
gracefully with SIGINT, and the end of its log for failure messages.

Plain code, no pytest: the harnesses' conftests wrap it in fixtures and the benches use
it directly; failures raise `ServerError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
import venv
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx


class ServerError(RuntimeError):
    """A test server could not be installed or started."""


def cache_dir() -> Path:
    """Where built server virtualenvs are kept between sessions."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "countersign-test"


def requirements_digest(requirements: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(requirements).encode()).hexdigest()


def venv_bin(venv_dir: Path, name: str) -> Path:
    """A console script (or the interpreter) of a virtualenv."""
    if os.name == "nt":
        return venv_dir / "Scripts" / f"{name}.exe"
    return venv_dir / "bin" / name


def cached_venv(target: Path, requirements: Sequence[str], *, what: str,
                timeout: float) -> Path:
    """The virtualenv at ``target`` with ``requirements`` installed, (re)built when they
    changed. Parallel sessions build it once (a file lock beside it); the marker is
    written last, so an interrupted build is redone next time."""
    marker = target / "countersign-requirements.sha256"
    digest = requirements_digest(requirements)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        with contextlib.suppress(ImportError):  # no fcntl on Windows: no locking there
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file() and marker.read_text() == digest:
            return target
        shutil.rmtree(target, ignore_errors=True)
        venv.EnvBuilder(with_pip=True).create(target)
        result = subprocess.run(
            [str(venv_bin(target, "python")), "-m", "pip", "install",
             "--disable-pip-version-check", "-q", *requirements],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
        if result.returncode != 0:
            raise ServerError(f"installing the {what} failed:\n{result.stderr[-4000:]}")
        marker.write_text(digest)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """One server process, its log file and its health URL."""

    def __init__(self, url: str, log_path: Path) -> None:
        self.url = url
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self.started_in: float = 0.0

    def launch(self, command: Sequence[str], *, cwd: Path, env: Mapping[str, str],
               health: str, timeout: float, what: str) -> None:
        """Start ``command`` and wait until ``health`` (a path) answers 200; on failure
        stop it and raise `ServerError` with the end of its log."""
        began = time.monotonic()
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                list(command), cwd=cwd, env=dict(env), stdout=log, stderr=subprocess.STDOUT
            )
        while time.monotonic() - began < timeout:
            if self._process.poll() is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}{health}", timeout=1.0).status_code == 200:
                    self.started_in = time.monotonic() - began
                    return
            time.sleep(0.2)  # polling the health URL: the server answers when it is up
        self.stop()
        raise ServerError(f"{what} did not become healthy on {self.url}:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGINT (graceful), SIGKILL after 20 s."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def log_tail(self, chars: int = 6000) -> str:
        """The end of the server's log, for failure messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"
