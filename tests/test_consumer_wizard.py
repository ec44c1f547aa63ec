"""The filing wizard: every step, drafts kept and purged, the routing preview, nothing lost
on a bad answer, and evidence checked from its content."""

import io
import re
import struct
import zlib
from datetime import timedelta

import pytest

from odr.disputes import deadlines
from odr.disputes.drafts import purge_old_drafts
from odr.disputes.models import Complaint, Draft, Evidence
from odr.extensions import db
from odr.types import utcnow
from tests.factories import PASSWORD


def png_bytes(width=2, height=2) -> bytes:
    """A small but real PNG image."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


def login(client, email, password=PASSWORD):
    response = client.post("/auth/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def text(response) -> str:
    return response.get_data(as_text=True)


def in_language(client, url, lang):
    """GET a page in a language. The test's app context outlives requests, and Flask-Babel
    keeps the locale it chose on it: forget that choice first."""
    from flask_babel import refresh

    refresh()
    sep = "&" if "?" in url else "?"
    return text(client.get(f"{url}{sep}lang={lang}"))


def yesterday() -> str:
    return (deadlines.local_date(utcnow()) - timedelta(days=1)).isoformat()


def start(client, enterprise, **extra):
    data = {"enterprise_id": str(enterprise.id), "green_channel": "y", "q": "测试", **extra}
    response = client.post("/consumer/file", data=data)
    assert response.status_code == 302, text(response)[:2000]
    draft = db.session.scalars(db.select(Draft).order_by(Draft.id.desc())).first()
    return draft


def fill_to_review(client, draft):
    base = f"/consumer/drafts/{draft.id}"
    steps = [
        (
            "purchase",
            {
                "subject_kind": "goods",
                "subject": "羽绒服",
                "purchase_date": yesterday(),
                "purchase_place": "郑州市金水区花园路",
                "purchase_url": "",
                "amount": "1299.00",
            },
        ),
        (
            "claim",
            {"issue": "quality", "requests": ["refund", "compensation"], "claimed_amount": "1500"},
        ),
        (
            "facts",
            {
                "facts": "拉链三天就坏了。",
                "complainant_name": "张三",
                "complainant_phone": "13800000000",
                "complainant_address": "郑州市金水区测试路1号",
            },
        ),
        ("evidence", {"action": "next"}),
    ]
    for step, data in steps:
        response = client.post(f"{base}/{step}", data=data)
        assert response.status_code == 302, (step, text(response)[:3000])
    return base


def test_search_finds_enterprises_by_name_and_credit_code(client, world):
    login(client, "consumer@test.example")
    by_name = text(client.get("/consumer/file?q=百货"))
    assert world.enterprise.name in by_name
    assert world.other_enterprise.name not in by_name
    by_code = text(client.get(f"/consumer/file?q={world.other_enterprise.credit_code.lower()}"))
    assert world.other_enterprise.name in by_code
    pending = text(client.get("/consumer/file?q=待审"))
    assert world.pending_enterprise.name not in pending  # issue 15: not approved, not found
    nothing = text(client.get("/consumer/file?q=%25"))
    assert 'id="no-results"' in nothing


def test_whole_wizard_files_a_green_channel_complaint_with_evidence(client, world):
    login(client, "consumer@test.example")
    draft = start(client, world.enterprise)
    assert draft.step == "purchase"
    base = f"/consumer/drafts/{draft.id}"
    client.post(f"{base}/purchase", data={})  # errors; nothing saved beyond what was typed
    fill_to_review(client, draft)
    response = client.post(
        f"{base}/evidence",
        data={"action": "upload", "files": [(io.BytesIO(png_bytes()), "receipt.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    review = text(client.get(f"{base}/review"))
    deadline = deadlines.working_day_deadline(utcnow(), 10)
    assert world.enterprise.name in review
    assert "receipt.png" in review
    assert 'id="routing-preview"' in review
    assert str(deadline.day) in review  # the date the enterprise must answer by
    response = client.post(f"{base}/review", data={"confirm": "y"})
    assert response.status_code == 302
    complaint = db.session.scalars(db.select(Complaint)).one()
    assert response.headers["Location"].endswith(f"/consumer/cases/{complaint.id}")
    assert complaint.state == "negotiating"
    assert complaint.enterprise_id == world.enterprise.id
    assert complaint.requests == ["compensation", "refund"]
    assert str(complaint.claimed_amount) == "1500.00"
    assert complaint.deadline_at == deadline
    files = db.session.scalars(db.select(Evidence)).all()
    assert [(f.complaint_id, f.draft_id, f.filename) for f in files] == [
        (complaint.id, None, "receipt.png")
    ]
    assert db.session.get(Draft, draft.id) is None


def test_review_requires_the_confirmation(client, world):
    login(client, "consumer@test.example")
    draft = start(client, world.enterprise)
    base = fill_to_review(client, draft)
    response = client.post(f"{base}/review", data={})
    assert response.status_code == 422
    assert db.session.scalar(db.select(db.func.count(Complaint.id))) == 0


def test_not_listed_business_goes_to_the_office_of_the_region_named(client, world):
    login(client, "consumer@test.example")
    response = client.post(
        "/consumer/file",
        data={
            "enterprise_id": "other",
            "respondent_name": "老城区无名小店",
            "respondent_region_code": "410302",
            "green_channel": "y",
        },
    )
    assert response.status_code == 302
    draft = db.session.scalars(db.select(Draft)).one()
    base = fill_to_review(client, draft)
    review = text(client.get(f"{base}/review"))
    assert world.laocheng.name in review
    client.post(f"{base}/review", data={"confirm": "y"})
    complaint = db.session.scalars(db.select(Complaint)).one()
    assert complaint.state == "pending_acceptance"
    assert complaint.enterprise_id is None
    assert complaint.respondent_name == "老城区无名小店"
    assert complaint.body_id == world.laocheng.id


def test_not_listed_business_needs_a_name_a_region_and_a_valid_credit_code(client, world):
    login(client, "consumer@test.example")
    response = client.post(
        "/consumer/file",
        data={
            "enterprise_id": "other",
            "respondent_name": "",
            "respondent_credit_code": "91330100716105852X",
        },
    )
    assert response.status_code == 422
    page = text(response)
    assert 'id="respondent_name-err"' in page
    assert 'id="respondent_region_code-err"' in page
    assert 'id="respondent_credit_code-err"' in page
    assert 'value="91330100716105852X"' in page  # what was typed is still there
    assert db.session.scalar(db.select(db.func.count(Draft.id))) == 0


def test_choosing_nothing_is_an_error(client, world):
    login(client, "consumer@test.example")
    response = client.post("/consumer/file", data={"green_channel": "y"})
    assert response.status_code == 422
    assert 'id="enterprise_id-err"' in text(response)


def test_unticking_the_green_channel_sends_an_odr_case_to_the_office(client, world):
    login(client, "consumer@test.example")
    draft = start(client, world.enterprise, green_channel="")
    base = fill_to_review(client, draft)
    review = text(client.get(f"{base}/review"))
    assert world.jinshui.name in review
    client.post(f"{base}/review", data={"confirm": "y"})
    complaint = db.session.scalars(db.select(Complaint)).one()
    assert complaint.state == "pending_acceptance"
    assert complaint.green_channel is False


def test_a_step_with_errors_keeps_everything_typed_and_the_evidence(client, world):
    login(client, "consumer@test.example")
    draft = start(client, world.enterprise)
    base = fill_to_review(client, draft)
    response = client.post(
        f"{base}/evidence",
        data={
            "action": "next",
            "files": [
                (io.BytesIO(png_bytes()), "photo.png"),
                (io.BytesIO(EXE), "invoice.jpg"),
            ],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = text(response)
    assert "invoice.jpg" in page and 'id="files-err"' in page
    assert "photo.png" in page  # the good file was kept and is listed
    # A bad answer on an earlier step re-renders what was typed, and the evidence stays.
    future = (deadlines.local_date(utcnow()) + timedelta(days=5)).isoformat()
    response = client.post(
        f"{base}/purchase",
        data={
            "subject_kind": "service",
            "subject": "健身卡",
            "purchase_date": future,
            "purchase_place": "二七区健身房",
            "purchase_url": "ftp://example.com",
            "amount": "abc",
        },
    )
    assert response.status_code == 422
    page = text(response)
    for typed in ("健身卡", future, "二七区健身房", "ftp://example.com", 'value="abc"'):
        assert typed in page
    assert 'id="purchase_date-err"' in page
    assert 'id="purchase_url-err"' in page
    assert 'id="amount-err"' in page
    assert re.search(r'<input checked[^>]*value="service"', page)
    review = text(client.get(f"{base}/review"))
    assert "photo.png" in review
    assert "健身卡" in review  # the draft keeps what was typed, to be fixed later
    response = client.post(f"{base}/review", data={"confirm": "y"})
    assert response.status_code == 422
    assert 'id="review-problems"' in text(response)
    assert db.session.scalar(db.select(db.func.count(Complaint.id))) == 0
    assert [e.filename for e in db.session.scalars(db.select(Evidence))] == ["photo.png"]


def test_claim_needs_a_request(client, world):
    login(client, "consumer@test.example")
    draft = start(client, world.enterprise)
    base = f"/consumer/drafts/{draft.id}"
    client.post(
        f"{base}/purchase",
        data={"subject_kind": "goods", "subject": "x", "purchase_date": yesterday(), "amount": "1"},
    )
    response = client.post(f"{base}/claim", data={"issue": "quality", "claimed_amount": "1"})
    assert response.status_code == 422
    assert 'id="requests-err"' in text(response)


def test_evidence_can_be_removed_from_a_draft(client, world, app):
    login(client, "consumer@test.example")
    draft = start(client, world.enterprise)
    base = fill_to_review(client, draft)
    client.post(
        f"{base}/evidence",
        data={"action": "upload", "files": [(io.BytesIO(png_bytes()), "a.png")]},
        content_type="multipart/form-data",
    )
    item = db.session.scalars(db.select(Evidence)).one()
    from odr.disputes.evidence import evidence_path

    path = evidence_path(item)
    assert path.is_file()
    download = client.get(f"{base}/evidence/{item.id}")
    assert download.status_code == 200 and download.data == png_bytes()
    download.close()
    response = client.post(f"{base}/evidence/{item.id}/remove", data={"back": "review"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/review")
    assert db.session.scalar(db.select(db.func.count(Evidence.id))) == 0
    assert not path.exists()


def test_drafts_are_listed_resumed_and_private(client, world):
    login(client, "consumer@test.example")
    draft = start(client, world.enterprise)
    client.post(
        f"/consumer/drafts/{draft.id}/purchase",
        data={
            "subject_kind": "goods",
            "subject": "电饭煲",
            "purchase_date": yesterday(),
            "amount": "399",
        },
    )
    cases = text(client.get("/consumer/cases"))
    assert "电饭煲" in cases and f"/consumer/drafts/{draft.id}" in cases
    resume = client.get(f"/consumer/drafts/{draft.id}")
    assert resume.headers["Location"].endswith(f"/consumer/drafts/{draft.id}/claim")
    # Steps not reached yet are not skipped to.
    ahead = client.get(f"/consumer/drafts/{draft.id}/review")
    assert ahead.headers["Location"].endswith("/claim")
    # Going back shows what was typed.
    assert 'value="电饭煲"' in text(client.get(f"/consumer/drafts/{draft.id}/purchase"))
    client.post("/auth/logout")
    login(client, "other@test.example")
    assert client.get(f"/consumer/drafts/{draft.id}/purchase").status_code == 404
    assert client.post(f"/consumer/drafts/{draft.id}/delete").status_code == 404
    client.post("/auth/logout")
    login(client, "consumer@test.example")
    client.post(f"/consumer/drafts/{draft.id}/delete")
    assert db.session.get(Draft, draft.id) is None


def test_purge_deletes_drafts_older_than_30_days_with_their_files(client, world, app):
    login(client, "consumer@test.example")
    old = start(client, world.enterprise)
    fill_to_review(client, old)
    client.post(
        f"/consumer/drafts/{old.id}/evidence",
        data={"action": "upload", "files": [(io.BytesIO(png_bytes()), "old.png")]},
        content_type="multipart/form-data",
    )
    fresh = start(client, world.other_enterprise)
    db.session.expire_all()
    from odr.disputes.evidence import evidence_path

    path = evidence_path(db.session.scalars(db.select(Evidence)).one())
    now = utcnow()
    db.session.get(Draft, old.id).updated_at = now - timedelta(days=30, minutes=1)
    db.session.get(Draft, fresh.id).updated_at = now - timedelta(days=29, hours=23)
    db.session.commit()
    assert purge_old_drafts(now) == 1
    db.session.commit()
    assert [d.id for d in db.session.scalars(db.select(Draft))] == [fresh.id]
    assert db.session.scalar(db.select(db.func.count(Evidence.id))) == 0
    assert not path.exists()
    assert purge_old_drafts(now) == 0


@pytest.mark.parametrize("role_email", ["owner@test.example", "mediator@test.example"])
def test_other_roles_cannot_file(client, world, role_email):
    login(client, role_email)
    assert client.get("/consumer/file").status_code == 403
    assert client.get("/consumer/cases").status_code == 403


def test_signed_out_visitor_is_sent_to_sign_in(client, world):
    response = client.get("/consumer/file")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_wizard_speaks_english_and_chinese(client, world):
    login(client, "consumer@test.example")
    zh = in_language(client, "/consumer/file", "zh_CN")
    assert 'lang="zh-CN"' in zh and "第 1 步（共 6 步）：被投诉经营者" in zh
    en = in_language(client, "/consumer/file", "en")
    assert "File a complaint" in en and "Step 1 of 6" in en


def test_an_upload_too_big_for_a_request_goes_back_with_a_message(client, world, app):
    login(client, "consumer@test.example")
    draft = start(client, world.enterprise)
    base = fill_to_review(client, draft)
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 100
    try:
        response = client.post(
            f"{base}/evidence",
            data={"action": "next", "files": [(io.BytesIO(png_bytes(30, 30)), "big.png")]},
            content_type="multipart/form-data",
            headers={"Referer": f"http://localhost{base}/evidence"},
        )
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{base}/evidence")
    page = text(client.get(f"{base}/evidence"))
    assert "alert-danger" in page and "10 MB" in page
    assert db.session.scalar(db.select(db.func.count(Evidence.id))) == 0


def test_a_fresh_filing_points_to_waiting_drafts(client, world):
    login(client, "consumer@test.example")
    assert 'id="drafts-waiting"' not in text(client.get("/consumer/file"))
    start(client, world.enterprise)
    assert 'id="drafts-waiting"' in text(client.get("/consumer/file"))


def test_changing_one_answer_from_the_review_returns_to_the_review(client, world):
    login(client, "consumer@test.example")
    draft = start(client, world.enterprise)
    base = fill_to_review(client, draft)
    review = text(client.get(f"{base}/review"))
    assert f"{base}/claim?then=review" in review
    page = text(client.get(f"{base}/claim?then=review"))
    assert 'name="then" value="review"' in page
    response = client.post(
        f"{base}/claim",
        data={"issue": "price", "requests": ["refund"], "claimed_amount": "99", "then": "review"},
    )
    assert response.headers["Location"].endswith(f"{base}/review")
    assert "¥99" in text(client.get(f"{base}/review"))
