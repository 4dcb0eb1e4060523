"""Staff desk: campaign open/close dates, staff notes on supporters, and an index of
payments by time with their donor (the overview's "people who gave" without a ledger scan)

Revision ID: 0009_staff_desk
Revises: 0008_giving_journey
Create Date: 2026-11-29 17:00:00
"""
from alembic import op
import sqlalchemy as sa

import fundraiser.models.base


# revision identifiers, used by Alembic.
revision = '0009_staff_desk'
down_revision = '0008_giving_journey'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opens_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('closes_on', sa.Date(), nullable=True))
    op.create_table(
        'staff_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('created_at', fundraiser.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['author_id'], ['supporters.id'],
            name=op.f('fk_staff_notes_author_id_supporters'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_notes')),
    )
    with op.batch_alter_table('staff_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_notes_email'), ['email'], unique=False)
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index(
            'ix_ledger_payment_donors', ['occurred_at'], unique=False,
            postgresql_include=['currency', 'donor_email', 'payment_ref'],
            postgresql_where=sa.text("kind = 'payment'"),
            sqlite_where=sa.text("kind = 'payment'"),
        )


def downgrade():
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_payment_donors')
    with op.batch_alter_table('staff_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_notes_email'))
    op.drop_table('staff_notes')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('closes_on')
        batch_op.drop_column('opens_on')
