"""traces: span provenance and repairs, run state from its root, unknown cost,
duplicate model calls, and OTLP log records about spans

- spans: service_name and scope_name (who sent the span, with which instrumentation),
  warnings_json (repairs made on the way in: bad UTF-8 shown as escapes, ...).
- runs: total_cost becomes nullable (no cost data is unknown, not 0: runs whose spans
  carry no cost at all are set to NULL); agent_source, service_name (the agent falls
  back to the resource's service.name); root_span_id, root_status, root_end_ns (the
  run's state agrees with its root span; a run whose root is open is unfinished);
  scope_name; duplicate_of (a model call a second instrumentation recorded as a run
  of its own, linked to the run it belongs to).
- span_logs: OTLP log records about spans (GenAI content events and others).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('spans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('scope_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('warnings_json', sa.Text(), nullable=False, server_default='[]'))
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.alter_column('total_cost', existing_type=sa.Float(), nullable=True)
        batch_op.add_column(sa.Column('agent_source', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('service_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('root_span_id', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('root_status', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('root_end_ns', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('scope_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('duplicate_of', sa.String(length=32), nullable=True))
    # Runs stored before: agents they named came from spans; a zero cost with no span
    # carrying any cost was unknown; the root's state is read back from its span.
    op.execute("UPDATE runs SET agent_source = 'span' WHERE agent_name IS NOT NULL")
    op.execute(
        "UPDATE runs SET total_cost = NULL WHERE total_cost = 0 AND NOT EXISTS "
        "(SELECT 1 FROM spans WHERE spans.trace_id = runs.trace_id AND spans.cost IS NOT NULL)"
    )
    op.execute(
        "UPDATE runs SET root_span_id = (SELECT s.span_id FROM spans s WHERE s.trace_id = "
        "runs.trace_id AND s.parent_span_id IS NULL ORDER BY s.start_ns LIMIT 1)"
    )
    op.execute(
        "UPDATE runs SET root_status = (SELECT s.status_code FROM spans s WHERE s.trace_id = "
        "runs.trace_id AND s.span_id = runs.root_span_id), root_end_ns = (SELECT s.end_ns "
        "FROM spans s WHERE s.trace_id = runs.trace_id AND s.span_id = runs.root_span_id) "
        "WHERE root_span_id IS NOT NULL"
    )
    op.create_table('span_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_key', sa.String(length=64), nullable=False),
    sa.Column('trace_id', sa.String(length=32), nullable=False),
    sa.Column('span_id', sa.String(length=16), nullable=False),
    sa.Column('time_ns', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('body_json', sa.Text(), nullable=True),
    sa.Column('attributes_json', sa.Text(), nullable=False),
    sa.Column('severity', sa.String(length=20), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_span_logs')),
    sa.UniqueConstraint('record_key', name=op.f('uq_span_logs_record_key'))
    )
    with op.batch_alter_table('span_logs', schema=None) as batch_op:
        batch_op.create_index('ix_span_logs_trace_span', ['trace_id', 'span_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('span_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_span_logs_trace_span')
    op.drop_table('span_logs')
    op.execute("UPDATE runs SET total_cost = 0 WHERE total_cost IS NULL")
    with op.batch_alter_table('runs', schema=None) as batch_op:
        for column in ('duplicate_of', 'scope_name', 'root_end_ns', 'root_status',
                       'root_span_id', 'service_name', 'agent_source'):
            batch_op.drop_column(column)
        batch_op.alter_column('total_cost', existing_type=sa.Float(), nullable=False)
    with op.batch_alter_table('spans', schema=None) as batch_op:
        for column in ('warnings_json', 'scope_name', 'service_name'):
            batch_op.drop_column(column)
