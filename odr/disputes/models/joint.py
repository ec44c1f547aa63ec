"""A joint complaint (共同投诉, Order 20 Art. 11): consumers with the same dispute against one
enterprise, handled together with their consent. Each member keeps a case of their own (a
Complaint); the group holds what they share: the enterprise, the issue, the story, up to two
elected representatives, one deadline and one mediator."""

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from odr.disputes.choices import Issue, SubjectKind
from odr.extensions import db
from odr.types import UTCDateTime, str_enum, utcnow

# At most two representatives (Order 20 Art. 11).
MAX_REPRESENTATIVES = 2
# "Two or more complainants" (Order 20 Art. 11).
MIN_MEMBERS = 2


class JointState(enum.StrEnum):
    GATHERING = "gathering"  # members join and leave; nothing is sent yet
    SUBMITTED = "submitted"  # every member's case went to the enterprise (or the body)
    DISSOLVED = "dissolved"  # every member left before submission

    @property
    def label(self):
        return JOINT_STATE_LABELS[self]


JOINT_STATE_LABELS = {
    JointState.GATHERING: _l("Gathering members"),
    JointState.SUBMITTED: _l("Submitted"),
    JointState.DISSOLVED: _l("Dissolved"),
}


class JointComplaint(db.Model):
    __tablename__ = "joint_complaint"
    __table_args__ = (
        sa.Index("ix_joint_complaint_enterprise_state", "enterprise_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(32), unique=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprise.id"))
    issue: Mapped[Issue] = mapped_column(str_enum(Issue, "issue"))
    subject_kind: Mapped[SubjectKind] = mapped_column(str_enum(SubjectKind, "subject_kind"))
    subject: Mapped[str] = mapped_column(sa.String(200))
    facts: Mapped[str] = mapped_column(sa.Text)
    green_channel: Mapped[bool] = mapped_column(default=True)
    state: Mapped[JointState] = mapped_column(
        str_enum(JointState, "joint_state"), default=JointState.GATHERING
    )
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    # The one mediator of the group once a body accepts its cases.
    mediator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    enterprise = relationship("Enterprise")
    members = relationship(
        "JointMember", back_populates="joint", order_by="JointMember.id", lazy="raise_on_sql"
    )


class JointMember(db.Model):
    """One consumer in a group, with their own case once they have given their claim."""

    __tablename__ = "joint_member"
    __table_args__ = (
        sa.UniqueConstraint("joint_id", "consumer_id", name="one_joint_membership"),
        sa.Index("ix_joint_member_consumer", "consumer_id", "joint_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    joint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("joint_complaint.id", ondelete="CASCADE"), index=True
    )
    consumer_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    complaint_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("complaint.id", ondelete="SET NULL"), unique=True
    )
    representative: Mapped[bool] = mapped_column(default=False)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    joint = relationship("JointComplaint", back_populates="members")
    consumer = relationship("User")
    complaint = relationship("Complaint")

    @property
    def active(self) -> bool:
        return self.left_at is None
