"""PDF records: what they say (text read back from the PDF), the embedded CJK font, the
bytes that never change, and the public verification by code and by upload."""

import hashlib
import io
import re
import subprocess
from datetime import timedelta
from decimal import Decimal

import pdfplumber
import pytest

from odr.disputes import deadlines, records
from odr.disputes import operations as ops
from odr.disputes.choices import RecordKind
from odr.disputes.models import Record
from odr.disputes.record_data import rmb_upper
from odr.disputes.states import State
from odr.disputes.sweep import sweep
from odr.extensions import db
from tests.factories import file_case, shanghai

TERMS = "被申请人为申请人办理退货退款。\n申请人于三日内将羽绒服寄回被申请人。"


def pdf_text(data: bytes) -> str:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        text = "\n".join(page.extract_text() or "" for page in pdf.pages)
    return text


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def mediated_case(world, consumer=None, *, amount="1299.00"):
    consumer = consumer or world.consumer
    complaint = file_case(consumer, world.enterprise, now=shanghai(2026, 10, 12))
    ops.escalate(consumer, complaint, now=shanghai(2026, 10, 13))
    ops.accept_case(world.mediator, complaint, now=shanghai(2026, 10, 14))
    ops.propose_agreement(
        world.mediator,
        complaint,
        terms=TERMS,
        amount=amount,
        performance_due="2026-10-30",
        now=shanghai(2026, 10, 15),
    )
    ops.sign_agreement(
        consumer, complaint, ip_address="203.0.113.7", now=shanghai(2026, 10, 15, 14)
    )
    ops.sign_agreement(
        world.owner, complaint, ip_address="198.51.100.2", now=shanghai(2026, 10, 15, 16)
    )
    db.session.commit()
    assert complaint.state == State.MEDIATED
    return complaint


def record_of(complaint, kind) -> Record:
    return db.session.scalar(
        db.select(Record).where(Record.complaint_id == complaint.id, Record.kind == kind)
    )


# -- the mediation agreement ---------------------------------------------------------------


def test_mediation_agreement_says_who_what_and_how_much_in_chinese(world):
    complaint = mediated_case(world)
    record = record_of(complaint, RecordKind.MEDIATION_AGREEMENT)
    text = flat(pdf_text(records.record_bytes(record)))
    for expected in (
        "调解书",
        complaint.reference,
        "张三",  # the consumer
        "郑州测试百货有限公司",  # the enterprise
        "91330100716105852F",
        "被申请人为申请人办理退货退款。",
        "申请人于三日内将羽绒服寄回被申请人。",
        "¥1,299.00",
        "人民币壹仟贰佰玖拾玖元整",
        "2026年10月30日",
        "金水区市场监督管理局",
        "金水调解员",
        "2026-10-1514:00",  # consumer's signature time (spaces flattened)
        "2026-10-1516:00",
        "203.0.113.7",
        record.code,
        f"/verify/{record.code}",
    ):
        assert expected in text, expected
    # The consumer's phone is masked on the document.
    assert "13800000000" not in text


def test_the_record_embeds_a_cjk_font(world, tmp_path):
    complaint = mediated_case(world)
    record = record_of(complaint, RecordKind.MEDIATION_AGREEMENT)
    path = tmp_path / "record.pdf"
    path.write_bytes(records.record_bytes(record))
    output = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    cjk = [line for line in output.stdout.splitlines() if "CJK" in line]
    assert cjk, output.stdout
    # Columns: name type encoding emb sub uni ...: every CJK font embedded (and subset).
    for line in cjk:
        columns = line.split()
        assert columns[-5] == "yes", line  # emb
        assert columns[-4] == "yes", line  # sub: never the whole 20 MB font


def test_stored_bytes_and_sha256_never_change(world, client):
    complaint = mediated_case(world)
    record = record_of(complaint, RecordKind.MEDIATION_AGREEMENT)
    first = records.record_bytes(record)
    assert hashlib.sha256(first).hexdigest() == record.sha256
    assert first.startswith(b"%PDF")
    # The case moves on (performance reported, the name corrected): the record stays.
    ops.report_performance(world.consumer, complaint, status="confirmed")
    complaint.complainant_name = "张三丰"
    db.session.commit()
    assert records.record_bytes(record) == first
    from tests.test_mediation_web import login

    login(client, world.mediator)
    url = f"/mediation/cases/{complaint.id}/records/{record.code}.pdf"
    one, two = client.get(url), client.get(url)
    assert one.data == two.data == first
    assert (
        db.session.scalar(
            db.select(db.func.count(Record.id)).where(
                Record.complaint_id == complaint.id, Record.kind == RecordKind.MEDIATION_AGREEMENT
            )
        )
        == 1
    )


def test_an_english_case_gets_an_english_record(world):
    complaint = mediated_case(world, consumer=world.consumer_en)
    record = record_of(complaint, RecordKind.MEDIATION_AGREEMENT)
    assert record.language == "en"
    text = pdf_text(records.record_bytes(record))
    assert "Mediation Agreement" in text
    assert "Jane Doe" in text
    assert "1,299.00" in text
    assert "调解书" not in text


# -- the other records ---------------------------------------------------------------------


def test_refusal_decision_names_the_reason(world):
    complaint = file_case(world.consumer, world.enterprise, green_channel=False)
    ops.refuse_case(
        world.mediator,
        complaint,
        reason="R3",
        explanation="申请人购买二十件用于转售，不属于生活消费。",
    )
    db.session.commit()
    record = record_of(complaint, RecordKind.REFUSAL)
    text = flat(pdf_text(records.record_bytes(record)))
    assert "投诉不予受理决定书" in text
    assert "R3" in text
    assert flat("不是为生活消费需要购买、使用商品或者接受服务") in text
    assert "申请人购买二十件用于转售，不属于生活消费。" in text
    assert complaint.reference in text and "张三" in text


def test_mediation_past_45_working_days_is_terminated_t5_by_the_sweep(world):
    complaint = file_case(
        world.consumer,
        world.enterprise,
        green_channel=False,
        purchase_date="2026-07-01",
        now=shanghai(2026, 8, 3),
    )
    ops.accept_case(world.mediator, complaint, now=shanghai(2026, 8, 4))
    db.session.commit()
    deadline = complaint.deadline_at
    assert deadlines.local_date(deadline) == deadlines.add_working_days(
        deadlines.local_date(shanghai(2026, 8, 4)), 45
    )
    # The day before the deadline's end nothing happens; the day after, T5.
    assert sweep(deadline - timedelta(hours=1)).count("terminated_t5") == 0
    report = sweep(shanghai(2026, 10, 30))
    assert report.count("terminated_t5") == 1
    db.session.expire_all()
    assert complaint.state == State.TERMINATED
    assert complaint.termination_reason == "T5"
    record = record_of(complaint, RecordKind.TERMINATION)
    text = flat(pdf_text(records.record_bytes(record)))
    assert "终止调解决定书" in text
    assert "T5" in text
    assert flat("自投诉受理之日起四十五个工作日内投诉人和被投诉人未能达成调解协议") in text


def test_settlement_record_on_an_accepted_offer_is_sealed_by_the_portal(world):
    complaint = file_case(world.consumer, world.enterprise)
    offer = ops.make_offer(
        world.agent, complaint, remedy="refund", amount="800.00", terms="退还货款八百元。"
    )
    ops.accept_offer(world.consumer, complaint, offer.id)
    db.session.commit()
    record = record_of(complaint, RecordKind.SETTLEMENT)
    text = flat(pdf_text(records.record_bytes(record)))
    for expected in (
        "和解协议书",
        "退还货款八百元。",
        "¥800.00",
        "人民币捌佰元整",
        "张三",
        "郑州测试百货有限公司",
        "客服小刘",
        "在线消费纠纷解决平台",
    ):
        assert expected in text, expected


def test_case_file_has_timeline_messages_offers_and_evidence_but_no_private_notes(world):
    complaint = file_case(world.consumer, world.enterprise)
    ops.make_offer(world.agent, complaint, remedy="repair", amount="0", terms="免费维修拉链。")
    ops.post_message(world.consumer, complaint, "我不接受维修。")
    from odr.disputes.evidence import store_evidence

    store_evidence(
        world.consumer, io.BytesIO(b"%PDF-1.4\n%test\n"), "发票.pdf", complaint=complaint
    )
    ops.escalate(world.consumer, complaint)
    ops.accept_case(world.mediator, complaint)
    ops.post_message(world.mediator, complaint, "内部：消费者诉求合理。", internal=True)
    record = records.issue_case_file(world.mediator, complaint)
    db.session.commit()
    text = flat(pdf_text(records.record_bytes(record)))
    for expected in (
        "投诉案件档案",
        "提交投诉",
        "消费者申请调解",
        "受理调解",
        "免费维修拉链。",
        "我不接受维修。",
        "发票.pdf",
    ):
        assert expected in text, expected
    assert "内部：消费者诉求合理。" not in text


def test_a_party_outside_the_case_cannot_ask_for_the_case_file(world):
    from odr.disputes.states import NotFound

    complaint = file_case(world.consumer, world.enterprise)
    with pytest.raises(NotFound):
        records.issue_case_file(world.other_consumer, complaint)


def test_a_record_that_cannot_be_built_never_stops_the_move(world, monkeypatch):
    from odr.disputes import record_data

    def broken(*args, **kwargs):
        raise AttributeError("a field is missing")

    monkeypatch.setattr(record_data, "build_context", broken)
    complaint = file_case(world.consumer, world.enterprise, green_channel=False)
    ops.accept_case(world.mediator, complaint)
    ops.terminate(world.mediator, complaint, reason="T4")
    db.session.commit()
    assert complaint.state == State.TERMINATED
    record = record_of(complaint, RecordKind.TERMINATION)
    text = flat(pdf_text(records.record_bytes(record)))
    assert complaint.reference in text and record.code in text


def test_sparse_cases_render_in_full(world):
    """An unlisted respondent, no due date, nothing to pay, no explanation."""
    complaint = file_case(
        world.consumer,
        None,
        respondent_name="路边小店",
        respondent_region_code="410105",
        purchase_place=None,
        purchase_url="https://shop.example/item/1",
    )
    ops.accept_case(world.mediator, complaint)
    ops.propose_agreement(world.mediator, complaint, terms="小店向消费者赔礼道歉。", amount="0")
    ops.sign_agreement(world.consumer, complaint)
    db.session.commit()
    assert complaint.state == State.MEDIATED
    record = record_of(complaint, RecordKind.MEDIATION_AGREEMENT)
    text = flat(pdf_text(records.record_bytes(record)))
    assert "路边小店" in text and "小店向消费者赔礼道歉。" in text
    assert "调解书" in text


# -- verification --------------------------------------------------------------------------


def test_verification_answers_valid_with_the_same_sha256_and_no_personal_data(world, client):
    complaint = mediated_case(world)
    record = record_of(complaint, RecordKind.MEDIATION_AGREEMENT)
    info = records.verification(record.code)
    assert info["valid"] is True
    assert info["sha256"] == hashlib.sha256(records.record_bytes(record)).hexdigest()
    assert info["kind"] == "mediation_agreement"
    assert info["reference"] == complaint.reference
    # Lower case and dashes as people type them are accepted.
    assert records.verification(record.code.lower()[:8] + "-" + record.code.lower()[8:])["valid"]
    response = client.get(f"/verify/{record.code}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-valid="yes"' in html and record.sha256 in html and complaint.reference in html
    for personal in ("张三", "郑州测试百货有限公司", "13800000000", "金水调解员", "203.0.113.7"):
        assert personal not in html


def test_verification_answers_invalid_for_an_unknown_code(world, client):
    assert records.verification("ABCDEFGHJKLMNPQR")["valid"] is False
    assert records.verification("not a code")["valid"] is False
    response = client.get("/verify/ABCDEFGHJKLMNPQR")
    assert response.status_code == 404
    assert 'data-valid="no"' in response.get_data(as_text=True)
    assert client.get("/verify/%3Cscript%3E").status_code == 404


def test_the_code_form_leads_to_the_result(world, client):
    complaint = mediated_case(world)
    record = record_of(complaint, RecordKind.MEDIATION_AGREEMENT)
    assert client.get("/verify").status_code == 200
    response = client.get("/verify", query_string={"code": record.code.lower()})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/verify/{record.code}")
    bad = client.get("/verify", query_string={"code": "123"})
    assert bad.status_code == 200 and "16" in bad.get_data(as_text=True)


def upload(client, url, data: bytes):
    return client.post(
        url,
        data={"pdf": (io.BytesIO(data), "record.pdf")},
        content_type="multipart/form-data",
    )


def test_uploading_the_issued_pdf_is_identical_and_a_changed_byte_is_not(world, client):
    complaint = mediated_case(world)
    record = record_of(complaint, RecordKind.MEDIATION_AGREEMENT)
    original = records.record_bytes(record)
    same = upload(client, f"/verify/{record.code}", original).get_data(as_text=True)
    assert 'data-identical="yes"' in same
    tampered = bytearray(original)
    tampered[len(tampered) // 2] ^= 0x01
    changed = upload(client, f"/verify/{record.code}", bytes(tampered)).get_data(as_text=True)
    assert 'data-identical="no"' in changed
    assert hashlib.sha256(bytes(tampered)).hexdigest() in changed
    assert records.same_bytes(record, original)
    assert not records.same_bytes(record, bytes(tampered))


def test_uploading_a_file_without_a_code_finds_the_record_it_is(world, client):
    complaint = mediated_case(world)
    record = record_of(complaint, RecordKind.MEDIATION_AGREEMENT)
    original = records.record_bytes(record)
    found = upload(client, "/verify", original)
    html = found.get_data(as_text=True)
    assert found.status_code == 200
    assert 'data-valid="yes"' in html and 'data-identical="yes"' in html and record.code in html
    tampered = original[:-1] + bytes([original[-1] ^ 0xFF])
    html = upload(client, "/verify", tampered).get_data(as_text=True)
    assert 'data-identical="no"' in html and record.code not in html
    empty = client.post("/verify", data={}, content_type="multipart/form-data")
    assert empty.status_code == 422


def test_the_upload_forms_are_csrf_protected(world, client, app):
    complaint = mediated_case(world)
    record = record_of(complaint, RecordKind.MEDIATION_AGREEMENT)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        html = client.get(f"/verify/{record.code}").get_data(as_text=True)
        assert 'name="csrf_token"' in html
        response = upload(client, f"/verify/{record.code}", records.record_bytes(record))
        assert response.status_code == 400
        response = upload(client, "/verify", records.record_bytes(record))
        assert response.status_code == 400
        assert "data-identical" not in response.get_data(as_text=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


# -- pieces --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("1299.00", "壹仟贰佰玖拾玖元整"),
        ("100000", "壹拾万元整"),
        ("10050", "壹万零伍拾元整"),
        ("1010", "壹仟零壹拾元整"),
        ("1.05", "壹元零伍分"),
        ("0.50", "伍角整"),
        ("0", "零元整"),
        ("200000000.01", "贰亿元零壹分"),
    ],
)
def test_amounts_in_chinese_capitals(amount, words):
    assert rmb_upper(Decimal(amount)) == words


def test_the_seal_is_drawn_from_the_body_name():
    svg = records.seal_svg("金水区市场监督管理局", "调解专用章")
    assert svg.startswith("<svg") and "<circle" in svg and "<polygon" in svg
    for char in "金水区市场监督管理局调解专用章":
        assert f">{char}<" in svg or char in svg
    assert records.seal_svg_data_uri("金水区").startswith("data:image/svg+xml;base64,")
    # Markup in a name cannot break out of the drawing.
    assert "<script" not in records.seal_svg("<script>")


def test_emoji_in_the_terms_are_glyphs_not_boxes(world, tmp_path):
    """Consumers and mediators write emoji; the record embeds a font that has them (Symbola,
    after the CJK fonts), so the text extracts as written and nothing prints as a box."""
    consumer = world.consumer
    complaint = file_case(consumer, world.enterprise, now=shanghai(2026, 10, 12))
    ops.escalate(consumer, complaint, now=shanghai(2026, 10, 13))
    ops.accept_case(world.mediator, complaint, now=shanghai(2026, 10, 14))
    terms = "被申请人退款 👍，申请人满意 😊。"
    ops.propose_agreement(
        world.mediator,
        complaint,
        terms=terms,
        amount="88.00",
        performance_due="2026-10-30",
        now=shanghai(2026, 10, 15),
    )
    ops.sign_agreement(consumer, complaint, ip_address="203.0.113.7", now=shanghai(2026, 10, 15))
    ops.sign_agreement(
        world.owner, complaint, ip_address="198.51.100.2", now=shanghai(2026, 10, 16)
    )
    db.session.commit()
    data = records.record_bytes(record_of(complaint, RecordKind.MEDIATION_AGREEMENT))
    assert flat(terms) in flat(pdf_text(data))
    path = tmp_path / "record.pdf"
    path.write_bytes(data)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    symbola = [line for line in fonts.stdout.splitlines() if "Symbola" in line]
    assert symbola and all(line.split()[-5:-3] == ["yes", "yes"] for line in symbola), fonts.stdout
