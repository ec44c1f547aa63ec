"""The consumer's pages: the case list asks for drafts only when there are some (with cases
and no draft it sends two queries: the user with the unread count, the cases with whether
drafts exist; with drafts, or without any case, it lists the drafts as before); the case
page keeps a blank form's field HTML per language, and renders a submitted one every time."""

import pytest
from flask_babel import force_locale

from odr.consumer import forms
from odr.consumer.views import CaseForms
from odr.disputes.models import Draft
from odr.extensions import db as _db
from tests import factories


def queries_of(client, path):
    with factories.counted() as statements:
        page = client.get(path).get_data(as_text=True)
    return page, statements


def test_drafts_are_listed_with_the_cases_and_asked_for_only_when_there_are_some(app, world):
    client = app.test_client()
    client.post("/auth/login", data={"email": world.consumer.email, "password": factories.PASSWORD})

    page, statements = queries_of(client, "/consumer/cases")
    assert 'id="no-cases"' in page and 'id="drafts"' not in page

    _db.session.add(Draft(consumer_id=world.consumer.id, data={"subject": "草稿里的电饭煲"}))
    _db.session.commit()
    page, _ = queries_of(client, "/consumer/cases")  # no case yet: drafts asked for anyway
    assert 'id="drafts"' in page and "草稿里的电饭煲" in page

    case = factories.file_case(world.consumer, world.enterprise)
    page, statements = queries_of(client, "/consumer/cases")
    assert 'id="drafts"' in page and "草稿里的电饭煲" in page and case.reference in page
    # the user, the unread count, the cases, the drafts
    assert len(statements) == 4, statements

    for draft in _db.session.scalars(_db.select(Draft)):
        _db.session.delete(draft)  # as the portal deletes drafts: through the session
    _db.session.commit()
    page, statements = queries_of(client, "/consumer/cases")
    assert 'id="drafts"' not in page and case.reference in page
    assert len(statements) == 3, statements


def test_the_most_recent_drafts_are_listed_and_the_rest_a_link_away(app, world):
    """A consumer with many unfinished filings sees the five latest and a link to all of
    them, not an endless list above their cases."""
    from datetime import timedelta

    from odr.consumer.views import DRAFTS_SHOWN
    from odr.types import utcnow

    client = app.test_client()
    client.post("/auth/login", data={"email": world.consumer.email, "password": factories.PASSWORD})
    factories.file_case(world.consumer, world.enterprise)
    now = utcnow()
    for i in range(DRAFTS_SHOWN + 3):
        _db.session.add(
            Draft(
                consumer_id=world.consumer.id,
                data={"subject": f"草稿{i:02d}"},
                updated_at=now - timedelta(minutes=i),
            )
        )
    _db.session.commit()
    page, statements = queries_of(client, "/consumer/cases")
    shown = [f"草稿{i:02d}" for i in range(DRAFTS_SHOWN)]
    assert all(name in page for name in shown)
    assert f"草稿{DRAFTS_SHOWN:02d}" not in page
    assert 'id="all-drafts"' in page and f"{DRAFTS_SHOWN + 3}" in page
    # The drafts shown and how many there are: two statements, whatever the number of drafts.
    drafts_read = [
        q for q in statements if q.lstrip().startswith(("SELECT draft", "SELECT count(draft"))
    ]
    assert len(drafts_read) == 2, statements

    page = client.get("/consumer/cases?drafts=all").get_data(as_text=True)
    assert all(f"草稿{i:02d}" in page for i in range(DRAFTS_SHOWN + 3))
    assert 'id="all-drafts"' not in page


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_a_case_page_field_shows_its_errors_escaped_and_a_blank_one_none(app, lang):
    field = app.jinja_env.get_template("macros.html").module.field
    with app.test_request_context("/"), force_locale(lang):
        submitted = forms.MessageForm(prefix="msg", formdata=None)
        submitted.body.errors = ["<b>too long</b>"]
        html = field(CaseForms({"message_form": submitted}).message_form.body)
        assert "&lt;b&gt;too long&lt;/b&gt;" in html and "is-invalid" in html
        assert "is-invalid" not in field(CaseForms({}).message_form.body)
