"""Outcome guidance against hand-counted cases: the figures of each grouping, the fallback
to a coarser grouping when a group has fewer than 10 closed cases, the 10-case floor, and
the guidance on the wizard's review step, in the mediation workspace and in the API."""

from datetime import date, timedelta

import pytest

from odr.disputes import deadlines, guidance
from odr.disputes import operations as ops
from odr.extensions import db
from tests.access_runner import fast_passwords, stand_in_records  # noqa: F401 - fixtures
from tests.factories import PASSWORD, file_case, shanghai

FILED = shanghai(2026, 3, 2, 10)  # Monday


def workday(n: int):
    """The n-th working day after FILED, at 15:00 (no holiday in March 2026)."""
    day, left = date(2026, 3, 2), n
    while left:
        day += timedelta(days=1)
        left -= deadlines.is_workday(day)
    return shanghai(day.year, day.month, day.day, 15)


def filed(w, enterprise=None, **fields):
    """A case filed on FILED (bought before it)."""
    return file_case(
        w.consumer,
        enterprise or w.enterprise,
        now=FILED,
        commit=False,
        purchase_date="2026-02-01",
        **fields,
    )


def settle(w, enterprise, owner, *, amount, claimed, refund, days):
    case = filed(w, enterprise, amount=amount, claimed_amount=claimed)
    offer = ops.make_offer(owner, case, remedy="refund", amount=refund, terms="退款", now=FILED)
    ops.accept_offer(w.consumer, case, offer.id, now=workday(days))


def mediate(w, *, refund, days):
    case = filed(w, claimed_amount="1000.00")
    ops.escalate(w.consumer, case, now=workday(1))
    ops.accept_case(w.mediator, case, now=workday(1))
    ops.propose_agreement(w.mediator, case, terms="退款", amount=refund, now=workday(2))
    ops.sign_agreement(w.consumer, case, now=workday(2))
    ops.sign_agreement(w.owner, case, now=workday(days))


def seed(w):
    """Against the Jinshui enterprise (E), issue quality, amount 1299 (band 500-2000),
    claimed 1000, all filed on Mon 2 Mar 2026:
      6 settled directly for 500, 600, 700, 800, 900, 1000 after 1..6 working days;
      1 withdrawn after 7; 1 terminated after 8; 2 mediated for 300 and 400 after 9, 10.
    Against E, quality, amount 50 (band under 100): 3 settled for the full 50 after 1 day.
    Against the Luoyang enterprise (O), quality, amount 1299: 2 settled for the full 1000
    after 1 day."""
    for i, refund in enumerate(("500", "600", "700", "800", "900", "1000"), start=1):
        settle(w, w.enterprise, w.owner, amount="1299", claimed="1000", refund=refund, days=i)
    withdrawn = filed(w)
    ops.withdraw(w.consumer, withdrawn, now=workday(7))
    ended = filed(w)
    ops.escalate(w.consumer, ended, now=workday(1))
    ops.accept_case(w.mediator, ended, now=workday(1))
    ops.terminate(w.mediator, ended, reason="T4", now=workday(8))
    mediate(w, refund="300", days=9)
    mediate(w, refund="400", days=10)
    for _ in range(3):
        settle(w, w.enterprise, w.owner, amount="50", claimed="50", refund="50", days=1)
    for _ in range(2):
        settle(
            w,
            w.other_enterprise,
            w.other_agent,
            amount="1299",
            claimed="1000",
            refund="1000",
            days=1,
        )
    file_case(w.consumer, w.enterprise, commit=False)  # open: never counted
    db.session.commit()


@pytest.mark.usefixtures("fast_passwords", "stand_in_records")
def test_figures_fallback_and_floor_against_hand_counts(world, api):
    w = world
    seed(w)
    e, o = w.enterprise.id, w.other_enterprise.id

    # E, quality, 1299: its own group has exactly 10 closed cases.
    assert guidance.for_filing(enterprise_id=e, issue="quality", amount="1299") == {
        "similar_cases": 10,
        "settled_directly": 0.6,
        "mediated": 0.2,
        "terminated": 0.1,
        "median_refund_share": 0.65,  # 0.3 .. 1.0 over the 8 agreed: (0.6 + 0.7) / 2
        "median_working_days": 5.5,  # 1 .. 10
        "basis": "enterprise_issue_band",
    }
    # E, quality, 50: 3 in its band, so enterprise + issue (13 cases).
    assert guidance.for_filing(enterprise_id=e, issue="quality", amount="50") == {
        "similar_cases": 13,
        "settled_directly": round(9 / 13, 4),
        "mediated": round(2 / 13, 4),
        "terminated": round(1 / 13, 4),
        "median_refund_share": 0.8,  # 11 agreed: .3 .4 .5 .6 .7 [.8] .9 1 1 1 1
        "median_working_days": 4.0,  # 1 1 1 1 2 3 [4] 5 6 7 8 9 10
        "basis": "enterprise_issue",
    }
    # O, quality, 1299: O has 2, so issue + band (E's 10 and O's 2).
    assert guidance.for_filing(enterprise_id=o, issue="quality", amount="1299") == {
        "similar_cases": 12,
        "settled_directly": round(8 / 12, 4),
        "mediated": round(2 / 12, 4),
        "terminated": round(1 / 12, 4),
        "median_refund_share": 0.75,  # .3 .4 .5 .6 .7 .8 .9 1 1 1
        "median_working_days": 4.5,  # 1 1 1 2 3 4 5 6 7 8 9 10
        "basis": "issue_band",
    }
    # O, quality, 50: 0 in O's band, 2 for O, 3 in the band: the issue alone (15).
    answer = guidance.for_filing(enterprise_id=o, issue="quality", amount="50")
    assert answer["basis"] == "issue" and answer["similar_cases"] == 15
    # An unlisted respondent and no amount: the issue alone.
    assert guidance.for_filing(issue="quality")["basis"] == "issue"

    # Another issue with 9 closed cases: nothing but the count is shown.
    for _ in range(9):
        case = file_case(w.consumer, w.enterprise, commit=False, issue="price")
        ops.withdraw(w.consumer, case)
    db.session.commit()
    below = api.get(None, f"/guidance?enterprise_id={e}&issue=price&amount=1299")
    assert below.status_code == 200
    assert below.json == {
        "similar_cases": 9,
        "settled_directly": None,
        "mediated": None,
        "terminated": None,
        "median_refund_share": None,
        "median_working_days": None,
        "basis": None,
    }
    case = file_case(w.consumer, w.enterprise, commit=False, issue="price")
    ops.withdraw(w.consumer, case)
    db.session.commit()
    shown = api.get(None, f"/guidance?enterprise_id={e}&issue=price&amount=1299").json
    assert shown["similar_cases"] == 10 and shown["settled_directly"] == 0.0
    assert shown["basis"] == "enterprise_issue_band" and shown["median_refund_share"] is None

    # Bad input is refused, never a 500; nothing personal is in the answer.
    assert api.get(None, "/guidance?issue=nonsense").status_code == 422
    assert api.get(None, "/guidance?issue=quality&amount=abc").status_code == 422
    assert api.get(None, "/guidance?issue=quality&enterprise_id=0").status_code == 422
    assert w.consumer.name not in api.get(None, "/guidance?issue=quality").get_data(as_text=True)


@pytest.mark.usefixtures("fast_passwords", "stand_in_records")
def test_guidance_is_read_from_the_snapshot(world, snapshots):
    w = world
    seed(w)
    first = guidance.for_filing(enterprise_id=w.enterprise.id, issue="quality", amount="1299")
    assert first["similar_cases"] == 10
    # A new closed case changes nothing until the snapshot is refreshed.
    case = file_case(w.consumer, w.enterprise, commit=False, amount="1299")
    ops.withdraw(w.consumer, case)
    db.session.commit()
    again = guidance.for_filing(enterprise_id=w.enterprise.id, issue="quality", amount="1299")
    assert again == first
    from odr.disputes import stats

    stats.refresh("guidance")
    fresh = guidance.for_filing(enterprise_id=w.enterprise.id, issue="quality", amount="1299")
    assert fresh["similar_cases"] == 11


@pytest.mark.usefixtures("fast_passwords", "stand_in_records")
def test_guidance_on_the_review_step_and_in_the_workspace(world, client):
    w = world
    seed(w)
    from odr.disputes import drafts

    draft = drafts.new_draft(w.consumer)
    draft.data = {
        "enterprise_id": str(w.enterprise.id),
        "green_channel": True,
        "subject_kind": "goods",
        "subject": "羽绒服",
        "purchase_date": "2026-09-01",
        "amount": "1299",
        "issue": "quality",
        "requests": ["refund"],
        "claimed_amount": "1299",
        "facts": "拉链坏了",
    }
    draft.step = "review"
    db.session.commit()
    client.post("/auth/login", data={"email": w.consumer.email, "password": PASSWORD})
    draft_path = f"/consumer/drafts/{draft.id}"
    page = client.get(f"{draft_path}/review").get_data(as_text=True)
    assert 'id="guidance"' in page and 'data-figure="settled_directly">60%' in page

    case = file_case(w.consumer, w.enterprise, commit=False, amount="1299")
    ops.escalate(w.consumer, case)
    db.session.commit()
    client.post("/auth/logout")
    client.post("/auth/login", data={"email": w.mediator.email, "password": PASSWORD})
    page = client.get(f"/mediation/cases/{case.id}").get_data(as_text=True)
    assert 'data-figure="median_working_days">5.5' in page
