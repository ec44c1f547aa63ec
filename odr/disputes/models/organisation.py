"""Who takes part: regions, enterprises, mediation bodies and their members."""

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from odr.extensions import db
from odr.types import UTCDateTime, str_enum, utcnow


class RegionLevel(enum.StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    STATION = "station"


class Region(db.Model):
    """An administrative division (GB/T 2260 code) or a local station under a county."""

    __tablename__ = "region"
    __table_args__ = (sa.CheckConstraint("length(code) >= 6", name="code_length"),)

    code: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str | None] = mapped_column(sa.String(100))
    level: Mapped[RegionLevel] = mapped_column(str_enum(RegionLevel, "region_level"))
    parent_code: Mapped[str | None] = mapped_column(sa.ForeignKey("region.code"), index=True)

    parent = relationship("Region", remote_side=[code])

    def display_name(self) -> str:
        if self.name_en and str(get_locale()) == "en":
            return self.name_en
        return self.name

    def lineage(self) -> list["Region"]:
        """This region and its ancestors, nearest first."""
        chain, node = [], self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


def pinyin_key(name: str | None) -> str:
    """What a Latin-letter search matches an enterprise name against: its pinyin whole and
    as initials, letters and digits only, lower case ("河南丹尼斯百货" -> "henandanisibaihuo
    hndnsbh"); letters already Latin in the name stay as they are."""
    if not name:
        return ""
    # Imported here, not at the top: pypinyin's phrase dictionaries take about 55 MB, which
    # every portal worker would carry although only a new enterprise name needs them.
    from pypinyin import Style, lazy_pinyin

    syllables = [s for s in lazy_pinyin(name, errors="default") if s.strip()]
    initials = lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default")

    def squeeze(parts) -> str:
        return "".join(ch for ch in "".join(parts).lower() if ch.isascii() and ch.isalnum())

    return f"{squeeze(syllables)} {squeeze(initials)}"[:1000]


class EnterpriseStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SUSPENDED = "suspended"
    EXITED = "exited"

    @property
    def label(self):
        return {
            EnterpriseStatus.PENDING: _l("Pending approval"),
            EnterpriseStatus.APPROVED: _l("Approved ODR enterprise"),
            EnterpriseStatus.SUSPENDED: _l("Suspended"),
            EnterpriseStatus.EXITED: _l("Exited"),
        }[self]


class Enterprise(db.Model):
    __tablename__ = "enterprise"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    # Optional: the name the enterprise uses in English (searched, shown to English readers).
    name_en: Mapped[str | None] = mapped_column(sa.String(200))
    # The name's pinyin, whole and as initials ("henandanisi hndns"), lower case: what the
    # search matches a Latin-letter query against (set by odr.disputes.enterprises).
    name_pinyin: Mapped[str | None] = mapped_column(sa.String(1000))
    credit_code: Mapped[str] = mapped_column(sa.String(18), unique=True)
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("region.code"), index=True)
    address: Mapped[str] = mapped_column(sa.String(300))
    contact_phone: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[EnterpriseStatus] = mapped_column(
        str_enum(EnterpriseStatus, "enterprise_status"), default=EnterpriseStatus.PENDING
    )
    # A seller on a platform: escalations go to its published address's region, else the
    # platform's (DESIGN.md, jurisdiction).
    platform_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprise.id"))
    commitment: Mapped[bool] = mapped_column(default=False)
    licence_path: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    region = relationship("Region")
    platform = relationship("Enterprise", remote_side=[id])
    staff = relationship("User", back_populates="enterprise", foreign_keys="User.enterprise_id")

    @property
    def is_odr(self) -> bool:
        return self.status == EnterpriseStatus.APPROVED

    def display_name(self) -> str:
        if self.name_en and str(get_locale()) == "en":
            return self.name_en
        return self.name

    @validates("name")
    def _keep_pinyin(self, _key, name):
        self.name_pinyin = pinyin_key(name)
        return name


class EnterpriseEvent(db.Model):
    """A regulator's decision on an enterprise, with its reason."""

    __tablename__ = "enterprise_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(sa.String(32))
    from_status: Mapped[str | None] = mapped_column(sa.String(32))
    to_status: Mapped[str] = mapped_column(sa.String(32))
    reason: Mapped[str | None] = mapped_column(sa.Text)

    actor = relationship("User")


class BodyKind(enum.StrEnum):
    OFFICE = "office"  # market-regulation office (市场监督管理部门)
    ASSOCIATION = "association"  # consumer association (消费者协会)

    @property
    def label(self):
        return {
            BodyKind.OFFICE: _l("Market-regulation office"),
            BodyKind.ASSOCIATION: _l("Consumer association"),
        }[self]


class MediationBody(db.Model):
    __tablename__ = "mediation_body"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str | None] = mapped_column(sa.String(200))
    kind: Mapped[BodyKind] = mapped_column(str_enum(BodyKind, "body_kind"))
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("region.code"), index=True)
    level: Mapped[RegionLevel] = mapped_column(str_enum(RegionLevel, "body_level"))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("mediation_body.id"), index=True)
    address: Mapped[str | None] = mapped_column(sa.String(300))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    active: Mapped[bool] = mapped_column(default=True)

    region = relationship("Region")
    parent = relationship("MediationBody", remote_side=[id])
    memberships = relationship("BodyMembership", back_populates="body")

    def display_name(self) -> str:
        if self.name_en and str(get_locale()) == "en":
            return self.name_en
        return self.name


class BodyMembership(db.Model):
    __tablename__ = "body_membership"
    __table_args__ = (sa.UniqueConstraint("user_id", "body_id", name="one_membership"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    body_id: Mapped[int] = mapped_column(sa.ForeignKey("mediation_body.id"), index=True)
    is_head: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)

    user = relationship("User", back_populates="memberships")
    body = relationship("MediationBody", back_populates="memberships")
