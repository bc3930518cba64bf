"""autonomy: level history, versioned thresholds, budgets and circuit breakers, and a
column snapshot of verdict outcomes (issue 13)

- autonomy_levels: + version (optimistic concurrency: two leads, one wins), rule (why
  the unit is at its level) and last_demotion_at (the cool-down).
- autonomy_level_changes: every level change of a unit, with its rule, actor, reason,
  whether it went against the recommendation, and the evidence snapshot.
- autonomy_config: versioned thresholds; version 1 holds AUTONOMY.md's defaults, frozen
  here so later changes to the code's defaults do not rewrite history.
- agent_budgets / breaker_trips: per-agent budgets; a trip is open until reset, and a
  partial unique index allows one open trip per agent.
- autonomy_outcome_snapshot: verdict outcomes as numpy columns (a cache).
- actions: an index on (agent_id, created_at) for the budgets' recent counts.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02 06:00:00
"""

import json
import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEFAULTS = {
    "l1_to_l2": {"p_good": 0.03, "p_bad": 0.1, "alpha": 0.05, "beta": 0.1,
                 "min_reviewed": 60, "min_n_eff": 60.0, "wilson_min": 0.95,
                 "min_days_at_level": 7.0, "min_reviewers": 2, "no_critical_in_last": 100,
                 "min_agreement": 0.667},
    "l2_to_l3": {"p_good": 0.01, "p_bad": 0.05, "alpha": 0.05, "beta": 0.1,
                 "min_reviewed": 150, "min_n_eff": 150.0, "wilson_min": 0.98,
                 "min_days_at_level": 30.0, "min_reviewers": 2, "no_critical_in_last": 300,
                 "min_agreement": 0.667},
    "cusum_l2": {"p0": 0.03, "p1": 0.08, "h": 3.5},
    "cusum_l3": {"p0": 0.01, "p1": 0.04, "h": 3.0},
    "window": {"failures": 3, "last": 20},
    "cooldown_days": 7.0,
    "z": 1.645,
    "new_version": "one_level_lower",
    "sampling": {"low": 0.05, "medium": 0.2, "high": 1.0},
}


def upgrade() -> None:
    with op.batch_alter_table('autonomy_levels') as batch:
        batch.add_column(sa.Column('version', sa.Integer(), nullable=False,
                                   server_default='1'))
        batch.add_column(sa.Column('rule', sa.String(length=40), nullable=False,
                                   server_default='initial'))
        batch.add_column(sa.Column('last_demotion_at', sa.Float(), nullable=True))
    op.create_table('autonomy_level_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('from_level', sa.String(length=4), nullable=True),
    sa.Column('to_level', sa.String(length=4), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('against_recommendation', sa.Boolean(), nullable=False),
    sa.Column('evidence_json', sa.Text(), nullable=False),
    sa.Column('config_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['autonomy_levels.id'],
                            name=op.f('fk_autonomy_level_changes_unit_id_autonomy_levels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_autonomy_level_changes'))
    )
    op.create_index('ix_autonomy_level_changes_unit_at', 'autonomy_level_changes',
                    ['unit_id', 'at'], unique=False)
    config = op.create_table('autonomy_config',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('settings_json', sa.Text(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_autonomy_config'))
    )
    op.create_table('agent_budgets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent', sa.String(length=200), nullable=False),
    sa.Column('actions_per_minute', sa.Integer(), nullable=True),
    sa.Column('tokens_per_hour', sa.BigInteger(), nullable=True),
    sa.Column('cost_per_hour', sa.Float(), nullable=True),
    sa.Column('repeats', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_budgets')),
    sa.UniqueConstraint('agent', name=op.f('uq_agent_budgets_agent'))
    )
    op.create_table('breaker_trips',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent', sa.String(length=200), nullable=False),
    sa.Column('tripped_at', sa.Float(), nullable=False),
    sa.Column('budget', sa.String(length=40), nullable=False),
    sa.Column('limit_value', sa.Float(), nullable=False),
    sa.Column('observed', sa.Float(), nullable=False),
    sa.Column('figures_json', sa.Text(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=True),
    sa.Column('trace_id', sa.String(length=32), nullable=True),
    sa.Column('reset_at', sa.Float(), nullable=True),
    sa.Column('reset_by', sa.String(length=200), nullable=True),
    sa.Column('reset_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['actions.id'],
                            name=op.f('fk_breaker_trips_action_id_actions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_breaker_trips'))
    )
    op.create_index('uq_breaker_trips_open_agent', 'breaker_trips', ['agent'], unique=True,
                    sqlite_where=sa.text('reset_at IS NULL'),
                    postgresql_where=sa.text('reset_at IS NULL'))
    op.create_index('ix_breaker_trips_agent_tripped', 'breaker_trips',
                    ['agent', 'tripped_at'], unique=False)
    op.create_table('autonomy_outcome_snapshot',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('through_at', sa.Float(), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('built_at', sa.Float(), nullable=False),
    sa.Column('units_json', sa.Text(), nullable=False),
    sa.Column('reviewers_json', sa.Text(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_autonomy_outcome_snapshot'))
    )
    op.create_index('ix_actions_agent_created', 'actions', ['agent_id', 'created_at'],
                    unique=False)
    op.bulk_insert(config, [{
        "version": 1,
        "settings_json": json.dumps(_DEFAULTS, sort_keys=True, separators=(",", ":")),
        "created_at": time.time(), "actor": "system",
        "reason": "AUTONOMY.md's defaults"}])


def downgrade() -> None:
    op.drop_index('ix_actions_agent_created', table_name='actions')
    op.drop_table('autonomy_outcome_snapshot')
    op.drop_index('ix_breaker_trips_agent_tripped', table_name='breaker_trips')
    op.drop_index('uq_breaker_trips_open_agent', table_name='breaker_trips')
    op.drop_table('breaker_trips')
    op.drop_table('agent_budgets')
    op.drop_table('autonomy_config')
    op.drop_index('ix_autonomy_level_changes_unit_at', table_name='autonomy_level_changes')
    op.drop_table('autonomy_level_changes')
    with op.batch_alter_table('autonomy_levels') as batch:
        batch.drop_column('last_demotion_at')
        batch.drop_column('rule')
        batch.drop_column('version')
