"""Staff intake: consumer service stations, and the consultations hotline seats and
stations answer. Complaints they file are ordinary cases (Complaint.channel, taken_by)."""

from datetime import datetime

import sqlalchemy as sa
from flask_babel import get_locale
from sqlalchemy.orm import Mapped, mapped_column, relationship

from odr.disputes.choices import Channel, Issue
from odr.extensions import db
from odr.types import UTCDateTime, str_enum, utcnow


class ServiceStation(db.Model):
    """A consumer service station (维权服务站) in a market, mall, village or enterprise,
    registered by the regulator under an office."""

    __tablename__ = "service_station"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str | None] = mapped_column(sa.String(200))
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("mediation_body.id"), index=True)
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("region.code"))
    address: Mapped[str] = mapped_column(sa.String(300))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    office = relationship("MediationBody")
    region = relationship("Region")

    def display_name(self) -> str:
        if self.name_en and str(get_locale()) == "en":
            return self.name_en
        return self.name


class Consultation(db.Model):
    """A question a caller or visitor asked and the answer they were given (咨询)."""

    __tablename__ = "consultation"
    __table_args__ = (
        sa.Index("ix_consultation_taken_by", "taken_by_id", "id"),
        sa.Index("ix_consultation_intake_body", "intake_body_id", "id"),
        sa.Index("ix_consultation_intake_station", "intake_station_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    caller_name: Mapped[str] = mapped_column(sa.String(100))
    caller_phone: Mapped[str | None] = mapped_column(sa.String(32))
    caller_address: Mapped[str | None] = mapped_column(sa.String(300))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "consultation_channel"))
    topic: Mapped[Issue] = mapped_column(str_enum(Issue, "consultation_topic"))
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprise.id"))
    question: Mapped[str] = mapped_column(sa.Text)
    answer: Mapped[str] = mapped_column(sa.Text)
    taken_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    # The office whose seats hold the record now, and the station that took it.
    intake_body_id: Mapped[int] = mapped_column(sa.ForeignKey("mediation_body.id"))
    intake_station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_station.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    taken_by = relationship("User")
    intake_body = relationship("MediationBody")
    station = relationship("ServiceStation")
    enterprise = relationship("Enterprise")
    transfers = relationship(
        "IntakeTransfer", order_by="IntakeTransfer.id", back_populates="consultation"
    )


class IntakeTransfer(db.Model):
    """A consultation passed to another office's seats (a complaint's transfer is an event
    on its timeline)."""

    __tablename__ = "intake_transfer"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("consultation.id", ondelete="CASCADE"), index=True
    )
    from_body_id: Mapped[int] = mapped_column(sa.ForeignKey("mediation_body.id"))
    to_body_id: Mapped[int] = mapped_column(sa.ForeignKey("mediation_body.id"))
    by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    note: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    consultation = relationship("Consultation", back_populates="transfers")
    from_body = relationship("MediationBody", foreign_keys=[from_body_id])
    to_body = relationship("MediationBody", foreign_keys=[to_body_id])
    by = relationship("User")
