"""sessions the parties can read (end, link, note, phone mode, reminder) and records rendered
after the commit (context kept until rendered)

Revision ID: 0004_journeya
Revises: 0004_trusta
Create Date: 2026-12-07 00:10:00

"""

from alembic import op
import sqlalchemy as sa

import odr.types


revision = "0004_journeya"
down_revision = "0004_trusta"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE mediation_session SET mode = 'in_person' WHERE mode = 'on_site'")
    with op.batch_alter_table("mediation_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ends_at", odr.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("link", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("note", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("reminded_at", odr.types.UTCDateTime(), nullable=True))
        batch_op.create_check_constraint(
            "mode_known", "mode IN ('online', 'in_person', 'phone')"
        )
        batch_op.create_check_constraint(
            "ends_after_start", "ends_at IS NULL OR ends_at > starts_at"
        )
        batch_op.create_index(
            "ix_mediation_session_remind", ["reminded_at", "starts_at"], unique=False
        )
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("context", sa.JSON(none_as_null=True), nullable=True))
        batch_op.alter_column("sha256", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("path", existing_type=sa.String(length=200), nullable=True)
        batch_op.alter_column("size", existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint(
            "rendered_together",
            "(sha256 IS NULL) = (path IS NULL) AND (sha256 IS NULL) = (size IS NULL)",
        )
        batch_op.create_index(
            "ix_record_pending",
            ["id"],
            unique=False,
            postgresql_where=sa.text("context IS NOT NULL"),
            sqlite_where=sa.text("context IS NOT NULL"),
        )


def downgrade():
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_index("ix_record_pending")
        batch_op.drop_constraint("rendered_together", type_="check")
        batch_op.alter_column("size", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("path", existing_type=sa.String(length=200), nullable=False)
        batch_op.alter_column("sha256", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("context")
    with op.batch_alter_table("mediation_session", schema=None) as batch_op:
        batch_op.drop_index("ix_mediation_session_remind")
        batch_op.drop_constraint("ends_after_start", type_="check")
        batch_op.drop_constraint("mode_known", type_="check")
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("note")
        batch_op.drop_column("link")
        batch_op.drop_column("ends_at")
    op.execute("UPDATE mediation_session SET mode = 'on_site' WHERE mode = 'in_person'")
