"""The regulator's housekeeping: mediation bodies and their mediators, the holiday
calendar and consumer warnings (消费提示). One function per use case; they flush, never
commit. Only the regulator (an admin) may call them.
"""

import calendar as pycalendar
from datetime import date, datetime
from pathlib import Path

from flask_babel import lazy_gettext as _l

from odr.auth import operations as auth_ops
from odr.auth.models import User, UserRole
from odr.disputes import clocks, deadlines
from odr.disputes.models import (
    BodyKind,
    BodyMembership,
    CalendarOverride,
    Complaint,
    ConsumerWarning,
    MediationBody,
    Region,
    RegionLevel,
)
from odr.disputes.states import OPEN_STATES, Forbidden, Invalid, InvalidTransition, NotFound
from odr.extensions import db
from odr.types import as_id, utcnow

MAX_CALENDAR_BYTES = 256 * 1024


def _admin(actor: User | None) -> None:
    if actor is None or actor.role != UserRole.ADMIN:
        raise Forbidden(_l("Only the regulator may do this."))


def _text(value, field, *, limit, required=True) -> str | None:
    if value is not None and not isinstance(value, str):
        raise Invalid(_l("Invalid input."), {field: str(_l("Must be text."))})
    value = (value or "").strip()
    if required and not value:
        raise Invalid(_l("Invalid input."), {field: str(_l("This field is required."))})
    if len(value) > limit:
        raise Invalid(_l("Invalid input."), {field: str(_l("At most %(n)s characters.", n=limit))})
    return value or None


def _collect(checks: dict) -> dict:
    """Run each field's check; raise one Invalid with every field's message."""
    clean, errors = {}, {}
    for field, check in checks.items():
        try:
            clean[field] = check()
        except Invalid as exc:
            errors.update(exc.fields)
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    return clean


# -- mediation bodies --------------------------------------------------------------------


def get_body(body_id) -> MediationBody:
    try:
        body = db.session.get(MediationBody, as_id(body_id) or 0)
    except (TypeError, ValueError):
        body = None
    if body is None:
        raise NotFound(_l("No such mediation body."))
    return body


def _parent(parent_id, body: MediationBody | None = None) -> MediationBody | None:
    if parent_id in (None, "", 0, "0"):
        return None
    try:
        parent = db.session.get(MediationBody, as_id(parent_id) or 0)
    except (TypeError, ValueError):
        parent = None
    if parent is None:
        raise Invalid(_l("Invalid input."), {"parent_id": str(_l("No such mediation body."))})
    if body is not None:
        node, seen = parent, set()
        while node is not None and node.id not in seen:
            if node.id == body.id:
                raise Invalid(
                    _l("Invalid input."),
                    {"parent_id": str(_l("A body cannot be placed under itself or below it."))},
                )
            seen.add(node.id)
            node = node.parent
    return parent


def create_body(
    actor: User,
    *,
    name,
    kind,
    region_code,
    level,
    parent_id=None,
    name_en=None,
    address=None,
    phone=None,
) -> MediationBody:
    _admin(actor)

    def region():
        if not isinstance(region_code, str) or db.session.get(Region, region_code) is None:
            raise Invalid(_l("Invalid input."), {"region_code": str(_l("Unknown region."))})
        return region_code

    def choice(enum_cls, value, field):
        def check():
            try:
                return enum_cls(value)
            except ValueError:
                raise Invalid(
                    _l("Invalid input."), {field: str(_l("Not a valid choice."))}
                ) from None

        return check

    clean = _collect(
        {
            "name": lambda: _text(name, "name", limit=200),
            "name_en": lambda: _text(name_en, "name_en", limit=200, required=False),
            "kind": choice(BodyKind, kind, "kind"),
            "level": choice(RegionLevel, level, "level"),
            "region_code": region,
            "parent": lambda: _parent(parent_id),
            "address": lambda: _text(address, "address", limit=300, required=False),
            "phone": lambda: _text(phone, "phone", limit=32, required=False),
        }
    )
    parent = clean.pop("parent")
    body = MediationBody(parent_id=parent.id if parent else None, active=True, **clean)
    db.session.add(body)
    db.session.flush()
    return body


def move_body(actor: User, body: MediationBody, parent_id) -> MediationBody:
    """Place a body under another parent (or at the top)."""
    _admin(actor)
    parent = _parent(parent_id, body)
    body.parent_id = parent.id if parent else None
    body.parent = parent
    db.session.flush()
    return body


def open_cases_at(body: MediationBody) -> int:
    return db.session.scalar(
        db.select(db.func.count(Complaint.id)).where(
            Complaint.body_id == body.id, Complaint.state.in_(OPEN_STATES)
        )
    )


def set_body_active(actor: User, body: MediationBody, active: bool) -> MediationBody:
    """Deactivate a body (no new cases are routed to it) or bring it back. A body with open
    cases keeps them until they are transferred, so it cannot be deactivated before."""
    _admin(actor)
    if not active and open_cases_at(body):
        raise InvalidTransition(
            _l(
                "This body still has %(n)s open cases; transfer them before deactivating it.",
                n=open_cases_at(body),
            )
        )
    body.active = bool(active)
    db.session.flush()
    return body


# -- mediators ---------------------------------------------------------------------------


def get_mediator(user_id) -> User:
    try:
        user = db.session.get(User, as_id(user_id) or 0)
    except (TypeError, ValueError):
        user = None
    if user is None or user.role != UserRole.MEDIATOR:
        raise NotFound(_l("No such mediator."))
    return user


def create_mediator(
    actor: User, body: MediationBody, *, email, password, name, head=False, locale="zh_CN"
) -> User:
    """A mediator account, member of the body."""
    _admin(actor)
    if not body.active:
        raise InvalidTransition(_l("The body is not active."))
    user = auth_ops.create_user(
        role=UserRole.MEDIATOR,
        email=email,
        password=password,
        name=name,
        locale=locale if locale in ("zh_CN", "en") else "zh_CN",
    )
    membership = BodyMembership(user_id=user.id, body_id=body.id, is_head=bool(head))
    db.session.add(membership)
    db.session.flush()
    db.session.refresh(user)
    return user


def move_mediator(actor: User, mediator: User, body: MediationBody) -> BodyMembership:
    """Move a mediator to another body: the old memberships end, the new one starts."""
    _admin(actor)
    if not body.active:
        raise InvalidTransition(_l("The body is not active."))
    target = None
    for membership in mediator.memberships:
        if membership.body_id == body.id:
            target = membership
        else:
            membership.active = False
            membership.is_head = False
    if target is None:
        target = BodyMembership(user_id=mediator.id, body_id=body.id, is_head=False)
        db.session.add(target)
        mediator.memberships.append(target)
    target.active = True
    db.session.flush()
    return target


def set_mediator_active(actor: User, mediator: User, active: bool) -> User:
    """Deactivate a mediator's account (they can no longer sign in) or restore it."""
    _admin(actor)
    mediator.active = bool(active)
    db.session.flush()
    return mediator


def set_head(actor: User, mediator: User, body: MediationBody, head: bool) -> BodyMembership:
    """Make a member the head of the body (who assigns cases), or no longer."""
    _admin(actor)
    membership = next((m for m in mediator.memberships if m.body_id == body.id and m.active), None)
    if membership is None:
        raise InvalidTransition(_l("Not a member of this body."))
    membership.is_head = bool(head)
    db.session.flush()
    return membership


def members(body: MediationBody) -> list[BodyMembership]:
    return db.session.scalars(
        db.select(BodyMembership)
        .join(User, User.id == BodyMembership.user_id)
        .where(BodyMembership.body_id == body.id, User.role == UserRole.MEDIATOR)
        .order_by(BodyMembership.active.desc(), BodyMembership.is_head.desc(), User.name)
    ).all()


# -- the holiday calendar ----------------------------------------------------------------


def load_calendar(
    actor: User, filename: str, data: bytes, *, now: datetime | None = None
) -> clocks.CalendarChange:
    """Load a year's official schedule from an uploaded file (the format of
    `flask odr calendar load`: JSON or CSV); every open case's clock follows it."""
    _admin(actor)
    suffix = Path(filename or "").suffix.lower()
    if suffix not in (".json", ".csv"):
        raise Invalid(
            _l("Please correct the marked fields."),
            {"file": str(_l("Upload a .json or .csv file."))},
        )
    if len(data) > MAX_CALENDAR_BYTES:
        raise Invalid(
            _l("Please correct the marked fields."), {"file": str(_l("The file is too large."))}
        )
    try:
        rows = deadlines.parse_schedule(data.decode("utf-8-sig"), suffix)
    except ValueError:
        raise Invalid(
            _l("Please correct the marked fields."),
            {"file": str(_l("The file could not be read as a holiday schedule."))},
        ) from None
    if not rows:
        raise Invalid(
            _l("Please correct the marked fields."), {"file": str(_l("The file lists no days."))}
        )
    return store_schedule(rows, source=Path(filename).name, now=now)


def store_schedule(
    rows, *, source: str | None = None, now: datetime | None = None
) -> clocks.CalendarChange:
    """Write parsed days (deadlines.parse_schedule) as overrides (a day loaded again is
    updated) and derive every open case's clock again, in this transaction. The upload
    above and `flask odr calendar load` both store through this."""
    return clocks.change_calendar(
        rows,
        from_schedule=True,
        why=clocks.SCHEDULE_LOADED,
        source=source,
        now=now or utcnow(),
    )


DAY_KINDS = ("workday", "holiday", "official")


def set_day(
    actor: User, day, kind: str, note=None, *, now: datetime | None = None
) -> CalendarOverride | None:
    """Make one day a working day or a day off; "official" removes the override. Every
    open case's clock follows (clocks.change_calendar)."""
    _admin(actor)
    try:
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
    except ValueError:
        raise Invalid(
            _l("Please correct the marked fields."), {"day": str(_l("Not a valid date."))}
        ) from None
    if kind not in DAY_KINDS:
        raise Invalid(
            _l("Please correct the marked fields."), {"kind": str(_l("Not a valid choice."))}
        )
    note = _text(note, "note", limit=100, required=False)
    workday = None if kind == "official" else kind == "workday"
    clocks.change_calendar(
        [(day, workday, note)], from_schedule=False, why=clocks.DAY_EDITED, now=now or utcnow()
    )
    return db.session.get(CalendarOverride, day)


def year_calendar(year: int) -> list[dict]:
    """The year as twelve month grids (weeks from Monday) of days, each with its kind:
    workday, weekend, holiday (a weekday off) or makeup (a weekend working day)."""
    overrides = {
        o.day: o
        for o in db.session.scalars(
            db.select(CalendarOverride).where(
                CalendarOverride.day >= date(year, 1, 1),
                CalendarOverride.day <= date(year, 12, 31),
            )
        )
    }
    months = []
    grid = pycalendar.Calendar(firstweekday=0)
    for month in range(1, 13):
        weeks = []
        for week in grid.monthdatescalendar(year, month):
            row = []
            for day in week:
                if day.month != month:
                    row.append(None)
                    continue
                workday = deadlines.is_workday(day)
                weekend = day.weekday() >= 5
                if workday:
                    kind = "makeup" if weekend else "workday"
                else:
                    kind = "weekend" if weekend else "holiday"
                override = overrides.get(day)
                row.append(
                    {
                        "day": day,
                        "kind": kind,
                        "workday": workday,
                        "override": override is not None,
                        "note": override.note if override else None,
                    }
                )
            weeks.append(row)
        months.append({"month": month, "first": date(year, month, 1), "weeks": weeks})
    return months


# -- consumer warnings (消费提示) -----------------------------------------------------------


def get_warning(warning_id) -> ConsumerWarning:
    try:
        warning = db.session.get(ConsumerWarning, as_id(warning_id) or 0)
    except (TypeError, ValueError):
        warning = None
    if warning is None:
        raise NotFound(_l("No such warning."))
    return warning


def save_warning(actor: User, warning: ConsumerWarning | None, *, title, body) -> ConsumerWarning:
    """Write a new warning (a draft until published) or edit one."""
    _admin(actor)
    clean = _collect(
        {
            "title": lambda: _text(title, "title", limit=200),
            "body": lambda: _text(body, "body", limit=20_000),
        }
    )
    if warning is None:
        warning = ConsumerWarning(author_id=actor.id, created_at=utcnow(), **clean)
        db.session.add(warning)
    else:
        warning.title, warning.body = clean["title"], clean["body"]
    db.session.flush()
    return warning


def publish_warning(
    actor: User, warning: ConsumerWarning, publish: bool = True, *, now: datetime | None = None
) -> ConsumerWarning:
    _admin(actor)
    warning.published_at = (now or utcnow()) if publish else None
    db.session.flush()
    return warning


def published_warnings(limit: int = 50) -> list[ConsumerWarning]:
    return db.session.scalars(
        db.select(ConsumerWarning)
        .where(ConsumerWarning.published_at.is_not(None))
        .order_by(ConsumerWarning.published_at.desc(), ConsumerWarning.id.desc())
        .limit(limit)
    ).all()
