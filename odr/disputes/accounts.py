"""A consumer registers, or an enterprise applies with its owner's account, on the web or
through the API: whether the address was new or already had an account, the answer is the
same and one e-mail goes out, so only the address's owner learns that it has one (issue 16).

odr.auth.operations.sign_up decides, and answers alike; this tells the person concerned
through the outbox (the accounts layer sits below the domain, which owns the outbox): a
welcome (or an application's receipt) to a new account, and to the owner of a taken
address a note that someone tried.
"""

import secrets

from flask_babel import force_locale
from flask_babel import gettext as _

from odr.auth import operations as auth_ops
from odr.auth.models import User
from odr.disputes.models import Enterprise
from odr.disputes.notifications import queue_plain_email
from odr.disputes.record_data import moment
from odr.urls import public_url

# The page a mail sends people to; built from the public address, as every mailed link is
# (the operation may run outside a web request, and a request's Host can be forged).
SIGN_IN_PATH = "/auth/login"


def register_consumer(**fields) -> auth_ops.Registration:
    """Register a consumer (the fields of auth_ops.register); flushes, never commits."""
    registration = auth_ops.register(**fields)
    if registration.owner is None:
        _welcome(registration.user)
    else:
        _tell_owner(registration.owner, registration)
    return registration


def _welcome(user: User) -> None:
    with force_locale(user.locale or "zh_CN"):
        subject = _("Your account is ready")
        body = _(
            "Dear %(name)s,\n\nyour consumer account on %(portal)s is ready. Sign in with "
            "this e-mail address and your password:\n%(link)s",
            name=user.name,
            portal=_("ODR portal"),
            link=public_url(SIGN_IN_PATH),
        )
    _queue(user.email, subject, body)


def _tell_owner(owner: User, registration: auth_ops.Registration) -> None:
    with force_locale(owner.locale or "zh_CN"):
        subject = _("Someone tried to create an account with your e-mail address")
        body = _(
            "Someone tried to create an account on %(portal)s with this address at "
            "%(time)s.\n\nIf it was you, sign in or reset your password:\n%(link)s\n\n"
            "If not, you can ignore this message: nothing was changed.",
            portal=_("ODR portal"),
            time=moment(registration.at),
            link=public_url(SIGN_IN_PATH),
        )
    _queue(owner.email, subject, body)


def tell_applicant(registration: auth_ops.Registration, enterprise: Enterprise) -> None:
    """After an enterprise's application (odr.disputes.enterprises.apply): its receipt to
    the new owner account, or to the owner of a taken address a note that someone applied
    with it. Either is one outbox row of the same kind."""
    if registration.owner is None:
        _application_received(registration.user, enterprise, registration.at)
    else:
        _tell_owner_of_application(registration.owner, enterprise, registration.at)


def _application_received(user: User, enterprise: Enterprise, at) -> None:
    with force_locale(user.locale or "zh_CN"):
        subject = _("Your enterprise's application was received")
        body = _(
            "Dear %(name)s,\n\nthe application of %(enterprise)s (credit code %(code)s) to "
            "join %(portal)s as an ODR enterprise was received at %(time)s. It waits for the "
            "regulator's review; we will tell you by e-mail when it is decided. You can "
            "already sign in with this e-mail address and your password:\n%(link)s",
            name=user.name,
            enterprise=enterprise.name,
            code=enterprise.credit_code,
            portal=_("ODR portal"),
            time=moment(at),
            link=public_url(SIGN_IN_PATH),
        )
    _queue(user.email, subject, body)


def _tell_owner_of_application(owner: User, enterprise: Enterprise, at) -> None:
    with force_locale(owner.locale or "zh_CN"):
        subject = _("Someone applied for an enterprise with your e-mail address")
        body = _(
            "Someone applied on %(portal)s to register the enterprise %(enterprise)s "
            "(credit code %(code)s) with this address as the owner's at %(time)s.\n\n"
            "If it was you, sign in or reset your password, then contact the regulator to "
            "add the enterprise to your account:\n%(link)s\n\n"
            "If not, you can ignore this message: nothing was recorded.",
            portal=_("ODR portal"),
            enterprise=enterprise.name,
            code=enterprise.credit_code,
            time=moment(at),
            link=public_url(SIGN_IN_PATH),
        )
    _queue(owner.email, subject, body)


def _queue(email: str, subject: str, body: str) -> None:
    # One key for every mail here: the stand-in's id may be the next row's on SQLite
    # (auth_ops.reserved_id), so no key is made of it.
    queue_plain_email(email, subject, body, key=f"account:{secrets.token_hex(12)}")
