"""alerts apart: the dashboard's snapshot no longer holds every early warning

The dashboard's statistics snapshot now carries its first early warnings of each kind and
their count; all of them are stored in a snapshot row of their own ("alerts"). A snapshot
stored in the old shape is dropped, so the next reader (or the worker) computes both.

Revision ID: 0005_alerts_apart
Revises: 0004_journeyb
Create Date: 2026-12-07 06:45:00

"""

from alembic import op


revision = "0005_alerts_apart"
down_revision = "0004_journeyb"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DELETE FROM stats_snapshot WHERE key = 'dashboard'")


def downgrade():
    op.execute("DELETE FROM stats_snapshot WHERE key IN ('dashboard', 'alerts')")
