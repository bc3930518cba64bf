"""Finding and building source plugins from the ``countersign.sources`` group."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import Any

from .config import SourceConfig

GROUP = "countersign.sources"


class PluginError(RuntimeError):
    pass


def available() -> dict[str, str]:
    """Plugin name → ``module:attr`` for every installed source plugin."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def load_source_class(plugin: str) -> Any:
    for ep in entry_points(group=GROUP):
        if ep.name == plugin:
            try:
                return ep.load()
            except Exception as exc:
                raise PluginError(f"source plugin '{plugin}' ({ep.value}) failed to load: "
                                  f"{type(exc).__name__}: {exc}") from exc
    names = ", ".join(sorted(available())) or "none"
    raise PluginError(f"no source plugin named '{plugin}' (installed: {names})")


def build_sources(configs: Sequence[SourceConfig]) -> list[Any]:
    """One source object per configured ``[[sources]]`` table."""
    built = []
    for config in configs:
        cls = load_source_class(config.plugin)
        try:
            built.append(cls(name=config.name, config=config.settings))
        except Exception as exc:
            raise PluginError(f"source '{config.name}' ({config.plugin}) is misconfigured: "
                              f"{exc}") from exc
    return built
