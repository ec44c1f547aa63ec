"""Cases for the parties: file, list, show, talk, upload evidence, and the direct-settlement
moves (offers and their answers, decline, escalate, withdraw), then signing, performance and
rating. Each view loads the case (404 when the caller may not see it), checks the caller's
part (403), validates (422), calls one operation (409 from the state machine) and commits."""

import functools

from flask import request
from flask_babel import lazy_gettext as _l

from odr import downloads
from odr.api import bp, schemas
from odr.api.core import (
    caller,
    decode_cursor,
    load_case,
    page,
    payload,
    query,
    require_part,
    require_role,
)
from odr.api.render import (
    case_detail,
    case_list_select,
    case_rows_out,
    evidence_dict,
    filed_case_detail,
    message_dict,
    messages_query,
    offer_dict,
    turn_dict,
)
from odr.api.spec import ICS, endpoint
from odr.auth.models import UserRole
from odr.database import plain_rows
from odr.disputes import notifications, permissions, sessions, turns
from odr.disputes import operations as ops
from odr.disputes.models import Complaint, Message
from odr.disputes.permissions import role_in_case
from odr.disputes.states import Forbidden, Invalid, Move, Role
from odr.extensions import db

CASE = "/complaints/<int(max=2147483647):complaint_id>"
OFFER = CASE + "/offers/<int(max=2147483647):offer_id>"
PARTIES = ("consumer", "enterprise", "mediator")


@endpoint(
    bp,
    "POST",
    "/complaints",
    summary="File a complaint (consumer)",
    tags=("consumer",),
    body=schemas.ComplaintIn,
    responses={201: schemas.CaseDetail},
    idempotent=True,
    errors=(403,),
)
def file_complaint():
    """Goes to the enterprise for direct settlement (state `negotiating`, 10 working days)
    when it is an approved ODR enterprise and the green channel is kept; otherwise to the
    competent mediation body (`pending_acceptance`). The complainant's name, phone and address
    default to the consumer's profile. Money is accepted as a string or a number."""
    user = require_role(UserRole.CONSUMER)
    data = payload(schemas.ComplaintIn).model_dump(mode="json", exclude_unset=True)
    for key in ("complainant_name", "complainant_phone", "complainant_address"):
        if data.get(key) is None:
            data.pop(key, None)
    complaint, event = ops.filing(user, data)
    answer = filed_case_detail(complaint, user, event)
    db.session.commit()
    return answer, 201


@endpoint(
    bp,
    "GET",
    "/complaints",
    summary="The cases the caller may see, newest first",
    tags=("consumer", "enterprise", "mediator", "admin"),
    query=schemas.CaseListQuery,
    responses={200: schemas.CasePage},
)
def list_complaints():
    """A consumer sees their own cases; enterprise staff their enterprise's; a mediator the
    cases at their bodies (or raised to them); the regulator all. Paged by `cursor`."""
    user = caller()
    args = query(schemas.CaseListQuery)
    kind, params = permissions.visibility(user)
    params.update(size=args.limit + 1, state=args.state, after=decode_cursor(args.cursor))
    by_state, paged = params["state"] is not None, params["after"] is not None
    role = TURN_ROLES.get(user.role)
    statement = _list_statement(
        kind, by_state, paged, db.engine.dialect.name, role, args.your_turn and role is not None
    )
    params = {k: v for k, v in params.items() if v is not None}
    found = plain_rows(db.session.execute(statement, params))
    rows, cursor = page(found, args.limit)
    items = case_rows_out(rows)
    for item, row in zip(items, rows, strict=True):
        item["your_turn"] = turn_dict(turns.turn(row.turn, row.deadline_at, row.performance_due))
    return {"items": items, "next_cursor": cursor}, 200


# Whose turn a list shows is the caller's part: a consumer's, the enterprise's staff's, a
# mediator's (the regulator takes no turn).
TURN_ROLES = {
    UserRole.CONSUMER: Role.CONSUMER,
    UserRole.ENTERPRISE: Role.ENTERPRISE,
    UserRole.MEDIATOR: Role.MEDIATOR,
}


@functools.cache
def _list_statement(
    kind: str, by_state: bool, paged: bool, dialect: str, role=None, waiting: bool = False
):
    """The list's statement for one kind of visibility (permissions.visible_arms), with
    bound parameters (size, the visibility's values, state, after): built once, so
    SQLAlchemy need not walk its thirty-odd columns for a cache key on every request. Each
    row carries the caller's turn (turns.step_column); `waiting`: only the cases waiting on
    the caller."""
    arms = permissions.visible_arms(kind, Complaint)
    waits = turns.waiting_on(role, Complaint) if waiting else None
    if len(arms) > 1:
        newest = _newest_of_arms(arms, by_state, paged, dialect == "sqlite", waits)
        filters = [Complaint.id.in_(newest)]
    else:
        filters = list(arms)
        if by_state:
            filters.append(Complaint.state == db.bindparam("state"))
        if paged:
            filters.append(Complaint.id < db.bindparam("after"))
        if waits is not None:
            filters.append(waits)
    columns = case_list_select().add_columns(turns.step_column(role, Complaint))
    return columns.where(*filters).order_by(Complaint.id.desc()).limit(SIZE)


SIZE = db.bindparam("size")


def _newest_of_arms(arms: list, by_state: bool, paged: bool, sqlite: bool, waits=None):
    """The ids of the newest `size` cases of each arm of the visibility (a mediator's: at
    their bodies, raised to them): one arm per column, each on its own index, instead of
    `body_id IN .. OR raised_to_body_id IN ..`, which walks the whole table backwards for a
    body with few cases. A case in both arms is listed once (`id IN`)."""

    def newest(condition):
        # `id + 0` hides the rowid order from SQLite, which otherwise walks the table
        # backwards (its statistics cannot tell how rare a body's cases are): the arm then
        # reads its index (ix_complaint_body_state, ix_complaint_raised: every case of the
        # body) and sorts. With an index on (column, id) the bare id reads 51 entries in
        # order. PostgreSQL chooses well by itself.
        in_order = _indexed_with_id(condition.left.key)
        key = Complaint.id if in_order or not sqlite else Complaint.id + 0
        found = db.select(Complaint.id).where(condition)
        if by_state:
            found = found.where(Complaint.state == db.bindparam("state"))
        if paged:
            found = found.where(key < db.bindparam("after"))
        if waits is not None:
            found = found.where(waits)
        found = found.order_by(key.desc()).limit(SIZE).subquery()
        return db.select(found.c.id)

    return db.union_all(*[newest(arm) for arm in arms])


def _indexed_with_id(column: str) -> bool:
    """Whether an index on (column, id) exists: then a body's newest cases come in order."""
    return any(
        [c.name for c in index.columns] == [column, "id"] for index in Complaint.__table__.indexes
    )


@endpoint(
    bp,
    "GET",
    CASE,
    summary="One case with its deadline, timeline, offers, messages, evidence and agreement",
    tags=("consumer", "enterprise", "mediator", "admin"),
    responses={200: schemas.CaseDetail},
)
def show_complaint(complaint_id: int):
    """Reading a case marks the caller's notices about it read."""
    complaint = load_case(complaint_id)
    data = case_detail(complaint, caller())
    if notifications.mark_case_read(caller().id, complaint.id):
        db.session.commit()
    return data, 200


@endpoint(
    bp,
    "GET",
    CASE + "/sessions/<int:session_id>.ics",
    summary="A mediation session as an iCalendar event (parties and mediator)",
    tags=("consumer", "enterprise", "mediator"),
    responses={200: ICS},
)
def session_ics(complaint_id: int, session_id: int):
    complaint = load_case(complaint_id)
    session = sessions.session_of(caller(), complaint, session_id)
    return downloads.send_calendar(
        sessions.ics(session, complaint),
        filename=f"{complaint.reference}-session-{session.id}.ics",
    )


@endpoint(
    bp,
    "GET",
    CASE + "/messages",
    summary="The message thread of a case, oldest first",
    tags=("consumer", "enterprise", "mediator", "admin"),
    query=schemas.PageQuery,
    responses={200: schemas.MessagePage},
)
def list_messages(complaint_id: int):
    """Mediators also see their private notes (`internal: true`); nobody else does."""
    complaint = load_case(complaint_id)
    args = query(schemas.PageQuery)
    statement = messages_query(complaint, caller())
    after = decode_cursor(args.cursor)
    if after is not None:
        statement = statement.where(Message.id > after)
    rows = db.session.scalars(statement.order_by(Message.id).limit(args.limit + 1)).all()
    rows, cursor = page(rows, args.limit)
    return {"items": [message_dict(m) for m in rows], "next_cursor": cursor}, 200


def _party(complaint: Complaint):
    if role_in_case(caller(), complaint) not in {Role.CONSUMER, Role.ENTERPRISE, Role.MEDIATOR}:
        raise Forbidden(_l("Only the parties and the mediator take part in a case."))


@endpoint(
    bp,
    "POST",
    CASE + "/messages",
    summary="Write to the other side (parties) or a private note (mediator, internal)",
    tags=PARTIES,
    body=schemas.MessageIn,
    responses={201: schemas.MessageOut},
    idempotent=True,
    errors=(403, 409),
)
def post_message(complaint_id: int):
    complaint = load_case(complaint_id, lock=True)
    _party(complaint)
    data = payload(schemas.MessageIn)
    message = ops.post_message(caller(), complaint, data.body, internal=data.internal)
    db.session.commit()
    return message_dict(message), 201


@endpoint(
    bp,
    "POST",
    CASE + "/evidence",
    summary="Upload evidence: an image or a PDF, at most 10 MB (50 MB a case)",
    tags=PARTIES,
    multipart={
        "type": "object",
        "properties": {"file": {"type": "string", "format": "binary"}},
        "required": ["file"],
    },
    responses={201: schemas.EvidenceOut},
    idempotent=True,
    errors=(403, 409, 413, 415),
)
def upload_evidence(complaint_id: int):
    """Multipart form with the field `file`. The type is checked from the content, not the
    name: a renamed program is refused with 415."""
    complaint = load_case(complaint_id)
    upload = request.files.get("file")
    if upload is None:
        raise Invalid(
            _l("Please correct the marked fields."), {"file": str(_l("Choose a file to upload."))}
        )
    item = ops.add_evidence(caller(), complaint, upload.stream, upload.filename)
    db.session.commit()
    return evidence_dict(item), 201


@endpoint(
    bp,
    "POST",
    CASE + "/offers",
    summary="Make a settlement offer (enterprise)",
    tags=("enterprise",),
    body=schemas.OfferIn,
    responses={201: schemas.OfferOut},
    idempotent=True,
    errors=(403, 409),
)
def make_offer(complaint_id: int):
    """A ¥0 refund or compensation is made all the same, and answered with a `warnings`
    entry (`zero_amount`) the caller should show to whoever made it."""
    complaint = load_case(complaint_id, lock=True)
    require_part(complaint, Move.MAKE_OFFER)
    data = payload(schemas.OfferIn)
    offer = ops.make_offer(
        caller(),
        complaint,
        remedy=str(data.remedy),
        amount=data.amount,
        terms=data.terms,
        performance_due=data.performance_due,
        expires_on=data.expires_on,
    )
    # Before the commit expires it (one query fewer).
    answer = offer_dict(offer)
    db.session.commit()
    return answer, 201


@endpoint(
    bp,
    "POST",
    OFFER + "/accept",
    summary="Accept an offer: the case is settled (consumer)",
    tags=("consumer",),
    responses={200: schemas.CaseDetail},
    errors=(403, 409),
)
def accept_offer(complaint_id: int, offer_id: int):
    complaint = load_case(complaint_id, lock=True)
    require_part(complaint, Move.ACCEPT_OFFER)
    ops.accept_offer(caller(), complaint, offer_id)
    db.session.commit()
    return case_detail(complaint, caller()), 200


@endpoint(
    bp,
    "POST",
    OFFER + "/reject",
    summary="Reject an offer, optionally with a counter-offer: remedy and amount (consumer)",
    tags=("consumer",),
    body=schemas.RejectIn,
    body_required=False,
    responses={200: schemas.CaseDetail},
    errors=(403, 409),
)
def reject_offer(complaint_id: int, offer_id: int):
    complaint = load_case(complaint_id, lock=True)
    require_part(complaint, Move.REJECT_OFFER)
    data = payload(schemas.RejectIn)
    ops.reject_offer(
        caller(),
        complaint,
        offer_id,
        counter_proposal=data.counter_proposal,
        counter_remedy=str(data.counter_remedy) if data.counter_remedy else None,
        counter_amount=data.counter_amount,
    )
    db.session.commit()
    return case_detail(complaint, caller()), 200


def _simple_move(name, move: Move, operation, summary: str, tags: tuple[str, ...]):
    def view(complaint_id: int):
        complaint = load_case(complaint_id, lock=True)
        require_part(complaint, move)
        data = payload(schemas.ReasonIn)
        operation(caller(), complaint, reason=data.reason)
        db.session.commit()
        return case_detail(complaint, caller()), 200

    view.__name__ = name
    view.__doc__ = summary
    endpoint(
        bp,
        "POST",
        CASE + "/" + name.split("_")[0],
        summary=summary,
        tags=tags,
        body=schemas.ReasonIn,
        body_required=False,
        responses={200: schemas.CaseDetail},
        errors=(403, 409),
    )(view)


_simple_move(
    "decline_complaint",
    Move.DECLINE,
    ops.decline,
    "Decline to settle (enterprise): the case goes to mediation at once",
    ("enterprise",),
)
_simple_move(
    "escalate_complaint",
    Move.ESCALATE,
    ops.escalate,
    "Ask for mediation (consumer)",
    ("consumer",),
)
_simple_move(
    "reopen_complaint",
    Move.REOPEN,
    ops.reopen,
    "Ask for mediation again after reporting a breach of the agreement (consumer)",
    ("consumer",),
)
_simple_move(
    "withdraw_complaint",
    Move.WITHDRAW,
    ops.withdraw,
    "Withdraw the complaint (consumer), in any open state",
    ("consumer",),
)


@endpoint(
    bp,
    "POST",
    CASE + "/agreement/sign",
    summary="Sign the proposed mediation agreement (consumer or enterprise)",
    tags=("consumer", "enterprise"),
    responses={200: schemas.CaseDetail},
    errors=(403, 409),
)
def sign_agreement(complaint_id: int):
    """The bearer token is the proof of identity. When both parties have signed, the case
    is `mediated`."""
    complaint = load_case(complaint_id, lock=True)
    require_part(complaint, Move.SIGN_AGREEMENT)
    ops.sign_agreement(caller(), complaint, ip_address=request.remote_addr)
    db.session.commit()
    return case_detail(complaint, caller()), 200


@endpoint(
    bp,
    "POST",
    CASE + "/agreement/changes",
    summary="Ask the mediator for changes to the proposed agreement, with reasons "
    "(consumer or enterprise, before signing)",
    tags=("consumer", "enterprise"),
    body=schemas.ChangesIn,
    responses={200: schemas.CaseDetail},
    errors=(403, 409),
)
def ask_for_changes(complaint_id: int):
    complaint = load_case(complaint_id, lock=True)
    require_part(complaint, Move.ASK_CHANGES)
    data = payload(schemas.ChangesIn)
    ops.ask_for_changes(caller(), complaint, reasons=data.reasons)
    db.session.commit()
    return case_detail(complaint, caller()), 200


PERFORMANCE_ALIASES = {"performed": "confirmed", "breach": "breached"}


@endpoint(
    bp,
    "POST",
    CASE + "/performance",
    summary="Confirm performance or report a breach after a settlement or agreement",
    tags=("consumer", "enterprise"),
    body=schemas.PerformanceIn,
    responses={200: schemas.CaseDetail},
    errors=(403, 409),
)
def report_performance(complaint_id: int):
    complaint = load_case(complaint_id, lock=True)
    require_part(complaint, Move.REPORT_PERFORMANCE)
    data = payload(schemas.PerformanceIn)
    status = PERFORMANCE_ALIASES.get(data.status, data.status)
    ops.report_performance(caller(), complaint, status=status, note=data.note)
    db.session.commit()
    return case_detail(complaint, caller()), 200


@endpoint(
    bp,
    "POST",
    CASE + "/rating",
    summary="Rate a closed case, 1 to 5, once (consumer)",
    tags=("consumer",),
    body=schemas.RatingIn,
    responses={200: schemas.CaseDetail},
    errors=(403, 409),
)
def rate_complaint(complaint_id: int):
    complaint = load_case(complaint_id, lock=True)
    require_part(complaint, Move.RATE)
    data = payload(schemas.RatingIn)
    ops.rate(caller(), complaint, rating=data.rating, comment=data.comment)
    db.session.commit()
    return case_detail(complaint, caller()), 200
