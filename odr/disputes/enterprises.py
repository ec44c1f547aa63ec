"""The enterprise lifecycle: apply, approve, suspend, reinstate, exit. Each decision is
recorded with its reason and mailed to the owner."""

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from odr.auth import operations as auth_ops
from odr.auth.models import StaffRole, User, UserRole
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
    """An enterprise applies to join; it waits, pending, for a regulator."""
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
    try:
        auth_ops.validate_account(owner_email, owner_password, owner_name)
    except Invalid as exc:
        errors.update({f"owner.{k}": v for k, v in exc.fields.items()})
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
    )
    db.session.add(enterprise)
    db.session.flush()
    auth_ops.create_user(
        role=UserRole.ENTERPRISE,
        email=owner_email,
        password=owner_password,
        name=owner_name,
        enterprise=enterprise,
        staff_role=StaffRole.OWNER,
        locale=locale if locale in ("zh_CN", "en") else "zh_CN",
    )
    db.session.add(
        EnterpriseEvent(enterprise_id=enterprise.id, action="apply", to_status=str(S.PENDING))
    )
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
