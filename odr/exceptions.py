"""The errors an operation raises when a rule says no, shared by accounts (odr.auth) and
the domain (odr.disputes): the web turns them into a flash, the API into 4xx JSON."""


class DomainError(Exception):
    """A rule of the domain said no. `status` is the HTTP status the API answers with."""

    status = 400
    code = "bad_request"

    def __init__(self, message, fields: dict | None = None):
        super().__init__(str(message))
        self.message = message
        self.fields = fields or {}


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class InvalidTransition(DomainError):
    status = 409
    code = "invalid_transition"


class Invalid(DomainError):
    status = 422
    code = "invalid"
