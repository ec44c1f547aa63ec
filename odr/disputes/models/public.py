"""What the regulator publishes and the platform's other request types."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from odr.extensions import db
from odr.types import UTCDateTime, str_enum, utcnow


class ConsumerWarning(db.Model):
    """A consumer warning (消费提示) written and published by the regulator."""

    __tablename__ = "consumer_warning"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class RequestKind(enum.StrEnum):
    CONSULTATION = "consultation"
    REPORT = "report"
    SUGGESTION = "suggestion"


class ServiceRequest(db.Model):
    """A consultation, a report of illegal conduct (举报) or a suggestion."""

    __tablename__ = "service_request"
    __table_args__ = (sa.Index("ix_service_request_kind_state", "kind", "state", "deadline_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RequestKind] = mapped_column(str_enum(RequestKind, "request_kind"))
    reference: Mapped[str] = mapped_column(sa.String(32), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str | None] = mapped_column(sa.ForeignKey("region.code"))
    body_id: Mapped[int | None] = mapped_column(sa.ForeignKey("mediation_body.id"), index=True)
    subject: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[str] = mapped_column(sa.Text)
    real_name: Mapped[bool] = mapped_column(default=True)
    state: Mapped[str] = mapped_column(sa.String(16), default="open")
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extended: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str | None] = mapped_column(sa.String(32))
    answer: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A reported party that is not listed on the portal (reports only).
    respondent_name: Mapped[str | None] = mapped_column(sa.String(200))
    extension_reason: Mapped[str | None] = mapped_column(sa.Text)
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    user = relationship("User", foreign_keys=[user_id])
    handled_by = relationship("User", foreign_keys=[handled_by_id])
    enterprise = relationship("Enterprise")
    body = relationship("MediationBody")


class StatsSnapshot(db.Model):
    """The regulator's dashboard and the enterprise figures as last computed, shared by every
    app server: pages read it, `flask odr refresh-stats` (or a stale read) recomputes it."""

    __tablename__ = "stats_snapshot"

    key: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
