"""The OpenAPI document: generated from the code, valid, complete, and true to what the
server does (schemathesis over the enterprise endpoints). Also the login rate limit."""

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from odr.api.spec import REGISTRY
from tests.factories import file_case

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_the_document_validates_and_describes_every_route(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.content_type == "application/json"
    doc = response.get_json()
    validate(doc)
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearer"]["description"],
    }
    documented = {
        (method.upper(), "/api/v1" + path)
        for path, operations in doc["paths"].items()
        for method in operations
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi_document":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        served |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == documented
    assert len(REGISTRY) == len(documented)


def test_the_document_matches_the_contract(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    offers = paths["/complaints/{complaint_id}/offers"]["post"]
    assert offers["security"] == [{"bearer": []}]
    assert set(offers["responses"]) == {"201", "400", "401", "403", "404", "409", "422"}
    assert offers["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OfferIn"
    }
    assert paths["/verify/{code}"]["get"]["security"] == []
    assert paths["/auth/tokens"]["post"]["responses"]["429"]
    evidence = paths["/complaints/{complaint_id}/evidence"]["post"]
    assert {"413", "415"} <= set(evidence["responses"])
    assert "multipart/form-data" in evidence["requestBody"]["content"]
    pdf = paths["/records/{code}.pdf"]["get"]["responses"]["200"]["content"]
    assert list(pdf) == ["application/pdf"]
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    detail = doc["components"]["schemas"]["ErrorDetail"]
    assert set(detail["properties"]) == {"code", "message", "fields"}
    case = doc["components"]["schemas"]["CaseDetail"]
    assert {"id", "reference", "state", "deadline_at", "events"} <= set(case["required"])
    limit = next(
        p for p in paths["/complaints"]["get"]["parameters"] if p["name"] == "limit"
    )  # default 50, at most 200
    assert limit["schema"]["maximum"] == 200 and limit["schema"]["default"] == 50


@pytest.mark.slow
def test_schemathesis_finds_no_500_and_no_schema_violation_for_enterprises(app, world, api, db):
    """Generated requests (valid and invalid) against every operation an enterprise uses,
    with the owner's token, over a real case of theirs."""
    case = file_case(world.consumer, world.enterprise)
    other = file_case(world.other_consumer, world.enterprise)
    headers = api.headers(world.owner)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(tag="enterprise")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    calls = 0

    for operation in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            path_parameters = (
                {"complaint_id": case.id} if "{complaint_id}" in operation.path else None
            )

            @settings(
                max_examples=6,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(generated=operation.as_strategy(mode, path_parameters=path_parameters))
            def run(generated):
                nonlocal calls
                calls += 1
                generated.call_and_validate(headers=headers, checks=CHECKS)

            run()
    assert calls > 100
    # The cases are still in one valid state each, with their timelines intact.
    for complaint in (case, other):
        db.session.refresh(complaint)
        shown = api.get(world.owner, f"/complaints/{complaint.id}").get_json()
        assert shown["events"][0]["action"] == "file"


def test_login_is_rate_limited(app, world, monkeypatch):
    """Limits are off in the test configuration; an app with them on answers 429 JSON."""
    from odr import create_app
    from odr.config import TestConfig
    from odr.extensions import db as _db
    from odr.extensions import limiter

    # The limiter object is shared by every app: put it back as it was afterwards.
    monkeypatch.setattr(limiter, "enabled", limiter.enabled)
    monkeypatch.setattr(limiter, "initialized", limiter.initialized)
    limited = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        INSTANCE_DIR=app.config["INSTANCE_DIR"],
        UPLOAD_DIR=app.config["UPLOAD_DIR"],
        RECORD_DIR=app.config["RECORD_DIR"],
        MAIL_DIR=app.config["MAIL_DIR"],
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        LOGIN_RATE_LIMIT="2 per minute",
    )
    try:
        client = limited.test_client()
        body = {"email": "consumer@test.example", "password": "wrong-password"}
        answers = [client.post("/api/v1/auth/tokens", json=body) for _ in range(3)]
        assert [a.status_code for a in answers] == [401, 401, 429]
        assert answers[2].get_json()["error"]["code"] == "too_many_requests"
        # Other endpoints are not limited by the login limit.
        assert client.get("/api/v1/enterprises").status_code == 200
    finally:
        limiter.reset()
        with limited.app_context():
            _db.session.remove()
            _db.engine.dispose()
