"""joint complaints: the group, its members, and the member case's `gathering` state

Revision ID: 0004_joint
Revises: 0004_cal
Create Date: 2026-12-07 09:00:00

"""

from alembic import op
import sqlalchemy as sa

import odr.types


revision = "0004_joint"
down_revision = "0004_cal"
branch_labels = None
depends_on = None

OLD_STATES = (
    "negotiating",
    "pending_acceptance",
    "mediating",
    "suspended",
    "settled",
    "mediated",
    "refused",
    "terminated",
    "withdrawn",
)
NEW_STATES = ("gathering", *OLD_STATES)
ISSUES = (
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
)


def _state_type(states):
    return sa.Enum(
        *states, name="state", native_enum=False, create_constraint=True, length=32
    )


def _states_check(states):
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_complaint_state"), type_="check")
        batch_op.create_check_constraint(
            "state", sa.column("state").in_(states)
        )


def upgrade():
    op.create_table(
        "joint_complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column(
            "issue",
            sa.Enum(*ISSUES, name="issue", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column(
            "subject_kind",
            sa.Enum(
                "goods",
                "service",
                name="subject_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("green_channel", sa.Boolean(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "gathering",
                "submitted",
                "dissolved",
                name="joint_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", odr.types.UTCDateTime(), nullable=False),
        sa.Column("submitted_at", odr.types.UTCDateTime(), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("mediator_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_joint_complaint_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_joint_complaint_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["mediator_id"], ["user.id"], name=op.f("fk_joint_complaint_mediator_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"], ["user.id"], name=op.f("fk_joint_complaint_submitted_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_joint_complaint")),
        sa.UniqueConstraint("reference", name=op.f("uq_joint_complaint_reference")),
    )
    with op.batch_alter_table("joint_complaint", schema=None) as batch_op:
        batch_op.create_index(
            "ix_joint_complaint_enterprise_state", ["enterprise_id", "state", "id"], unique=False
        )

    op.create_table(
        "joint_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("joint_id", sa.Integer(), nullable=False),
        sa.Column("consumer_id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("representative", sa.Boolean(), nullable=False),
        sa.Column("joined_at", odr.types.UTCDateTime(), nullable=False),
        sa.Column("left_at", odr.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_joint_member_complaint_id_complaint"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["consumer_id"], ["user.id"], name=op.f("fk_joint_member_consumer_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["joint_id"],
            ["joint_complaint.id"],
            name=op.f("fk_joint_member_joint_id_joint_complaint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_joint_member")),
        sa.UniqueConstraint("complaint_id", name=op.f("uq_joint_member_complaint_id")),
        sa.UniqueConstraint("joint_id", "consumer_id", name="one_joint_membership"),
    )
    with op.batch_alter_table("joint_member", schema=None) as batch_op:
        batch_op.create_index("ix_joint_member_consumer", ["consumer_id", "joint_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_joint_member_joint_id"), ["joint_id"], unique=False)

    _states_check(NEW_STATES)


def downgrade():
    op.execute("DELETE FROM complaint WHERE state = 'gathering'")
    _states_check(OLD_STATES)
    with op.batch_alter_table("joint_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_joint_member_joint_id"))
        batch_op.drop_index("ix_joint_member_consumer")
    op.drop_table("joint_member")
    with op.batch_alter_table("joint_complaint", schema=None) as batch_op:
        batch_op.drop_index("ix_joint_complaint_enterprise_state")
    op.drop_table("joint_complaint")
