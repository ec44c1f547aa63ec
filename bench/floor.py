"""The floor: the least a page can cost on this machine and this database.

A bare Flask app (no portal code, no ORM, no session) whose `/` renders a 50-row Jinja
table of cases read from the same database the portal uses; `/hello` answers a constant.
Every portal figure is printed as a ratio to `/` measured in the same run, so machines of
different speed compare.

`POST /file` is the least a filing can cost: with no portal code, no ORM, no validation and
no sign-in, it writes the rows a portal filing writes (the case, its reference, its first
hash-chained event, a notice and an e-mail for each of the enterprise's staff) in one
transaction of plain SQL, and answers the new case as JSON. It shows how far the write
paths can go on this machine (docs/PERFORMANCE.md, "What is still short").

    gunicorn -w 4 -b 127.0.0.1:8001 'bench.floor:create_app()'   # ODR_DATABASE_URL=...
"""

import json
import os
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import Flask, request

from odr.config import Config
from odr.database import configure_engine
from odr.disputes.events import event_row

TEMPLATE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>案件列表</title></head>
<body><main><h1>案件列表</h1>
<table>
<thead><tr><th>编号</th><th>状态</th><th>事项</th><th>金额</th><th>提交时间</th></tr></thead>
<tbody>
{% for row in rows %}
<tr>
<td><a href="/cases/{{ row.id }}">{{ row.reference }}</a></td>
<td>{{ row.state }}</td>
<td>{{ row.subject }}</td>
<td>¥{{ "%.2f"|format(row.amount|float) }}</td>
<td>{{ row.filed_at }}</td>
</tr>
{% endfor %}
</tbody></table></main></body></html>
"""

QUERY = sa.text(
    "SELECT id, reference, state, subject, amount, filed_at FROM complaint "
    "ORDER BY id DESC LIMIT 50"
)


def create_app(url: str | None = None) -> Flask:
    app = Flask(__name__)
    # The portal's audit key: the bare filing's event is linked under it like the portal's.
    app.config["AUDIT_KEY"] = Config.AUDIT_KEY
    engine = sa.create_engine(url or os.environ["ODR_DATABASE_URL"], pool_pre_ping=True)
    # The portal's engine settings (SQLite: WAL, synchronous=NORMAL, its queue for the one
    # writer), so the bare filing writes under the same rules as the portal's.
    configure_engine(engine)
    app.extensions["floor_engine"] = engine
    template = app.jinja_env.from_string(TEMPLATE)

    @app.route("/")
    def table():
        with engine.connect() as conn:
            rows = conn.execute(QUERY).all()
        return template.render(rows=rows)

    @app.route("/hello")
    def hello():
        return "hello"

    @app.route("/file", methods=["POST"])
    def file():
        return bare_filing(engine, request.get_json(force=True))

    return app


INSERT_CASE = sa.text(
    "INSERT INTO complaint (reference, consumer_id, complainant_name, complainant_phone, "
    "complainant_address, language, enterprise_id, green_channel, subject_kind, subject, "
    "purchase_date, purchase_place, amount, issue, requests, claimed_amount, facts, state, "
    "deadline_at, reminder_at, overdue_flagged, seller_address_usable, rule_version, "
    "filed_at, answer_due_at, version) VALUES (:reference, :consumer_id, :name, :phone, "
    ":address, 'zh_CN', :enterprise_id, :green, :subject_kind, :subject, :purchase_date, "
    ":purchase_place, :amount, :issue, :requests, :claimed_amount, :facts, 'negotiating', "
    ":deadline, :reminder, :false, :true, '2026.1', :now, :deadline, 1) RETURNING id"
)
SET_REFERENCE = sa.text(
    "UPDATE complaint SET reference = :reference, chain_head = :hash, version = 2 "
    "WHERE id = :id AND version = 1"
)
INSERT_EVENT = sa.text(
    "INSERT INTO case_event (complaint_id, at, actor_id, actor_role, action, to_state, "
    "details, hash) VALUES (:id, :now, :consumer_id, 'consumer', 'file', 'negotiating', "
    ":details, :hash)"
)
INSERT_NOTICE = sa.text(
    "INSERT INTO notification (user_id, complaint_id, kind, params, created_at) "
    "VALUES (:user_id, :id, 'filed', :params, :now)"
)
INSERT_MAIL = sa.text(
    "INSERT INTO outbox (channel, idempotency_key, recipient, subject, body, status, "
    "attempts, next_attempt_at, created_at) VALUES ('email', :key, :email, :subject, :body, "
    "'pending', 0, :now, :now)"
)
_who: dict = {"staff": {}}


def _parties(conn, enterprise_id: int) -> tuple[dict, list]:
    """The consumer who files (BENCH_FLOOR_CONSUMER, else the first) and the enterprise's
    staff, each read once per process."""
    if "consumer" not in _who:
        consumer = os.environ.get("BENCH_FLOOR_CONSUMER")
        which = "id = :id" if consumer else "role = 'consumer' ORDER BY id LIMIT 1"
        row = conn.execute(
            sa.text(f'SELECT id, name, phone, address FROM "user" WHERE {which}'),
            {"id": int(consumer or 0)},
        ).one()
        _who["consumer"] = row._asdict()
    if enterprise_id not in _who["staff"]:
        _who["staff"][enterprise_id] = conn.execute(
            sa.text('SELECT id, email, name FROM "user" WHERE enterprise_id = :e AND active'),
            {"e": enterprise_id},
        ).all()
    return _who["consumer"], _who["staff"][enterprise_id]


def bare_filing(engine, data: dict) -> tuple[dict, int]:
    at = datetime.now(UTC)
    now = at.replace(tzinfo=None)  # stored as UTC without a zone, as the portal stores it
    deadline = now + timedelta(days=14)
    with engine.begin() as conn:
        consumer, staff = _parties(conn, int(data["enterprise_id"]))
        case_id = conn.execute(
            INSERT_CASE,
            {
                "reference": f"pending-{os.urandom(12).hex()}",
                "consumer_id": consumer["id"],
                "name": consumer["name"],
                "phone": consumer["phone"],
                "address": consumer["address"],
                "enterprise_id": data["enterprise_id"],
                "green": True,
                "subject_kind": data["subject_kind"],
                "subject": data["subject"],
                "purchase_date": datetime.fromisoformat(data["purchase_date"]).date(),
                "purchase_place": data["purchase_place"],
                "amount": data["amount"],
                "issue": data["issue"],
                "requests": json.dumps(data["requests"]),
                "claimed_amount": data["claimed_amount"],
                "facts": data["facts"],
                "deadline": deadline,
                "reminder": deadline - timedelta(days=3),
                "false": False,
                "true": True,  # seller_address_usable: the model's default, nothing in doubt
                "now": now,
            },
        ).scalar_one()
        reference = f"ODR-{at.year}-{case_id:07d}"
        # The event's hash as the portal computes it (a pure function), so the case verifies.
        event = event_row(
            case_id,
            None,
            actor_id=consumer["id"],
            actor_role="consumer",
            action="file",
            from_state=None,
            to_state="negotiating",
            details={"routed_to": "enterprise", "body_id": None},
            at=at,
        )
        conn.execute(SET_REFERENCE, {"reference": reference, "hash": event["hash"], "id": case_id})
        conn.execute(
            INSERT_EVENT,
            {
                "id": case_id,
                "now": now,
                "consumer_id": consumer["id"],
                "details": json.dumps(event["details"]),
                "hash": event["hash"],
            },
        )
        params = json.dumps({"reference": reference}, ensure_ascii=False)
        if staff:  # an enterprise may have none active
            conn.execute(
                INSERT_NOTICE,
                [{"user_id": s.id, "id": case_id, "params": params, "now": now} for s in staff],
            )
            conn.execute(
                INSERT_MAIL,
                [
                    {
                        "key": f"floor:{case_id}:{s.id}",
                        "email": s.email,
                        "subject": f"新投诉 {reference}",
                        "body": f"{s.name}，您好：\n\n新投诉 {reference}\n"
                        f"/merchant/cases/{case_id}",
                        "now": now,
                    }
                    for s in staff
                ],
            )
    return {"id": case_id, "reference": reference, "state": "negotiating"}, 201
