"""The link a caller the hotline filed for follows to take the case over online: a signed,
expiring token naming the case and the caller's account (no row to look up, nothing to
guess). It stops working once the case is claimed, because the account it names is then
no longer waiting for a claim (odr.disputes.intake.read_claim)."""

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from odr.urls import public_url

CLAIM_DAYS = 60
_SALT = "odr-case-claim"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def claim_token(complaint_id: int, caller_id: int) -> str:
    return _serializer().dumps([complaint_id, caller_id])


def read_token(token: str) -> tuple[int, int] | None:
    """(case id, caller's account id), or None for a forged, damaged or expired token."""
    if not isinstance(token, str) or len(token) > 300:
        return None
    try:
        value = _serializer().loads(token, max_age=CLAIM_DAYS * 86400)
    except (BadSignature, SignatureExpired):
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return None
    return value[0], value[1]


def claim_url(complaint_id: int, caller_id: int) -> str:
    return public_url(f"/auth/claim/{claim_token(complaint_id, caller_id)}")
