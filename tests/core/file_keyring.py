"""A keyring backend that reads a JSON file named by ``$COUNTERSIGN_TEST_KEYRING``, for
tests that run ``countersign`` in a subprocess (the in-memory keyring of
tests/keyring_memory.py cannot cross a process boundary). Selected with
``PYTHON_KEYRING_BACKEND=tests.core.file_keyring.FileKeyring``; never the real keyring."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

ENV = "COUNTERSIGN_TEST_KEYRING"


def _path() -> Path:
    return Path(os.environ[ENV])


def write_keyring(path: Path, entries: dict[str, str], service: str = "countersign") -> None:
    """Store ``entries`` (entry name → secret) for ``service`` in the file at ``path``."""
    path.write_text(json.dumps({f"{service}/{name}": value for name, value in entries.items()}))


class FileKeyring(KeyringBackend):
    """Secrets in a JSON file owned by the test."""

    priority = 1  # type: ignore[assignment]

    def _read(self) -> dict[str, str]:
        path = _path()
        return dict(json.loads(path.read_text())) if path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._read().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self._read()
        entries[f"{service}/{username}"] = password
        _path().write_text(json.dumps(entries))

    def delete_password(self, service: str, username: str) -> None:
        entries = self._read()
        if entries.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError(username)
        _path().write_text(json.dumps(entries))
