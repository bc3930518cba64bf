"""Writing the TOML configuration file (the Connections dialog saves through this).

The standard library reads TOML but does not write it; the file's shape is small
(a few top-level strings and ``[[sources]]`` tables of scalars, lists and inline
tables), so it is written here rather than adding a dependency. Every write is checked
by reading it back with `tomllib` and comparing, and replaces the file atomically, so
a bug here can never leave a half-written or different configuration behind.
Secrets cannot end up in the file: the API-key setting only accepts keyring references.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from . import Config, ReceiverConfig, SourceConfig

_BARE_KEY = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class ConfigWriteError(ValueError):
    """A value TOML cannot hold, or a write that did not read back identically."""


def _key(key: str) -> str:
    return key if key and set(key) <= _BARE_KEY else _string(key)


def _string(text: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes, except that TOML has
    # no \\/ (json.dumps never emits it) and needs control characters escaped (it does).
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigWriteError(f"{where}: {value} cannot be written")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v, f"{where}[{i}]") for i, v in enumerate(value)) + "]"
    if isinstance(value, dict):
        items = [f"{_key(str(k))} = {_value(v, f'{where}.{k}')}"
                 for k, v in value.items() if v is not None]
        return "{" + ", ".join(items) + "}" if items else "{}"
    raise ConfigWriteError(f"{where}: a {type(value).__name__} cannot be written to TOML")


def _plain(config: Config) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key in ("store", "reviewer"):
        if getattr(config, key) is not None:
            data[key] = getattr(config, key)
    sources = []
    for source in config.sources:
        table: dict[str, Any] = {"name": source.name, "plugin": source.plugin}
        table.update({k: v for k, v in source.settings.items() if v is not None})
        sources.append(table)
    if sources:
        data["sources"] = sources
    if config.receiver != ReceiverConfig():
        data["receiver"] = config.receiver.model_dump()
    if config.review.rules is not None:
        data["review"] = {"rules": [dict(rule) for rule in config.review.rules]}
    if config.autonomy is not None:
        data["autonomy"] = dict(config.autonomy)
    return data


def dump_config(config: Config) -> str:
    """The TOML text of ``config`` (unset settings are left out)."""
    data = _plain(config)
    lines = ["# Countersign configuration. API keys live in the system keyring;",
             "# api_key = \"keyring:NAME\" only refers to one.", ""]
    for key in ("store", "reviewer"):
        if key in data:
            lines.append(f"{key} = {_value(data[key], key)}")
    if "receiver" in data:
        lines += ["", "[receiver]"]
        lines += [f"{k} = {_value(v, f'receiver.{k}')}" for k, v in data["receiver"].items()]
    for i, table in enumerate(data.get("sources", [])):
        lines += ["", "[[sources]]"]
        lines += [f"{_key(k)} = {_value(v, f'sources[{i}].{k}')}" for k, v in table.items()]
    for i, rule in enumerate(data.get("review", {}).get("rules", [])):
        lines += ["", "[[review.rules]]"]
        lines += [f"{_key(k)} = {_value(v, f'review.rules[{i}].{k}')}" for k, v in rule.items()]
    if "autonomy" in data:
        lines += ["", "[autonomy]"]
        lines += [f"{_key(k)} = {_value(v, f'autonomy.{k}')}" for k, v in data["autonomy"].items()]
    text = "\n".join(lines).strip("\n") + "\n"
    try:
        same = tomllib.loads(text) == data
    except tomllib.TOMLDecodeError:
        same = False
    if not same:
        raise ConfigWriteError("the configuration did not read back identically; not saved")
    return text


def save_config(path: Path, config: Config) -> None:
    """Write ``config`` to ``path`` atomically (a temp file renamed over it)."""
    text = dump_config(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def with_source(config: Config, source: SourceConfig, replacing: str | None = None) -> Config:
    """``config`` with ``source`` added, or put in place of the one named ``replacing``."""
    sources = list(config.sources)
    names = [s.name for s in sources]
    if replacing is not None and replacing in names:
        sources[names.index(replacing)] = source
    else:
        sources.append(source)
    return Config.model_validate({**config.model_dump(exclude={"sources"}),
                                  "sources": [s.model_dump() for s in sources]})


def with_receiver(config: Config, receiver: ReceiverConfig) -> Config:
    """``config`` with the console's receiver settings replaced."""
    return config.model_copy(update={"receiver": receiver})


def without_source(config: Config, name: str) -> Config:
    """``config`` without the source called ``name``."""
    return Config.model_validate({**config.model_dump(exclude={"sources"}),
                                  "sources": [s.model_dump() for s in config.sources
                                              if s.name != name]})
