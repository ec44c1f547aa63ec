"""Schemathesis over the whole OpenAPI document: every operation, as every role its tags
name (with that user's bearer token), over the access-matrix world (a case in every state
a move starts from, an open offer, a record, tokens, a webhook).

For each operation and role: valid requests with the ids of the world (so actions really
happen), invalid requests (negative mode) with the same ids, and valid requests with
generated ids. Every answer must be no 500 and match the document: status code, content
type, body schema and headers. Each request runs in a SAVEPOINT rolled back afterwards, so
every request meets the world as built (a withdrawal does not close the case for the next
one). Derandomized: the same requests every run.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from odr.auth import operations as auth_ops
from odr.auth.models import TokenKind
from odr.disputes.deadlines import invalidate_overrides
from odr.extensions import db
from tests import access_world
from tests.access_runner import fast_passwords, undone, world_transaction  # noqa: F401

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

# The user whose token goes with an operation of each tag (None: no token).
USER_OF_TAG = {
    "public": "anonymous",
    "auth": "anonymous",
    "consumer": "party_consumer",
    "enterprise": "respondent_owner",
    "integration": "respondent_owner",
    "mediator": "competent_head",
    "admin": "admin",
    "intake": "intake_seat",
}

# The case an operation acts on (by the end of its path); the case in mediation otherwise.
CASE_OF_ACTION = {
    "offers": "negotiating",
    "accept": None,  # offers/{id}/accept: negotiating; complaints/{id}/accept: pending
    "reject": "negotiating",
    "decline": "negotiating",
    "escalate": "negotiating",
    "withdraw": "negotiating",
    "refuse": "pending",
    "transfer": "pending",
    "assign": "pending",
    "performance": "settled",
    "rating": "settled",
    "resume": "suspended",
}

# Examples per operation and user: valid with the world's ids, invalid, valid with
# generated ids. Operations without parameters or body have few distinct requests.
EXAMPLES = {"world": 9, "negative": 9, "generated": 4}


def _case(w, path: str) -> int:
    action = path.rstrip("/").split("/")[-1]
    name = CASE_OF_ACTION.get(action, "mediating")
    if action == "accept":
        name = "negotiating" if "/offers/" in path else "pending"
    return w.case_ids[name]


def _path_parameters(w, operation) -> dict:
    path = operation.path
    values = {}
    if "{complaint_id}" in path:
        intake = path.endswith("/intake-transfer")
        values["complaint_id"] = w.ids["intake_case_id"] if intake else _case(w, path)
    if "{consultation_id}" in path:
        values["consultation_id"] = w.ids["consultation_id"]
    if "{offer_id}" in path:
        values["offer_id"] = w.ids["open_offer_id"]
    if "{code}" in path:
        values["code"] = w.ids["code"]
    if "{token_id}" in path:
        values["token_id"] = w.ids["token_id"]
    if "{webhook_id}" in path:
        values["webhook_id"] = w.ids["webhook_id"]
    if "{enterprise_id}" in path:
        approve = path.endswith("/approve")
        values["enterprise_id"] = w.ids["enterprise_id" if approve else "respondent_id"]
    return values


def _runner(conn, strategy, headers, count, calls):
    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(generated=strategy)
    def run(generated):
        calls["count"] += 1
        with undone(conn):
            try:
                response = generated.call_and_validate(headers=headers, checks=CHECKS)
            finally:
                invalidate_overrides()
        status = f"{response.status_code // 100}xx"
        calls[status] = calls.get(status, 0) + 1

    return run


@pytest.mark.slow
@pytest.mark.usefixtures("fast_passwords")
def test_schemathesis_over_the_whole_document_finds_no_500_and_no_schema_violation(app):
    failures: list[str] = []
    calls = {"count": 0}
    covered = set()
    with world_transaction(app) as conn:
        with app.app_context():
            w = access_world.build()
            for user in w.users.values():
                if user is not None:
                    user.set_password(access_world.factories.PASSWORD)  # fast_passwords
            tokens = {}
            for role, user in w.users.items():
                if user is not None:
                    tokens[role], _ = auth_ops.issue_token(
                        user, kind=TokenKind.SESSION, ttl_hours=None
                    )
            db.session.commit()
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        for operation in operations:
            roles = sorted({USER_OF_TAG[tag] for tag in operation.definition.raw["tags"]})
            for role in roles:
                headers = {"Authorization": f"Bearer {tokens[role]}"} if role in tokens else {}
                fixed = _path_parameters(w, operation) or None
                for kind, count in EXAMPLES.items():
                    if kind == "generated" and fixed is None:
                        continue
                    mode = (
                        schemathesis.GenerationMode.NEGATIVE
                        if kind == "negative"
                        else schemathesis.GenerationMode.POSITIVE
                    )
                    path_parameters = fixed if kind != "generated" else None
                    strategy = operation.as_strategy(mode, path_parameters=path_parameters)

                    run = _runner(conn, strategy, headers, count, calls)
                    label = f"{operation.method.upper()} {operation.path} as {role} ({kind})"
                    try:
                        run()
                    except Unsatisfiable:
                        # Nothing to make invalid: no parameters, no body.
                        assert kind == "negative", label
                        assert not operation.definition.raw.get("parameters"), label
                        assert "requestBody" not in operation.definition.raw, label
                    except Exception as exc:  # collected, reported below
                        failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:1500]}")
                    covered.add((operation.method.upper(), operation.path, role))
    print(
        f"schemathesis: {len(operations)} operations, {len(covered)} operation x user pairs,"
        f" {calls['count']} requests; answers: 2xx {calls.get('2xx', 0)},"
        f" 4xx {calls.get('4xx', 0)}"
    )
    assert not failures, f"{len(failures)} failing:\n\n" + "\n\n".join(failures)
    assert len(operations) >= 40
    assert calls["count"] >= 1000
    assert calls.get("2xx", 0) >= 300  # the actions really happen, not only refusals
