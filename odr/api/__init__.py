"""JSON API v1: the same operations as the web, for programs (see /work/shared/API.md).

Every view is declared with odr.api.spec.endpoint, which also builds the OpenAPI document
served at /api/v1/openapi.json."""

from flask import Blueprint
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from odr.extensions import db

bp = Blueprint("api", __name__)

from odr.api import (  # noqa: E402, F401
    accounts,
    complaints,
    integration,
    joint,
    mediation,
    notifications,
    records,
)
from odr.api.core import forget_caller  # noqa: E402
from odr.api.spec import openapi, to_json  # noqa: E402

bp.before_request(forget_caller)


@bp.after_request
def no_store(response):
    # Answers carry personal data and, once, tokens and secrets: no cache keeps them.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.errorhandler(IntegrityError)
def concurrent_change(exc):
    """Two requests raced to create the same thing (a second signature, the same e-mail
    address): the loser is told to try again, as for a stale version."""
    db.session.rollback()
    message = _("Someone else changed this case at the same time. Please try again.")
    return to_json({"error": {"code": "conflict", "message": message}}, 409)


@bp.route("/openapi.json")
def openapi_document():
    return to_json(openapi(), 200)
