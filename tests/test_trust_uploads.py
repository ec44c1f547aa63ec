"""Uploads and downloads under attack: parallel uploads cannot beat the per-case cap (on both
databases, the writers are threads with their own connections, as in gunicorn), and a file
that is a picture and a web page at once downloads as the picture it was sniffed as."""

import io
import threading

import pytest

from odr import create_app
from odr.auth.operations import issue_token
from odr.config import TestConfig
from odr.disputes import drafts
from odr.disputes import operations as ops
from odr.disputes.evidence import store_evidence
from odr.disputes.models import Evidence
from odr.extensions import db as _db
from tests.access_world import PNG
from tests.factories import PASSWORD, file_case

FILE = 300_000
CAP = 1_000_000  # room for three files of FILE bytes, not four
UPLOADERS = 8


def padded_png(n: int) -> bytes:
    return PNG + b"\0" * (n - len(PNG))


@pytest.fixture
def capped_app(app, tmp_path):
    """The test database, a pool for every uploader, and a case cap of three files."""
    other = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": UPLOADERS + 2, "max_overflow": 0},
        INSTANCE_DIR=str(tmp_path),
        UPLOAD_DIR=str(tmp_path / "uploads"),
        RECORD_DIR=str(tmp_path / "records"),
        MAIL_DIR=str(tmp_path / "mail"),
        MAX_CASE_BYTES=CAP,
    )
    yield other
    with other.app_context():
        _db.engine.dispose()


def parallel(count, action) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index):
        barrier.wait(timeout=30)
        results[index] = action(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_parallel_uploads_beat_the_case_cap(capped_app, world, db):
    case_id = file_case(world.consumer, world.enterprise).id
    token, _ = issue_token(world.consumer)
    db.session.commit()
    client = capped_app.test_client()

    def upload(index):
        response = client.post(
            f"/api/v1/complaints/{case_id}/evidence",
            headers={"Authorization": f"Bearer {token}"},
            data={"file": (io.BytesIO(padded_png(FILE)), f"photo{index}.png")},
            content_type="multipart/form-data",
        )
        return response.status_code

    statuses = parallel(UPLOADERS, upload)
    assert sorted(statuses) == [201] * 3 + [413] * (UPLOADERS - 3), statuses
    db.session.expire_all()
    stored = db.session.scalar(
        db.select(db.func.sum(Evidence.size)).where(Evidence.complaint_id == case_id)
    )
    assert stored == 3 * FILE <= CAP


def test_parallel_uploads_beat_the_draft_cap(capped_app, world, db):
    draft = drafts.new_draft(world.consumer)
    db.session.commit()
    draft_id, consumer_id = draft.id, world.consumer.id
    user_model, draft_model = type(world.consumer), type(draft)

    def upload(_index):
        with capped_app.app_context():
            try:
                consumer = _db.session.get(user_model, consumer_id)
                target = _db.session.get(draft_model, draft_id)
                store_evidence(consumer, io.BytesIO(padded_png(FILE)), "a.png", draft=target)
                _db.session.commit()
                return "ok"
            except Exception as exc:  # the outcome is the test
                _db.session.rollback()
                return type(exc).__name__
            finally:
                _db.session.remove()

    outcomes = parallel(UPLOADERS, upload)
    assert sorted(outcomes) == ["TooLarge"] * (UPLOADERS - 3) + ["ok"] * 3, outcomes


# A GIF header, then a web page: image/gif to a sniffer, a page to a browser told it is HTML.
POLYGLOT = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;<html><script>alert(document.domain)</script>"


def test_gif_html_polyglot_downloads_under_its_html_name(client, world, db, api):
    case = file_case(world.consumer, world.enterprise)
    item = ops.add_evidence(world.consumer, case, io.BytesIO(POLYGLOT), "invoice.html")
    db.session.commit()
    assert item.content_type == "image/gif"
    response = client.post(
        "/auth/login", data={"email": world.consumer.email, "password": PASSWORD}
    )
    for path in (
        f"/consumer/cases/{case.id}/evidence/{item.id}",
        f"/merchant/cases/{case.id}/evidence/{item.id}",
    ):
        if path.startswith("/merchant"):
            client.post("/auth/logout")
            client.post("/auth/login", data={"email": world.agent.email, "password": PASSWORD})
        response = client.get(path)
        assert response.status_code == 200
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert "invoice.gif" in disposition and ".html" not in disposition
        assert response.mimetype == "image/gif"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        response.close()


@pytest.mark.parametrize(
    ("uploaded", "mimetype", "expected"),
    [
        ("photo.JPEG", "image/jpeg", "photo.JPEG"),
        ("scan.pdf", "application/pdf", "scan.pdf"),
        ("page.htm", "image/png", "page.png"),
        ("noext", "image/webp", "noext.webp"),
        ("../../etc/passwd", "application/pdf", "passwd.pdf"),
        (".html", "image/gif", "html.gif"),
    ],
)
def test_download_name_takes_the_sniffed_extension(uploaded, mimetype, expected):
    from odr.downloads import download_name

    assert download_name(uploaded, mimetype) == expected
