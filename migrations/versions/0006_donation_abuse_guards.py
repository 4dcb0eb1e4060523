"""Donation intents keep where their checkout came from (keyed digests, no IP): source

Revision ID: 0006_donation_abuse_guards
Revises: 0005_staff_sign_in_guards
Create Date: 2026-11-29 17:10:00

The card-testing defence counts a decline Stripe reports against the address and network
that opened the checkout. Intents made before this revision have no source.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_donation_abuse_guards'
down_revision = '0005_staff_sign_in_guards'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('donation_intents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('donation_intents', schema=None) as batch_op:
        batch_op.drop_column('source')
