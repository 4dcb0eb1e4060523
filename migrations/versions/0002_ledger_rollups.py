"""Ledger roll-ups (totals, quarter hours, donors, donor keys, gift amounts), filled from the existing ledger; a partial covering index of refunds and dispute steps by payment

Revision ID: 0002_ledger_rollups
Revises: 0001_initial
Create Date: 2026-11-25 13:40:00

The backfill is written out here rather than calling fundraiser.payments.rollups.rebuild:
a migration must keep doing what it did when it was written, whatever the code becomes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_ledger_rollups'
down_revision = '0001_initial'
branch_labels = None
depends_on = None

GROUP = "campaign_id, currency, kind, frequency"
SUMS = "count(*), sum(amount_minor), sum(coalesce(fee_minor, 0))"
# Unix time // 900 of occurred_at: fundraiser.payments.rollups.quarter_of, in SQL.
QUARTER = {
    "postgresql": "CAST(floor(extract(epoch from occurred_at) / 900) AS INTEGER)",
    # Whole seconds only: SQLite rounds a fraction like .999999 up to the next second.
    "sqlite": "CAST(strftime('%s', substr(occurred_at, 1, 19)) AS INTEGER) / 900",
}


def upgrade():
    op.create_table('ledger_totals',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('frequency', sa.String(length=10), nullable=False),
    sa.Column('entries', sa.BigInteger(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('fee_minor', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_ledger_totals_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('campaign_id', 'currency', 'kind', 'frequency', name=op.f('pk_ledger_totals'))
    )
    op.create_table('ledger_quarter_hours',
    sa.Column('quarter', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('frequency', sa.String(length=10), nullable=False),
    sa.Column('entries', sa.BigInteger(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('fee_minor', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_ledger_quarter_hours_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('quarter', 'campaign_id', 'currency', 'kind', 'frequency', name=op.f('pk_ledger_quarter_hours'))
    )
    op.create_table('ledger_donors',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('donor_key', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_ledger_donors_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('campaign_id', 'currency', 'donor_key', name=op.f('pk_ledger_donors'))
    )
    op.create_table('ledger_donor_keys',
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('donor_key', sa.String(length=320), nullable=False),
    sa.PrimaryKeyConstraint('currency', 'donor_key', name=op.f('pk_ledger_donor_keys'))
    )
    op.create_table('ledger_gift_amounts',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('payments', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_ledger_gift_amounts_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('campaign_id', 'currency', 'amount_minor', name=op.f('pk_ledger_gift_amounts'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index(
            'ix_ledger_adjustments', ['payment_ref'], unique=False,
            postgresql_include=['kind', 'amount_minor', 'fee_minor'],
            postgresql_where=sa.text("kind <> 'payment'"),
            sqlite_where=sa.text("kind <> 'payment'"),
        )
    backfill(QUARTER[op.get_bind().dialect.name])


def backfill(quarter: str) -> None:
    op.execute(
        f"INSERT INTO ledger_totals ({GROUP}, entries, amount_minor, fee_minor) "
        f"SELECT {GROUP}, {SUMS} FROM ledger_entries GROUP BY {GROUP}"
    )
    op.execute(
        f"INSERT INTO ledger_quarter_hours (quarter, {GROUP}, entries, amount_minor, fee_minor) "
        f"SELECT {quarter}, {GROUP}, {SUMS} FROM ledger_entries GROUP BY {quarter}, {GROUP}"
    )
    op.execute(
        "INSERT INTO ledger_donors (campaign_id, currency, donor_key) "
        "SELECT DISTINCT campaign_id, currency, coalesce(donor_email, payment_ref) "
        "FROM ledger_entries WHERE kind = 'payment'"
    )
    # Each donor once per currency, and once under '*' (any currency).
    op.execute(
        "INSERT INTO ledger_donor_keys (currency, donor_key) "
        "SELECT DISTINCT currency, donor_key FROM ledger_donors"
    )
    op.execute(
        "INSERT INTO ledger_donor_keys (currency, donor_key) "
        "SELECT DISTINCT '*', donor_key FROM ledger_donors"
    )
    op.execute(
        "INSERT INTO ledger_gift_amounts (campaign_id, currency, amount_minor, payments) "
        "SELECT campaign_id, currency, amount_minor, count(*) FROM ledger_entries "
        "WHERE kind = 'payment' GROUP BY campaign_id, currency, amount_minor"
    )


def downgrade():
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_adjustments')
    op.drop_table('ledger_gift_amounts')
    op.drop_table('ledger_donor_keys')
    op.drop_table('ledger_donors')
    op.drop_table('ledger_quarter_hours')
    op.drop_table('ledger_totals')
