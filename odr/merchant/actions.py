"""The enterprise's own housekeeping: staff, case assignment, API tokens and webhooks.

Operation-like functions (plain data in, flush, never commit) for what concerns only the
enterprise's side of the portal; the case itself changes only through
odr.disputes.operations. Changes to the staff and the integration are written to the
enterprise's event history with the person who made them.
"""

import ipaddress
import secrets
from urllib.parse import urlsplit

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from odr import viewcache
from odr.auth import operations as auth_ops
from odr.auth.models import (
    ApiToken,
    LinkPurpose,
    OneTimeLink,
    StaffRole,
    TokenKind,
    User,
    UserRole,
)
from odr.disputes.models import Complaint, EnterpriseEvent, WebhookEndpoint
from odr.disputes.notifications import queue_plain_email
from odr.disputes.states import OPEN_STATES, Forbidden, Invalid, NotFound
from odr.extensions import db
from odr.types import utcnow

INVITE_HOURS = 72
MAX_BULK = 500
MIN_SECRET = 16


def _staff(actor: User) -> None:
    if actor is None or actor.role != UserRole.ENTERPRISE or not actor.active:
        raise Forbidden(_l("Only the enterprise's staff may do this."))


def _owner(actor: User) -> None:
    _staff(actor)
    if actor.staff_role != StaffRole.OWNER:
        raise Forbidden(_l("Only the enterprise's owner may do this."))


def _log(actor: User, action: str, note: str | None) -> None:
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
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        user = None
    if user is None or user.enterprise_id != actor.enterprise_id:
        raise NotFound(_l("No such staff member."))
    return user


def invite_agent(owner: User, *, email, name, locale="zh_CN") -> User:
    """Create an agent's account, inactive until they set a password from the invitation
    link (valid for 72 hours) that is mailed to them."""
    _owner(owner)
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
    _log(owner, "invite_agent", agent.email)
    db.session.flush()
    return agent


def reinvite_agent(owner: User, agent_id) -> User:
    """Send a fresh invitation to an agent who has not accepted yet or was removed."""
    _owner(owner)
    agent = staff_member(owner, agent_id)
    if agent.staff_role != StaffRole.AGENT:
        raise Forbidden(_l("Only agents are invited."))
    if agent.active:
        raise Invalid(_l("This agent's account is already active."))
    _send_invitation(owner, agent)
    _log(owner, "reinvite_agent", agent.email)
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
    link = url_for("auth.accept_invite", token=raw, _external=True)
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
    _owner(owner)
    agent = staff_member(owner, agent_id)
    if agent.staff_role != StaffRole.AGENT:
        raise Forbidden(_l("The owner's account cannot be removed here."))
    agent.active = False
    for link in db.session.scalars(
        db.select(OneTimeLink).where(OneTimeLink.user_id == agent.id, OneTimeLink.used_at.is_(None))
    ):
        link.used_at = utcnow()
    released = db.session.execute(
        db.update(Complaint)
        .where(
            Complaint.enterprise_id == owner.enterprise_id,
            Complaint.assignee_id == agent.id,
            Complaint.state.in_(OPEN_STATES),
        )
        .values(assignee_id=None, version=Complaint.version + 1)
        .returning(Complaint.id, Complaint.consumer_id)
        .execution_options(synchronize_session=False)
    ).all()
    viewcache.touch_cases(released)  # the enterprise's scope: through the agent's row
    _log(owner, "remove_agent", agent.email)
    db.session.flush()
    return agent


# -- assignment ----------------------------------------------------------------------------


def assign_cases(actor: User, complaint_ids, assignee_id) -> int:
    """Give cases of the actor's enterprise to one of its active staff (or to nobody).
    Answers how many cases were assigned."""
    _staff(actor)
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
    try:
        ids = sorted({int(i) for i in complaint_ids or []})
    except (TypeError, ValueError):
        raise Invalid(
            _l("Please correct the marked fields."), {"ids": str(_l("Not a valid choice."))}
        ) from None
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


# -- API tokens ----------------------------------------------------------------------------


def create_integration_token(owner: User, *, name) -> tuple[str, ApiToken]:
    """A long-lived API token for the enterprise's own systems. The raw value is answered
    once; only its hash is kept."""
    _owner(owner)
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > 100:
        raise Invalid(
            _l("Please correct the marked fields."),
            {"name": str(_l("Give the token a name (at most 100 characters)."))},
        )
    raw, token = auth_ops.issue_token(owner, kind=TokenKind.INTEGRATION, name=name, ttl_hours=None)
    _log(owner, "token_created", name)
    return raw, token


def enterprise_tokens(enterprise_id: int) -> list[ApiToken]:
    return db.session.scalars(
        db.select(ApiToken)
        .join(User, User.id == ApiToken.user_id)
        .where(User.enterprise_id == enterprise_id, ApiToken.kind == TokenKind.INTEGRATION)
        .order_by(ApiToken.id.desc())
    ).all()


def revoke_token(owner: User, token_id) -> ApiToken:
    _owner(owner)
    try:
        token = db.session.get(ApiToken, int(token_id))
    except (TypeError, ValueError):
        token = None
    if (
        token is None
        or token.kind != TokenKind.INTEGRATION
        or token.user.enterprise_id != owner.enterprise_id
    ):
        raise NotFound(_l("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        _log(owner, "token_revoked", token.name)
    db.session.flush()
    return token


# -- webhooks ------------------------------------------------------------------------------


def url_error(url: str) -> str | None:
    if not url:
        return str(_l("Enter the address that receives the events."))
    if len(url) > 500:
        return str(_l("At most %(n)s characters.", n=500))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return str(_l("Not a valid web address."))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return str(_l("Enter a web address starting with http:// or https://."))
    if parts.username or parts.password:
        return str(_l("The address may not contain a user name or password."))
    if current_app.config.get("WEBHOOK_REQUIRE_HTTPS") and parts.scheme != "https":
        return str(_l("Enter an address starting with https://."))
    if not current_app.config.get("WEBHOOK_PRIVATE_ADDRESSES") and _private_host(parts.hostname):
        return str(_l("The address must be reachable on the internet, not a private network."))
    return None


def _private_host(host: str) -> bool:
    """A literal address or a local name that points inside the portal's own networks (the
    name of any other host is checked when it is resolved, at each delivery)."""
    from odr.disputes.delivery import forbidden_address

    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return forbidden_address(host)


def register_webhook(owner: User, *, url, secret=None) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint for the enterprise's events. Without a secret, one is made.
    Answers the endpoint and its secret (to show once)."""
    _owner(owner)
    url = (url or "").strip() if isinstance(url, str) else ""
    secret = (secret or "").strip() if isinstance(secret, str) else ""
    errors = {}
    problem = url_error(url)
    if problem:
        errors["url"] = problem
    if secret and not (MIN_SECRET <= len(secret) <= 100):
        errors["secret"] = str(
            _l(
                "Between %(min)s and %(max)s characters, or leave it empty.",
                min=MIN_SECRET,
                max=100,
            )
        )
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    secret = secret or "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(enterprise_id=owner.enterprise_id, url=url, secret=secret)
    db.session.add(endpoint)
    db.session.flush()
    _log(owner, "webhook_added", url)
    return endpoint, secret


def webhook_endpoint(actor: User, endpoint_id) -> WebhookEndpoint:
    try:
        endpoint = db.session.get(WebhookEndpoint, int(endpoint_id))
    except (TypeError, ValueError):
        endpoint = None
    if endpoint is None or endpoint.enterprise_id != actor.enterprise_id:
        raise NotFound(_l("No such endpoint."))
    return endpoint


def deactivate_webhook(owner: User, endpoint_id) -> WebhookEndpoint:
    """Stop sending to an endpoint; what is still queued for it is cancelled by the worker."""
    _owner(owner)
    endpoint = webhook_endpoint(owner, endpoint_id)
    if endpoint.active:
        endpoint.active = False
        _log(owner, "webhook_deactivated", endpoint.url)
    db.session.flush()
    return endpoint
