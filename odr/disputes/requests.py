"""The platform's other request types: consultations (咨询), reports of illegal conduct
(举报) and suggestions (意见建议). None of them is a case.

- A consultation is a question answered by the office of the consumer's region.
- A report goes to the market-regulation office of the reported enterprise's region, which
  verifies it within 15 working days (extendable once by 15) and decides to file a case
  (立案) or not; a real-name reporter is told the decision. The reporter's identity is
  never shown to the reported party: enterprises have no access to reports at all, and an
  anonymous reporter's identity is hidden from the office as well.
- A suggestion is recorded and answered by the regulator.

Each has its own clock. Operations flush, never commit.
"""

import uuid
from datetime import datetime

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from odr.auth.models import User, UserRole
from odr.disputes import deadlines, routing
from odr.disputes import notifications as notices
from odr.disputes.models import (
    BodyMembership,
    Enterprise,
    Notification,
    Region,
    RequestKind,
    ServiceRequest,
)
from odr.disputes.states import Forbidden, Invalid, InvalidTransition, NotFound
from odr.extensions import db
from odr.types import as_id, utcnow
from odr.urls import public_url

OPEN, CLOSED = "open", "closed"
FILED, NOT_FILED, ANSWERED = "filed", "not_filed", "answered"

# Working days to answer. Reports: verification within 15 working days, once extendable by
# 15 (行政处罚程序规定 Art. 18). Consultations and suggestions have no statutory limit; the
# platform's own service targets are used.
CLOCK_DAYS = {
    RequestKind.CONSULTATION: 7,
    RequestKind.REPORT: deadlines.REPORT_DAYS,
    RequestKind.SUGGESTION: 15,
}
REPORT_EXTENSION_DAYS = 15
PREFIX = {
    RequestKind.CONSULTATION: "ZX",
    RequestKind.REPORT: "JB",
    RequestKind.SUGGESTION: "JY",
}
KIND_LABELS = {
    RequestKind.CONSULTATION: _l("Consultation"),
    RequestKind.REPORT: _l("Report of illegal conduct"),
    RequestKind.SUGGESTION: _l("Suggestion"),
}
OUTCOME_LABELS = {
    FILED: _l("Case filed (立案)"),
    NOT_FILED: _l("Not filed"),
    ANSWERED: _l("Answered"),
}

# Texts of the in-app notices about requests (rendered by notifications.notification_text).
notices.KINDS.setdefault(
    "request_received", (_l("A new request %(reference)s is waiting for your office"), set())
)
notices.KINDS.setdefault("request_answered", (_l("Your request %(reference)s was answered"), set()))
notices.KINDS.setdefault(
    "report_extended", (_l("Verification of your report %(reference)s was extended"), set())
)
notices.KINDS.setdefault(
    "report_decided", (_l("A decision was made on your report %(reference)s"), set())
)

MAX_TEXT = 10_000


def kind_label(kind) -> str:
    return str(KIND_LABELS[RequestKind(kind)])


def outcome_label(outcome: str | None) -> str:
    return str(OUTCOME_LABELS[outcome]) if outcome in OUTCOME_LABELS else ""


# -- who may see and handle a request ----------------------------------------------------


def is_handler(user: User | None, request: ServiceRequest) -> bool:
    """The regulator, or a member of the office the request was routed to."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    if user.role == UserRole.ADMIN:
        return True
    return (
        user.role == UserRole.MEDIATOR
        and request.body_id is not None
        and request.body_id in user.body_ids
    )


def can_view(user: User | None, request: ServiceRequest) -> bool:
    """The person who filed it and its handlers. Enterprises never see a request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    if user.role == UserRole.CONSUMER:
        return request.user_id == user.id
    return is_handler(user, request)


def reporter_visible(request: ServiceRequest) -> bool:
    """Whether the handlers may see who filed it: not for an anonymous report."""
    return request.kind != RequestKind.REPORT or request.real_name


def get_for(user: User, request_id, *, handle: bool = False) -> ServiceRequest:
    """The request, or NotFound when this user may not see (or handle) it."""
    try:
        request = db.session.get(ServiceRequest, as_id(request_id) or 0)
    except (TypeError, ValueError):
        request = None
    allowed = request is not None and (
        is_handler(user, request) if handle else can_view(user, request)
    )
    if not allowed:
        raise NotFound(_l("No such request."))
    return request


def for_user(user: User, kind=None):
    query = db.select(ServiceRequest).where(ServiceRequest.user_id == user.id)
    if kind is not None:
        query = query.where(ServiceRequest.kind == RequestKind(kind))
    return db.session.scalars(query.order_by(ServiceRequest.id.desc()).limit(200)).all()


def for_handler(user: User, *, kind=None, state=None, limit: int = 200):
    query = db.select(ServiceRequest)
    if user.role != UserRole.ADMIN:
        bodies = list(user.body_ids) if user.role == UserRole.MEDIATOR else []
        query = query.where(ServiceRequest.body_id.in_(bodies))
    if kind is not None:
        query = query.where(ServiceRequest.kind == RequestKind(kind))
    if state in (OPEN, CLOSED):
        query = query.where(ServiceRequest.state == state)
    order = (ServiceRequest.deadline_at, ServiceRequest.id) if state == OPEN else ()
    query = query.order_by(*order, ServiceRequest.id.desc())
    return db.session.scalars(query.limit(limit)).all()


# -- validation --------------------------------------------------------------------------


def _text(value, field, *, limit, required=True) -> str | None:
    if value is not None and not isinstance(value, str):
        raise Invalid(_l("Invalid input."), {field: str(_l("Must be text."))})
    value = (value or "").strip()
    if required and not value:
        raise Invalid(_l("Invalid input."), {field: str(_l("This field is required."))})
    if len(value) > limit:
        raise Invalid(_l("Invalid input."), {field: str(_l("At most %(n)s characters.", n=limit))})
    return value or None


def _flag(value, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "on", "y", "yes"}


# -- filing ------------------------------------------------------------------------------


def file_request(user: User, kind, data: dict, *, now: datetime | None = None) -> ServiceRequest:
    """A consumer files a consultation, a report or a suggestion."""
    now = now or utcnow()
    if user is None or user.role != UserRole.CONSUMER:
        raise Forbidden(_l("Only consumers file requests."))
    try:
        kind = RequestKind(kind)
    except ValueError:
        raise NotFound(_l("No such request type.")) from None
    errors: dict[str, str] = {}
    clean: dict = {}
    for field, limit in (("subject", 200), ("text", MAX_TEXT)):
        try:
            clean[field] = _text(data.get(field), field, limit=limit)
        except Invalid as exc:
            errors.update(exc.fields)
    region_code = data.get("region_code") or None
    if region_code is not None and (
        not isinstance(region_code, str) or db.session.get(Region, region_code) is None
    ):
        errors["region_code"] = str(_l("Unknown region."))
        region_code = None
    enterprise = None
    respondent_name = None
    if kind == RequestKind.REPORT:
        enterprise_id = data.get("enterprise_id")
        if enterprise_id not in (None, ""):
            try:
                enterprise = db.session.get(Enterprise, as_id(enterprise_id) or 0)
            except (TypeError, ValueError):
                enterprise = None
            if enterprise is None:
                errors["enterprise_id"] = str(_l("No such enterprise."))
        else:
            try:
                respondent_name = _text(
                    data.get("respondent_name"), "respondent_name", limit=200, required=False
                )
            except Invalid as exc:
                errors.update(exc.fields)
            if not respondent_name and "respondent_name" not in errors:
                errors["respondent_name"] = str(
                    _l("Choose the enterprise you report, or give its name and region.")
                )
            elif region_code is None and "region_code" not in errors:
                errors["region_code"] = str(_l("Choose the region of the reported party."))
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)

    if kind == RequestKind.REPORT:
        body = routing.competent_body(enterprise, region_code)
        region_code = region_code or (enterprise.region_code if enterprise else None)
    elif kind == RequestKind.CONSULTATION:
        region_code = region_code or user.region_code
        body = routing.competent_body_for_region(region_code)
    else:  # suggestions go to the regulator
        region_code = region_code or user.region_code
        body = None
    request = ServiceRequest(
        kind=kind,
        reference=f"p-{uuid.uuid4().hex[:24]}",  # replaced once the id is known
        user_id=user.id,
        enterprise_id=enterprise.id if enterprise else None,
        respondent_name=respondent_name,
        region_code=region_code,
        body_id=body.id if body else None,
        subject=clean["subject"],
        text=clean["text"],
        real_name=_flag(data.get("real_name"), True) if kind == RequestKind.REPORT else True,
        state=OPEN,
        deadline_at=deadlines.working_day_deadline(now, CLOCK_DAYS[kind]),
        created_at=now,
    )
    db.session.add(request)
    db.session.flush()
    request.reference = f"{PREFIX[kind]}-{deadlines.local_date(now).year}-{request.id:07d}"
    for staff in _office_staff(request):
        _tell(staff, request, "request_received")
    return request


def _office_staff(request: ServiceRequest) -> list[User]:
    """Who hears of a new request: the office's members, or the regulators."""
    if request.body_id is not None:
        staff = db.session.scalars(
            db.select(User)
            .join(BodyMembership, BodyMembership.user_id == User.id)
            .where(
                BodyMembership.body_id == request.body_id,
                BodyMembership.active.is_(True),
                User.active.is_(True),
                User.role == UserRole.MEDIATOR,
            )
        ).all()
        if staff:
            return list(staff)
    return list(
        db.session.scalars(
            db.select(User).where(User.role == UserRole.ADMIN, User.active.is_(True))
        ).all()
    )


def _url(user: User, request: ServiceRequest) -> str:
    if user.role == UserRole.CONSUMER:
        return public_url(f"/consumer/requests/{request.id}")
    if user.role == UserRole.ADMIN:
        return public_url(f"/admin/requests/{request.id}")
    return public_url(f"/office/requests/{request.id}")


def _tell(user: User, request: ServiceRequest, kind: str) -> None:
    """An in-app notice and an e-mail in the recipient's language. Never to an enterprise."""
    if user.role == UserRole.ENTERPRISE:  # a report is never shown to the reported party
        return
    params = {"reference": request.reference}
    db.session.add(Notification(user_id=user.id, kind=kind, params=params))
    with force_locale(user.locale or "zh_CN"):
        subject = notices.notification_text(kind, params)
        lines = [subject, ""]
        if kind in ("request_answered", "report_decided") and request.answer:
            if request.outcome in (FILED, NOT_FILED):
                lines.append(
                    str(_l("Decision: %(outcome)s", outcome=outcome_label(request.outcome)))
                )
            lines += [request.answer, ""]
        if kind == "report_extended":
            lines += [
                str(
                    _l(
                        "New deadline: %(date)s",
                        date=deadlines.local_date(request.deadline_at).isoformat(),
                    )
                ),
                "",
            ]
        lines.append(_url(user, request))
    notices.queue_plain_email(
        user.email,
        subject,
        "\n".join(lines),
        key=f"request:{request.id}:{kind}:{user.id}:{request.deadline_at.timestamp()}",
    )


# -- handling ----------------------------------------------------------------------------


def _handling(actor: User, request: ServiceRequest, kind: RequestKind | None = None) -> None:
    if not is_handler(actor, request):
        raise NotFound(_l("No such request."))
    if kind is not None and request.kind != kind:
        raise InvalidTransition(_l("Not possible for this type of request."))
    if request.state != OPEN:
        raise InvalidTransition(_l("This request is already closed."))


def answer_request(
    actor: User, request: ServiceRequest, answer, *, now: datetime | None = None
) -> ServiceRequest:
    """Answer a consultation or a suggestion; this closes it."""
    now = now or utcnow()
    _handling(actor, request)
    if request.kind == RequestKind.REPORT:
        raise InvalidTransition(_l("A report is closed with a filing decision."))
    request.answer = _text(answer, "answer", limit=MAX_TEXT)
    request.outcome = ANSWERED
    request.state = CLOSED
    request.closed_at = now
    request.handled_by_id = actor.id
    db.session.flush()
    _tell(request.user, request, "request_answered")
    return request


def extend_report(
    actor: User, request: ServiceRequest, reason, *, now: datetime | None = None
) -> ServiceRequest:
    """Extend the verification of a report once, by 15 working days from its deadline."""
    _handling(actor, request, RequestKind.REPORT)
    if request.extended:
        raise InvalidTransition(_l("The verification period can be extended only once."))
    request.extension_reason = _text(reason, "reason", limit=2000)
    request.deadline_at = deadlines.working_day_deadline(
        deadlines.local_date(request.deadline_at), REPORT_EXTENSION_DAYS
    )
    request.extended = True
    request.handled_by_id = actor.id
    db.session.flush()
    if request.real_name:
        _tell(request.user, request, "report_extended")
    return request


def decide_report(
    actor: User, request: ServiceRequest, outcome, note, *, now: datetime | None = None
) -> ServiceRequest:
    """Close the verification: a case is filed (立案) or not. A real-name reporter is told."""
    now = now or utcnow()
    _handling(actor, request, RequestKind.REPORT)
    if outcome not in (FILED, NOT_FILED):
        raise Invalid(
            _l("Please correct the marked fields."), {"outcome": str(_l("Not a valid choice."))}
        )
    request.answer = _text(note, "answer", limit=MAX_TEXT)
    request.outcome = outcome
    request.state = CLOSED
    request.closed_at = now
    request.handled_by_id = actor.id
    db.session.flush()
    if request.real_name:
        _tell(request.user, request, "report_decided")
    return request
