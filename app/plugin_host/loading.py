"""Finding, checking and building source plugins from the ``countersign.sources`` group.

Order of trust: the entry point names the plugin; its manifest is read and validated
without running plugin code (plugin_manifest); the configured settings are validated
against the plugin's light config model; only then is the plugin's module imported and
its class instantiated. Every error names the plugin (or the configured source) and the
field, so a broken plugin is reported instead of taking the console down.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import BaseModel, ValidationError

from ..config import SourceConfig
from ..plugin_api import Source
from .manifest import (
    ManifestError,
    PluginManifest,
    describe_errors,
    load_config_model,
    read_manifest,
)

GROUP = "countersign.sources"


class PluginError(RuntimeError):
    """A plugin that cannot be used; the message names it and what is wrong."""


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def available() -> dict[str, str]:
    """Plugin name → ``module:attr`` for every installed source plugin."""
    return {name: ep.value for name, ep in _entry_points().items()}


def _entry(plugin: str) -> EntryPoint:
    found = _entry_points().get(plugin)
    if found is None:
        names = ", ".join(sorted(available())) or "none"
        raise PluginError(f"no source plugin named '{plugin}' (installed: {names})")
    return found


def manifest(plugin: str) -> PluginManifest:
    """The plugin's validated manifest (its code is not imported)."""
    try:
        return read_manifest(plugin, _entry(plugin).value)
    except ManifestError as exc:
        raise PluginError(str(exc)) from None


def manifests() -> dict[str, PluginManifest | PluginError]:
    """Every installed plugin's manifest, or the error that makes it unusable."""
    out: dict[str, PluginManifest | PluginError] = {}
    for name in sorted(available()):
        try:
            out[name] = manifest(name)
        except PluginError as exc:
            out[name] = exc
    return out


def config_model(plugin: str) -> type[BaseModel]:
    """The plugin's pydantic configuration model (from its light config module)."""
    found = manifest(plugin)
    try:
        return load_config_model(plugin, found)
    except ManifestError as exc:
        raise PluginError(str(exc)) from None


def validate_settings(config: SourceConfig) -> BaseModel:
    """The source's settings checked against its plugin's model; errors name the
    source, the plugin and each bad key."""
    model = config_model(config.plugin)
    try:
        return model.model_validate(config.settings)
    except ValidationError as exc:
        raise PluginError(f"source '{config.name}' ({config.plugin}) is misconfigured: "
                          f"{describe_errors(exc)}") from None


def load_source_class(plugin: str) -> Any:
    """The plugin's class, imported only after its manifest checked out."""
    manifest(plugin)
    ep = _entry(plugin)
    try:
        return ep.load()
    except Exception as exc:
        raise PluginError(f"source plugin '{plugin}' ({ep.value}) failed to load: "
                          f"{type(exc).__name__}: {exc}") from exc


def build_source(config: SourceConfig) -> Source:
    """One source object for one configured ``[[sources]]`` table."""
    settings = validate_settings(config)
    cls = load_source_class(config.plugin)
    try:
        source = cls(name=config.name, config=settings)
    except Exception as exc:
        raise PluginError(f"source '{config.name}' ({config.plugin}) is misconfigured: "
                          f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(source, Source):
        raise PluginError(f"source plugin '{config.plugin}': {type(source).__name__} does "
                          f"not implement the Source protocol (name, start, stop)")
    return source


def build_sources(configs: Sequence[SourceConfig]) -> list[Source]:
    """One source object per configured ``[[sources]]`` table; the first bad one
    raises `PluginError` naming it."""
    return [build_source(config) for config in configs]
