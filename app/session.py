"""The composition root: the one place that wires the core together.

The console, ``countersign worker`` and every CLI command open Countersign the same
way — ``open_services(store_url, config_path)`` — and receive a `Services` bundle:
the store, the configuration, who is acting, the services, and factories for the
runtime and the sources. Nothing else in the code builds a service from a store, so
adding one (review, autonomy, team) is one line here and every front end has it.

Heavy imports (SQLAlchemy, Alembic, the plugin host) happen inside the functions: a CLI
command that needs little pays for little, and the GUI opens its window first.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Config, SourceConfig
    from .plugin_api import Source
    from .runtime import Runtime, SourceHealth
    from .services.actions import ActionService
    from .services.autonomy_service import AutonomyService
    from .services.datasets import DatasetService
    from .services.decisions import DecisionService
    from .services.review import ReviewService
    from .services.review_feed import ReviewFeed
    from .services.traces import TraceService
    from .store.engine import Store


class Services:
    """Everything a front end needs from the core, opened once.

    Services are plain objects over one `Store`; each opens its own short transaction
    per call, and their units of work also exist as functions taking a SQLAlchemy
    session, so several compose in one transaction (see ``services/``). Each is built,
    and its module imported, on first use: ``queue list`` in a runbook's loop pays for
    the actions service, not for datasets, traces and autonomy.
    """

    def __init__(self, store: Store, config: Config, config_path: Path | None,
                 identity: str) -> None:
        self.store = store
        self.config = config
        self.config_path = config_path
        #: Who acts from this front end: the config file's ``reviewer``, else the OS user.
        self.identity = identity
        #: Set once a runtime is made through `make_runtime`, for front ends that want
        #: to wake it (a verdict given here is delivered without waiting for a poll).
        self.runtime: Runtime | None = None

    @cached_property
    def actions(self) -> ActionService:
        from .services.actions import ActionService

        return ActionService(self.store)

    @cached_property
    def decisions(self) -> DecisionService:
        from .services.decisions import DecisionService

        return DecisionService(self.store)

    @cached_property
    def traces(self) -> TraceService:
        from .services.traces import TraceService

        return TraceService(self.store)

    @cached_property
    def review(self) -> ReviewService:
        """The reviewer's loop: rubrics, rules, sampling, the review queue, labels."""
        from .services.review import ReviewService

        return ReviewService(self.store)

    @cached_property
    def review_feed(self) -> ReviewFeed:
        """The review list, read lean and kept live (the Review workspace's list)."""
        from .services.review_feed import ReviewFeed

        return ReviewFeed(self.store)

    @cached_property
    def datasets(self) -> DatasetService:
        """Eval datasets: build, list, diff, export, push."""
        from .services.datasets import DatasetService

        return DatasetService(self.store)

    @cached_property
    def autonomy(self) -> AutonomyService:
        """Autonomy: units' levels and evidence, promotions, thresholds, budgets and
        breakers."""
        from .services.autonomy_service import AutonomyService

        return AutonomyService(self.store)

    @property
    def store_description(self) -> str:
        from .store.engine import describe_url

        return describe_url(self.store.url)

    def source_configs(self, *, demo: bool = False, demo_seed: int = 7,
                       demo_agents: int = 6) -> list[SourceConfig]:
        """The configured sources, plus the simulated demo fleet with ``demo`` (which
        first imports its history, so the Autonomy workspace has evidence to show)."""
        from .config import SourceConfig

        wanted = list(self.config.sources)
        if demo and not any(c.name == "demo" for c in wanted):
            wanted.append(SourceConfig.model_validate(
                {"name": "demo", "plugin": "demo", "seed": demo_seed, "agents": demo_agents,
                 "history": True}))
        return wanted

    def build_sources(self, configs: Sequence[SourceConfig],
                      on_error: Callable[[str], None] | None = None) -> list[Source]:
        """Build each source as the worker does (manifest checked before import). With
        ``on_error`` a bad source is reported and skipped; without, the first one raises
        `PluginError`."""
        from .plugin_host.loading import PluginError, build_source

        sources: list[Source] = []
        for config in configs:
            try:
                sources.append(build_source(config))
            except PluginError as exc:
                if on_error is None:
                    raise
                on_error(str(exc))
            except Exception as exc:  # a plugin rejecting its config must not stop us
                if on_error is None:
                    raise
                on_error(f"source {config.name}: {type(exc).__name__}: {exc}")
        return sources

    def make_runtime(self, sources: Sequence[Source],
                     on_health: Callable[[SourceHealth], None] | None = None,
                     **options: Any) -> Runtime:
        """The runtime over these services (not started); remembered as `runtime`."""
        from .runtime import Runtime

        self.runtime = Runtime(self.store, sources, on_health=on_health, **options)
        return self.runtime

    def wake_delivery(self) -> None:
        """A verdict was just given in this process: deliver it now, not at the next
        poll (other processes' verdicts are found by polling)."""
        if self.runtime is not None:
            self.runtime.wake_delivery()

    def close(self) -> None:
        self.store.dispose()


def load_settings(config_path: Path | None) -> Config:
    """The configuration file (``ConfigError`` when it is unreadable or invalid)."""
    from .config import load_config

    return load_config(config_path)


def open_services(store_url: str | None, config_path: Path | None, *,
                  config: Config | None = None, migrate: bool = True,
                  create: bool = False) -> Services:
    """Open the store (migrating it) and build the services over it.

    ``store_url`` wins over the config file's ``store``, which wins over
    ``$COUNTERSIGN_STORE`` and the default SQLite file. Only the default store is
    created when missing, unless ``create`` (``countersign init``). Raises
    ``StoreError`` (one sentence naming the store) or ``ConfigError``.
    """
    from .store.engine import default_store_url, resolve_store_url
    from .store.migrate import open_store

    config = config if config is not None else load_settings(config_path)
    url = resolve_store_url(store_url or config.store)
    explicit = url != default_store_url()
    store = open_store(url, migrate=migrate, must_exist=explicit and not create)
    services = Services(store, config, config_path, config.reviewer or getpass.getuser())
    where = str(config_path) if config_path else None
    # The config file's [[review.rules]] are the team's: they replace differing rules.
    rules = config.review.sampling_rules()
    if rules is not None:
        services.review.sync_config_rules(rules, actor=services.identity, config_path=where)
    # Likewise the [autonomy] thresholds: every console and worker enforces the same.
    if config.autonomy is not None:
        services.autonomy.sync_file_config(config.autonomy, actor=services.identity,
                                           config_path=where)
    return services
