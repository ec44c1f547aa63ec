"""Staff intake: 12315 hotline seats and consumer service stations take complaints and
consultations from callers, visitors and letters.

A complaint taken for a caller is an ordinary case, filed through the same operation as a
consumer's own (operations.file_for), with its channel and who took it. The caller usually
has no account: the case is filed for an account made for them that nobody can sign in to
(no e-mail, no known password, `claim_pending`), and they are sent a link (SMS, and e-mail
when they gave an address) to take the case over online. Claiming it either turns that
account into theirs (they choose an e-mail and a password) or moves the case to the
consumer account they are signed in with.

Operations here take plain data, check their own preconditions, flush and never commit.
"""

import re
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from odr.auth import operations as auth_ops
from odr.auth.models import User, UserRole
from odr.disputes import operations as ops
from odr.disputes.choices import INTAKE_CHANNELS, Channel, Issue
from odr.disputes.claims import claim_url, read_token
from odr.disputes.events import record_event
from odr.disputes.models import (
    CaseEvent,
    Complaint,
    Consultation,
    IntakeTransfer,
    MediationBody,
    Notification,
    Region,
    ServiceStation,
)
from odr.disputes.models.organisation import BodyKind
from odr.disputes.notifications import queue_plain_email, queue_sms, sms_text
from odr.disputes.permissions import (
    cases_visible_to,
    consultation_role,
    consultations_visible_to,
    may_act,
    nameable_enterprise,
    require_capability,
    role_in_case,
)
from odr.disputes.states import OPEN_STATES, Forbidden, Invalid, Move, NotFound, Role
from odr.extensions import db
from odr.types import as_id, utcnow

PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,30}$")
INVALID = _l("Please correct the marked fields.")


def require_intake(actor: User | None) -> None:
    if actor is None or actor.role != UserRole.INTAKE:
        raise Forbidden(_l("Only hotline and service-station staff may do this."))
    require_capability(actor)


def require_admin(actor: User | None) -> None:
    if actor is None or actor.role != UserRole.ADMIN:
        raise Forbidden(_l("Only the regulator may do this."))
    require_capability(actor)


def _field(errors: dict, name: str, fn):
    try:
        return fn()
    except Invalid as exc:
        errors.update(exc.fields or {name: str(exc)})
        return None


def _text(value, field, *, required=True, limit=10_000):
    return ops._text(value, field, required=required, limit=limit)


def validate_caller(caller, *, address_required: bool = True) -> dict:
    """The caller's particulars: name, phone, address, and an optional e-mail address and
    language. Errors are named `caller.<field>`."""
    if not isinstance(caller, dict):
        raise Invalid(INVALID, {"caller": str(_l("Must be an object."))})
    errors: dict[str, str] = {}
    clean = {
        "name": _field(
            errors, "caller.name", lambda: _text(caller.get("name"), "caller.name", limit=100)
        ),
        "phone": _field(
            errors,
            "caller.phone",
            lambda: _text(caller.get("phone"), "caller.phone", required=False, limit=32),
        ),
        "address": _field(
            errors,
            "caller.address",
            lambda: _text(
                caller.get("address"), "caller.address", required=address_required, limit=300
            ),
        ),
    }
    if clean["phone"] and not PHONE.match(clean["phone"]):
        errors["caller.phone"] = str(_l("Enter a phone number (digits, spaces or dashes)."))
    email = caller.get("email")
    if email not in (None, ""):
        from email_validator import EmailNotValidError, validate_email

        try:
            clean["email"] = validate_email(
                str(email), check_deliverability=False
            ).normalized.lower()
        except EmailNotValidError:
            errors["caller.email"] = str(_l("Enter a valid e-mail address."))
    else:
        clean["email"] = None
    locale = caller.get("locale") or "zh_CN"
    clean["locale"] = locale if locale in ("zh_CN", "en") else "zh_CN"
    if errors:
        raise Invalid(INVALID, errors)
    return clean


def _channel(value, field="channel") -> Channel:
    try:
        channel = Channel(value)
    except ValueError:
        channel = None
    if channel not in INTAKE_CHANNELS:
        raise Invalid(INVALID, {field: str(_l("Choose phone, walk-in or letter."))})
    return channel


# -- complaints for callers ------------------------------------------------------------------


def file_for_caller(
    actor: User, data: dict, *, now: datetime | None = None
) -> tuple[Complaint, CaseEvent]:
    """File a complaint for a caller or visitor. `data`: the complaint's fields (as a
    consumer files them), `caller` {name, phone, address, email?, locale?}, `channel`
    (phone | walk_in | letter) and `note` (the notes of the call). The caller is sent the
    link to follow and answer the case online. Answers the case and its first event."""
    require_intake(actor)
    now = now or utcnow()
    errors: dict[str, str] = {}
    caller = _field(errors, "caller", lambda: validate_caller(data.get("caller")))
    if caller is not None and not caller["phone"] and not caller["email"]:
        errors["caller.phone"] = str(
            _l("Give the caller's phone number or e-mail address, to send them the link.")
        )
    channel = _field(errors, "channel", lambda: _channel(data.get("channel")))
    note = _field(errors, "note", lambda: _text(data.get("note"), "note", required=False))
    fields = dict(data)
    if caller is not None:
        fields["complainant_name"] = caller["name"]
        fields["complainant_phone"] = caller["phone"] or "-"
        fields["complainant_address"] = caller["address"]
    # Every field's message at once, before anything is written.
    for check in (
        lambda: ops.validate_complaint(fields, ops.deadlines.local_date(now)),
        lambda: ops.resolve_respondent(fields),
    ):
        try:
            check()
        except Invalid as exc:
            errors.update({k: v for k, v in exc.fields.items() if not k.startswith("complainant_")})
    if errors:
        raise Invalid(INVALID, errors)

    office = db.session.get(MediationBody, actor.intake_body_id)
    person = _caller_account(caller, office)
    complaint, event = ops.file_for(
        person,
        fields,
        actor=actor,
        role=Role.INTAKE,
        intake={
            "channel": channel,
            "taken_by_id": actor.id,
            "intake_body_id": actor.intake_body_id,
            "intake_station_id": actor.station_id,
            "intake_note": note,
        },
        now=now,
    )
    send_claim_link(complaint, person, email=caller["email"])
    return complaint, event


def _caller_account(caller: dict, office: MediationBody | None) -> User:
    """An account for the caller that nobody can sign in to until they claim the case."""
    person = User(
        role=UserRole.CONSUMER,
        email=None,
        name=caller["name"],
        phone=caller["phone"],
        address=caller["address"],
        locale=caller["locale"],
        region_code=office.region_code if office is not None else None,
        active=False,
        claim_pending=True,
        # Reached by phone: notices go by SMS (and by e-mail once they have an address).
        sms_notices=bool(caller["phone"]),
    )
    person.set_password(secrets.token_urlsafe(32))
    db.session.add(person)
    db.session.flush()
    return person


def send_claim_link(complaint: Complaint, person: User, *, email: str | None = None) -> None:
    """Send the caller the link that lets them take the case over: by SMS to their phone,
    and by e-mail to the address they gave."""
    link = claim_url(complaint.id, person.id)
    respondent = complaint.respondent_display
    key = f"claim:{complaint.id}:{person.id}:{secrets.token_hex(6)}"
    with force_locale(person.locale or "zh_CN"):
        text = _(
            "Your complaint %(reference)s against %(respondent)s was recorded. Follow and "
            "answer it online:",
            reference=complaint.reference,
            respondent=respondent,
        )
        if person.phone:
            queue_sms(person.phone, sms_text(text, link), key=f"sms:{key}")
        if email:
            subject = _("Your complaint %(reference)s was recorded", reference=complaint.reference)
            body = _(
                "Dear %(name)s,\n\nyour complaint %(reference)s against %(respondent)s was "
                "recorded by the consumer hotline. Open this link to follow the case, read "
                "the enterprise's answers and reply online (within %(days)s days):\n"
                "%(link)s\n\nThere you can create your account or add the case to the "
                "account you have.",
                name=person.name,
                reference=complaint.reference,
                respondent=respondent,
                days=60,
                link=link,
            )
            queue_plain_email(email, subject, body, key=f"mail:{key}")


def resend_claim_link(actor: User, complaint: Complaint, *, email: str | None = None) -> None:
    """Intake staff send the caller a fresh link (a lost SMS, a new e-mail address)."""
    require_intake(actor)
    if role_in_case(actor, complaint) != Role.INTAKE:
        raise NotFound(_l("No such case."))
    person = db.session.get(User, complaint.consumer_id)
    if person is None or not person.claim_pending:
        raise Invalid(_l("The caller has already taken the case over online."))
    if email not in (None, ""):
        email = validate_caller({"name": person.name, "email": email}, address_required=False)[
            "email"
        ]
    send_claim_link(complaint, person, email=email or None)
    db.session.flush()


# -- claiming --------------------------------------------------------------------------------


def read_claim(token: str, *, lock: bool = False) -> tuple[Complaint, User]:
    """The case and the caller's account a claim link names, while it may still be claimed;
    otherwise NotFound (forged, expired or already used: the same answer)."""
    found = read_token(token)
    if found is not None:
        complaint = db.session.get(Complaint, found[0])
        person = db.session.get(User, found[1])
        if complaint is not None and lock:
            ops._lock(complaint)
        if (
            complaint is not None
            and person is not None
            and complaint.consumer_id == person.id
            and person.claim_pending
        ):
            return complaint, person
    raise NotFound(_l("This link is not valid any more. Ask the hotline for a new one."))


def claim_with_new_account(
    token: str, *, email, password, locale: str | None = None, now: datetime | None = None
) -> User:
    """The caller creates their account from the link: the account the case was filed for
    becomes theirs, with their e-mail address and password."""
    complaint, person = read_claim(token, lock=True)
    clean = auth_ops.validate_account(email, password, person.name)
    person.email = clean["email"]
    person.set_password(password)
    person.active = True
    person.claim_pending = False
    if locale in ("zh_CN", "en"):
        person.locale = locale
    _claimed(complaint, person, "new_account", now)
    return person


def claim_for_account(token: str, user: User, *, now: datetime | None = None) -> Complaint:
    """A signed-in consumer adds the case to their account."""
    if user is None or user.role != UserRole.CONSUMER or not may_act(user):
        raise Forbidden(_l("Sign in with a consumer account to add the case to it."))
    complaint, person = read_claim(token, lock=True)
    complaint.consumer_id = user.id
    complaint.consumer = user
    person.claim_pending = False
    # The notices already sent about the case follow it to the account.
    db.session.execute(
        db.update(Notification)
        .where(Notification.user_id == person.id, Notification.complaint_id == complaint.id)
        .values(user_id=user.id)
        .execution_options(synchronize_session=False)
    )
    _claimed(complaint, user, "linked", now)
    return complaint


def _claimed(complaint: Complaint, user: User, how: str, now) -> None:
    record_event(
        complaint,
        actor=user,
        actor_role=str(Role.CONSUMER),
        action=str(Move.CLAIM),
        from_state=str(complaint.state),
        to_state=str(complaint.state),
        details={"how": how},
        at=now or utcnow(),
    )
    db.session.flush()


# -- passing a record to another office's seats ---------------------------------------------


def _get(model, value):
    """The row with this id, or None for anything that cannot be an id (odr.types.as_id)."""
    row_id = as_id(value)
    return db.session.get(model, row_id) if row_id is not None else None


def _target_office(body_id, current_id: int | None) -> MediationBody:
    body = _get(MediationBody, body_id)
    if body is None or not body.active or body.kind != BodyKind.OFFICE:
        raise Invalid(INVALID, {"body_id": str(_l("Choose an active office."))})
    if body.id == current_id:
        raise Invalid(INVALID, {"body_id": str(_l("The record is already at this office."))})
    return body


def transfer_complaint(
    actor: User, complaint: Complaint, *, body_id, note=None, now: datetime | None = None
) -> Complaint:
    """Pass a complaint taken by intake to another office's seats, who then hold it (the
    one who took it still sees it). The case's own course (enterprise, mediation) does not
    change: this moves who follows it for the caller."""
    require_intake(actor)
    ops._lock(complaint)
    if role_in_case(actor, complaint) != Role.INTAKE:
        raise NotFound(_l("No such case."))
    note = _text(note, "note", required=False)
    body = _target_office(body_id, complaint.intake_body_id)
    from_id = complaint.intake_body_id
    complaint.intake_body_id = body.id
    complaint.intake_station_id = None
    record_event(
        complaint,
        actor=actor,
        actor_role=str(Role.INTAKE),
        action=str(Move.INTAKE_TRANSFER),
        from_state=str(complaint.state),
        to_state=str(complaint.state),
        details={"from_body_id": from_id, "to_body_id": body.id, "note": note},
        at=now or utcnow(),
    )
    db.session.flush()
    return complaint


# -- consultations ---------------------------------------------------------------------------


def log_consultation(actor: User, data: dict, *, now: datetime | None = None) -> Consultation:
    """Log a consultation answered by a seat or a station: the caller, the question, the
    answer given and its topic (an issue category), optionally the enterprise it was
    about."""
    require_intake(actor)
    errors: dict[str, str] = {}
    caller = _field(
        errors, "caller", lambda: validate_caller(data.get("caller"), address_required=False)
    )
    question = _field(errors, "question", lambda: _text(data.get("question"), "question"))
    answer = _field(errors, "answer", lambda: _text(data.get("answer"), "answer"))
    topic = _field(errors, "topic", lambda: ops._enum(Issue, data.get("topic"), "topic"))
    channel = _field(errors, "channel", lambda: _channel(data.get("channel") or "phone"))
    enterprise_id = data.get("enterprise_id")
    if enterprise_id not in (None, ""):
        found = nameable_enterprise(enterprise_id)
        if found is None:
            errors["enterprise_id"] = str(_l("No such enterprise."))
        enterprise_id = found.id if found else None
    else:
        enterprise_id = None
    if errors:
        raise Invalid(INVALID, errors)
    consultation = Consultation(
        caller_name=caller["name"],
        caller_phone=caller["phone"],
        caller_address=caller["address"],
        channel=channel,
        topic=topic,
        enterprise_id=enterprise_id,
        question=question,
        answer=answer,
        taken_by_id=actor.id,
        intake_body_id=actor.intake_body_id,
        intake_station_id=actor.station_id,
        created_at=now or utcnow(),
    )
    db.session.add(consultation)
    db.session.flush()
    return consultation


def load_consultation(actor: User, consultation_id) -> Consultation:
    """The consultation, if the actor may see it (else NotFound, as for a case)."""
    consultation = _get(Consultation, consultation_id)
    if consultation is None or consultation_role(actor, consultation) is None:
        raise NotFound(_l("No such consultation."))
    return consultation


def transfer_consultation(
    actor: User, consultation: Consultation, *, body_id, note=None, now: datetime | None = None
) -> Consultation:
    """Pass a consultation to another office's seats (a follow-up call, a complaint
    outside this office's area)."""
    require_intake(actor)
    if consultation_role(actor, consultation) != Role.INTAKE:
        raise NotFound(_l("No such consultation."))
    note = _text(note, "note", required=False)
    body = _target_office(body_id, consultation.intake_body_id)
    db.session.add(
        IntakeTransfer(
            consultation_id=consultation.id,
            from_body_id=consultation.intake_body_id,
            to_body_id=body.id,
            by_id=actor.id,
            note=note,
            at=now or utcnow(),
        )
    )
    consultation.intake_body_id = body.id
    consultation.intake_station_id = None
    db.session.flush()
    return consultation


# -- stations and staff (the regulator) ------------------------------------------------------


def register_station(actor: User, data: dict) -> ServiceStation:
    """Register a consumer service station under an office."""
    require_admin(actor)
    errors: dict[str, str] = {}
    name = _field(errors, "name", lambda: _text(data.get("name"), "name", limit=200))
    name_en = _field(
        errors, "name_en", lambda: _text(data.get("name_en"), "name_en", required=False, limit=200)
    )
    address = _field(errors, "address", lambda: _text(data.get("address"), "address", limit=300))
    phone = _field(
        errors, "phone", lambda: _text(data.get("phone"), "phone", required=False, limit=32)
    )
    office = _get(MediationBody, data.get("office_id"))
    if office is None or office.kind != BodyKind.OFFICE:
        errors["office_id"] = str(_l("Choose an office."))
    region_code = str(data.get("region_code") or (office.region_code if office else "") or "")
    if not region_code or db.session.get(Region, region_code) is None:
        errors["region_code"] = str(_l("Unknown region."))
    if errors:
        raise Invalid(INVALID, errors)
    station = ServiceStation(
        name=name,
        name_en=name_en,
        office_id=office.id,
        region_code=region_code,
        address=address,
        phone=phone,
    )
    db.session.add(station)
    db.session.flush()
    return station


def set_station_active(actor: User, station: ServiceStation, active: bool) -> ServiceStation:
    """Close or reopen a station: while closed its staff may not act."""
    require_admin(actor)
    station.active = bool(active)
    db.session.flush()
    return station


def set_intake_user_active(actor: User, user_id, active: bool) -> User:
    """Close an intake account (they can no longer sign in; what they filed stays with
    their office) or reopen it."""
    require_admin(actor)
    user = _get(User, user_id)
    if user is None or user.role != UserRole.INTAKE:
        raise NotFound(_l("No such intake account."))
    user.active = bool(active)
    db.session.flush()
    return user


def create_intake_user(
    actor: User,
    *,
    email,
    password,
    name,
    office_id=None,
    station_id=None,
    locale="zh_CN",
) -> User:
    """An intake account: a seat at an office's hotline, or staff of a station (who then
    belong to the station's office as well)."""
    require_admin(actor)
    station = office = None
    if station_id not in (None, ""):
        station = _get(ServiceStation, station_id)
        if station is None:
            raise Invalid(INVALID, {"station_id": str(_l("No such service station."))})
        office = station.office
    else:
        office = _get(MediationBody, office_id)
        if office is None or office.kind != BodyKind.OFFICE:
            raise Invalid(INVALID, {"office_id": str(_l("Choose an office."))})
    user = auth_ops.create_user(
        role=UserRole.INTAKE,
        email=email,
        password=password,
        name=name,
        locale=locale if locale in ("zh_CN", "en") else "zh_CN",
        intake_body_id=office.id,
        station_id=station.id if station else None,
    )
    return user


# -- what a seat sees: its workload and lists -------------------------------------------------


def consultations_page(user: User, *, after: int | None = None, size: int = 51) -> list:
    """The consultations the user may see, newest first, `size` of them after id `after`."""
    statement = (
        db.select(Consultation)
        .where(consultations_visible_to(user))
        .options(
            selectinload(Consultation.transfers).selectinload(IntakeTransfer.from_body),
            selectinload(Consultation.transfers).selectinload(IntakeTransfer.to_body),
            selectinload(Consultation.intake_body),
            selectinload(Consultation.station),
            selectinload(Consultation.enterprise),
        )
        .order_by(Consultation.id.desc())
        .limit(size)
    )
    if after is not None:
        statement = statement.where(Consultation.id < after)
    return list(db.session.scalars(statement))


def workload(user: User, *, now: datetime | None = None) -> dict:
    """What an intake user took and what their office (or station) holds."""
    now = now or utcnow()
    count = sa.func.count
    open_ = Complaint.state.in_(OPEN_STATES)
    mine = Complaint.taken_by_id == user.id
    filed, filed_open, awaiting = db.session.execute(
        db.select(
            count(),
            sa.func.coalesce(sa.func.sum(sa.case((open_, 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((User.claim_pending.is_(True), 1), else_=0)), 0),
        )
        .select_from(Complaint)
        .join(User, User.id == Complaint.consumer_id)
        .where(mine)
    ).one()
    held_open = db.session.scalar(
        db.select(count()).select_from(Complaint).where(cases_visible_to(user), open_)
    )
    start = datetime.combine(ops.deadlines.local_date(now), datetime.min.time()).replace(
        tzinfo=ops.deadlines.SHANGHAI
    )
    consultations, today = db.session.execute(
        db.select(
            count(),
            sa.func.coalesce(
                sa.func.sum(sa.case((Consultation.created_at >= start, 1), else_=0)), 0
            ),
        ).where(Consultation.taken_by_id == user.id)
    ).one()
    return {
        "filed": int(filed),
        "filed_open": int(filed_open),
        "awaiting_claim": int(awaiting),
        "held_open": int(held_open or 0),
        "consultations": int(consultations),
        "consultations_today": int(today),
    }
