"""Errors: JSON for the API, a page for people. Never a 500 for bad input."""

from flask import Flask, current_app, flash, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import RoutingException

from odr.exceptions import DomainError
from odr.extensions import db
from odr.urls import same_site_path

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
}


def is_api() -> bool:
    return request.path.startswith("/api/")


def api_error(status: int, message: str, code: str | None = None, fields: dict | None = None):
    body = {"error": {"code": code or CODES.get(status, "error"), "message": str(message)}}
    if fields:
        body["error"]["fields"] = {k: str(v) for k, v in fields.items()}
    return jsonify(body), status


def _no_such_address(exc) -> bool:
    """A 405 whose address names nothing under any method: Werkzeug counts a rule's methods
    before its converters have checked the values, so POST /complaints/2147483648/messages
    looked like a GET-only address; with an id out of range it is none at all (404)."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in getattr(exc, "valid_methods", None) or ():
        try:
            adapter.match(method=method)
        except NotFound:
            continue
        except (HTTPException, RoutingException):
            return False
        return False
    return True


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        if is_api():
            return api_error(exc.status, exc.message, exc.code, exc.fields)
        if exc.status == 404:
            return render_template("errors/error.html", status=404, message=_("Not found.")), 404
        flash(str(exc.message), "danger")
        return redirect(same_site_path(request.referrer) or "/")

    @app.errorhandler(StaleDataError)
    def stale(exc):
        db.session.rollback()
        message = _("Someone else changed this case at the same time. Please try again.")
        if is_api():
            return api_error(409, message, "conflict")
        flash(message, "warning")
        return redirect(same_site_path(request.referrer) or "/")

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        message = _("The form expired or was not sent from this site. Please try again.")
        if is_api():
            return api_error(400, message, "csrf")
        return render_template("errors/error.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if status == 405 and _no_such_address(exc):
            status = 404
        messages = {
            400: _("The request was not understood."),
            401: _("Please sign in."),
            403: _("You are not allowed to do this."),
            404: _("Not found."),
            405: _("This method is not allowed here."),
            413: _("The upload is too large."),
            415: _("This type of file is not accepted."),
            429: _("Too many requests. Please wait a moment and try again."),
        }
        message = messages.get(status, exc.description or exc.name)
        if is_api():
            return api_error(status, message)
        return render_template("errors/error.html", status=status, message=message), status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unexpected error")
        db.session.rollback()
        message = _("Something went wrong on our side. Nothing was saved.")
        if is_api():
            return api_error(500, message, "internal_error")
        return render_template("errors/error.html", status=500, message=message), 500
