"""Staff sign-in guards: failed attempts and lockouts per account, the enrolling TOTP secret

Revision ID: 0005_staff_sign_in_guards
Revises: 0004_login_sessions
Create Date: 2026-11-29 17:00:00

Failed staff passwords and codes were counted in the session cookie (replayable); the
secret being enrolled travelled in the cookie too. Both now live on the account.
"""
from alembic import op
import sqlalchemy as sa

import fundraiser.models.base


# revision identifiers, used by Alembic.
revision = '0005_staff_sign_in_guards'
down_revision = '0004_login_sessions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('supporters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('failed_sign_ins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('sign_in_locked_until', fundraiser.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('supporters', schema=None) as batch_op:
        batch_op.drop_column('sign_in_locked_until')
        batch_op.drop_column('failed_sign_ins')
        batch_op.drop_column('pending_totp_secret')
