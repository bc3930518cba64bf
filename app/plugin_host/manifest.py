"""Source plugin manifests: what a plugin is, read and checked before its code runs.

Every plugin package ships a ``manifest.toml`` next to its code::

    name = "langgraph"
    api_version = 1
    provides = ["actions", "spans"]
    config = "countersign_plugins.langgraph.config:LangGraphConfig"
    description = "Interrupted threads of a LangGraph server"

The manifest is found from the entry point's ``module:attr`` value through the import
system's *spec* of the module's package (``importlib.util.find_spec``), which locates
files without executing the plugin module, so a plugin built for another plugin API
version, or with a broken manifest, is reported by name before any of its code runs.
``config`` names a pydantic model in a light module (no heavy imports): the CLI and the
Connections dialog load it to validate settings and to build forms.
"""

from __future__ import annotations

import importlib
import importlib.util
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MANIFEST_FILE = "manifest.toml"
#: The plugin API versions this core can run (plugin_api.API_VERSION and older ones
#: still honoured). A manifest naming any other version is refused before import.
SUPPORTED_API_VERSIONS: frozenset[int] = frozenset({1})


class ManifestError(RuntimeError):
    """A plugin whose manifest is missing or invalid; names the plugin and the field."""


class PluginManifest(BaseModel):
    """The validated contents of a plugin's ``manifest.toml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    api_version: int
    provides: tuple[Literal["actions", "spans"], ...] = Field(min_length=1)
    #: ``module:Model`` of the plugin's pydantic configuration model.
    config: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    description: str = ""

    @field_validator("api_version")
    @classmethod
    def _supported(cls, version: int) -> int:
        if version not in SUPPORTED_API_VERSIONS:
            supported = ", ".join(str(v) for v in sorted(SUPPORTED_API_VERSIONS))
            raise ValueError(f"plugin API version {version} is not supported by this "
                             f"Countersign (supported: {supported})")
        return version

    @field_validator("provides")
    @classmethod
    def _distinct(cls, provides: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(provides)) != len(provides):
            raise ValueError("lists the same capability twice")
        return provides


def manifest_path(entry_value: str) -> Path:
    """Where the manifest of the plugin whose entry point is ``module:attr`` lives:
    the folder of the module's package. Only parent packages are imported."""
    module = entry_value.partition(":")[0].strip()
    package = module.rpartition(".")[0] or module
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError) as exc:
        raise ManifestError(f"cannot locate package '{package}': {exc}") from exc
    if spec is None:
        raise ManifestError(f"package '{package}' is not installed")
    locations = list(spec.submodule_search_locations or [])
    if not locations and spec.origin:
        locations = [str(Path(spec.origin).parent)]
    for folder in locations:
        candidate = Path(folder) / MANIFEST_FILE
        if candidate.is_file():
            return candidate
    raise ManifestError(f"no {MANIFEST_FILE} in package '{package}'")


def read_manifest(plugin: str, entry_value: str) -> PluginManifest:
    """The validated manifest of the plugin registered as ``plugin``.

    Raises `ManifestError` naming the plugin and the first bad field.
    """
    try:
        path = manifest_path(entry_value)
    except ManifestError as exc:
        raise ManifestError(f"source plugin '{plugin}' ({entry_value}): {exc}") from None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(f"source plugin '{plugin}': {path} is unreadable: {exc}") from None
    try:
        manifest = PluginManifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(f"source plugin '{plugin}': manifest {path}: "
                            f"{describe_errors(exc)}") from None
    if manifest.name != plugin:
        raise ManifestError(f"source plugin '{plugin}': manifest {path}: name: is "
                            f"'{manifest.name}' but the entry point is '{plugin}'")
    return manifest


def load_config_model(plugin: str, manifest: PluginManifest) -> type[BaseModel]:
    """Import the plugin's configuration model (a light module by contract)."""
    module_name, _, attr = manifest.config.partition(":")
    try:
        model = getattr(importlib.import_module(module_name), attr)
    except Exception as exc:
        raise ManifestError(f"source plugin '{plugin}': config: cannot load "
                            f"{manifest.config}: {type(exc).__name__}: {exc}") from None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ManifestError(f"source plugin '{plugin}': config: {manifest.config} is not a "
                            f"pydantic model")
    return model


def describe_errors(exc: ValidationError) -> str:
    """``field: problem; other.field: problem`` from a pydantic error."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
        for err in exc.errors()
    )
