"""Migration 0006 builds exactly the autonomy tables the models describe, on SQLite and
PostgreSQL, seeds version 1 of the thresholds with AUTONOMY.md's defaults, and goes
down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from countersign.autonomy import AutonomyConfig
from countersign.store import autonomy_models, review_models  # noqa: F401
from countersign.store.autonomy_models import AutonomyConfigRow
from countersign.store.engine import Store
from countersign.store.migrate import _config
from countersign.store.models import Base

TABLES = {"autonomy_level_changes", "autonomy_config", "agent_budgets", "breaker_trips",
          "autonomy_outcome_snapshot"}


def _differences(store: Store) -> list[object]:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_the_migration_matches_the_models(store: Store) -> None:
    assert _differences(store) == []
    names = set(inspect(store.engine).get_table_names())
    assert names >= TABLES
    columns = {c["name"] for c in inspect(store.engine).get_columns("autonomy_levels")}
    assert columns >= {"version", "rule", "last_demotion_at"}
    indexes = {i["name"] for i in inspect(store.engine).get_indexes("breaker_trips")}
    assert "uq_breaker_trips_open_agent" in indexes


def test_version_one_holds_the_documents_defaults(store: Store) -> None:
    with store.read() as session:
        row = session.execute(select(AutonomyConfigRow.settings_json)).scalar_one()
    import json

    assert AutonomyConfig.from_table(json.loads(row)) == AutonomyConfig()


def test_down_and_up_again(store: Store) -> None:
    from alembic import command

    cfg = _config()
    with store._write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    assert not TABLES & set(inspect(store.engine).get_table_names())
    with store._write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert _differences(store) == []
