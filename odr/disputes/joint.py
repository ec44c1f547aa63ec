"""Joint complaints (共同投诉, Order 20 Art. 11): consumers with the same dispute against one
enterprise, handled together with their consent.

A member's claim is a case like any other (a Complaint, in state `gathering` until the group
is submitted); every move of a member's case goes through the operations in
odr/disputes/operations.py and the one transition table. What this module adds is the group:
who may join and leave, the (at most two) representatives, and the group acts, each of which
loops over the members' cases through those operations (a batch of them at once, see
operations._Batch). Functions flush, never commit.
"""

import functools
import uuid
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from odr.auth.models import User, UserRole
from odr.disputes import deadlines, formats
from odr.disputes import operations as ops
from odr.disputes.choices import AgreementStatus, Issue, SubjectKind
from odr.disputes.models import (
    Agreement,
    Complaint,
    Enterprise,
    JointComplaint,
    JointMember,
    JointState,
)
from odr.disputes.models.joint import MAX_REPRESENTATIVES, MIN_MEMBERS
from odr.disputes.permissions import (
    REPRESENTATIVE,
    representative_parts,
    require_capability,
    role_in_group,
)
from odr.disputes.states import (
    OPEN_STATES,
    Forbidden,
    Invalid,
    InvalidTransition,
    NotFound,
    State,
)
from odr.extensions import db
from odr.types import utcnow

# What a member brings to the group: their own purchase, claim and story.
CLAIM_FIELDS = (
    "purchase_date",
    "purchase_place",
    "purchase_url",
    "amount",
    "claimed_amount",
    "requests",
    "complainant_name",
    "complainant_phone",
    "complainant_address",
    "facts",
)


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def _invalid(field: str, message) -> Invalid:
    return Invalid(_l("Please correct the marked fields."), {field: str(message)})


def context(joint: JointComplaint) -> dict:
    """What a member case's events, notices and webhooks say of its group."""
    return {"joint_complaint_id": joint.id, "joint_reference": joint.reference}


# -- finding ---------------------------------------------------------------------------------


def get_joint(joint_id: int, *, lock: bool = False) -> JointComplaint | None:
    query = db.select(JointComplaint).where(JointComplaint.id == joint_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def joint_of(complaint_id: int) -> JointComplaint | None:
    """The group a case is (or was) a member's claim in."""
    return db.session.scalar(
        db.select(JointComplaint)
        .join(JointMember, JointMember.joint_id == JointComplaint.id)
        .where(JointMember.complaint_id == complaint_id)
    )


def members_of(joint: JointComplaint, *, active_only=False) -> list[JointMember]:
    query = db.select(JointMember).where(JointMember.joint_id == joint.id)
    if active_only:
        query = query.where(JointMember.left_at.is_(None))
    return list(db.session.scalars(query.order_by(JointMember.id)))


def member_rows(joint_id: int, *, offset: int = 0, limit: int | None = None) -> list:
    """The members with their case's columns, in joining order (a page of them with
    `limit`): one statement."""
    c = Complaint.__table__.c
    m = JointMember.__table__.c
    return db.session.execute(
        sa.select(
            m.id,
            m.consumer_id,
            m.complaint_id,
            m.representative,
            m.joined_at,
            m.left_at,
            c.reference,
            c.state,
            c.complainant_name,
            c.purchase_date,
            c.amount,
            c.claimed_amount,
            c.requests,
            c.facts,
            c.settled_amount,
            c.termination_reason,
            c.refusal_reason,
            c.deadline_at,
            c.body_id,
            c.mediator_id,
        )
        .select_from(
            JointMember.__table__.join(Complaint.__table__, c.id == m.complaint_id, isouter=True)
        )
        .where(m.joint_id == joint_id)
        .order_by(m.id)
        .offset(offset or None)
        .limit(limit)
    ).all()


def totals(joint_id: int) -> dict:
    """What the group's page says of all its members at once, by aggregates: the members
    with a claim (and in each state), their claims' sum, and the answer deadline."""
    c = Complaint.__table__.c
    m = JointMember.__table__.c
    found = db.session.execute(
        sa.select(
            c.state, sa.func.count(), sa.func.sum(c.claimed_amount), sa.func.min(c.deadline_at)
        )
        .select_from(JointMember.__table__.join(Complaint.__table__, c.id == m.complaint_id))
        .where(m.joint_id == joint_id, m.left_at.is_(None))
        .group_by(c.state)
    ).all()
    by_state = {State(state): n for state, n, _sum, _min in found}
    return {
        "members": sum(by_state.values()),
        "by_state": by_state,
        "claimed": sum((total or 0 for _s, _n, total, _m in found), Decimal("0")),
        "deadline_at": next(
            (first for state, _n, _t, first in found if state == State.NEGOTIATING), None
        ),
        "all": db.session.scalar(
            sa.select(sa.func.count())
            .select_from(JointMember.__table__)
            .where(m.joint_id == joint_id)
        ),
    }


def _require_part(user: User | None, joint: JointComplaint, *parts: str) -> str:
    """The user's part in the group (permissions.role_in_group): a group they have no part
    in does not exist for them (404); a part that may not do this is 403."""
    if user is None:
        raise Forbidden(_l("You may not do this on this joint complaint."))
    part = role_in_group(user, joint)
    if part is None:
        raise NotFound(_l("No such joint complaint."))
    if part not in parts:
        raise Forbidden(_l("You may not do this on this joint complaint."))
    require_capability(user)
    return part


# -- starting, joining, leaving --------------------------------------------------------------


def _group_fields(data: dict) -> dict:
    errors: dict = {}
    clean: dict = {}
    try:
        enterprise_id = int(data.get("enterprise_id"))
        enterprise = db.session.get(Enterprise, enterprise_id)
    except (TypeError, ValueError):
        enterprise = None
    if enterprise is None or not enterprise.is_odr:
        errors["enterprise_id"] = str(_l("Choose an approved ODR enterprise."))
    else:
        clean["enterprise_id"] = enterprise.id
    for field, fn in (
        ("issue", lambda: ops._enum(Issue, data.get("issue"), "issue")),
        (
            "subject_kind",
            lambda: ops._enum(SubjectKind, data.get("subject_kind") or "service", "subject_kind"),
        ),
        ("subject", lambda: ops._text(data.get("subject"), "subject", limit=200)),
        ("facts", lambda: ops._text(data.get("facts"), "facts")),
    ):
        try:
            clean[field] = fn()
        except Invalid as exc:
            errors.update(exc.fields)
    green = data.get("green_channel", True)
    clean["green_channel"] = (
        green if isinstance(green, bool) else str(green).lower() in {"1", "true", "on", "y"}
    )
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    return clean


def has_claim(data: dict) -> bool:
    """Whether the data carry a member's claim (the creator may give theirs at once)."""
    return any(data.get(field) not in (None, "", []) for field in ("purchase_date", "amount"))


def start(consumer: User, data: dict, *, now: datetime | None = None) -> JointComplaint:
    """A consumer starts a joint complaint against an approved enterprise and is its first
    member; with their claim in `data` (CLAIM_FIELDS) their own case is opened at once,
    otherwise they give it later through `join`."""
    now = _now(now)
    if consumer is None or consumer.role != UserRole.CONSUMER:
        raise Forbidden(_l("Only consumers start joint complaints."))
    require_capability(consumer)
    clean = _group_fields(data)
    claim = has_claim(data)
    if claim:
        # Every field's message at once, before anything is written.
        ops.validate_complaint(
            {**_claim_data(consumer, data), **_case_fields(clean)}, deadlines.local_date(now)
        )
    joint = JointComplaint(
        reference=f"pending-{uuid.uuid4().hex[:24]}",
        created_by_id=consumer.id,
        created_at=now,
        state=JointState.GATHERING,
        **clean,
    )
    db.session.add(joint)
    db.session.flush()
    joint.reference = f"JC-{deadlines.local_date(now).year}-{joint.id:07d}"
    member = JointMember(joint_id=joint.id, consumer_id=consumer.id, joined_at=now)
    db.session.add(member)
    db.session.flush()
    if claim:
        _open_case(consumer, joint, member, data, now)
    return joint


def _case_fields(joint_or_clean) -> dict:
    get = (
        joint_or_clean.get
        if isinstance(joint_or_clean, dict)
        else lambda k: getattr(joint_or_clean, k)
    )
    return {
        "enterprise_id": get("enterprise_id"),
        "issue": str(get("issue")),
        "subject_kind": str(get("subject_kind")),
        "subject": get("subject"),
        "green_channel": get("green_channel"),
    }


def _claim_data(consumer: User, data: dict) -> dict:
    claim = {k: data.get(k) for k in CLAIM_FIELDS if data.get(k) not in (None, "")}
    claim.setdefault("complainant_name", consumer.name)
    claim.setdefault("complainant_phone", consumer.phone)
    claim.setdefault("complainant_address", consumer.address)
    claim.setdefault("facts", data.get("facts"))
    return claim


def _open_case(consumer, joint, member, data, now) -> Complaint:
    complaint, _event = ops.filing(
        consumer, {**_claim_data(consumer, data), **_case_fields(joint)}, now=now, joint_id=joint.id
    )
    member.complaint_id = complaint.id
    member.complaint = complaint
    return complaint


def join(
    consumer: User, joint: JointComplaint, data: dict, *, now: datetime | None = None
) -> JointMember:
    """A consumer joins a gathering group with their own claim (their own case, reference
    and outcome); the creator gives theirs here if they did not at the start. Joining twice,
    after leaving, or once the group is submitted is refused (InvalidTransition)."""
    now = _now(now)
    if consumer is None or consumer.role != UserRole.CONSUMER:
        raise Forbidden(_l("Only consumers join joint complaints."))
    require_capability(consumer)
    if joint.state != JointState.GATHERING:
        raise InvalidTransition(_l("This joint complaint no longer takes new members."))
    member = db.session.scalar(
        db.select(JointMember).where(
            JointMember.joint_id == joint.id, JointMember.consumer_id == consumer.id
        )
    )
    if member is not None and member.left_at is not None:
        raise InvalidTransition(_l("You left this joint complaint."))
    if member is not None and member.complaint_id is not None:
        raise InvalidTransition(_l("You are already a member of this joint complaint."))
    if member is None:
        # Validated before the membership is written: nothing half-written.
        ops.validate_complaint(
            {**_claim_data(consumer, data), **_case_fields(joint)}, deadlines.local_date(now)
        )
        member = JointMember(joint_id=joint.id, consumer_id=consumer.id, joined_at=now)
        db.session.add(member)
        db.session.flush()
    _open_case(consumer, joint, member, data, now)
    db.session.flush()
    return member


def leave(
    consumer: User, joint: JointComplaint, *, reason=None, now: datetime | None = None
) -> JointMember:
    """A member leaves: their case is withdrawn (operations.withdraw: T1), which the
    transition table allows while it is open (before submission, and after it while it has
    no outcome); they stop being a representative. When the last member of a gathering
    group leaves, the group is dissolved."""
    now = _now(now)
    part = _require_part(consumer, joint, "member", REPRESENTATIVE, "former")
    if part == "former":
        raise InvalidTransition(_l("You already left this joint complaint."))
    member = db.session.scalar(
        db.select(JointMember).where(
            JointMember.joint_id == joint.id, JointMember.consumer_id == consumer.id
        )
    )
    if member.complaint_id is not None:
        complaint = db.session.get(Complaint, member.complaint_id)
        ops.withdraw(consumer, complaint, reason=reason, now=now)
    member.left_at = now
    member.representative = False
    db.session.flush()
    if joint.state == JointState.GATHERING and not members_of(joint, active_only=True):
        joint.state = JointState.DISSOLVED
    db.session.flush()
    return member


# -- representatives and submission ----------------------------------------------------------


def _ids(values, field: str) -> list[int]:
    if not isinstance(values, list | tuple) or not values:
        raise _invalid(field, _l("Choose at least one."))
    try:
        ids = [int(v) for v in values]
    except (TypeError, ValueError):
        raise _invalid(field, _l("Not a valid choice.")) from None
    if len(set(ids)) != len(ids):
        raise _invalid(field, _l("Each member at most once."))
    return ids


def elect(
    actor: User, joint: JointComplaint, member_ids, *, now: datetime | None = None
) -> list[JointMember]:
    """The members elect representatives (at most two in all). Only active members elect
    and are elected; a member who left cannot be, and a third is refused."""
    _require_part(actor, joint, "member", REPRESENTATIVE)
    if joint.state == JointState.DISSOLVED:
        raise InvalidTransition(_l("This joint complaint was dissolved."))
    ids = _ids(member_ids, "member_ids")
    members = {m.id: m for m in members_of(joint)}
    unknown = [i for i in ids if i not in members]
    if unknown:
        raise _invalid("member_ids", _l("Not a member of this joint complaint."))
    if any(members[i].left_at is not None for i in ids):
        raise InvalidTransition(_l("A member who left cannot be a representative."))
    if any(members[i].complaint_id is None for i in ids):
        raise InvalidTransition(_l("A representative must first give their own claim."))
    chosen = {m.id for m in members.values() if m.representative and m.left_at is None}
    chosen |= set(ids)
    if len(chosen) > MAX_REPRESENTATIVES:
        raise InvalidTransition(
            _l("A joint complaint has at most %(n)s representatives.", n=MAX_REPRESENTATIVES)
        )
    for i in ids:
        members[i].representative = True
    db.session.flush()
    return [members[i] for i in sorted(chosen)]


def submit(actor: User | None, joint: JointComplaint, *, now: datetime | None = None) -> list:
    """A representative sends every member's case at once (operations.submit_members):
    to the enterprise with one 10-working-day deadline for all, or to the competent body.
    Members who never gave their claim are left out (their membership ends)."""
    now = _now(now)
    part = _require_part(actor, joint, REPRESENTATIVE, "member", "former", "admin")
    if part != REPRESENTATIVE:
        raise Forbidden(_l("Only an elected representative submits the joint complaint."))
    if joint.state != JointState.GATHERING:
        raise InvalidTransition(_l("This joint complaint was already submitted."))
    members = members_of(joint, active_only=True)
    with_claims = [m for m in members if m.complaint_id is not None]
    if len(with_claims) < MIN_MEMBERS:
        raise InvalidTransition(
            _l("A joint complaint needs at least %(n)s members with a claim.", n=MIN_MEMBERS)
        )
    parts = representative_parts(actor, joint.id)
    moved = ops.submit_members(
        actor, [m.complaint_id for m in with_claims], parts, context=context(joint), now=now
    )
    for member in members:
        if member.complaint_id is None:
            member.left_at = now
    joint.state = JointState.SUBMITTED
    joint.submitted_at = now
    joint.submitted_by_id = actor.id
    db.session.flush()
    return moved


# -- the enterprise's one answer -------------------------------------------------------------


def _share(claimed: Decimal, percent: Decimal) -> Decimal:
    return (claimed * percent / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _percent(value) -> Decimal:
    try:
        percent = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise _invalid("share_percent", _l("Not a valid number.")) from None
    if not percent.is_finite() or percent <= 0 or percent > 100:
        raise _invalid("share_percent", _l("Between 0 and 100."))
    return percent


def offer(
    actor: User,
    joint: JointComplaint,
    *,
    remedy,
    terms,
    performance_due=None,
    share_percent=None,
    amounts=None,
    now: datetime | None = None,
) -> dict[int, int]:
    """The enterprise answers the group once: a share of each member's claim, or an amount
    per member (`amounts`: [{complaint_id, amount}]), with the same terms. One offer is put
    on each member's case still in direct settlement (operations.make_offers), which each
    member accepts or rejects on their own case. Answers case id -> offer id."""
    now = _now(now)
    _require_part(actor, joint, "enterprise")
    if (share_percent is None) == (amounts is None):
        raise _invalid("share_percent", _l("Give either a share of each claim or the amounts."))
    rows = member_rows(joint.id)
    if share_percent is not None:
        percent = _percent(share_percent)
        wanted = {
            row.complaint_id: _share(row.claimed_amount, percent)
            for row in rows
            if row.left_at is None and row.complaint_id and row.state == State.NEGOTIATING
        }
    else:
        wanted = _member_amounts(rows, amounts)
    if not wanted:
        raise InvalidTransition(_l("No member's case is in direct settlement."))
    return ops.make_offers(
        actor,
        wanted,
        remedy=remedy,
        terms=terms,
        performance_due=performance_due,
        context=context(joint),
        now=now,
    )


def _member_amounts(rows, amounts) -> dict[int, object]:
    """[{complaint_id, amount}] checked against the group: each case once, each an active
    member's (422 otherwise, before anything is written)."""
    if not isinstance(amounts, list | tuple) or not amounts:
        raise _invalid("amounts", _l("Choose at least one."))
    members = {row.complaint_id: row for row in rows if row.complaint_id}
    wanted: dict[int, object] = {}
    for item in amounts:
        try:
            case_id = int(item["complaint_id"])
            amount = item["amount"]
        except (TypeError, ValueError, KeyError):
            raise _invalid("amounts", _l("Each item needs complaint_id and amount.")) from None
        row = members.get(case_id)
        if row is None:
            raise _invalid("amounts", _l("Case %(id)s is not a member of this group.", id=case_id))
        if row.left_at is not None:
            raise _invalid(
                "amounts", _l("Case %(id)s belongs to a member who left the group.", id=case_id)
            )
        if case_id in wanted:
            raise _invalid("amounts", _l("Each member at most once."))
        wanted[case_id] = amount
    return wanted


def decline(actor: User, joint: JointComplaint, *, reason=None, now=None) -> list:
    """The enterprise declines to settle with the group: every member's case still in direct
    settlement goes to the competent body together (operations.decline_cases)."""
    now = _now(now)
    _require_part(actor, joint, "enterprise")
    ids = _open_ids(joint, {State.NEGOTIATING})
    if not ids:
        raise InvalidTransition(_l("No member's case is in direct settlement."))
    return ops.decline_cases(actor, ids, reason=reason, context=context(joint), now=now)


def _open_ids(joint: JointComplaint, states: set[State]) -> list[int]:
    c = Complaint.__table__.c
    m = JointMember.__table__.c
    return list(
        db.session.scalars(
            sa.select(c.id)
            .select_from(JointMember.__table__.join(Complaint.__table__, c.id == m.complaint_id))
            .where(m.joint_id == joint.id, m.left_at.is_(None), c.state.in_(sorted(states)))
            .order_by(c.id)
        )
    )


# -- one mediator, one mediation -------------------------------------------------------------


def _cases_at(actor: User, joint: JointComplaint, states: set[State]) -> list[Complaint]:
    bodies = list(actor.body_ids)
    return list(
        db.session.scalars(
            db.select(Complaint)
            .join(JointMember, JointMember.complaint_id == Complaint.id)
            .where(
                JointMember.joint_id == joint.id,
                JointMember.left_at.is_(None),
                Complaint.state.in_(sorted(states)),
                sa.or_(Complaint.body_id.in_(bodies), Complaint.raised_to_body_id.in_(bodies)),
            )
            .order_by(Complaint.id)
        )
    )


def mediator_cases(actor: User, joint: JointComplaint, states: set[State]) -> list[Complaint]:
    """The group's active member cases in these states at the mediator's bodies (what
    `accept` and `propose_agreement` act on), for the mediator's page."""
    _require_part(actor, joint, "mediator")
    return _cases_at(actor, joint, states)


def accept(actor: User, joint: JointComplaint, *, now=None) -> list[Complaint]:
    """A mediator accepts every member case of the group awaiting acceptance at their body:
    the group has one mediator (the first to accept it), who mediates them together."""
    now = _now(now)
    _require_part(actor, joint, "mediator")
    cases = _cases_at(actor, joint, {State.PENDING_ACCEPTANCE})
    if not cases:
        raise InvalidTransition(_l("No member's case awaits acceptance."))
    mediator = db.session.get(User, joint.mediator_id) if joint.mediator_id else actor
    for complaint in cases:
        if complaint.mediator_id is None:
            complaint.mediator_id = mediator.id
            complaint.mediator = mediator
        ops.accept_case(actor, complaint, now=now)
    if joint.mediator_id is None:
        joint.mediator_id = mediator.id
    db.session.flush()
    return cases


def propose_agreement(
    actor: User, joint: JointComplaint, *, terms, amounts, performance_due=None, now=None
) -> list[Agreement]:
    """One agreement text with an amount per member, proposed on each named member's case
    in mediation (operations.propose_agreement); it binds each member who signs."""
    now = _now(now)
    _require_part(actor, joint, "mediator")
    wanted = _member_amounts(member_rows(joint.id), amounts)
    cases = {c.id: c for c in _cases_at(actor, joint, {State.MEDIATING})}
    missing = [case_id for case_id in wanted if case_id not in cases]
    if missing:
        raise InvalidTransition(
            _l("Case %(id)s of this group is not in mediation with you.", id=missing[0])
        )
    return [
        ops.propose_agreement(
            actor,
            cases[case_id],
            terms=terms,
            amount=amount,
            performance_due=performance_due,
            now=now,
        )
        for case_id, amount in wanted.items()
    ]


def sign_agreement(actor: User, joint: JointComplaint, *, ip_address=None, now=None) -> list:
    """The enterprise signs the group's agreement once: on every member case with a
    proposed agreement it has not signed yet (operations.sign_agreement each)."""
    now = _now(now)
    _require_part(actor, joint, "enterprise")
    ids = _open_ids(joint, {State.MEDIATING})
    signed = []
    for case_id in ids:
        complaint = db.session.get(Complaint, case_id)
        agreement = db.session.scalar(
            db.select(Agreement).where(
                Agreement.complaint_id == case_id, Agreement.status == AgreementStatus.PROPOSED
            )
        )
        if agreement is None or any(s.party == "enterprise" for s in agreement.signatures):
            continue
        signed.append(ops.sign_agreement(actor, complaint, ip_address=ip_address, now=now))
    if not signed:
        raise InvalidTransition(_l("There is no agreement to sign."))
    return signed


# -- reading ---------------------------------------------------------------------------------


def open_groups(enterprise_id: int | None, *, after: int | None = None, limit: int = 50):
    """Groups still gathering members, for anyone to find: no personal data (reference,
    enterprise, issue, subject, member count, state). Rows, newest first."""
    j = JointComplaint.__table__.c
    m = JointMember.__table__.c
    count = (
        sa.select(sa.func.count())
        .where(m.joint_id == j.id, m.left_at.is_(None), m.complaint_id.is_not(None))
        .scalar_subquery()
    )
    query = sa.select(
        j.id,
        j.reference,
        j.enterprise_id,
        Enterprise.__table__.c.name.label("enterprise_name"),
        j.issue,
        j.subject,
        j.state,
        j.created_at,
        count.label("member_count"),
    ).select_from(JointComplaint.__table__.join(Enterprise.__table__))
    query = query.where(j.state == JointState.GATHERING.value)
    if enterprise_id is not None:
        query = query.where(j.enterprise_id == enterprise_id)
    if after is not None:
        query = query.where(j.id < after)
    return db.session.execute(query.order_by(j.id.desc()).limit(limit)).all()


def groups_of(user: User) -> list[JointComplaint]:
    """The groups a consumer is (or was) a member of, newest first."""
    return list(
        db.session.scalars(
            db.select(JointComplaint)
            .join(JointMember, JointMember.joint_id == JointComplaint.id)
            .where(JointMember.consumer_id == user.id)
            .order_by(JointComplaint.id.desc())
        )
    )


def member_count(joint_id: int) -> int:
    return db.session.scalar(
        db.select(sa.func.count())
        .select_from(JointMember)
        .where(
            JointMember.joint_id == joint_id,
            JointMember.left_at.is_(None),
            JointMember.complaint_id.is_not(None),
        )
    )


def deadline_of(joint: JointComplaint, rows=None):
    """The group's one answer deadline: its members' running direct-settlement clock."""
    rows = rows if rows is not None else member_rows(joint.id)
    found = [r.deadline_at for r in rows if r.state == State.NEGOTIATING and r.deadline_at]
    return min(found) if found else None


def outcome_counts(rows) -> dict[str, int]:
    """How many members' cases are in each state (members with a case)."""
    counts: dict[str, int] = {}
    for row in rows:
        if row.complaint_id is not None:
            counts[str(row.state)] = counts.get(str(row.state), 0) + 1
    return counts


# Parts that see every member's name and claim (they have every member's case anyway).
_SEE_ALL = {"enterprise", "mediator", "admin"}


def view(
    user: User | None, joint: JointComplaint, *, offset: int = 0, limit: int | None = None
) -> dict | None:
    """The group as this user may see it (plain values for the web, the API and the
    record): None when it does not exist for them. Members see each other masked
    (formats.mask_name) and only their own claim; the enterprise's staff, the mediator and
    the regulator see every member's claim; any other consumer sees a gathering group as
    it is listed, without its members."""
    part = role_in_group(user, joint) if user is not None else None
    if part is None and not (
        joint.state == JointState.GATHERING
        and user is not None
        and getattr(user, "role", None) == UserRole.CONSUMER
    ):
        return None
    rows = member_rows(joint.id, offset=offset, limit=limit) if part is not None else []
    names = {}
    if rows:
        names = dict(
            db.session.execute(
                db.select(User.id, User.name).where(User.id.in_({r.consumer_id for r in rows}))
            ).all()
        )
    members = []
    for row in rows:
        own = user is not None and row.consumer_id == user.id
        see = own or part in _SEE_ALL
        name = row.complainant_name or names.get(row.consumer_id, "")
        members.append(
            {
                "id": row.id,
                "consumer_id": row.consumer_id,
                "complaint_id": row.complaint_id,
                "reference": row.reference,
                "state": row.state,
                "representative": bool(row.representative),
                "active": row.left_at is None,
                "you": own,
                "name": name if see else formats.mask_name(name),
                "joined_at": row.joined_at,
                "left_at": row.left_at,
                "claimed_amount": row.claimed_amount if see else None,
                "amount": row.amount if see else None,
                "purchase_date": row.purchase_date if see else None,
                "requests": row.requests if see else None,
                "facts": row.facts if see else None,
                "settled_amount": row.settled_amount,
                "termination_reason": row.termination_reason,
                "refusal_reason": row.refusal_reason,
                "deadline_at": row.deadline_at,
            }
        )
    enterprise = db.session.get(Enterprise, joint.enterprise_id)
    return {
        "id": joint.id,
        "reference": joint.reference,
        "enterprise": {"id": enterprise.id, "name": enterprise.name},
        "issue": joint.issue,
        "subject_kind": joint.subject_kind,
        "subject": joint.subject,
        "facts": joint.facts,
        "green_channel": joint.green_channel,
        "state": joint.state,
        "created_at": joint.created_at,
        "submitted_at": joint.submitted_at,
        "deadline_at": (deadline_of(joint, rows) if rows and limit is None else None),
        "mediator_id": joint.mediator_id,
        "member_count": (
            sum(1 for m in members if m["active"] and m["complaint_id"])
            if rows and limit is None
            else None
            if limit is not None
            else member_count(joint.id)
        ),
        "members": members,
        "part": part,
        "outcomes": outcome_counts(rows),
    }


def enterprise_groups(enterprise_id: int, *, limit: int = 20):
    """The enterprise's submitted groups, newest first, with their members and how many of
    them are still open (its inbox lists them above the cases)."""
    return db.session.execute(
        _enterprise_groups_statement(), {"groups_of": enterprise_id, "groups_limit": limit}
    ).all()


@functools.cache
def _enterprise_groups_statement():
    """enterprise_groups' statement, built once (the inbox reads it on every first page):
    the enterprise's submitted groups by ix_joint_complaint_enterprise_state, each with its
    current members counted, not every group's members grouped first."""
    j = JointComplaint.__table__.c
    m = JointMember.__table__.c
    c = Complaint.__table__.c
    members = JointComplaint.__table__.join(
        JointMember.__table__, sa.and_(m.joint_id == j.id, m.left_at.is_(None))
    ).join(Complaint.__table__, c.id == m.complaint_id)
    return (
        sa.select(
            j.id,
            j.reference,
            j.subject,
            j.submitted_at,
            sa.func.count().label("members"),
            sa.func.sum(sa.case((c.state.in_(sorted(OPEN_STATES)), 1), else_=0)).label("open"),
            sa.func.min(c.deadline_at).label("deadline_at"),
        )
        .select_from(members)
        .where(j.enterprise_id == sa.bindparam("groups_of"), j.state == JointState.SUBMITTED.value)
        .group_by(j.id, j.reference, j.subject, j.submitted_at)
        .order_by(j.id.desc())
        .limit(sa.bindparam("groups_limit"))
    )


def references_by_case(enterprise_id: int) -> dict[int, str]:
    """Case id -> its group's reference, for the enterprise's submitted groups (the CSV)."""
    return dict(
        db.session.execute(
            sa.select(JointMember.complaint_id, JointComplaint.reference)
            .join(JointComplaint, JointComplaint.id == JointMember.joint_id)
            .where(
                JointComplaint.enterprise_id == enterprise_id,
                JointComplaint.state == JointState.SUBMITTED,
                JointMember.complaint_id.is_not(None),
            )
        ).all()
    )
