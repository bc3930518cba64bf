"""spans: drop ix_spans_trace_start

The unique (trace_id, span_id) index already finds a run's spans; sorting one run's
spans by start time costs a few milliseconds, while keeping a second index over
every span cost a seventh of the ingest write time.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 08:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('spans', schema=None) as batch_op:
        batch_op.drop_index('ix_spans_trace_start')


def downgrade() -> None:
    with op.batch_alter_table('spans', schema=None) as batch_op:
        batch_op.create_index('ix_spans_trace_start', ['trace_id', 'start_ns'], unique=False)
