"""The helpers the lists use to build rows cheaply give what the slow way gives: a row's
link from urls.id_urls is url_for's, a row of database.plain_rows has the Row's names and
values."""

import pytest
import sqlalchemy as sa
from flask import url_for

from odr.database import plain_rows
from odr.urls import id_urls


@pytest.mark.parametrize(
    ("endpoint", "key", "values"),
    [
        ("merchant.case", "case_id", {}),
        ("consumer.case", "complaint_id", {}),
        ("mediation.workspace", "complaint_id", {}),
        ("mediation.assign", "complaint_id", {}),
        ("consumer.cases", "before", {"state": "open"}),  # the id in the query string
    ],
)
def test_id_urls_builds_what_url_for_builds(app, endpoint, key, values):
    for root in ("", "/portal"):
        with app.test_request_context("/", base_url=f"http://localhost{root}"):
            link = id_urls(endpoint, key, **values)
            for value in (1, 42, 987654321, 10**12):
                assert link(value) == url_for(endpoint, **{key: value}, **values)


def test_plain_rows_have_the_rows_names_and_values(db):
    statement = sa.select(
        sa.literal(7).label("id"),
        sa.literal("ODR-1").label("reference"),
        sa.null().label("turn"),
    )
    rows = db.session.execute(statement).all()
    plain = plain_rows(db.session.execute(statement))
    assert [tuple(r) for r in plain] == [tuple(r) for r in rows]
    assert plain[0]._fields == rows[0]._fields == ("id", "reference", "turn")
    assert (plain[0].id, plain[0].reference, plain[0].turn) == (7, "ODR-1", None)
    assert plain_rows(db.session.execute(statement.where(sa.false()))) == []
