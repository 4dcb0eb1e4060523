"""Ledger roll-up per quarter hour, channel, currency and kind, with settled sums.

- ledger_quarter_channels: the overview's combined figure (settled amounts per currency)
  and its channel lines for any period read from here, not from the ledger; backfilled
  from the ledger (quarter = Unix seconds of occurred_at // 900, as rollups.quarter_of).

Revision ID: 0012_quarter_channels
Revises: 0011_channel_reconcile
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0012_quarter_channels'
down_revision = '0011_channel_reconcile'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ledger_quarter_channels',
        sa.Column('quarter', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('entries', sa.BigInteger(), nullable=False),
        sa.Column('amount_minor', sa.BigInteger(), nullable=False),
        sa.Column('settled_minor', sa.BigInteger(), nullable=False),
        sa.Column('unsettled', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('quarter', 'channel', 'currency', 'kind', name=op.f('pk_ledger_quarter_channels')),
    )
    if op.get_bind().dialect.name == 'postgresql':
        quarter = "CAST(floor(extract(epoch FROM occurred_at) / 900) AS INTEGER)"
    else:  # SQLite keeps UTC text; whole seconds, as rollups._quarter_expression reads them
        quarter = "CAST(strftime('%s', substr(occurred_at, 1, 19)) AS INTEGER) / 900"
    op.execute(
        "INSERT INTO ledger_quarter_channels"
        " (quarter, channel, currency, kind, entries, amount_minor, settled_minor, unsettled)"
        f" SELECT {quarter}, channel, currency, kind, COUNT(*), SUM(amount_minor),"
        " COALESCE(SUM(settled_amount_minor), 0),"
        " SUM(CASE WHEN settled_amount_minor IS NULL THEN 1 ELSE 0 END)"
        f" FROM ledger_entries GROUP BY {quarter}, channel, currency, kind"
    )


def downgrade():
    op.drop_table('ledger_quarter_channels')
