"""Repeat and cluster detection, in Chinese and English: the one similarity rule
(odr/disputes/similar.py) behind the wizard's offer of the consumer's open case, its pointer
to a joint complaint to join, and the regulator's cluster warning."""

from datetime import timedelta

import pytest

from odr.auth.models import UserRole
from odr.disputes import joint as joints
from odr.disputes import operations as ops
from odr.disputes import similar, stats
from odr.disputes.models import Complaint, Draft
from odr.extensions import db
from odr.types import utcnow
from tests import factories
from tests.factories import file_case
from tests.test_consumer_wizard import login, text, yesterday


@pytest.mark.parametrize(
    "a, b, alike",
    [
        ("星光健身年卡", "星光健身 年卡退费", True),
        ("游泳年卡", "某某游泳馆游泳年卡退费", True),
        ("年卡 健身房 退款", "健身房年卡退款", True),
        ("健身房年卡", "洗衣机", False),
        ("美容卡", "健身卡", False),
        ("Annual gym membership", "gym membership (annual)", True),
        ("ＧＹＭ Membership", "gym membership", True),
        ("Prepaid gym card", "Gym prepaid card refund", True),
        ("Gym membership", "Washing machine", False),
        ("Flight CA1234 cancelled", "Hotel room booking", False),
    ],
)
def test_subjects_are_compared_by_character_in_chinese_and_by_word_in_english(a, b, alike):
    assert similar.similar_subjects(a, b) is alike
    assert similar.similar_subjects(b, a) is alike


def test_amounts_within_a_fifth_are_similar():
    assert similar.similar_amounts("3000", "2800.00")
    assert not similar.similar_amounts("3000", "1200")
    assert similar.similar_amounts("3000", None)  # not given: does not tell them apart


# -- the wizard ------------------------------------------------------------------------------


def to_review(client, enterprise, *, subject, amount, issue="prepaid_card"):
    """A draft taken through every step to the review page; its HTML."""
    response = client.post(
        "/consumer/file", data={"enterprise_id": str(enterprise.id), "green_channel": "y"}
    )
    assert response.status_code == 302, text(response)[:2000]
    draft = db.session.scalars(db.select(Draft).order_by(Draft.id.desc())).first()
    base = f"/consumer/drafts/{draft.id}"
    steps = [
        (
            "purchase",
            {
                "subject_kind": "service",
                "subject": subject,
                "purchase_date": yesterday(),
                "purchase_place": "郑州市金水区花园路",
                "amount": amount,
            },
        ),
        ("claim", {"issue": issue, "requests": ["refund"], "claimed_amount": amount}),
        (
            "facts",
            {
                "facts": "门店关闭，预付卡无法使用。",
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
    return base, text(client.get(f"{base}/review"))


@pytest.mark.parametrize(
    "lang, first, again, email",
    [
        ("zh_CN", "星光健身年卡", "星光健身 年卡退费", "consumer@test.example"),
        ("en", "Annual gym membership", "gym membership (annual)", "consumer.en@test.example"),
    ],
)
def test_the_wizard_offers_the_open_case_of_the_same_dispute_without_blocking(
    client, world, lang, first, again, email
):
    consumer = world.consumer if lang == "zh_CN" else world.consumer_en
    mine = file_case(
        consumer, world.enterprise, subject=first, amount="3000", claimed_amount="3000"
    )
    # Not offered: another consumer's case, another enterprise's, another purchase, a
    # very different amount, a closed case.
    file_case(world.other_consumer, world.enterprise, subject=first, amount="3000")
    file_case(consumer, world.other_enterprise, subject=first, amount="3000")
    file_case(consumer, world.enterprise, subject="洗衣机 washing machine", amount="3000")
    far = file_case(consumer, world.enterprise, subject=first, amount="300")
    closed = file_case(consumer, world.enterprise, subject=first, amount="3000")
    ops.withdraw(consumer, closed)
    db.session.commit()

    login(client, email)
    base, review = to_review(client, world.enterprise, subject=again, amount="2900")
    assert 'id="repeat-cases"' in review
    assert f"/consumer/cases/{mine.id}" in review
    for other in (far, closed):
        assert f"/consumer/cases/{other.id}" not in review
    heading = (
        "您已有一件与此相似的未结投诉"
        if lang == "zh_CN"
        else "You already have an open complaint that looks like this one"
    )
    assert heading in review

    # Offered, not forced: the consumer may file anyway.
    before = db.session.scalar(db.select(db.func.count(Complaint.id)))
    response = client.post(f"{base}/review", data={"confirm": "y"})
    assert response.status_code == 302
    assert db.session.scalar(db.select(db.func.count(Complaint.id))) == before + 1


def test_a_different_dispute_is_not_offered_as_a_repeat(client, world):
    file_case(world.consumer, world.enterprise, subject="羽绒服", amount="1299")
    login(client, "consumer@test.example")
    _base, review = to_review(client, world.enterprise, subject="星光健身年卡", amount="1299")
    assert 'id="repeat-cases"' not in review


@pytest.mark.parametrize(
    "lang, subject, typed, email",
    [
        ("zh_CN", "星光健身房预付年卡", "星光健身 预付年卡", "consumer@test.example"),
        (
            "en",
            "Starlight gym prepaid card",
            "prepaid card Starlight gym",
            "consumer.en@test.example",
        ),
    ],
)
def test_the_wizard_points_to_an_open_joint_complaint_on_the_same_issue(
    client, world, lang, subject, typed, email
):
    group = joints.start(
        world.other_consumer,
        {
            "enterprise_id": world.enterprise.id,
            "issue": "prepaid_card",
            "subject": subject,
            "facts": "健身房关门",
        },
    )
    # Not offered: another issue, another enterprise.
    other_issue = joints.start(
        world.other_consumer,
        {
            "enterprise_id": world.enterprise.id,
            "issue": "quality",
            "subject": subject,
            "facts": "x",
        },
    )
    db.session.commit()
    login(client, email)
    _base, review = to_review(client, world.enterprise, subject=typed, amount="2000")
    assert 'id="joint-offers"' in review
    assert f"/consumer/joint/{group.id}" in review
    assert f"/consumer/joint/{other_issue.id}" not in review
    join = f"加入 {group.reference}" if lang == "zh_CN" else f"Join {group.reference}"
    assert join in review

    _base, elsewhere = to_review(client, world.other_enterprise, subject=typed, amount="2000")
    assert 'id="joint-offers"' not in elsewhere


# -- the regulator's cluster warning ---------------------------------------------------------


def consumers(n):
    return [
        factories.user(UserRole.CONSUMER, f"c{i}@cluster.example", f"消费者{i}") for i in range(n)
    ]


@pytest.mark.parametrize(
    "subjects",
    [
        [
            "星光健身年卡",
            "星光健身 年卡退费",
            "星光健身房年卡",
            "年卡（星光健身）",
            "星光健身年卡退款",
        ],
        [
            "Starlight gym annual card",
            "annual card, Starlight gym",
            "Starlight Gym annual card refund",
            "STARLIGHT gym annual card",
            "starlight gym - annual card",
        ],
    ],
    ids=["zh", "en"],
)
def test_five_similar_complaints_in_a_week_raise_a_cluster(world, subjects):
    now = utcnow()
    people = consumers(6)
    for i, (person, subject) in enumerate(zip(people, subjects, strict=False)):
        file_case(person, world.enterprise, subject=subject, now=now - timedelta(days=i))
    # Unlike, or against another enterprise, or too old: not in the cluster.
    file_case(people[5], world.enterprise, subject="洗衣机 washing machine", now=now)
    file_case(people[5], world.other_enterprise, subject=subjects[0], now=now)
    file_case(people[5], world.enterprise, subject=subjects[0], now=now - timedelta(days=8))
    db.session.commit()

    found = [a for a in stats.early_warnings(now) if a["kind"] == "cluster"]
    assert len(found) == 1
    assert found[0]["current"] == 5 and found[0]["consumers"] == 5
    assert found[0]["enterprise_id"] == world.enterprise.id
    assert found[0]["name"] == world.enterprise.name


def test_four_consumers_or_five_different_complaints_raise_no_cluster(world):
    now = utcnow()
    people = consumers(5)
    for i, person in enumerate(people[:4]):
        file_case(person, world.enterprise, subject="星光健身年卡", now=now - timedelta(hours=i))
    # One consumer filing the same again is a repeat, not a fifth voice.
    file_case(people[0], world.enterprise, subject="星光健身年卡", now=now)
    file_case(people[4], world.enterprise, subject="洗衣机", now=now)
    for i, subject in enumerate(["羽绒服", "Laptop", "冰箱", "Hotel room"]):
        file_case(people[4], world.other_enterprise, subject=subject, now=now - timedelta(hours=i))
    db.session.commit()
    assert [a for a in stats.early_warnings(now) if a["kind"] == "cluster"] == []


def test_the_console_shows_the_cluster_in_both_languages(client, world):
    now = utcnow()
    for person in consumers(5):
        file_case(person, world.enterprise, subject="星光健身年卡", now=now)
    db.session.commit()
    from tests.test_consumer_wizard import in_language

    login(client, "admin@test.example")
    for lang, words in (("zh_CN", "5 件相似投诉"), ("en", "5 similar complaints")):
        page = in_language(client, "/admin/", lang)
        assert 'data-alert-kind="cluster"' in page
        assert words in page
        listing = in_language(client, "/admin/alerts?kind=cluster", lang)
        assert "星光健身年卡" in listing and world.enterprise.name in listing


def test_the_cluster_index_applies_the_same_rule_as_a_pair_by_pair_comparison():
    """clusters() matches each subject against every cluster at once (rapidfuzz's C loops);
    it finds a cluster exactly when one of their first subjects passes the pair rule."""
    import random

    rng = random.Random(7)
    zh = [
        "健身",
        "年卡",
        "洗衣机",
        "冰箱",
        "羽绒服",
        "手机",
        "课程",
        "培训",
        "美容",
        "会员",
        "机票",
        "退款",
        "维修",
    ]
    en = [
        "gym",
        "card",
        "washing",
        "machine",
        "fridge",
        "coat",
        "phone",
        "course",
        "beauty",
        "flight",
        "refund",
    ]
    subjects = []
    for i in range(300):
        if i % 3 == 0:
            subjects.append("".join(rng.sample(zh, rng.randrange(1, 4))))
        elif i % 3 == 1:
            subjects.append(" ".join(rng.sample(en, rng.randrange(1, 4))))
        else:
            subjects.append(f"{rng.choice(zh)} {rng.choice(en)}")
    leaders = similar._Leaders()
    for subject in subjects:
        k = similar.key(subject)
        found = leaders.match(k)
        passing = [i for i, lk in enumerate(leaders.keys) if similar.key_score(k, lk) >= 80]
        assert (found is None) == (not passing), subject
        assert found is None or found in passing
        if found is None:
            leaders.add(k)
    assert 10 < len(leaders.keys) < 300
