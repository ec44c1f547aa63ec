"""docs/GLOSSARY.md: one word for one thing. The catalog gives each glossary term its one
Chinese name (and marks the entry for translators), a record's name is the same on the page,
the link and the PDF's heading, and moments and money are written one way per language."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from odr.disputes import formats
from odr.disputes.choices import RecordKind
from odr.disputes.record_data import document_title
from odr.web import localdt

CATALOG = Path(__file__).parent.parent / "odr/translations/zh_CN/LC_MESSAGES/messages.po"

# English term -> its one Chinese name (docs/GLOSSARY.md).
TERMS = {
    "Date of purchase": "购买日期",
    "Purchased on": "购买日期",
    "Settlement agreement": "和解协议书",
    "Mediation agreement": "调解书",
    "Refusal decision": "投诉不予受理决定书",
    "Termination decision": "终止调解决定书",
    "Case file": "投诉案件档案",
    "Mediation queue": "调解案件",
    "Consultations and reports": "咨询举报",
    "Scoreboard": "企业榜单",
    "Verify a record": "文书核验",
    "Redo": "重作",
    "Make up quantity": "补足商品数量",
    "Expired": "已过期",
}


@pytest.fixture(scope="module")
def catalog():
    with CATALOG.open("rb") as f:
        return read_po(f)


@pytest.mark.parametrize("english", list(TERMS))
def test_a_glossary_term_has_its_one_chinese_name_and_a_translator_note(catalog, english):
    message = catalog[english]
    assert message.string == TERMS[english]
    assert any(c.startswith("glossary:") for c in message.user_comments), english


def test_no_other_word_for_the_date_of_purchase(catalog):
    assert not [m.id for m in catalog if m.id and "消费日期" in (m.string or "")]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_a_records_pdf_heading_is_its_name(app, lang):
    with app.test_request_context(), force_locale(lang):
        for kind in RecordKind:
            label, title = str(kind.label), document_title(kind)
            assert title.lower() == label.lower()


@pytest.mark.parametrize(
    ("lang", "shown"),
    [("zh_CN", "2026-12-11 14:30（北京时间）"), ("en", "2026-12-11 14:30 (China time, UTC+8)")],
)
def test_a_moment_names_its_zone(app, lang, shown):
    with app.test_request_context(), force_locale(lang):
        assert localdt(datetime(2026, 12, 11, 6, 30, tzinfo=UTC)) == shown


def test_money_has_separators():
    assert formats.money(Decimal("1299")) == "¥1,299.00"
    assert formats.money("1234567.5") == "¥1,234,567.50"


def test_chinese_case_pages_name_requests_in_chinese(world, client):
    from odr.disputes import operations as ops
    from tests.factories import PASSWORD, file_case

    case = file_case(world.consumer, world.enterprise, requests=["redo", "make_up"])
    ops.escalate(world.consumer, case)
    from odr.extensions import db

    db.session.commit()
    pages = {
        world.consumer: f"/consumer/cases/{case.id}",
        world.agent: f"/merchant/cases/{case.id}",
        world.mediator: f"/mediation/cases/{case.id}",
    }
    for user, path in pages.items():
        client.post("/auth/logout")
        client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
        html = client.get(path + "?lang=zh_CN").get_data(as_text=True)
        assert "重作" in html and "补足商品数量" in html, path
        assert "Redo" not in html and "Make up quantity" not in html, path
        # No file type (MIME type) in the text a person reads.
        assert not re.search(r">[^<]*\b(image|application)/[a-z]", html.split("<main", 1)[1])
