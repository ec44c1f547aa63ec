"""Backup and restore: `flask odr backup` then `flask odr restore` into an empty database
gives back every row and every file, between SQLite and PostgreSQL in both directions."""

import gzip
import hashlib
import io
import json
import os
import tarfile
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from odr import create_app
from odr.auth.models import User
from odr.config import TestConfig
from odr.disputes import operations as ops
from odr.disputes.evidence import store_evidence
from odr.disputes.models import Complaint, Evidence, Record
from odr.extensions import db as _db
from odr.maintenance.audit import verify_all
from odr.maintenance.backup import encode
from odr.seed import seed_demo

# Every test here seeds a demo portal and round-trips it through an archive.
pytestmark = pytest.mark.slow

ON_POSTGRES = os.environ.get("ODR_TEST_DB", "sqlite") == "postgres"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
ODD_TEXT = "退款 🧥👨‍👩‍👧 \u202eevil.exe\u202c — עברית « » 'quoted' \"double\" \\ <b>&amp;"


# -- helpers -----------------------------------------------------------------------------


def new_app(url: str, base: Path):
    return create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=url,
        INSTANCE_DIR=str(base),
        UPLOAD_DIR=str(base / "uploads"),
        RECORD_DIR=str(base / "records"),
        MAIL_DIR=str(base / "mail"),
    )


@contextmanager
def empty_database(kind: str, tmp_path: Path, name: str):
    """A fresh database (file SQLite, or a new PostgreSQL database next to the test one)
    with the schema and no rows, and its app with empty file folders."""
    base = tmp_path / name
    if kind == "sqlite":
        url = f"sqlite:///{base}.sqlite"
    else:
        source = make_url(
            os.environ.get("ODR_TEST_DATABASE_URL") or TestConfig.SQLALCHEMY_DATABASE_URI
        )
        database = f"{source.database}_{name}"
        url = source.set(database=database).render_as_string(hide_password=False)
        admin = sa.create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
    app = new_app(url, base)
    with app.app_context():
        _db.create_all()
        _db.session.remove()
    try:
        yield app
    finally:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()
        if kind == "postgres":
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.dispose()


def snapshot(app) -> dict[str, list[dict]]:
    """Every row of every table, as plain JSON values, in primary-key order."""
    out = {}
    with app.app_context():
        with _db.engine.connect() as conn:
            for table in _db.metadata.sorted_tables:
                order = list(table.primary_key.columns)
                out[table.name] = [
                    {k: encode(v) for k, v in row._mapping.items()}
                    for row in conn.execute(sa.select(table).order_by(*order))
                ]
        _db.session.remove()
    return out


def file_hashes(app) -> dict[str, str]:
    out = {}
    for key in ("UPLOAD_DIR", "RECORD_DIR"):
        root = Path(app.config[key])
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                out[f"{key}/{path.relative_to(root)}"] = hashlib.sha256(
                    path.read_bytes()
                ).hexdigest()
    return out


def referenced_file_hashes(app) -> dict[str, str]:
    """SHA-256 of every file the database names (evidence and records)."""
    out = {}
    with app.app_context():
        names = [("UPLOAD_DIR", n) for n in _db.session.scalars(sa.select(Evidence.stored_name))]
        # A record not rendered yet names no file (the worker renders it from its row).
        names += [
            ("RECORD_DIR", n)
            for n in _db.session.scalars(sa.select(Record.path).where(Record.path.is_not(None)))
        ]
        _db.session.remove()
    for key, name in names:
        path = Path(app.config[key]) / name
        out[f"{key}/{name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def seed_portal(app) -> None:
    """The demo portal plus an evidence file and awkward text."""
    with app.app_context():
        seed_demo()
        complaint = _db.session.scalar(sa.select(Complaint).order_by(Complaint.id).limit(1))
        consumer = _db.session.get(User, complaint.consumer_id)
        store_evidence(consumer, io.BytesIO(PNG), "收据 🧾.png", complaint=complaint)
        if complaint.state.is_open:
            ops.post_message(consumer, complaint, ODD_TEXT)
        _db.session.commit()
        _db.session.remove()


def cli(app, *args):
    # The command runs in the current app context if there is one: push this app's.
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["odr", *args])
        _db.session.remove()
    return result.exit_code, result.output


def assert_same_portal(source, target) -> None:
    before, after = snapshot(source), snapshot(target)
    assert {k: len(v) for k, v in after.items()} == {k: len(v) for k, v in before.items()}
    for table, rows in before.items():
        assert after[table] == rows, f"table {table} differs after restore"
    assert len(before["complaint"]) >= 10 and len(before["case_event"]) >= 20
    assert len(before["record"]) >= 1 and len(before["evidence"]) == 1
    assert referenced_file_hashes(target) == referenced_file_hashes(source)
    assert file_hashes(target) == referenced_file_hashes(target)  # nothing else was put there
    with target.app_context():
        report = verify_all()
        assert report.ok, report.problems
        assert report.records == len(before["record"]) and report.evidence == 1
        _db.session.remove()


def assert_new_rows_get_new_ids(app) -> None:
    """After a restore the id sequences continue past the restored rows (PostgreSQL)."""
    with app.app_context():
        top = _db.session.scalar(sa.select(sa.func.max(Complaint.id)))
        case = _db.session.scalar(
            sa.select(Complaint).where(Complaint.state == "negotiating").limit(1)
        )
        consumer = _db.session.get(User, case.consumer_id)
        filed = ops.file_complaint(
            consumer,
            {
                "enterprise_id": case.enterprise_id,
                "subject": "新的投诉",
                "purchase_date": "2026-09-01",
                "amount": "10.00",
                "issue": "quality",
                "requests": ["refund"],
                "claimed_amount": "10.00",
                "facts": "恢复之后提交的投诉。",
            },
        )
        _db.session.commit()
        assert filed.id == top + 1
        text = ops.post_message(consumer, filed, ODD_TEXT)
        _db.session.commit()
        assert _db.session.get(type(text), text.id).body == ODD_TEXT
        _db.session.remove()


# -- tests -------------------------------------------------------------------------------

TARGETS = ["sqlite", "postgres"] if ON_POSTGRES else ["sqlite"]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A seeded SQLite portal of its own and its backup, shared by several tests."""
    folder = tmp_path_factory.mktemp("seeded")
    with empty_database("sqlite", folder, "source") as source:
        seed_portal(source)
        archive = folder / "good.tar.gz"
        assert cli(source, "backup", "-o", str(archive))[0] == 0
        yield source, archive


def test_seeded_portal_round_trips_with_nothing_lost(app, db, tmp_path):
    """From the database under test (SQLite or PostgreSQL) into each kind of database."""
    seed_portal(app)
    archive = tmp_path / "portal.tar.gz"
    code, output = cli(app, "backup", "--output", str(archive))
    assert code == 0, output
    assert archive.is_file() and "backup written to" in output
    for kind in TARGETS:
        with empty_database(kind, tmp_path, f"restore_{kind}") as target:
            code, output = cli(target, "restore", str(archive))
            assert code == 0, output
            assert_same_portal(app, target)
            assert_new_rows_get_new_ids(target)


@pytest.mark.postgres
def test_sqlite_backup_restores_into_postgresql(seeded, tmp_path):
    source, archive = seeded
    with empty_database("postgres", tmp_path, "from_sqlite") as target:
        code, output = cli(target, "restore", str(archive))
        assert code == 0, output
        assert_same_portal(source, target)
        assert_new_rows_get_new_ids(target)


def test_backup_to_a_folder_names_the_archive(seeded, tmp_path):
    source, _ = seeded
    folder = tmp_path / "backups"
    folder.mkdir()
    code, output = cli(source, "backup", "-o", str(folder))
    assert code == 0, output
    (archive,) = folder.glob("odr-backup-*.tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert names[0] == "manifest.json"
    assert any(n.startswith("files/uploads/") for n in names)
    assert any(n.startswith("files/records/") for n in names)
    counts = {t["name"]: t["rows"] for t in manifest["tables"]}
    rows = snapshot(source)
    assert counts == {name: len(items) for name, items in rows.items()}
    assert counts["complaint"] >= 10 and counts["record"] >= 1 and counts["evidence"] == 1


def test_restore_refuses_a_database_that_is_not_empty(seeded):
    source, archive = seeded
    before = snapshot(source)
    code, output = cli(source, "restore", str(archive))
    assert code != 0
    assert "not empty" in output and "nothing was changed" in output
    assert snapshot(source) == before


def rewrite_archive(source: Path, target: Path, change) -> None:
    """Copy an archive, letting change(name, data) alter or rename members."""
    with tarfile.open(source) as tar_in, tarfile.open(target, "w:gz") as tar_out:
        for member in tar_in.getmembers():
            data = tar_in.extractfile(member).read()
            name, data = change(member.name, data)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar_out.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("damage", ["row", "file", "traversal", "truncated"])
def test_damaged_archive_is_refused_and_changes_nothing(seeded, tmp_path, damage):
    _, good = seeded
    bad = tmp_path / "bad.tar.gz"

    def change(name, data):
        if damage == "row" and name.endswith("_complaint.jsonl"):
            data = data.replace("退".encode(), "进".encode(), 1)
        if damage == "file" and name.startswith("files/records/"):
            data = data[:-10] + bytes(10)
        if damage == "traversal" and name.startswith("files/uploads/"):
            name = "files/uploads/../../../escaped.png"
        return name, data

    if damage == "truncated":
        raw = gzip.decompress(good.read_bytes())
        bad.write_bytes(gzip.compress(raw[: len(raw) // 2]))
    else:
        rewrite_archive(good, bad, change)

    with empty_database("sqlite", tmp_path, "target") as target:
        code, output = cli(target, "restore", str(bad))
        assert code != 0
        assert "restore failed, nothing was changed" in output
        assert all(not rows for rows in snapshot(target).values())
        assert file_hashes(target) == {}
    assert not (tmp_path / "escaped.png").exists()
