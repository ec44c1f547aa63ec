"""view_revision: the revisions of the scopes rendered pages are kept by (odr/viewcache.py)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 21:30:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "view_revision",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("rev", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_view_revision")),
    )


def downgrade():
    op.drop_table("view_revision")
