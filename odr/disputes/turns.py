"""Whose turn it is on a case, and what they must do by when: the one home of that rule.

The rule is one SQL expression per reader (`step_column(role)`), so that every list
(My cases, the enterprise inbox, the mediation queue, the API) computes it inside its own
query and filters on it ("waiting on me") without a query per row; a single case asks the
same expression (`turn_of_case`). `Turn` gives the step its words and its date.

- consumer: answer the enterprise's open offer (not one past its last day); sign a
  proposed agreement not yet signed by them; say whether the agreement was carried out once
  its due date has come (not before it, and not for an agreement without a date: the case
  page still asks).
- enterprise: answer a new complaint (no offer yet); answer the consumer's rejection of
  the last offer, or make another once it lapsed past its last day; sign a proposed
  agreement; carry out what was agreed by its date.
- mediator: decide whether to accept; conduct the mediation until an agreement is
  proposed; resume or end a suspended mediation.
"""

import enum
import functools
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from odr.disputes import deadlines
from odr.disputes.choices import AgreementStatus, OfferStatus, PerformanceStatus
from odr.disputes.models import Agreement, Complaint, Offer, Signature
from odr.disputes.states import Role, State
from odr.extensions import db
from odr.types import utcnow


class Step(enum.StrEnum):
    ANSWER_COMPLAINT = "answer_complaint"
    ANSWER_REJECTION = "answer_rejection"
    ANSWER_OFFER = "answer_offer"
    DECIDE_ACCEPTANCE = "decide_acceptance"
    MEDIATE = "mediate"
    RESUME = "resume"
    SIGN_AGREEMENT = "sign_agreement"
    PERFORM = "perform"
    CONFIRM_PERFORMANCE = "confirm_performance"

    @property
    def label(self):
        return STEP_LABELS[self]


# What the reader must do, said to them.
STEP_LABELS = {
    Step.ANSWER_COMPLAINT: _l("Answer the complaint"),
    Step.ANSWER_REJECTION: _l("Answer the consumer's counter-proposal"),
    Step.ANSWER_OFFER: _l("Answer the enterprise's offer"),
    Step.DECIDE_ACCEPTANCE: _l("Decide whether to accept the case"),
    Step.MEDIATE: _l("Conduct the mediation: propose an agreement or end it"),
    Step.RESUME: _l("Resume or end the suspended mediation"),
    Step.SIGN_AGREEMENT: _l("Sign the proposed agreement"),
    Step.PERFORM: _l("Carry out what was agreed"),
    Step.CONFIRM_PERFORMANCE: _l("Say whether the agreement was carried out"),
}

# The states in which a reader can have a turn (lists narrow their index ranges to them).
TURN_STATES = {
    Role.CONSUMER: (State.NEGOTIATING, State.MEDIATING, State.SETTLED, State.MEDIATED),
    Role.ENTERPRISE: (State.NEGOTIATING, State.MEDIATING, State.SETTLED, State.MEDIATED),
    Role.MEDIATOR: (State.PENDING_ACCEPTANCE, State.MEDIATING, State.SUSPENDED),
}


def _today() -> date:
    return deadlines.local_date(utcnow())


def _latest_offer_status(c):
    """The status of the case's latest offer (NULL: none yet), by max(id) on
    ix_offer_complaint (complaint_id, id): one index probe, no sort."""
    newest = Offer.__table__.alias("newest_offer")
    latest = (
        sa.select(sa.func.max(newest.c.id))
        .where(newest.c.complaint_id == c.id)
        .correlate_except(newest)  # the case is the outer query's, two levels up
        .scalar_subquery()
    )
    return sa.select(Offer.status).where(Offer.id == latest).scalar_subquery()


def _latest_offer_lapsed(c, today):
    """Whether the case's latest offer is open but past its last day (operations.offer_status
    calls it expired: it can no longer be accepted, the enterprise makes another)."""
    newest = Offer.__table__.alias("newest_offer")
    latest = (
        sa.select(sa.func.max(newest.c.id))
        .where(newest.c.complaint_id == c.id)
        .correlate_except(newest)
        .scalar_subquery()
    )
    return (
        sa.select(Offer.id)
        .where(Offer.id == latest, Offer.status == OfferStatus.OPEN, Offer.expires_on < today)
        .exists()
    )


def _proposed(c):
    return sa.select(Agreement.id).where(
        Agreement.complaint_id == c.id, Agreement.status == AgreementStatus.PROPOSED
    )


def _unsigned_by(c, party: str):
    signed = sa.select(Signature.id).where(
        Signature.agreement_id == Agreement.id, Signature.party == party
    )
    return _proposed(c).where(~signed.exists()).exists()


def step_column(role: Role | str | None, c=None):
    """The step the case waits for from `role` (a Step value), or NULL: a column for any
    query over the complaint table `c` (the mapped class by default). Today's date (for
    the performance steps) is bound when the statement runs."""
    c = Complaint.__table__.c if c is None else c
    today = sa.bindparam("turn_today", callable_=_today, type_=sa.Date())
    state = c.state
    agreed = state.in_([State.SETTLED, State.MEDIATED])
    pending = c.performance_status == PerformanceStatus.PENDING
    if role == Role.CONSUMER:
        whens = [
            (
                sa.and_(
                    state == State.NEGOTIATING,
                    _latest_offer_status(c) == OfferStatus.OPEN,
                    ~_latest_offer_lapsed(c, today),
                ),
                Step.ANSWER_OFFER.value,
            ),
            (
                sa.and_(state == State.MEDIATING, _unsigned_by(c, "consumer")),
                Step.SIGN_AGREEMENT.value,
            ),
            (
                sa.and_(agreed, pending, c.performance_due <= today),
                Step.CONFIRM_PERFORMANCE.value,
            ),
        ]
    elif role == Role.ENTERPRISE:
        latest = _latest_offer_status(c)
        whens = [
            (
                sa.and_(state == State.NEGOTIATING, latest.is_(None)),
                Step.ANSWER_COMPLAINT.value,
            ),
            (
                # The consumer's rejection (or counter-offer) to answer, or an offer that
                # lapsed unanswered past its last day: another offer is the answer.
                sa.and_(
                    state == State.NEGOTIATING,
                    sa.or_(latest != OfferStatus.OPEN, _latest_offer_lapsed(c, today)),
                ),
                Step.ANSWER_REJECTION.value,
            ),
            (
                sa.and_(state == State.MEDIATING, _unsigned_by(c, "enterprise")),
                Step.SIGN_AGREEMENT.value,
            ),
            (
                sa.and_(agreed, pending, c.performance_due > today),
                Step.PERFORM.value,
            ),
        ]
    elif role == Role.MEDIATOR:
        whens = [
            (state == State.PENDING_ACCEPTANCE, Step.DECIDE_ACCEPTANCE.value),
            (
                sa.and_(state == State.MEDIATING, ~_proposed(c).exists()),
                Step.MEDIATE.value,
            ),
            (state == State.SUSPENDED, Step.RESUME.value),
        ]
    else:
        return sa.null().label("turn")
    return sa.case(*whens, else_=sa.null()).label("turn")


def waiting_on(role: Role | str | None, c=None):
    """The condition 'the case waits for `role`' (the filter of every list)."""
    return step_column(role, c).is_not(None)


@dataclass(frozen=True, slots=True)
class Turn:
    """A step the reader must take and by when (a moment, a day, or nothing)."""

    step: Step
    due: datetime | date | None

    @property
    def label(self):
        return self.step.label


def turn(step: str | None, deadline_at: datetime | None, performance_due: date | None):
    """The Turn of a row that carries step_column's value, or None (not the reader's turn)."""
    if not step:
        return None
    step = Step(step)
    if step in (Step.PERFORM, Step.CONFIRM_PERFORMANCE):
        return Turn(step, performance_due if step == Step.PERFORM else None)
    if step == Step.RESUME:
        return Turn(step, None)
    return Turn(step, deadline_at)


def turn_of_case(complaint: Complaint, role: Role | str | None) -> Turn | None:
    """The reader's turn on one case, by the same expression the lists use."""
    if role not in TURN_STATES or complaint.state not in TURN_STATES[role]:
        return None
    step = db.session.scalar(_turn_statement(Role(role)), {"turn_case": complaint.id})
    return turn(step, complaint.deadline_at, complaint.performance_due)


@functools.cache
def _turn_statement(role: Role):
    """turn_of_case's statement for `role`, built once (building the CASE with its
    subqueries costs more than running it); the case's id is bound as turn_case."""
    c = Complaint.__table__.c
    return sa.select(step_column(role, c)).where(c.id == sa.bindparam("turn_case"))
