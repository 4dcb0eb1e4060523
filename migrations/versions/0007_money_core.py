"""Money core: announced changes, pledge revisions

Revision ID: 0007_money_core
Revises: 0003_queued_stripe_events
Create Date: 2026-11-29 17:30:00

- announced_changes: each state change announced once (payments.ledger).
- pledges.revision: counts the changes applied to a pledge (0 for existing ones).
"""
from alembic import op
import sqlalchemy as sa

import fundraiser.models.base


# revision identifiers, used by Alembic.
revision = '0007_money_core'
down_revision = '0003_queued_stripe_events'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'announced_changes',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('announced_at', fundraiser.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_announced_changes')),
    )
    with op.batch_alter_table('pledges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('pledges', schema=None) as batch_op:
        batch_op.drop_column('revision')
    op.drop_table('announced_changes')
