"""SQL queries per page: a small constant, the same with 5 cases as with 50.

Every page that lists cases (or shows one case's timeline, messages and offers) is read
once to warm the process-wide caches, then read again while an engine listener counts the
statements sent to the database. The data grow from 5 to 50 cases (against many different
enterprises and consumers, so that a lazy load per row would show) and one case grows
from 5 to 50 messages; a page whose count grows with the rows has an N+1 query.
"""

from datetime import UTC, datetime
from decimal import Decimal

from odr.auth import operations as auth_ops
from odr.auth.models import User, UserRole
from odr.disputes import operations as ops
from odr.disputes.models import Complaint
from odr.disputes.paging import encode_cursor
from odr.extensions import db as _db
from tests import factories

# Most a page may send (login, user, unread count and the page's own few queries).
LIMITS = {
    "consumer case list": 12,
    "consumer case page": 20,
    "enterprise inbox": 16,
    "enterprise case page": 20,
    "mediator queue": 20,
    "mediator queue, a later page": 20,
    "mediator workspace": 24,
    "admin dashboard": 30,
    "public scoreboard": 8,
    "API list (consumer)": 8,
    "API list (enterprise)": 8,
    "API case detail": 12,
}
# A count may move by this much between 5 and 50 rows (never by the number of rows).
SLACK = 1


def _consumer(n: int, password_hash: str) -> User:
    user = User(
        email=f"qc{n}@test.example",
        password_hash=password_hash,
        name=f"消费者{n}",
        phone="13900000000",
        address="郑州市金水区测试路2号",
        region_code="410105",
        role=UserRole.CONSUMER,
    )
    _db.session.add(user)
    _db.session.flush()
    return user


def add_cases(world, start: int, count: int) -> None:
    """Cases in every open state, against the world's enterprise and many others, filed by
    the world's consumer and many others, with offers, messages and escalations."""
    for i in range(start, start + count):
        consumer = world.consumer if i % 2 == 0 else _consumer(i, world.consumer.password_hash)
        if i % 3 == 2:
            enterprise = factories.enterprise(f"查询计数企业{i}", "410105")
            agent = None
        else:
            enterprise, agent = world.enterprise, world.agent
        case = factories.file_case(consumer, enterprise, commit=False)
        step = i % 5
        if step == 0 and agent is not None:
            ops.make_offer(
                agent,
                case,
                remedy="refund",
                amount="100.00",
                terms="退款一百元",
                performance_due=None,
            )
        elif step == 1:
            ops.post_message(consumer, case, "请尽快处理。")
            if agent is not None:
                ops.post_message(agent, case, "已收到，正在核实。")
        elif step in (2, 3):
            ops.escalate(consumer, case, reason="协商不成")
            if step == 3:
                ops.accept_case(world.head, case)
                ops.post_message(world.head, case, "请双方提交材料。")
        _db.session.commit()


def add_messages(world, case, count: int) -> None:
    for i in range(count):
        author = world.consumer if i % 2 == 0 else world.agent
        ops.post_message(author, case, f"第{i}条留言")
        if i % 10 == 0:
            ops.make_offer(
                world.agent,
                case,
                remedy="refund",
                amount=Decimal(10 + i),
                terms="部分退款",
                performance_due=None,
            )
    _db.session.commit()


def web_client(app, user):
    client = app.test_client()
    with app.app_context():
        response = client.post(
            "/auth/login", data={"email": user.email, "password": factories.PASSWORD}
        )
    assert response.status_code == 302, f"login of {user.email} failed"
    return client


def measure(app, world, clients, tokens, case_ids) -> dict[str, tuple[int, int]]:
    """{page: (queries, response bytes)}, each page read twice and counted the second time."""
    consumer_case, mediated_case = case_ids
    bearer = {role: {"Authorization": f"Bearer {token}"} for role, token in tokens.items()}
    pages = {
        "consumer case list": (clients["consumer"], "/consumer/cases", None),
        "consumer case page": (clients["consumer"], f"/consumer/cases/{consumer_case}", None),
        "enterprise inbox": (clients["owner"], "/merchant/inbox", None),
        "enterprise case page": (clients["owner"], f"/merchant/cases/{consumer_case}", None),
        "mediator queue": (clients["head"], "/mediation/", None),
        # A cursor before every deadline: the paged path, showing every row.
        "mediator queue, a later page": (
            clients["head"],
            "/mediation/?cursor=" + encode_cursor("a", datetime(2000, 1, 1, tzinfo=UTC), 0),
            None,
        ),
        "mediator workspace": (clients["head"], f"/mediation/cases/{mediated_case}", None),
        "admin dashboard": (clients["admin"], "/admin/", None),
        "public scoreboard": (app.test_client(), "/enterprises", None),
        "API list (consumer)": (app.test_client(), "/api/v1/complaints", bearer["consumer"]),
        "API list (enterprise)": (app.test_client(), "/api/v1/complaints", bearer["owner"]),
        "API case detail": (
            app.test_client(),
            f"/api/v1/complaints/{consumer_case}",
            bearer["consumer"],
        ),
    }
    out = {}
    engine = _db.engine
    for name, (client, path, headers) in pages.items():
        # Each request in an app context of its own, as in production: its own `g` and its
        # own session (the test's session would answer lazy loads from its identity map).
        with app.app_context():
            first = client.get(path, headers=headers)
        assert first.status_code == 200, f"{name}: HTTP {first.status_code} for {path}"
        with app.app_context(), factories.counted(engine) as statements:
            response = client.get(path, headers=headers)
        assert response.status_code == 200
        out[name] = (len(statements), len(response.data), statements)
    return out


def test_queries_per_page_are_few_and_do_not_grow_with_rows(app, world):
    from odr.disputes.stats import clear_cache

    add_cases(world, 0, 5)
    consumer_case = ops.file_complaint(
        world.consumer, factories.complaint_data(world.enterprise), now=None
    )
    _db.session.commit()
    mediated = _db.session.scalars(
        _db.select(Complaint).where(Complaint.state == "mediating").order_by(Complaint.id).limit(1)
    ).first()
    assert mediated is not None
    add_messages(world, consumer_case, 5)
    tokens = {}
    for role, user in (("consumer", world.consumer), ("owner", world.owner)):
        tokens[role], _ = auth_ops.issue_token(user)
    _db.session.commit()
    users = {"consumer": world.consumer, "owner": world.owner, "head": world.head}
    users["admin"] = world.admin
    clients = {role: web_client(app, user) for role, user in users.items()}
    ids = (consumer_case.id, mediated.id)

    clear_cache()
    small = measure(app, world, clients, tokens, ids)
    add_cases(world, 5, 45)
    add_messages(world, consumer_case, 45)
    clear_cache()
    large = measure(app, world, clients, tokens, ids)

    problems = []
    for name, (n_small, _size, _) in small.items():
        n_large, _size, statements = large[name]
        if n_large > n_small + SLACK:
            problems.append(f"{name}: {n_small} queries with 5 rows, {n_large} with 50")
        if n_large > LIMITS[name]:
            listing = "\n    ".join(s.split("\n")[0][:120] for s in statements)
            problems.append(f"{name}: {n_large} queries (limit {LIMITS[name]}):\n    {listing}")
    report = "\n".join(
        f"{name:<24} {small[name][0]:>3} -> {large[name][0]:>3} queries" for name in small
    )
    print("\n" + report)  # shown with pytest -s
    assert not problems, "\n".join(problems) + "\n\n" + report
    # The lists really grew (the test would prove nothing on empty pages).
    for name in (
        "consumer case list",
        "enterprise inbox",
        "mediator queue",
        "mediator queue, a later page",
    ):
        assert large[name][1] > small[name][1], f"{name} did not show the new cases"
    assert large["consumer case page"][1] > small["consumer case page"][1]
