"""The plain data a record shows, built from a case (templates never see ORM objects).

Called inside `force_locale(case language)`: every label is turned into text here, in
that language. Every field may be missing on an odd case (an unlisted respondent, a
refusal with no mediator yet, an agreement without a due date): the builder answers
empty values rather than failing, because a record is issued inside a state change.
"""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import format_date, format_datetime, get_locale
from flask_babel import gettext as _

from odr.auth.models import User
from odr.disputes import formats, rules
from odr.disputes.choices import (
    AgreementStatus,
    Issue,
    OfferStatus,
    RecordKind,
    Remedy,
    Request,
    SubjectKind,
)
from odr.disputes.deadlines import local_date
from odr.disputes.models import (
    Agreement,
    CaseEvent,
    Complaint,
    Enterprise,
    Evidence,
    MediationBody,
    Message,
    Offer,
)
from odr.disputes.states import RefusalReason, State, TerminationReason, action_label
from odr.extensions import db

PLATFORM_NAME_ZH = "在线消费纠纷解决平台"
FACTS_SHORT = 600

_ZH_NUMERALS = "一二三四五六七八九十"


def is_chinese() -> bool:
    return str(get_locale() or "zh_CN").startswith("zh")


def clause_number(i: int) -> str:
    """一、二、… in Chinese documents, 1. 2. … in English ones (i from 1)."""
    if not is_chinese():
        return f"{i}."
    if i <= 10:
        return _ZH_NUMERALS[i - 1] + "、"
    if i < 20:
        return "十" + _ZH_NUMERALS[i - 11] + "、"
    return f"{i}、"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SECTIONS = ["", "万", "亿", "万亿"]


def _group_words(n: int) -> str:
    """1..9999 in capital numerals; inner zeros collapse to one 零."""
    text, zero = "", False
    for k, unit in ((1000, "仟"), (100, "佰"), (10, "拾"), (1, "")):
        d = n // k % 10
        if d == 0:
            zero = zero or bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += _DIGITS[d] + unit
    return text


def rmb_upper(amount: Decimal | None) -> str:
    """An amount in Chinese capital numerals, as written on contracts: 壹仟贰佰玖拾玖元整."""
    if amount is None:
        return ""
    amount = Decimal(amount).quantize(Decimal("0.01"))
    if amount < 0:
        return ""
    cents = int(amount * 100)
    yuan, jiao, fen = cents // 100, (cents // 10) % 10, cents % 10
    groups = []
    while yuan:
        groups.append(yuan % 10000)
        yuan //= 10000
    words, pending_zero = "", False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            pending_zero = pending_zero or bool(words)
            continue
        if words and (pending_zero or group < 1000):
            words += "零"
        words += _group_words(group) + _SECTIONS[index]
        pending_zero = False
    if words:
        words += "元"
    if not jiao and not fen:
        return (words or "零元") + "整"
    if jiao:
        words += _DIGITS[jiao] + "角"
    elif words:
        words += "零"
    if fen:
        words += _DIGITS[fen] + "分"
    else:
        words += "整"
    return words


money = formats.amount  # the records write the ¥ themselves, before the amount in words


def amount_words(value) -> str:
    """'人民币壹仟贰佰玖拾玖元整' in Chinese records; nothing in English ones."""
    if value is None or not is_chinese():
        return ""
    try:
        return "人民币" + rmb_upper(Decimal(value))
    except (ArithmeticError, ValueError, TypeError):
        return ""


def long_date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        day = value.date() if value.tzinfo is None else _local(value)
        return format_date(day, formats.RECORD_DATE_FORMAT)
    if isinstance(value, date):
        return format_date(value, formats.RECORD_DATE_FORMAT)
    return ""


def _local(value: datetime) -> date:
    return local_date(value)


def moment(value: datetime | None) -> str:
    """A moment as every page, e-mail and record writes it, with its zone."""
    if not value:
        return ""
    return format_datetime(value, formats.DATETIME_FORMAT) + formats.moment_zone(get_locale())


def _label(enum_cls, value) -> str:
    if value in (None, ""):
        return ""
    try:
        return str(enum_cls(value).label)
    except (ValueError, KeyError):
        return str(value)


def document_title(kind: RecordKind) -> str:
    """The heading of the document: the record's one name (RecordKind's label, the same on
    the page, the link and the PDF; docs/GLOSSARY.md), in title case in English."""
    label = str(RecordKind(kind).label)
    return " ".join(word[:1].upper() + word[1:] for word in label.split(" "))


def party_label(party: str) -> str:
    return {
        "consumer": _("Applicant (consumer)"),
        "enterprise": _("Respondent (business)"),
        "mediator": _("Mediator"),
        "system": _("System"),
        "admin": _("Regulator"),
    }.get(party or "", party or "")


def short(text: str | None, limit: int = FACTS_SHORT) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def clauses(text: str | None) -> list[str]:
    """The terms, one clause a line; the mediator's own numbering is kept out."""
    out = []
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            out.append(line)
    return out


# -- the builder -------------------------------------------------------------------------


def _parties(complaint: Complaint) -> tuple[dict, dict]:
    consumer = {
        "name": complaint.complainant_name or "",
        "address": complaint.complainant_address or "",
        "phone": formats.mask_phone(complaint.complainant_phone),
    }
    enterprise = (
        db.session.get(Enterprise, complaint.enterprise_id) if complaint.enterprise_id else None
    )
    respondent = {
        "name": (enterprise.name if enterprise else complaint.respondent_name) or "",
        "credit_code": (enterprise.credit_code if enterprise else complaint.respondent_credit_code)
        or "",
        "address": (enterprise.address if enterprise else "") or "",
    }
    return consumer, respondent


def _case(complaint: Complaint) -> dict:
    requests = []
    for value in complaint.requests or []:
        requests.append(_label(Request, value))
    return {
        "subject": complaint.subject or "",
        "subject_kind": _label(SubjectKind, complaint.subject_kind),
        "purchase_date": long_date(complaint.purchase_date),
        "purchase_place": complaint.purchase_place or complaint.purchase_url or "",
        "amount": money(complaint.amount),
        "issue": _label(Issue, complaint.issue),
        "requests": "、".join(requests) if is_chinese() else ", ".join(requests),
        "claimed_amount": money(complaint.claimed_amount),
        "facts": short(complaint.facts),
        "filed_at": moment(complaint.filed_at),
        "filed_date": long_date(complaint.filed_at),
        "arrived_date": long_date(complaint.arrived_at or complaint.escalated_at),
        "accepted_date": long_date(complaint.accepted_at),
        "closed_date": long_date(complaint.closed_at),
        "state": _label(State, complaint.state),
    }


def _body(complaint: Complaint) -> dict | None:
    # By id, not through the relationship: an operation of this same flush may have moved
    # the case (a parent office taking it up) without refreshing the related object.
    body = db.session.get(MediationBody, complaint.body_id) if complaint.body_id else None
    if body is None:
        return None
    return {
        "name": body.display_name() or body.name,
        "name_zh": body.name,
        "address": body.address or "",
        "phone": body.phone or "",
    }


def build_context(complaint: Complaint, kind: RecordKind, code: str, issued_at: datetime) -> dict:
    kind = RecordKind(kind)
    consumer, respondent = _parties(complaint)
    body = _body(complaint)
    mediator = db.session.get(User, complaint.mediator_id) if complaint.mediator_id else None
    context = {
        "kind": str(kind),
        "title": document_title(kind),
        "code": code,
        "issued_at": moment(issued_at),
        "issued_date": long_date(issued_at),
        "reference": complaint.reference or "",
        "chinese": is_chinese(),
        "colon": "：" if is_chinese() else ": ",
        "sep": "，" if is_chinese() else ", ",
        "consumer": consumer,
        "respondent": respondent,
        "case": _case(complaint),
        # Kept for older templates.
        "subject": complaint.subject or "",
        "facts": short(complaint.facts),
        "claimed_amount": money(complaint.claimed_amount),
        "body": body,
        "mediator": {"name": mediator.name} if mediator is not None else None,
        "issuer": body["name"] if body else _("Online Dispute Resolution portal"),
        "seal": {
            "name": body["name_zh"] if body else PLATFORM_NAME_ZH,
            "label": "调解专用章" if body else "",
        },
        "outcome": {},
        "clauses": [],
        "signatures": [],
    }
    builder = {
        RecordKind.SETTLEMENT: _settlement,
        RecordKind.MEDIATION_AGREEMENT: _mediation_agreement,
        RecordKind.REFUSAL: _refusal,
        RecordKind.TERMINATION: _termination,
        RecordKind.CASE_FILE: _case_file,
    }[kind]
    builder(complaint, context)
    return context


def _numbered(lines: list[str]) -> list[dict]:
    return [{"number": clause_number(i), "text": text} for i, text in enumerate(lines, 1)]


def _payment_clause(amount, due: date | None) -> str | None:
    if amount is None or Decimal(amount) <= 0:
        if due is not None:
            return _("The agreement is performed no later than %(due)s.", due=long_date(due))
        return None
    words = amount_words(amount)
    shown = formats.money(amount) + (f"（{words}）" if words else "")
    if due is not None:
        return _(
            "The respondent pays the applicant %(amount)s no later than %(due)s.",
            amount=shown,
            due=long_date(due),
        )
    return _("The respondent pays the applicant %(amount)s.", amount=shown)


def _settlement(complaint: Complaint, context: dict) -> None:
    offer = db.session.scalar(
        db.select(Offer)
        .where(Offer.complaint_id == complaint.id, Offer.status == OfferStatus.ACCEPTED)
        .order_by(Offer.id.desc())
        .limit(1)
    )
    if offer is None:
        context["outcome"] = {"amount": money(complaint.settled_amount)}
        return
    context["outcome"] = {
        "remedy": _label(Remedy, offer.remedy),
        "amount": money(offer.amount),
        "amount_words": amount_words(offer.amount),
        "terms": offer.terms or "",
        "performance_due": long_date(offer.performance_due),
    }
    lines = clauses(offer.terms)
    payment = _payment_clause(offer.amount, offer.performance_due)
    if payment:
        lines.append(payment)
    lines.append(_("This settlement ends the dispute described above between the parties."))
    context["clauses"] = _numbered(lines)
    signatures = [
        {
            "party": "enterprise",
            "party_label": party_label("enterprise"),
            "name": context["respondent"]["name"],
            "signer": offer.made_by.name if offer.made_by is not None else "",
            "act": _("Offer made"),
            "at": moment(offer.created_at),
            "ip": "",
        }
    ]
    if offer.answered_at is not None:
        signatures.insert(
            0,
            {
                "party": "consumer",
                "party_label": party_label("consumer"),
                "name": context["consumer"]["name"],
                "signer": context["consumer"]["name"],
                "act": _("Offer accepted"),
                "at": moment(offer.answered_at),
                "ip": "",
            },
        )
    context["signatures"] = signatures


def _mediation_agreement(complaint: Complaint, context: dict) -> None:
    agreement = db.session.scalar(
        db.select(Agreement)
        .where(Agreement.complaint_id == complaint.id, Agreement.status == AgreementStatus.SIGNED)
        .order_by(Agreement.id.desc())
        .limit(1)
    )
    if agreement is None:
        context["outcome"] = {"amount": money(complaint.settled_amount)}
        return
    context["outcome"] = {
        "amount": money(agreement.amount),
        "amount_words": amount_words(agreement.amount),
        "terms": agreement.terms or "",
        "performance_due": long_date(agreement.performance_due),
    }
    lines = clauses(agreement.terms)
    payment = _payment_clause(agreement.amount, agreement.performance_due)
    if payment:
        lines.append(payment)
    lines.append(
        _(
            "Once this agreement has been performed, the applicant raises no further claim "
            "against the respondent on this dispute."
        )
    )
    context["clauses"] = _numbered(lines)
    order = {"consumer": 0, "enterprise": 1}
    signatures = []
    for s in sorted(agreement.signatures, key=lambda s: order.get(s.party, 9)):
        signatures.append(
            {
                "party": s.party,
                "party_label": party_label(s.party),
                "name": context["consumer"]["name"]
                if s.party == "consumer"
                else context["respondent"]["name"],
                "signer": s.user.name if s.user is not None else "",
                "act": _("Signed electronically"),
                "at": moment(s.signed_at),
                "ip": s.ip_address or "",
            }
        )
    context["signatures"] = signatures


def _reason(enum_cls, value) -> dict:
    if value in (None, ""):
        return {"reason_code": "", "reason": ""}
    try:
        reason = enum_cls(value)
    except ValueError:
        return {"reason_code": str(value), "reason": ""}
    return {"reason_code": str(reason), "reason": str(reason.label)}


def _ruled(complaint: Complaint, enum_cls, value) -> dict:
    """The reason in the words of the case's rule set (rules.rule_set_of), with the
    provision the decision rests on."""
    outcome = _reason(enum_cls, value)
    if not outcome["reason"]:
        return {**outcome, "basis": ""}
    rule_set = rules.rule_set_of(complaint)
    if enum_cls is RefusalReason:
        label, citation = rule_set.refusal_label(value), rule_set.refusal[RefusalReason(value)]
    else:
        label = rule_set.termination_label(value)
        citation = rule_set.termination[TerminationReason(value)]
    return {**outcome, "reason": label, "basis": rules.basis(rule_set, citation)}


def _refusal(complaint: Complaint, context: dict) -> None:
    context["outcome"] = {
        **_ruled(complaint, RefusalReason, complaint.refusal_reason),
        "explanation": complaint.outcome_note or "",
    }


def _termination(complaint: Complaint, context: dict) -> None:
    context["outcome"] = {
        **_ruled(complaint, TerminationReason, complaint.termination_reason),
        "explanation": complaint.outcome_note or "",
    }


_event_label = action_label  # one translation of timeline actions for every page


def _case_file(complaint: Complaint, context: dict) -> None:
    events = db.session.scalars(
        db.select(CaseEvent).where(CaseEvent.complaint_id == complaint.id).order_by(CaseEvent.id)
    ).all()
    context["timeline"] = [
        {
            "at": moment(e.at),
            "who": party_label(e.actor_role),
            "what": _event_label(e.action),
            "state": _label(State, e.to_state),
        }
        for e in events
    ]
    # The case file goes to the parties: a mediator's private notes are never in it.
    messages = db.session.scalars(
        db.select(Message)
        .where(Message.complaint_id == complaint.id, Message.internal.is_(False))
        .order_by(Message.id)
    ).all()
    context["messages"] = [
        {"at": moment(m.created_at), "who": party_label(m.author_role), "body": short(m.body, 2000)}
        for m in messages
    ]
    offers = db.session.scalars(
        db.select(Offer).where(Offer.complaint_id == complaint.id).order_by(Offer.id)
    ).all()
    context["offers"] = [
        {
            "at": moment(o.created_at),
            "remedy": _label(Remedy, o.remedy),
            "amount": money(o.amount),
            "terms": short(o.terms, 1000),
            "status": str(OfferStatus(o.status).label),
        }
        for o in offers
    ]
    evidence = db.session.scalars(
        db.select(Evidence).where(Evidence.complaint_id == complaint.id).order_by(Evidence.id)
    ).all()
    context["evidence"] = [
        {
            "name": e.filename,
            "type": e.content_type,
            "size": f"{max(1, round(e.size / 1024)):,} KB",
            "sha256": e.sha256,
            "at": moment(e.created_at),
        }
        for e in evidence
    ]
    agreements = db.session.scalars(
        db.select(Agreement).where(Agreement.complaint_id == complaint.id).order_by(Agreement.id)
    ).all()
    context["agreements"] = [
        {
            "at": moment(a.created_at),
            "amount": money(a.amount),
            "terms": short(a.terms, 1000),
            "status": str(AgreementStatus(a.status).label),
            "signatures": [
                {"who": party_label(s.party), "at": moment(s.signed_at)} for s in a.signatures
            ],
        }
        for a in agreements
    ]
    if complaint.refusal_reason:
        context["outcome"] = _ruled(complaint, RefusalReason, complaint.refusal_reason)
    elif complaint.termination_reason:
        context["outcome"] = _ruled(complaint, TerminationReason, complaint.termination_reason)
