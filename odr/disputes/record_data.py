"""The plain data a record shows, built from a case (templates never see ORM objects)."""

from datetime import datetime

from flask_babel import format_datetime

from odr.disputes.choices import RecordKind
from odr.disputes.models import Agreement, Complaint, Offer
from odr.disputes.states import RefusalReason, TerminationReason
from odr.extensions import db


def build_context(complaint: Complaint, kind: RecordKind, code: str, issued_at: datetime) -> dict:
    body = complaint.body
    mediator = complaint.mediator
    context = {
        "kind": str(kind),
        "title": str(kind.label),
        "code": code,
        "issued_at": format_datetime(issued_at, "yyyy-MM-dd HH:mm"),
        "reference": complaint.reference,
        "consumer": {"name": complaint.complainant_name},
        "respondent": {
            "name": complaint.respondent_display,
            "credit_code": complaint.enterprise.credit_code
            if complaint.enterprise
            else complaint.respondent_credit_code,
        },
        "subject": complaint.subject,
        "facts": complaint.facts,
        "claimed_amount": f"{complaint.claimed_amount:.2f}",
        "body": {"name": body.display_name()} if body else None,
        "mediator": {"name": mediator.name} if mediator else None,
        "outcome": {},
        "signatures": [],
    }
    if kind == RecordKind.SETTLEMENT:
        offer = db.session.scalar(
            db.select(Offer).where(Offer.complaint_id == complaint.id, Offer.status == "accepted")
        )
        if offer is not None:
            context["outcome"] = {
                "remedy": str(offer.remedy.label),
                "amount": f"{offer.amount:.2f}",
                "terms": offer.terms,
                "performance_due": offer.performance_due.isoformat()
                if offer.performance_due
                else None,
            }
    elif kind == RecordKind.MEDIATION_AGREEMENT:
        agreement = db.session.scalar(
            db.select(Agreement)
            .where(Agreement.complaint_id == complaint.id, Agreement.status == "signed")
            .order_by(Agreement.id.desc())
            .limit(1)
        )
        if agreement is not None:
            context["outcome"] = {
                "amount": f"{agreement.amount:.2f}",
                "terms": agreement.terms,
                "performance_due": agreement.performance_due.isoformat()
                if agreement.performance_due
                else None,
            }
            context["signatures"] = [
                {
                    "party": s.party,
                    "name": s.user.name,
                    "at": format_datetime(s.signed_at, "yyyy-MM-dd HH:mm"),
                }
                for s in agreement.signatures
            ]
    elif kind == RecordKind.REFUSAL and complaint.refusal_reason:
        reason = RefusalReason(complaint.refusal_reason)
        context["outcome"] = {
            "reason_code": str(reason),
            "reason": str(reason.label),
            "explanation": complaint.outcome_note,
        }
    elif kind == RecordKind.TERMINATION and complaint.termination_reason:
        reason = TerminationReason(complaint.termination_reason)
        context["outcome"] = {
            "reason_code": str(reason),
            "reason": str(reason.label),
            "explanation": complaint.outcome_note,
        }
    return context
