"""whole seconds: SQLite datetimes written by the batch moves get their ".000000"

The sweep's and the joint moves' statements left datetimes to sqlite3, which writes a whole
second as "2026-10-27 15:59:59" where the ORM writes "2026-10-27 15:59:59.000000"; compared
as text the shorter sorts first, so such a deadline had passed at its own last second. The
statements now write the ORM's form; this gives the rows written before it the same form.
Nothing to do on PostgreSQL, whose timestamps are not text.

Revision ID: 0006_whole_seconds
Revises: 0005_alerts_apart
Create Date: 2026-12-07 07:30:00

"""

import sqlalchemy as sa
from alembic import op


revision = "0006_whole_seconds"
down_revision = "0005_alerts_apart"
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    inspector = sa.inspect(bind)
    for table in inspector.get_table_names():
        for column in inspector.get_columns(table):
            if str(column["type"]).upper() != "DATETIME":
                continue
            name = f'"{column["name"]}"'
            op.execute(
                f'UPDATE "{table}" SET {name} = {name} || \'.000000\' '
                f"WHERE length({name}) = 19"
            )


def downgrade():
    pass  # the longer form is the one every other row has
