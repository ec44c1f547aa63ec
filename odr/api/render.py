"""Plain dicts of what the API answers. Each case view loads what it shows with a fixed
number of queries (no N+1)."""

import sqlalchemy as sa
from flask import url_for
from sqlalchemy.orm import selectinload

from odr.auth.models import User
from odr.disputes import deadlines, sessions, turns
from odr.disputes import operations as ops
from odr.disputes.choices import AgreementStatus
from odr.disputes.models import (
    Agreement,
    CaseEvent,
    Complaint,
    Enterprise,
    Evidence,
    MediationBody,
    Message,
    Offer,
    Record,
    WebhookEndpoint,
)
from odr.disputes.permissions import can_see_contact, role_in_case
from odr.disputes.serialize import complaint_summary, event_dict, iso, money_str
from odr.disputes.states import Role
from odr.extensions import db
from odr.types import utcnow


def _value(enum_value):
    return str(enum_value) if enum_value is not None else None


def _date(value):
    return value.isoformat() if value is not None else None


def user_dict(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "phone": user.phone,
        "region_code": user.region_code,
        "role": str(user.role),
    }


def enterprise_public(enterprise: Enterprise) -> dict:
    return {
        "id": enterprise.id,
        "name": enterprise.name,
        "name_en": enterprise.name_en,
        "credit_code": enterprise.credit_code,
        "region_code": enterprise.region_code,
        "status": str(enterprise.status),
    }


def enterprise_dict(enterprise: Enterprise) -> dict:
    return {
        **enterprise_public(enterprise),
        "address": enterprise.address,
        "contact_phone": enterprise.contact_phone,
        "created_at": iso(enterprise.created_at),
        "approved_at": iso(enterprise.approved_at),
    }


def case_dict(complaint: Complaint, user: User | None, *, contact: bool = False) -> dict:
    """One case as listed; `contact` adds the consumer's phone and address for those who
    may see them."""
    enterprise = complaint.enterprise
    body = complaint.body
    data = case_fields(
        complaint,
        enterprise.name if enterprise else None,
        {"id": body.id, "name": body.display_name()} if body else None,
    )
    if contact and can_see_contact(user, complaint):
        data["complainant_phone"] = complaint.complainant_phone
        data["complainant_address"] = complaint.complainant_address
    return data


def case_fields(c, enterprise_name: str | None, body: dict | None) -> dict:
    """The listed fields of a case, from a Complaint or from a row of LIST_COLUMNS (the API
    list reads columns, not ORM objects: a third of the CPU of a 50-row page)."""
    return {
        **complaint_summary(c),
        "filed_at": iso(c.filed_at),
        "closed_at": iso(c.closed_at),
        "enterprise": (
            {"id": c.enterprise_id, "name": enterprise_name} if c.enterprise_id else None
        ),
        # Complaint.respondent_display: the listed enterprise, else the name the consumer gave.
        "respondent_name": enterprise_name if c.enterprise_id else (c.respondent_name or ""),
        "body": body,
        "mediator_id": c.mediator_id,
        "green_channel": bool(c.green_channel),
        "subject_kind": _value(c.subject_kind),
        "subject": c.subject,
        "purchase_date": _date(c.purchase_date),
        "purchase_place": c.purchase_place,
        "purchase_url": c.purchase_url,
        "amount": money_str(c.amount),
        "issue": _value(c.issue),
        "requests": list(c.requests or []),
        "claimed_amount": money_str(c.claimed_amount),
        "facts": c.facts,
        "refusal_reason": _value(c.refusal_reason),
        "termination_reason": _value(c.termination_reason),
        "settled_amount": money_str(c.settled_amount),
        "performance_status": _value(c.performance_status),
        "performance_due": _date(c.performance_due),
        "rating": c.rating,
        "complainant_name": c.complainant_name,
        "channel": _value(c.channel) or "online",
        "taken_by": c.taken_by_id,
    }


# What case_fields reads, as columns.
LIST_COLUMNS = (
    Complaint.id,
    Complaint.reference,
    Complaint.state,
    Complaint.deadline_at,
    Complaint.filed_at,
    Complaint.closed_at,
    Complaint.enterprise_id,
    Complaint.respondent_name,
    Complaint.body_id,
    Complaint.mediator_id,
    Complaint.green_channel,
    Complaint.subject_kind,
    Complaint.subject,
    Complaint.purchase_date,
    Complaint.purchase_place,
    Complaint.purchase_url,
    Complaint.amount,
    Complaint.issue,
    Complaint.requests,
    Complaint.claimed_amount,
    Complaint.facts,
    Complaint.refusal_reason,
    Complaint.termination_reason,
    Complaint.settled_amount,
    Complaint.performance_status,
    Complaint.performance_due,
    Complaint.rating,
    Complaint.complainant_name,
    Complaint.channel,
    Complaint.taken_by_id,
)


def case_list_select():
    """The listed columns of cases with their enterprise's and body's names: one query, no
    ORM objects."""
    return (
        db.select(
            *LIST_COLUMNS,
            Enterprise.name.label("enterprise_name"),
            MediationBody.name.label("body_name"),
            MediationBody.name_en.label("body_name_en"),
        )
        .select_from(Complaint)
        .outerjoin(Enterprise, Enterprise.id == Complaint.enterprise_id)
        .outerjoin(MediationBody, MediationBody.id == Complaint.body_id)
    )


def case_rows_out(rows) -> list[dict]:
    """case_fields for rows of case_list_select."""
    bodies: dict = {}
    for row in rows:
        if row.body_id is not None and row.body_id not in bodies:
            # MediationBody.display_name picks the name for the reader's language.
            name = MediationBody(name=row.body_name, name_en=row.body_name_en).display_name()
            bodies[row.body_id] = {"id": row.body_id, "name": name}
    return [case_fields(row, row.enterprise_name, bodies.get(row.body_id)) for row in rows]


def event_out(event: CaseEvent) -> dict:
    data = event_dict(event)
    # Where a party signed from is kept for the record, not shown to the other side.
    data["details"] = {k: v for k, v in data["details"].items() if k != "ip_address"}
    return data


def offer_dict(offer: Offer) -> dict:
    return {
        "id": offer.id,
        "remedy": _value(offer.remedy),
        "amount": money_str(offer.amount),
        "terms": offer.terms,
        "performance_due": _date(offer.performance_due),
        "status": ops.offer_status(offer, deadlines.local_date(utcnow())),
        "expires_on": _date(offer.expires_on),
        "counter_proposal": offer.counter_proposal,
        "counter_remedy": _value(offer.counter_remedy),
        "counter_amount": money_str(offer.counter_amount)
        if offer.counter_amount is not None
        else None,
        "created_at": iso(offer.created_at),
        "answered_at": iso(offer.answered_at),
        "warnings": ops.offer_warnings(offer.remedy, offer.amount),
    }


def message_dict(message: Message) -> dict:
    return {
        "id": message.id,
        "author_role": message.author_role,
        "author_name": message.author.name if message.author is not None else "",
        "body": message.body,
        "internal": bool(message.internal),
        "created_at": iso(message.created_at),
    }


def evidence_dict(item: Evidence) -> dict:
    return {
        "id": item.id,
        "filename": item.filename,
        "content_type": item.content_type,
        "size": item.size,
        "created_at": iso(item.created_at),
    }


def agreement_dict(agreement: Agreement) -> dict:
    return {
        "id": agreement.id,
        "terms": agreement.terms,
        "amount": money_str(agreement.amount),
        "performance_due": _date(agreement.performance_due),
        "status": agreement.status,
        "created_at": iso(agreement.created_at),
        "signatures": [
            {"party": s.party, "signed_at": iso(s.signed_at)} for s in agreement.signatures
        ],
    }


def messages_query(complaint: Complaint, user: User):
    query = (
        db.select(Message)
        .where(Message.complaint_id == complaint.id)
        .options(selectinload(Message.author))
    )
    if role_in_case(user, complaint) != Role.MEDIATOR:
        query = query.where(Message.internal.is_(False))
    return query


# The single-case view's queries, built once (building a statement costs more than running
# it on a small case).
_CID = sa.bindparam("cid")
EVENTS = db.select(CaseEvent).where(CaseEvent.complaint_id == _CID).order_by(CaseEvent.id)
OFFERS = db.select(Offer).where(Offer.complaint_id == _CID).order_by(Offer.id)
MESSAGES = (
    db.select(Message)
    .where(Message.complaint_id == _CID)
    .options(selectinload(Message.author))
    .order_by(Message.id)
)
PUBLIC_MESSAGES = MESSAGES.where(Message.internal.is_(False))
EVIDENCE = db.select(Evidence).where(Evidence.complaint_id == _CID).order_by(Evidence.id)
AGREEMENT = (
    db.select(Agreement)
    .where(Agreement.complaint_id == _CID, Agreement.status != AgreementStatus.SUPERSEDED)
    .options(selectinload(Agreement.signatures))
    .order_by(Agreement.id.desc())
    .limit(1)
)


def case_detail(complaint: Complaint, user: User) -> dict:
    """The single-case view: the case, its timeline, offers, messages, evidence and the
    current agreement."""
    data = case_dict(complaint, user, contact=True)
    cid = {"cid": complaint.id}
    scalars = db.session.scalars
    # The mediator also reads the private notes (as messages_query).
    messages = MESSAGES if role_in_case(user, complaint) == Role.MEDIATOR else PUBLIC_MESSAGES
    data["events"] = [event_out(e) for e in scalars(EVENTS, cid)]
    data["offers"] = [offer_dict(o) for o in scalars(OFFERS, cid)]
    data["messages"] = [message_dict(m) for m in scalars(messages, cid)]
    data["evidence"] = [evidence_dict(item) for item in scalars(EVIDENCE, cid)]
    agreement = db.session.scalar(AGREEMENT, cid)
    data["agreement"] = agreement_dict(agreement) if agreement else None
    role = role_in_case(user, complaint)
    if role in sessions.READERS:
        found = sessions.sessions_of(complaint) if complaint.accepted_at is not None else []
        data["sessions"] = [sessions.session_dict(s) for s in found]
    data["your_turn"] = turn_dict(turns.turn_of_case(complaint, role))
    return data


def turn_dict(turn: turns.Turn | None) -> dict | None:
    if turn is None:
        return None
    return {
        "step": str(turn.step),
        "label": str(turn.label),
        "due": turn.due.isoformat() if turn.due is not None else None,
    }


def filed_case_detail(complaint: Complaint, user: User, event: CaseEvent) -> dict:
    """case_detail of a case just filed through the API, from what is in memory (no query):
    its one event, and no offer, message, evidence or agreement yet. Built before the
    commit, while every value is still loaded."""
    data = case_dict(complaint, user, contact=True)
    data["events"] = [event_out(event)]
    data["offers"] = []
    data["messages"] = []
    data["evidence"] = []
    data["agreement"] = None
    data["sessions"] = []
    data["your_turn"] = None
    return data


def record_dict(record: Record) -> dict:
    return {
        "code": record.code,
        "kind": _value(record.kind),
        "issued_at": iso(record.issued_at),
        "sha256": record.sha256,
        "url": url_for("api.record_pdf", code=record.code),
    }


def webhook_dict(endpoint: WebhookEndpoint) -> dict:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "active": bool(endpoint.active),
        "created_at": iso(endpoint.created_at),
    }


def token_dict(token) -> dict:
    return {
        "id": token.id,
        "name": token.name,
        "user_id": token.user_id,
        "created_at": iso(token.created_at),
        "expires_at": iso(token.expires_at),
        "last_used_at": iso(token.last_used_at),
        "revoked_at": iso(token.revoked_at),
        "scopes": sorted(str(s) for s in token.scope_set),
        "parent_id": token.parent_id,
    }


def _ref(thing) -> dict | None:
    return {"id": thing.id, "name": thing.display_name()} if thing is not None else None


def consultation_dict(c) -> dict:
    """A consultation as the seats and the regulator see it."""
    return {
        "id": c.id,
        "caller": {"name": c.caller_name, "phone": c.caller_phone, "address": c.caller_address},
        "channel": _value(c.channel),
        "topic": _value(c.topic),
        "enterprise": (
            {"id": c.enterprise.id, "name": c.enterprise.name} if c.enterprise else None
        ),
        "question": c.question,
        "answer": c.answer,
        "taken_by": c.taken_by_id,
        "office": _ref(c.intake_body),
        "station": _ref(c.station),
        "created_at": iso(c.created_at),
        "transfers": [
            {
                "from_body": _ref(t.from_body),
                "to_body": _ref(t.to_body),
                "by": t.by_id,
                "note": t.note,
                "at": iso(t.at),
            }
            for t in c.transfers
        ],
    }
