"""Channels: every ledger row says where the money came in (stripe, paypal, patreon, offline)

Revision ID: 0010_channels
Revises: 0009_staff_desk
Create Date: 2026-11-29 18:10:00

- ledger_entries.channel: existing rows are 'stripe' (server default), CHECK a known channel.
- ledger_entries.external_id: the channel's own id, UNIQUE per channel; for existing (Stripe)
  rows it is their stripe_ref.
- pledges.channel: existing pledges are 'stripe'; PayPal and Patreon pledges are mirrored.
- ledger_channel_totals: sums per campaign, channel and currency (the totals' by_channel),
  backfilled from the ledger.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0010_channels'
down_revision = '0009_staff_desk'
branch_labels = None
depends_on = None

# Written out, not imported: a migration must keep meaning what it meant when it was written.
KNOWN_CHANNEL = "channel IN ('stripe', 'paypal', 'patreon', 'offline')"


def upgrade():
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=10), server_default='stripe', nullable=False))
        batch_op.add_column(sa.Column('external_id', sa.String(length=255), nullable=True))
    op.execute("UPDATE ledger_entries SET external_id = stripe_ref")
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.alter_column('external_id', existing_type=sa.String(length=255), nullable=False)
        batch_op.create_check_constraint(op.f('ck_ledger_entries_known_channel'), KNOWN_CHANNEL)
        batch_op.create_unique_constraint('uq_ledger_entries_channel_external_id', ['channel', 'external_id'])
    with op.batch_alter_table('pledges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=10), server_default='stripe', nullable=False))
    op.create_table(
        'ledger_channel_totals',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('entries', sa.BigInteger(), nullable=False),
        sa.Column('amount_minor', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_ledger_channel_totals_campaign_id_campaigns')),
        sa.PrimaryKeyConstraint('campaign_id', 'channel', 'currency', name=op.f('pk_ledger_channel_totals')),
    )
    op.execute(
        "INSERT INTO ledger_channel_totals (campaign_id, channel, currency, entries, amount_minor)"
        " SELECT campaign_id, channel, currency, COUNT(*), SUM(amount_minor) FROM ledger_entries"
        " GROUP BY campaign_id, channel, currency"
    )


def downgrade():
    op.drop_table('ledger_channel_totals')
    with op.batch_alter_table('pledges', schema=None) as batch_op:
        batch_op.drop_column('channel')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_constraint('uq_ledger_entries_channel_external_id', type_='unique')
        batch_op.drop_constraint(op.f('ck_ledger_entries_known_channel'), type_='check')
        batch_op.drop_column('external_id')
        batch_op.drop_column('channel')
