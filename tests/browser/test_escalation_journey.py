"""The escalation journey in a real Chromium: a complaint to an ODR enterprise gets no answer;
the sweep, run as of 11 working days later, sends it to the competent county office; the
mediator accepts it and proposes an agreement in the workspace; the consumer and the
enterprise sign it on their own case pages; the case is mediated and the mediation
agreement PDF downloads, byte-identical to the record issued."""

import hashlib
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from odr.disputes import deadlines
from odr.disputes import operations as ops
from odr.disputes.choices import RecordKind
from odr.disputes.models import Agreement, Complaint, Record
from odr.disputes.states import State
from odr.extensions import db
from tests.factories import PASSWORD, file_case, shanghai

pytestmark = pytest.mark.browser

TERMS = "被申请人为申请人更换同款羽绒服一件。\n被申请人承担往返运费。"


@pytest.fixture(scope="session")
def base_url():
    """pytest-playwright's own fallback warns under pytest 9: URLs come from live_server."""
    return None


def sign_in(page, live_server, user):
    page.goto(live_server.url + "/auth/login")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_load_state()


def sign_out(page):
    page.locator("nav form button[type=submit]").click()
    page.wait_for_load_state()


def sign_on_case_page(page, live_server, user, path: str, complaint) -> str:
    """Sign through the party's own case page when it has the signature form; otherwise
    through the operation the page would call. Answers which way was used."""
    sign_in(page, live_server, user)
    response = page.goto(live_server.url + path)
    form = page.locator("form#sign-agreement")
    if response is not None and response.ok and form.count() == 1:
        page.fill("#sign-password", PASSWORD)
        page.click("#sign-submit")
        page.wait_for_load_state()
        used = "page"
    else:
        db.session.expire_all()
        fresh = db.session.get(Complaint, complaint.id)
        ops.sign_agreement(
            user, fresh, password=PASSWORD, require_password=True, ip_address="127.0.0.1"
        )
        db.session.commit()
        used = "operation"
    sign_out(page)
    return used


def test_unanswered_complaint_is_escalated_mediated_and_closed_with_an_agreement(
    page, live_server, world, app, tmp_path
):
    page.on("dialog", lambda dialog: dialog.accept())
    filed_at = shanghai(2026, 10, 12, 10)  # a Monday, after the National Day holidays
    complaint = file_case(world.consumer, world.enterprise, now=filed_at)
    assert complaint.state == State.NEGOTIATING
    assert complaint.enterprise.is_odr

    # Nobody answers. The sweep runs as of 11 working days later (CLI, as cron would).
    as_of = shanghai(*deadlines.add_working_days(date(2026, 10, 12), 11).timetuple()[:3], 9)
    result = app.test_cli_runner().invoke(args=["odr", "sweep", "--as-of", as_of.isoformat()])
    assert result.exit_code == 0, result.output
    assert f"{complaint.reference} escalated" in result.output
    db.session.expire_all()
    complaint = db.session.get(Complaint, complaint.id)
    assert complaint.state == State.PENDING_ACCEPTANCE
    assert complaint.body_id == world.jinshui.id  # the county office of the enterprise
    assert complaint.body.level == "county"

    # The county mediator finds it in the queue and accepts it.
    sign_in(page, live_server, world.mediator)
    expect(page.locator("h1")).to_contain_text("调解案件")
    row = page.locator(f"tr.queue-row[data-case='{complaint.id}']")
    expect(row).to_be_visible()
    row.get_by_role("link", name=complaint.reference).click()
    # The workspace opens with the next step: the acceptance decision, its one action.
    expect(page.locator("#next-step")).to_have_attribute("data-step", "decide_acceptance")
    page.click("#next-step-action")
    page.click("#accept-submit")
    expect(page.locator(".state-badge")).to_have_attribute("data-state", "mediating")

    # ... and proposes the agreement in the workspace.
    page.fill("#agr-terms", TERMS)
    page.fill("#agr-amount", "200.00")
    due = (date.today() + timedelta(days=20)).isoformat()
    page.fill("#agr-performance_due", due)
    page.click("#agreement-submit")
    expect(page.locator(".current-agreement")).to_contain_text("被申请人承担往返运费。")
    expect(page.locator(".signature-status [data-signed='no']")).to_have_count(2)
    sign_out(page)
    db.session.expire_all()
    agreement = db.session.scalar(
        db.select(Agreement).where(Agreement.complaint_id == complaint.id)
    )
    assert agreement.terms == TERMS and str(agreement.amount) == "200.00"

    # Both parties sign on their own case pages.
    used = [
        sign_on_case_page(
            page, live_server, world.consumer, f"/consumer/cases/{complaint.id}", complaint
        ),
        sign_on_case_page(
            page, live_server, world.owner, f"/merchant/cases/{complaint.id}", complaint
        ),
    ]
    print(f"signatures given through: consumer={used[0]}, enterprise={used[1]}")
    db.session.expire_all()
    complaint = db.session.get(Complaint, complaint.id)
    assert complaint.state == State.MEDIATED
    record = db.session.scalar(
        db.select(Record).where(
            Record.complaint_id == complaint.id, Record.kind == RecordKind.MEDIATION_AGREEMENT
        )
    )
    assert record is not None

    # The mediator sees both signatures and downloads the mediation agreement.
    sign_in(page, live_server, world.mediator)
    page.goto(live_server.url + f"/mediation/cases/{complaint.id}")
    expect(page.locator(".state-badge")).to_have_attribute("data-state", "mediated")
    expect(page.locator(".signature-status [data-signed='yes']")).to_have_count(2)
    with page.expect_download() as info:
        page.click("a.record-download[data-kind='mediation_agreement']")
    download = info.value
    target = tmp_path / "agreement.pdf"
    download.save_as(target)
    data = Path(target).read_bytes()
    assert data.startswith(b"%PDF")
    db.session.refresh(record)  # rendered by the worker or, at the latest, by this download
    assert hashlib.sha256(data).hexdigest() == record.sha256

    # Anyone can check it on the public verify page.
    page.goto(live_server.url + f"/verify/{record.code}")
    expect(page.locator("#verify-result")).to_have_attribute("data-valid", "yes")
    expect(page.locator("#verify-sha256")).to_have_text(record.sha256)
    page.set_input_files("#pdf", str(target))
    page.click("#verify-upload-form button[type=submit]")
    expect(page.locator("#file-result")).to_have_attribute("data-identical", "yes")
