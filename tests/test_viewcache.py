"""Pages kept rendered (odr/viewcache.py): served from the store while nothing they show has
changed, and rendered again as soon as a write of any kind (a form, the API, the sweep's bulk
statements, a statement that bypasses the ORM) changes it. Never one reader's page for another."""

import re

import pytest
from flask import g

from odr import viewcache
from odr.disputes import operations as ops
from odr.disputes import staff
from odr.disputes.models import Complaint, Draft
from odr.disputes.states import Invalid
from odr.extensions import db
from tests.factories import PASSWORD, complaint_data, counted, file_case, shanghai


def new_request() -> None:
    """The tests' app context (and its g) outlives each request, unlike a server's: forget
    what the last request kept there (its user, unread count, CSRF token)."""
    for name in list(vars(g)):
        g.pop(name)


def login(client, user):
    new_request()
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def fetch(client, path, **kw) -> tuple[str, int]:
    """The page's HTML (or JSON text) and how many statements it sent."""
    new_request()
    with counted() as statements:
        response = client.get(path, **kw)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True), len(statements)


def state_of(html: str, complaint: Complaint) -> str:
    row = re.search(rf'data-id="{complaint.id}"[^>]*>.*?data-state="(\w+)"', html, re.S)
    assert row is not None, f"case {complaint.reference} is not on the page"
    return row.group(1)


def test_a_page_is_served_from_the_store_until_a_case_of_its_scope_changes(app, world, api):
    first = file_case(world.consumer, world.enterprise)
    client = login(app.test_client(), world.owner)
    html, rendered = fetch(client, "/merchant/inbox")
    assert first.reference in html
    again, statements = fetch(client, "/merchant/inbox")
    assert again == html
    # One statement: the reader, with the unread count and their enterprise's revision.
    assert statements == 1 < rendered

    # Another enterprise's case does not touch this inbox ...
    file_case(world.other_consumer, world.other_enterprise)
    assert fetch(client, "/merchant/inbox")[1] == 1
    # ... a new case for it, filed through the API, shows at once.
    posted = api.post(world.consumer_en, "/complaints", json=complaint_data(world.enterprise))
    assert posted.status_code == 201
    html, statements = fetch(client, "/merchant/inbox")
    assert posted.get_json()["reference"] in html and statements == rendered


def test_a_reply_shows_on_the_consumers_case_page(app, world, api):
    complaint = file_case(world.consumer, world.enterprise)
    consumer = login(app.test_client(), world.consumer)
    path = f"/consumer/cases/{complaint.id}"
    assert "请把订单号发给我们" not in fetch(consumer, path)[0]
    assert fetch(consumer, path)[1] == 1
    posted = api.post(
        world.agent, f"/complaints/{complaint.id}/messages", json={"body": "请把订单号发给我们"}
    )
    assert posted.status_code == 201
    assert "请把订单号发给我们" in fetch(consumer, path)[0]


def test_a_draft_shows_on_the_consumers_list_and_leaves_it_when_deleted(app, world):
    consumer = login(app.test_client(), world.consumer)
    assert "草稿里的电饭煲" not in fetch(consumer, "/consumer/cases")[0]
    assert fetch(consumer, "/consumer/cases")[1] == 1  # kept: the reader, with the revision
    draft = Draft(consumer_id=world.consumer.id, data={"subject": "草稿里的电饭煲"})
    db.session.add(draft)
    db.session.commit()
    assert "草稿里的电饭煲" in fetch(consumer, "/consumer/cases")[0]
    db.session.delete(draft)
    db.session.commit()
    assert "草稿里的电饭煲" not in fetch(consumer, "/consumer/cases")[0]


def test_cases_released_by_a_bulk_update_show_unassigned(app, world):
    """remove_agent gives the agent's open cases back to the team in one UPDATE (no ORM
    rows): the inbox must not keep showing the agent as their assignee."""
    complaint = file_case(world.consumer, world.enterprise)
    staff.assign_cases(world.owner, [complaint.id], world.agent.id)
    db.session.commit()
    owner = login(app.test_client(), world.owner)
    assert world.agent.name in fetch(owner, "/merchant/inbox")[0]
    (case_before,) = viewcache.revisions([viewcache.consumer(world.consumer.id)])
    with counted() as statements:
        staff.remove_agent(world.owner, world.agent.id)
        db.session.commit()
    bumped = [s for s in statements if "view_revision" in s]
    assert len(bumped) == 1
    # its consumer's scope (their case pages), through touch_cases' rows
    assert viewcache.revisions([viewcache.consumer(world.consumer.id)]) == (case_before + 1,)
    html = fetch(owner, "/merchant/inbox")[0]
    row = re.search(rf'data-id="{complaint.id}".*?</tr>', html, re.S).group(0)
    assert world.agent.name not in row


def test_readers_never_get_each_others_pages(app, world):
    file_case(world.consumer, world.enterprise)
    owner = login(app.test_client(), world.owner)
    agent = login(app.test_client(), world.agent)
    owner_html = fetch(owner, "/merchant/inbox")[0]
    agent_html, statements = fetch(agent, "/merchant/inbox")
    assert statements > 2  # rendered for the agent, not the owner's page
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
            html = fetch(client, "/merchant/inbox")[0]
            tokens.append(re.search(r'name="csrf_token" value="([^"]+)"', html).group(1))
        assert tokens[0] != tokens[1]
        # The second session's token, from its kept page, is accepted for its own form.
        assert fetch(second, "/merchant/inbox")[1] == 1
        new_request()
        response = second.post("/auth/logout", data={"csrf_token": tokens[1]})
        assert response.status_code == 302
        new_request()
        assert second.get("/merchant/inbox").status_code == 302  # signed out
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_a_flashed_message_is_shown_once_and_never_kept(app, world):
    complaint = file_case(world.consumer, world.enterprise)
    owner = login(app.test_client(), world.owner)
    fetch(owner, "/merchant/inbox")
    response = owner.post(
        "/merchant/inbox/assign",
        data={"ids": [complaint.id], "assignee_id": str(world.agent.id)},
        follow_redirects=True,
    )
    assert response.status_code == 200 and 'class="alert' in response.get_data(as_text=True)
    html, _ = fetch(owner, "/merchant/inbox")
    assert 'class="alert' not in html and world.agent.name in html


def test_a_failed_write_bumps_nothing(app, world):
    complaint = file_case(world.consumer, world.enterprise)
    scopes = [viewcache.consumer(world.consumer.id), viewcache.enterprise(world.enterprise.id)]
    before = viewcache.revisions(scopes)
    with pytest.raises(Invalid):
        ops.make_offer(world.agent, complaint, remedy="refund", amount="-5", terms="")
    db.session.rollback()
    db.session.commit()
    assert viewcache.revisions(scopes) == before


def test_entries_expire_after_the_ttl(app, world, monkeypatch):
    file_case(world.consumer, world.enterprise)
    owner = login(app.test_client(), world.owner)
    fetch(owner, "/merchant/inbox")
    assert fetch(owner, "/merchant/inbox")[1] == 1
    import time

    later = time.monotonic() + app.config.get("VIEW_CACHE_TTL", 60) + 1
    monkeypatch.setattr(viewcache.time, "monotonic", lambda: later)
    assert fetch(owner, "/merchant/inbox")[1] > 2


def test_the_api_list_is_kept_per_caller_and_fresh_after_a_filing(app, world, api):
    file_case(world.consumer, world.enterprise)
    listed = api.get(world.owner, "/complaints").get_json()["items"]
    assert len(listed) == 1
    headers = api.headers(world.owner)
    with counted() as statements:
        again = api.client.get("/api/v1/complaints", headers=headers)
    assert again.get_json()["items"] == listed
    assert not any(s.lstrip().upper().startswith("SELECT COMPLAINT") for s in statements)
    assert not any("FROM complaint" in s for s in statements)
    assert len(statements) == 1  # the token, its user and their enterprise's revision
    # The agent (same enterprise) gets the same cases, rendered for their own call.
    assert len(api.get(world.agent, "/complaints").get_json()["items"]) == 1
    posted = api.post(world.consumer, "/complaints", json=complaint_data(world.enterprise))
    assert posted.status_code == 201
    references = [c["reference"] for c in api.get(world.owner, "/complaints").get_json()["items"]]
    assert posted.get_json()["reference"] in references and len(references) == 2


def test_many_scopes_are_bumped_by_one_statement(app, world):
    complaint = file_case(world.consumer, world.enterprise)
    mine = viewcache.consumer(world.consumer.id)
    (before,) = viewcache.revisions([mine])
    scopes = [viewcache.consumer(10**6 + i) for i in range(5000)]
    with counted() as statements:
        viewcache.touch([*scopes, viewcache.case(complaint.id)])
        viewcache.touch([viewcache.case(complaint.id), mine])  # twice: bumped once
        db.session.commit()
    assert len([s for s in statements if "view_revision" in s]) == 1
    # a case's scope bumps its consumer's, and is not stored itself
    assert viewcache.revisions([scopes[-1], mine]) == (1, before + 1)
    assert viewcache.revisions([viewcache.case(complaint.id)]) == (0,)
    viewcache.touch(scopes[:2])
    db.session.commit()
    assert viewcache.revisions(scopes[:3]) == (2, 2, 1)
    assert viewcache.revisions([viewcache.consumer(10**7)]) == (0,)  # never bumped


def test_the_queue_reads_its_bodies_and_their_revisions_with_the_user(app, world):
    complaint = file_case(world.consumer, world.enterprise, now=shanghai(2026, 10, 12))
    from odr.disputes.sweep import sweep

    sweep(shanghai(2026, 10, 30))  # pending acceptance at the Jinshui office
    mediator = login(app.test_client(), world.mediator)
    html, rendered = fetch(mediator, "/mediation/")
    assert complaint.reference in html
    assert fetch(mediator, "/mediation/")[1] == 1  # the user, with memberships and revisions
    db.session.expire_all()
    ops.accept_case(world.head, db.session.get(Complaint, complaint.id))
    db.session.commit()
    # The head took it: it leaves this mediator's queue (which lists the cases waiting for
    # acceptance and their own).
    html, statements = fetch(mediator, "/mediation/")
    assert complaint.reference not in html and statements > 2


def test_with_the_store_off_every_request_renders(app, world):
    file_case(world.consumer, world.enterprise)
    app.config["VIEW_CACHE"] = False
    app.extensions.pop("odr_view_cache", None)
    try:
        owner = login(app.test_client(), world.owner)
        first = fetch(owner, "/merchant/inbox")
        assert fetch(owner, "/merchant/inbox")[1] == first[1] > 2
        statements = _statements_of(owner, "/merchant/inbox")
        assert not any(s.startswith("SELECT view_revision") for s in statements)
    finally:
        app.config["VIEW_CACHE"] = True


def _statements_of(client, path) -> list[str]:
    new_request()
    with counted() as statements:
        client.get(path)
    return statements


def test_each_language_gets_its_own_page(app, world):
    file_case(world.consumer, world.enterprise)
    consumer = login(app.test_client(), world.consumer)
    assert '<html lang="zh-CN">' in fetch(consumer, "/consumer/cases")[0]
    new_request()
    consumer.get("/lang/en")
    html, statements = fetch(consumer, "/consumer/cases")
    assert '<html lang="en">' in html and statements > 1
    new_request()
    consumer.get("/lang/zh_CN")
    # (switching also saves the reader's language: their row changed, the page is redone)
    assert '<html lang="zh-CN">' in fetch(consumer, "/consumer/cases")[0]
    html, statements = fetch(consumer, "/consumer/cases")
    assert '<html lang="zh-CN">' in html and statements == 1


def test_a_change_to_a_case_bumps_its_consumers_scope_even_when_the_case_is_not_loaded(app, world):
    """The consumer's case pages are kept by their own scope: a row added to a case whose
    row the session has not loaded still reaches it (its consumer is looked up)."""
    from odr.disputes.models import Message

    complaint = file_case(world.consumer, world.enterprise)
    scope = [viewcache.consumer(world.consumer.id)]
    before = viewcache.revisions(scope)
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
    assert viewcache.revisions(scope) == (before[0] + 1,)
    consumer = app.test_client()
    new_request()
    consumer.post("/auth/login", data={"email": consumer_email, "password": PASSWORD})
    assert "直接写入的留言" in fetch(consumer, f"/consumer/cases/{complaint_id}")[0]


def test_a_kept_dashboard_costs_one_statement_and_follows_a_new_snapshot(app, world, snapshots):
    from odr.disputes import stats

    admin = login(app.test_client(), world.admin)
    file_case(world.consumer, world.enterprise, purchase_date="2026-10-01")
    assert 'id="kpi-total" data-value="1"' in fetch(admin, "/admin/")[0]  # computed, stored
    fetch(admin, "/admin/")  # rendered from the stored snapshot, kept
    # the admin, with the unread count and the snapshots' versions
    assert fetch(admin, "/admin/")[1] == 1
    file_case(world.consumer, world.enterprise, purchase_date="2026-10-01")
    stats.refresh("dashboard")
    assert 'id="kpi-total" data-value="2"' in fetch(admin, "/admin/")[0]
