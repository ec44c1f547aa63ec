"""An enterprise's staff: the owner invites and removes agents, and staff give cases to
one another.

Operations (plain data in, flush, never commit) for what concerns only the enterprise's
side of the portal; the case itself changes only through odr.disputes.operations. Changes
to the staff (and to the integration: odr.disputes.integration) are written to the
enterprise's event history with the person who made them.
"""

import secrets

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from odr.auth import operations as auth_ops
from odr.auth.models import LinkPurpose, OneTimeLink, StaffRole, User, UserRole
from odr.disputes.models import Complaint, EnterpriseEvent
from odr.disputes.notifications import queue_plain_email
from odr.disputes.states import OPEN_STATES, Forbidden, Invalid, NotFound
from odr.extensions import db
from odr.types import as_id, utcnow
from odr.urls import public_url

INVITE_HOURS = 72
MAX_BULK = 500


def require_staff(actor: User) -> None:
    if actor is None or actor.role != UserRole.ENTERPRISE or not actor.active:
        raise Forbidden(_l("Only the enterprise's staff may do this."))


def require_owner(actor: User) -> None:
    require_staff(actor)
    if actor.staff_role != StaffRole.OWNER:
        raise Forbidden(_l("Only the enterprise's owner may do this."))


def log_change(actor: User, action: str, note: str | None) -> None:
    """One line of the enterprise's history: who changed its staff or its integration."""
    status = str(actor.enterprise.status)
    db.session.add(
        EnterpriseEvent(
            enterprise_id=actor.enterprise_id,
            actor_id=actor.id,
            action=action,
            from_status=status,
            to_status=status,
            reason=note,
        )
    )


# -- staff ---------------------------------------------------------------------------------


def staff_member(actor: User, user_id) -> User:
    try:
        user = db.session.get(User, as_id(user_id) or 0)
    except (TypeError, ValueError):
        user = None
    if user is None or user.enterprise_id != actor.enterprise_id:
        raise NotFound(_l("No such staff member."))
    return user


def invite_agent(owner: User, *, email, name, locale="zh_CN") -> User:
    """Create an agent's account, inactive until they set a password from the invitation
    link (valid for 72 hours) that is mailed to them."""
    require_owner(owner)
    # An unusable random password: nobody knows it; the agent chooses their own.
    agent = auth_ops.create_user(
        role=UserRole.ENTERPRISE,
        email=email,
        password=secrets.token_urlsafe(32),
        name=name,
        enterprise=owner.enterprise,
        staff_role=StaffRole.AGENT,
        locale=locale if locale in ("zh_CN", "en") else "zh_CN",
    )
    agent.active = False
    _send_invitation(owner, agent)
    log_change(owner, "invite_agent", agent.email)
    db.session.flush()
    return agent


def reinvite_agent(owner: User, agent_id) -> User:
    """Send a fresh invitation to an agent who has not accepted yet or was removed."""
    require_owner(owner)
    agent = staff_member(owner, agent_id)
    if agent.staff_role != StaffRole.AGENT:
        raise Forbidden(_l("Only agents are invited."))
    if agent.active:
        raise Invalid(_l("This agent's account is already active."))
    _send_invitation(owner, agent)
    log_change(owner, "reinvite_agent", agent.email)
    db.session.flush()
    return agent


def _send_invitation(owner: User, agent: User) -> None:
    # Earlier links of this agent stop working: only the newest invitation counts.
    for link in db.session.scalars(
        db.select(OneTimeLink).where(
            OneTimeLink.user_id == agent.id,
            OneTimeLink.purpose == LinkPurpose.INVITE,
            OneTimeLink.used_at.is_(None),
        )
    ):
        link.used_at = utcnow()
    raw = auth_ops.new_link(agent, LinkPurpose.INVITE, hours=INVITE_HOURS)
    # The address of the account page that takes the invitation (auth.accept_invite), built
    # like every link the domain mails: the operation may run outside a web request.
    link = public_url(f"/auth/invite/{raw}")
    with force_locale(agent.locale or "zh_CN"):
        subject = _(
            "%(enterprise)s invites you to answer consumer complaints",
            enterprise=owner.enterprise.name,
        )
        body = _(
            "%(owner)s has added you as a customer-service agent of %(enterprise)s on the "
            "ODR portal.\n\nOpen this link within %(hours)s hours to choose your password:\n"
            "%(link)s\n\nThen sign in with this e-mail address.",
            owner=owner.name,
            enterprise=owner.enterprise.name,
            hours=INVITE_HOURS,
            link=link,
        )
    queue_plain_email(agent.email, subject, body, key=f"invite:{agent.id}:{raw[:16]}")


def invitation_pending(agent: User) -> bool:
    return bool(
        db.session.scalar(
            db.select(OneTimeLink.id).where(
                OneTimeLink.user_id == agent.id,
                OneTimeLink.purpose == LinkPurpose.INVITE,
                OneTimeLink.used_at.is_(None),
                OneTimeLink.expires_at > utcnow(),
            )
        )
    )


def remove_agent(owner: User, agent_id) -> User:
    """Deactivate an agent: they can no longer sign in, use tokens or see cases. Their
    open cases go back to the whole team."""
    require_owner(owner)
    agent = staff_member(owner, agent_id)
    if agent.staff_role != StaffRole.AGENT:
        raise Forbidden(_l("The owner's account cannot be removed here."))
    agent.active = False
    for link in db.session.scalars(
        db.select(OneTimeLink).where(OneTimeLink.user_id == agent.id, OneTimeLink.used_at.is_(None))
    ):
        link.used_at = utcnow()
    db.session.execute(
        db.update(Complaint)
        .where(
            Complaint.enterprise_id == owner.enterprise_id,
            Complaint.assignee_id == agent.id,
            Complaint.state.in_(OPEN_STATES),
        )
        .values(assignee_id=None, version=Complaint.version + 1)
        .execution_options(synchronize_session=False)
    )
    log_change(owner, "remove_agent", agent.email)
    db.session.flush()
    return agent


# -- assignment ----------------------------------------------------------------------------


def assign_cases(actor: User, complaint_ids, assignee_id) -> int:
    """Give cases of the actor's enterprise to one of its active staff (or to nobody).
    Answers how many cases were assigned."""
    require_staff(actor)
    assignee = None
    if assignee_id not in (None, "", "none"):
        try:
            assignee = staff_member(actor, assignee_id)
        except NotFound:
            assignee = None
        if assignee is None or not assignee.active:
            raise Invalid(
                _l("Please correct the marked fields."),
                {"assignee_id": str(_l("Choose an active member of your staff."))},
            )
    found = {as_id(i) for i in complaint_ids or []}
    if None in found:
        raise Invalid(
            _l("Please correct the marked fields."), {"ids": str(_l("Not a valid choice."))}
        )
    ids = sorted(found)
    if not ids:
        raise Invalid(
            _l("Please correct the marked fields."), {"ids": str(_l("Select at least one case."))}
        )
    if len(ids) > MAX_BULK:
        raise Invalid(
            _l("Please correct the marked fields."),
            {"ids": str(_l("At most %(n)s cases at a time.", n=MAX_BULK))},
        )
    complaints = db.session.scalars(
        db.select(Complaint).where(
            Complaint.id.in_(ids), Complaint.enterprise_id == actor.enterprise_id
        )
    ).all()
    if len(complaints) != len(ids):
        raise NotFound(_l("No such case."))
    for complaint in complaints:
        complaint.assignee_id = assignee.id if assignee is not None else None
    db.session.flush()
    return len(complaints)
