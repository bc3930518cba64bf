"""outbox: delivery claims, so several workers on one store deliver each decision once

- outbox.claimed_by: the worker (host:pid:nonce) that claimed the row for delivery.
- outbox.claimed_until: when that claim lapses (epoch seconds). A worker claims due
  rows whose claim is absent or lapsed (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
  ``BEGIN IMMEDIATE`` writer lock on SQLite), confirms its claim just before sending,
  and the claim is cleared when the delivery settles or is rescheduled; a worker that
  died leaves a claim that lapses by itself.

Chained after 0006 (autonomy), the head when this was written: 0005 was reserved for
it while 0006 landed first.

Revision ID: 0005
Revises: 0006
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('claimed_by')
