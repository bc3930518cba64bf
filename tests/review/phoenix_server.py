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

import json
import os
import secrets
import subprocess
from pathlib import Path

import httpx

from ..servers import ServerError as ServerError  # the conftest catches it from here
from ..servers import ServerProcess, cache_dir, cached_venv, free_port, venv_bin

#: Pinned: the upload and export shapes were checked against this server's source.
REQUIREMENTS = ("arize-phoenix==20.26.1",)
START_TIMEOUT = 120.0


def server_venv() -> Path:
    """The cached Phoenix virtualenv, (re)built when `REQUIREMENTS` changed."""
    return cached_venv(cache_dir() / "phoenix-venv", REQUIREMENTS, what="Phoenix server",
                       timeout=1800)


class PhoenixServer(ServerProcess):
    """A `phoenix serve` process on a free port with its own working directory."""

    def __init__(self, venv_dir: Path, work_dir: Path, port: int) -> None:
        super().__init__(f"http://127.0.0.1:{port}", work_dir / "server.log")
        self.venv_dir, self.work_dir, self.port = venv_dir, work_dir, port
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
        self.launch([str(venv_bin(self.venv_dir, "phoenix")), "serve"], cwd=self.work_dir,
                    env=env, health="/healthz", timeout=START_TIMEOUT, what="phoenix serve")

    def get(self, path: str) -> httpx.Response:
        """An authenticated GET of the server's API (``path`` starts with /v1/)."""
        return httpx.get(f"{self.url}{path}", timeout=30,
                         headers={"authorization": f"Bearer {self.api_key}"})

    def version(self) -> str:
        """The installed arize-phoenix version in the server venv."""
        script = ("import importlib.metadata as m, json; "
                  "print(json.dumps(m.version('arize-phoenix')))")
        output = subprocess.run([str(venv_bin(self.venv_dir, "python")), "-c", script],
                                capture_output=True, text=True, check=True).stdout
        return str(json.loads(output))


def make_server(work_dir: Path, port: int | None = None) -> PhoenixServer:
    """A (not yet started) Phoenix server keeping its data in the empty folder `work_dir`."""
    return PhoenixServer(server_venv(), work_dir, port or free_port())
