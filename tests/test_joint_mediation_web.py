"""The mediator's web page of a joint complaint: the member cases together, accepted at
once, and one agreement text proposed with an amount per member; bad input re-renders the
page with its message and writes nothing; another office's mediator finds nothing."""

import pytest
from flask_babel import refresh

from odr.disputes.models import Agreement, Complaint
from odr.disputes.states import State
from odr.extensions import db
from tests.test_joint import case_ids, submitted_group
from tests.test_joint_web import login


@pytest.fixture(autouse=True)
def _stub_pdf(monkeypatch):
    monkeypatch.setattr(
        "odr.disputes.records.render_pdf", lambda template, context: b"%PDF-1.4 stub"
    )


def html(response) -> str:
    return response.get_data(as_text=True)


def agreements() -> int:
    return db.session.scalar(db.select(db.func.count(Agreement.id)))


def test_a_mediator_accepts_the_group_and_proposes_one_agreement(app, world, api):
    data, _people = submitted_group(api, world, n=3)
    ids = case_ids(data)
    declined = api.post(world.agent, f"/joint-complaints/{data['id']}/decline", json={})
    assert declined.status_code == 200, declined.get_json()
    page_url = f"/mediation/joint/{data['id']}"

    # Another office's mediator has no part in the group.
    stranger = login(app, world.other_mediator)
    assert stranger.get(page_url).status_code == 404
    assert stranger.post(f"{page_url}/accept").status_code == 404

    mediator = login(app, world.mediator)
    # A member case's page points to its group.
    acceptance = html(mediator.get(f"/mediation/cases/{ids[0]}/acceptance"))
    assert 'id="joint-banner"' in acceptance and page_url in acceptance

    page = mediator.get(page_url)
    assert page.status_code == 200
    text = html(page)
    for case_id in ids:
        assert f'data-case="{case_id}"' in text
    assert 'id="joint-accept-form"' in text
    assert 'id="joint-agreement-form"' in text and "amount-" not in text  # none in mediation yet
    refresh()
    assert "Accept every member case" in html(mediator.get(f"{page_url}?lang=en"))
    refresh()
    assert "受理全部成员案件" in html(mediator.get(f"{page_url}?lang=zh_CN"))

    accepted = mediator.post(f"{page_url}/accept", data={})
    assert accepted.status_code == 302
    db.session.expire_all()
    cases = [db.session.get(Complaint, i) for i in ids]
    assert {(c.state, c.mediator_id) for c in cases} == {(State.MEDIATING, world.mediator.id)}
    # Accepting again: nothing awaits; a message, no error page.
    again = mediator.post(f"{page_url}/accept", data={}, follow_redirects=True)
    assert again.status_code == 200 and "alert-danger" in html(again)

    text = html(mediator.get(page_url))
    assert 'id="joint-accept-form"' not in text
    for case_id in ids:
        assert f'name="amount-{case_id}"' in text

    terms = "被申请人按下列金额退还各会员预付卡余额。\nThe respondent refunds each member."
    bad = [
        ({"jagr-terms": "", f"amount-{ids[0]}": "100"}, "jagr-terms"),
        ({"jagr-terms": terms}, "Give an amount for at least one member"),
        ({"jagr-terms": terms, f"amount-{ids[0]}": "abc"}, "Enter each amount"),
        ({"jagr-terms": terms, f"amount-{ids[0]}": "-5"}, "Enter each amount"),
    ]
    refresh()
    for form, message in bad:
        response = mediator.post(f"{page_url}/agreement?lang=en", data=form)
        assert response.status_code == 422, form
        assert message in html(response)
        assert agreements() == 0
    # A case outside the group, slipped into the form: refused, nothing written.
    outsider = factories_case(world)
    response = mediator.post(
        f"{page_url}/agreement?lang=en",
        data={"jagr-terms": terms, f"amount-{ids[0]}": "100", f"amount-{outsider}": "100"},
    )
    assert response.status_code == 422
    assert "not a member of this group" in html(response)
    assert agreements() == 0

    # Two members get an amount; the third is left out (they continue or end alone).
    response = mediator.post(
        f"{page_url}/agreement",
        data={"jagr-terms": terms, f"amount-{ids[0]}": "2000", f"amount-{ids[1]}": "1500.50"},
    )
    assert response.status_code == 302
    made = {
        a.complaint_id: (str(a.amount), a.terms, a.proposed_by_id)
        for a in db.session.scalars(db.select(Agreement))
    }
    assert made == {
        ids[0]: ("2000.00", terms, world.mediator.id),
        ids[1]: ("1500.50", terms, world.mediator.id),
    }


def factories_case(world) -> int:
    from tests.factories import file_case

    return file_case(world.other_consumer, world.enterprise).id
