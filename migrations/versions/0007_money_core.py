"""Money core: announced changes, status histories, ledger CHECKs, settlement, rates

Revision ID: 0007_money_core
Revises: 0006_donation_abuse_guards
Create Date: 2026-11-29 17:30:00

- announced_changes: each state change announced once (payments.ledger).
- pledges.revision: counts the changes applied to a pledge (0 for existing ones).
- donation_intent_status_changes, pledge_status_changes: every status move from now on.
- ledger_entries CHECKs: the amount's sign by kind, fee >= 0, a three-letter upper-case
  currency (an existing row that breaks one stops the upgrade: it needs a human first).
- ledger_entries settlement_currency, settled_amount_minor, settled_fee_minor,
  exchange_rate: from Stripe's balance transactions; empty for existing rows (`flask stripe
  reconcile` fills in the payments' from Stripe).
- ledger_totals settled_minor, unsettled; ledger_donors kept_minor: backfilled from the
  ledger (existing rows count as not settled).
- exchange_rates: ECB reference rates (`flask rates import`).
"""
from alembic import op
import sqlalchemy as sa

import fundraiser.models.base

# Written out, not imported: a migration must keep meaning what it meant when it was written.
SIGN_BY_KIND = (
    "(kind = 'payment' AND amount_minor > 0)"
    " OR (kind = 'refund' AND (amount_minor < 0 OR stripe_ref LIKE '%\\:failed'))"
    " OR (kind = 'dispute_opened' AND amount_minor < 0)"
    " OR (kind = 'dispute_won' AND amount_minor > 0)"
    " OR (kind = 'dispute_lost' AND amount_minor = 0)"
)


def currency_code_check(column):
    letters = " AND ".join(
        f"lower(substr({column}, {i}, 1)) <> substr({column}, {i}, 1)" for i in (1, 2, 3)
    )
    return f"length({column}) = 3 AND upper({column}) = {column} AND {letters}"


# revision identifiers, used by Alembic.
revision = '0007_money_core'
down_revision = '0006_donation_abuse_guards'
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
    op.create_table(
        'donation_intent_status_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('intent_id', sa.Integer(), nullable=False),
        sa.Column('from_status', sa.String(length=12), nullable=False),
        sa.Column('to_status', sa.String(length=12), nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('changed_at', fundraiser.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['intent_id'], ['donation_intents.id'], name=op.f('fk_donation_intent_status_changes_intent_id_donation_intents')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_donation_intent_status_changes')),
    )
    with op.batch_alter_table('donation_intent_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_donation_intent_status_changes_intent_id'), ['intent_id'], unique=False)
    op.create_table(
        'pledge_status_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('pledge_id', sa.Integer(), nullable=False),
        sa.Column('from_status', sa.String(length=12), nullable=False),
        sa.Column('to_status', sa.String(length=12), nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('changed_at', fundraiser.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['pledge_id'], ['pledges.id'], name=op.f('fk_pledge_status_changes_pledge_id_pledges')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pledge_status_changes')),
    )
    with op.batch_alter_table('pledge_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pledge_status_changes_pledge_id'), ['pledge_id'], unique=False)
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_ledger_entries_sign_by_kind'), SIGN_BY_KIND)
        batch_op.create_check_constraint(op.f('ck_ledger_entries_fee_not_negative'), 'fee_minor IS NULL OR fee_minor >= 0')
        batch_op.create_check_constraint(op.f('ck_ledger_entries_currency_code'), currency_code_check('currency'))
        batch_op.add_column(sa.Column('settlement_currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('settled_amount_minor', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('settled_fee_minor', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('exchange_rate', sa.Numeric(precision=18, scale=9), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_ledger_entries_settlement_currency_code'),
            f"settlement_currency IS NULL OR ({currency_code_check('settlement_currency')})",
        )
        batch_op.create_check_constraint(
            op.f('ck_ledger_entries_settled_fee_not_negative'),
            'settled_fee_minor IS NULL OR settled_fee_minor >= 0',
        )
    with op.batch_alter_table('ledger_totals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settled_minor', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('unsettled', sa.BigInteger(), server_default='0', nullable=False))
    op.execute("UPDATE ledger_totals SET unsettled = entries")
    with op.batch_alter_table('ledger_donors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kept_minor', sa.BigInteger(), server_default='0', nullable=False))
    op.execute(
        "UPDATE ledger_donors SET kept_minor = (SELECT COALESCE(SUM(e.amount_minor), 0)"
        " FROM ledger_entries e WHERE e.campaign_id = ledger_donors.campaign_id"
        " AND e.currency = ledger_donors.currency"
        " AND COALESCE(e.donor_email, e.payment_ref) = ledger_donors.donor_key"
        " AND e.kind IN ('payment', 'refund'))"
    )
    op.create_table(
        'exchange_rates',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('per_euro', sa.Numeric(precision=18, scale=6), nullable=False),
        sa.PrimaryKeyConstraint('day', 'currency', name=op.f('pk_exchange_rates')),
    )


def downgrade():
    op.drop_table('exchange_rates')
    with op.batch_alter_table('ledger_donors', schema=None) as batch_op:
        batch_op.drop_column('kept_minor')
    with op.batch_alter_table('ledger_totals', schema=None) as batch_op:
        batch_op.drop_column('unsettled')
        batch_op.drop_column('settled_minor')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ledger_entries_settled_fee_not_negative'), type_='check')
        batch_op.drop_constraint(op.f('ck_ledger_entries_settlement_currency_code'), type_='check')
        batch_op.drop_column('exchange_rate')
        batch_op.drop_column('settled_fee_minor')
        batch_op.drop_column('settled_amount_minor')
        batch_op.drop_column('settlement_currency')
        batch_op.drop_constraint(op.f('ck_ledger_entries_currency_code'), type_='check')
        batch_op.drop_constraint(op.f('ck_ledger_entries_fee_not_negative'), type_='check')
        batch_op.drop_constraint(op.f('ck_ledger_entries_sign_by_kind'), type_='check')
    with op.batch_alter_table('pledge_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pledge_status_changes_pledge_id'))
    op.drop_table('pledge_status_changes')
    with op.batch_alter_table('donation_intent_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_donation_intent_status_changes_intent_id'))
    op.drop_table('donation_intent_status_changes')
    with op.batch_alter_table('pledges', schema=None) as batch_op:
        batch_op.drop_column('revision')
    op.drop_table('announced_changes')
