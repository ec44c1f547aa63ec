"""The machinery of the access matrix (tests/test_access_matrix.py): one transaction held
open around the whole matrix, a SAVEPOINT around every call (rolled back after it, so each
call sees the same world), the calls themselves, and how an answer is classified.

Why a savepoint per call: a POST that is allowed really changes the world (an offer is
accepted, a body is deactivated); every other cell must still see the world as built."""

import contextlib
import re

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from odr.auth import operations as auth_operations
from odr.extensions import db

NOWHERE = 2_147_483_000  # an id no row has
LOGIN = "/auth/login"


@contextlib.contextmanager
def world_transaction(app):
    """Bind every session of `app` to one connection inside a transaction that is rolled
    back at the end: nothing built or done inside reaches the database. Sessions join it
    with savepoints, so a view's commit or rollback stays inside."""
    engines = db._app_engines[app]
    engine = engines[None]
    factory = db.session.session_factory.kw
    before = factory.get("join_transaction_mode")
    with app.app_context():
        db.session.remove()
        db.session.configure(join_transaction_mode="create_savepoint")
    conn = engine.connect()
    sqlite = conn.dialect.name == "sqlite"
    try:
        if sqlite:
            # pysqlite opens transactions on its own and would commit at the first
            # RELEASE; take over (SQLAlchemy's recipe for SAVEPOINT on SQLite), for this
            # connection only.
            conn.connection.driver_connection.isolation_level = None
            sa.event.listen(conn, "begin", _begin_sqlite)
        outer = conn.begin()
        engines[None] = conn
        try:
            yield conn
        finally:
            engines[None] = engine
            with app.app_context():
                db.session.remove()
            outer.rollback()
    finally:
        with app.app_context():
            db.session.remove()
        if before is None:
            factory.pop("join_transaction_mode", None)
        else:
            factory["join_transaction_mode"] = before
        if sqlite:
            conn.invalidate()  # never hand this driver connection to another test
        conn.close()


def _begin_sqlite(conn):
    conn.exec_driver_sql("BEGIN")


@contextlib.contextmanager
def undone(conn):
    """Whatever happens inside is rolled back afterwards."""
    savepoint = conn.begin_nested()
    try:
        yield
    finally:
        if savepoint.is_active:
            savepoint.rollback()


def classify(response, api: bool, flashes=()) -> str:
    """ok (2xx, or 3xx to a page), L (sent to sign in: 302 to the login page with next=,
    401 for the API), msg (web: a redirect with a "danger" message, the answer of a
    DomainError), or the status code."""
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        location = response.headers.get("Location", "")
        path, _sep, query = re.sub(r"^https?://[^/]+", "", location).partition("?")
        if path.startswith(LOGIN) and "next=" in query:
            return "L"
        if any(category == "danger" for category, _message in flashes):
            return "msg"
        return "ok"
    if api and status == 401:
        return "L"
    if 200 <= status < 300:
        return "ok"
    return str(status)


def text_of(response) -> str:
    kind = response.mimetype or ""
    if kind.startswith("text/") or kind.endswith("json") or kind.endswith("csv"):
        return response.get_data(as_text=True)
    return ""


FAKE_PDF = b"%PDF-1.7\n% a stand-in record\n"


@pytest.fixture
def stand_in_records(monkeypatch):
    """Records are not rendered (a stand-in PDF; the records' own tests render them): the
    matrix issues a dozen, at up to a second each on a busy machine."""
    monkeypatch.setattr(
        "odr.disputes.records.render_record",
        lambda complaint, kind, code, issued_at: FAKE_PDF + code.encode(),
    )


@pytest.fixture
def fast_passwords(monkeypatch):
    """New passwords hashed with a fast scheme (the auth tests prove scrypt): registrations
    and password changes cost 75 ms each with scrypt."""
    monkeypatch.setattr(
        "odr.auth.models.generate_password_hash",
        lambda password, method=None, **kw: generate_password_hash(
            password, method="pbkdf2:sha256:1000"
        ),
    )
    # The unknown address's stand-in hash is made once a process: not with the fast scheme
    # for the tests that follow (the login-timing test checks it is scrypt).
    auth_operations._stand_in_hash.cache_clear()
    yield
    auth_operations._stand_in_hash.cache_clear()
