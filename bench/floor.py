"""The floor: the least a page can cost on this machine and this database.

A bare Flask app (no portal code, no ORM, no session) whose `/` renders a 50-row Jinja
table of cases read from the same database the portal uses; `/hello` answers a constant.
Every portal figure is printed as a ratio to `/` measured in the same run, so machines of
different speed compare.

    gunicorn -w 4 -b 127.0.0.1:8001 'bench.floor:create_app()'   # ODR_DATABASE_URL=...
"""

import os

import sqlalchemy as sa
from flask import Flask

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
    engine = sa.create_engine(url or os.environ["ODR_DATABASE_URL"], pool_pre_ping=True)
    template = app.jinja_env.from_string(TEMPLATE)

    @app.route("/")
    def table():
        with engine.connect() as conn:
            rows = conn.execute(QUERY).all()
        return template.render(rows=rows)

    @app.route("/hello")
    def hello():
        return "hello"

    return app
