"""Case states, the moves between them and the one table of allowed moves.

Every change of a case goes through `check_move`; a move that is not in TRANSITIONS
for the case's state and the actor's role raises `InvalidTransition` (or `Forbidden`
when the actor's role may never make that move).
"""

import enum

from flask_babel import lazy_gettext as _l

# The errors live below the domain (accounts raise them too); named here for the domain.
from odr.exceptions import DomainError, Forbidden, Invalid, InvalidTransition, NotFound  # noqa: F401


class State(enum.StrEnum):
    # A member's case in a joint complaint that has not been submitted yet: nobody but the
    # consumer (and the regulator) sees it; the member may leave (withdraw) or wait.
    GATHERING = "gathering"
    NEGOTIATING = "negotiating"
    PENDING_ACCEPTANCE = "pending_acceptance"
    MEDIATING = "mediating"
    SUSPENDED = "suspended"
    SETTLED = "settled"
    MEDIATED = "mediated"
    REFUSED = "refused"
    TERMINATED = "terminated"
    WITHDRAWN = "withdrawn"

    @property
    def label(self):
        return STATE_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATES


STATE_LABELS = {
    State.GATHERING: _l("Joint complaint: not yet submitted"),
    State.NEGOTIATING: _l("Direct settlement"),
    State.PENDING_ACCEPTANCE: _l("Awaiting acceptance"),
    State.MEDIATING: _l("In mediation"),
    State.SUSPENDED: _l("Mediation suspended"),
    State.SETTLED: _l("Settled"),
    State.MEDIATED: _l("Mediated"),
    State.REFUSED: _l("Refused"),
    State.TERMINATED: _l("Terminated"),
    State.WITHDRAWN: _l("Withdrawn"),
}

OPEN_STATES = frozenset(
    {State.GATHERING, State.NEGOTIATING, State.PENDING_ACCEPTANCE, State.MEDIATING, State.SUSPENDED}
)
CLOSED_STATES = frozenset(set(State) - OPEN_STATES)
AGREED_STATES = frozenset({State.SETTLED, State.MEDIATED})


class Role(enum.StrEnum):
    """The part an actor plays in one case (not the user's account role)."""

    CONSUMER = "consumer"
    ENTERPRISE = "enterprise"
    MEDIATOR = "mediator"
    ADMIN = "admin"
    SYSTEM = "system"
    # An elected representative of a joint complaint, acting for a fellow member's case
    # (permissions.part_in_case); never a way to see the case (role_in_case).
    REPRESENTATIVE = "representative"
    # A hotline seat or a service station that took the case or whose office holds it.
    INTAKE = "intake"


class Move(enum.StrEnum):
    FILE = "file"
    SUBMIT = "submit"
    MAKE_OFFER = "make_offer"
    ACCEPT_OFFER = "accept_offer"
    REJECT_OFFER = "reject_offer"
    DECLINE = "decline"
    ESCALATE = "escalate"
    ESCALATE_OVERDUE = "escalate_overdue"
    WITHDRAW = "withdraw"
    ACCEPT = "accept"
    REFUSE = "refuse"
    TRANSFER = "transfer"
    FLAG_OVERDUE = "flag_overdue"
    ASSIGN = "assign"
    SUSPEND = "suspend"
    RESUME = "resume"
    PROPOSE_AGREEMENT = "propose_agreement"
    SIGN_AGREEMENT = "sign_agreement"
    TERMINATE = "terminate"
    EXPIRE = "expire"
    REPORT_PERFORMANCE = "report_performance"
    # A party asks the mediator to change the proposed agreement (the case stays in
    # mediation; the event carries the reasons).
    ASK_CHANGES = "ask_changes"
    # The sweep asks both parties, from the performance due date, whether it was carried out.
    REMIND_PERFORMANCE = "remind_performance"
    # The consumer reported a breach of the agreement and asks for mediation again.
    REOPEN = "reopen"
    REMIND = "remind"
    RATE = "rate"
    # Not a move of the state machine (no row in TRANSITIONS, like FILE): an act written on
    # the timeline; operations.add_evidence checks who and when.
    ADD_EVIDENCE = "add_evidence"
    # Not a move of the state machine either: an open case's clock derived again after the
    # calendar changed (odr/disputes/clocks.py); operations.move_clocks checks the state.
    RECOMPUTE_CLOCK = "recompute_clock"
    # Staff intake (odr.disputes.intake), acts on the timeline as well: the caller claims
    # the case filed for them; a seat passes it to another office's seats.
    CLAIM = "claim"
    INTAKE_TRANSFER = "intake_transfer"

    @property
    def label(self):
        return MOVE_LABELS.get(self, self.value)


def action_label(action: str | None) -> str:
    """A timeline action in the reader's language (the raw name for an unknown one)."""
    try:
        return str(Move(action).label)
    except ValueError:
        return action or ""


MOVE_LABELS = {
    Move.FILE: _l("Complaint filed"),
    Move.SUBMIT: _l("Joint complaint submitted"),
    Move.MAKE_OFFER: _l("Offer made"),
    Move.ACCEPT_OFFER: _l("Offer accepted"),
    Move.REJECT_OFFER: _l("Offer rejected"),
    Move.DECLINE: _l("Enterprise declined to settle"),
    Move.ESCALATE: _l("Consumer asked for mediation"),
    Move.ESCALATE_OVERDUE: _l("Settlement deadline passed; sent to mediation"),
    Move.WITHDRAW: _l("Complaint withdrawn"),
    Move.ACCEPT: _l("Accepted for mediation"),
    Move.REFUSE: _l("Refused"),
    Move.TRANSFER: _l("Transferred to another body"),
    Move.FLAG_OVERDUE: _l("Acceptance overdue; raised to the parent body"),
    Move.ASSIGN: _l("Mediator assigned"),
    Move.SUSPEND: _l("Mediation suspended"),
    Move.RESUME: _l("Mediation resumed"),
    Move.PROPOSE_AGREEMENT: _l("Agreement proposed"),
    Move.SIGN_AGREEMENT: _l("Agreement signed"),
    Move.TERMINATE: _l("Mediation terminated"),
    Move.EXPIRE: _l("Mediation period expired"),
    Move.REPORT_PERFORMANCE: _l("Performance reported"),
    Move.ASK_CHANGES: _l("Changes to the agreement requested"),
    Move.REMIND_PERFORMANCE: _l("Asked whether the agreement was carried out"),
    Move.REOPEN: _l("Breach reported; sent to mediation again"),
    Move.REMIND: _l("Deadline reminder sent"),
    Move.RATE: _l("Case rated"),
    Move.ADD_EVIDENCE: _l("Evidence added"),
    Move.RECOMPUTE_CLOCK: _l("Deadline recomputed: the holiday calendar changed"),
    Move.CLAIM: _l("The caller took over the case online"),
    Move.INTAKE_TRANSFER: _l("Passed to another office's hotline"),
}

S = State
OPEN = OPEN_STATES

# move -> (states it may start from, roles that may make it)
TRANSITIONS: dict[Move, tuple[frozenset[State], frozenset[Role]]] = {
    # A representative sends every member's case at once; each goes where a filing would.
    Move.SUBMIT: (frozenset({S.GATHERING}), frozenset({Role.REPRESENTATIVE})),
    Move.MAKE_OFFER: (frozenset({S.NEGOTIATING}), frozenset({Role.ENTERPRISE})),
    Move.ACCEPT_OFFER: (frozenset({S.NEGOTIATING}), frozenset({Role.CONSUMER})),
    Move.REJECT_OFFER: (frozenset({S.NEGOTIATING}), frozenset({Role.CONSUMER})),
    Move.DECLINE: (frozenset({S.NEGOTIATING}), frozenset({Role.ENTERPRISE})),
    Move.ESCALATE: (frozenset({S.NEGOTIATING}), frozenset({Role.CONSUMER})),
    Move.ESCALATE_OVERDUE: (frozenset({S.NEGOTIATING}), frozenset({Role.SYSTEM})),
    Move.WITHDRAW: (OPEN, frozenset({Role.CONSUMER})),
    Move.ACCEPT: (frozenset({S.PENDING_ACCEPTANCE}), frozenset({Role.MEDIATOR})),
    Move.REFUSE: (frozenset({S.PENDING_ACCEPTANCE}), frozenset({Role.MEDIATOR})),
    Move.TRANSFER: (frozenset({S.PENDING_ACCEPTANCE}), frozenset({Role.MEDIATOR})),
    Move.FLAG_OVERDUE: (frozenset({S.PENDING_ACCEPTANCE}), frozenset({Role.SYSTEM})),
    Move.ASSIGN: (
        frozenset({S.PENDING_ACCEPTANCE, S.MEDIATING, S.SUSPENDED}),
        frozenset({Role.MEDIATOR}),
    ),
    Move.SUSPEND: (frozenset({S.MEDIATING}), frozenset({Role.MEDIATOR})),
    Move.RESUME: (frozenset({S.SUSPENDED}), frozenset({Role.MEDIATOR})),
    Move.PROPOSE_AGREEMENT: (frozenset({S.MEDIATING}), frozenset({Role.MEDIATOR})),
    Move.SIGN_AGREEMENT: (frozenset({S.MEDIATING}), frozenset({Role.CONSUMER, Role.ENTERPRISE})),
    Move.TERMINATE: (frozenset({S.MEDIATING, S.SUSPENDED}), frozenset({Role.MEDIATOR})),
    Move.EXPIRE: (frozenset({S.MEDIATING}), frozenset({Role.SYSTEM})),
    Move.REPORT_PERFORMANCE: (AGREED_STATES, frozenset({Role.CONSUMER, Role.ENTERPRISE})),
    Move.ASK_CHANGES: (frozenset({S.MEDIATING}), frozenset({Role.CONSUMER, Role.ENTERPRISE})),
    Move.REMIND_PERFORMANCE: (AGREED_STATES, frozenset({Role.SYSTEM})),
    # Only after a reported breach (operations.reopen checks it): the agreement was not
    # carried out, so the dispute goes to the competent body as an escalation does.
    Move.REOPEN: (AGREED_STATES, frozenset({Role.CONSUMER})),
    # Only a running clock has a reminder: a suspended case's clock is paused, a gathering
    # one has none yet.
    Move.REMIND: (OPEN - {S.SUSPENDED, S.GATHERING}, frozenset({Role.SYSTEM})),
    Move.RATE: (CLOSED_STATES, frozenset({Role.CONSUMER})),
}

# Where a move leads when it always leads to one state (others stay or decide at run time).
TARGETS: dict[Move, State] = {
    Move.ACCEPT_OFFER: S.SETTLED,
    Move.DECLINE: S.PENDING_ACCEPTANCE,
    Move.ESCALATE: S.PENDING_ACCEPTANCE,
    Move.ESCALATE_OVERDUE: S.PENDING_ACCEPTANCE,
    Move.WITHDRAW: S.WITHDRAWN,
    Move.ACCEPT: S.MEDIATING,
    Move.REFUSE: S.REFUSED,
    Move.SUSPEND: S.SUSPENDED,
    Move.RESUME: S.MEDIATING,
    Move.TERMINATE: S.TERMINATED,
    Move.EXPIRE: S.TERMINATED,
    Move.REOPEN: S.PENDING_ACCEPTANCE,
}


def check_move(move: Move, state: State | None, role: Role | None) -> None:
    """Raise unless `role` may make `move` from `state`."""
    states, roles = TRANSITIONS[move]
    if role not in roles:
        raise Forbidden(_l("You may not do this on this case."))
    if state not in states:
        raise InvalidTransition(
            _l(
                "This action is not possible while the case is %(state)s.",
                state=STATE_LABELS[state] if state else "-",
            )
        )


class RefusalReason(enum.StrEnum):
    R1 = "R1"
    R2 = "R2"
    R3 = "R3"
    R4 = "R4"
    R5 = "R5"
    R6 = "R6"

    @property
    def label(self):
        return REFUSAL_LABELS[self]


REFUSAL_LABELS = {
    RefusalReason.R1: _l("Not a market-regulation matter, or no authority"),
    RefusalReason.R2: _l(
        "Already accepted or handled by a court, arbitration, another office "
        "or a consumer association"
    ),
    RefusalReason.R3: _l("Not for daily-life consumption, or no consumer dispute shown"),
    RefusalReason.R4: _l("More than 3 years since the consumer knew of the harm"),
    RefusalReason.R5: _l("Required information missing or false, or identity not verifiable"),
    RefusalReason.R6: _l("Other legal grounds"),
}


class TerminationReason(enum.StrEnum):
    T1 = "T1"
    T2 = "T2"
    T3 = "T3"
    T4 = "T4"
    T5 = "T5"
    T6 = "T6"
    T7 = "T7"

    @property
    def label(self):
        return TERMINATION_LABELS[self]


TERMINATION_LABELS = {
    TerminationReason.T1: _l("Withdrawn or settled by the parties"),
    TerminationReason.T2: _l("No agreement on a testing body or its cost"),
    TerminationReason.T3: _l("A party absent without reason, or the respondent refuses mediation"),
    TerminationReason.T4: _l("A party states no agreement is possible"),
    TerminationReason.T5: _l("45 working days passed"),
    TerminationReason.T6: _l("A refusal ground found after acceptance"),
    TerminationReason.T7: _l("Other legal grounds (including extortionate claims)"),
}
