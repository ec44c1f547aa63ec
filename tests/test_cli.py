"""The operations commands: create-user, seed-demo (and its logins), worker."""

from urllib.parse import urlparse

import pytest
from flask import url_for

from odr import create_app
from odr.auth.models import User
from odr.auth.views import HOME_BY_ROLE
from odr.config import TestConfig
from odr.disputes.events import verify_chain
from odr.disputes.models import BodyMembership, Complaint, Outbox, Record
from odr.disputes.states import State
from odr.extensions import db as _db


def invoke(app, *args, **kw):
    return app.test_cli_runner().invoke(args=list(args), **kw)


# -- create-user -------------------------------------------------------------------------------


def test_create_admin(app, world, client, db):
    result = invoke(
        app,
        "odr",
        "create-user",
        "--role",
        "admin",
        "--email",
        "Chief@Regulator.example",
        "--name",
        "局长",
        "--password",
        "Admin-pass-2026",
    )
    assert result.exit_code == 0, result.output
    assert "created admin chief@regulator.example" in result.output
    user = db.session.scalar(db.select(User).where(User.email == "chief@regulator.example"))
    assert user.role == "admin"
    assert user.password_hash.startswith("scrypt:")
    response = client.post(
        "/auth/login", data={"email": "chief@regulator.example", "password": "Admin-pass-2026"}
    )
    assert response.status_code == 302
    assert urlparse(response.headers["Location"]).path == "/admin/"


def test_create_mediator_of_a_body_as_its_head(app, world, db):
    result = invoke(
        app,
        "odr",
        "create-user",
        "--role",
        "mediator",
        "--email",
        "new.mediator@test.example",
        "--name",
        "新调解员",
        "--password",
        "Mediator-pass-1",
        "--body",
        str(world.erqi.id),
        "--head",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.email == "new.mediator@test.example"))
    assert user.role == "mediator"
    [membership] = db.session.scalars(
        db.select(BodyMembership).where(BodyMembership.user_id == user.id)
    ).all()
    assert membership.body_id == world.erqi.id and membership.is_head


def test_create_user_prompts_for_the_password(app, world, db):
    result = invoke(
        app,
        "odr",
        "create-user",
        "--role",
        "mediator",
        "--email",
        "prompted@test.example",
        "--name",
        "提示",
        "--body",
        str(world.jinshui.id),
        input="Prompted-pass-1\nPrompted-pass-1\n",
    )
    assert result.exit_code == 0, result.output
    assert "Password" in result.output
    assert "Prompted-pass-1" not in result.output  # hidden input
    user = db.session.scalar(db.select(User).where(User.email == "prompted@test.example"))
    assert user.check_password("Prompted-pass-1")
    assert user.body_ids == {world.jinshui.id}


def test_create_user_prompt_insists_on_the_same_password_twice(app, world, db):
    result = invoke(
        app,
        "odr",
        "create-user",
        "--role",
        "admin",
        "--email",
        "twice@test.example",
        "--name",
        "X",
        input="First-pass-1\nOther-pass-1\nFirst-pass-1\nFirst-pass-1\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.email == "twice@test.example"))
    assert user.check_password("First-pass-1")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--role", "mediator"], 2, "--body"),
        (["--role", "mediator", "--body", "99999"], 2, "no mediation body 99999"),
        (["--role", "consumer"], 2, "'consumer' is not one of"),
        (["--role", "admin", "--password", "short"], 1, "password"),
    ],
)
def test_create_user_refuses(app, world, db, args, code, message):
    base = ["odr", "create-user", "--email", "x@test.example", "--name", "X"]
    if "--password" not in args:
        base += ["--password", "Long-enough-1"]
    result = invoke(app, *base, *args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert db.session.scalar(db.select(User).where(User.email == "x@test.example")) is None


def test_create_user_refuses_a_taken_address(app, world, db):
    result = invoke(
        app,
        "odr",
        "create-user",
        "--role",
        "admin",
        "--email",
        world.admin.email,
        "--name",
        "Again",
        "--password",
        "Long-enough-1",
    )
    assert result.exit_code == 1
    assert "email:" in result.output


# -- seed-demo in a fresh app ---------------------------------------------------------------


@pytest.fixture
def fresh_app(fresh_db_url, tmp_path):
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=fresh_db_url,
        INSTANCE_DIR=str(tmp_path / "instance"),
        UPLOAD_DIR=str(tmp_path / "uploads"),
        RECORD_DIR=str(tmp_path / "records"),
        MAIL_DIR=str(tmp_path / "mail"),
    )
    with app.app_context():
        _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.mark.slow
def test_seed_demo_prints_logins_that_work(fresh_app):
    result = invoke(fresh_app, "odr", "seed-demo")
    assert result.exit_code == 0, result.output
    logins = [line.split(" ") for line in result.output.strip().splitlines()]
    assert logins and all(len(parts) == 3 for parts in logins)
    assert {role for role, _, _ in logins} == {
        "consumer",
        "enterprise",
        "mediator",
        "admin",
        "intake",
    }

    with fresh_app.test_request_context():
        homes = {str(role): url_for(endpoint) for role, endpoint in HOME_BY_ROLE.items()}
    for role, email, password in logins:
        client = fresh_app.test_client()
        response = client.post("/auth/login", data={"email": email, "password": password})
        assert response.status_code == 302, (role, email)
        assert urlparse(response.headers["Location"]).path == homes[role], email
        home = client.get(homes[role])
        assert home.status_code == 200, (role, email, home.status_code)
        client.post("/auth/logout")

    with fresh_app.app_context():
        # Cases in every state, each with an intact timeline, and records where due.
        cases = _db.session.scalars(_db.select(Complaint)).all()
        assert {c.state for c in cases} == set(State)
        assert all(verify_chain(c.id) == [] for c in cases)
        kinds = set(_db.session.scalars(_db.select(Record.kind)))
        assert {"settlement", "mediation_agreement", "refusal", "termination"} <= kinds
        assert _db.session.scalar(_db.select(_db.func.count()).select_from(Outbox)) > 0

    again = invoke(fresh_app, "odr", "seed-demo", "--if-empty")
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[0] == "demo data already present; logins:"
    assert [line.split(" ") for line in again.output.strip().splitlines()[1:]] == logins
    with fresh_app.app_context():
        assert _db.session.scalar(_db.select(_db.func.count()).select_from(Complaint)) == len(cases)


def test_worker_once_runs_the_sweep_and_the_outbox(fresh_app, tmp_path):
    assert invoke(fresh_app, "odr", "seed-demo").exit_code == 0
    with fresh_app.app_context():
        pending = _db.session.scalar(
            _db.select(_db.func.count()).select_from(Outbox).where(Outbox.status == "pending")
        )
    assert pending > 0
    result = invoke(fresh_app, "odr", "worker", "--once")
    assert result.exit_code == 0, result.output
    assert "outbox:" in result.output
    with fresh_app.app_context():
        left = _db.session.scalar(
            _db.select(_db.func.count()).select_from(Outbox).where(Outbox.status == "pending")
        )
    assert left < pending
    assert list((tmp_path / "mail").iterdir())  # the file backend wrote the mails


def test_seed_demo_refuses_a_database_with_users(app, world, db):
    before = db.session.scalar(db.select(db.func.count(User.id)))
    result = invoke(app, "odr", "seed-demo")
    assert result.exit_code == 1
    assert "already has users" in result.output
    assert db.session.scalar(db.select(db.func.count(User.id))) == before


class _Stop(Exception):
    pass


def test_worker_survives_a_failing_round(app, world, db, monkeypatch, caplog):
    import odr.cli
    import odr.disputes.sweep

    rounds = []
    real = odr.disputes.sweep.sweep

    def flaky(as_of=None):
        rounds.append(as_of)
        if len(rounds) == 1:
            raise RuntimeError("database restarting")
        return real(as_of)

    def sleep(seconds):
        if len(rounds) >= 2:
            raise _Stop

    monkeypatch.setattr(odr.disputes.sweep, "sweep", flaky)
    monkeypatch.setattr(odr.cli.time, "sleep", sleep)
    result = invoke(app, "odr", "worker", "--interval", "0")
    assert isinstance(result.exception, _Stop)  # stopped by the test, not by the failure
    assert len(rounds) == 2
    assert "worker round failed" in caplog.text

    rounds.clear()
    once = invoke(app, "odr", "worker", "--once")
    assert once.exit_code == 1  # --once reports the failure
    assert isinstance(once.exception, RuntimeError)
