"""The case and everything that hangs off it."""

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from odr.disputes.choices import (
    AgreementStatus,
    Channel,
    Issue,
    OfferStatus,
    PerformanceStatus,
    RecordKind,
    Remedy,
    SubjectKind,
)
from odr.disputes.states import RefusalReason, State, TerminationReason
from odr.extensions import db
from odr.types import EnumString, Money, UTCDateTime, str_enum, utcnow

RULE_VERSION = "2026.1"


def _only(predicate: str) -> dict:
    """A partial index's predicate, the same on both databases. A partial index gets no
    entry for a row outside it: the sweep's escalation (which changes the state and the
    deadline, so PostgreSQL writes a new entry in every index of the row) skips the
    indexes of closed, raised and assigned cases. Only `<column> IS NOT NULL` predicates:
    both planners prove them from any comparison on the column, bound parameters
    included (a predicate on a state would need the state written as a literal)."""
    return {"postgresql_where": sa.text(predicate), "sqlite_where": sa.text(predicate)}


class Complaint(db.Model):
    __tablename__ = "complaint"
    __table_args__ = (
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        sa.CheckConstraint("claimed_amount >= 0", name="claimed_not_negative"),
        sa.CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating_range"),
        sa.CheckConstraint(
            "enterprise_id IS NOT NULL OR respondent_name IS NOT NULL", name="has_respondent"
        ),
        sa.Index("ix_complaint_state_deadline", "state", "deadline_at"),
        sa.Index("ix_complaint_enterprise_state", "enterprise_id", "state", "deadline_at", "id"),
        sa.Index("ix_complaint_body_state", "body_id", "state", "deadline_at", "id"),
        sa.Index("ix_complaint_consumer", "consumer_id", "id"),
        # With deadline_at in it, SQLite takes this index for the sweep's reminder pass
        # instead of (state, deadline_at), which read every open case (1.9 s at 1M open).
        sa.Index("ix_complaint_reminder", "state", "reminder_at", "deadline_at"),
        # Analytics (odr/disputes/stats.py): filings by week and category, closing dates.
        sa.Index("ix_complaint_filed", "filed_at", "enterprise_id", "issue"),
        sa.Index("ix_complaint_issue", "issue", "filed_at"),
        sa.Index("ix_complaint_closed", "closed_at", **_only("closed_at IS NOT NULL")),
        # Speed at scale (bench/, docs/PERFORMANCE.md): an enterprise's cases newest first
        # (API list), cases raised to a parent office, and a body's open cases per mediator.
        sa.Index("ix_complaint_enterprise_id", "enterprise_id", "id"),
        sa.Index("ix_complaint_body_id", "body_id", "id"),  # a mediator's API list
        sa.Index(
            "ix_complaint_raised",
            "raised_to_body_id",
            "state",
            "deadline_at",
            "id",
            **_only("raised_to_body_id IS NOT NULL"),
        ),
        sa.Index(
            "ix_complaint_body_mediator",
            "body_id",
            "state",
            "mediator_id",
            **_only("mediator_id IS NOT NULL"),
        ),
        # The sweep's overdue-acceptance pass: only the cases not flagged yet.
        sa.Index("ix_complaint_overdue", "state", "overdue_flagged", "deadline_at"),
        # The sweep's performance question: only the agreed cases not asked yet.
        sa.Index(
            "ix_complaint_performance_reminder",
            "performance_reminder_at",
            **_only("performance_reminder_at IS NOT NULL"),
        ),
        # The sweep's look for clocks computed under another calendar (odr/disputes/clocks.py):
        # a closed case has none, so each of its three range scans finds only stale ones.
        sa.Index("ix_complaint_calendar", "state", "calendar_version"),
        # Staff intake (permissions.visible_arms): what a seat filed, what an office's seats
        # or a station hold; only the few cases taken by staff are in these indexes.
        sa.Index("ix_complaint_taken_by", "taken_by_id", "id", **_only("taken_by_id IS NOT NULL")),
        sa.Index(
            "ix_complaint_intake_body",
            "intake_body_id",
            "id",
            **_only("intake_body_id IS NOT NULL"),
        ),
        sa.Index(
            "ix_complaint_intake_station",
            "intake_station_id",
            "id",
            **_only("intake_station_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(32), unique=True)
    consumer_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    complainant_name: Mapped[str] = mapped_column(sa.String(100))
    complainant_phone: Mapped[str] = mapped_column(sa.String(32))
    complainant_address: Mapped[str] = mapped_column(sa.String(300))
    language: Mapped[str] = mapped_column(sa.String(8), default="zh_CN")

    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprise.id"))
    # A respondent that is not listed on the portal.
    respondent_name: Mapped[str | None] = mapped_column(sa.String(200))
    respondent_credit_code: Mapped[str | None] = mapped_column(sa.String(18))
    respondent_region_code: Mapped[str | None] = mapped_column(sa.ForeignKey("region.code"))
    green_channel: Mapped[bool] = mapped_column(default=True)
    # A seller trading on a platform (routing.competent_body): the platform, listed
    # (platform_id) or named with the region of its domicile, and whether the seller
    # publishes an address on it at which it can be reached (Order 121: if not, the office
    # of the platform's domicile handles the complaint).
    platform_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprise.id"))
    platform_name: Mapped[str | None] = mapped_column(sa.String(200))
    platform_region_code: Mapped[str | None] = mapped_column(sa.ForeignKey("region.code"))
    seller_address_usable: Mapped[bool] = mapped_column(default=True)

    subject_kind: Mapped[SubjectKind] = mapped_column(str_enum(SubjectKind, "subject_kind"))
    subject: Mapped[str] = mapped_column(sa.String(200))
    purchase_date: Mapped[date] = mapped_column(sa.Date)
    purchase_place: Mapped[str | None] = mapped_column(sa.String(300))
    purchase_url: Mapped[str | None] = mapped_column(sa.String(500))
    amount: Mapped[Decimal] = mapped_column(Money)
    issue: Mapped[Issue] = mapped_column(str_enum(Issue, "issue"))
    requests: Mapped[list] = mapped_column(sa.JSON, default=list)
    claimed_amount: Mapped[Decimal] = mapped_column(Money)
    facts: Mapped[str] = mapped_column(sa.Text)

    state: Mapped[State] = mapped_column(str_enum(State, "state"))
    body_id: Mapped[int | None] = mapped_column(sa.ForeignKey("mediation_body.id"))
    mediator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the 2-working-day reminder for the running clock is due; cleared once sent.
    reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Working days left on the mediation clock while suspended.
    clock_days_left: Mapped[int | None] = mapped_column()
    # The version (deadlines.Calendar.version) of the calendar the running clock (deadline_at,
    # reminder_at or clock_days_left) was computed under; None when no clock runs or when
    # it must be computed again. The sweep acts only on clocks of the calendar in force.
    calendar_version: Mapped[str | None] = mapped_column(sa.String(16))
    overdue_flagged: Mapped[bool] = mapped_column(default=False)
    raised_to_body_id: Mapped[int | None] = mapped_column(sa.ForeignKey("mediation_body.id"))
    rule_version: Mapped[str] = mapped_column(sa.String(16), default=RULE_VERSION)

    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The 10-working-day answer deadline of a green-channel case, set at filing and kept
    # after escalation: the enterprise's on-time rate is measured against it.
    answer_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refusal_reason: Mapped[RefusalReason | None] = mapped_column(
        str_enum(RefusalReason, "refusal_reason")
    )
    termination_reason: Mapped[TerminationReason | None] = mapped_column(
        str_enum(TerminationReason, "termination_reason")
    )
    outcome_note: Mapped[str | None] = mapped_column(sa.Text)

    # How the complaint came in; for one taken by a hotline seat or a service station: who
    # took it, the office whose seats hold it now, the station, and the notes of the call.
    channel: Mapped[Channel] = mapped_column(
        str_enum(Channel, "channel"), default=Channel.ONLINE, server_default="online"
    )
    taken_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    intake_body_id: Mapped[int | None] = mapped_column(sa.ForeignKey("mediation_body.id"))
    intake_station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_station.id"))
    intake_note: Mapped[str | None] = mapped_column(sa.Text)

    settled_amount: Mapped[Decimal | None] = mapped_column(Money)
    performance_due: Mapped[date | None] = mapped_column(sa.Date)
    performance_status: Mapped[PerformanceStatus | None] = mapped_column(
        str_enum(PerformanceStatus, "performance_status")
    )
    # When the parties are asked whether the agreement was carried out (the start of the
    # performance due date, Asia/Shanghai); cleared once the sweep has asked them.
    performance_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[int | None] = mapped_column()
    rating_comment: Mapped[str | None] = mapped_column(sa.Text)

    # Head of the hash chain of this case's events (tamper evidence).
    chain_head: Mapped[str | None] = mapped_column(sa.String(64))
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    consumer = relationship("User", foreign_keys=[consumer_id])
    mediator = relationship("User", foreign_keys=[mediator_id])
    assignee = relationship("User", foreign_keys=[assignee_id])
    enterprise = relationship("Enterprise", foreign_keys=[enterprise_id])
    platform = relationship("Enterprise", foreign_keys=[platform_id])
    body = relationship("MediationBody", foreign_keys=[body_id])
    raised_to_body = relationship("MediationBody", foreign_keys=[raised_to_body_id])
    respondent_region = relationship("Region", foreign_keys=[respondent_region_code])
    taken_by = relationship("User", foreign_keys=[taken_by_id])
    intake_body = relationship("MediationBody", foreign_keys=[intake_body_id])
    intake_station = relationship("ServiceStation", foreign_keys=[intake_station_id])
    events = relationship(
        "CaseEvent", back_populates="complaint", order_by="CaseEvent.id", lazy="raise_on_sql"
    )

    @property
    def respondent_display(self) -> str:
        return self.enterprise.name if self.enterprise_id else (self.respondent_name or "")


class CaseEvent(db.Model):
    """One line of the timeline: every state change and every notable act."""

    __tablename__ = "case_event"
    __table_args__ = (sa.Index("ix_case_event_complaint", "complaint_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    actor_role: Mapped[str] = mapped_column(sa.String(16))
    action: Mapped[str] = mapped_column(sa.String(32))
    from_state: Mapped[str | None] = mapped_column(sa.String(32))
    to_state: Mapped[str] = mapped_column(sa.String(32))
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    complaint = relationship("Complaint", back_populates="events")
    actor = relationship("User")


class Message(db.Model):
    __tablename__ = "message"
    __table_args__ = (sa.Index("ix_message_complaint", "complaint_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    author_role: Mapped[str] = mapped_column(sa.String(16))
    body: Mapped[str] = mapped_column(sa.Text)
    # A mediator's private note: never shown to the parties.
    internal: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author = relationship("User")


class Offer(db.Model):
    __tablename__ = "offer"
    __table_args__ = (
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        sa.CheckConstraint("counter_amount >= 0", name="counter_amount_not_negative"),
        sa.Index("ix_offer_complaint", "complaint_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id", ondelete="CASCADE"))
    made_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    remedy: Mapped[Remedy] = mapped_column(str_enum(Remedy, "remedy"))
    amount: Mapped[Decimal] = mapped_column(Money)
    terms: Mapped[str] = mapped_column(sa.Text)
    performance_due: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[OfferStatus] = mapped_column(
        EnumString(OfferStatus, 16), default=OfferStatus.OPEN
    )
    counter_proposal: Mapped[str | None] = mapped_column(sa.Text)
    # The consumer's counter-offer on rejecting: a remedy and an amount (and the note above).
    counter_remedy: Mapped[Remedy | None] = mapped_column(EnumString(Remedy, 16))
    counter_amount: Mapped[Decimal | None] = mapped_column(Money)
    # The last day (Asia/Shanghai) the offer may be accepted; none: open until answered.
    expires_on: Mapped[date | None] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    made_by = relationship("User")


class Evidence(db.Model):
    """An uploaded file: stored outside static/ under a random name."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("complaint.id", ondelete="CASCADE"), index=True
    )
    draft_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("draft.id", ondelete="SET NULL"), index=True
    )
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    filename: Mapped[str] = mapped_column(sa.String(255))
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    uploaded_by = relationship("User")


class Draft(db.Model):
    """A complaint the consumer has started but not filed; deleted after 30 days."""

    __tablename__ = "draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    step: Mapped[str] = mapped_column(sa.String(32), default="respondent")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    evidence = relationship("Evidence", foreign_keys="Evidence.draft_id")


class Agreement(db.Model):
    """A mediation agreement proposed by the mediator, signed by both parties."""

    __tablename__ = "agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("complaint.id", ondelete="CASCADE"), index=True
    )
    proposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    terms: Mapped[str] = mapped_column(sa.Text)
    amount: Mapped[Decimal] = mapped_column(Money)
    performance_due: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[AgreementStatus] = mapped_column(
        EnumString(AgreementStatus, 16), default=AgreementStatus.PROPOSED
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    signatures = relationship("Signature", back_populates="agreement", order_by="Signature.id")


class Signature(db.Model):
    __tablename__ = "signature"
    __table_args__ = (sa.UniqueConstraint("agreement_id", "party", name="one_per_party"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("agreement.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    party: Mapped[str] = mapped_column(sa.String(16))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(sa.String(64))

    agreement = relationship("Agreement", back_populates="signatures")
    user = relationship("User")


class MediationSession(db.Model):
    """A scheduled mediation session: online (a link), in person (a place) or by phone."""

    __tablename__ = "mediation_session"
    __table_args__ = (
        sa.CheckConstraint("mode IN ('online', 'in_person', 'phone')", name="mode_known"),
        sa.CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="ends_after_start"),
        # The sweep's reminder pass: the sessions not reminded yet, by start.
        sa.Index("ix_mediation_session_remind", "reminded_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("complaint.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mode: Mapped[str] = mapped_column(sa.String(16))  # online | in_person | phone
    place: Mapped[str | None] = mapped_column(sa.String(300))
    link: Mapped[str | None] = mapped_column(sa.String(500))
    note: Mapped[str | None] = mapped_column(sa.String(1000))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the parties were reminded (the working day before); NULL until then.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Record(db.Model):
    """An issued PDF record: its bytes and SHA-256 never change once rendered. A record is
    issued with the case's move (its code and the data it shows, `context`, fixed then) and
    rendered after the commit by the worker, or on demand when someone asks for it first:
    until then `sha256`, `path` and `size` are empty."""

    __tablename__ = "record"
    __table_args__ = (
        sa.CheckConstraint(
            "(sha256 IS NULL) = (path IS NULL) AND (sha256 IS NULL) = (size IS NULL)",
            name="rendered_together",
        ),
        # The worker's pass over the records still to render: only those are in it.
        sa.Index("ix_record_pending", "id", **_only("context IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("complaint.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[RecordKind] = mapped_column(str_enum(RecordKind, "record_kind"))
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    path: Mapped[str | None] = mapped_column(sa.String(200))
    size: Mapped[int | None] = mapped_column()
    language: Mapped[str] = mapped_column(sa.String(8))
    # What the PDF shows, built when the record was issued; cleared once rendered.
    context: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True))

    complaint = relationship("Complaint")

    @property
    def ready(self) -> bool:
        return self.sha256 is not None
