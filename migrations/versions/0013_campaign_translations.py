"""Languages: a campaign's article in other languages, and the reader's language remembered

Revision ID: 0013_campaign_translations
Revises: 0012_quarter_channels
Create Date: 2026-11-29 20:30:00

- campaign_translations: one article (title, body, appeal, caption) per campaign and language.
- supporters.language: the language of their mails, receipts and statements (NULL: English).
- donation_intents.language: the page the gift was made on (Checkout's locale, the receipt's).
Existing rows keep NULL, which means English, as every page was until now.
"""
from alembic import op
import sqlalchemy as sa

import fundraiser.models.base

# revision identifiers, used by Alembic.
revision = '0013_campaign_translations'
down_revision = '0012_quarter_channels'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'campaign_translations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('body_markdown', sa.Text(), nullable=False),
        sa.Column('appeal_markdown', sa.Text(), nullable=False),
        sa.Column('photo_caption', sa.Text(), nullable=False),
        sa.Column('created_at', fundraiser.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', fundraiser.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_translations_campaign_id_campaigns'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_translations')),
        sa.UniqueConstraint('campaign_id', 'language', name='uq_campaign_translations_language'),
    )
    with op.batch_alter_table('supporters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
    with op.batch_alter_table('donation_intents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('donation_intents', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('supporters', schema=None) as batch_op:
        batch_op.drop_column('language')
    op.drop_table('campaign_translations')
