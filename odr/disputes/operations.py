"""One function per use case. Each checks the actor's part in the case and the move
against the transition table, changes the case, writes exactly one event and queues the
notifications. Operations flush, never commit: the caller commits once.
"""

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from types import SimpleNamespace

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from odr.auth.models import User, UserRole
from odr.disputes import clocks, deadlines, memo, routing, rules, seals
from odr.disputes import notifications as notices
from odr.disputes.choices import (
    AgreementStatus,
    Issue,
    OfferStatus,
    PerformanceStatus,
    RecordKind,
    Remedy,
    Request,
    SubjectKind,
)
from odr.disputes.credit_code import credit_code_error
from odr.disputes.events import event_row, record_event
from odr.disputes.evidence import store_evidence
from odr.disputes.models import (
    Agreement,
    BodyMembership,
    CaseEvent,
    Complaint,
    Draft,
    Enterprise,
    Evidence,
    MediationBody,
    Message,
    Notification,
    Offer,
    Outbox,
    Region,
    Signature,
)
from odr.disputes.notifications import look_up_ahead, notify
from odr.disputes.permissions import (
    is_body_head,
    may_act,
    nameable_enterprise,
    part_in_case,
    require_capability,
    role_in_case,
)
from odr.disputes.records import issue_record
from odr.disputes.signals import announce_rows
from odr.disputes.states import (
    OPEN_STATES,
    TARGETS,
    DomainError,
    Forbidden,
    Invalid,
    InvalidTransition,
    Move,
    NotFound,
    RefusalReason,
    Role,
    State,
    TerminationReason,
    check_move,
)
from odr.extensions import db
from odr.types import as_id, money, utcnow

MAX_TEXT = 10_000


# -- helpers -----------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


# session.info key: (transaction, ids) of the cases locked and reloaded by _lock or by
# `hold` (the API loads a case FOR UPDATE), valid while that transaction lasts.
LOCKED = "odr_locked_cases"

_LOCK = (
    db.select(Complaint)
    .where(Complaint.id == db.bindparam("cid"))
    .with_for_update(of=Complaint)
    .execution_options(populate_existing=True)
)


def hold(complaint_id: int) -> None:
    """Note that the case's row is locked and freshly loaded in the current transaction
    (the operations then do not select it again)."""
    transaction = db.session().get_transaction()
    held = db.session.info.get(LOCKED)
    if held is None or held[0] is not transaction:
        held = db.session.info[LOCKED] = (transaction, set())
    held[1].add(complaint_id)


def _holding(complaint_id: int) -> bool:
    held = db.session.info.get(LOCKED)
    return (
        held is not None
        and complaint_id in held[1]
        and held[0] is not None
        and held[0] is db.session().get_transaction()
    )


def _lock(complaint: Complaint) -> None:
    """Hold the case's row (SELECT ... FOR UPDATE on PostgreSQL) until the transaction ends
    and reload it, so concurrent moves on one case queue up here and each sees the state
    the previous one left (without it, a new offer racing an acceptance deadlocked on the
    offer and complaint rows). Once a transaction: a second move in it (make_offer asked
    twice) needs no reload. SQLite serialises writers anyway, and the case's version
    column turns a change made in between into a conflict."""
    if complaint.id is None or complaint not in db.session:
        return
    if _holding(complaint.id):
        return
    db.session.scalars(_LOCK, {"cid": complaint.id}).one()  # fetched: the case is refreshed
    hold(complaint.id)


def _role(actor: User | None, complaint: Complaint) -> Role:
    """The actor's part in the case; a case they may not see does not exist for them, and
    an account that may not act (permissions.may_act) is refused whatever the channel."""
    _lock(complaint)
    if actor is None:
        return Role.SYSTEM
    role = part_in_case(actor, complaint)
    if role is None:
        raise NotFound(_l("No such case."))
    require_capability(actor)
    return role


def _move(
    complaint: Complaint,
    move: Move,
    actor: User | None,
    now: datetime,
    *,
    to_state: State | None = None,
    details: dict | None = None,
):
    """Check the move, apply the new state and write its one event."""
    role = _role(actor, complaint)
    check_move(move, complaint.state, role)
    from_state = complaint.state
    target = to_state or TARGETS.get(move) or from_state
    complaint.state = target
    return record_event(
        complaint,
        actor=actor,
        actor_role=str(role),
        action=str(move),
        from_state=str(from_state) if from_state else None,
        to_state=str(target),
        details=details,
        at=now,
    )


def _start_clock(complaint: Complaint, start: datetime, n: int) -> None:
    """Start the case's clock: N working days from the day of `start`, stamped with the
    calendar it was computed under (odr/disputes/clocks.py)."""
    calendar = deadlines.current()
    _set_clock(complaint, calendar.working_day_deadline(start, n), calendar)


def _set_clock(
    complaint: Complaint,
    deadline_at: datetime | None,
    calendar: deadlines.Calendar | None = None,
    *,
    continued: bool = False,
) -> None:
    """Set the case's deadline and reminder, kept in UTC as the database gives them back (so
    an answer or a webhook built from the case in memory reads like one built from a loaded
    case), and the version of the calendar they follow. A clock `continued` from the case's
    stored one (a resumption) keeps no version when the stored one was of another calendar:
    the sweep derives it again from its start."""
    if deadline_at is None:
        complaint.deadline_at = complaint.reminder_at = None
        complaint.calendar_version = None
        return
    complaint.deadline_at = deadline_at.astimezone(UTC)
    complaint.reminder_at = calendar.reminder_moment(deadline_at).astimezone(UTC)
    complaint.calendar_version = _version_after(complaint, calendar, continued)


def _version_after(complaint: Complaint, calendar: deadlines.Calendar, continued: bool):
    if continued and complaint.calendar_version != calendar.version:
        return None
    return calendar.version


def storable_text(value: str) -> bool:
    """No NUL character (PostgreSQL refuses it) and no lone surrogate (not UTF-8)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(value, field: str, *, required=True, limit=MAX_TEXT) -> str | None:
    value = (value or "").strip() if isinstance(value, str) or value is None else None
    if value is None:
        raise Invalid(_l("Invalid input."), {field: str(_l("Must be text."))})
    if required and not value:
        raise Invalid(_l("Invalid input."), {field: str(_l("This field is required."))})
    if not storable_text(value):
        raise Invalid(
            _l("Invalid input."), {field: str(_l("Contains characters that are not allowed."))}
        )
    if len(value) > limit:
        raise Invalid(
            _l("Invalid input."),
            {field: str(_l("At most %(n)s characters.", n=limit))},
        )
    return value or None


def _amount(value, field: str) -> Decimal:
    try:
        amount = money(value)
    except (InvalidOperation, ValueError, TypeError):
        raise Invalid(_l("Invalid input."), {field: str(_l("Not a valid amount."))}) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1000000000000"):
        raise Invalid(_l("Invalid input."), {field: str(_l("Not a valid amount."))})
    return amount


def _date(value, field: str, *, required=True) -> date | None:
    if value in (None, ""):
        if required:
            raise Invalid(_l("Invalid input."), {field: str(_l("This field is required."))})
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(_l("Invalid input."), {field: str(_l("Not a valid date."))}) from None


def _enum(enum_cls, value, field: str):
    try:
        return enum_cls(value)
    except ValueError:
        raise Invalid(_l("Invalid input."), {field: str(_l("Not a valid choice."))}) from None


def _open_offer(complaint: Complaint, offer_id: int) -> Offer:
    offer = db.session.get(Offer, offer_id)
    if offer is None or offer.complaint_id != complaint.id:
        raise NotFound(_l("No such offer."))
    return offer


def _current_agreement(complaint: Complaint) -> Agreement | None:
    return db.session.scalar(
        db.select(Agreement)
        .where(Agreement.complaint_id == complaint.id, Agreement.status == AgreementStatus.PROPOSED)
        .order_by(Agreement.id.desc())
        .limit(1)
    )


def _issue(complaint: Complaint, kind: RecordKind, now: datetime):
    record = issue_record(complaint, kind, now=now)
    notify(complaint, "record_issued", params={"kind": str(kind), "code": record.code})
    return record


def next_reference(complaint: Complaint, now: datetime) -> str:
    return f"ODR-{deadlines.local_date(now).year}-{complaint.id:07d}"


# -- filing ------------------------------------------------------------------------------


def validate_complaint(data: dict, today: date) -> dict:
    """Check a complaint's fields; answer the clean values or raise Invalid with every
    field's message at once."""
    errors: dict[str, str] = {}
    clean: dict = {}

    def attempt(field, fn):
        try:
            clean[field] = fn()
        except Invalid as exc:
            errors.update(exc.fields)

    attempt(
        "complainant_name",
        lambda: _text(data.get("complainant_name"), "complainant_name", limit=100),
    )
    attempt(
        "complainant_phone",
        lambda: _text(data.get("complainant_phone"), "complainant_phone", limit=32),
    )
    attempt(
        "complainant_address",
        lambda: _text(data.get("complainant_address"), "complainant_address", limit=300),
    )
    attempt(
        "subject_kind",
        lambda: _enum(SubjectKind, data.get("subject_kind") or "goods", "subject_kind"),
    )
    attempt("subject", lambda: _text(data.get("subject"), "subject", limit=200))
    attempt("purchase_date", lambda: _date(data.get("purchase_date"), "purchase_date"))
    attempt(
        "purchase_place",
        lambda: _text(data.get("purchase_place"), "purchase_place", required=False, limit=300),
    )
    attempt(
        "purchase_url",
        lambda: _text(data.get("purchase_url"), "purchase_url", required=False, limit=500),
    )
    attempt("amount", lambda: _amount(data.get("amount"), "amount"))
    attempt("issue", lambda: _enum(Issue, data.get("issue"), "issue"))
    attempt("claimed_amount", lambda: _amount(data.get("claimed_amount"), "claimed_amount"))
    attempt("facts", lambda: _text(data.get("facts"), "facts"))

    requests = data.get("requests")
    if not isinstance(requests, list | tuple) or not requests:
        errors["requests"] = str(_l("Choose at least one request."))
    else:
        try:
            clean["requests"] = sorted({str(_enum(Request, r, "requests")) for r in requests})
        except Invalid as exc:
            errors.update(exc.fields)
        except TypeError:
            errors["requests"] = str(_l("Not a valid choice."))

    if "purchase_date" in clean and clean["purchase_date"] and clean["purchase_date"] > today:
        errors["purchase_date"] = str(_l("The purchase date cannot be in the future."))
    url = clean.get("purchase_url")
    if url and not url.lower().startswith(("http://", "https://")):
        errors["purchase_url"] = str(_l("Enter a web address starting with http:// or https://."))
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    return clean


def resolve_respondent(data: dict) -> tuple[Enterprise | None, dict]:
    """The listed enterprise, or the particulars of one that is not listed."""
    errors: dict[str, str] = {}
    enterprise_id = data.get("enterprise_id")
    if enterprise_id not in (None, ""):
        # Only an approved enterprise can be named (permissions.nameable): one still
        # applying is answered as an unknown id, and learns nothing of the consumer.
        enterprise = nameable_enterprise(enterprise_id)
        if enterprise is None:
            raise Invalid(
                _l("Please correct the marked fields."),
                {"enterprise_id": str(_l("No such enterprise."))},
            )
        return enterprise, {}
    name = (data.get("respondent_name") or "").strip()
    region_code = (data.get("respondent_region_code") or data.get("region_code") or "").strip()
    if not name:
        errors["enterprise_id"] = str(_l("Choose the enterprise, or name it if it is not listed."))
    if not region_code or db.session.get(Region, region_code) is None:
        errors["respondent_region_code"] = str(_l("Choose the region where the business is."))
    code = (data.get("respondent_credit_code") or "").strip().upper() or None
    if code and credit_code_error(code):
        errors["respondent_credit_code"] = str(credit_code_message(credit_code_error(code)))
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    return None, {
        "respondent_name": name[:200],
        "respondent_region_code": region_code,
        "respondent_credit_code": code,
    }


def _truthy(value, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "on", "y", "yes"}


def resolve_platform(data: dict, enterprise: Enterprise | None) -> dict:
    """The platform a seller trades on, as the filing names it: a listed enterprise
    (platform_id) or a name with the region of its domicile; and whether the seller's
    published address can be used (if not, the platform's domicile decides jurisdiction).
    Answers the complaint's platform columns or raises Invalid."""
    errors: dict[str, str] = {}
    usable = _truthy(data.get("seller_address_usable"), True)
    platform_id = data.get("platform_id")
    platform = None
    if platform_id not in (None, ""):
        try:
            platform = db.session.get(Enterprise, int(platform_id))
        except (TypeError, ValueError):
            platform = None
        if platform is None:
            errors["platform_id"] = str(_l("No such enterprise."))
        elif enterprise is not None and platform.id == enterprise.id:
            errors["platform_id"] = str(_l("The platform cannot be the seller itself."))
    name = data.get("platform_name")
    name = name.strip() if isinstance(name, str) else ""
    region_code = data.get("platform_region_code")
    region_code = region_code.strip() if isinstance(region_code, str) else ""
    if platform is None and "platform_id" not in errors:
        if len(name) > 200 or not storable_text(name):
            errors["platform_name"] = str(_l("Not a valid name."))
        if name and (not region_code or db.session.get(Region, region_code) is None):
            errors["platform_region_code"] = str(
                _l("Choose the region where the platform operator is domiciled.")
            )
        elif region_code and not name:
            errors["platform_name"] = str(_l("Name the platform."))
        if not usable and not name and not (enterprise is not None and enterprise.platform_id):
            errors["platform_name"] = str(
                _l("Name the platform: without a usable address its domicile decides.")
            )
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    if platform is not None:
        return {
            "platform_id": platform.id,
            "platform_name": None,
            "platform_region_code": None,
            "seller_address_usable": usable,
        }
    return {
        "platform_id": None,
        "platform_name": name or None,
        "platform_region_code": region_code or None,
        "seller_address_usable": usable,
    }


def platform_region(complaint) -> str | None:
    """The domicile of the platform the case names (listed or named), or None."""
    if complaint.platform_id:
        platform = db.session.get(Enterprise, complaint.platform_id)
        return platform.region_code if platform is not None else None
    return complaint.platform_region_code


def credit_code_message(error: str | None):
    return {
        "length": _l("A unified social credit code has 18 characters."),
        "characters": _l(
            "A unified social credit code uses digits and capital letters except I, O, Z, S, V."
        ),
        "check": _l("The check character (the last one) does not match: please check the code."),
    }.get(error or "", _l("Not a valid unified social credit code."))


def routing_preview(
    enterprise: Enterprise | None,
    green_channel: bool,
    purchase_date: date | None,
    region_code: str | None,
    now: datetime | None = None,
    *,
    platform_region_code: str | None = None,
    seller_address_usable: bool = True,
) -> dict:
    """Where a complaint would go if filed now (shown to the consumer before submitting)."""
    now = _now(now)
    today = deadlines.local_date(now)
    if enterprise is not None and routing.goes_to_enterprise(
        enterprise, green_channel, purchase_date or today, today
    ):
        return {
            "to": "enterprise",
            "enterprise": enterprise,
            "deadline_at": deadlines.working_day_deadline(now, deadlines.NEGOTIATION_DAYS),
        }
    body = routing.competent_body(
        enterprise,
        region_code,
        platform_region_code=platform_region_code,
        seller_address_usable=seller_address_usable,
    )
    staffed_id, _passed = routing.staffed_office(body.id if body is not None else None)
    if body is not None and staffed_id != body.id:
        body = db.session.get(MediationBody, staffed_id)
    return {
        "to": "body",
        "body": body,
        "deadline_at": deadlines.working_day_deadline(now, deadlines.ACCEPTANCE_DAYS),
    }


def file_complaint(consumer: User, data: dict, *, now: datetime | None = None) -> Complaint:
    """File a complaint. Routes it to the enterprise (green channel) or the competent body."""
    return filing(consumer, data, now=now)[0]


def filing(
    consumer: User, data: dict, *, now: datetime | None = None, joint_id: int | None = None
) -> tuple[Complaint, CaseEvent]:
    """file_complaint, answering the new case and its first event (the API shows both
    without reading them back). With `joint_id` (odr/disputes/joint.py) the case is a
    member's claim in a joint complaint: it waits, `gathering`, with no clock and nobody
    told, until a representative submits the group (submit_members)."""
    if consumer is None or consumer.role != UserRole.CONSUMER:
        raise Forbidden(_l("Only consumers file complaints."))
    require_capability(consumer)
    return file_for(consumer, data, actor=consumer, role=Role.CONSUMER, now=now, joint_id=joint_id)


def file_for(
    consumer: User,
    data: dict,
    *,
    actor: User,
    role: Role,
    intake: dict | None = None,
    now: datetime | None = None,
    joint_id: int | None = None,
) -> tuple[Complaint, CaseEvent]:
    """File a complaint for `consumer`, made by `actor` in `role`: the consumer themselves,
    or intake staff for a caller (odr.disputes.intake checks them and passes `intake`, the
    case's channel and intake columns). The caller checks who may file."""
    now = _now(now)
    today = deadlines.local_date(now)
    data = dict(data)
    data.setdefault("complainant_name", consumer.name)
    data.setdefault("complainant_phone", consumer.phone)
    data.setdefault("complainant_address", consumer.address)
    errors: dict = {}
    try:
        clean = validate_complaint(data, today)
    except Invalid as exc:
        errors.update(exc.fields)
        clean = {}
    try:
        enterprise, respondent = resolve_respondent(data)
    except Invalid as exc:
        errors.update(exc.fields)
        enterprise, respondent = None, {}
    try:
        platform = resolve_platform(data, enterprise)
    except Invalid as exc:
        errors.update(exc.fields)
        platform = {}
    rule_set = rules.rule_set_for(today)
    # Order 121 wants true identity information. A consumer files under their own account,
    # whose name and phone they gave when registering: a filing that says nothing declares
    # that identity (API.md's callers send no such field); only an explicit "no" is refused.
    declared = _truthy(data.get("identity_declared"), True)
    if rule_set.identity_declaration and not declared:
        errors["identity_declared"] = str(
            _l(
                "Confirm that the identity you give is your own and true: a complaint "
                "under a false or another person's identity is not accepted."
            )
        )
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)

    green = data.get("green_channel", True)
    green = green if isinstance(green, bool) else str(green).lower() in {"1", "true", "on", "y"}
    complaint = Complaint(
        reference=f"pending-{uuid.uuid4().hex[:24]}",  # fits String(32) until the real one
        consumer_id=consumer.id,
        language=consumer.locale or "zh_CN",
        enterprise_id=enterprise.id if enterprise else None,
        green_channel=green,
        filed_at=now,
        **clean,
        **respondent,
        **platform,
        **(intake or {}),
    )
    complaint.consumer = consumer
    complaint.enterprise = enterprise
    routing_note: dict = {"rule_set": rule_set.code}
    if declared:
        routing_note["identity_declared"] = True
    if joint_id is not None:
        complaint.state = State.GATHERING
        note = {"joint_complaint_id": joint_id, **routing_note}
        return complaint, _write_filing(complaint, actor, role, State.GATHERING, set(), now, note)
    if routing.goes_to_enterprise(enterprise, green, clean["purchase_date"], today):
        state = State.NEGOTIATING
        _start_clock(complaint, now, deadlines.NEGOTIATION_DAYS)
        complaint.answer_due_at = complaint.deadline_at
    else:
        state = State.PENDING_ACCEPTANCE
        body = routing.competent_body(
            enterprise,
            respondent.get("respondent_region_code") or consumer.region_code,
            platform_region_code=platform_region(complaint),
            seller_address_usable=complaint.seller_address_usable,
        )
        body_id, passed_over = routing.staffed_office(body.id if body else None)
        if passed_over is not None:
            body = db.session.get(MediationBody, body_id)
            routing_note["passed_over_body_id"] = passed_over
        complaint.body_id = body.id if body else None
        complaint.body = body
        complaint.arrived_at = now
        _start_clock(complaint, now, deadlines.ACCEPTANCE_DAYS)
    complaint.state = state
    audiences = {"enterprise"} if state == State.NEGOTIATING else {"enterprise", "mediator"}
    with memo.scope():
        # Who is told, looked up before the first INSERT takes SQLite's write lock.
        look_up_ahead(
            "filed", audiences, enterprise_id=complaint.enterprise_id, body_id=complaint.body_id
        )
        event = _write_filing(complaint, actor, role, state, audiences, now, routing_note)
    return complaint, event


def _write_filing(
    complaint: Complaint, actor: User, role: Role, state: State, audiences, now, note: dict
) -> CaseEvent:
    db.session.add(complaint)
    db.session.flush()
    complaint.reference = next_reference(complaint, now)
    if state == State.GATHERING:  # not routed yet: a joint complaint's member claim
        details = note
    else:
        details = {
            "routed_to": "enterprise" if state == State.NEGOTIATING else "body",
            "body_id": complaint.body_id,
            **note,
        }
    if role == Role.INTAKE:
        details["channel"] = str(complaint.channel)
    event = record_event(
        complaint,
        actor=actor,
        actor_role=str(role),
        action=str(Move.FILE),
        from_state=None,
        to_state=str(state),
        details=details,
        at=now,
    )
    db.session.flush()
    if audiences:
        notify(complaint, "filed", actor=actor, event_id=event.id, audiences=audiences)
    return event


def attach_draft_evidence(complaint: Complaint, draft_id: int) -> None:
    for item in db.session.scalars(db.select(Evidence).where(Evidence.draft_id == draft_id)):
        item.complaint_id = complaint.id
        item.draft_id = None
    draft = db.session.get(Draft, draft_id)
    if draft is not None:
        db.session.delete(draft)


# -- messages ----------------------------------------------------------------------------


def post_message(
    actor: User,
    complaint: Complaint,
    body: str,
    *,
    internal: bool = False,
    now: datetime | None = None,
) -> Message:
    now = _now(now)
    role = _role(actor, complaint)
    if role not in {Role.CONSUMER, Role.ENTERPRISE, Role.MEDIATOR}:
        raise Forbidden(_l("You may not write on this case."))
    if internal and role != Role.MEDIATOR:
        raise Forbidden(_l("Only mediators write private notes."))
    if not _open_for_writing(complaint):
        raise InvalidTransition(_l("The case is closed."))
    text = _text(body, "body")
    message = Message(
        complaint_id=complaint.id,
        author_id=actor.id,
        author_role=str(role),
        body=text,
        internal=internal,
        created_at=now,
    )
    db.session.add(message)
    if role == Role.ENTERPRISE and complaint.first_answer_at is None:
        complaint.first_answer_at = now
    db.session.flush()
    if not internal:
        notify(
            complaint,
            "message",
            actor=actor,
            params={"message_id": message.id},
            event_id=message.id,
        )
    return message


# -- evidence ----------------------------------------------------------------------------

# Who adds files to a case; like messages, while it is open and after an agreed outcome.
EVIDENCE_ROLES = frozenset({Role.CONSUMER, Role.ENTERPRISE, Role.MEDIATOR})


def _open_for_writing(complaint: Complaint) -> bool:
    return complaint.state.is_open or complaint.state in {State.SETTLED, State.MEDIATED}


def add_evidence(
    actor: User, complaint: Complaint, stream, filename: str | None, *, now=None
) -> Evidence:
    """Add a file (a file-like object) to the case's evidence: checked and kept by
    evidence.store_evidence, written on the timeline as one event. Every channel (the
    consumer's and the enterprise's case pages, the API) adds evidence here."""
    now = _now(now)
    role = _role(actor, complaint)
    if role not in EVIDENCE_ROLES:
        raise Forbidden(_l("You may not do this on this case."))
    if not _open_for_writing(complaint):
        raise InvalidTransition(_l("The case is closed."))
    item = store_evidence(actor, stream, filename, complaint=complaint)
    state = str(complaint.state)
    record_event(
        complaint,
        actor=actor,
        actor_role=str(role),
        action=str(Move.ADD_EVIDENCE),
        from_state=state,
        to_state=state,
        details={"evidence_id": item.id, "filename": item.filename, "sha256": item.sha256},
        at=now,
    )
    return item


# -- direct settlement -------------------------------------------------------------------


# One statement (was a SELECT, then an UPDATE when an offer was open); offers loaded in
# the session are updated too.
_SUPERSEDE = (
    db.update(Offer)
    .where(Offer.complaint_id == db.bindparam("cid"), Offer.status == OfferStatus.OPEN)
    .values(status=OfferStatus.SUPERSEDED)
    .returning(Offer.id)
)


def make_offer(
    actor: User,
    complaint: Complaint,
    *,
    remedy,
    amount,
    terms,
    performance_due=None,
    expires_on=None,
    now: datetime | None = None,
) -> Offer:
    """An enterprise's offer; it replaces the open one. `expires_on`: the last day it may
    be accepted (none: until it is answered). A ¥0 refund is allowed but warned about
    (offer_warnings): the web asks to confirm, the API answers the warning."""
    now = _now(now)
    errors: dict = {}
    values: dict = {}
    for field, fn in (
        ("remedy", lambda: _enum(Remedy, remedy, "remedy")),
        ("amount", lambda: _amount(amount, "amount")),
        ("terms", lambda: _text(terms, "terms")),
        ("performance_due", lambda: _date(performance_due, "performance_due", required=False)),
        ("expires_on", lambda: _date(expires_on, "expires_on", required=False)),
    ):
        try:
            values[field] = fn()
        except Invalid as exc:
            errors.update(exc.fields)
    role = _role(actor, complaint)
    check_move(Move.MAKE_OFFER, complaint.state, role)
    today = deadlines.local_date(now)
    for field in ("performance_due", "expires_on"):
        if values.get(field) and values[field] < today:
            errors[field] = str(_l("The date cannot be in the past."))
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    seals.remember_before(db.session(), "offer", [complaint.id])
    superseded = db.session.scalars(_SUPERSEDE, {"cid": complaint.id}).all()  # the open one
    seals.note(db.session(), "offer", [complaint.id], superseded)
    offer = Offer(complaint_id=complaint.id, made_by_id=actor.id, created_at=now, **values)
    db.session.add(offer)
    if complaint.first_answer_at is None:
        complaint.first_answer_at = now
    db.session.flush()
    event = _move(
        complaint,
        Move.MAKE_OFFER,
        actor,
        now,
        details={
            "offer_id": offer.id,
            "remedy": str(offer.remedy),
            "amount": f"{offer.amount:.2f}",
        },
    )
    notify(
        complaint,
        "offer_made",
        actor=actor,
        params={"offer_id": offer.id, "amount": f"{offer.amount:.2f}"},
        event_id=event.id,
    )
    return offer


def accept_offer(
    actor: User, complaint: Complaint, offer_id: int, *, now: datetime | None = None
) -> Complaint:
    now = _now(now)
    role = _role(actor, complaint)
    check_move(Move.ACCEPT_OFFER, complaint.state, role)
    offer = _open_offer(complaint, offer_id)
    if offer.status != OfferStatus.OPEN:
        raise InvalidTransition(_l("This offer is no longer open."))
    if offer_expired(offer, deadlines.local_date(now)):
        raise InvalidTransition(
            _l("This offer expired on %(day)s.", day=offer.expires_on.isoformat())
        )
    offer.status = OfferStatus.ACCEPTED
    offer.answered_at = now
    complaint.settled_amount = offer.amount
    _agreed(complaint, offer.performance_due)
    complaint.closed_at = now
    _set_clock(complaint, None)
    event = _move(complaint, Move.ACCEPT_OFFER, actor, now, details={"offer_id": offer.id})
    db.session.flush()
    notify(
        complaint, "offer_accepted", actor=actor, params={"offer_id": offer.id}, event_id=event.id
    )
    notify(complaint, "settled", actor=actor, event_id=event.id)
    _issue(complaint, RecordKind.SETTLEMENT, now)
    return complaint


def reject_offer(
    actor: User,
    complaint: Complaint,
    offer_id: int,
    *,
    counter_proposal=None,
    counter_remedy=None,
    counter_amount=None,
    now: datetime | None = None,
) -> Complaint:
    """The consumer rejects an open offer, optionally with a counter-offer: a remedy and an
    amount (both, or neither), and a note."""
    now = _now(now)
    role = _role(actor, complaint)
    check_move(Move.REJECT_OFFER, complaint.state, role)
    offer = _open_offer(complaint, offer_id)
    if offer.status != OfferStatus.OPEN:
        raise InvalidTransition(_l("This offer is no longer open."))
    errors: dict = {}
    values: dict = {}
    for field, fn in (
        ("counter_proposal", lambda: _text(counter_proposal, "counter_proposal", required=False)),
        (
            "counter_remedy",
            lambda: (
                _enum(Remedy, counter_remedy, "counter_remedy")
                if counter_remedy not in (None, "")
                else None
            ),
        ),
        (
            "counter_amount",
            lambda: (
                _amount(counter_amount, "counter_amount")
                if counter_amount not in (None, "")
                else None
            ),
        ),
    ):
        try:
            values[field] = fn()
        except Invalid as exc:
            errors.update(exc.fields)
    if not errors and (values["counter_remedy"] is None) != (values["counter_amount"] is None):
        missing = "counter_amount" if values["counter_amount"] is None else "counter_remedy"
        errors[missing] = str(_l("A counter-offer needs both a remedy and an amount."))
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    counter = values["counter_proposal"]
    offer.status = OfferStatus.REJECTED
    offer.answered_at = now
    offer.counter_proposal = counter
    offer.counter_remedy = values["counter_remedy"]
    offer.counter_amount = values["counter_amount"]
    details = {"offer_id": offer.id, "counter_proposal": counter}
    if offer.counter_remedy is not None:
        details |= {
            "counter_remedy": str(offer.counter_remedy),
            "counter_amount": f"{offer.counter_amount:.2f}",
        }
    event = _move(complaint, Move.REJECT_OFFER, actor, now, details=details)
    notify(
        complaint,
        "offer_rejected",
        actor=actor,
        params=dict(details),
        event_id=event.id,
    )
    return complaint


# -- offers: the rules a page and the API both show ---------------------------------------

# Remedies whose amount is money paid to the consumer: ¥0 of one is worth a warning.
PAID_REMEDIES = frozenset({Remedy.REFUND, Remedy.COMPENSATE})


def offer_warnings(remedy, amount) -> list[dict]:
    """What an enterprise is warned of before (web) or after (API `warnings`) making an
    offer: none for an ordinary offer. A ¥0 refund or compensation is allowed (the terms
    may give something else) but usually a mistake, and the consumer reads it as none."""
    try:
        remedy, value = Remedy(remedy), money(amount)
    except (ValueError, TypeError, InvalidOperation):
        return []
    if remedy in PAID_REMEDIES and value == 0:
        return [
            {
                "code": "zero_amount",
                "message": str(
                    _l("The offer pays ¥0.00: the consumer receives no money. Is that intended?")
                ),
            }
        ]
    return []


def offer_expired(offer: Offer, today: date) -> bool:
    """An open offer past its last day can no longer be accepted."""
    return offer.expires_on is not None and offer.expires_on < today


def offer_status(offer: Offer, today: date) -> OfferStatus:
    """Where an offer stands as the parties see it: an open one past its day is expired."""
    if offer.status == OfferStatus.OPEN and offer_expired(offer, today):
        return OfferStatus.EXPIRED
    return offer.status


def _to_mediation(
    cases,
    move: Move,
    actor: User | None,
    now: datetime,
    details,
    group: dict | None = None,
    *,
    reopen: bool = False,
) -> list[Complaint]:
    """Leave direct settlement for the competent body (decline, escalate or deadline): one
    case by hand, a batch in the sweep, by the same statements (see _Batch).
    `details(row)` is the event's own part. `reopen`: an agreed case whose agreement was
    breached (it is open again, and not yet asked about performance)."""
    batch = _Batch(cases, move, actor, now)
    bodies = batch.competent_bodies()
    calendar = deadlines.current()
    deadline_at = calendar.working_day_deadline(now, deadlines.ACCEPTANCE_DAYS).astimezone(UTC)
    changes = {
        "escalated_at": now,
        "arrived_at": now,
        "deadline_at": deadline_at,
        "reminder_at": calendar.reminder_moment(deadline_at).astimezone(UTC),
        "calendar_version": calendar.version,
    }
    # Set only where one is flagged or raised (SQLite rewrites the index entries of every
    # column named in SET, changed or not).
    if any(row.overdue_flagged or row.raised_to_body_id is not None for row in batch.rows):
        changes |= {"overdue_flagged": False, "raised_to_body_id": None}
    if reopen:
        changes |= {"closed_at": None, "performance_reminder_at": None}

    def body_id(row):
        return bodies[row.id][0] if bodies[row.id] else None

    def noted(row):
        note = {**details(row), "body_id": body_id(row)}
        if row.id in batch.passed_over:
            note["passed_over_body_id"] = batch.passed_over[row.id]
        return note

    batch.make(changes, lambda row: ({"body_id": body_id(row)}, noted(row)))
    batch.tell(
        "escalated",
        lambda row: {"body": bodies[row.id][1] if bodies[row.id] else ""},
        body_id,
        then=_lapse_open_offers,
        group=group,
    )
    return batch.moved


def _lapse_open_offers(ids: list[int]) -> None:
    lapsing = {"status": OfferStatus.LAPSED}
    expected = seals.remember_before(
        db.session(),
        "offer",
        ids,
        writes=lambda row: lapsing if row.status == OfferStatus.OPEN else None,
    )
    lapsed = db.session.execute(
        db.update(Offer)
        .where(Offer.complaint_id.in_(ids), Offer.status == OfferStatus.OPEN)
        .values(status=OfferStatus.LAPSED)
        .returning(Offer.id, Offer.complaint_id)
    ).all()
    # Sealed as lapsed from the reading above; any other outcome (an offer that changed
    # between the reading and the UPDATE) has every offer of these cases read back.
    if {offer_id for offer_id, _ in lapsed} != expected:
        seals.note(db.session(), "offer", ids)


def decline(actor: User, complaint: Complaint, *, reason=None, now=None) -> Complaint:
    now = _now(now)
    reason = _text(reason, "reason", required=False)
    check_move(Move.DECLINE, complaint.state, _role(actor, complaint))
    if complaint.first_answer_at is None:
        complaint.first_answer_at = now
    _to_mediation(complaint, Move.DECLINE, actor, now, lambda row: {"reason": reason})
    return complaint


def escalate(actor: User, complaint: Complaint, *, reason=None, now=None) -> Complaint:
    now = _now(now)
    reason = _text(reason, "reason", required=False)
    _to_mediation(complaint, Move.ESCALATE, actor, now, lambda row: {"reason": reason})
    return complaint


def escalate_overdue(cases, *, now=None):
    """Negotiating cases past their deadline go to the competent body: one case or a batch
    (the sweep's), answered alike."""
    moved = _to_mediation(
        cases, Move.ESCALATE_OVERDUE, None, _now(now), lambda row: {"deadline_at": row.deadline_at}
    )
    return _alike(cases, moved)


def withdraw(actor: User, complaint: Complaint, *, reason=None, now=None) -> Complaint:
    now = _now(now)
    reason = _text(reason, "reason", required=False)
    role = _role(actor, complaint)
    check_move(Move.WITHDRAW, complaint.state, role)
    was_mediating = complaint.state in {State.MEDIATING, State.SUSPENDED}
    # A member leaving a joint complaint before it is submitted: nobody else knew the case.
    was_gathering = complaint.state == State.GATHERING
    complaint.closed_at = now
    complaint.termination_reason = TerminationReason.T1
    _set_clock(complaint, None)
    complaint.clock_days_left = None
    event = _move(
        complaint, Move.WITHDRAW, actor, now, details={"reason": reason, "termination_reason": "T1"}
    )
    if was_gathering:
        _never_sent(complaint)
    else:
        notify(complaint, "withdrawn", actor=actor, event_id=event.id)
    if was_mediating:
        _issue(complaint, RecordKind.TERMINATION, now)
    return complaint


def _never_sent(complaint: Complaint) -> None:
    """A joint complaint member's claim withdrawn before the group was submitted was never
    sent: it stays the consumer's alone, naming the enterprise as an unlisted respondent
    would be named (the enterprise sees the cases of its own enterprise_id only)."""
    enterprise = complaint.enterprise or db.session.get(Enterprise, complaint.enterprise_id)
    if enterprise is None:
        return
    complaint.respondent_name = enterprise.name
    complaint.respondent_credit_code = enterprise.credit_code
    complaint.respondent_region_code = enterprise.region_code
    complaint.enterprise_id = None
    complaint.enterprise = None


# -- acceptance --------------------------------------------------------------------------


def accept_case(actor: User, complaint: Complaint, *, now=None) -> Complaint:
    now = _now(now)
    role = _role(actor, complaint)
    check_move(Move.ACCEPT, complaint.state, role)
    if (
        complaint.raised_to_body_id
        and complaint.raised_to_body_id in actor.body_ids
        and complaint.body_id not in actor.body_ids
    ):
        # The parent office takes the overdue case itself.
        complaint.body = db.session.get(MediationBody, complaint.raised_to_body_id)
        complaint.body_id = complaint.body.id
    complaint.raised_to_body_id = None
    complaint.accepted_at = now
    if complaint.mediator_id is None:
        # Set the relationship too, so records and notices issued in this step see it.
        complaint.mediator_id = actor.id
        complaint.mediator = actor
    _start_clock(complaint, now, deadlines.MEDIATION_DAYS)
    event = _move(complaint, Move.ACCEPT, actor, now, details={"body_id": complaint.body_id})
    notify(complaint, "accepted", actor=actor, event_id=event.id)
    return complaint


def refuse_case(
    actor: User, complaint: Complaint, *, reason, explanation=None, now=None
) -> Complaint:
    now = _now(now)
    role = _role(actor, complaint)
    check_move(Move.REFUSE, complaint.state, role)
    reason = _enum(RefusalReason, reason, "reason")
    explanation = _text(explanation, "explanation", required=False)
    refused = refusal_ground_error(complaint, reason)
    if refused is not None:
        raise Invalid(_l("Please correct the marked fields."), {"reason": str(refused)})
    complaint.refusal_reason = reason
    complaint.outcome_note = explanation
    complaint.closed_at = now
    if complaint.mediator_id is None:
        # Set the relationship too, so records and notices issued in this step see it.
        complaint.mediator_id = actor.id
        complaint.mediator = actor
    _set_clock(complaint, None)
    event = _move(
        complaint,
        Move.REFUSE,
        actor,
        now,
        details={"reason": str(reason), "explanation": explanation},
    )
    notify(complaint, "refused", actor=actor, params={"reason": str(reason)}, event_id=event.id)
    _issue(complaint, RecordKind.REFUSAL, now)
    return complaint


def transfer_case(
    actor: User, complaint: Complaint, *, body_id, reason=None, now=None
) -> Complaint:
    now = _now(now)
    role = _role(actor, complaint)
    check_move(Move.TRANSFER, complaint.state, role)
    try:
        body = db.session.get(MediationBody, as_id(body_id) or 0)
    except (TypeError, ValueError):
        body = None
    if body is None or not body.active:
        raise Invalid(
            _l("Please correct the marked fields."), {"body_id": str(_l("No such mediation body."))}
        )
    if body.id == complaint.body_id:
        raise Invalid(
            _l("Please correct the marked fields."),
            {"body_id": str(_l("The case is already at this body."))},
        )
    reason = _text(reason, "reason", required=False)
    # The event first: the actor's part in the case is judged at the body the case leaves.
    event = _move(
        complaint,
        Move.TRANSFER,
        actor,
        now,
        details={"from_body_id": complaint.body_id, "body_id": body.id, "reason": reason},
    )
    complaint.body_id = body.id
    complaint.body = body
    complaint.mediator_id = None
    complaint.mediator = None
    complaint.arrived_at = now
    complaint.overdue_flagged = False
    complaint.raised_to_body_id = None
    _start_clock(complaint, now, deadlines.ACCEPTANCE_DAYS)
    notify(complaint, "transferred", actor=actor, params={"body": body.name}, event_id=event.id)
    return complaint


def flag_overdue(cases, *, now=None):
    """An acceptance decision is late: flag it and raise it to the parent body, once. One
    case or a batch (the sweep's), each through the same steps."""
    now = _now(now)
    return _alike(cases, [_flag_overdue(complaint, now) for complaint in _cases(cases)])


def _flag_overdue(complaint: Complaint, now: datetime) -> Complaint:
    check_move(Move.FLAG_OVERDUE, complaint.state, Role.SYSTEM)
    if complaint.overdue_flagged:
        raise InvalidTransition(_l("Already flagged."))
    complaint.overdue_flagged = True
    parent_id = complaint.body.parent_id if complaint.body is not None else None
    # Raised to someone who can act: past a parent office with no active mediator.
    parent_id = routing.staffed_office(parent_id)[0]
    complaint.raised_to_body_id = parent_id
    event = _move(complaint, Move.FLAG_OVERDUE, None, now, details={"raised_to_body_id": parent_id})
    notify(complaint, "overdue", event_id=event.id)
    return complaint


def assign_mediator(actor: User, complaint: Complaint, *, mediator_id, now=None) -> Complaint:
    now = _now(now)
    role = _role(actor, complaint)
    check_move(Move.ASSIGN, complaint.state, role)
    if not is_body_head(actor, complaint.body_id):
        raise Forbidden(_l("Only the head of the body assigns cases."))
    membership = db.session.scalar(
        db.select(BodyMembership).where(
            BodyMembership.body_id == complaint.body_id,
            BodyMembership.user_id == (as_id(mediator_id) or 0),
            BodyMembership.active.is_(True),
        )
    )
    # A deactivated mediator (a disabled account, permissions.may_act) takes no case.
    if membership is None or not may_act(membership.user):
        raise Invalid(
            _l("Please correct the marked fields."),
            {"mediator_id": str(_l("Not a mediator of this body."))},
        )
    previous = complaint.mediator_id
    complaint.mediator_id = membership.user_id
    complaint.mediator = membership.user
    event = _move(
        complaint,
        Move.ASSIGN,
        actor,
        now,
        details={"mediator_id": membership.user_id, "previous_mediator_id": previous},
    )
    notify(complaint, "assigned", actor=actor, event_id=event.id)
    return complaint


# -- mediation ---------------------------------------------------------------------------


def suspend(actor: User, complaint: Complaint, *, reason, now=None) -> Complaint:
    now = _now(now)
    role = _role(actor, complaint)
    check_move(Move.SUSPEND, complaint.state, role)
    reason = _text(reason, "reason", limit=1000)
    today = deadlines.local_date(now)
    calendar = deadlines.current()
    left = calendar.working_days_between(today, deadlines.local_date(complaint.deadline_at))
    complaint.clock_days_left = max(left, 0)
    version = _version_after(complaint, calendar, continued=True)
    _set_clock(complaint, None)
    complaint.calendar_version = version  # of the working days left
    event = _move(
        complaint,
        Move.SUSPEND,
        actor,
        now,
        details={"reason": reason, "working_days_left": complaint.clock_days_left},
    )
    notify(complaint, "suspended", actor=actor, event_id=event.id)
    return complaint


def resume(actor: User, complaint: Complaint, *, now=None) -> Complaint:
    now = _now(now)
    role = _role(actor, complaint)
    check_move(Move.RESUME, complaint.state, role)
    left = complaint.clock_days_left if complaint.clock_days_left is not None else 0
    calendar = deadlines.current()
    # The day of resumption is not counted, like the day of acceptance.
    deadline = (
        calendar.working_day_deadline(now, left)
        if left > 0
        else deadlines.end_of_day(deadlines.local_date(now))
    )
    _set_clock(complaint, deadline, calendar, continued=True)
    complaint.clock_days_left = None
    event = _move(complaint, Move.RESUME, actor, now, details={"working_days_left": left})
    notify(complaint, "resumed", actor=actor, event_id=event.id)
    return complaint


def propose_agreement(
    actor: User, complaint: Complaint, *, terms, amount, performance_due=None, now=None
) -> Agreement:
    now = _now(now)
    role = _role(actor, complaint)
    check_move(Move.PROPOSE_AGREEMENT, complaint.state, role)
    errors, values = {}, {}
    for field, fn in (
        ("terms", lambda: _text(terms, "terms")),
        ("amount", lambda: _amount(amount, "amount")),
        ("performance_due", lambda: _date(performance_due, "performance_due", required=False)),
    ):
        try:
            values[field] = fn()
        except Invalid as exc:
            errors.update(exc.fields)
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    for old in db.session.scalars(
        db.select(Agreement).where(
            Agreement.complaint_id == complaint.id, Agreement.status == AgreementStatus.PROPOSED
        )
    ):
        old.status = AgreementStatus.SUPERSEDED
    agreement = Agreement(
        complaint_id=complaint.id, proposed_by_id=actor.id, created_at=now, **values
    )
    db.session.add(agreement)
    db.session.flush()
    event = _move(
        complaint,
        Move.PROPOSE_AGREEMENT,
        actor,
        now,
        details={"agreement_id": agreement.id, "amount": f"{agreement.amount:.2f}"},
    )
    notify(complaint, "agreement_proposed", actor=actor, event_id=event.id)
    return agreement


def signing_parties(complaint: Complaint) -> tuple[str, ...]:
    """Who must sign a mediation agreement for it to bind: the consumer, and the enterprise
    when the respondent is listed on the portal (an unlisted one signs on paper)."""
    if complaint.enterprise_id is None:
        return (str(Role.CONSUMER),)
    return (str(Role.CONSUMER), str(Role.ENTERPRISE))


def ask_for_changes(actor: User, complaint: Complaint, *, reasons, now=None) -> Agreement:
    """A party asks the mediator to change the proposed agreement before signing it, with
    its reasons; the proposal stands until the mediator proposes another (which supersedes
    it) or both sign it. The mediator is told; both parties see the request on the
    timeline."""
    now = _now(now)
    role = _role(actor, complaint)
    check_move(Move.ASK_CHANGES, complaint.state, role)
    agreement = _current_agreement(complaint)
    if agreement is None:
        raise InvalidTransition(_l("There is no agreement to sign."))
    if any(s.party == str(role) for s in agreement.signatures):
        raise InvalidTransition(_l("You have already signed this agreement."))
    reasons = _text(reasons, "reasons", limit=4000)
    event = _move(
        complaint,
        Move.ASK_CHANGES,
        actor,
        now,
        details={"agreement_id": agreement.id, "party": str(role), "reasons": reasons},
    )
    notify(
        complaint,
        "agreement_changes_requested",
        actor=actor,
        params={"agreement_id": agreement.id, "party": str(role)},
        event_id=event.id,
    )
    return agreement


def change_requests(complaint: Complaint, agreement_id: int) -> list[CaseEvent]:
    """The parties' requests for changes to one proposed agreement, oldest first."""
    events = db.session.scalars(
        db.select(CaseEvent)
        .where(CaseEvent.complaint_id == complaint.id, CaseEvent.action == str(Move.ASK_CHANGES))
        .order_by(CaseEvent.id)
    )
    return [e for e in events if (e.details or {}).get("agreement_id") == agreement_id]


def sign_agreement(
    actor: User,
    complaint: Complaint,
    *,
    password: str | None = None,
    ip_address: str | None = None,
    require_password: bool = False,
    now=None,
) -> Complaint:
    now = _now(now)
    role = _role(actor, complaint)
    check_move(Move.SIGN_AGREEMENT, complaint.state, role)
    agreement = _current_agreement(complaint)
    if agreement is None:
        raise InvalidTransition(_l("There is no agreement to sign."))
    if require_password and not actor.check_password(password or ""):
        raise Invalid(
            _l("The password is not correct."),
            {"password": str(_l("The password is not correct."))},
        )
    party = str(role)
    if party not in signing_parties(complaint):
        raise Forbidden(_l("You may not do this on this case."))
    if any(s.party == party for s in agreement.signatures):
        raise InvalidTransition(_l("You have already signed this agreement."))
    signature = Signature(
        agreement_id=agreement.id,
        user_id=actor.id,
        party=party,
        signed_at=now,
        ip_address=ip_address,
    )
    db.session.add(signature)
    agreement.signatures.append(signature)
    both = {s.party for s in agreement.signatures} >= set(signing_parties(complaint))
    target = State.MEDIATED if both else State.MEDIATING
    if both:
        agreement.status = AgreementStatus.SIGNED
        complaint.settled_amount = agreement.amount
        _agreed(complaint, agreement.performance_due)
        complaint.closed_at = now
        _set_clock(complaint, None)
    event = _move(
        complaint,
        Move.SIGN_AGREEMENT,
        actor,
        now,
        to_state=target,
        details={"agreement_id": agreement.id, "party": party, "ip_address": ip_address},
    )
    db.session.flush()
    if both:
        notify(complaint, "mediated", actor=actor, event_id=event.id)
        _issue(complaint, RecordKind.MEDIATION_AGREEMENT, now)
    else:
        notify(
            complaint, "agreement_signed", actor=actor, params={"party": party}, event_id=event.id
        )
    return complaint


def terminate(
    actor: User | None, complaint: Complaint, *, reason, explanation=None, now=None
) -> Complaint:
    now = _now(now)
    reason = _enum(TerminationReason, reason, "reason")
    explanation = _text(explanation, "explanation", required=False)
    move = Move.TERMINATE if actor is not None else Move.EXPIRE
    role = _role(actor, complaint)
    check_move(move, complaint.state, role)
    refused = termination_ground_error(complaint, reason, by_hand=actor is not None, now=now)
    if refused is not None:
        raise Invalid(_l("Please correct the marked fields."), {"reason": str(refused)})
    complaint.termination_reason = reason
    complaint.outcome_note = explanation
    complaint.closed_at = now
    complaint.clock_days_left = None
    _set_clock(complaint, None)
    event = _move(
        complaint, move, actor, now, details={"reason": str(reason), "explanation": explanation}
    )
    notify(complaint, "terminated", actor=actor, params={"reason": str(reason)}, event_id=event.id)
    _issue(complaint, RecordKind.TERMINATION, now)
    return complaint


def received_on(complaint: Complaint) -> date:
    """The day the complaint was received (its filing, Asia/Shanghai)."""
    return deadlines.local_date(complaint.filed_at or utcnow())


def refusal_ground_error(complaint: Complaint, reason: RefusalReason):
    """Why `reason` does not fit the case as its data shows it, or None. R4 (more than 3
    years since the consumer knew of the harm) needs a purchase more than 3 years before
    the complaint was received; the other grounds rest on facts the case does not hold."""
    if reason == RefusalReason.R4 and routing.within_limitation(
        complaint.purchase_date, received_on(complaint)
    ):
        return _l(
            "R4 applies only when more than 3 years passed between the purchase "
            "(%(purchase)s) and the complaint (%(received)s).",
            purchase=complaint.purchase_date.isoformat(),
            received=received_on(complaint).isoformat(),
        )
    return None


def termination_ground_error(
    complaint: Complaint, reason: TerminationReason, *, by_hand: bool, now: datetime
):
    """Why `reason` does not fit the case now, or None. T5 only once the mediation clock
    (45 working days less suspensions) has run out; T1 (withdrawn or settled by the
    parties) is the complainant's own act: their withdrawal records it, a mediator does not
    choose it."""
    if reason == TerminationReason.T5 and not _clock_ran_out(complaint, now):
        return _l("T5 applies only once the 45 working days have run out.")
    if reason == TerminationReason.T1 and by_hand:
        return _l(
            "T1 applies only when the complainant withdraws the complaint or the parties "
            "settle it themselves; the complainant's withdrawal records it."
        )
    return None


def _clock_ran_out(complaint: Complaint, now: datetime) -> bool:
    """The mediation clock is running (not suspended) and its deadline has passed: the
    stored one when it was computed under the calendar in force, else as derived again
    from acceptance and suspensions (odr/disputes/clocks.py)."""
    if complaint.state != State.MEDIATING:
        return False
    calendar = deadlines.current()
    deadline_at = complaint.deadline_at
    if complaint.calendar_version != calendar.version:
        deadline_at = clocks.derive_case(complaint, calendar).deadline_at
    return deadline_at is not None and deadline_at < now


def expire_mediation(cases, *, now=None):
    """The 45 working days ran out: terminate with T5 (terminate checks the clock). One case
    or a batch (the sweep's), each through terminate."""
    return _alike(
        cases,
        [
            terminate(None, complaint, reason=TerminationReason.T5, now=now)
            for complaint in _cases(cases)
        ],
    )


# -- after the outcome -------------------------------------------------------------------


def _agreed(complaint: Complaint, performance_due: date | None) -> None:
    """An agreement binds (settlement accepted, mediation agreement signed): performance is
    awaited, and the parties are asked about it from its due date (the sweep's
    remind_performance); without a due date they may be asked at once."""
    complaint.performance_due = performance_due
    complaint.performance_status = PerformanceStatus.PENDING
    complaint.performance_reminder_at = (
        deadlines.start_of_day(performance_due).astimezone(UTC) if performance_due else None
    )


def performance_asked(complaint: Complaint, today: date) -> bool:
    """Whether the parties are asked "was the agreement carried out?": an agreed case whose
    performance is still awaited, from its due date on (at once when none was agreed)."""
    return (
        complaint.state in (State.SETTLED, State.MEDIATED)
        and complaint.performance_status == PerformanceStatus.PENDING
        and (complaint.performance_due is None or today >= complaint.performance_due)
    )


def report_performance(
    actor: User, complaint: Complaint, *, status, note=None, now=None
) -> Complaint:
    """A party reports that the agreement was carried out (at any time: early performance
    is welcome) or breached (only from the due date: before it nothing is late yet)."""
    now = _now(now)
    role = _role(actor, complaint)
    check_move(Move.REPORT_PERFORMANCE, complaint.state, role)
    status = _enum(PerformanceStatus, status, "status")
    if status == PerformanceStatus.PENDING:
        raise Invalid(
            _l("Please correct the marked fields."),
            {"status": str(_l("Choose performed or breach."))},
        )
    due = complaint.performance_due
    if status == PerformanceStatus.BREACHED and due and deadlines.local_date(now) < due:
        raise Invalid(
            _l("Please correct the marked fields."),
            {
                "status": str(
                    _l(
                        "A breach can be reported from the performance due date (%(day)s).",
                        day=due.isoformat(),
                    )
                )
            },
        )
    note = _text(note, "note", required=False)
    complaint.performance_status = status
    complaint.performance_reminder_at = None
    event = _move(
        complaint,
        Move.REPORT_PERFORMANCE,
        actor,
        now,
        details={"status": str(status), "note": note},
    )
    notify(complaint, "performance", actor=actor, params={"status": str(status)}, event_id=event.id)
    return complaint


def remind_performance(cases, *, now=None):
    """The performance due date has come: ask both parties whether the agreement was
    carried out. One case or a batch (the sweep's), each through the table."""
    now = _now(now)
    moved = []
    for complaint in _cases(cases):
        if isinstance(complaint, int):
            complaint = db.session.get(Complaint, complaint)
        check_move(Move.REMIND_PERFORMANCE, complaint.state, _role(None, complaint))
        complaint.performance_reminder_at = None
        due = complaint.performance_due
        event = _move(
            complaint,
            Move.REMIND_PERFORMANCE,
            None,
            now,
            details={"performance_due": due.isoformat() if due else None},
        )
        notify(
            complaint,
            "performance_due",
            params={"due": due.isoformat() if due else ""},
            event_id=event.id,
        )
        moved.append(complaint)
    return _alike(cases, moved)


def reopen(actor: User, complaint: Complaint, *, reason=None, now=None) -> Complaint:
    """The consumer reported a breach of the agreement and asks for mediation again: the
    case goes to the competent body as an escalation does (7 working days to accept)."""
    now = _now(now)
    reason = _text(reason, "reason", required=False)
    role = _role(actor, complaint)
    check_move(Move.REOPEN, complaint.state, role)
    if complaint.performance_status != PerformanceStatus.BREACHED:
        raise InvalidTransition(_l("Mediation can be asked for again once a breach is reported."))
    _to_mediation(
        complaint,
        Move.REOPEN,
        actor,
        now,
        lambda row: {"reason": reason, "from_state": str(row.state)},
        reopen=True,
    )
    return complaint


def rate(actor: User, complaint: Complaint, *, rating, comment=None, now=None) -> Complaint:
    now = _now(now)
    role = _role(actor, complaint)
    check_move(Move.RATE, complaint.state, role)
    try:
        value = int(rating)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= 5:
        raise Invalid(
            _l("Please correct the marked fields."), {"rating": str(_l("Choose 1 to 5 stars."))}
        )
    if complaint.rating is not None:
        raise InvalidTransition(_l("You have already rated this case."))
    complaint.rating = value
    complaint.rating_comment = _text(comment, "comment", required=False, limit=2000)
    _move(complaint, Move.RATE, actor, now, details={"rating": value})
    return complaint


def move_clocks(ids: list[int], clocks: dict, details: dict, *, now=None) -> dict[int, str]:
    """Store the clocks of open cases derived again after the calendar changed, where the
    date moved (odr/disputes/clocks.py finds them): one event each with the old date, the
    new date and why, and a notice to the parties. `clocks[id]`: the columns of the clock,
    `details[id]`: the event's. Answers each case's reference."""
    batch = _Batch(ids, Move.RECOMPUTE_CLOCK, None, _now(now), states=OPEN_STATES)
    batch.make({}, lambda row: (clocks[row.id], details[row.id]))
    batch.tell(
        "deadline_moved",
        lambda row: {
            "deadline": details[row.id]["deadline"],
            "previous_deadline": details[row.id]["previous_deadline"],
            "working_days_left": details[row.id]["working_days_left"],
        },
        lambda row: row.body_id,
    )
    return {row.id: row.reference for row in batch.rows}


def send_reminder(cases, *, now=None):
    """The "2 working days left" reminder: one case or a batch (the sweep's), by the same
    statements (see _Batch)."""
    batch = _Batch(cases, Move.REMIND, None, _now(now))
    for row in batch.rows:
        if row.reminder_at is None:
            raise InvalidTransition(_l("No reminder due."))
    batch.make({"reminder_at": None}, lambda row: ({}, {"deadline_at": row.deadline_at}))
    batch.tell(
        "reminder",
        lambda row: {"deadline": deadlines.local_date(row.deadline_at).isoformat()},
        lambda row: row.body_id,
    )
    return _alike(cases, batch.moved)


# -- many members' cases at once (a joint complaint, odr/disputes/joint.py) -----------------


def submit_members(
    actor: User, case_ids: list[int], parts: dict, *, context: dict, now=None
) -> list:
    """Send gathering cases (a joint complaint's members) on, each where a filing would
    send it (routing.goes_to_enterprise): to the enterprise with the 10-working-day clock,
    which is then one deadline for them all, or to the competent body. `parts`: the actor's
    part in each case (REPRESENTATIVE); `context`: what the events, notices and webhooks
    say of the group ({"joint_complaint_id", "joint_reference"})."""
    now = _now(now)
    with memo.scope():
        return _submit_members(actor, case_ids, parts, context, now)


def _submit_members(actor, case_ids, parts, context, now) -> list:
    batch = _Batch(case_ids, Move.SUBMIT, actor, now, parts=parts)
    found = {
        row.id: row
        for row in db.session.execute(
            db.select(Complaint.id, Complaint.purchase_date, Complaint.green_channel).where(
                Complaint.id.in_([row.id for row in batch.rows])
            )
        )
    }
    enterprises = {
        e.id: e
        for e in db.session.scalars(
            db.select(Enterprise).where(
                Enterprise.id.in_({row.enterprise_id for row in batch.rows if row.enterprise_id})
            )
        )
    }
    today = deadlines.local_date(now)
    answer_by = deadlines.working_day_deadline(now, deadlines.NEGOTIATION_DAYS).astimezone(UTC)
    decide_by = deadlines.working_day_deadline(now, deadlines.ACCEPTANCE_DAYS).astimezone(UTC)
    bodies = batch.competent_bodies()
    routes = {}
    for row in batch.rows:
        extra = found[row.id]
        to_enterprise = routing.goes_to_enterprise(
            enterprises.get(row.enterprise_id), extra.green_channel, extra.purchase_date, today
        )
        routes[row.id] = to_enterprise

    def body_id(row):
        if routes[row.id] or bodies[row.id] is None:
            return None
        return bodies[row.id][0]

    def per_row(row):
        deadline = answer_by if routes[row.id] else decide_by
        own = {
            "state": State.NEGOTIATING if routes[row.id] else State.PENDING_ACCEPTANCE,
            "deadline_at": deadline,
            "reminder_at": deadlines.reminder_moment(deadline).astimezone(UTC),
            "answer_due_at": answer_by if routes[row.id] else None,
            "body_id": body_id(row),
            "arrived_at": None if routes[row.id] else now,
            "filed_at": now,
        }
        routed = "enterprise" if routes[row.id] else "body"
        return own, {"routed_to": routed, "body_id": body_id(row), **context}

    batch.make({}, per_row)
    batch.tell("filed", lambda row: dict(context), body_id, group=context)
    return batch.moved


# Open offers of many cases superseded in one statement.
_SUPERSEDE_MANY = (
    db.update(Offer)
    .where(
        Offer.complaint_id.in_(db.bindparam("ids", expanding=True)),
        Offer.status == OfferStatus.OPEN,
    )
    .values(status=OfferStatus.SUPERSEDED)
)
_FIRST_ANSWER = (
    db.update(Complaint.__table__)
    .where(
        Complaint.__table__.c.id.in_(db.bindparam("ids", expanding=True)),
        Complaint.__table__.c.first_answer_at.is_(None),
    )
    .values(first_answer_at=db.bindparam("now"))
)


def make_offers(
    actor: User,
    amounts: dict[int, object],
    *,
    remedy,
    terms,
    performance_due=None,
    context: dict | None = None,
    now: datetime | None = None,
) -> dict[int, int]:
    """One offer on each of many cases (an enterprise's one answer to a joint complaint),
    checked as make_offer checks one and written by the batch's statements. `amounts`:
    case id -> amount. Answers case id -> offer id."""
    now = _now(now)
    context = context or {}
    errors: dict = {}
    values: dict = {}
    for field, fn in (
        ("remedy", lambda: _enum(Remedy, remedy, "remedy")),
        ("terms", lambda: _text(terms, "terms")),
        ("performance_due", lambda: _date(performance_due, "performance_due", required=False)),
    ):
        try:
            values[field] = fn()
        except Invalid as exc:
            errors.update(exc.fields)
    clean = {}
    for case_id, amount in amounts.items():
        try:
            clean[case_id] = _amount(amount, "amounts")
        except Invalid as exc:
            errors.update(exc.fields)
    if values.get("performance_due") and values["performance_due"] < deadlines.local_date(now):
        errors["performance_due"] = str(_l("The date cannot be in the past."))
    batch = _Batch(list(clean), Move.MAKE_OFFER, actor, now)
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    ids = [row.id for row in batch.rows]
    if not ids:
        return {}
    db.session.execute(_SUPERSEDE_MANY, {"ids": ids})
    inserted = db.session.execute(
        db.insert(Offer).returning(Offer.id, Offer.complaint_id, sort_by_parameter_order=True),
        [
            {
                "complaint_id": case_id,
                "made_by_id": actor.id,
                "created_at": now,
                "amount": clean[case_id],
                "status": OfferStatus.OPEN,
                **values,
            }
            for case_id in ids
        ],
    )
    offers = {complaint_id: offer_id for offer_id, complaint_id in inserted}
    db.session.execute(_FIRST_ANSWER, {"ids": ids, "now": now})
    remedy_text = str(values["remedy"])
    batch.make(
        {},
        lambda row: (
            {},
            {
                "offer_id": offers[row.id],
                "remedy": remedy_text,
                "amount": f"{clean[row.id]:.2f}",
                **context,
            },
        ),
    )
    batch.tell(
        "offer_made",
        lambda row: {"offer_id": offers[row.id], "amount": f"{clean[row.id]:.2f}", **context},
        lambda row: row.body_id,
        group=context or None,
    )
    return offers


def decline_cases(actor: User, case_ids: list[int], *, reason=None, context=None, now=None):
    """The enterprise declines many cases at once (a joint complaint): they go to the
    competent body together, as decline sends one."""
    now = _now(now)
    reason = _text(reason, "reason", required=False)
    context = context or {}
    with memo.scope():
        moved = _to_mediation(
            list(case_ids),
            Move.DECLINE,
            actor,
            now,
            lambda row: {"reason": reason, **context},
            group=context or None,
        )
    if moved:
        db.session.execute(_FIRST_ANSWER, {"ids": [row.id for row in moved], "now": now})
    return moved


# -- one case or many --------------------------------------------------------------------


def _cases(cases) -> list:
    """One case, a list of cases, or (the sweep's batches) a list of case ids."""
    return [cases] if isinstance(cases, Complaint | int) else list(cases)


def _alike(cases, moved: list):
    """Answer as asked: the case for a case, the list for a list."""
    return moved[0] if isinstance(cases, Complaint | int) else moved


# What the set-based moves read of a case and of its parties: plain columns.
_ROW = (
    Complaint.id,
    Complaint.reference,
    Complaint.state,
    Complaint.version,
    Complaint.enterprise_id,
    Complaint.respondent_region_code,
    Complaint.consumer_id,
    Complaint.assignee_id,
    Complaint.mediator_id,
    Complaint.body_id,
    Complaint.deadline_at,
    Complaint.reminder_at,
    Complaint.chain_head,
    Complaint.overdue_flagged,
    Complaint.raised_to_body_id,
    Complaint.platform_id,
    Complaint.platform_region_code,
    Complaint.seller_address_usable,
)
_PERSON = (
    User.id,
    User.email,
    User.name,
    User.locale,
    User.role,
    User.active,
    User.region_code,
    User.phone,
    User.sms_notices,
    User.claim_pending,
)


def _processor(kind, dialect):
    """The bind processor of a column type. Dates and datetimes as the dialect implements
    them (dialect_impl), so they are written as the ORM writes them: the generic type left
    SQLite's to sqlite3, which writes a whole second without ".000000", and that shorter
    text sorts first, so a case was overdue at the very second of its deadline."""
    if isinstance(getattr(kind, "impl", kind), (sa.Date, sa.DateTime)):
        return kind.dialect_impl(dialect).bind_processor(dialect)
    return kind.bind_processor(dialect)


class _Binder:
    """Values of a table's columns as the driver takes them, converted by the column type's
    own bind processor; each distinct value object once (the rows of a batch share their
    timestamps, and a case's notices share its params)."""

    def __init__(self, dialect, table):
        self.processors = {c.name: _processor(c.type, dialect) for c in table.columns}
        for column in table.columns:
            # psycopg's dialect leaves JSON to a cast SQLAlchemy renders in its own
            # statements: here the value goes as its text, which PostgreSQL casts to the
            # column's type.
            if self.processors[column.name] is None and isinstance(column.type, sa.JSON):
                self.processors[column.name] = json.dumps
        self._seen: dict[tuple[str, int], tuple[object, object]] = {}

    def __call__(self, name, value):
        """One value of the named column, bound."""
        processor = self.processors[name]
        if processor is None or value is None:
            return value
        known = self._seen.get((name, id(value)))
        if known is None or known[0] is not value:
            known = self._seen[(name, id(value))] = (value, processor(value))
        return known[1]

    def rows(self, names: list[str], rows: list[dict], extra: tuple = ()) -> list[tuple]:
        """Each row's values of `names`, bound, followed by `extra` (bound already)."""
        # Taken in one go by itemgetter, and only the columns whose type has a processor
        # (JSON, datetimes, enums) are converted: most of a row's values go as they are.
        take = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
        converted = [(i, name) for i, name in enumerate(names) if self.processors[name]]
        if not converted:
            return [(*take(row), *extra) for row in rows]
        bound = []
        for row in rows:
            values = [*take(row), *extra]
            for i, name in converted:
                values[i] = self(name, values[i])
            bound.append(tuple(values))
        return bound


def _insert(table, rows: list[dict]) -> None:
    """Rows with the same keys in one go at the driver: through SQLAlchemy's executemany,
    binding every value of every row cost more than the inserts. Each value is bound by its
    column type's own processor; the column defaults the rows leave out are computed once
    for all of them. On PostgreSQL by COPY (psycopg's executemany sends a message a row)."""
    if not rows:
        return
    connection = db.session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    defaults = {}
    for column in table.columns:
        default = column.default
        if column.name in names or column.primary_key or default is None:
            continue
        defaults[column.name] = default.arg(None) if default.is_callable else default.arg
    bind = _Binder(dialect, table)
    fixed = tuple(bind(name, value) for name, value in defaults.items())
    values = bind.rows(names, rows, fixed)
    quote = dialect.identifier_preparer.quote
    target = f"{quote(table.name)} ({', '.join(quote(c) for c in [*names, *defaults])})"
    if dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        with cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
        return
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    connection.exec_driver_sql(
        f"INSERT INTO {target} VALUES ({', '.join([mark] * len(values[0]))})", values
    )


def _case_update(dialect, names: list[str], rows: list[tuple]):
    """The UPDATE of many cases, each (id, version, *values of `names`) guarded by its
    version: on PostgreSQL one statement reading one array per column (psycopg's
    executemany sends a message per row), elsewhere an executemany."""
    table = Complaint.__table__
    quote = dialect.identifier_preparer.quote
    if dialect.name == "postgresql":
        given = ["id", "version", *names]
        kinds = [table.c[n].type.compile(dialect=dialect) for n in given]
        arrays = ", ".join(f"%s::{kind}[]" for kind in kinds)
        sets = ", ".join(
            [f"version = {quote(table.name)}.version + 1"]
            + [f"{quote(n)} = given.{quote(n)}" for n in names]
        )
        statement = (
            f"UPDATE {quote(table.name)} SET {sets} FROM unnest({arrays}) "
            f"AS given({', '.join(quote(n) for n in given)}) "
            f"WHERE {quote(table.name)}.id = given.id "
            f"AND {quote(table.name)}.version = given.version"
        )
        return statement, tuple(list(column) for column in zip(*rows, strict=True))
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sets = ", ".join(["version = version + 1", *(f"{quote(n)} = {mark}" for n in names)])
    statement = f"UPDATE {quote(table.name)} SET {sets} WHERE id = {mark} AND version = {mark}"
    return statement, [(*values, case_id, version) for case_id, version, *values in rows]


def _office(body_id: int) -> tuple[int, str]:
    """A body as plain values: (id, name)."""
    return memo.memo(
        ("office", body_id),
        lambda: tuple(
            db.session.execute(
                db.select(MediationBody.id, MediationBody.name).where(MediationBody.id == body_id)
            ).one()
        ),
    )


def _office_of_region(region_code: str | None) -> tuple[int, str] | None:
    """routing.competent_body_for_region as plain values: (id, name)."""

    def office():
        body = routing.competent_body_for_region(region_code)
        return (body.id, body.name) if body is not None else None

    return memo.memo(("office_of_region", region_code), office)


class _Batch:
    """Cases that make one move together: one case by hand, up to a few hundred in the
    sweep, by the same statements. Each case is checked (the actor's part, the transition
    table), then all are updated with one statement guarded by each case's version, and
    their events (hash-chained), notices and e-mails inserted with one statement each.
    Moving ten thousand cases one by one through the session cost about 8 ms a case."""

    def __init__(
        self,
        cases,
        move: Move,
        actor: User | None,
        now: datetime,
        parts: dict | None = None,
        *,
        states=None,
    ):
        """`cases`: Complaint objects, or ids (the sweep's batches; a joint complaint's
        members, moved by a person: then each case's part is the actor's role in it, or
        what `parts` says, e.g. REPRESENTATIVE, as permissions.part_in_case judges it).
        `states`: for an act outside the transition table (move_clocks), the states it
        may touch."""
        self.cases, self.move, self.actor, self.now = _cases(cases), move, actor, now
        db.session.flush()  # the caller's own changes (decline's first answer) go first
        loaded = [case for case in self.cases if isinstance(case, Complaint)]
        roles = {complaint.id: _role(actor, complaint) for complaint in loaded}
        query = db.select(*_ROW).order_by(Complaint.id)
        if len(loaded) == len(self.cases):
            query = query.where(Complaint.id.in_(list(roles)))
        else:
            # Ids: no case is loaded as an object, and the rows are locked here (the sweep
            # already holds them).
            if loaded:
                raise TypeError("cases are either all loaded or all ids")
            query = query.where(Complaint.id.in_(self.cases)).with_for_update(of=Complaint)
        self.rows = db.session.execute(query).all()
        if actor is not None and not loaded:
            require_capability(actor)
            for row in self.rows:
                # A row has the columns role_in_case reads.
                role = (parts or {}).get(row.id) or role_in_case(actor, row)
                if role is None:
                    raise NotFound(_l("No such case."))
                roles[row.id] = role
        for row in self.rows:
            if states is not None:  # an act outside the transition table (move_clocks)
                if row.state not in states:
                    raise InvalidTransition(_l("The case is closed."))
                continue
            check_move(move, row.state, roles.get(row.id, Role.SYSTEM))
        self.roles, self.moved = roles, []
        wanted = {row.consumer_id for row in self.rows}
        wanted |= {row.assignee_id for row in self.rows if row.assignee_id}
        wanted |= {row.mediator_id for row in self.rows if row.mediator_id}
        self.people, self.regions = {}, {}
        for person in db.session.execute(db.select(*_PERSON).where(User.id.in_(wanted))):
            self.people[person.id] = notices.Recipient(
                person.id,
                person.email,
                person.name,
                person.locale,
                person.role,
                person.active,
                person.phone,
                bool(person.sms_notices),
                bool(person.claim_pending),
            )
            self.regions[person.id] = person.region_code
        enterprise_ids = {row.enterprise_id for row in self.rows if row.enterprise_id}
        notices.prefetch(enterprise_ids)  # their staff and webhooks, asked once for all

    def competent_bodies(self) -> dict[int, tuple[int, str] | None]:
        """(id, name) of the body each case goes to (routing.competent_body): the office of
        the enterprise (or of the platform it trades on), else of the consumer's region; in
        the sweep each remembered once (memo.scope) as plain values, which its commits do
        not expire. An office with no active mediator passes the case up
        (routing.staffed_office); `passed_over` keeps which office was passed over."""
        platform_ids = {row.platform_id for row in self.rows if row.platform_id}
        platform_regions = (
            dict(
                db.session.execute(
                    db.select(Enterprise.id, Enterprise.region_code).where(
                        Enterprise.id.in_(platform_ids)
                    )
                ).all()
            )
            if platform_ids
            else {}
        )

        def key(row):
            region = platform_regions.get(row.platform_id) or row.platform_region_code
            # An unlisted seller is found by the region the consumer named.
            own = None if row.enterprise_id else row.respondent_region_code
            return ("escalation_body", row.enterprise_id, region, row.seller_address_usable, own)

        wanted = {row.enterprise_id for row in self.rows if row.enterprise_id is not None}
        wanted &= {k[1] for k in memo.unknown({key(row) for row in self.rows})}
        enterprises = {
            enterprise.id: enterprise
            for enterprise in db.session.scalars(
                db.select(Enterprise)
                .where(Enterprise.id.in_(wanted))
                .options(selectinload(Enterprise.platform))
            )
        }
        bodies, self.passed_over = {}, {}
        for row in self.rows:
            k = key(row)
            body = None
            if row.enterprise_id is not None or k[2] is not None:
                body = memo.memo(
                    k,
                    lambda row=row, k=k: routing.competent_body(
                        enterprises.get(row.enterprise_id)
                        or (
                            db.session.get(Enterprise, row.enterprise_id)
                            if row.enterprise_id
                            else None
                        ),
                        k[4],
                        platform_region_code=k[2],
                        seller_address_usable=k[3],
                        for_region=_office_of_region,
                    ),
                )
            if body is None:
                body = _office_of_region(
                    row.respondent_region_code or self.regions[row.consumer_id]
                )
            if body is not None:
                staffed_id, passed = routing.staffed_office(body[0])
                if passed is not None:
                    body = _office(staffed_id)
                    self.passed_over[row.id] = passed
            bodies[row.id] = body
        return bodies

    def make(self, changes: dict, per_row) -> None:
        """Make the move on every case: `changes` are the same for all, `per_row(row)` gives
        (the case's own column values, its event's details)."""
        target = TARGETS.get(self.move)
        if target:
            changes = {**changes, "state": target}
        self.events, self.updates = [], []
        for row in self.rows:
            own, details = per_row(row)
            to_state = own.get("state") or target or row.state
            role = self.roles.get(row.id, Role.SYSTEM)
            event = event_row(
                row.id,
                row.chain_head,
                actor_id=self.actor.id if self.actor is not None else None,
                actor_role=str(role),
                action=str(self.move),
                from_state=str(row.state),
                to_state=str(to_state),
                details=details,
                at=self.now,
            )
            self.events.append(event)
            self.updates.append({**changes, **own, "chain_head": event["hash"]})
        announce_rows(db.session(), self.rows, self.updates)

    def tell(self, kind: str, params_of, body_of, then=None, group: dict | None = None) -> None:
        """Write the move (see `make`) and tell everyone as `notify` does: the in-app
        notices, the e-mails in each recipient's language and the webhooks. `params_of(row)`
        are the notice's params besides the reference, `body_of(row)` the case's body after
        the move; `then(ids)` runs once the cases are moved. `group` (a joint complaint's
        {"joint_reference", ...}): each member hears of their own case, the enterprise's
        staff and the mediators once of the group (named by its reference), not once a
        member; webhooks still come a case each."""
        audiences = notices.KINDS[kind][1]
        notes, mails, hooked = [], [], []
        hooks = notices.webhook_events(kind)
        for n, (row, event) in enumerate(zip(self.rows, self.events, strict=True)):
            params = {"reference": row.reference, **params_of(row)}
            # Keyed by the event's hash (unique in the case's chain): known before the insert.
            key = f"{row.id}:{kind}:{event['hash'][:32]}"
            told = audiences
            if group is not None:
                if n == 0:
                    self._tell_group(
                        kind, row, params, key, audiences, body_of, group, notes, mails
                    )
                told = audiences & {"consumer"}
            for user in notices.recipients_of(
                told,
                consumer=self.people[row.consumer_id],
                enterprise_id=row.enterprise_id,
                assignee=self.people.get(row.assignee_id),
                mediator=self.people.get(row.mediator_id),
                body_id=body_of(row),
                raised_to_body_id=row.raised_to_body_id if "parent_body" in audiences else None,
            ):
                if self.actor is not None and user.id == self.actor.id:
                    continue
                notes.append(
                    {"user_id": user.id, "complaint_id": row.id, "kind": kind, "params": params}
                )
                mails.extend(
                    notices.message_rows(user, kind, params, row.id, key=f"mail:{key}:{user.id}")
                )
            if hooks and row.enterprise_id and notices.webhook_endpoints(row.enterprise_id):
                hooked.append((row.id, params, key))
        self._write()
        if then is not None:
            then([row.id for row in self.rows])
        _insert(Notification.__table__, notes)
        _insert(Outbox.__table__, mails)
        if hooked:
            # Few enterprises take webhooks; their payload carries the case as the API
            # shows it, so those cases are read again (after the move).
            loaded = {
                complaint.id: complaint
                for complaint in db.session.scalars(
                    db.select(Complaint)
                    .where(Complaint.id.in_([h[0] for h in hooked]))
                    .execution_options(populate_existing=True)
                )
            }
            for complaint_id, params, key in hooked:
                for hook in hooks:
                    notices.queue_webhooks(loaded[complaint_id], hook, params, key=f"{key}:{hook}")

    def _tell_group(self, kind, row, params, key, audiences, body_of, group, notes, mails):
        """The one notice of a group act for the enterprise's staff and the mediators."""
        staff = audiences - {"consumer"}
        params = {**params, "reference": group["joint_reference"]}
        for user in notices.recipients_of(
            staff,
            consumer=self.people[row.consumer_id],
            enterprise_id=row.enterprise_id,
            assignee=self.people.get(row.assignee_id),
            mediator=self.people.get(row.mediator_id),
            body_id=body_of(row),
            raised_to_body_id=row.raised_to_body_id if "parent_body" in staff else None,
        ):
            if self.actor is not None and user.id == self.actor.id:
                continue
            notes.append(
                {"user_id": user.id, "complaint_id": row.id, "kind": kind, "params": params}
            )
            mails.append(
                notices.email_row(user, kind, params, row.id, key=f"mail:{key}:group:{user.id}")
            )

    def _write(self) -> None:
        """The cases' UPDATE (each guarded by its version) and their events; the cases
        loaded in the session are given the new values."""
        if not self.rows:
            return
        table = Complaint.__table__
        connection = db.session.connection()
        dialect = connection.dialect
        names = list(self.updates[0])
        rows = [
            (row.id, row.version, *values)
            for row, values in zip(
                self.rows, _Binder(dialect, table).rows(names, self.updates), strict=True
            )
        ]
        # The cases' sealed columns (state, body, chain head) change by statement: sealed
        # from the one reading before it and what it writes.
        updates = {row.id: update for row, update in zip(self.rows, self.updates, strict=True)}
        seals.remember_before(
            db.session(), "case", list(updates), writes=lambda row: updates.get(row.id)
        )
        statement, parameters = _case_update(dialect, names, rows)
        result = connection.exec_driver_sql(statement, parameters)
        if dialect.supports_sane_multi_rowcount and result.rowcount != len(self.rows):
            raise StaleDataError(f"{len(self.rows) - result.rowcount} cases changed meanwhile")
        _insert(CaseEvent.__table__, self.events)
        loaded = {case.id: case for case in self.cases if isinstance(case, Complaint)}
        moved = []
        for row, update in zip(self.rows, self.updates, strict=True):
            complaint = loaded.get(row.id)
            if complaint is None:  # asked by id: answered with the row as it is now
                moved.append(SimpleNamespace(**{**row._mapping, **update}))
                continue
            for name, value in update.items():
                set_committed_value(complaint, name, value)
            set_committed_value(complaint, "version", row.version + 1)
            # Relationships that follow the changed columns are read again when asked for.
            db.session.expire(complaint, ["body", "raised_to_body", "events"])
            moved.append(complaint)
        self.moved = moved


__all__ = [name for name in globals() if not name.startswith("_")] + ["DomainError"]
