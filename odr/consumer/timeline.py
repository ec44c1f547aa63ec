"""How a case reads to its consumer: the timeline from the event log, in the reader's
language, and the sentence that says who must act by when."""

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from odr.disputes.choices import PerformanceStatus, Remedy, Request
from odr.disputes.models import CaseEvent, Complaint, MediationBody
from odr.disputes.states import Move, RefusalReason, State, TerminationReason, action_label
from odr.extensions import db
from odr.web import localdate, money_filter

PARTY_LABELS = {
    "consumer": _l("the consumer"),
    "enterprise": _l("the enterprise"),
    "mediator": _l("the mediator"),
}

OFFER_STATUS_LABELS = {
    "open": _l("Open: waiting for your answer"),
    "accepted": _l("Accepted"),
    "rejected": _l("Rejected"),
    "superseded": _l("Replaced by a newer offer"),
    "lapsed": _l("Lapsed (the case went to mediation)"),
}

AGREEMENT_STATUS_LABELS = {
    "proposed": _l("Proposed: waiting for signatures"),
    "signed": _l("Signed by both parties"),
    "superseded": _l("Replaced by a newer proposal"),
}


def _enum_label(enum_cls, value) -> str:
    try:
        return str(enum_cls(value).label)
    except ValueError:
        return str(value)


def request_labels(values) -> str:
    labels = [_enum_label(Request, v) for v in values or []]
    return (", " if str(get_locale()) == "en" else "、").join(labels)


def actor_label(role: str, complaint: Complaint) -> str:
    if role == "consumer":
        return _("You")
    if role == "enterprise":
        return complaint.respondent_display or _("The enterprise")
    if role == "mediator":
        return _("Mediator")
    if role == "admin":
        return _("Regulator")
    return _("The portal")


def who_must_act(complaint: Complaint) -> str | None:
    """Who must act next, said so that the date of macros.clock completes the sentence."""
    state = complaint.state
    if state == State.NEGOTIATING:
        return _("The enterprise must answer by")
    if state == State.PENDING_ACCEPTANCE:
        return _("The mediation body must decide whether to accept it by")
    if state == State.MEDIATING:
        return _("Mediation must be concluded by")
    if state == State.SUSPENDED:
        if complaint.clock_days_left is not None:
            return _(
                "Mediation is suspended: the clock is stopped with %(n)s working days left.",
                n=complaint.clock_days_left,
            )
        return _("Mediation is suspended: the clock is stopped.")
    return None


def _body_names(events: list[CaseEvent]) -> dict[int, str]:
    ids = set()
    for event in events:
        for key in ("body_id", "from_body_id", "raised_to_body_id"):
            value = (event.details or {}).get(key)
            if isinstance(value, int):
                ids.add(value)
    if not ids:
        return {}
    bodies = db.session.scalars(db.select(MediationBody).where(MediationBody.id.in_(ids)))
    return {body.id: body.display_name() for body in bodies}


def event_details(event: CaseEvent, complaint: Complaint, bodies: dict[int, str]) -> list:
    """(label, text) pairs worth showing for one event."""
    details = event.details or {}
    out: list[tuple[str, str]] = []

    def add(label, value):
        if value not in (None, ""):
            out.append((str(label), str(value)))

    if details.get("routed_to") == "enterprise":
        add(_("Sent to"), complaint.respondent_display)
    elif details.get("routed_to") == "body":
        add(_("Sent to"), bodies.get(details.get("body_id")) or _("the competent office"))
    elif details.get("body_id") in bodies:
        add(_("Mediation body"), bodies[details["body_id"]])
    if details.get("from_body_id") in bodies:
        add(_("From"), bodies[details["from_body_id"]])
    if details.get("raised_to_body_id") in bodies:
        add(_("Raised to"), bodies[details["raised_to_body_id"]])
    if details.get("remedy"):
        add(_("Remedy"), _enum_label(Remedy, details["remedy"]))
    if details.get("amount") not in (None, ""):
        try:
            add(_("Amount"), money_filter(float(details["amount"])))
        except (TypeError, ValueError):
            add(_("Amount"), details["amount"])
    add(_("Counter-proposal"), details.get("counter_proposal"))
    reason = details.get("reason")
    if reason:
        if event.action == Move.REFUSE:
            add(_("Ground"), f"{reason} · {_enum_label(RefusalReason, reason)}")
        elif event.action in (Move.TERMINATE, Move.EXPIRE):
            add(_("Ground"), f"{reason} · {_enum_label(TerminationReason, reason)}")
        else:
            add(_("Reason"), reason)
    add(_("Explanation"), details.get("explanation"))
    if details.get("termination_reason") and event.action == Move.WITHDRAW:
        code = details["termination_reason"]
        add(_("Ground"), f"{code} · {_enum_label(TerminationReason, code)}")
    if details.get("party") in PARTY_LABELS:
        add(_("Signed by"), PARTY_LABELS[details["party"]])
    if details.get("status"):
        add(_("Performance"), _enum_label(PerformanceStatus, details["status"]))
    add(_("Note"), details.get("note"))
    if details.get("rating"):
        add(_("Rating"), _("%(n)s of 5", n=details["rating"]))
    if details.get("working_days_left") is not None:
        add(_("Working days left on the clock"), details["working_days_left"])
    if details.get("deadline_at") and event.action in (Move.REMIND, Move.ESCALATE_OVERDUE):
        add(_("Deadline"), _deadline_text(details["deadline_at"]))
    return out


def _deadline_text(value) -> str:
    from datetime import datetime

    try:
        return localdate(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def timeline(complaint: Complaint) -> list[dict]:
    events = list(
        db.session.scalars(
            db.select(CaseEvent)
            .where(CaseEvent.complaint_id == complaint.id)
            .order_by(CaseEvent.id)
        )
    )
    bodies = _body_names(events)
    items = []
    for event in events:
        label = action_label(event.action)
        try:
            to_state = State(event.to_state)
        except ValueError:
            to_state = None
        items.append(
            {
                "id": event.id,
                "at": event.at,
                "label": label,
                "actor": actor_label(event.actor_role, complaint),
                "state": to_state if event.from_state != event.to_state else None,
                "details": event_details(event, complaint, bodies),
            }
        )
    return items
