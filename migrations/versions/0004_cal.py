"""calendar: the calendar version of each running clock, and days loaded from a schedule

Revision ID: 0004_cal
Revises: 0004_journeya
Create Date: 2026-12-07 00:30:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0004_cal"
down_revision = "0004_journeya"
branch_labels = None
depends_on = None


def upgrade():
    # Running clocks start with no version: the next sweep computes them again from their
    # start and pauses and records the calendar they follow.
    with op.batch_alter_table("complaint") as batch:
        batch.add_column(sa.Column("calendar_version", sa.String(length=16), nullable=True))
        batch.create_index("ix_complaint_calendar", ["state", "calendar_version"], unique=False)
    with op.batch_alter_table("calendar_override") as batch:
        batch.add_column(
            sa.Column("from_schedule", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # Days stored before this revision came from loaded schedules or edits: count them as
    # loaded, so that the console does not ask again for a year already loaded.
    op.execute("UPDATE calendar_override SET from_schedule = true")


def downgrade():
    with op.batch_alter_table("calendar_override") as batch:
        batch.drop_column("from_schedule")
    with op.batch_alter_table("complaint") as batch:
        batch.drop_index("ix_complaint_calendar")
        batch.drop_column("calendar_version")
