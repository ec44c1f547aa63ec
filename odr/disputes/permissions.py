"""Who may see and do what on a case. Views, the API and templates all ask here."""

from odr.auth.models import User, UserRole
from odr.disputes.models import Complaint
from odr.disputes.states import TRANSITIONS, Move, Role


def role_in_case(user: User | None, complaint: Complaint) -> Role | None:
    """The part this user plays in this case, or None when they have no business with it."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return None
    if user.role == UserRole.CONSUMER:
        return Role.CONSUMER if complaint.consumer_id == user.id else None
    if user.role == UserRole.ENTERPRISE:
        if complaint.enterprise_id is not None and user.enterprise_id == complaint.enterprise_id:
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


def can_view(user: User | None, complaint: Complaint) -> bool:
    return role_in_case(user, complaint) is not None


def can(user: User | None, move: Move, complaint: Complaint) -> bool:
    """Whether the move is open to this user now (for buttons; operations check again)."""
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
