"""Eligibility for the green channel and the competent mediation body (jurisdiction)."""

from collections.abc import Callable
from datetime import date

from odr.disputes.memo import memo
from odr.disputes.models import BodyKind, Enterprise, MediationBody, Region, RegionLevel
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


def competent_body(
    enterprise: Enterprise | None,
    fallback_region_code: str | None = None,
    *,
    for_region: Callable = competent_body_for_region,
):
    """Where an escalated complaint goes: the office of the enterprise's region; for a
    platform seller without an office at its address, the platform's; for a respondent
    that is not listed, the office of the region the consumer named. `for_region` finds a
    region's office (the sweep passes one that answers with plain values)."""
    if enterprise is not None:
        body = for_region(enterprise.region_code)
        if body is None and enterprise.platform is not None:
            body = for_region(enterprise.platform.region_code)
        if body is not None:
            return body
    return for_region(fallback_region_code)
