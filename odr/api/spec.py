"""The registry of endpoints and the OpenAPI document generated from it.

Each view is declared once with `@endpoint(...)`: its method and rule (the Flask route), a
summary, the pydantic models of its body, query string and answers, and the error statuses it
can give. The decorator registers the route, checks the bearer token, writes the JSON answer,
and remembers the declaration; `openapi()` turns the declarations into the document served
at /api/v1/openapi.json. In tests each answer is checked against its declared schema.
"""

import json
import re
from dataclasses import dataclass, field
from functools import wraps

from flask import Response, current_app
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from odr.api import idempotency, schemas
from odr.api.core import MAX_ID, authenticate, require_scope
from odr.auth.models import TokenScope

JSON = "application/json"
PDF = "application/pdf"
ICS = "text/calendar"
NO_CONTENT = "no_content"

ERROR_TEXT = {
    400: "Malformed request: the body is not a JSON object.",
    401: "No token, or a token that is not valid, expired or revoked.",
    403: "Your role may never do this, or the token lacks the scope (insufficient_scope).",
    404: "Unknown, or not visible to you.",
    409: "Not possible in the current state (code invalid_transition).",
    413: "The upload is too large.",
    415: "This file type is refused.",
    422: "Invalid fields: a message per field in error.fields.",
    429: "Too many requests.",
}


@dataclass
class Endpoint:
    method: str
    rule: str
    name: str
    summary: str
    description: str | None
    tags: tuple[str, ...]
    auth: bool
    body: type[BaseModel] | None
    body_required: bool
    multipart: dict | None
    query: type[BaseModel] | None
    responses: dict[int, object]
    errors: set[int]
    path_schemas: dict[str, dict] = field(default_factory=dict)
    scope: TokenScope | None = None
    idempotent: bool = False

    @property
    def path(self) -> str:
        return _RULE_ARG.sub(lambda m: "{" + m.group("name") + "}", self.rule)

    @property
    def path_params(self) -> list[tuple[str, dict]]:
        params = []
        for match in _RULE_ARG.finditer(self.rule):
            name = match.group("name")
            if name in self.path_schemas:
                schema = self.path_schemas[name]
            elif (match.group("conv") or "").startswith("int"):
                schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
            else:
                schema = {"type": "string"}
            params.append((name, schema))
        return params


_RULE_ARG = re.compile(r"<(?:(?P<conv>\w+(?:\([^)]*\))?):)?(?P<name>\w+)>")
REGISTRY: list[Endpoint] = []


def to_json(data, status: int) -> Response:
    try:
        text = json.dumps(data, ensure_ascii=False)
        body = text.encode("utf-8")
    except UnicodeEncodeError:
        body = json.dumps(data).encode("ascii")
    return Response(body, status=status, mimetype=JSON)


def endpoint(
    bp,
    method: str,
    rule: str,
    *,
    summary: str,
    tags: tuple[str, ...],
    responses: dict[int, object],
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    multipart: dict | None = None,
    query: type[BaseModel] | None = None,
    errors: tuple[int, ...] = (),
    auth: bool = True,
    description: str | None = None,
    path_schemas: dict[str, dict] | None = None,
    decorators: tuple = (),
    scope: TokenScope | None = None,
    idempotent: bool = False,
):
    """Declare, document and register one API view. The view returns (data, status), a
    Response, or (None, 204).

    `scope`: what an integration token needs to call it; by default reading (GET) needs
    cases:read and anything else cases:act. `idempotent`: a creating POST that honours an
    `Idempotency-Key` header (odr/api/idempotency.py)."""
    if auth and scope is None:
        scope = TokenScope.READ_CASES if method.upper() == "GET" else TokenScope.ACT_ON_CASES

    def decorator(fn):
        statuses = set(errors)
        if auth:
            statuses.update({401, 403})
        if body is not None:
            statuses.update({400, 422})
        if query is not None or multipart is not None:
            statuses.add(422)
        if "<" in rule:
            statuses.add(404)
        if idempotent:
            statuses.update({409, 422})
        declared = Endpoint(
            method=method.upper(),
            rule=rule,
            name=fn.__name__,
            summary=summary,
            description=description or (fn.__doc__ or "").strip() or None,
            tags=tags,
            auth=auth,
            body=body,
            body_required=body_required,
            multipart=multipart,
            query=query,
            responses=responses,
            errors=statuses,
            path_schemas=path_schemas or {},
            scope=scope,
            idempotent=idempotent,
        )

        def respond(kwargs) -> Response:
            result = fn(**kwargs)
            if isinstance(result, Response):
                return result
            data, status = result
            if status == 204:
                return Response(status=204)
            if current_app.testing:
                check_answer(declared, status, data)
            return to_json(data, status)

        @wraps(fn)
        def view(**kwargs):
            if auth:
                authenticate()
                require_scope(scope)
            if idempotent:
                key = idempotency.wanted_key()
                if key is not None:
                    return idempotency.once(key, lambda: respond(kwargs))
            return respond(kwargs)

        registered = view
        for extra in decorators:
            registered = extra(registered)
        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=registered, methods=[method])
        REGISTRY.append(declared)
        return registered

    return decorator


# -- the document ------------------------------------------------------------------------

REF = "#/components/schemas/{model}"


def _models() -> tuple[list[type[BaseModel]], list[type[BaseModel]]]:
    inputs, outputs = [], [schemas.Error, schemas.VerifyNotFound]
    for item in REGISTRY:
        for model in (item.body, item.query):
            if model is not None and model not in inputs:
                inputs.append(model)
        for model in item.responses.values():
            if isinstance(model, type) and issubclass(model, BaseModel) and model not in outputs:
                outputs.append(model)
    return inputs, outputs


def _without_null(schema: dict) -> dict:
    """A query parameter is absent or a string: drop the `null` branch and the null default."""
    schema = dict(schema)
    if schema.get("default", 0) is None:
        schema.pop("default")
    options = schema.get("anyOf")
    if options:
        kept = [option for option in options if option.get("type") != "null"]
        if len(kept) == 1:
            schema.pop("anyOf")
            schema.update(kept[0])
        else:
            schema["anyOf"] = kept
    schema.pop("title", None)
    return schema


def _error_response(status: int, item: Endpoint) -> dict:
    model = "VerifyNotFound" if (status == 404 and item.name == "verify_record") else "Error"
    return {
        "description": ERROR_TEXT.get(status, "Error"),
        "content": {JSON: {"schema": {"$ref": REF.format(model=model)}}},
    }


def build_openapi() -> dict:
    inputs, outputs = _models()
    keyed = [(m, "validation") for m in inputs] + [(m, "serialization") for m in outputs]
    refs, definitions = models_json_schema(keyed, ref_template=REF)
    components = definitions.get("$defs", {})

    paths: dict = {}
    for item in REGISTRY:
        operation: dict = {
            "operationId": item.name,
            "summary": item.summary,
            "tags": list(item.tags),
            "security": [{"bearer": []}] if item.auth else [],
            "parameters": [],
            "responses": {},
        }
        if item.description:
            operation["description"] = item.description
        if item.scope is not None:
            operation["x-scope"] = str(item.scope)
            scope_note = f"Integration tokens need the scope `{item.scope}`."
            operation["description"] = (
                f"{item.description}\n\n{scope_note}" if item.description else scope_note
            )
        for name, schema in item.path_params:
            operation["parameters"].append(
                {"name": name, "in": "path", "required": True, "schema": schema}
            )
        if item.idempotent:
            operation["parameters"].append(
                {
                    "name": idempotency.HEADER,
                    "in": "header",
                    "required": False,
                    "description": (
                        "Sent again with the same body within 24 hours, the first answer is "
                        "given again and nothing is created; with another body: 422 "
                        "idempotency_mismatch."
                    ),
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                }
            )
        if item.query is not None:
            query_schema = components[item.query.__name__]
            required = set(query_schema.get("required", []))
            for name, prop in query_schema["properties"].items():
                param = {
                    "name": name,
                    "in": "query",
                    "required": name in required,
                    "schema": _without_null(prop),
                }
                if prop.get("description"):
                    param["description"] = prop["description"]
                operation["parameters"].append(param)
        if item.body is not None:
            operation["requestBody"] = {
                "required": item.body_required,
                "content": {JSON: {"schema": refs[(item.body, "validation")]}},
            }
        elif item.multipart is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"multipart/form-data": {"schema": item.multipart}},
            }
        for status, model in item.responses.items():
            if model == NO_CONTENT:
                operation["responses"][str(status)] = {"description": "Done."}
            elif model == PDF:
                operation["responses"][str(status)] = {
                    "description": "The PDF bytes.",
                    "content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
                }
            elif model == ICS:
                operation["responses"][str(status)] = {
                    "description": "An iCalendar (RFC 5545) file with one event.",
                    "content": {ICS: {"schema": {"type": "string"}}},
                }
            else:
                operation["responses"][str(status)] = {
                    "description": model.__name__,
                    "content": {JSON: {"schema": refs[(model, "serialization")]}},
                }
        for status in sorted(item.errors):
            operation["responses"][str(status)] = _error_response(status, item)
        if not operation["parameters"]:
            del operation["parameters"]
        paths.setdefault(item.path, {})[item.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ODR portal API",
            "version": "1.0.0",
            "description": (
                "Online dispute resolution: consumers file and follow complaints, "
                "enterprises answer them, mediators mediate. JSON in and out (UTF-8); "
                "timestamps ISO 8601 with offset; money as a decimal string in CNY. "
                'Errors: {"error": {"code", "message", "fields"}}. Lists are paged '
                "with an opaque cursor (next_cursor) and limit (default 50, 1 to 200; "
                "a limit outside that range is refused with 422)."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": (
                        "A token from POST /auth/tokens (all the user may do), or an "
                        "integration token limited to its scopes: cases:read, cases:act, "
                        "webhooks:manage, tokens:manage."
                    ),
                }
            },
        },
    }


def openapi() -> dict:
    cache = current_app.extensions.setdefault("odr_api", {})
    if "openapi" not in cache:
        cache["openapi"] = build_openapi()
    return cache["openapi"]


# -- checking answers against the document (tests) ---------------------------------------


def check_answer(item: Endpoint, status: int, data) -> None:
    """Fail loudly (in tests) when an answer does not match what the document says."""
    from jsonschema import Draft202012Validator

    doc = openapi()
    declared = doc["paths"][item.path][item.method.lower()]["responses"].get(str(status))
    if declared is None:
        raise AssertionError(f"{item.method} {item.path} answered undeclared {status}")
    schema = declared["content"][JSON]["schema"]
    validator = Draft202012Validator(
        {**schema, "components": doc["components"]},
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    if problems:
        raise AssertionError(f"{item.method} {item.path} {status}: " + "; ".join(problems[:5]))
