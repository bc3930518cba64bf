"""A real `arize-phoenix` server for the dataset upload tests and benchmarks.

Plain code (no pytest): `tests/review/conftest.py` wraps it in a session fixture;
failures raise `ServerError`.

Phoenix lives in its own virtualenv, cached in
`$XDG_CACHE_HOME/countersign-test/phoenix-venv` and rebuilt when `REQUIREMENTS` change:
it pins many libraries (FastAPI, Strawberry, pandas...) that must not leak into the
project venv. The server keeps its SQLite database in a fresh working directory per
session and runs offline (`PHOENIX_ALLOW_EXTERNAL_RESOURCES=false`,
`PHOENIX_TELEMETRY_ENABLED=false`).

Authentication is on, as on a shared Phoenix: `api_key` (the server's admin secret,
which Phoenix accepts as a bearer token) must be sent with every API request.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import venv
from pathlib import Path

import httpx

#: Pinned: the upload and export shapes were checked against this server's source.
REQUIREMENTS = ("arize-phoenix==20.26.1",)
START_TIMEOUT = 120.0


class ServerError(RuntimeError):
    """The Phoenix test server could not be installed or started."""


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "countersign-test"


def _bin(venv_dir: Path, name: str) -> Path:
    if os.name == "nt":
        return venv_dir / "Scripts" / f"{name}.exe"
    return venv_dir / "bin" / name


def server_venv() -> Path:
    """The cached Phoenix virtualenv, (re)built when `REQUIREMENTS` changed."""
    target = _cache_dir() / "phoenix-venv"
    marker = target / "countersign-requirements.sha256"
    digest = hashlib.sha256("\n".join(REQUIREMENTS).encode()).hexdigest()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / "phoenix-venv.lock", "w") as lock:
        with contextlib.suppress(ImportError):  # no fcntl on Windows: no locking there
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)  # parallel sessions (xdist) build it once
        if marker.is_file() and marker.read_text() == digest:
            return target
        shutil.rmtree(target, ignore_errors=True)
        venv.EnvBuilder(with_pip=True).create(target)
        result = subprocess.run(
            [str(_bin(target, "python")), "-m", "pip", "install",
             "--disable-pip-version-check", "-q", *REQUIREMENTS],
            capture_output=True, text=True, timeout=1800, check=False,
        )
        if result.returncode != 0:
            raise ServerError(f"installing the Phoenix server failed:\n{result.stderr[-4000:]}")
        marker.write_text(digest)  # last: an interrupted build is redone next time
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PhoenixServer:
    """A `phoenix serve` process on a free port with its own working directory."""

    def __init__(self, venv_dir: Path, work_dir: Path, port: int) -> None:
        self.venv_dir, self.work_dir, self.port = venv_dir, work_dir, port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = work_dir / "server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.started_in: float = 0.0
        # Phoenix wants secrets of 32+ characters with a digit and a lower-case letter.
        self.api_key = f"admin-{secrets.token_hex(20)}"
        self._jwt_secret = f"jwt-{secrets.token_hex(20)}"

    def start(self) -> None:
        """Start the server and wait until `GET /healthz` answers 200."""
        env = {**os.environ,
               "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
               "PHOENIX_TELEMETRY_ENABLED": "false",
               "PHOENIX_WORKING_DIR": str(self.work_dir),
               "PHOENIX_HOST": "127.0.0.1",
               "PHOENIX_PORT": str(self.port),
               "PHOENIX_ENABLE_AUTH": "true",
               "PHOENIX_SECRET": self._jwt_secret,
               "PHOENIX_ADMIN_SECRET": self.api_key,
               # The gRPC OTLP receiver binds a port of its own: keep it off the default.
               "PHOENIX_GRPC_PORT": str(free_port()),
               "PYTHONUNBUFFERED": "1"}
        env.pop("PHOENIX_SQL_DATABASE_URL", None)  # SQLite inside work_dir
        command = [str(_bin(self.venv_dir, "phoenix")), "serve"]
        began = time.monotonic()
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                command, cwd=self.work_dir, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        while time.monotonic() - began < START_TIMEOUT:
            if self._process.poll() is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    self.started_in = time.monotonic() - began
                    return
            time.sleep(0.2)
        self.stop()
        raise ServerError(f"phoenix serve did not become healthy on {self.url}:\n"
                          f"{self.log_tail()}")

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

    def get(self, path: str) -> httpx.Response:
        """An authenticated GET of the server's API (``path`` starts with /v1/)."""
        return httpx.get(f"{self.url}{path}", timeout=30,
                         headers={"authorization": f"Bearer {self.api_key}"})

    def log_tail(self, chars: int = 6000) -> str:
        """The end of the server's log, for failure messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"

    def version(self) -> str:
        """The installed arize-phoenix version in the server venv."""
        script = ("import importlib.metadata as m, json; "
                  "print(json.dumps(m.version('arize-phoenix')))")
        output = subprocess.run([str(_bin(self.venv_dir, "python")), "-c", script],
                                capture_output=True, text=True, check=True).stdout
        return str(json.loads(output))


def make_server(work_dir: Path, port: int | None = None) -> PhoenixServer:
    """A (not yet started) Phoenix server keeping its data in the empty folder `work_dir`."""
    return PhoenixServer(server_venv(), work_dir, port or free_port())
