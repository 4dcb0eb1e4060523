"""Giving journey: preset ladders, default frequency and photo on campaigns; wall choices on intents

Revision ID: 0008_giving_journey
Revises: 0007_money_core
Create Date: 2026-11-29 17:00:00

Existing messages were written for no wall, so they start as pending like every new one.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_giving_journey'
down_revision = '0007_money_core'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preset_ladders', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('default_frequency', sa.String(length=10), nullable=False, server_default='one-time'))
        batch_op.add_column(sa.Column('photo_key', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('photo_widths', sa.String(length=80), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('photo_ratio_milli', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('donation_intents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('show_amount', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('message_status', sa.String(length=10), nullable=False, server_default='pending'))


def downgrade():
    with op.batch_alter_table('donation_intents', schema=None) as batch_op:
        batch_op.drop_column('message_status')
        batch_op.drop_column('show_amount')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('photo_ratio_milli')
        batch_op.drop_column('photo_widths')
        batch_op.drop_column('photo_key')
        batch_op.drop_column('default_frequency')
        batch_op.drop_column('preset_ladders')
