"""Roll-ups without foreign keys: their rows come from ledger rows, whose key guards them

Revision ID: 0015_rollups_without_fks
Revises: 0014_supporter_counts
Create Date: 2026-11-30 07:00:00

Every roll-up row is derived from ledger rows in the same transaction (or by a rebuild from
them), and ledger_entries.campaign_id keeps its foreign key, so the roll-ups' own keys only
cost a check per row: seven per booking, and a quarter of a rebuild's time.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015_rollups_without_fks'
down_revision = '0014_supporter_counts'
branch_labels = None
depends_on = None

ROLLUPS = (
    'ledger_totals',
    'ledger_channel_totals',
    'ledger_quarter_hours',
    'ledger_donors',
    'ledger_supporters',
    'ledger_supporter_counts',
    'ledger_gift_amounts',
)


def upgrade():
    for table in ROLLUPS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'fk_{table}_campaign_id_campaigns', type_='foreignkey')


def downgrade():
    for table in ROLLUPS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(
                f'fk_{table}_campaign_id_campaigns', 'campaigns', ['campaign_id'], ['id']
            )
