"""The enterprise lifecycle: apply, approve, suspend, reinstate, exit. Each decision is
recorded with its reason and mailed to the owner."""

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from odr.auth import operations as auth_ops
from odr.auth.models import StaffRole, User, UserRole
from odr.disputes import accounts as account_ops
from odr.disputes.credit_code import credit_code_error, normalise
from odr.disputes.models import Enterprise, EnterpriseEvent, EnterpriseStatus, Region
from odr.disputes.notifications import queue_plain_email
from odr.disputes.operations import credit_code_message
from odr.disputes.states import Forbidden, Invalid, InvalidTransition
from odr.extensions import db
from odr.types import utcnow

S = EnterpriseStatus
DECISIONS = {
    # action: (allowed from, to)
    "approve": ({S.PENDING}, S.APPROVED),
    "suspend": ({S.APPROVED}, S.SUSPENDED),
    "reinstate": ({S.SUSPENDED}, S.APPROVED),
    "exit": ({S.APPROVED, S.SUSPENDED, S.PENDING}, S.EXITED),
}
DECISION_SUBJECTS = {
    "approve": _l("Your enterprise is approved as an ODR enterprise"),
    "suspend": _l("Your enterprise's ODR status is suspended"),
    "reinstate": _l("Your enterprise's ODR status is reinstated"),
    "exit": _l("Your enterprise has left the ODR programme"),
}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matching(text: str):
    """The condition "`text` names this enterprise" (case-blind), for every search (the
    filing wizard, the API, the scoreboard): part of the Chinese name, part of the English
    name, the pinyin of part of the name, whole or as initials ("dannisi", "dan ni si",
    "hndns"), or the whole credit code."""
    text = (text or "").strip()
    conditions = [
        Enterprise.name.ilike(_like(text), escape="\\"),
        Enterprise.name_en.ilike(_like(text), escape="\\"),
        Enterprise.credit_code == text.upper(),
    ]
    # Pinyin is matched without spaces, apostrophes or tone marks: letters and digits only.
    letters = "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum())
    if len(letters) >= 2 and all(ch.isascii() for ch in text):
        conditions.append(Enterprise.name_pinyin.like(f"%{letters}%"))
    return db.or_(*conditions)


def apply(
    *,
    name,
    credit_code,
    name_en=None,
    region_code,
    address,
    contact_phone,
    owner_email,
    owner_password,
    owner_name,
    commitment=True,
    licence_path=None,
    locale="zh_CN",
) -> Enterprise:
    """An enterprise applies to join; it waits, pending, for a regulator (flushes, never
    commits). Bad fields raise Invalid naming each, as `owner.email` for the owner's.

    An owner address that already has an account is not a bad field: saying so would tell
    anyone which addresses have accounts (issue 16). Such an application is answered like
    a new one, with the same checks and work (one scrypt hash, auth_ops.sign_up decides)
    but records nothing: the enterprise returned is a stand-in never added to the session
    (`enterprise in db.session` tells), its id reserved as an insert would take it
    (auth_ops.reserved_id), and the address's owner is told by e-mail that someone applied
    (odr.disputes.accounts.tell_applicant; a new owner gets the application's receipt).

    Why not record the application pending with no owner until the regulator attaches the
    existing account: an enterprise without an owner is half made (nobody can run it once
    approved, the approval mail goes to no one, and the regulator has no way to attach an
    owner), and granting the existing account the enterprise would let anyone attach an
    enterprise to someone else's account. The owner who did apply signs in and asks the
    regulator. What is left: an application for a taken address keeps no hold on its
    credit code, so its applicant could try the code again with another address (refused
    as registered only if the first was recorded); but that applicant can already tell by
    signing in with the address and password they typed, as after any sign-up without a
    confirmed address. A credit code already registered is still named as such: approved
    enterprises are public by credit code anyway (`matching`)."""
    errors: dict[str, str] = {}
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > 200:
        errors["name"] = str(_l("Enter the registered name (at most 200 characters)."))
    name_en = (name_en or "").strip() if isinstance(name_en, str) or name_en is None else None
    if name_en is None or len(name_en) > 200:
        errors["name_en"] = str(_l("At most %(n)s characters.", n=200))
    code = normalise(credit_code if isinstance(credit_code, str) else "")
    problem = credit_code_error(code)
    if problem:
        errors["credit_code"] = str(credit_code_message(problem))
    elif db.session.scalar(db.select(Enterprise.id).where(Enterprise.credit_code == code)):
        errors["credit_code"] = str(
            _l("An enterprise with this credit code is already registered.")
        )
    if not isinstance(region_code, str) or db.session.get(Region, region_code) is None:
        errors["region_code"] = str(_l("Unknown region."))
    address = (address or "").strip() if isinstance(address, str) else ""
    if not address or len(address) > 300:
        errors["address"] = str(_l("Enter the address (at most 300 characters)."))
    phone = (contact_phone or "").strip() if isinstance(contact_phone, str) else ""
    if not phone or len(phone) > 32:
        errors["contact_phone"] = str(_l("Enter a contact phone number."))
    if not commitment:
        errors["commitment"] = str(_l("The commitment to handle complaints promptly is required."))
    owner, owner_errors = auth_ops.account_fields(owner_email, owner_password, owner_name)
    errors.update({f"owner.{k}": v for k, v in owner_errors.items()})
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    enterprise = Enterprise(
        name=name,
        name_en=name_en or None,
        credit_code=code,
        region_code=region_code,
        address=address,
        contact_phone=phone,
        status=S.PENDING,
        commitment=True,
        licence_path=licence_path,
        # Set here, not at the insert, so that a stand-in is answered with it too.
        created_at=utcnow(),
    )
    # The owner's account brings the enterprise into the session with it, or neither goes.
    registration = auth_ops.sign_up(
        owner,
        owner_password,
        role=UserRole.ENTERPRISE,
        staff_role=StaffRole.OWNER,
        enterprise=enterprise,
        locale=locale if locale in ("zh_CN", "en") else "zh_CN",
    )
    if registration.owner is None:
        db.session.add(
            EnterpriseEvent(enterprise_id=enterprise.id, action="apply", to_status=str(S.PENDING))
        )
    else:
        enterprise.id = auth_ops.reserved_id(Enterprise.__table__)
    account_ops.tell_applicant(registration, enterprise)
    db.session.flush()
    return enterprise


def decide(actor: User, enterprise: Enterprise, action: str, reason: str | None = None):
    """A regulator's decision: approve, suspend, reinstate or exit."""
    if actor is None or actor.role != UserRole.ADMIN:
        raise Forbidden(_l("Only the regulator decides on enterprises."))
    if action not in DECISIONS:
        raise Invalid(_l("Unknown decision."), {"action": str(_l("Unknown decision."))})
    allowed, target = DECISIONS[action]
    if enterprise.status not in allowed:
        raise InvalidTransition(
            _l("Not possible while the enterprise is %(status)s.", status=enterprise.status.label)
        )
    reason = (reason or "").strip()[:2000] if isinstance(reason, str) else ""
    if action in ("suspend", "exit") and not reason:
        raise Invalid(_l("Please give a reason."), {"reason": str(_l("Please give a reason."))})
    previous = enterprise.status
    enterprise.status = target
    if target == S.APPROVED and enterprise.approved_at is None:
        enterprise.approved_at = utcnow()
    event = EnterpriseEvent(
        enterprise_id=enterprise.id,
        actor_id=actor.id,
        action=action,
        from_status=str(previous),
        to_status=str(target),
        reason=reason or None,
    )
    db.session.add(event)
    db.session.flush()
    for owner in db.session.scalars(
        db.select(User).where(
            User.enterprise_id == enterprise.id, User.staff_role == StaffRole.OWNER
        )
    ):
        with force_locale(owner.locale or "zh_CN"):
            subject = str(DECISION_SUBJECTS[action])
            body = (
                subject + "\n\n" + (str(_l("Reason: %(reason)s", reason=reason)) if reason else "")
            )
        queue_plain_email(owner.email, subject, body, key=f"enterprise:{event.id}:{owner.id}")
    return enterprise
