"""review: rubrics, sampling rules, review items with claims and labels, the sampling
watermark, and frozen dataset versions (issue 12)

- review_rubrics: versioned rubrics (name + version unique), the model as JSON.
- review_rules: the ordered sampling rules, seeded with AUTONOMY.md's risk-tier rates
  (critical and high 1.0 with two labels each, medium 0.2, low 0.05), so a new store
  samples from its first decision; the config file and the console replace them.
- review_items: an action or a run in the Review queue under one rubric, with the
  pi it was drawn with (NULL: added by hand), the rule, and the labels it needs.
- review_claims: one reviewer per label slot (first writer wins on the unique index).
- review_labels: one label per reviewer and item, with the rubric version answered.
- review_watermark: what `review sample` already considered.
- datasets / dataset_examples: frozen dataset versions and their examples.
- decisions: an index on decided_at for "outcomes since".

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:00:00
"""

import json
import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DECIDED = ["approved", "edited", "rejected", "responded", "auto_approved"]
#: Frozen here: later changes to the code's defaults must not rewrite history.
_DEFAULT_RULES = [
    {"name": "critical-risk", "enabled": True, "risks": ["critical"], "verdicts": _DECIDED,
     "rate": 1.0, "labels": 2},
    {"name": "high-risk", "enabled": True, "risks": ["high"], "verdicts": _DECIDED,
     "rate": 1.0, "labels": 2},
    {"name": "medium-risk", "enabled": True, "risks": ["medium"], "verdicts": _DECIDED,
     "rate": 0.2},
    {"name": "low-risk", "enabled": True, "risks": ["low"], "verdicts": _DECIDED,
     "rate": 0.05},
]


def upgrade() -> None:
    op.create_table('review_rubrics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=10), nullable=False),
    sa.Column('definition_json', sa.Text(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_rubrics')),
    sa.UniqueConstraint('name', 'version', name=op.f('uq_review_rubrics_name'))
    )
    rules = op.create_table('review_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('definition_json', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_rules')),
    sa.UniqueConstraint('name', name=op.f('uq_review_rules_name')),
    sa.UniqueConstraint('position', name=op.f('uq_review_rules_position'))
    )
    op.create_table('review_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=True),
    sa.Column('trace_id', sa.String(length=32), nullable=True),
    sa.Column('rubric', sa.String(length=100), nullable=False),
    sa.Column('pi', sa.Float(), nullable=True),
    sa.Column('rule', sa.String(length=100), nullable=True),
    sa.Column('needed', sa.Integer(), nullable=False),
    sa.Column('label_count', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('added_by', sa.String(length=200), nullable=True),
    sa.CheckConstraint('(action_id IS NULL) <> (trace_id IS NULL)',
                       name=op.f('ck_review_items_one_subject')),
    sa.CheckConstraint('needed >= 1', name=op.f('ck_review_items_needed_positive')),
    sa.ForeignKeyConstraint(['action_id'], ['actions.id'],
                            name=op.f('fk_review_items_action_id_actions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_items')),
    sa.UniqueConstraint('action_id', 'rubric', name=op.f('uq_review_items_action_id')),
    sa.UniqueConstraint('trace_id', 'rubric', name=op.f('uq_review_items_trace_id'))
    )
    op.create_index('ix_review_items_state_id', 'review_items', ['state', 'id'], unique=False)
    op.create_table('review_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('reviewer', sa.String(length=200), nullable=False),
    sa.Column('claimed_at', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=True),
    sa.Column('label_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['review_items.id'],
                            name=op.f('fk_review_claims_item_id_review_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_claims')),
    sa.UniqueConstraint('item_id', 'reviewer', name='uq_review_claims_item_reviewer'),
    sa.UniqueConstraint('item_id', 'slot', name='uq_review_claims_item_slot')
    )
    op.create_table('review_labels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('reviewer', sa.String(length=200), nullable=False),
    sa.Column('rubric', sa.String(length=100), nullable=False),
    sa.Column('rubric_version', sa.Integer(), nullable=False),
    sa.Column('answers_json', sa.Text(), nullable=False),
    sa.Column('correction_json', sa.Text(), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['review_items.id'],
                            name=op.f('fk_review_labels_item_id_review_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_labels')),
    sa.UniqueConstraint('item_id', 'reviewer', name=op.f('uq_review_labels_item_id'))
    )
    op.create_index('ix_review_labels_rubric', 'review_labels', ['rubric', 'rubric_version'],
                    unique=False)
    op.create_table('review_watermark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_watermark'))
    )
    op.create_table('datasets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('filter_json', sa.Text(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('example_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datasets')),
    sa.UniqueConstraint('name', 'version', name=op.f('uq_datasets_name'))
    )
    op.create_table('dataset_examples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('body_json', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'],
                            name=op.f('fk_dataset_examples_dataset_id_datasets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_examples')),
    sa.UniqueConstraint('dataset_id', 'position', name=op.f('uq_dataset_examples_dataset_id'))
    )
    op.create_index('ix_decisions_decided_at', 'decisions', ['decided_at'], unique=False)
    now = time.time()
    op.bulk_insert(rules, [
        {"position": position, "name": rule["name"], "enabled": True,
         "definition_json": json.dumps(rule, sort_keys=True, separators=(",", ":")),
         "updated_at": now}
        for position, rule in enumerate(_DEFAULT_RULES)
    ])


def downgrade() -> None:
    op.drop_index('ix_decisions_decided_at', table_name='decisions')
    op.drop_table('dataset_examples')
    op.drop_table('datasets')
    op.drop_table('review_watermark')
    op.drop_index('ix_review_labels_rubric', table_name='review_labels')
    op.drop_table('review_labels')
    op.drop_table('review_claims')
    op.drop_index('ix_review_items_state_id', table_name='review_items')
    op.drop_table('review_items')
    op.drop_table('review_rules')
    op.drop_table('review_rubrics')
