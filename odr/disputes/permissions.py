"""Who may see and do what on a case. Views, the API and templates all ask here.

Visibility has two faces that must agree: `role_in_case` for one loaded case, and
`cases_visible_to` for a statement over many (every list, search, export and API list
filters with it). A list may AND its own narrower filters on top (a mediator's queue shows
a non-head only the cases assigned to them or to nobody), never widen it.

Capability (`may_act`) is separate: whether the account may do anything at all today
(a suspended enterprise's staff still see their cases, but may not act on them)."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from odr.auth.models import User, UserRole
from odr.disputes.models import (
    Complaint,
    Enterprise,
    EnterpriseStatus,
    JointComplaint,
    JointMember,
    JointState,
)
from odr.disputes.states import TRANSITIONS, Forbidden, Move, Role, State
from odr.extensions import db
from odr.types import as_id


def _signed_in(user: User | None) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and bool(user.active)


def _vetted(user: User) -> bool:
    """Enterprise staff see their enterprise's cases once a regulator has approved it (and
    still while it is suspended or has exited, for what it answered): an application sees
    nothing of any consumer, whatever a case names."""
    enterprise = user.enterprise
    return enterprise is not None and enterprise.status != EnterpriseStatus.PENDING


def role_in_case(user: User | None, complaint: Complaint) -> Role | None:
    """The part this user plays in this case, or None when they have no business with it.
    The one-row twin of cases_visible_to."""
    if not _signed_in(user):
        return None
    if user.role == UserRole.CONSUMER:
        return Role.CONSUMER if complaint.consumer_id == user.id else None
    if user.role == UserRole.ENTERPRISE:
        # A joint complaint's member cases reach the enterprise when the group is submitted.
        if (
            complaint.enterprise_id is not None
            and user.enterprise_id == complaint.enterprise_id
            and _vetted(user)
            and complaint.state != State.GATHERING
        ):
            return Role.ENTERPRISE
        return None
    if user.role == UserRole.MEDIATOR:
        bodies = user.body_ids
        if complaint.body_id in bodies or (
            complaint.raised_to_body_id is not None and complaint.raised_to_body_id in bodies
        ):
            return Role.MEDIATOR
        return None
    if user.role == UserRole.ADMIN:
        return Role.ADMIN
    return None


# -- the many-row twin -----------------------------------------------------------------------

# What kind of visibility a user has; each kind is a fixed condition whose values are bound.
NOBODY, OWN, ENTERPRISE, BODIES, EVERYTHING = "nobody", "own", "enterprise", "bodies", "all"


def visibility(user: User | None, bodies=None) -> tuple[str, dict]:
    """(kind, bound values) of the cases the user may see: the values go with the
    conditions of `visible_arms(kind)`. `bodies`: the user's active bodies when the caller
    has read them already (else User.body_ids)."""
    if not _signed_in(user):
        return NOBODY, {}
    if user.role == UserRole.CONSUMER:
        return OWN, {"visible_user": user.id}
    if user.role == UserRole.ENTERPRISE:
        if user.enterprise_id is None or not _vetted(user):
            return NOBODY, {}
        return ENTERPRISE, {"visible_enterprise": user.enterprise_id}
    if user.role == UserRole.MEDIATOR:
        found = sorted(user.body_ids if bodies is None else bodies)
        return (BODIES, {"visible_bodies": found}) if found else (NOBODY, {})
    if user.role == UserRole.ADMIN:
        return EVERYTHING, {}
    return NOBODY, {}


def visible_arms(kind: str, c=None, bind=sa.bindparam) -> list:
    """The conditions whose union is what a user of this kind sees, each one index range
    (a mediator's: cases at their bodies, cases raised to them). Values bound by name
    (visible_user, visible_enterprise, visible_bodies), so a statement built once per kind
    serves every user. `c`: the complaint's columns (the table's, or the mapped class)."""
    c = Complaint.__table__.c if c is None else c
    if kind == OWN:
        return [c.consumer_id == bind("visible_user", type_=sa.Integer())]
    if kind == ENTERPRISE:
        # Not a joint complaint's member case before the group is submitted (role_in_case).
        return [
            sa.and_(
                c.enterprise_id == bind("visible_enterprise", type_=sa.Integer()),
                c.state != State.GATHERING.value,
            )
        ]
    if kind == BODIES:
        bodies = bind("visible_bodies", expanding=True, type_=sa.Integer())
        return [c.body_id.in_(bodies), c.raised_to_body_id.in_(bodies)]
    if kind == EVERYTHING:
        return [sa.true()]
    return [sa.false()]


def visible_condition(kind: str, c=None):
    """The arms of `kind` as one condition (values bound by name, see visible_arms)."""
    arms = visible_arms(kind, c)
    return arms[0] if len(arms) == 1 else sa.or_(*arms)


def cases_visible_to(user: User | None, c=None):
    """The SQL condition "the user may see this case", its values bound: the many-row twin
    of role_in_case (`role_in_case(user, case) is not None` exactly for these)."""
    kind, values = visibility(user)

    def bind(name, **kw):
        return sa.bindparam(name, values[name], unique=True, **kw)

    arms = visible_arms(kind, c, bind)
    return arms[0] if len(arms) == 1 else sa.or_(*arms)


def can_view(user: User | None, complaint: Complaint) -> bool:
    return role_in_case(user, complaint) is not None


# -- who can be found and named as respondent ------------------------------------------------


def nameable():
    """The condition "a consumer can find this enterprise and name it as respondent": an
    approved ODR enterprise only. One still applying has not been vetted: it may not be
    found, named or reach any consumer's particulars; one suspended or exited is no longer
    in the programme (a consumer names it as an unlisted business, whose complaint goes to
    the competent office). The filing wizard's search, the API's search and every filing
    (web and API, by id) ask here."""
    return Enterprise.status == EnterpriseStatus.APPROVED


def nameable_enterprise(value) -> Enterprise | None:
    """The enterprise with this id if a consumer may name it (see nameable), else None: an
    id that is not a whole number in range, unknown, or not approved names nothing."""
    enterprise_id = as_id(value)
    if enterprise_id is None:
        return None
    return db.session.scalar(
        db.select(Enterprise).where(Enterprise.id == enterprise_id, nameable())
    )


# -- capability ------------------------------------------------------------------------------


def may_act(user: User | None) -> bool:
    """Whether the account may do anything at all: signed in and not disabled; enterprise
    staff only while their enterprise is approved (not while it applies, nor once suspended
    or exited); a deactivated mediator is a disabled account."""
    if not _signed_in(user):
        return False
    if user.role == UserRole.ENTERPRISE:
        enterprise = user.enterprise
        return enterprise is not None and enterprise.status == EnterpriseStatus.APPROVED
    return True


def incapacity(user: User | None):
    """Why the account may not act (a message), or None when it may."""
    if may_act(user):
        return None
    if user is not None and user.role == UserRole.ENTERPRISE and user.enterprise is not None:
        if user.enterprise.status == EnterpriseStatus.PENDING:
            return _l(
                "%(enterprise)s is not an approved ODR enterprise.", enterprise=user.enterprise.name
            )
        return _l("This enterprise's access is suspended.")
    return _l("Your account may not do this.")


def require_capability(user: User | None) -> None:
    """Raise Forbidden unless the account may act (see may_act)."""
    reason = incapacity(user)
    if reason is not None:
        raise Forbidden(reason)


# -- moves -----------------------------------------------------------------------------------


def can(user: User | None, move: Move, complaint: Complaint) -> bool:
    """Whether the move is open to this user now (for buttons; operations check again)."""
    if not may_act(user):
        return False
    role = role_in_case(user, complaint)
    states, roles = TRANSITIONS[move]
    return role in roles and complaint.state in states


def can_see_contact(user: User | None, complaint: Complaint) -> bool:
    """The consumer's phone and address: the consumer, the respondent's staff, the mediator."""
    return role_in_case(user, complaint) in {Role.CONSUMER, Role.ENTERPRISE, Role.MEDIATOR}


def is_body_head(user: User | None, body_id: int | None) -> bool:
    if user is None or user.role != UserRole.MEDIATOR:
        return False
    return any(m.body_id == body_id and m.is_head and m.active for m in user.memberships)


# -- joint complaints ------------------------------------------------------------------------

# A user's part in a joint complaint (the group, not one member's case).
MEMBER, REPRESENTATIVE = "member", "representative"


def role_in_group(user: User | None, joint: JointComplaint) -> str | None:
    """The part this user plays in a joint complaint: "representative" or "member" (an
    active member), "former" (a member who left), "enterprise" (its staff, once the group
    is submitted), "mediator" (of a body holding one of its cases), "admin"; None otherwise.
    Anyone may find an open group (its public listing); only these see its members."""
    if not _signed_in(user):
        return None
    if user.role == UserRole.CONSUMER:
        member = db.session.scalar(
            db.select(JointMember).where(
                JointMember.joint_id == joint.id, JointMember.consumer_id == user.id
            )
        )
        if member is None:
            return None
        if member.left_at is not None:
            return "former"
        return REPRESENTATIVE if member.representative else MEMBER
    if user.role == UserRole.ENTERPRISE:
        if user.enterprise_id == joint.enterprise_id and joint.state == JointState.SUBMITTED:
            return "enterprise"
        return None
    if user.role == UserRole.MEDIATOR:
        bodies = list(user.body_ids)
        if not bodies:
            return None
        found = db.session.scalar(
            db.select(Complaint.id)
            .join(JointMember, JointMember.complaint_id == Complaint.id)
            .where(
                JointMember.joint_id == joint.id,
                sa.or_(Complaint.body_id.in_(bodies), Complaint.raised_to_body_id.in_(bodies)),
            )
            .limit(1)
        )
        return "mediator" if found is not None else None
    if user.role == UserRole.ADMIN:
        return "admin"
    return None


def part_in_case(user: User | None, complaint: Complaint) -> Role | None:
    """The part a user may act in on a case: their role in it (role_in_case), else
    REPRESENTATIVE when they are an active elected representative of the joint complaint
    the case is an active member of. A representative acts for the members (submits the
    group) but does not see their cases: visibility is role_in_case's alone."""
    role = role_in_case(user, complaint)
    if role is not None or not _signed_in(user) or user.role != UserRole.CONSUMER:
        return role
    if complaint.id is None:
        return None
    member = aliased(JointMember)
    found = db.session.scalar(
        db.select(JointMember.id)
        .join(member, member.joint_id == JointMember.joint_id)
        .where(
            JointMember.complaint_id == complaint.id,
            JointMember.left_at.is_(None),
            member.consumer_id == user.id,
            member.representative.is_(True),
            member.left_at.is_(None),
        )
        .limit(1)
    )
    return Role.REPRESENTATIVE if found is not None else None


def representative_parts(user: User | None, joint_id: int) -> dict[int, Role]:
    """The many-row twin of part_in_case for one joint complaint: case id -> REPRESENTATIVE
    for every active member's case, when the user is an active elected representative of
    the group (empty otherwise)."""
    if not _signed_in(user) or user.role != UserRole.CONSUMER:
        return {}
    is_representative = db.session.scalar(
        db.select(JointMember.id).where(
            JointMember.joint_id == joint_id,
            JointMember.consumer_id == user.id,
            JointMember.representative.is_(True),
            JointMember.left_at.is_(None),
        )
    )
    if is_representative is None:
        return {}
    return dict.fromkeys(
        db.session.scalars(
            db.select(JointMember.complaint_id).where(
                JointMember.joint_id == joint_id,
                JointMember.left_at.is_(None),
                JointMember.complaint_id.is_not(None),
            )
        ),
        Role.REPRESENTATIVE,
    )
