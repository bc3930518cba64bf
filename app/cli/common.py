"""What every command shares: exit codes, and the `Context` that opens Countersign
through the composition root (``countersign.session``) the first time a command
needs it, and closes it after."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Config
    from ..session import Services

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_STORE = 3


class Context:
    """The parsed global options, and the services opened from them on first use."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.store_url: str | None = getattr(args, "store", None)
        self.config_path: Path | None = getattr(args, "config", None)
        self._config: Config | None = None
        self._services: Services | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from ..session import load_settings

            self._config = load_settings(self.config_path)
        return self._config

    def services(self, *, create: bool = False) -> Services:
        """Open the store and the services (once); ``create`` for ``init`` alone."""
        if self._services is None:
            from ..session import open_services

            self._services = open_services(self.store_url, self.config_path,
                                           config=self.config, create=create)
        return self._services

    def close(self) -> None:
        if self._services is not None:
            self._services.close()
            self._services = None


def fail(message: str, code: int = EXIT_REFUSED) -> int:
    """Say why on stderr, the way every command does; returns the exit code."""
    print(f"countersign: {message}", file=sys.stderr)
    return code


def print_json(value: Any) -> None:
    """One JSON document on stdout (lists print as one array, ``[]`` when empty)."""
    print(json.dumps(value, ensure_ascii=False, indent=None))


def print_jsonl(values: list[Any]) -> None:
    """One JSON document per line, for streaming consumers (``--jsonl``)."""
    for value in values:
        print(json.dumps(value, ensure_ascii=False))
