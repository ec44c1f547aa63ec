"""Every page shows what is in the database now: a write of any kind (a form, the API, the
sweep's moves, a statement that bypasses the ORM) shows on the next reading of every page
that lists it. Never one reader's page for another."""

import re

from flask import g

from odr.disputes import operations as ops
from odr.disputes import staff
from odr.disputes.models import Complaint, Draft, Message
from odr.disputes.states import State
from odr.extensions import db
from tests.factories import PASSWORD, complaint_data, file_case, shanghai


def new_request() -> None:
    """The tests' app context (and its g) outlives each request, unlike a server's: forget
    what the last request kept there."""
    for name in list(vars(g)):
        g.pop(name)


def login(client, user):
    new_request()
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def fetch(client, path, **kw) -> str:
    """The page's HTML (or JSON text)."""
    new_request()
    response = client.get(path, **kw)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def state_of(html: str, complaint: Complaint) -> str:
    row = re.search(rf'data-id="{complaint.id}"[^>]*>.*?data-state="(\w+)"', html, re.S)
    assert row is not None, f"case {complaint.reference} is not on the page"
    return row.group(1)


def test_a_case_filed_through_the_api_shows_in_the_inbox_at_once(app, world, api):
    first = file_case(world.consumer, world.enterprise)
    client = login(app.test_client(), world.owner)
    assert first.reference in fetch(client, "/merchant/inbox")
    other = file_case(world.other_consumer, world.other_enterprise)
    assert other.reference not in fetch(client, "/merchant/inbox")
    posted = api.post(world.consumer_en, "/complaints", json=complaint_data(world.enterprise))
    assert posted.status_code == 201
    assert posted.get_json()["reference"] in fetch(client, "/merchant/inbox")


def test_the_sweeps_escalation_shows_on_every_page_that_lists_the_case(app, world):
    complaint = file_case(world.consumer, world.enterprise, now=shanghai(2026, 10, 12))
    owner = login(app.test_client(), world.owner)
    consumer = login(app.test_client(), world.consumer)
    mediator = login(app.test_client(), world.mediator)
    case_page = f"/consumer/cases/{complaint.id}"
    assert state_of(fetch(owner, "/merchant/inbox"), complaint) == "negotiating"
    assert complaint.reference in fetch(consumer, "/consumer/cases")
    assert 'data-state="negotiating"' in fetch(consumer, case_page)
    assert complaint.reference not in fetch(mediator, "/mediation/")

    from odr.disputes.sweep import sweep

    sweep(shanghai(2026, 10, 30))  # past the 10 working days: to the Jinshui office
    db.session.expire_all()
    assert complaint.state == State.PENDING_ACCEPTANCE

    assert state_of(fetch(owner, "/merchant/inbox"), complaint) == "pending_acceptance"
    assert 'data-state="pending_acceptance"' in fetch(consumer, case_page)
    assert complaint.reference in fetch(mediator, "/mediation/")
    listed = fetch(consumer, "/consumer/cases")
    assert "data-state" not in listed or 'data-state="negotiating"' not in listed


def test_a_reply_shows_on_the_consumers_case_page(app, world, api):
    complaint = file_case(world.consumer, world.enterprise)
    consumer = login(app.test_client(), world.consumer)
    path = f"/consumer/cases/{complaint.id}"
    assert "请把订单号发给我们" not in fetch(consumer, path)
    posted = api.post(
        world.agent, f"/complaints/{complaint.id}/messages", json={"body": "请把订单号发给我们"}
    )
    assert posted.status_code == 201
    assert "请把订单号发给我们" in fetch(consumer, path)


def test_a_draft_shows_on_the_consumers_list_and_leaves_it_when_deleted(app, world):
    consumer = login(app.test_client(), world.consumer)
    assert "草稿里的电饭煲" not in fetch(consumer, "/consumer/cases")
    draft = Draft(consumer_id=world.consumer.id, data={"subject": "草稿里的电饭煲"})
    db.session.add(draft)
    db.session.commit()
    assert "草稿里的电饭煲" in fetch(consumer, "/consumer/cases")
    db.session.delete(draft)
    db.session.commit()
    assert "草稿里的电饭煲" not in fetch(consumer, "/consumer/cases")


def test_cases_released_by_a_bulk_update_show_unassigned(app, world):
    """remove_agent gives the agent's open cases back to the team in one UPDATE (no ORM
    rows): the inbox must not keep showing the agent as their assignee."""
    complaint = file_case(world.consumer, world.enterprise)
    staff.assign_cases(world.owner, [complaint.id], world.agent.id)
    db.session.commit()
    owner = login(app.test_client(), world.owner)
    assert world.agent.name in fetch(owner, "/merchant/inbox")
    staff.remove_agent(world.owner, world.agent.id)
    db.session.commit()
    html = fetch(owner, "/merchant/inbox")
    row = re.search(rf'data-id="{complaint.id}".*?</tr>', html, re.S).group(0)
    assert world.agent.name not in row


def test_readers_never_get_each_others_pages(app, world):
    file_case(world.consumer, world.enterprise)
    owner = login(app.test_client(), world.owner)
    agent = login(app.test_client(), world.agent)
    owner_html = fetch(owner, "/merchant/inbox")
    agent_html = fetch(agent, "/merchant/inbox")
    assert world.agent.name in agent_html and world.owner.name not in agent_html.split("<main")[0]
    assert world.owner.name in owner_html.split("<main")[0]


def test_each_session_gets_a_page_with_its_own_csrf_token(app, world):
    file_case(world.consumer, world.enterprise)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        first, second = app.test_client(), app.test_client()
        tokens = []
        for client in (first, second):
            new_request()
            page = client.get("/auth/login").get_data(as_text=True)
            token = re.search(r'name="csrf_token" [^>]*value="([^"]+)"', page).group(1)
            new_request()
            client.post(
                "/auth/login",
                data={"email": world.owner.email, "password": PASSWORD, "csrf_token": token},
            )
            html = fetch(client, "/merchant/inbox")
            tokens.append(re.search(r'name="csrf_token" value="([^"]+)"', html).group(1))
        assert tokens[0] != tokens[1]
        # The second session's token, from its page, is accepted for its own form.
        fetch(second, "/merchant/inbox")
        new_request()
        response = second.post("/auth/logout", data={"csrf_token": tokens[1]})
        assert response.status_code == 302
        new_request()
        assert second.get("/merchant/inbox").status_code == 302  # signed out
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_a_flashed_message_is_shown_once(app, world):
    complaint = file_case(world.consumer, world.enterprise)
    owner = login(app.test_client(), world.owner)
    fetch(owner, "/merchant/inbox")
    response = owner.post(
        "/merchant/inbox/assign",
        data={"ids": [complaint.id], "assignee_id": str(world.agent.id)},
        follow_redirects=True,
    )
    assert response.status_code == 200 and 'class="alert' in response.get_data(as_text=True)
    html = fetch(owner, "/merchant/inbox")
    assert 'class="alert' not in html and world.agent.name in html


def test_the_api_list_is_per_caller_and_fresh_after_a_filing(app, world, api):
    file_case(world.consumer, world.enterprise)
    listed = api.get(world.owner, "/complaints").get_json()["items"]
    assert len(listed) == 1
    assert api.get(world.owner, "/complaints").get_json()["items"] == listed
    # The agent (same enterprise) gets the same cases.
    assert len(api.get(world.agent, "/complaints").get_json()["items"]) == 1
    posted = api.post(world.consumer, "/complaints", json=complaint_data(world.enterprise))
    assert posted.status_code == 201
    references = [c["reference"] for c in api.get(world.owner, "/complaints").get_json()["items"]]
    assert posted.get_json()["reference"] in references and len(references) == 2


def test_a_case_taken_by_the_head_leaves_the_mediators_queue(app, world):
    complaint = file_case(world.consumer, world.enterprise, now=shanghai(2026, 10, 12))
    from odr.disputes.sweep import sweep

    sweep(shanghai(2026, 10, 30))  # pending acceptance at the Jinshui office
    mediator = login(app.test_client(), world.mediator)
    assert complaint.reference in fetch(mediator, "/mediation/")
    db.session.expire_all()
    ops.accept_case(world.head, db.session.get(Complaint, complaint.id))
    db.session.commit()
    # The head took it: it leaves this mediator's queue (which lists the cases waiting for
    # acceptance and their own).
    assert complaint.reference not in fetch(mediator, "/mediation/")


def test_each_language_gets_its_own_page(app, world):
    file_case(world.consumer, world.enterprise)
    consumer = login(app.test_client(), world.consumer)
    assert '<html lang="zh-CN">' in fetch(consumer, "/consumer/cases")
    new_request()
    consumer.get("/lang/en")
    assert '<html lang="en">' in fetch(consumer, "/consumer/cases")
    new_request()
    consumer.get("/lang/zh_CN")
    assert '<html lang="zh-CN">' in fetch(consumer, "/consumer/cases")


def test_a_row_written_outside_the_domain_shows_on_the_case_page(app, world):
    complaint = file_case(world.consumer, world.enterprise)
    complaint_id, agent_id, consumer_email = complaint.id, world.agent.id, world.consumer.email
    db.session.expunge_all()
    db.session.add(
        Message(
            complaint_id=complaint_id,
            author_id=agent_id,
            author_role="enterprise",
            body="直接写入的留言",
        )
    )
    db.session.commit()
    consumer = app.test_client()
    new_request()
    consumer.post("/auth/login", data={"email": consumer_email, "password": PASSWORD})
    assert "直接写入的留言" in fetch(consumer, f"/consumer/cases/{complaint_id}")


def test_the_dashboard_follows_a_new_snapshot(app, world, snapshots):
    from odr.disputes import stats

    admin = login(app.test_client(), world.admin)
    file_case(world.consumer, world.enterprise, purchase_date="2026-10-01")
    assert 'id="kpi-total" data-value="1"' in fetch(admin, "/admin/")  # computed, stored
    fetch(admin, "/admin/")  # rendered from the stored snapshot
    file_case(world.consumer, world.enterprise, purchase_date="2026-10-01")
    stats.refresh("dashboard")
    assert 'id="kpi-total" data-value="2"' in fetch(admin, "/admin/")
