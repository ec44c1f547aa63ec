"""The migration chain builds an empty database (SQLite or PostgreSQL, whichever the suite
runs on) and agrees with the models."""

import logging

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from odr import create_app
from odr.config import TestConfig
from odr.extensions import db


@pytest.fixture
def keep_logging():
    """Alembic's env.py runs logging.config.fileConfig, which disables every logger that
    existed before and replaces the root handlers: put them back for the tests after."""
    manager = logging.Logger.manager
    loggers = {
        name: (lg.disabled, lg.level, list(lg.handlers), lg.propagate)
        for name, lg in manager.loggerDict.items()
        if isinstance(lg, logging.Logger)
    }
    root = logging.getLogger()
    root_state = (root.level, list(root.handlers))
    yield
    for name, (disabled, level, handlers, propagate) in loggers.items():
        lg = logging.getLogger(name)
        lg.disabled, lg.level, lg.handlers, lg.propagate = disabled, level, handlers, propagate
    root.level, root.handlers = root_state[0], root_state[1]


@pytest.fixture
def fresh_app(fresh_db_url, tmp_path, keep_logging):
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=fresh_db_url,
        INSTANCE_DIR=str(tmp_path / "instance"),
        UPLOAD_DIR=str(tmp_path / "uploads"),
        RECORD_DIR=str(tmp_path / "records"),
        MAIL_DIR=str(tmp_path / "mail"),
    )
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _differences(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_builds_an_empty_database_that_matches_the_models(fresh_app):
    with fresh_app.app_context():
        assert sa.inspect(db.engine).get_table_names() == []
        flask_migrate.upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        assert tables - set(db.metadata.tables) == {"alembic_version"}
        with db.engine.connect() as conn:
            head = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        assert head is not None

        differences = _differences(db.engine)
        assert differences == [], (
            "the migrations and the models differ; regenerate the migration: "
            + "\n".join(map(str, differences))
        )


def test_the_migrated_schema_holds_a_real_case(fresh_app):
    """Constraints, enums and types of the migrated schema accept what the portal writes."""
    from tests import factories

    with fresh_app.app_context():
        flask_migrate.upgrade()
        world = factories.build_world()
        complaint = factories.file_case(world.consumer, world.enterprise)
        assert complaint.reference.startswith("ODR-")
        db.session.remove()


def test_downgrade_to_base_and_upgrade_again(fresh_app):
    with fresh_app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        flask_migrate.upgrade()
        assert _differences(db.engine) == []


def test_flask_db_upgrade_command(fresh_app):
    result = fresh_app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with fresh_app.app_context():
        assert "complaint" in sa.inspect(db.engine).get_table_names()
