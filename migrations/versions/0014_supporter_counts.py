"""Supporters kept as a count per campaign: the landing page reads one row

Revision ID: 0014_supporter_counts
Revises: 0013_campaign_translations
Create Date: 2026-11-30 03:10:00

- ledger_supporters: each donor once per campaign, with how many currencies their kept
  amount (ledger_donors.kept_minor) is above 0 in.
- ledger_supporter_counts: per campaign, its ledger_supporters rows above 0 (issue 13's
  supporters: distinct donors in any currency, less those whose every gift was refunded).
Both backfilled from ledger_donors, as `flask dashboard rebuild-rollups` writes them.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0014_supporter_counts'
down_revision = '0013_campaign_translations'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ledger_supporters',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('donor_key', sa.String(length=320), nullable=False),
    sa.Column('currencies', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_ledger_supporters_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('campaign_id', 'donor_key', name=op.f('pk_ledger_supporters'))
    )
    op.create_table('ledger_supporter_counts',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('supporters', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_ledger_supporter_counts_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('campaign_id', name=op.f('pk_ledger_supporter_counts'))
    )
    op.execute(
        "INSERT INTO ledger_supporters (campaign_id, donor_key, currencies)"
        " SELECT campaign_id, donor_key, count(*) FROM ledger_donors WHERE kept_minor > 0"
        " GROUP BY campaign_id, donor_key"
    )
    op.execute(
        "INSERT INTO ledger_supporter_counts (campaign_id, supporters)"
        " SELECT campaign_id, count(*) FROM ledger_supporters GROUP BY campaign_id"
    )


def downgrade():
    op.drop_table('ledger_supporter_counts')
    op.drop_table('ledger_supporters')
