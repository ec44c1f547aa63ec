"""Hostile input: uploads with lying names, archives and bombs, oversize and broken request
bodies get a 4xx with a message (never a 500); Unicode edge cases (emoji, right-to-left
marks, combining characters, 10,000-character fields) are stored and shown as typed, or
refused with a message."""

import gc
import gzip
import http.client
import io
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from odr.disputes import operations as ops
from odr.disputes.evidence import TooLarge, UnsupportedType, store_evidence
from odr.disputes.models import Complaint, Evidence, Message
from odr.disputes.states import Invalid
from tests.factories import PASSWORD, complaint_data, file_case

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def zip_bomb(size=200 * 1024 * 1024) -> bytes:
    """A small zip that inflates to `size` bytes of zeros."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("receipt.pdf", "w", force_zip64=True) as member,
    ):
        block = bytes(1024 * 1024)
        for _ in range(size // len(block)):
            member.write(block)
    return buffer.getvalue()


def gzip_bomb(size=200 * 1024 * 1024) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as out:
        block = bytes(1024 * 1024)
        for _ in range(size // len(block)):
            out.write(block)
    return buffer.getvalue()


def pixel_bomb() -> bytes:
    """A valid PNG header claiming 100,000 x 100,000 pixels (40 GB decoded)."""
    import struct
    import zlib

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 6, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    data = zlib.compress(bytes(1000))
    idat = (
        struct.pack(">I", len(data))
        + b"IDAT"
        + data
        + struct.pack(">I", zlib.crc32(b"IDAT" + data))
    )
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat + end


LIARS = {
    "page.html named photo.jpg": (b"<!doctype html><script>alert(1)</script>", "photo.jpg"),
    "svg with script named chart.png": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "chart.png",
    ),
    "windows program named receipt.pdf": (b"MZ\x90\x00\x03" + bytes(500), "receipt.pdf"),
    "elf program named scan.jpeg": (b"\x7fELF\x02\x01\x01" + bytes(500), "scan.jpeg"),
    "shell script named invoice.pdf": (b"#!/bin/sh\nrm -rf /\n", "invoice.pdf"),
    "zip bomb named receipt.pdf": (None, "receipt.pdf"),
    "gzip bomb named photo.png": (None, "photo.png"),
    "office document named letter.pdf": (None, "letter.pdf"),
    "empty file named empty.png": (b"", "empty.png"),
}


def liar_bytes(name: str) -> tuple[bytes, str]:
    data, filename = LIARS[name]
    if data is None:
        if "zip bomb" in name:
            data = zip_bomb()
        elif "gzip" in name:
            data = gzip_bomb()
        else:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr("[Content_Types].xml", "<Types/>")
                archive.writestr("word/document.xml", "<w:document/>")
            data = buffer.getvalue()
    return data, filename


# -- the evidence store ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LIARS))
def test_files_that_are_not_what_they_claim_are_refused(world, db, app, name):
    complaint = file_case(world.consumer, world.enterprise)
    data, filename = liar_bytes(name)
    before = set(Path(app.config["UPLOAD_DIR"]).iterdir())
    with pytest.raises(UnsupportedType):
        store_evidence(world.consumer, io.BytesIO(data), filename, complaint=complaint)
    assert set(Path(app.config["UPLOAD_DIR"]).iterdir()) == before  # nothing kept


def test_the_type_comes_from_the_content_and_the_name_is_only_shown(world, db, app):
    complaint = file_case(world.consumer, world.enterprise)
    item = store_evidence(
        world.consumer, io.BytesIO(JPEG), "../../etc/cron.d/evil.exe", complaint=complaint
    )
    assert item.content_type == "image/jpeg" and item.stored_name.endswith(".jpg")
    assert item.filename == "evil.exe"  # no folders, never used as a path
    stored = Path(app.config["UPLOAD_DIR"]) / item.stored_name
    assert stored.read_bytes() == JPEG and stored.parent == Path(app.config["UPLOAD_DIR"])
    # A pixel bomb is a real PNG header: it is kept (the portal never decodes images).
    bomb = store_evidence(world.consumer, io.BytesIO(pixel_bomb()), "big.png", complaint=complaint)
    assert bomb.content_type == "image/png" and bomb.size < 2000


def test_size_limits_per_file_and_per_case(world, db, app, monkeypatch):
    complaint = file_case(world.consumer, world.enterprise)
    limit = app.config["MAX_FILE_BYTES"]
    with pytest.raises(TooLarge):
        store_evidence(
            world.consumer, io.BytesIO(PDF + bytes(limit)), "big.pdf", complaint=complaint
        )
    store_evidence(
        world.consumer, io.BytesIO(PDF + bytes(limit - len(PDF))), "max.pdf", complaint=complaint
    )
    monkeypatch.setitem(app.config, "MAX_CASE_BYTES", limit + 1000)
    with pytest.raises(TooLarge):
        store_evidence(
            world.consumer, io.BytesIO(PDF + bytes(2000)), "more.pdf", complaint=complaint
        )


# -- over HTTP: the API and the consumer's page -------------------------------------------


# Werkzeug leaves the temporary file of a part cut short (a broken or refused body) to the
# garbage collector, which closes and deletes it; that warning, and only it, is not an error
# in the tests that send such bodies.
# (Depending on its size the file is a SpooledTemporaryFile, a BufferedRandom or a FileIO.)
WERKZEUG_PARTIAL_FILE = "ignore:[Uu]nclosed file:ResourceWarning"


def evidence_path(complaint) -> str:
    return f"/complaints/{complaint.id}/evidence"


def assert_api_error(response, status, code=None):
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    body = response.get_json()
    assert body["error"]["message"], body
    if code:
        assert body["error"]["code"] == code, body


@pytest.mark.parametrize(
    "name", ["page.html named photo.jpg", "zip bomb named receipt.pdf", "gzip bomb named photo.png"]
)
def test_api_refuses_lying_uploads_with_415(world, db, api, name):
    complaint = file_case(world.consumer, world.enterprise)
    data, filename = liar_bytes(name)
    response = api.post(
        world.consumer,
        evidence_path(complaint),
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
    assert_api_error(response, 415, "unsupported_media_type")
    assert not db.session.scalars(db.select(Evidence)).all()


def test_api_accepts_a_real_file_whatever_its_name(world, db, api):
    complaint = file_case(world.consumer, world.enterprise)
    response = api.post(
        world.consumer,
        evidence_path(complaint),
        data={"file": (io.BytesIO(PNG), "收据 🧾 \u202egnp.exe")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["id"]


@pytest.mark.filterwarnings(WERKZEUG_PARTIAL_FILE)
def test_api_refuses_oversize_bodies_with_413(world, db, api, app):
    complaint = file_case(world.consumer, world.enterprise)
    # One file over the 10 MB limit inside a request under the 12 MB request limit.
    big = PDF + bytes(app.config["MAX_FILE_BYTES"])
    response = api.post(
        world.consumer,
        evidence_path(complaint),
        data={"file": (io.BytesIO(big), "big.pdf")},
        content_type="multipart/form-data",
    )
    assert_api_error(response, 413, "payload_too_large")
    # A request over the 12 MB limit, multipart or JSON.
    huge = bytes(app.config["MAX_CONTENT_LENGTH"] + 1)
    response = api.post(
        world.consumer,
        evidence_path(complaint),
        data={"file": (io.BytesIO(huge), "huge.pdf")},
        content_type="multipart/form-data",
    )
    assert_api_error(response, 413)
    response = api.post(
        world.consumer,
        f"/complaints/{complaint.id}/messages",
        data=b'{"body": "' + b"x" * app.config["MAX_CONTENT_LENGTH"] + b'"}',
        content_type="application/json",
    )
    assert_api_error(response, 413)
    assert not db.session.scalars(db.select(Evidence)).all()
    gc.collect()


BROKEN = {
    "no boundary": (
        "multipart/form-data",
        b"--x\r\nContent-Disposition: form-data; name=file\r\n\r\nabc\r\n--x--\r\n",
    ),
    "truncated": (
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + PNG[:20],
    ),
    "garbage": ("multipart/form-data; boundary=xyz", bytes(range(256)) * 40),
    "wrong boundary": (
        "multipart/form-data; boundary=abc",
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        + PNG
        + b"\r\n--xyz--\r\n",
    ),
    "headers without end": (
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        + b"X-Padding: "
        + b"a" * 100_000,
    ),
    "ten thousand parts": (
        "multipart/form-data; boundary=xyz",
        b"".join(
            b'--xyz\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nv\r\n' % n
            for n in range(10_000)
        )
        + b"--xyz--\r\n",
    ),
    "gzip-encoded body": ("multipart/form-data; boundary=xyz", None),
    "not multipart": ("application/json", b'{"file": "' + b"A" * 1000 + b'"}'),
    "form without file": ("application/x-www-form-urlencoded", b"file=abc&other=%00%ff"),
}


@pytest.mark.filterwarnings(WERKZEUG_PARTIAL_FILE)
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_multipart_gets_a_4xx(world, db, api, client, name):
    complaint = file_case(world.consumer, world.enterprise)
    content_type, body = BROKEN[name]
    headers = {}
    if body is None:  # a compressed body is not decompressed for the app
        body = gzip.compress(
            b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
            + PNG
            + b"\r\n--xyz--\r\n"
        )
        headers["Content-Encoding"] = "gzip"
    response = api.client.post(
        "/api/v1" + evidence_path(complaint),
        data=body,
        content_type=content_type,
        headers={**api.headers(world.consumer), **headers},
    )
    assert 400 <= response.status_code < 500, (name, response.status_code)
    assert response.get_json()["error"]["message"]
    # The consumer's page answers the same bodies without a server error.
    client.post("/auth/login", data={"email": world.consumer.email, "password": PASSWORD})
    page = client.post(
        f"/consumer/cases/{complaint.id}/evidence",
        data=body,
        content_type=content_type,
        headers=headers,
    )
    assert page.status_code < 500, (name, page.status_code)
    assert not db.session.scalars(db.select(Evidence)).all()
    gc.collect()  # the partial files go now, under this test's warning filter


@pytest.mark.filterwarnings(WERKZEUG_PARTIAL_FILE)
def test_chunked_upload_over_the_limit_is_cut_off(world, db, api, live_server, app):
    """A body without Content-Length (chunked) cannot slip past the request limit."""
    complaint = file_case(world.consumer, world.enterprise)
    token = api.token(world.consumer)
    url = urlsplit(live_server.url)
    limit = app.config["MAX_CONTENT_LENGTH"]
    boundary = b"xyz"
    head = (
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n" + PDF
    )

    def chunks():
        yield head
        sent = len(head)
        block = bytes(1024 * 1024)
        while sent < limit + 2 * len(block):
            yield block
            sent += len(block)
        yield b"\r\n--" + boundary + b"--\r\n"

    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.request(
            "POST",
            f"/api/v1/complaints/{complaint.id}/evidence",
            body=chunks(),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "multipart/form-data; boundary=xyz",
                "Transfer-Encoding": "chunked",
            },
            encode_chunked=True,
        )
        response = conn.getresponse()
        status = response.status
        response.read()
    except (BrokenPipeError, ConnectionResetError):
        status = 413  # the server stopped reading and closed: nothing stored either
    finally:
        conn.close()
    assert status == 413
    db.session.expire_all()
    assert not db.session.scalars(db.select(Evidence)).all()
    gc.collect()


# -- Unicode ----------------------------------------------------------------------------

EDGE = {
    "emoji": "拉链坏了 😡🧥👨‍👩‍👧‍👦🏳️‍🌈👍🏽 🇨🇳",
    "right-to-left": "\u202eevil.exe\u202c \u200fمرحبا\u200e עברית \u2067isolate\u2069",
    "combining": "Zalgo: Z\u0351\u0300\u0314a\u0336\u0350l\u0315\u0362g\u0302\u0327o\u0341",
    "astral CJK": "𠮷野家 𪚥 𰻞𰻞面",
    "zero width": "零\u200b宽\u200c连\u200d字\ufeff",
    "quotes and slashes": "'\"\\`; DROP TABLE complaint; -- %s %(x)s {0}",
}


def test_unicode_text_is_stored_and_shown_as_typed(world, db, api, client):
    text = "\n".join(EDGE.values())
    response = api.post(
        world.consumer,
        "/complaints",
        json=complaint_data(world.enterprise, facts=text, subject=EDGE["emoji"]),
    )
    assert response.status_code == 201, response.get_json()
    complaint_id = response.get_json()["id"]
    assert (
        api.post(
            world.consumer, f"/complaints/{complaint_id}/messages", json={"body": text}
        ).status_code
        == 201
    )
    db.session.expire_all()
    complaint = db.session.get(Complaint, complaint_id)
    assert complaint.facts == text and complaint.subject == EDGE["emoji"]
    assert (
        db.session.scalar(db.select(Message.body).where(Message.complaint_id == complaint_id))
        == text
    )
    shown = api.get(world.agent, f"/complaints/{complaint_id}").get_json()
    assert shown["facts"] == text
    client.post("/auth/login", data={"email": world.consumer.email, "password": PASSWORD})
    page = client.get(f"/consumer/cases/{complaint_id}").get_data(as_text=True)
    for value in EDGE.values():
        if value != EDGE["quotes and slashes"]:  # quotes are shown escaped as entities
            assert value.split("\n")[0] in page


def test_ten_thousand_characters_are_kept_and_one_more_is_refused(world, db, api):
    exact = ("消费者权益🧥" * 2000)[:10_000]
    assert len(exact) == 10_000
    response = api.post(
        world.consumer, "/complaints", json=complaint_data(world.enterprise, facts=exact)
    )
    assert response.status_code == 201
    db.session.expire_all()
    assert db.session.get(Complaint, response.get_json()["id"]).facts == exact

    response = api.post(
        world.consumer, "/complaints", json=complaint_data(world.enterprise, facts=exact + "x")
    )
    assert_api_error(response, 422)
    assert "facts" in response.get_json()["error"]["fields"]
    with pytest.raises(Invalid) as refused:
        ops.file_complaint(world.consumer, complaint_data(world.enterprise, facts=exact + "x"))
    assert "facts" in refused.value.fields
    db.session.rollback()
    # A 200-character subject of four-byte characters fits; 201 does not.
    emoji = "🧥" * 200
    ok = api.post(
        world.consumer, "/complaints", json=complaint_data(world.enterprise, subject=emoji)
    )
    assert ok.status_code == 201
    too_long = api.post(
        world.consumer, "/complaints", json=complaint_data(world.enterprise, subject=emoji + "🧥")
    )
    assert_api_error(too_long, 422)


@pytest.mark.parametrize("bad", ["a\x00b", "\ud800 lone surrogate"])
def test_text_no_database_can_hold_is_refused_with_a_message(world, db, api, client, bad):
    response = api.post(
        world.consumer, "/complaints", json=complaint_data(world.enterprise, facts=bad)
    )
    assert_api_error(response, 422)
    complaint = file_case(world.consumer, world.enterprise)
    response = api.post(world.consumer, f"/complaints/{complaint.id}/messages", json={"body": bad})
    assert_api_error(response, 422)
    with pytest.raises(Invalid):
        ops.post_message(world.consumer, complaint, bad)
    db.session.rollback()
    # Through the web forms (a browser can send %00): refused with a message, never a 500.
    client.post("/auth/login", data={"email": world.consumer.email, "password": PASSWORD})
    page = client.post(f"/consumer/cases/{complaint.id}/messages", data={"body": "a\x00b"})
    assert page.status_code < 500
    anonymous = client.application.test_client()
    page = anonymous.post(
        "/auth/register",
        data={
            "name": "名\x00字",
            "email": "nul@test.example",
            "phone": "13900000000",
            "password": "Long-enough-1",
            "confirm": "Long-enough-1",
        },
    )
    assert page.status_code < 500
    db.session.expire_all()
    assert not db.session.scalars(db.select(Message)).all()


def test_nul_in_a_query_or_form_is_a_bad_request_everywhere(world, db, app, api):
    """Search boxes and filters pass their text to the database: a NUL made PostgreSQL
    fail (500) on the enterprise inbox and the regulator's enterprise list."""
    pages = {
        None: ["/enterprises?q=%00", "/verify?code=%00", "/warnings?q=%00"],
        world.owner.email: ["/merchant/inbox?q=%00", "/merchant/inbox/export.csv?q=%00"],
        world.admin.email: ["/admin/enterprises?q=%00", "/admin/performance?q=%00"],
        world.head.email: ["/mediation/?q=%00"],
    }
    for email, urls in pages.items():
        client = app.test_client()
        if email:
            client.post("/auth/login", data={"email": email, "password": PASSWORD})
        for url in urls:
            response = client.get(url)
            assert response.status_code == 400, (url, response.status_code)
            response.close()
    anonymous = app.test_client()
    for path, data in (
        ("/auth/login", {"email": "a\x00@test.example", "password": "x"}),
        ("/auth/reset", {"email": "a\x00@test.example"}),
        ("/verify", {"code": "AB\x00"}),
        ("/auth/register", {"name": "x", "address\x00": "y"}),
    ):
        assert anonymous.post(path, data=data).status_code == 400, path
    for path in ("/enterprises?q=%00", "/complaints?state=%00", "/complaints?cursor=%00"):
        response = api.get(world.consumer, path)
        assert 400 <= response.status_code < 500 and response.get_json()["error"], path
