"""`AutonomyService`: the façade the Autonomy workspace, the Queue and the CLI call (one
short transaction per call) over the units of work in ``autonomy*.py`` and
``budgets.py``, which take a session so they compose with the rest of the core.

Importing this module is light (no numpy): the engine loads on the first call that
needs it, so opening the services stays fast.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..store.engine import Store

if TYPE_CHECKING:
    from ..autonomy import AutonomyConfig, ReplayResult
    from ..domain import AutonomyLevel
    from ..domain.autonomy import (
        AutonomyEvent,
        BreakerTrip,
        Budget,
        BudgetStatus,
        LevelChange,
        UnitKey,
    )
    from ..domain.autonomy_status import UnitCharts, UnitStatus
    from .autonomy_config import ConfigVersion


class AutonomyService:
    """Levels, evidence, thresholds, budgets and breakers over one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- reading -----------------------------------------------------------------------

    def status(self, *, agent: str | None = None) -> list[UnitStatus]:
        """Every unit (of ``agent``) with its level and evidence, sorted by agent,
        version and action class. Extends the verdict snapshot first when many verdicts
        came since (a separate write), so the next status is fast again."""
        from .autonomy_outcomes import REFRESH_TAIL, snapshot_lag
        from .autonomy_status import status

        with self.store.read() as session:
            stale = snapshot_lag(session) > REFRESH_TAIL
        if stale:
            self.refresh_snapshot()
        with self.store.read() as session:
            return status(session, agent=agent)

    def unit(self, unit: UnitKey) -> UnitStatus:
        """One unit's status (`UnknownUnit` if it never requested anything)."""
        from .autonomy_status import unit_status

        with self.store.read() as session:
            return unit_status(session, unit)

    def resolve(self, agent: str, action_class: str,
                agent_version: str | None = None) -> UnitKey:
        """The unit of ``agent`` / ``action_class`` (newest version unless given)."""
        from .autonomy_leads import resolve_unit

        with self.store.read() as session:
            return resolve_unit(session, agent, action_class, agent_version)

    def charts(self, unit: UnitKey, *, bucket_seconds: float | None = None) -> UnitCharts:
        """The selected unit's chart data and level history."""
        from .autonomy_status import charts

        with self.store.read() as session:
            return charts(session, unit, bucket_seconds=bucket_seconds)

    def all_charts(self, *, agent: str | None = None) -> dict[UnitKey, UnitCharts]:
        """Every unit's status, chart data and level history from one read: for a
        table with a sparkline per unit (use `charts` for the one selected)."""
        from .autonomy_status import all_charts

        with self.store.read() as session:
            return all_charts(session, agent=agent)

    def history(self, unit: UnitKey) -> list[LevelChange]:
        from .autonomy_status import history

        with self.store.read() as session:
            return history(session, unit)

    def replay(self, unit: UnitKey, level: AutonomyLevel, *,
               config: AutonomyConfig | None = None) -> ReplayResult:
        """What if ``unit`` had been at ``level`` (L2 / L3) over its stored history, with
        the thresholds in force or ``config``."""
        from .autonomy_status import replay_unit

        with self.store.read() as session:
            return replay_unit(session, unit, level, config=config)

    def events(self, *, after_id: int = 0, limit: int = 200) -> list[AutonomyEvent]:
        """Level changes, threshold changes, breaker trips and resets after
        ``after_id`` (an audit event id), oldest first: for notifications."""
        from .autonomy_status import events

        with self.store.read() as session:
            return events(session, after_id=after_id, limit=limit)

    def config(self) -> tuple[int, AutonomyConfig]:
        """(version, thresholds) in force."""
        from .autonomy_config import current_config

        with self.store.read() as session:
            return current_config(session)

    def config_history(self) -> list[ConfigVersion]:
        from .autonomy_config import config_history

        with self.store.read() as session:
            return config_history(session)

    @staticmethod
    def simulate(*, units: int = 500, seed: int = 0,
                 config: AutonomyConfig | None = None) -> dict[str, Any]:
        """`countersign.autonomy.simulate`: the engine on units with known error rates."""
        from ..autonomy import simulate

        return simulate(units, seed, config)

    # -- changing ----------------------------------------------------------------------

    def promote(self, unit: UnitKey, to: AutonomyLevel, *, lead: str,
                reason: str | None = None, expected_version: int | None = None
                ) -> LevelChange:
        """See `autonomy_leads.promote` (`PromotionRefused`, `LevelConflict`)."""
        from .autonomy_leads import promote

        with self.store.write() as session:
            return promote(session, unit, to, lead=lead, reason=reason,
                           expected_version=expected_version)

    def demote(self, unit: UnitKey, to: AutonomyLevel, *, lead: str, reason: str,
               expected_version: int | None = None) -> LevelChange:
        from .autonomy_leads import demote

        with self.store.write() as session:
            return demote(session, unit, to, lead=lead, reason=reason,
                          expected_version=expected_version)

    def set_config(self, settings: AutonomyConfig | Mapping[str, Any] | None, *, actor: str,
                   reason: str) -> int | None:
        """New thresholds (audited); None when unchanged. `AutonomyConfigError` names a
        bad setting."""
        from .autonomy_config import set_config

        with self.store.write() as session:
            return set_config(session, settings if settings is None or not isinstance(
                settings, Mapping) else dict(settings), actor=actor, reason=reason)

    def sync_file_config(self, table: dict[str, Any] | None, *, actor: str,
                         config_path: str | None) -> int | None:
        """The config file's ``[autonomy]`` table replaces differing thresholds."""
        if table is None:
            return None
        from .autonomy_config import sync_file_config

        with self.store.write() as session:
            return sync_file_config(session, table, actor=actor, config_path=config_path)

    def refresh_snapshot(self) -> int:
        """Extend the verdict snapshot that keeps `status` fast; how many it holds."""
        from .autonomy_outcomes import refresh_snapshot

        with self.store.write() as session:
            return refresh_snapshot(session, now=time.time())

    # -- budgets and breakers ----------------------------------------------------------

    def budgets(self) -> list[BudgetStatus]:
        """Every agent with a budget or a tripped breaker, with its current figures."""
        from .budgets import budget_status

        with self.store.read() as session:
            return budget_status(session)

    def budget(self, agent: str) -> Budget | None:
        from .budgets import get_budget

        with self.store.read() as session:
            return get_budget(session, agent)

    def set_budget(self, agent: str, limits: Mapping[str, float | None], *,
                   actor: str) -> Budget:
        """Set budgets (0 removes one; `BudgetError` names a bad one)."""
        from .budgets import set_budget

        with self.store.write() as session:
            return set_budget(session, agent, limits, actor=actor)

    def tripped(self) -> list[BreakerTrip]:
        """Open breaker trips, newest first (the Queue shows these agents on top)."""
        from .budgets import open_trips

        with self.store.read() as session:
            return open_trips(session)

    def reset_breaker(self, agent: str, *, lead: str, reason: str | None = None
                      ) -> BreakerTrip:
        from .budgets import reset_breaker

        with self.store.write() as session:
            return reset_breaker(session, agent, lead=lead, reason=reason)
