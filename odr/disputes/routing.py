"""Eligibility for the green channel and the competent mediation body (jurisdiction)."""

from collections.abc import Callable
from datetime import date

from odr.auth.models import User, UserRole
from odr.disputes.memo import memo
from odr.disputes.models import (
    BodyKind,
    BodyMembership,
    Enterprise,
    MediationBody,
    Region,
    RegionLevel,
)
from odr.extensions import db

LIMITATION_YEARS = 3


def within_limitation(purchase_date: date, today: date) -> bool:
    try:
        limit = purchase_date.replace(year=purchase_date.year + LIMITATION_YEARS)
    except ValueError:  # 29 February
        limit = purchase_date.replace(year=purchase_date.year + LIMITATION_YEARS, day=28)
    return today <= limit


def goes_to_enterprise(
    enterprise: Enterprise | None, green_channel: bool, purchase_date: date, today: date
) -> bool:
    """A complaint goes to direct settlement when the respondent is an approved ODR
    enterprise, the consumer keeps the green channel, and the complaint is eligible."""
    return bool(
        enterprise is not None
        and enterprise.is_odr
        and green_channel
        and within_limitation(purchase_date, today)
    )


_LEVEL_ORDER = [RegionLevel.COUNTY, RegionLevel.CITY, RegionLevel.PROVINCE]


def competent_body_for_region(region_code: str | None) -> MediationBody | None:
    """The county-level market-regulation office of the region; where a county has none,
    the nearest office above it."""
    return memo(("competent_body", region_code), lambda: _competent_body(region_code))


def _competent_body(region_code: str | None) -> MediationBody | None:
    region = db.session.get(Region, region_code) if region_code else None
    if region is None:
        return None
    lineage = [r for r in region.lineage() if r.level != RegionLevel.STATION]
    codes = [r.code for r in lineage]
    offices = db.session.scalars(
        db.select(MediationBody).where(
            MediationBody.region_code.in_(codes),
            MediationBody.kind == BodyKind.OFFICE,
            MediationBody.active.is_(True),
            MediationBody.level != RegionLevel.STATION,
        )
    ).all()
    by_region: dict[str, MediationBody] = {}
    for office in sorted(offices, key=lambda b: b.id):
        by_region.setdefault(office.region_code, office)
    for code in codes:
        if code in by_region:
            return by_region[code]
    return None


def seller_regions(
    seller_region_code: str | None,
    platform_region_code: str | None = None,
    seller_address_usable: bool = True,
) -> list[str]:
    """Where a complaint against a seller is handled, in order: the seller's address (for a
    seller on a platform, the address it publishes there); if it publishes none, or cannot
    be reached at it, the platform operator's domicile (Order 121; under Order 20 the
    consumer could choose either, and the seller's place of business comes first)."""
    if platform_region_code and (not seller_address_usable or not seller_region_code):
        return [platform_region_code]
    return [code for code in (seller_region_code, platform_region_code) if code]


def competent_body(
    enterprise: Enterprise | None,
    fallback_region_code: str | None = None,
    *,
    platform_region_code: str | None = None,
    seller_address_usable: bool = True,
    for_region: Callable = competent_body_for_region,
):
    """Where an escalated complaint goes by jurisdiction: the office of the seller's region
    (seller_regions: the platform's for a platform seller without a usable address, or with
    no office at its address); for a respondent that is not listed, the office of the region
    the consumer named. `platform_region_code` is the platform's domicile the filing named,
    else the listed seller's own platform. `for_region` finds a region's office (the sweep
    passes one that answers with plain values)."""
    if platform_region_code is None and enterprise is not None and enterprise.platform:
        platform_region_code = enterprise.platform.region_code
    seller_region = enterprise.region_code if enterprise is not None else fallback_region_code
    for code in seller_regions(seller_region, platform_region_code, seller_address_usable):
        body = for_region(code)
        if body is not None:
            return body
    return for_region(fallback_region_code)


# -- staffing ----------------------------------------------------------------------------


def staffed_body_ids() -> frozenset[int]:
    """The bodies where someone can act on a case: at least one active membership of an
    active mediator account."""

    def compute():
        return frozenset(
            db.session.scalars(
                db.select(BodyMembership.body_id)
                .join(User, User.id == BodyMembership.user_id)
                .where(
                    BodyMembership.active.is_(True),
                    User.active.is_(True),
                    User.role == UserRole.MEDIATOR,
                )
                .distinct()
            )
        )

    return memo("staffed_body_ids", compute)


def unstaffed_bodies() -> list[MediationBody]:
    """Active bodies nobody can act at (the regulator's console lists them)."""
    staffed = staffed_body_ids()
    return [
        body
        for body in db.session.scalars(
            db.select(MediationBody)
            .where(MediationBody.active.is_(True))
            .order_by(MediationBody.region_code, MediationBody.id)
        )
        if body.id not in staffed
    ]


def staffed_office(body_id: int | None) -> tuple[int | None, int | None]:
    """(the body a case routed to `body_id` goes to, the unstaffed body it passed over or
    None): a body with no active mediator passes the case to the nearest staffed office
    above it. Where no office above is staffed either, the case stays where the law puts
    it (the console lists the office as unstaffed)."""
    if body_id is None:
        return None, None

    def compute():
        staffed = staffed_body_ids()
        if body_id in staffed:
            return body_id, None
        seen = {body_id}
        parent_id = db.session.scalar(
            db.select(MediationBody.parent_id).where(MediationBody.id == body_id)
        )
        while parent_id is not None and parent_id not in seen:
            seen.add(parent_id)
            row = db.session.execute(
                db.select(MediationBody.parent_id, MediationBody.active, MediationBody.kind).where(
                    MediationBody.id == parent_id
                )
            ).one_or_none()
            if row is None:
                break
            if row.active and row.kind == BodyKind.OFFICE and parent_id in staffed:
                return parent_id, body_id
            parent_id = row.parent_id
        return body_id, None

    return memo(("staffed_office", body_id), compute)
