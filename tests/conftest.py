"""Shared fixtures: the app on SQLite or PostgreSQL, a clean database per test, a small
Henan world, factories, API tokens, a live server and Chromium for browser tests.

Database: ODR_TEST_DB=sqlite (default, a file in a temporary folder) or postgres
(ODR_TEST_DATABASE_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

import os
import threading
import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from odr import create_app, viewcache
from odr.config import TestConfig
from odr.extensions import db as _db
from tests import factories

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def database_url(tmp_path_factory) -> str:
    kind = os.environ.get("ODR_TEST_DB", "sqlite")
    if kind == "postgres":
        return os.environ.get("ODR_TEST_DATABASE_URL") or PG_DEFAULT
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests are deselected on SQLite (make test runs both databases)."""
    if os.environ.get("ODR_TEST_DB", "sqlite") == "postgres":
        return
    deselected = [item for item in items if "postgres" in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if "postgres" not in item.keywords]


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    base = tmp_path_factory.mktemp("instance")
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=database_url(tmp_path_factory),
        INSTANCE_DIR=str(base),
        UPLOAD_DIR=str(base / "uploads"),
        RECORD_DIR=str(base / "records"),
        MAIL_DIR=str(base / "mail"),
        PUBLIC_BASE_URL="http://127.0.0.1:5000",
    )
    with app.app_context():
        _db.drop_all()
        _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()


def _wipe(app) -> None:
    with app.app_context():
        _db.session.remove()
        tables = list(reversed(_db.metadata.sorted_tables))
        with _db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # DELETE in dependency order, then restart the sequences: on the few rows a
                # test leaves this is ~50x faster than TRUNCATE, which recreates every
                # table's files (about 1 s a test on a busy machine).
                for table in tables:
                    conn.execute(table.delete())
                conn.execute(
                    sa.text(
                        "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1,"
                        " false) FROM pg_sequences WHERE schemaname = current_schema()"
                    )
                )
            else:
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                for table in tables:
                    conn.execute(table.delete())
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        from odr.disputes.deadlines import invalidate_overrides

        invalidate_overrides()
    # Values kept per process until what they are made from changes (odr/viewcache.py):
    # after a wipe the ids start again, so a version could repeat with other contents.
    viewcache.clear(app)


@pytest.fixture(autouse=True)
def _limiter_as_it_was():
    """Flask-Limiter keeps its on/off switch on the one `limiter` object shared by every app
    of the process: a test that builds an app with limits on (or a production config) must
    not leave sign-in rate-limited for the tests after it."""
    from odr.extensions import limiter

    state = (limiter.enabled, limiter.initialized)
    yield
    limiter.enabled, limiter.initialized = state


@pytest.fixture(autouse=True)
def _clean_db(request):
    yield
    if "app" in request.fixturenames:
        _wipe(request.getfixturevalue("app"))


@pytest.fixture
def fresh_db_url(tmp_path):
    """The URL of a new, empty database of the kind under test (a fresh app's own: seed,
    migrations); a PostgreSQL one is created next to the test database and dropped after."""
    if os.environ.get("ODR_TEST_DB", "sqlite") != "postgres":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite'}"
        return
    base = sa.engine.make_url(os.environ.get("ODR_TEST_DATABASE_URL") or PG_DEFAULT)
    name = f"{base.database}_fresh_{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with server.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


@pytest.fixture
def db(app):
    with app.app_context():
        yield _db
        _db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def snapshots(app):
    """The statistics pages read stored snapshots, as in production."""
    with factories.stats_snapshots_on(app):
        yield app


@pytest.fixture
def world(db) -> SimpleNamespace:
    """Regions, bodies, enterprises and one user of every kind (see factories.build_world)."""
    return factories.build_world()


@pytest.fixture
def api(client):
    """Call the JSON API as a user: api.post(user, path, json=...)."""
    return factories.ApiClient(client)


# -- live server and browser ---------------------------------------------------------------


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}", app=app)
    server.shutdown()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("ODR_CHROMIUM", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }
