"""Channel reconcile: IPN messages kept for the drift report, Patreon's lifetime per patron

Revision ID: 0011_channel_reconcile
Revises: 0010_channels
Create Date: 2026-11-29 20:00:00

- channel_notices: IPN messages not counted (failed verification, another receiver,
  unreadable; their first bytes) and the txn_id of every verified one. Backfilled with the
  PayPal rows an IPN booked before this table existed (their audit entry names the IPN).
- pledges.reported_lifetime_minor: Patreon's lifetime_support_cents for the patron.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0011_channel_reconcile'
down_revision = '0010_channels'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'channel_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('outcome', sa.String(length=12), nullable=False),
        sa.Column('external_id', sa.String(length=255), nullable=False),
        sa.Column('reason', sa.String(length=255), nullable=False),
        sa.Column('raw', sa.Text(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_notices')),
    )
    with op.batch_alter_table('channel_notices', schema=None) as batch_op:
        batch_op.create_index('ix_channel_notices_channel_external_id', ['channel', 'external_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_channel_notices_received_at'), ['received_at'], unique=False)
    with op.batch_alter_table('pledges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reported_lifetime_minor', sa.BigInteger(), nullable=True))
    op.execute(
        "INSERT INTO channel_notices (channel, outcome, external_id, reason, raw, received_at)"
        " SELECT DISTINCT l.channel, 'verified', l.external_id, 'before 0011', '', l.created_at"
        " FROM ledger_entries l JOIN audit_log a ON a.target = l.stripe_ref"
        " WHERE l.channel = 'paypal' AND a.actor LIKE 'paypal:ipn:%'"
    )


def downgrade():
    with op.batch_alter_table('pledges', schema=None) as batch_op:
        batch_op.drop_column('reported_lifetime_minor')
    with op.batch_alter_table('channel_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_notices_received_at'))
        batch_op.drop_index('ix_channel_notices_channel_external_id')
    op.drop_table('channel_notices')
