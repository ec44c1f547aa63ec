"""What every endpoint shares: the bearer token, reading and validating the JSON body and the
query string, loading a case the caller may see, paging, and writing JSON."""

import base64
import binascii
import json

from flask import g, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext, pgettext, refresh
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import joinedload

from odr.auth.models import ApiToken, TokenScope, User, UserRole
from odr.auth.operations import token_for
from odr.disputes import operations as ops
from odr.disputes.models import Complaint
from odr.disputes.permissions import may_act, role_in_case
from odr.disputes.states import TRANSITIONS, DomainError, Forbidden, Invalid, Move, NotFound, Role
from odr.extensions import db

MAX_ID = 2_147_483_647


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


# -- who is calling ----------------------------------------------------------------------


class InsufficientScope(DomainError):
    status = 403
    code = "insufficient_scope"


def forget_caller() -> None:
    """Run before every API request: nobody is signed in until the token says so."""
    g.pop("api_user", None)
    g.pop("api_token", None)
    refresh()


def authenticate() -> User:
    """The user of the bearer token; cookies are never looked at."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, raw = header.partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw or len(raw) > 500:
        raise Unauthorized(_l("A valid bearer token is required."))
    token = token_for(raw)
    user = token.user if token is not None else None
    # The one capability check (permissions.may_act): a token of a disabled account, or of
    # an enterprise suspended, exited or not yet approved, opens nothing.
    if user is None or not may_act(user):
        raise Unauthorized(_l("The token is not valid, has expired or was revoked."))
    g.api_user = user
    g.api_token = token
    refresh()  # messages in the token user's language
    return user


def caller() -> User:
    return g.api_user


def caller_token() -> ApiToken | None:
    return g.get("api_token")


def require_scope(scope: TokenScope) -> None:
    """403 when the bearer token does not carry the scope the endpoint needs (a sign-in
    token carries every scope; an integration token those it was given)."""
    token = caller_token()
    if token is not None and not token.allows(scope):
        raise InsufficientScope(
            _l("This token may not do this (it needs the scope %(scope)s).", scope=str(scope))
        )


def require_role(*roles: UserRole) -> User:
    user = caller()
    if user.role not in roles:
        raise Forbidden(_l("Your account may not do this."))
    return user


# -- input -------------------------------------------------------------------------------


def _messages(error: dict) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind in ("string_type", "string_sub_type"):
        return pgettext("api", "Must be text.")
    if kind == "string_too_long":
        return _("At most %(n)s characters.", n=ctx.get("max_length"))
    if kind == "string_too_short":
        return _("This field is required.")
    if kind == "text_chars":
        return _("Contains characters that are not allowed.")
    if kind in ("enum", "literal_error"):
        return _("Not a valid choice.")
    if kind == "money":
        return _("Not a valid amount.")
    if kind == "share":
        return _("Between 0 and 100.")
    if kind == "date_text":
        return pgettext("api", "Not a valid date.")
    if kind.startswith("int_") or kind in ("greater_than_equal", "less_than_equal"):
        if kind == "greater_than_equal":
            return _("Must be at least %(n)s.", n=ctx.get("ge"))
        if kind == "less_than_equal":
            return _("Must be at most %(n)s.", n=ctx.get("le"))
        return _("Must be a whole number.")
    if kind.startswith("bool"):
        return _("Must be true or false.")
    if kind == "list_type":
        return _("Must be a list.")
    if kind == "too_short":
        return _("Choose at least one.")
    if kind == "too_long":
        return _("Too many items.")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return _("Must be an object.")
    return _("Not a valid value.")


def validation_fields(exc: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        # "owner.email" for nested objects; a list's items report on the list.
        name = ".".join(str(part) for part in error["loc"] if not isinstance(part, int))
        fields.setdefault(name or "body", str(_messages(error)))
    return fields


def validate(model: type[BaseModel], data: dict) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(_l("Please correct the marked fields."), validation_fields(exc)) from None


def json_object() -> dict:
    """The body as a JSON object; an empty body is an empty object."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest(_l("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise BadRequest(_l("The body must be a JSON object."))
    return data


def payload(model: type[BaseModel]):
    """The JSON body, validated by `model` (422 with a message per field)."""
    return validate(model, json_object())


def query(model: type[BaseModel]):
    return validate(model, request.args.to_dict())


# -- cases -------------------------------------------------------------------------------


# Every case view shows the enterprise's and the body's names: loaded with the case.
CASE_OPTIONS = (joinedload(Complaint.enterprise), joinedload(Complaint.body))


# A move loads the case once, locked (FOR UPDATE on PostgreSQL) and fresh, with the
# consumer its notices go to: the operation then neither selects it again nor loads the
# consumer lazily.
_FOR_MOVE = (
    db.select(Complaint)
    .where(Complaint.id == db.bindparam("cid"))
    .options(*CASE_OPTIONS, joinedload(Complaint.consumer))
    .with_for_update(of=Complaint)
    .execution_options(populate_existing=True)
)


def load_case(complaint_id: int, *, lock: bool = False) -> Complaint:
    """The case, if the caller may see it; otherwise it does not exist (404, never 403).
    `lock` for a view that moves the case: its row is held until the transaction ends."""
    complaint = None
    if 0 < complaint_id <= MAX_ID:
        if lock:
            complaint = db.session.scalars(_FOR_MOVE, {"cid": complaint_id}).first()
            if complaint is not None:
                ops.hold(complaint.id)
        else:
            complaint = db.session.get(Complaint, complaint_id, options=CASE_OPTIONS)
    if complaint is None or role_in_case(caller(), complaint) is None:
        raise NotFound(_l("No such case."))
    return complaint


def require_part(complaint: Complaint, move: Move) -> Role:
    """403 when the caller's part in the case may never make this move (the state is the
    operation's business: 409)."""
    role = role_in_case(caller(), complaint)
    if role not in TRANSITIONS[move][1]:
        raise Forbidden(lazy_pgettext("api", "You may not do this on this case."))
    return role


# -- paging ------------------------------------------------------------------------------


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        prefix, _sep, number = text.partition(":")
        if prefix != "id" or not number.isdigit() or len(number) > 10:
            raise ValueError
        value = int(number)
        if not 0 < value <= MAX_ID:
            raise ValueError
        return value
    except (ValueError, binascii.Error, UnicodeError):
        raise Invalid(
            _l("Please correct the marked fields."), {"cursor": str(_l("Not a valid cursor."))}
        ) from None


def page(rows: list, limit: int, key=lambda row: row.id) -> tuple[list, str | None]:
    """Rows were fetched with limit + 1: the extra one says there is a next page."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(key(rows[-1]))
    return rows, None
