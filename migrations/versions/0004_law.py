"""complaint platform: the platform a seller trades on and whether its published address
can be used (Order 121 jurisdiction for platform sellers)

Revision ID: 0004_law
Revises: 0004_outbox_notice
Create Date: 2026-12-06 23:59:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0004_law"
down_revision = "0004_outbox_notice"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("complaint") as batch:
        batch.add_column(sa.Column("platform_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("platform_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("platform_region_code", sa.String(length=12), nullable=True))
        batch.add_column(
            sa.Column(
                "seller_address_usable",
                sa.Boolean(),
                nullable=False,
                server_default=sa.true(),
            )
        )
        batch.create_foreign_key(
            batch.f("fk_complaint_platform_id_enterprise"), "enterprise", ["platform_id"], ["id"]
        )
        batch.create_foreign_key(
            batch.f("fk_complaint_platform_region_code_region"),
            "region",
            ["platform_region_code"],
            ["code"],
        )
    with op.batch_alter_table("complaint") as batch:
        batch.alter_column("seller_address_usable", server_default=None)


def downgrade():
    with op.batch_alter_table("complaint") as batch:
        batch.drop_constraint(batch.f("fk_complaint_platform_region_code_region"), type_="foreignkey")
        batch.drop_constraint(batch.f("fk_complaint_platform_id_enterprise"), type_="foreignkey")
        batch.drop_column("seller_address_usable")
        batch.drop_column("platform_region_code")
        batch.drop_column("platform_name")
        batch.drop_column("platform_id")
