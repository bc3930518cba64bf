"""The TOML configuration file.

    store = "postgresql+psycopg://console@db/countersign"   # optional
    reviewer = "ann"                                        # optional

    [[sources]]
    name = "prod-agents"          # unique, shown in the UI
    plugin = "langgraph"          # the entry point's name
    url = "http://127.0.0.1:2024"
    api_key = "keyring:prod-agents"   # a reference, never the key itself

    [[review.rules]]              # optional: sampling rules for the Review queue; when
    name = "refunds"              #   given they replace the store's rules on open
    action_classes = ["issue_refund"]   # (see countersign.review.sampling)
    rate = 0.5

    [receiver]                    # optional: the console's own OTLP/HTTP receiver
    enabled = true                # listen while the console runs (default: off;
    host = "127.0.0.1"            #   `countersign worker` listens unless --no-otlp)
    port = 4318

Every key of a ``[[sources]]`` table other than ``name`` and ``plugin`` is the
plugin's own configuration, validated by the plugin's schema.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class ConfigError(ValueError):
    pass


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1)
    plugin: str = Field(min_length=1)

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ReceiverConfig(BaseModel):
    """Whether the GUI receives OTLP traces itself, and where it listens (loopback by
    default: anything else exposes the store to the network)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=4318, ge=1, le=65535)


class ReviewConfig(BaseModel):
    """The ``[review]`` table. ``rules`` (``[[review.rules]]``), when present, are the
    sampling rules: on open they replace the store's rules if they differ (audited);
    absent, the rules edited in the console stay."""

    model_config = ConfigDict(extra="forbid")

    rules: list[dict[str, Any]] | None = None

    @field_validator("rules")
    @classmethod
    def _valid_rules(cls, rules: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        if rules is not None:
            from ..review.sampling import SamplingRuleError, rules_from_toml_table

            try:
                rules_from_toml_table(rules)
            except SamplingRuleError as exc:
                raise ValueError(str(exc)) from exc
        return rules

    def sampling_rules(self) -> list[Any] | None:
        """The rules as `SamplingRule` s, or None when the file gives none."""
        if self.rules is None:
            return None
        from ..review.sampling import rules_from_toml_table

        return list(rules_from_toml_table(self.rules))


class ConsoleConfig(BaseModel):
    """How the console guards a fast operator's fingers (issue 11)."""

    model_config = ConfigDict(extra="forbid")

    #: A verdict key pressed this soon after the selection changed is ignored (with a
    #: hint): the next action is selected automatically and must be seen first.
    dwell_ms: int = Field(default=350, ge=0, le=5_000)
    #: How long a verdict waits in the outbox so Ctrl+Z can take it back; 0 (the
    #: default, for speed) sends it at once.
    undo_seconds: float = Field(default=0.0, ge=0.0, le=60.0)


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store: str | None = None
    reviewer: str | None = None
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)
    receiver: ReceiverConfig = Field(default_factory=ReceiverConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    #: The ``[autonomy]`` table: thresholds (`countersign.autonomy.AutonomyConfig`, its
    #: defaults where left out). When present it replaces the store's thresholds on open
    #: if they differ (a new version, audited); absent, the store's stay.
    autonomy: dict[str, Any] | None = None
    sources: list[SourceConfig] = Field(default_factory=list)

    @field_validator("autonomy")
    @classmethod
    def _valid_autonomy(cls, table: dict[str, Any] | None) -> dict[str, Any] | None:
        if table is not None:
            from ..autonomy.config import AutonomyConfig, AutonomyConfigError

            try:
                AutonomyConfig.from_table(table)
            except AutonomyConfigError as exc:  # names the setting: autonomy.window.last
                raise ValueError(str(exc)) from exc
        return table

    @field_validator("sources")
    @classmethod
    def _unique(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        seen: set[str] = set()
        for source in sources:
            if source.name in seen:
                raise ValueError(f"two sources are named '{source.name}'")
            seen.add(source.name)
        return sources


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir("countersign", appauthor=False)) / "config.toml"


def load_config(path: Path | None) -> Config:
    """Read ``path`` (or the default file if it exists); errors name the file and key."""
    explicit = path is not None
    path = path or default_config_path()
    if not path.exists():
        if explicit:
            raise ConfigError(f"config file {path} does not exist")
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"config file {path}: {problems}") from exc
