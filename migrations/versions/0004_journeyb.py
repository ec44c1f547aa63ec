"""journeyb: structured counter-offers and offer expiry, the performance question's moment,
an enterprise's English name and the pinyin its search matches

Revision ID: 0004_journeyb
Revises: 0004_intake
Create Date: 2026-12-07 00:20:00

"""

from alembic import op
import sqlalchemy as sa

from odr.types import UTCDateTime


revision = "0004_journeyb"
down_revision = "0004_intake"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("offer") as batch:
        batch.add_column(sa.Column("counter_remedy", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("counter_amount", sa.Numeric(14, 2), nullable=True))
        batch.add_column(sa.Column("expires_on", sa.Date(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_offer_counter_amount_not_negative"), "counter_amount >= 0"
        )
    with op.batch_alter_table("complaint") as batch:
        batch.add_column(sa.Column("performance_reminder_at", UTCDateTime(), nullable=True))
    op.create_index(
        "ix_complaint_performance_reminder",
        "complaint",
        ["performance_reminder_at"],
        postgresql_where=sa.text("performance_reminder_at IS NOT NULL"),
        sqlite_where=sa.text("performance_reminder_at IS NOT NULL"),
    )
    with op.batch_alter_table("enterprise") as batch:
        batch.add_column(sa.Column("name_en", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("name_pinyin", sa.String(length=1000), nullable=True))
    # The pinyin of the enterprises already listed (new ones get it when named).
    from odr.disputes.models.organisation import pinyin_key

    conn = op.get_bind()
    enterprise = sa.table(
        "enterprise", sa.column("id", sa.Integer), sa.column("name"), sa.column("name_pinyin")
    )
    rows = conn.execute(sa.select(enterprise.c.id, enterprise.c.name)).all()
    for row in rows:
        conn.execute(
            enterprise.update()
            .where(enterprise.c.id == row.id)
            .values(name_pinyin=pinyin_key(row.name))
        )


def downgrade():
    with op.batch_alter_table("enterprise") as batch:
        batch.drop_column("name_pinyin")
        batch.drop_column("name_en")
    op.drop_index("ix_complaint_performance_reminder", table_name="complaint")
    with op.batch_alter_table("complaint") as batch:
        batch.drop_column("performance_reminder_at")
    with op.batch_alter_table("offer") as batch:
        batch.drop_constraint(op.f("ck_offer_counter_amount_not_negative"), type_="check")
        batch.drop_column("expires_on")
        batch.drop_column("counter_amount")
        batch.drop_column("counter_remedy")
