"""Accounts and enterprises: log in for a token, register a consumer, find and apply as an
enterprise, and the regulator's decisions on enterprises."""

from flask import current_app
from flask_babel import lazy_gettext as _l

from odr.api import bp, schemas
from odr.api.core import Unauthorized, decode_cursor, page, payload, query, require_role
from odr.api.render import enterprise_dict, enterprise_public, user_dict
from odr.api.spec import endpoint
from odr.auth import operations as auth_ops
from odr.auth.models import UserRole
from odr.disputes import accounts as account_ops
from odr.disputes import enterprises as enterprise_ops
from odr.disputes.models import Enterprise
from odr.disputes.permissions import incapacity, nameable
from odr.disputes.states import NotFound
from odr.extensions import db, limiter


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _signup_limit() -> str:
    return current_app.config["SIGNUP_RATE_LIMIT"]


@endpoint(
    bp,
    "POST",
    "/auth/tokens",
    summary="Log in: exchange an e-mail address and password for a bearer token",
    tags=("auth",),
    auth=False,
    body=schemas.TokenRequest,
    responses={201: schemas.TokenOut},
    errors=(401, 429),
    decorators=(limiter.limit(_login_limit, methods=["POST"]),),
)
def create_token():
    """The token lives API_TOKEN_TTL_HOURS (24 h by default). Login is rate limited."""
    data = payload(schemas.TokenRequest)
    user = auth_ops.authenticate(data.email, data.password)
    if user is None:
        raise Unauthorized(_l("The e-mail address or the password is not correct."))
    reason = incapacity(user)
    if reason is not None:
        raise Unauthorized(reason)
    raw, token = auth_ops.issue_token(user, ttl_hours=current_app.config["API_TOKEN_TTL_HOURS"])
    db.session.commit()
    return {
        "id": token.id,
        "token": raw,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "role": str(user.role),
    }, 201


@endpoint(
    bp,
    "POST",
    "/consumers",
    summary="Register a consumer account",
    tags=("consumer",),
    auth=False,
    body=schemas.ConsumerIn,
    responses={201: schemas.UserOut},
    errors=(429,),
    decorators=(limiter.limit(_signup_limit, methods=["POST"]),),
)
def register_consumer():
    """An address that already has an account is answered like a new one (201, an id like
    a new account's) and its owner is told by e-mail; that account is left as it was. The
    new account's holder gets a welcome e-mail and signs in with `POST /auth/tokens`."""
    data = payload(schemas.ConsumerIn)
    registration = account_ops.register_consumer(
        email=data.email,
        password=data.password,
        name=data.name,
        phone=data.phone,
        region_code=data.region_code,
        address=data.address,
        locale=data.locale,
        sms_notices=data.sms_notices,
    )
    answer = user_dict(registration.user)  # before the commit, which would reload a new one
    db.session.commit()
    return answer, 201


@endpoint(
    bp,
    "GET",
    "/enterprises",
    summary="Search approved ODR enterprises by part of the Chinese or English name, the "
    "name's pinyin (whole or initials) or the full credit code",
    tags=("public", "consumer"),
    auth=False,
    query=schemas.EnterpriseQuery,
    responses={200: schemas.EnterprisePage},
)
def search_enterprises():
    args = query(schemas.EnterpriseQuery)
    # The enterprises that can be named: the approved ones (API.md).
    statement = db.select(Enterprise).where(nameable())
    text = (args.q or "").strip()
    if text:
        statement = statement.where(enterprise_ops.matching(text))
    after = decode_cursor(args.cursor)
    if after is not None:
        statement = statement.where(Enterprise.id < after)
    rows = db.session.scalars(statement.order_by(Enterprise.id.desc()).limit(args.limit + 1)).all()
    rows, cursor = page(rows, args.limit)
    return {"items": [enterprise_public(e) for e in rows], "next_cursor": cursor}, 200


@endpoint(
    bp,
    "POST",
    "/enterprises",
    summary="Apply to join as an ODR enterprise (waits, pending, for the regulator)",
    tags=("public", "enterprise"),
    auth=False,
    body=schemas.EnterpriseIn,
    responses={201: schemas.EnterpriseOut},
    errors=(429,),
    decorators=(limiter.limit(_signup_limit, methods=["POST"]),),
)
def apply_enterprise():
    """The unified social credit code's check character is validated (GB 32100-2015).
    Errors name the field, e.g. `credit_code` or `owner.email`. An owner address that
    already has an account is answered like a new one (201, an id like a new
    application's) but nothing is recorded and that account is left as it was; its owner
    is told by e-mail. A new owner gets the application's receipt by e-mail."""
    data = payload(schemas.EnterpriseIn)
    enterprise = enterprise_ops.apply(
        name=data.name,
        name_en=data.name_en,
        credit_code=data.credit_code,
        region_code=data.region_code,
        address=data.address,
        contact_phone=data.contact_phone,
        owner_email=data.owner.email,
        owner_password=data.owner.password,
        owner_name=data.owner.name,
        commitment=data.commitment,
        locale=data.locale,
    )
    answer = enterprise_dict(enterprise)  # before the commit, which would reload a new one
    db.session.commit()
    return answer, 201


def _decide(enterprise_id: int, action: str):
    actor = require_role(UserRole.ADMIN)
    data = payload(schemas.DecisionIn)
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound(_l("No such enterprise."))
    enterprise_ops.decide(actor, enterprise, action, data.reason)
    db.session.commit()
    return enterprise_dict(enterprise), 200


for _action, _summary in (
    ("approve", "Approve an application (regulator)"),
    ("suspend", "Suspend an enterprise; a reason is required (regulator)"),
    ("reinstate", "Reinstate a suspended enterprise (regulator)"),
    ("exit", "Remove an enterprise from the programme; a reason is required (regulator)"),
):

    def _view(enterprise_id: int, _action=_action):
        return _decide(enterprise_id, _action)

    _view.__name__ = f"{_action}_enterprise"
    endpoint(
        bp,
        "POST",
        f"/enterprises/<int(max=2147483647):enterprise_id>/{_action}",
        summary=_summary,
        tags=("admin",),
        body=schemas.DecisionIn,
        body_required=False,
        responses={200: schemas.EnterpriseOut},
        errors=(403, 409),
    )(_view)
