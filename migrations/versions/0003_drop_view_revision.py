"""drop view_revision: pages are no longer kept rendered, so no scope revisions are counted

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 20:56:23

"""

from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table("view_revision")


def downgrade():
    op.create_table(
        "view_revision",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("rev", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_view_revision")),
    )
