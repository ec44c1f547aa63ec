"""JSON API v1: the same operations as the web, for programs (see /work/shared/API.md).

Every view is declared with odr.api.spec.endpoint, which also builds the OpenAPI document
served at /api/v1/openapi.json."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from odr.api import accounts, complaints, integration, mediation, records  # noqa: E402, F401
from odr.api.core import forget_caller  # noqa: E402
from odr.api.spec import openapi, to_json  # noqa: E402

bp.before_request(forget_caller)


@bp.route("/openapi.json")
def openapi_document():
    return to_json(openapi(), 200)
