"""A consumer registers, on the web or through the API: whether the address was new or
already had an account, the answer is the same and one e-mail goes out, so only the
address's owner learns that it has one (issue 16).

odr.auth.operations.register decides, and answers alike; this tells the person concerned
through the outbox (the accounts layer sits below the domain, which owns the outbox): a
welcome to a new account, and to the owner of a taken address a note that someone tried.
"""

import secrets

from flask_babel import force_locale
from flask_babel import gettext as _

from odr.auth import operations as auth_ops
from odr.auth.models import User
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


def _queue(email: str, subject: str, body: str) -> None:
    # One key for either mail: the stand-in's id may be the next account's on SQLite
    # (auth_ops._reserved_user_id), so no key is made of it.
    queue_plain_email(email, subject, body, key=f"account:{secrets.token_hex(12)}")
