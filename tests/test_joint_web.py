"""Joint complaints on the web: consumers start, find, join, elect and submit; the
enterprise sees one grouped page with every member's claim and answers once; bad input
re-renders the form with its message and writes nothing."""

import pytest

from odr.auth.models import UserRole
from odr.disputes.joint import enterprise_groups
from odr.disputes.models import Complaint, JointComplaint, Offer
from odr.disputes.states import State
from odr.extensions import db
from tests import factories
from tests.factories import PASSWORD


@pytest.fixture(autouse=True)
def _stub_pdf(monkeypatch):
    monkeypatch.setattr(
        "odr.disputes.records.render_pdf", lambda template, context: b"%PDF-1.4 stub"
    )


class Browser:
    """A signed-in client whose every request runs in an app context of its own (as in
    production: the test's context would keep one user in `g` for all clients)."""

    def __init__(self, app, user):
        self.app, self.client = app, app.test_client()
        response = self.post("/auth/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302

    def get(self, *args, **kwargs):
        with self.app.app_context():
            return self.client.get(*args, **kwargs)

    def post(self, *args, **kwargs):
        with self.app.app_context():
            return self.client.post(*args, **kwargs)


def login(app, user):
    return Browser(app, user)


CLAIM = {
    "purchase_date": "2026-09-01",
    "amount": "3000",
    "claimed_amount": "2000",
    "requests": "refund",
    "complainant_address": "郑州市金水区",
    "facts": "预付卡无法使用",
}


def test_consumers_start_join_elect_and_submit_then_the_enterprise_answers_once(app, world):
    third = factories.user(UserRole.CONSUMER, "third@test.example", "赵六", locale="en")
    db.session.commit()
    alice, bob, carol = (login(app, u) for u in (world.consumer, world.other_consumer, third))

    page = alice.get(f"/consumer/joint/new?enterprise_id={world.enterprise.id}")
    assert page.status_code == 200 and "joint-start-form" in page.get_data(as_text=True)
    bad = alice.post(
        "/consumer/joint/new",
        data={
            "enterprise_id": world.enterprise.id,
            "issue": "prepaid_card",
            "subject": "",
            "facts": "x",
        },
    )
    assert bad.status_code == 422 and "error-summary" in bad.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(JointComplaint)) == 0
    started = alice.post(
        "/consumer/joint/new",
        data={
            "enterprise_id": world.enterprise.id,
            "issue": "prepaid_card",
            "subject": "健身卡",
            "facts": "健身房关门",
            "green_channel": "y",
        },
    )
    assert started.status_code == 302
    joint = db.session.scalar(db.select(JointComplaint))
    url = f"/consumer/joint/{joint.id}"

    # Others find it in the list and join with their own claim.
    assert "健身卡" in bob.get("/consumer/joint").get_data(as_text=True)
    for client in (alice, bob, carol):
        joined = client.post(url + "/join", data=CLAIM)
        assert joined.status_code == 302, joined.get_data(as_text=True)[:500]
    again = bob.post(url + "/join", data=CLAIM, follow_redirects=True)
    assert "已经是" in again.get_data(as_text=True) or "already" in again.get_data(as_text=True)
    wrong = factories.user(UserRole.CONSUMER)
    db.session.commit()
    invalid = login(app, wrong).post(url + "/join", data={**CLAIM, "amount": "abc"})
    assert invalid.status_code == 422

    detail = bob.get(url).get_data(as_text=True)
    assert "张*" in detail and "张三" not in detail  # fellow members are masked
    from odr.disputes.joint import members_of

    members = {m.consumer_id: m.id for m in members_of(joint)}
    assert (
        alice.post(
            url + "/representatives", data={"member_ids": str(members[world.consumer.id])}
        ).status_code
        == 302
    )
    assert bob.post(url + "/submit", follow_redirects=True).status_code == 200
    assert db.session.get(JointComplaint, joint.id).state == "gathering"
    assert alice.post(url + "/submit").status_code == 302
    db.session.expire_all()
    assert db.session.get(JointComplaint, joint.id).state == "submitted"

    # The enterprise: its inbox shows the group; one page with every claim; one answer.
    owner = login(app, world.owner)
    inbox = owner.get("/merchant/inbox").get_data(as_text=True)
    assert joint.reference in inbox
    (listed,) = enterprise_groups(world.enterprise.id)
    assert (listed.id, listed.members, listed.open) == (joint.id, 3, 3)
    assert listed.deadline_at is not None
    assert enterprise_groups(-1) == []
    grouped = owner.get(f"/merchant/joint/{joint.id}")
    assert grouped.status_code == 200, grouped.get_data(as_text=True)[:2000]
    text = grouped.get_data(as_text=True)
    assert "张三" in text and "李四" in text and "赵六" in text
    assert text.count('class="claim') == 3
    bad = owner.post(
        f"/merchant/joint/{joint.id}/offers",
        data={
            "joint-remedy": "refund",
            "joint-mode": "share",
            "joint-share_percent": "150",
            "joint-terms": "退款",
        },
    )
    assert bad.status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(Offer)) == 0
    sent = owner.post(
        f"/merchant/joint/{joint.id}/offers",
        data={
            "joint-remedy": "refund",
            "joint-mode": "share",
            "joint-share_percent": "75",
            "joint-terms": "退还75%",
        },
    )
    assert sent.status_code == 302
    amounts = db.session.scalars(db.select(Offer.amount)).all()
    assert [f"{a:.2f}" for a in amounts] == ["1500.00"] * 3
    csv = owner.get("/merchant/inbox/export.csv").get_data(as_text=True)
    assert csv.count(joint.reference) == 3

    # Each member answers on their own case page.
    case = db.session.scalar(db.select(Complaint).where(Complaint.consumer_id == third.id))
    offer = db.session.scalar(db.select(Offer).where(Offer.complaint_id == case.id))
    assert carol.post(f"/consumer/cases/{case.id}/offers/{offer.id}/accept").status_code == 302
    db.session.expire_all()
    assert db.session.get(Complaint, case.id).state == State.SETTLED


def test_pages_of_a_group_are_not_for_strangers(app, world):
    from odr.disputes import joint

    group = joint.start(
        world.consumer,
        {"enterprise_id": world.enterprise.id, "issue": "price", "subject": "s", "facts": "f"},
    )
    db.session.commit()
    # Before submission the enterprise has no grouped page.
    assert login(app, world.owner).get(f"/merchant/joint/{group.id}").status_code == 404
    assert login(app, world.other_agent).get(f"/merchant/joint/{group.id}").status_code == 404
    assert login(app, world.consumer).get("/consumer/joint/999999").status_code == 404
