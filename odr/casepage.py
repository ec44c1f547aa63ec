"""What every case page opens with, whoever reads it (consumer, enterprise, mediator): the
next-step banner with its one primary action, the progress line (filed → enterprise →
mediation → closed, with dates), the outcome with its record, and the mediation sessions.
Opening a case also marks the reader's notices about it read.

The rules come from the domain (odr/disputes/turns.py for whose turn it is, sessions.py for
how a session reads); this module only arranges them for the templates
(templates/_journey.html)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from odr import display
from odr.disputes import deadlines, notifications, sessions, turns
from odr.disputes.choices import AgreementStatus, PerformanceStatus, RecordKind
from odr.disputes.models import Agreement, Complaint, Record
from odr.disputes.states import AGREED_STATES, Role, State
from odr.extensions import db


@dataclass
class Banner:
    """The next step: whose (mine or someone else's), what, by when, one primary action."""

    kind: str  # "turn" | "waiting" | "outcome"
    text: str
    due: datetime | date | None = None  # a deadline (a moment) or a day
    action: tuple[str, str] | None = None  # (label, href)
    record: dict | None = None  # the outcome's record: label, url, ready, status_url

    @property
    def due_moment(self) -> datetime | None:
        return self.due if isinstance(self.due, datetime) else None

    @property
    def due_day(self) -> date | None:
        return (
            self.due if isinstance(self.due, date) and not isinstance(self.due, datetime) else None
        )


@dataclass
class Stage:
    key: str
    label: str
    status: str  # "done" | "current" | "todo" | "skipped"
    at: datetime | None = None


@dataclass
class Journey:
    banner: Banner
    progress: list[Stage]
    sessions: list[dict] = field(default_factory=list)
    turn: turns.Turn | None = None


STAGE_LABELS = {
    "filed": _l("Filed"),
    "enterprise": _l("With the enterprise"),
    "mediation": _l("Mediation"),
    "closed": _l("Closed"),
}

# Where each step's form is on each reader's page (an anchor, or an endpoint of its own).
STEP_ACTIONS = {
    (Role.CONSUMER, turns.Step.ANSWER_OFFER): (_l("Answer the offer"), "#offers"),
    (Role.CONSUMER, turns.Step.SIGN_AGREEMENT): (_l("Read and sign"), "#agreement"),
    (Role.CONSUMER, turns.Step.CONFIRM_PERFORMANCE): (_l("Report"), "#performance"),
    (Role.ENTERPRISE, turns.Step.ANSWER_COMPLAINT): (_l("Make an offer"), "#offer-form"),
    (Role.ENTERPRISE, turns.Step.ANSWER_REJECTION): (_l("Make a new offer"), "#offer-form"),
    (Role.ENTERPRISE, turns.Step.SIGN_AGREEMENT): (_l("Read and sign"), "#agreement"),
    (Role.ENTERPRISE, turns.Step.PERFORM): (_l("Report performance"), "#performance-form"),
    (Role.MEDIATOR, turns.Step.DECIDE_ACCEPTANCE): (_l("Decide"), "mediation.acceptance"),
    (Role.MEDIATOR, turns.Step.MEDIATE): (_l("Propose an agreement"), "#agreement"),
    (Role.MEDIATOR, turns.Step.RESUME): (_l("Resume or end"), "#suspension"),
}

WAITING = {
    State.NEGOTIATING: _l("Waiting for the enterprise to answer."),
    "offer_open": _l("Waiting for the consumer to answer the offer."),
    State.PENDING_ACCEPTANCE: _l(
        "Waiting for the mediation body to decide whether to accept the case."
    ),
    State.MEDIATING: _l("The mediator is conducting the mediation."),
    "signatures": _l("Waiting for the other party to sign the agreement."),
    State.SUSPENDED: _l("Mediation is suspended: the clock is stopped."),
    "perform": _l("The enterprise is to carry out the agreement."),
}

OUTCOME_KINDS = {
    State.SETTLED: RecordKind.SETTLEMENT,
    State.MEDIATED: RecordKind.MEDIATION_AGREEMENT,
    State.REFUSED: RecordKind.REFUSAL,
    State.TERMINATED: RecordKind.TERMINATION,
}


def open_case(user_id: int, complaint_id: int) -> None:
    """Reading a case reads its notices: mark them and commit (nothing is written when
    nothing is unread)."""
    if notifications.mark_case_read(user_id, complaint_id):
        db.session.commit()


def progress(complaint: Complaint) -> list[Stage]:
    """Filed → enterprise → mediation → closed, each with the moment it was reached."""
    labels = {key: str(text) for key, text in STAGE_LABELS.items()}
    state = complaint.state
    direct = bool(complaint.green_channel and complaint.enterprise_id)
    went_to_mediation = complaint.escalated_at is not None or (
        state not in (State.NEGOTIATING, State.SETTLED)
        and not (state == State.WITHDRAWN and complaint.escalated_at is None and direct)
    )
    stages = [Stage("filed", labels["filed"], "done", complaint.filed_at)]
    if direct:
        stages.append(
            Stage(
                "enterprise",
                labels["enterprise"],
                "current" if state == State.NEGOTIATING else "done",
                complaint.filed_at,
            )
        )
    else:
        stages.append(Stage("enterprise", labels["enterprise"], "skipped"))
    if went_to_mediation:
        at = complaint.escalated_at or complaint.arrived_at or complaint.accepted_at
        current = state in (State.PENDING_ACCEPTANCE, State.MEDIATING, State.SUSPENDED)
        stages.append(Stage("mediation", labels["mediation"], "current" if current else "done", at))
    elif state.is_open:
        stages.append(Stage("mediation", labels["mediation"], "todo"))
    else:
        stages.append(Stage("mediation", labels["mediation"], "skipped"))
    if state.is_open:
        stages.append(Stage("closed", labels["closed"], "todo"))
    else:
        stages.append(
            Stage(
                "closed",
                f"{labels['closed']} · {display.state_label(state)}",
                "done",
                complaint.closed_at,
            )
        )
    return stages


def _session_rows(complaint: Complaint, ics_url: Callable[[int], str]) -> list[dict]:
    now = datetime.now(tz=deadlines.SHANGHAI)
    rows = []
    for s in sessions.sessions_of(complaint):
        ends = s.ends_at or s.starts_at + sessions.DEFAULT_LENGTH
        rows.append(
            {
                "id": s.id,
                "when": sessions.when_text(s.starts_at, ends),
                "starts_at": s.starts_at,
                "mode": s.mode,
                "mode_label": sessions.mode_label(s.mode),
                "place": s.place,
                "link": s.link,
                "note": s.note,
                "past": ends < now,
                "ics_url": ics_url(s.id),
            }
        )
    return rows


def _outcome_record(records: list[Record], state: State, url: Callable[[str], str]):
    kind = OUTCOME_KINDS.get(state)
    chosen = None
    for record in records:
        if record.kind == kind or (kind is None and record.kind != RecordKind.CASE_FILE):
            chosen = record
    if chosen is None:
        return None
    return {
        "label": str(display.labels_of(RecordKind)[chosen.kind]),
        "url": url(chosen.code),
        "ready": chosen.ready,
        "code": chosen.code,
        "status_url": url_for(
            "consumer.record_status", complaint_id=chosen.complaint_id, code=chosen.code
        ),
    }


def _waiting_text(complaint: Complaint, role: Role) -> str:
    state = complaint.state
    if state == State.NEGOTIATING and role == Role.ENTERPRISE:
        return str(WAITING["offer_open"])
    if state == State.MEDIATING and role in (Role.CONSUMER, Role.ENTERPRISE):
        proposed = db.session.scalar(
            db.select(Agreement.id).where(
                Agreement.complaint_id == complaint.id,
                Agreement.status == AgreementStatus.PROPOSED,
            )
        )
        if proposed is not None:
            return str(WAITING["signatures"])
    if state in AGREED_STATES and complaint.performance_status == PerformanceStatus.PENDING:
        return str(WAITING["perform"])
    return str(WAITING.get(state, ""))


# journey's `step` when the caller did not read it.
NOT_READ = object()


def journey(
    complaint: Complaint,
    role: Role,
    user_id: int,
    *,
    records: list[Record],
    record_url: Callable[[str], str],
    may_write: bool = False,
    messages_anchor: str = "#messages",
    step: str | None | object = NOT_READ,
) -> Journey:
    """The banner, the progress line and the sessions of a case page, for `role`. Marks the
    reader's notices about the case read when the page is read (a GET; not when a form
    comes back with its errors). `step`: the reader's step on the case as
    turns.step_column gives it, where the page read it with the case (else it is read)."""
    if request.method == "GET":
        open_case(user_id, complaint.id)
    if step is NOT_READ:
        turn = turns.turn_of_case(complaint, role)
    else:
        turn = turns.turn(step, complaint.deadline_at, complaint.performance_due)
    state = complaint.state
    record = None if state.is_open else _outcome_record(records, state, record_url)
    if turn is not None:
        label, target = STEP_ACTIONS.get((role, turn.step), (None, None))
        href = None
        if target is not None:
            href = target if target.startswith("#") else url_for(target, complaint_id=complaint.id)
        banner = Banner(
            "turn",
            _("Your turn: %(step)s", step=turn.label),
            turn.due,
            (str(label), href) if href else None,
            record,
        )
    elif state.is_open:
        banner = Banner(
            "waiting",
            _waiting_text(complaint, role),
            complaint.deadline_at if state != State.SUSPENDED else None,
            (_("Write a message"), messages_anchor) if may_write else None,
        )
    else:
        text = _waiting_text(complaint, role) if state in AGREED_STATES else ""
        banner = Banner("outcome", text or str(display.state_label(state)), None, None, record)
    # Sessions are scheduled once a case is accepted for mediation: no query before.
    show_sessions = role in sessions.READERS and complaint.accepted_at is not None
    rows = (
        _session_rows(
            complaint,
            lambda sid: url_for("consumer.session_ics", complaint_id=complaint.id, session_id=sid),
        )
        if show_sessions
        else []
    )
    return Journey(banner, progress(complaint), rows, turn)
