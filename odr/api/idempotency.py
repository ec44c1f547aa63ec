"""`Idempotency-Key` on the creating POSTs (API.md, Additions): the same key from the same
caller with the same body within 24 hours answers the first answer again and creates
nothing; the same key with another body answers 422 `idempotency_mismatch`.

Declared once per endpoint (`@endpoint(..., idempotent=True)`, odr/api/spec.py), so every
creating endpoint, today's and tomorrow's, behaves alike. The key is claimed by a row in the
request's own transaction, unique per caller and key: of twenty requests racing with one
key, one creates (its claim commits with what it created) and the others wait on the unique
key, then answer what the first answered."""

import hashlib
import json
import time
from datetime import timedelta

from flask import Response, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from odr.api.core import caller
from odr.disputes.models import IdempotentRequest
from odr.disputes.states import DomainError, Invalid
from odr.extensions import db
from odr.types import utcnow

HEADER = "Idempotency-Key"
KEPT = timedelta(hours=24)
WAIT_SECONDS = 10.0  # how long a racing request waits for the first one's answer


class Mismatch(DomainError):
    status = 422
    code = "idempotency_mismatch"


class InProgress(DomainError):
    status = 409
    code = "idempotency_in_progress"


def wanted_key() -> str | None:
    """The request's key, checked: 1 to 255 visible ASCII characters."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 0 < len(key) <= 255 or not all(33 <= ord(ch) < 127 for ch in key):
        raise Invalid(
            _l("Please correct the marked fields."),
            {HEADER: str(_l("1 to 255 visible ASCII characters."))},
        )
    return key


def fingerprint() -> str:
    """The method, the path and the body: JSON compared by its content (not its spacing or
    key order), a multipart upload by its fields and its files' bytes."""
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    if request.mimetype == "multipart/form-data":
        for name, value in sorted(request.form.items(multi=True)):
            digest.update(json.dumps(["field", name, value]).encode())
        for name, upload in sorted(request.files.items(multi=True), key=lambda i: i[0]):
            content = hashlib.sha256()
            while block := upload.stream.read(1024 * 1024):
                content.update(block)
            upload.stream.seek(0)
            digest.update(json.dumps(["file", name, upload.filename, content.hexdigest()]).encode())
        return digest.hexdigest()
    raw = request.get_data(cache=True)
    try:
        digest.update(json.dumps(json.loads(raw), sort_keys=True).encode())
    except (ValueError, RecursionError):
        digest.update(raw)
    return digest.hexdigest()


def _stored(user_id: int, key: str) -> IdempotentRequest | None:
    return db.session.scalar(
        db.select(IdempotentRequest)
        .where(IdempotentRequest.user_id == user_id, IdempotentRequest.key == key)
        .execution_options(populate_existing=True)
    )


def _replay(found: IdempotentRequest, print_: str) -> Response | None:
    if found.fingerprint != print_:
        raise Mismatch(
            _l("This Idempotency-Key was used with another request within the last 24 hours.")
        )
    if found.status is None:
        return None
    response = Response(found.answer or "", status=found.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def once(key: str, call) -> Response:
    """Run `call` (the view, answering a Response) at most once for this caller and key."""
    user_id = caller().id
    print_ = fingerprint()
    now = utcnow()
    db.session.execute(
        db.delete(IdempotentRequest).where(
            IdempotentRequest.user_id == user_id,
            IdempotentRequest.key == key,
            IdempotentRequest.created_at < now - KEPT,
        )
    )
    found = _stored(user_id, key)
    if found is None:
        claim = IdempotentRequest(user_id=user_id, key=key, fingerprint=print_, created_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(claim)
        except IntegrityError:  # another request claimed it first and has committed
            found = None
        else:
            response = call()
            if 200 <= response.status_code < 300:
                db.session.execute(
                    db.update(IdempotentRequest)
                    .where(IdempotentRequest.id == claim.id)
                    .values(status=response.status_code, answer=response.get_data(as_text=True))
                )
                db.session.commit()
            else:
                db.session.rollback()
            return response
    return _answer_of_the_first(user_id, key, print_, found)


def _answer_of_the_first(user_id, key, print_, found) -> Response:
    """The first request's answer, waiting a little while it is still being made."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        if found is not None:
            replayed = _replay(found, print_)
            if replayed is not None:
                db.session.rollback()
                return replayed
        if time.monotonic() >= deadline:
            break
        db.session.rollback()  # let go of the write lock; read the latest commit
        time.sleep(0.05)
        found = _stored(user_id, key)
    raise InProgress(
        _l("A request with this Idempotency-Key is still being processed. Try again later.")
    )
