"""outbox.notice: notification e-mails are written when they are sent, not when queued

Revision ID: 0004_outbox_notice
Revises: 0003
Create Date: 2026-12-06 23:59:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0004_outbox_notice"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("notice", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("notice")
