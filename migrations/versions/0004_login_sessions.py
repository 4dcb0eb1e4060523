"""Sign-in sessions kept on the server: login_sessions

Revision ID: 0004_login_sessions
Revises: 0003_queued_stripe_events
Create Date: 2026-11-29 17:00:00

Sessions signed in before this revision have no row, so everyone signs in once more.
"""
from alembic import op
import sqlalchemy as sa

import fundraiser.models.base


# revision identifiers, used by Alembic.
revision = '0004_login_sessions'
down_revision = '0003_queued_stripe_events'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('supporter_id', sa.Integer(), nullable=False),
        sa.Column('created_at', fundraiser.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', fundraiser.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', fundraiser.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['supporter_id'], ['supporters.id'], name=op.f('fk_login_sessions_supporter_id_supporters'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_sessions')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_login_sessions_key_hash')),
    )
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_sessions_supporter_id'), ['supporter_id'], unique=False)


def downgrade():
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_sessions_supporter_id'))
    op.drop_table('login_sessions')
