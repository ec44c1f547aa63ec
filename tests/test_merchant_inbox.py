"""The enterprise inbox: deadline-first order, filters, keyset paging that stays fast with
100,000 cases, and the CSV export of 10,000 cases with its Chinese intact."""

import csv
import io
import re
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, insert

from odr.disputes.models import Complaint
from odr.merchant import queries
from odr.types import utcnow
from tests.factories import PASSWORD

CLOSED = ["settled", "withdrawn", "mediated", "refused", "terminated"]


def case_row(enterprise, consumer, n: int, **overrides) -> dict:
    """One valid complaint row for a bulk INSERT (the operations are too slow for 100,000)."""
    now = utcnow()
    row = {
        "reference": f"ODR-T{enterprise.id}-{n:07d}",
        "consumer_id": consumer.id,
        "complainant_name": f"消费者{n}",
        "complainant_phone": "13812348000",
        "complainant_address": "郑州市金水区花园路 1 号",
        "language": "zh_CN",
        "enterprise_id": enterprise.id,
        "green_channel": True,
        "subject_kind": "goods",
        "subject": "羽绒服（黑色，XL）",
        "purchase_date": date(2026, 9, 1),
        "amount": Decimal("1299.00"),
        "issue": "quality",
        "requests": ["refund"],
        "claimed_amount": Decimal("1299.00"),
        "facts": "拉链三天就坏了，要求退款。",
        "state": "negotiating",
        "deadline_at": now + timedelta(days=10),
        "filed_at": now - timedelta(days=1),
        "rule_version": "2026.1",
        "version": 1,
        "overdue_flagged": False,
    }
    row.update(overrides)
    return row


def bulk_insert(db, rows, chunk: int = 5000) -> None:
    for start in range(0, len(rows), chunk):
        db.session.execute(insert(Complaint), rows[start : start + chunk])
    db.session.commit()


def expected_order(db, enterprise_id, where=None) -> list[int]:
    """The inbox order, computed in Python: running clocks by deadline, then the rest
    newest first."""
    query = db.select(Complaint.id, Complaint.deadline_at).where(
        Complaint.enterprise_id == enterprise_id
    )
    if where is not None:
        query = query.where(where)
    rows = db.session.execute(query).all()
    timed = sorted((r for r in rows if r.deadline_at is not None), key=lambda r: (r[1], r[0]))
    untimed = sorted((r for r in rows if r.deadline_at is None), key=lambda r: -r[0])
    return [r[0] for r in timed] + [r[0] for r in untimed]


def mixed_rows(world, count: int) -> list[dict]:
    """Open cases with deadlines (overdue, due soon, later; many sharing one deadline),
    suspended ones without a clock, and closed ones."""
    now = utcnow()
    shared = now + timedelta(days=5)
    rows = []
    for n in range(count):
        kind = n % 7
        if kind == 0:
            extra = {"deadline_at": now - timedelta(days=n % 5 + 1)}  # overdue
        elif kind == 1:
            extra = {"deadline_at": shared}  # ties broken by id
        elif kind == 2:
            extra = {"state": "pending_acceptance", "deadline_at": now + timedelta(hours=n)}
        elif kind == 3:
            extra = {"state": "mediating", "deadline_at": now + timedelta(days=30, minutes=n)}
        elif kind == 4:
            extra = {"state": "suspended", "deadline_at": None}
        else:
            extra = {"state": CLOSED[n % len(CLOSED)], "deadline_at": None, "closed_at": now}
        extra["issue"] = "price" if n % 3 == 0 else "quality"
        extra["filed_at"] = now - timedelta(days=n % 40)
        rows.append(case_row(world.enterprise, world.consumer, n, **extra))
    return rows


def login(client, email):
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302


def web_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', html)]


def test_keyset_pages_walk_every_case_once_in_deadline_order(world, db):
    bulk_insert(db, mixed_rows(world, 173))
    bulk_insert(db, [case_row(world.other_enterprise, world.consumer, n) for n in range(5)])
    expected = expected_order(db, world.enterprise.id)
    assert len(expected) == 173

    flt = queries.InboxFilter(enterprise_id=world.enterprise.id)
    seen, cursor, pages = [], None, 0
    while True:
        complaints, cursor = queries.page(flt, cursor, size=20)
        seen += [c.id for c in complaints]
        pages += 1
        if cursor is None:
            break
    assert seen == expected
    assert pages == 9
    # The overdue cases come first.
    first = db.session.get(Complaint, seen[0])
    assert first.deadline_at < utcnow()


def test_inbox_pages_in_the_browser_order_with_filters(client, world, db):
    bulk_insert(db, mixed_rows(world, 130))
    login(client, world.agent.email)
    seen, url = [], "/merchant/inbox"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += web_ids(html)
        match = re.search(r'id="next-page" rel="next" href="([^"]+)"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert seen == expected_order(db, world.enterprise.id)

    # Filters travel with the cursor.
    closed = Complaint.state.in_(CLOSED)
    seen, url = [], "/merchant/inbox?state=closed&issue=price"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += web_ids(html)
        match = re.search(r'id="next-page" rel="next" href="([^"]+)"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert seen == expected_order(db, world.enterprise.id, closed & (Complaint.issue == "price"))
    assert seen


def test_inbox_filters_search_and_due_soon(client, world, db):
    now = utcnow()
    bulk_insert(db, mixed_rows(world, 70))
    login(client, world.agent.email)
    target = db.session.scalar(db.select(Complaint).where(Complaint.complainant_name == "消费者17"))

    html = client.get(f"/merchant/inbox?q={target.reference.lower()}").get_data(as_text=True)
    assert web_ids(html) == [target.id]
    # Part of a reference, as a caller on the phone reads out its last digits.
    digits = target.reference.rsplit("-", 1)[1].lstrip("0")
    html = client.get(f"/merchant/inbox?q={digits}").get_data(as_text=True)
    found = {db.session.get(Complaint, i).reference for i in web_ids(html)}
    assert target.reference in found and all(digits in ref for ref in found)
    assert web_ids(client.get("/merchant/inbox?q=ODR-20%25").get_data(as_text=True)) == []
    html = client.get("/merchant/inbox?q=消费者1").get_data(as_text=True)
    names = {db.session.get(Complaint, i).complainant_name for i in web_ids(html)}
    assert names and all(name.startswith("消费者1") for name in names)

    html = client.get("/merchant/inbox?state=suspended").get_data(as_text=True)
    assert {db.session.get(Complaint, i).state for i in web_ids(html)} == {"suspended"}

    day = (now - timedelta(days=3)).astimezone(queries.deadlines.SHANGHAI).date()
    html = client.get(
        f"/merchant/inbox?filed_from={day.isoformat()}&filed_to={day.isoformat()}"
    ).get_data(as_text=True)
    dates = {
        queries.deadlines.local_date(db.session.get(Complaint, i).filed_at) for i in web_ids(html)
    }
    assert dates == {day}

    html = client.get("/merchant/inbox?due=1").get_data(as_text=True)
    threshold = queries.soon_threshold(now)
    due = [db.session.get(Complaint, i) for i in web_ids(html)]
    assert due and all(c.deadline_at <= threshold for c in due)
    assert any(c.deadline_at < now for c in due)

    counts = queries.clock_counts(world.enterprise.id, now)
    assert counts["overdue"] == sum(1 for c in due if c.deadline_at < now)

    # Nonsense in the query string is ignored, never a 500.
    for junk in (
        "cursor=%%%",
        "cursor=eyJzIjoiYSJ9",
        "state=nope&issue=nope",
        "filed_from=2026-13-45",
        "cursor=" + "A" * 500,
    ):
        response = client.get(f"/merchant/inbox?{junk}")
        assert response.status_code == 200, junk


@pytest.mark.slow
def test_csv_export_of_10000_cases_keeps_the_chinese(client, world, db):
    rows = mixed_rows(world, 10_000)
    bulk_insert(db, rows)
    login(client, world.owner.email)
    response = client.get("/merchant/inbox/export.csv")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8

    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    header, body = table[0], table[1:]
    assert header[0] == "投诉编号" and "消费者" in header
    assert len(body) == 10_000
    expected = expected_order(db, world.enterprise.id)
    references = dict(db.session.execute(db.select(Complaint.id, Complaint.reference)).all())
    assert [r[0] for r in body] == [references[i] for i in expected]
    row = body[0]
    assert row[4].startswith("消费者")
    assert row[5] == "138****8000"  # masked in lists
    assert row[7] == "羽绒服（黑色，XL）"

    closed = client.get("/merchant/inbox/export.csv?state=closed")
    closed_rows = list(csv.reader(io.StringIO(closed.get_data().decode("utf-8-sig"))))[1:]
    assert len(closed_rows) == sum(1 for r in rows if r["state"] in CLOSED)


def test_csv_export_neutralises_formulas(client, world, db):
    bulk_insert(
        db, [case_row(world.enterprise, world.consumer, 1, complainant_name="=HYPERLINK(1)")]
    )
    login(client, world.owner.email)
    data = client.get("/merchant/inbox/export.csv").get_data().decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in data


def _plans(db, statements) -> list[str]:
    plans = []
    with db.engine.connect() as conn:
        for statement, parameters in statements:
            if conn.dialect.name == "sqlite":
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
                plans.append("\n".join(str(r[-1]) for r in rows))
            else:
                rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
                plans.append("\n".join(r[0] for r in rows))
    return plans


@pytest.mark.slow
def test_paging_stays_fast_with_100000_cases(world, db):
    now = utcnow()
    rows = []
    for n in range(100_000):
        if n % 50 == 0:  # 2,000 open cases with running clocks
            extra = {"deadline_at": now + timedelta(minutes=n - 50_000)}
        else:
            extra = {"state": CLOSED[n % len(CLOSED)], "deadline_at": None, "closed_at": now}
        rows.append(case_row(world.enterprise, world.consumer, n, **extra))
    rows += [case_row(world.other_enterprise, world.consumer, n) for n in range(5_000)]
    bulk_insert(db, rows, chunk=10_000)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("ANALYZE complaint"))
    else:
        db.session.execute(db.text("ANALYZE"))
    db.session.commit()

    flt = queries.InboxFilter(enterprise_id=world.enterprise.id)
    # A cursor deep in the closed cases, and one in the running clocks.
    middle_id = db.session.scalar(
        db.select(Complaint.id).where(Complaint.reference == f"ODR-T{world.enterprise.id}-0050001")
    )
    deep = queries.encode_cursor("b", None, middle_id)
    timed = db.session.execute(
        db.select(Complaint.id, Complaint.deadline_at)
        .where(Complaint.enterprise_id == world.enterprise.id, Complaint.deadline_at.is_not(None))
        .order_by(Complaint.deadline_at, Complaint.id)
        .offset(1000)
        .limit(1)
    ).one()
    running = queries.encode_cursor("a", timed.deadline_at, timed.id)

    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM complaint" in statement and "ORDER BY" in statement:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        timings = []
        for cursor in (None, running, deep):
            for flt_ in (
                flt,
                queries.InboxFilter(enterprise_id=world.enterprise.id, states=["settled"]),
            ):
                started = time.perf_counter()
                complaints, next_cursor = queries.page(flt_, cursor)
                timings.append(time.perf_counter() - started)
                assert len(complaints) == 50 and next_cursor
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)

    # The deep page is as quick as the first: each state walks its index and stops.
    assert max(timings) < 0.5, timings
    plans = _plans(db, statements)
    assert plans
    for plan in plans:
        # Every read of the complaint table goes through the index, in its order: no table
        # scan, and no sort of the enterprise's cases (only of the <= 51 rows of an arm).
        reads = [
            line
            for line in plan.splitlines()
            if re.search(r"(SEARCH|SCAN) complaint|on complaint", line)
        ]
        assert reads, plan
        assert all("ix_complaint_enterprise_state" in line for line in reads), plan
        assert "Seq Scan" not in plan and "->  Sort" not in plan, plan


def test_the_running_clocks_are_counted_up_to_a_thousand_then_more_than(world, db, client):
    """Overdue and due-soon cases are counted exactly; the running clocks up to
    RUNNING_COUNTED, then "more than": an enterprise with tens of thousands of open cases
    need not count them all for a badge."""
    now = utcnow()
    counted = queries.RUNNING_COUNTED
    rows = [
        case_row(world.enterprise, world.consumer, n, deadline_at=now - timedelta(hours=1))
        for n in range(3)
    ] + [case_row(world.enterprise, world.consumer, n) for n in range(3, counted + 1)]
    bulk_insert(db, rows)
    header = queries.inbox_header(world.enterprise.id, now)
    assert (header.overdue, header.running) == (3, counted + 1)
    login(client, world.owner.email)
    html = client.get("/merchant/inbox?lang=en").get_data(as_text=True)
    assert f"More than {counted} with a running clock" in html
    assert "3 overdue" in html

    db.session.execute(
        db.update(Complaint)
        .where(Complaint.reference == f"ODR-T{world.enterprise.id}-{counted:07d}")
        .values(state="settled", deadline_at=None, closed_at=now)
    )
    db.session.commit()
    assert queries.inbox_header(world.enterprise.id, now).running == counted
    html = client.get("/merchant/inbox?lang=en").get_data(as_text=True)
    assert f"{counted} with a running clock" in html and "More than" not in html
