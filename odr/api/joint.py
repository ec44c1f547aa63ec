"""Joint complaints (共同投诉) for programs: start, find, join, leave, elect representatives,
submit; the enterprise's one answer (offers to every member, or decline); the mediator's
one acceptance and one agreement with an amount per member. Each member answers an offer,
signs and withdraws on their own case through the case endpoints. Each view loads the
group (404 when the caller may not see it), validates (422), calls one domain function
(odr/disputes/joint.py: 403/409 from it) and commits once."""

from flask import request
from flask_babel import lazy_gettext as _l

from odr.api import bp, schemas
from odr.api.core import MAX_ID, caller, decode_cursor, page, payload, query, require_role
from odr.api.spec import PDF, endpoint
from odr.auth.models import UserRole
from odr.disputes import joint as groups
from odr.disputes.joint_record import group_record_pdf
from odr.disputes.models import Offer
from odr.disputes.serialize import iso, money_str
from odr.disputes.states import NotFound
from odr.downloads import send_download
from odr.extensions import db

GROUP = "/joint-complaints/<int(max=2147483647):joint_id>"
CONSUMER = ("consumer",)


def _load(joint_id: int, *, lock: bool = False, any_state: bool = False):
    """The group, if the caller may see it (404 otherwise). `any_state`: joining, where a
    consumer learns that a group they found was submitted meanwhile (409, API.md)."""
    joint = groups.get_joint(joint_id, lock=lock) if 0 < joint_id <= MAX_ID else None
    if joint is None or (not any_state and groups.view(caller(), joint) is None):
        raise NotFound(_l("No such joint complaint."))
    return joint


def _value(value):
    return str(value) if value is not None else None


def group_out(joint) -> dict:
    seen = groups.view(caller(), joint)
    return {
        "id": seen["id"],
        "reference": seen["reference"],
        "enterprise": seen["enterprise"],
        "issue": str(seen["issue"]),
        "subject": seen["subject"],
        "state": str(seen["state"]),
        "member_count": seen["member_count"],
        "created_at": iso(seen["created_at"]),
        "subject_kind": str(seen["subject_kind"]),
        "facts": seen["facts"],
        "green_channel": seen["green_channel"],
        "submitted_at": iso(seen["submitted_at"]),
        "deadline_at": iso(seen["deadline_at"]),
        "mediator_id": seen["mediator_id"],
        "members": [
            {
                "id": m["id"],
                "complaint_id": m["complaint_id"],
                "reference": m["reference"],
                "state": _value(m["state"]),
                "representative": m["representative"],
                "active": m["active"],
                "you": m["you"],
                "name": m["name"],
                "joined_at": iso(m["joined_at"]),
                "left_at": iso(m["left_at"]),
                "claimed_amount": money_str(m["claimed_amount"]),
                "settled_amount": money_str(m["settled_amount"]),
                "termination_reason": _value(m["termination_reason"]),
            }
            for m in seen["members"]
        ],
    }


def _done(joint, status=200):
    db.session.commit()
    return group_out(joint), status


@endpoint(
    bp,
    "POST",
    "/joint-complaints",
    summary="Start a joint complaint against an approved enterprise (consumer)",
    tags=CONSUMER,
    body=schemas.JointIn,
    responses={201: schemas.JointOut},
    errors=(403,),
)
def start_joint():
    """The caller is its first member. Their own claim (purchase_date, amount,
    claimed_amount, requests) may come with it; otherwise they give it with
    `POST /joint-complaints/{id}/members` like anyone joining."""
    user = require_role(UserRole.CONSUMER)
    data = payload(schemas.JointIn).model_dump(mode="json", exclude_none=True)
    joint = groups.start(user, data)
    return _done(joint, 201)


@endpoint(
    bp,
    "GET",
    "/joint-complaints",
    summary="Open joint complaints (still gathering members), newest first",
    tags=("consumer", "enterprise", "mediator", "admin"),
    query=schemas.JointListQuery,
    responses={200: schemas.JointPage},
)
def list_joints():
    """Without personal data: reference, enterprise, issue, subject, member count, state."""
    args = query(schemas.JointListQuery)
    rows = groups.open_groups(
        args.enterprise_id, after=decode_cursor(args.cursor), limit=args.limit + 1
    )
    rows, cursor = page(list(rows), args.limit)
    items = [
        {
            "id": r.id,
            "reference": r.reference,
            "enterprise": {"id": r.enterprise_id, "name": r.enterprise_name},
            "issue": str(r.issue),
            "subject": r.subject,
            "state": str(r.state),
            "member_count": r.member_count,
            "created_at": iso(r.created_at),
        }
        for r in rows
    ]
    return {"items": items, "next_cursor": cursor}, 200


@endpoint(
    bp,
    "GET",
    GROUP,
    summary="One joint complaint with each member's state",
    tags=("consumer", "enterprise", "mediator", "admin"),
    responses={200: schemas.JointOut},
)
def show_joint(joint_id: int):
    """Members see each other's names masked and only their own claim; the enterprise (once
    submitted), the mediator and the regulator see every member's claim; another consumer
    sees a gathering group as listed, without members."""
    return group_out(_load(joint_id)), 200


@endpoint(
    bp,
    "POST",
    GROUP + "/members",
    summary="Join with your own claim: your own case in the group (consumer)",
    tags=CONSUMER,
    body=schemas.MemberIn,
    responses={201: schemas.MemberCreated},
    errors=(403, 409),
)
def join_joint(joint_id: int):
    """409 when you are already a member, left, or the group was submitted."""
    user = require_role(UserRole.CONSUMER)
    joint = _load(joint_id, lock=True, any_state=True)
    data = payload(schemas.MemberIn).model_dump(mode="json", exclude_none=True)
    member = groups.join(user, joint, data)
    complaint = member.complaint
    answer = {
        "id": member.id,
        "joint_complaint_id": joint.id,
        "complaint_id": complaint.id,
        "reference": complaint.reference,
        "state": str(complaint.state),
        "deadline_at": iso(complaint.deadline_at),
        "representative": member.representative,
    }
    db.session.commit()
    return answer, 201


@endpoint(
    bp,
    "POST",
    GROUP + "/leave",
    summary="Leave the group: your case is withdrawn (consumer)",
    tags=CONSUMER,
    body=schemas.ReasonIn,
    body_required=False,
    responses={200: schemas.JointOut},
    errors=(403, 409),
)
def leave_joint(joint_id: int):
    """Possible while your case is open; after an agreement or a settlement, 409."""
    joint = _load(joint_id, lock=True)
    data = payload(schemas.ReasonIn)
    groups.leave(caller(), joint, reason=data.reason)
    return _done(joint)


@endpoint(
    bp,
    "POST",
    GROUP + "/representatives",
    summary="Elect representatives, at most two in all (members)",
    tags=CONSUMER,
    body=schemas.RepresentativesIn,
    responses={200: schemas.JointOut},
    errors=(403, 409),
)
def elect_representatives(joint_id: int):
    """`member_ids` are membership ids (`members[].id`). A third representative, or a
    member who left, is 409; someone who is not a member of the group, 422."""
    joint = _load(joint_id, lock=True)
    data = payload(schemas.RepresentativesIn)
    groups.elect(caller(), joint, data.member_ids)
    return _done(joint)


@endpoint(
    bp,
    "POST",
    GROUP + "/submit",
    summary="Send every member's case to the enterprise at once (a representative)",
    tags=CONSUMER,
    responses={200: schemas.JointOut},
    errors=(403, 409),
)
def submit_joint(joint_id: int):
    """One 10-working-day deadline for every member's case (or the competent body when the
    enterprise is not in the green channel). Needs at least two members with a claim."""
    joint = _load(joint_id, lock=True)
    groups.submit(caller(), joint)
    return _done(joint)


@endpoint(
    bp,
    "POST",
    GROUP + "/offers",
    summary="Answer the group once: an offer on every member's case (enterprise)",
    tags=("enterprise",),
    body=schemas.JointOfferIn,
    responses={201: schemas.JointOffersOut},
    errors=(403, 409),
)
def offer_joint(joint_id: int):
    """Either `share_percent` (that share of each member's claimed amount, to every member
    still in direct settlement) or `amounts` ([{complaint_id, amount}], members of this
    group only: 422 otherwise). Each member accepts or rejects on their own case."""
    joint = _load(joint_id, lock=True)
    data = payload(schemas.JointOfferIn)
    amounts = (
        [{"complaint_id": a.complaint_id, "amount": a.amount} for a in data.amounts]
        if data.amounts is not None
        else None
    )
    offers = groups.offer(
        caller(),
        joint,
        remedy=str(data.remedy),
        terms=data.terms,
        performance_due=data.performance_due,
        share_percent=data.share_percent,
        amounts=amounts,
    )
    amounts_of = _offer_amounts(offers)
    db.session.commit()
    items = [
        {"complaint_id": case_id, "offer_id": offer_id, "amount": amounts_of[offer_id]}
        for case_id, offer_id in offers.items()
    ]
    return {"joint_complaint_id": joint.id, "offers": items}, 201


def _offer_amounts(offers: dict[int, int]) -> dict[int, str]:
    ids = list(offers.values())
    return {
        offer_id: money_str(amount)
        for offer_id, amount in db.session.execute(
            db.select(Offer.id, Offer.amount).where(Offer.id.in_(ids))
        )
    }


@endpoint(
    bp,
    "POST",
    GROUP + "/decline",
    summary="Decline to settle with the group: its cases go to mediation (enterprise)",
    tags=("enterprise",),
    body=schemas.ReasonIn,
    body_required=False,
    responses={200: schemas.JointOut},
    errors=(403, 409),
)
def decline_joint(joint_id: int):
    joint = _load(joint_id, lock=True)
    data = payload(schemas.ReasonIn)
    groups.decline(caller(), joint, reason=data.reason)
    return _done(joint)


@endpoint(
    bp,
    "POST",
    GROUP + "/accept",
    summary="Accept every member case awaiting acceptance at your body (mediator)",
    tags=("mediator",),
    responses={200: schemas.JointOut},
    errors=(403, 409),
)
def accept_joint(joint_id: int):
    """The group has one mediator: the first who accepts it."""
    joint = _load(joint_id, lock=True)
    groups.accept(caller(), joint)
    return _done(joint)


@endpoint(
    bp,
    "POST",
    GROUP + "/agreement",
    summary="Propose one agreement text with an amount per member (mediator)",
    tags=("mediator",),
    body=schemas.JointAgreementIn,
    responses={201: schemas.JointAgreementsOut},
    errors=(403, 409),
)
def propose_joint_agreement(joint_id: int):
    """Proposed on each named member's case in mediation; it binds each member who signs
    (`POST /complaints/{id}/agreement/sign`). The others continue, or the mediator ends
    their mediation with a reason of their own (`POST /complaints/{id}/terminate`)."""
    joint = _load(joint_id, lock=True)
    data = payload(schemas.JointAgreementIn)
    agreements = groups.propose_agreement(
        caller(),
        joint,
        terms=data.terms,
        performance_due=data.performance_due,
        amounts=[{"complaint_id": a.complaint_id, "amount": a.amount} for a in data.amounts],
    )
    items = [
        {"complaint_id": a.complaint_id, "agreement_id": a.id, "amount": money_str(a.amount)}
        for a in agreements
    ]
    db.session.commit()
    return {"joint_complaint_id": joint.id, "agreements": items}, 201


@endpoint(
    bp,
    "POST",
    GROUP + "/agreement/sign",
    summary="Sign the group's agreement on every member case at once (enterprise)",
    tags=("enterprise",),
    responses={200: schemas.JointOut},
    errors=(403, 409),
)
def sign_joint_agreement(joint_id: int):
    joint = _load(joint_id, lock=True)
    groups.sign_agreement(caller(), joint, ip_address=request.remote_addr)
    return _done(joint)


@endpoint(
    bp,
    "GET",
    GROUP + "/record.pdf",
    summary="The group record (PDF): members by reference only, with their outcomes",
    tags=("consumer", "enterprise", "mediator", "admin"),
    responses={200: PDF},
    errors=(403,),
)
def joint_record(joint_id: int):
    joint = _load(joint_id)
    if groups.view(caller(), joint)["part"] is None:
        raise NotFound(_l("No such joint complaint."))
    return send_download(
        group_record_pdf(joint), filename=f"{joint.reference}.pdf", mimetype="application/pdf"
    )
