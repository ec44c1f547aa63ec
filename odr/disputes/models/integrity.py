"""What keeps requests and records honest: remembered answers of idempotent API requests and
the keyed seals of each case's facts (odr/disputes/audit.py)."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from odr.extensions import db
from odr.types import UTCDateTime, utcnow


class IdempotentRequest(db.Model):
    """A creating API request sent with an `Idempotency-Key`: the first answer, kept 24
    hours and given again for the same key, caller and body. The unique key makes two
    requests racing with one key create one thing."""

    __tablename__ = "idempotent_request"
    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="one_per_caller"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(255))
    # SHA-256 of the method, the path and the body: the same key with another body is refused.
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[int | None] = mapped_column()  # NULL while the first request runs
    answer: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class AuditSeal(db.Model):
    """The keyed seal of one case's facts (odr/disputes/seals.py), and its place in the chain
    of all cases. No foreign key: the seal outlives its case, so a deleted case is named."""

    __tablename__ = "audit_seal"

    complaint_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    reference: Mapped[str] = mapped_column(sa.String(32))
    # The chain of all cases, one link each at filing: a gap is a deleted case.
    serial: Mapped[int] = mapped_column(unique=True)
    prev_link: Mapped[str | None] = mapped_column(sa.String(64))
    link: Mapped[str] = mapped_column(sa.String(64))
    # The facts: {kind: {row id: HMAC}} as JSON text, and the MAC over them.
    version: Mapped[int] = mapped_column()
    facts: Mapped[str] = mapped_column(sa.Text)
    mac: Mapped[str] = mapped_column(sa.String(64))
