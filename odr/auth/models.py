"""Accounts: users, API tokens and one-time links."""

import enum
import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from odr.extensions import db
from odr.types import UTCDateTime, str_enum, utcnow


class UserRole(enum.StrEnum):
    CONSUMER = "consumer"
    ENTERPRISE = "enterprise"
    MEDIATOR = "mediator"
    ADMIN = "admin"
    # 12315 hotline seats and consumer service stations: they file for callers and visitors.
    INTAKE = "intake"

    @property
    def label(self):
        return {
            UserRole.CONSUMER: _l("Consumer"),
            UserRole.ENTERPRISE: _l("Enterprise"),
            UserRole.MEDIATOR: _l("Mediator"),
            UserRole.ADMIN: _l("Regulator"),
            UserRole.INTAKE: _l("Intake staff"),
        }[self]


class StaffRole(enum.StrEnum):
    OWNER = "owner"
    AGENT = "agent"


class User(UserMixin, db.Model):
    __tablename__ = "user"
    __table_args__ = (
        sa.CheckConstraint(
            "(role = 'enterprise') = (enterprise_id IS NOT NULL)", name="staff_has_enterprise"
        ),
        # A hotline seat or a service station's staff belongs to an office.
        sa.CheckConstraint(
            "(role = 'intake') = (intake_body_id IS NOT NULL)", name="intake_has_office"
        ),
        # Only a caller the hotline filed for has no e-mail address (until they claim it).
        sa.CheckConstraint("email IS NOT NULL OR role = 'consumer'", name="email_or_caller"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for a caller the hotline filed for who has not claimed the case yet.
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    name: Mapped[str] = mapped_column(sa.String(100))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    role: Mapped[UserRole] = mapped_column(str_enum(UserRole, "user_role"))
    locale: Mapped[str] = mapped_column(sa.String(8), default="zh_CN")
    region_code: Mapped[str | None] = mapped_column(sa.ForeignKey("region.code"))
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    staff_role: Mapped[StaffRole | None] = mapped_column(str_enum(StaffRole, "staff_role"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Notices by SMS as well (a consumer without an e-mail address gets them by SMS anyway).
    sms_notices: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # A caller's account made by the hotline: no password anyone knows, no sign-in, until
    # the caller claims the case with the link sent to them (odr.disputes.intake).
    claim_pending: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Intake staff: the office whose seats they sit at (for a station: the office it is
    # registered under) and, at a consumer service station, the station.
    intake_body_id: Mapped[int | None] = mapped_column(sa.ForeignKey("mediation_body.id"))
    station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_station.id"))

    enterprise = relationship("Enterprise", foreign_keys=[enterprise_id], back_populates="staff")
    memberships = relationship("BodyMembership", back_populates="user")
    intake_body = relationship("MediationBody", foreign_keys=[intake_body_id])
    station = relationship("ServiceStation", foreign_keys=[station_id])

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def body_ids(self) -> set[int]:
        return {m.body_id for m in self.memberships if m.active}

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role} {self.email}>"


class TokenKind(enum.StrEnum):
    SESSION = "session"
    INTEGRATION = "integration"


class TokenScope(enum.StrEnum):
    """What an integration token may do. A sign-in token (from a password) has no scopes
    written: it may do whatever its user may."""

    READ_CASES = "cases:read"
    ACT_ON_CASES = "cases:act"
    MANAGE_WEBHOOKS = "webhooks:manage"
    MANAGE_TOKENS = "tokens:manage"

    @property
    def label(self):
        return {
            TokenScope.READ_CASES: _l("Read cases"),
            TokenScope.ACT_ON_CASES: _l("Act on cases (messages, evidence, offers, answers)"),
            TokenScope.MANAGE_WEBHOOKS: _l("Manage webhooks"),
            TokenScope.MANAGE_TOKENS: _l("Manage tokens (create and revoke tokens)"),
        }[self]


# An integration token created without a choice of scopes: what a customer-service system
# answering claims needs, and no more (webhooks and tokens are asked for by name).
DEFAULT_SCOPES = frozenset({TokenScope.READ_CASES, TokenScope.ACT_ON_CASES})


def hash_password(password: str) -> str:
    """How every account's password is kept: scrypt, deliberately slow, with its own salt."""
    return generate_password_hash(password, method="scrypt")


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[TokenKind] = mapped_column(str_enum(TokenKind, "token_kind"))
    name: Mapped[str | None] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Space-separated TokenScope values; NULL for a sign-in token (all its user may do).
    scopes: Mapped[str | None] = mapped_column(sa.String(200))
    # The token that minted this one: revoking it revokes this one (and what this minted).
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("api_token.id", ondelete="CASCADE"), index=True
    )

    user = relationship("User")

    @property
    def scope_set(self) -> frozenset[TokenScope]:
        """The scopes this token carries (every scope for a sign-in token)."""
        if self.scopes is None:
            return frozenset(TokenScope)
        return frozenset(TokenScope(s) for s in self.scopes.split() if s in _SCOPE_VALUES)

    def allows(self, scope: TokenScope) -> bool:
        return scope in self.scope_set


_SCOPE_VALUES = frozenset(s.value for s in TokenScope)


class UserSession(db.Model):
    """A signed-in browser, known to the server: the session cookie carries the raw token
    (stored here hashed), and the user loader accepts a cookie only while its row exists.
    Signing out deletes the row, so a copied cookie stops working everywhere; a password
    change or reset deletes every other row of the account."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LinkPurpose(enum.StrEnum):
    INVITE = "invite"
    RESET = "reset"


class OneTimeLink(db.Model):
    """An invitation or password-reset link: stored hashed, expires, works once."""

    __tablename__ = "one_time_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[LinkPurpose] = mapped_column(str_enum(LinkPurpose, "link_purpose"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")
