"""staff intake: service stations, consultations, the channel and intake columns of a case,
intake staff and callers among the users

Revision ID: 0004_intake
Revises: 0004_trustb
Create Date: 2026-12-07 00:30:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0004_intake"
down_revision = "0004_trustb"
branch_labels = None
depends_on = None

ROLES_BEFORE = "'consumer', 'enterprise', 'mediator', 'admin'"
ROLES_AFTER = "'consumer', 'enterprise', 'mediator', 'admin', 'intake'"
CHANNELS = "'online', 'phone', 'walk_in', 'letter'"
ISSUES = (
    "'quality', 'after_sales', 'contract', 'food_safety', 'false_advertising', 'price', "
    "'counterfeit', 'personal_data', 'prepaid_card', 'other'"
)
INTAKE_HAS_OFFICE = "(role = 'intake') = (intake_body_id IS NOT NULL)"
EMAIL_OR_CALLER = "email IS NOT NULL OR role = 'consumer'"


def _only(predicate):
    return {"postgresql_where": sa.text(predicate), "sqlite_where": sa.text(predicate)}


def upgrade():
    op.create_table(
        "service_station",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["mediation_body.id"],
            name=op.f("fk_service_station_office_id_mediation_body"),
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_service_station_region_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_station")),
    )
    op.create_index(
        op.f("ix_service_station_office_id"), "service_station", ["office_id"], unique=False
    )

    # The user table: new columns, intake among the roles, a caller without an e-mail.
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("user", recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("sms_notices", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("claim_pending", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    _add_reference("user", "intake_body_id", "mediation_body")
    _add_reference("user", "station_id", "service_station")
    if dialect == "sqlite":
        _sqlite_user_schema()
    else:
        op.alter_column("user", "email", existing_type=sa.String(length=254), nullable=True)
        op.drop_constraint(op.f("ck_user_user_role"), "user", type_="check")
        op.create_check_constraint("user_role", "user", f"role IN ({ROLES_AFTER})")
        op.create_check_constraint("intake_has_office", "user", INTAKE_HAS_OFFICE)
        op.create_check_constraint("email_or_caller", "user", EMAIL_OR_CALLER)

    # The case: its channel and who took it.
    op.add_column(
        "complaint",
        sa.Column(
            "channel",
            sa.String(length=32),
            sa.CheckConstraint(f"channel IN ({CHANNELS})", name=op.f("ck_complaint_channel")),
            server_default="online",
            nullable=False,
        ),
    )
    _add_reference("complaint", "taken_by_id", "user")
    _add_reference("complaint", "intake_body_id", "mediation_body")
    _add_reference("complaint", "intake_station_id", "service_station")
    op.add_column("complaint", sa.Column("intake_note", sa.Text(), nullable=True))
    op.create_index(
        "ix_complaint_taken_by",
        "complaint",
        ["taken_by_id", "id"],
        unique=False,
        **_only("taken_by_id IS NOT NULL"),
    )
    op.create_index(
        "ix_complaint_intake_body",
        "complaint",
        ["intake_body_id", "id"],
        unique=False,
        **_only("intake_body_id IS NOT NULL"),
    )
    op.create_index(
        "ix_complaint_intake_station",
        "complaint",
        ["intake_station_id", "id"],
        unique=False,
        **_only("intake_station_id IS NOT NULL"),
    )

    op.create_table(
        "consultation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("caller_name", sa.String(length=100), nullable=False),
        sa.Column("caller_phone", sa.String(length=32), nullable=True),
        sa.Column("caller_address", sa.String(length=300), nullable=True),
        sa.Column(
            "channel",
            sa.Enum(
                "online",
                "phone",
                "walk_in",
                "letter",
                name="consultation_channel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "topic",
            sa.Enum(
                "quality",
                "after_sales",
                "contract",
                "food_safety",
                "false_advertising",
                "price",
                "counterfeit",
                "personal_data",
                "prepaid_card",
                "other",
                name="consultation_topic",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("taken_by_id", sa.Integer(), nullable=False),
        sa.Column("intake_body_id", sa.Integer(), nullable=False),
        sa.Column("intake_station_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_consultation_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["intake_body_id"],
            ["mediation_body.id"],
            name=op.f("fk_consultation_intake_body_id_mediation_body"),
        ),
        sa.ForeignKeyConstraint(
            ["intake_station_id"],
            ["service_station.id"],
            name=op.f("fk_consultation_intake_station_id_service_station"),
        ),
        sa.ForeignKeyConstraint(
            ["taken_by_id"], ["user.id"], name=op.f("fk_consultation_taken_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation")),
    )
    op.create_index("ix_consultation_taken_by", "consultation", ["taken_by_id", "id"], unique=False)
    op.create_index(
        "ix_consultation_intake_body", "consultation", ["intake_body_id", "id"], unique=False
    )
    op.create_index(
        "ix_consultation_intake_station", "consultation", ["intake_station_id", "id"], unique=False
    )
    op.create_table(
        "intake_transfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("from_body_id", sa.Integer(), nullable=False),
        sa.Column("to_body_id", sa.Integer(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["user.id"], name=op.f("fk_intake_transfer_by_id_user")),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_intake_transfer_consultation_id_consultation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_body_id"],
            ["mediation_body.id"],
            name=op.f("fk_intake_transfer_from_body_id_mediation_body"),
        ),
        sa.ForeignKeyConstraint(
            ["to_body_id"],
            ["mediation_body.id"],
            name=op.f("fk_intake_transfer_to_body_id_mediation_body"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_transfer")),
    )
    op.create_index(
        op.f("ix_intake_transfer_consultation_id"),
        "intake_transfer",
        ["consultation_id"],
        unique=False,
    )


def _add_reference(table: str, column: str, target: str) -> None:
    """A nullable foreign-key column; SQLite takes the reference only inside ADD COLUMN."""
    name = f"fk_{table}_{column}_{target}"
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f'ALTER TABLE "{table}" ADD COLUMN {column} INTEGER'
            f' CONSTRAINT {name} REFERENCES "{target}" (id)'
        )
        return
    op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
    op.create_foreign_key(name, table, target, [column], ["id"])


def _sqlite_user_schema():
    """SQLite cannot change a table's constraints in place, and recreating the user table
    (what batch mode would do) needs foreign keys off, which cannot be switched inside the
    migration's transaction. Widening a CHECK, adding one every row meets and dropping a
    NOT NULL change nothing on disk: the documented way is to edit the stored schema
    (sqlite.org/lang_altertable.html, "making other kinds of table schema changes")."""
    conn = op.get_bind()
    sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'user'"
    ).scalar()
    new = sql.replace(f"role IN ({ROLES_BEFORE})", f"role IN ({ROLES_AFTER})")
    new = new.replace("email VARCHAR(254) NOT NULL", "email VARCHAR(254)")
    head, _sep, tail = new.rpartition(")")
    new = (
        f"{head}, CONSTRAINT ck_user_intake_has_office CHECK ({INTAKE_HAS_OFFICE}),"
        f" CONSTRAINT ck_user_email_or_caller CHECK ({EMAIL_OR_CALLER})){tail}"
    )
    if ROLES_AFTER not in new or "email VARCHAR(254) NOT NULL" in new:
        raise RuntimeError("the user table's schema is not the one this migration expects")
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'user'"),
        {"sql": new},
    )
    conn.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def downgrade():
    op.drop_index(op.f("ix_intake_transfer_consultation_id"), table_name="intake_transfer")
    op.drop_table("intake_transfer")
    op.drop_index("ix_consultation_intake_station", table_name="consultation")
    op.drop_index("ix_consultation_intake_body", table_name="consultation")
    op.drop_index("ix_consultation_taken_by", table_name="consultation")
    op.drop_table("consultation")
    op.drop_index("ix_complaint_intake_station", table_name="complaint")
    op.drop_index("ix_complaint_intake_body", table_name="complaint")
    op.drop_index("ix_complaint_taken_by", table_name="complaint")
    # On SQLite both tables are recreated without the new columns (which needs their rows
    # not to be referenced by others while it runs: a downgrade is for an empty database).
    with op.batch_alter_table("complaint") as batch_op:
        batch_op.drop_constraint(op.f("ck_complaint_channel"), type_="check")
        for name in ("intake_note", "intake_station_id", "intake_body_id", "taken_by_id"):
            batch_op.drop_column(name)
        batch_op.drop_column("channel")
    with op.batch_alter_table("user") as batch_op:
        batch_op.drop_constraint(op.f("ck_user_email_or_caller"), type_="check")
        batch_op.drop_constraint(op.f("ck_user_intake_has_office"), type_="check")
        batch_op.drop_constraint(op.f("ck_user_user_role"), type_="check")
        batch_op.create_check_constraint("user_role", f"role IN ({ROLES_BEFORE})")
        batch_op.alter_column("email", existing_type=sa.String(length=254), nullable=False)
        for name in ("station_id", "intake_body_id", "claim_pending", "sms_notices"):
            batch_op.drop_column(name)
    op.drop_index(op.f("ix_service_station_office_id"), table_name="service_station")
    op.drop_table("service_station")
