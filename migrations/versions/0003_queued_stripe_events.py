"""Stripe events can be received first and applied by a worker: applied_at and payload

Revision ID: 0003_queued_stripe_events
Revises: 0002_ledger_rollups
Create Date: 2026-11-25 13:45:00

Every event recorded before this revision was applied as it was recorded.
"""
from alembic import op
import sqlalchemy as sa

import fundraiser.models.base


# revision identifiers, used by Alembic.
revision = '0003_queued_stripe_events'
down_revision = '0002_ledger_rollups'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('applied_at', fundraiser.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('payload', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_stripe_events_applied_at'), ['applied_at'], unique=False)
    op.execute("UPDATE stripe_events SET applied_at = received_at")


def downgrade():
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stripe_events_applied_at'))
        batch_op.drop_column('payload')
        batch_op.drop_column('applied_at')
