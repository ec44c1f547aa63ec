"""How a case reads to its consumer: the timeline from the event log, in the reader's
language, and the sentence that says who must act by when.

Labels are lazy strings translated once per language (rows.per_locale), not a gettext per
event or per message; a timeline item carries its text ready to print.
"""

import functools
from datetime import UTC, date, datetime

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from odr import display as rows
from odr.disputes import deadlines, formats
from odr.disputes.choices import PerformanceStatus, Remedy, Request
from odr.disputes.models import CaseEvent, Complaint, MediationBody
from odr.disputes.states import Move, RefusalReason, State, TerminationReason, action_label
from odr.extensions import db
from odr.web import money_filter

PARTY_LABELS = {
    "consumer": _l("the consumer"),
    "enterprise": _l("the enterprise"),
    "mediator": _l("the mediator"),
}

ACTOR_LABELS = {
    "consumer": _l("You"),
    "enterprise": _l("The enterprise"),
    "mediator": _l("Mediator"),
    "admin": _l("Regulator"),
    None: _l("The portal"),
}

DETAIL_LABELS = {
    "sent_to": _l("Sent to"),
    "competent_office": _l("the competent office"),
    "body": _l("Mediation body"),
    "from": _l("From"),
    "raised_to": _l("Raised to"),
    "remedy": _l("Remedy"),
    "amount": _l("Amount"),
    "counter_proposal": _l("Counter-proposal"),
    "counter_offer": _l("Counter-offer"),
    "reasons": _l("Changes asked for"),
    "asked_by": _l("Asked by"),
    "performance_due": _l("Performance due"),
    "ground": _l("Ground"),
    "reason": _l("Reason"),
    "explanation": _l("Explanation"),
    "signed_by": _l("Signed by"),
    "performance": _l("Performance"),
    "note": _l("Note"),
    "rating": _l("Rating"),
    "rating_value": _l("%(n)s of 5"),
    "clock_left": _l("Working days left on the clock"),
    "deadline": _l("Deadline"),
    "passed_over": _l("Passed on"),
    "passed_over_text": _l(
        "%(body)s has no active mediator; the case went to the nearest office above it "
        "that has one."
    ),
    "previous_deadline": _l("Previous deadline"),
    "new_deadline": _l("New deadline"),
    "why": _l("Why"),
}

# Why a clock was computed again (odr/disputes/clocks.py).
WHY_LABELS = {
    "schedule_loaded": _l("The official holiday schedule was loaded"),
    "day_edited": _l("The regulator changed a day of the holiday calendar"),
    "calendar_updated": _l("The holiday calendar was updated"),
}

# Texts the template used to translate per item, as Jinja's gettext gives them (Markup).
ITEM_TEXTS = {
    "now": _l("Now: %(state)s"),
    "detail": _l("%(label)s:"),
}


def _texts(name: str, table: dict) -> dict[str, str]:
    """{key: translated text} of a table of lazy strings, once per language (plain str, as
    gettext returns them in Python)."""
    return rows.per_locale(name, lambda: {key: str(text) for key, text in table.items()})


def _enum_label(enum_cls, value) -> str:
    try:
        member = enum_cls(value)
    except ValueError:
        return str(value)
    return str(rows.labels_of(enum_cls)[member])


def request_labels(values) -> str:
    labels = [_enum_label(Request, v) for v in values or []]
    return (", " if str(get_locale()) == "en" else "、").join(labels)


def actor_label(role: str, complaint: Complaint) -> str:
    texts = _texts("consumer.actors", ACTOR_LABELS)
    if role == "enterprise":
        return complaint.respondent_display or texts["enterprise"]
    return texts.get(role) or texts[None]


def local_dt(value: datetime | None) -> str:
    """The `localdt` filter (odr/web.py) in its default pattern, yyyy-MM-dd HH:mm in
    Asia/Shanghai: the same digits in both our languages, without Babel's pattern machinery
    on every message and event (tests/test_consumer_case.py compares the two)."""
    if value is None:
        return ""
    if value.tzinfo is None:  # Flask-Babel takes a naive datetime for UTC
        value = value.replace(tzinfo=UTC)
    at = value.astimezone(deadlines.SHANGHAI)
    zone = formats.moment_zone(get_locale())
    return f"{at.year:04d}-{at.month:02d}-{at.day:02d} {at.hour:02d}:{at.minute:02d}{zone}"


WHO_MUST_ACT = {
    State.NEGOTIATING: _l("The enterprise must answer by"),
    State.PENDING_ACCEPTANCE: _l("The mediation body must decide whether to accept it by"),
    State.MEDIATING: _l("Mediation must be concluded by"),
    "suspended_days": _l(
        "Mediation is suspended: the clock is stopped with %(n)s working days left."
    ),
    State.SUSPENDED: _l("Mediation is suspended: the clock is stopped."),
}


def who_must_act(complaint: Complaint) -> str | None:
    """Who must act next, said so that the date of macros.clock completes the sentence."""
    return who_must_act_in(complaint.state, complaint.clock_days_left)


def who_must_act_in(state: State, clock_days_left: int | None) -> str | None:
    """who_must_act from the two columns it reads (texts translated once per language)."""
    if state not in WHO_MUST_ACT:
        return None
    texts = rows.per_locale(
        "consumer.who", lambda: {key: str(text) for key, text in WHO_MUST_ACT.items()}
    )
    if state == State.SUSPENDED and clock_days_left is not None:
        return texts["suspended_days"] % {"n": clock_days_left}
    return texts[state]


def _body_names(events) -> dict[int, str]:
    ids = set()
    for event in events:
        for key in ("body_id", "from_body_id", "raised_to_body_id", "passed_over_body_id"):
            value = (event.details or {}).get(key)
            if isinstance(value, int):
                ids.add(value)
    if not ids:
        return {}
    bodies = db.session.scalars(db.select(MediationBody).where(MediationBody.id.in_(ids)))
    return {body.id: body.display_name() for body in bodies}


def event_details(event, complaint: Complaint, bodies: dict[int, str]) -> list:
    """(label, text) pairs worth showing for one event (a CaseEvent or a row of its
    columns)."""
    details = event.details or {}
    if not details:
        return []
    label = _texts("consumer.details", DETAIL_LABELS)
    out: list[tuple[str, str]] = []

    def add(key, value):
        if value not in (None, ""):
            out.append((label[key], str(value)))

    if details.get("routed_to") == "enterprise":
        add("sent_to", complaint.respondent_display)
    elif details.get("routed_to") == "body":
        add("sent_to", bodies.get(details.get("body_id")) or label["competent_office"])
    elif details.get("body_id") in bodies:
        add("body", bodies[details["body_id"]])
    if details.get("from_body_id") in bodies:
        add("from", bodies[details["from_body_id"]])
    if details.get("raised_to_body_id") in bodies:
        add("raised_to", bodies[details["raised_to_body_id"]])
    if details.get("passed_over_body_id") in bodies:
        add(
            "passed_over",
            label["passed_over_text"] % {"body": bodies[details["passed_over_body_id"]]},
        )
    if details.get("remedy"):
        add("remedy", _enum_label(Remedy, details["remedy"]))
    if details.get("amount") not in (None, ""):
        try:
            add("amount", money_filter(float(details["amount"])))
        except (TypeError, ValueError):
            add("amount", details["amount"])
    if details.get("counter_remedy"):
        shown = money_filter(details.get("counter_amount"))
        add("counter_offer", f"{_enum_label(Remedy, details['counter_remedy'])} · {shown}")
    add("counter_proposal", details.get("counter_proposal"))
    add("reasons", details.get("reasons"))
    reason = details.get("reason")
    if reason:
        if event.action == Move.REFUSE:
            add("ground", f"{reason} · {_enum_label(RefusalReason, reason)}")
        elif event.action in (Move.TERMINATE, Move.EXPIRE):
            add("ground", f"{reason} · {_enum_label(TerminationReason, reason)}")
        else:
            add("reason", reason)
    add("explanation", details.get("explanation"))
    if details.get("termination_reason") and event.action == Move.WITHDRAW:
        code = details["termination_reason"]
        add("ground", f"{code} · {_enum_label(TerminationReason, code)}")
    if details.get("party") in PARTY_LABELS:
        key = "asked_by" if event.action == Move.ASK_CHANGES else "signed_by"
        add(key, _texts("consumer.parties", PARTY_LABELS)[details["party"]])
    if details.get("performance_due") and event.action == Move.REMIND_PERFORMANCE:
        try:
            add("performance_due", rows.local_day(date.fromisoformat(details["performance_due"])))
        except (TypeError, ValueError):
            add("performance_due", details["performance_due"])
    if details.get("status"):
        add("performance", _enum_label(PerformanceStatus, details["status"]))
    add("note", details.get("note"))
    if details.get("rating"):
        add("rating", label["rating_value"] % {"n": details["rating"]})
    if event.action == Move.RECOMPUTE_CLOCK:
        if details.get("previous_deadline"):
            add("previous_deadline", _deadline_day(details["previous_deadline"]))
        if details.get("deadline"):
            add("new_deadline", _deadline_day(details["deadline"]))
        if details.get("why"):
            add("why", _texts("consumer.why", WHY_LABELS).get(details["why"], details["why"]))
    if details.get("working_days_left") is not None:
        add("clock_left", details["working_days_left"])
    if details.get("deadline_at") and event.action in (Move.REMIND, Move.ESCALATE_OVERDUE):
        add("deadline", _deadline_text(details["deadline_at"]))
    return out


def _deadline_day(value) -> str:
    try:
        return rows.local_day(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _deadline_text(value) -> str:
    try:
        return rows.local_day(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _move_label(action: str | None) -> str:
    """action_label, from a table made once per language."""
    try:
        move = Move(action)
    except ValueError:
        return action or ""
    return rows.per_locale("consumer.moves", lambda: {m: action_label(m) for m in Move})[move]


@functools.cache
def _events_statement():
    """A case's events as the timeline reads them: the columns it prints (no ORM object, no
    hash chain), built once with the case's id bound."""
    return (
        db.select(
            CaseEvent.id,
            CaseEvent.at,
            CaseEvent.actor_role,
            CaseEvent.action,
            CaseEvent.from_state,
            CaseEvent.to_state,
            CaseEvent.details,
        )
        .where(CaseEvent.complaint_id == db.bindparam("cid"))
        .order_by(CaseEvent.id)
    )


def timeline(complaint: Complaint) -> list[dict]:
    """The case's events as the template prints them: every text made here, once."""
    events = db.session.execute(_events_statement(), {"cid": complaint.id}).all()
    bodies = _body_names(events)
    states = rows.state_labels()
    texts = rows.translated("consumer.timeline", ITEM_TEXTS)
    items = []
    for event in events:
        try:
            to_state = State(event.to_state)
        except ValueError:
            to_state = None
        moved = to_state is not None and event.from_state != event.to_state
        items.append(
            {
                "id": event.id,
                "at": event.at,
                "at_text": local_dt(event.at),
                "label": _move_label(event.action),
                "actor": actor_label(event.actor_role, complaint),
                "state": to_state if moved else None,
                "now": texts["now"] % {"state": states[to_state]} if moved else None,
                "details": [
                    (texts["detail"] % {"label": name}, value)
                    for name, value in event_details(event, complaint, bodies)
                ],
            }
        )
    return items
