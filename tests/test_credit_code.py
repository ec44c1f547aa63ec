"""Unified social credit codes (GB 32100-2015): the check character is validated, and a
wrong code is refused with a message that says what is wrong."""

import pytest
from flask_babel import force_locale

from odr.disputes import enterprises
from odr.disputes import operations as ops
from odr.disputes.credit_code import ALPHABET, check_character, credit_code_error
from odr.disputes.models import Enterprise, EnterpriseStatus, RegionLevel
from odr.disputes.operations import credit_code_message
from odr.disputes.states import Invalid
from tests import factories

VALID = ["91330100716105852F", "91110000802100433B"]
CHECK_MESSAGE = "The check character (the last one) does not match: please check the code."


def altered_last(code: str) -> list[str]:
    """The code with its last character replaced by every other character of the alphabet."""
    return [code[:17] + c for c in ALPHABET if c != code[17]]


def _application(code: str, n: int = 1) -> dict:
    return {
        "name": f"测试企业{n}有限公司",
        "credit_code": code,
        "region_code": "410105",
        "address": "郑州市金水区花园路1号",
        "contact_phone": "0371-12345678",
        "owner_email": f"owner{n}@apply.example",
        "owner_password": "Owner-pass-2026",
        "owner_name": "申请人",
    }


@pytest.fixture
def region(db):
    factories.region("410000", "河南省", RegionLevel.PROVINCE)
    factories.region("410100", "郑州市", RegionLevel.CITY, "410000")
    factories.region("410105", "金水区", RegionLevel.COUNTY, "410100")
    db.session.commit()


@pytest.mark.parametrize("code", VALID)
def test_valid_codes(code):
    assert credit_code_error(code) is None
    assert check_character(code[:17]) == code[17]
    assert credit_code_error(code.lower()) is None
    assert credit_code_error(f"  {code} ") is None


@pytest.mark.parametrize("code", VALID)
def test_any_other_last_character_fails_the_check(code):
    for wrong in altered_last(code):
        assert credit_code_error(wrong) == "check", wrong
    # Letters outside the alphabet (I, O, Z, S, V) are a different mistake.
    assert credit_code_error(code[:17] + "Z") == "characters"


def test_other_mistakes():
    assert credit_code_error("") == "length"
    assert credit_code_error("91330100716105852") == "length"
    assert credit_code_error("91330100716105852FF") == "length"
    assert credit_code_error("9133010071610585I2") == "characters"


@pytest.mark.parametrize("code", VALID)
def test_apply_accepts_a_valid_code(app, db, region, code):
    enterprise = enterprises.apply(**_application(code.lower()))
    db.session.commit()
    assert enterprise.credit_code == code
    assert enterprise.status == EnterpriseStatus.PENDING


@pytest.mark.parametrize("code", VALID)
def test_apply_refuses_the_changed_last_character_with_a_clear_message(app, db, region, code):
    wrong = code[:17] + ("A" if code[17] != "A" else "B")
    assert credit_code_error(wrong) == "check"
    with force_locale("en"), pytest.raises(Invalid) as raised:
        enterprises.apply(**_application(wrong))
    assert raised.value.fields["credit_code"] == CHECK_MESSAGE
    assert set(raised.value.fields) == {"credit_code"}  # nothing else was wrong
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(Enterprise)) == 0

    # In Chinese (the default language) the message is translated, not the English text.
    with force_locale("zh_CN"), pytest.raises(Invalid) as raised:
        enterprises.apply(**_application(wrong))
    message = raised.value.fields["credit_code"]
    assert message and message != CHECK_MESSAGE
    assert "校验" in message


def test_messages_say_what_is_wrong(app):
    with force_locale("en"):
        assert str(credit_code_message("check")) == CHECK_MESSAGE
        assert "18 characters" in str(credit_code_message("length"))
        assert "I, O, Z, S, V" in str(credit_code_message("characters"))


def test_a_complaint_against_an_unlisted_business_checks_the_code(world, db):
    data = factories.complaint_data(
        None,
        respondent_name="未入驻的小店",
        respondent_region_code="410105",
        respondent_credit_code=VALID[0][:17] + "G",
    )
    with force_locale("en"), pytest.raises(Invalid) as raised:
        ops.file_complaint(world.consumer, data)
    assert raised.value.fields["respondent_credit_code"] == CHECK_MESSAGE
    db.session.rollback()

    data["respondent_credit_code"] = VALID[1]
    complaint = ops.file_complaint(world.consumer, data)
    assert complaint.respondent_credit_code == VALID[1]
    assert complaint.state == "pending_acceptance"
