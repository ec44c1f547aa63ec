"""Headers and content: every page carries a Content-Security-Policy without inline scripts
or styles, nosniff and frame denial; user text (names, facts, messages, offers, reasons)
shows as the literal text it is everywhere it appears: every page of every role (found by
crawling), e-mails, PDF records, the API, webhooks and the CSV export. Never a live tag,
never an evaluated template expression."""

import csv
import io
import re
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pdfplumber

from odr.auth import operations as auth_ops
from odr.auth.models import StaffRole, UserRole
from odr.disputes import operations as ops
from odr.disputes.delivery import build_email
from odr.disputes.evidence import store_evidence
from odr.disputes.models import Outbox, Record, WebhookEndpoint
from odr.disputes.notifications import written
from odr.disputes.records import record_bytes
from tests.factories import PASSWORD, file_case

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'SSTI{{7*7}}END ${7*7}"
LIVE = ("<script>alert(1)", "<img src=x onerror", "SSTI49END", "${49}")
ESCAPED_TAG = "&lt;script&gt;alert(1)&lt;/script&gt;"
LITERAL_EXPR = "SSTI{{7*7}}END"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


# -- headers ------------------------------------------------------------------------------


def csp(response) -> dict[str, set[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = set(words[1:])
    return out


def assert_secure_headers(response, where: str) -> None:
    policy = csp(response)
    assert policy.get("default-src") == {"'self'"}, where
    assert policy.get("script-src") == {"'self'"}, (where, policy.get("script-src"))
    assert policy.get("style-src") == {"'self'"}, (where, policy.get("style-src"))
    assert policy.get("object-src") == {"'none'"}, where
    assert policy.get("frame-ancestors") == {"'none'"}, where
    assert policy.get("base-uri") == {"'self'"} and policy.get("form-action") == {"'self'"}
    assert response.headers.get("X-Frame-Options") == "DENY", where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy"), where
    assert "Strict-Transport-Security" not in response.headers  # only in production (https)


class PageChecker(HTMLParser):
    """What the CSP would block or what would run: inline scripts, inline styles, event
    handler attributes, javascript: links."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{name}= on <{tag}>")
            if name == "style":
                self.problems.append(f"style= on <{tag}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"javascript: URL on <{tag}>")


def page_problems(html: str) -> list[str]:
    checker = PageChecker()
    checker.feed(html)
    return checker.problems


SKIP = ("/static/", "/lang/", "/auth/logout", "/api/")


def crawl(client, starts, limit=120) -> dict[str, object]:
    """GET the start pages and every same-site link found on them, breadth first."""
    queue, seen, pages = list(starts), set(), {}
    while queue and len(pages) < limit:
        url = queue.pop(0)
        if url in seen or url.startswith(SKIP):
            continue
        seen.add(url)
        response = client.get(url)
        response.get_data()
        response.close()  # files are streamed: close them
        pages[url] = response
        if response.status_code in (301, 302, 303) and response.location.startswith("/"):
            queue.append(response.location.split("?")[0])
        if response.mimetype != "text/html":
            continue
        for href in re.findall(r'href="(/[^"#?]*)', response.get_data(as_text=True)):
            href = href.replace("&amp;", "&")
            if href not in seen:
                queue.append(href)
    return pages


def sign_in(client, email):
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, email


# -- a portal full of hostile text ----------------------------------------------------------


def hostile_portal(world, db):
    consumer = auth_ops.register_consumer(
        email="hostile@test.example",
        password=PASSWORD,
        name=PAYLOAD[:100],
        phone="13800000000",
        region_code="410105",
        address=PAYLOAD,
    )
    agent = auth_ops.create_user(
        role=UserRole.ENTERPRISE,
        email="hostile.agent@test.example",
        password=PASSWORD,
        name=PAYLOAD[:100],
        enterprise=world.enterprise,
        staff_role=StaffRole.AGENT,
    )
    db.session.add(
        WebhookEndpoint(
            enterprise_id=world.enterprise.id, url="https://hooks.example.cn/odr", secret="s"
        )
    )
    db.session.commit()
    hostile = {"subject": PAYLOAD[:200], "facts": PAYLOAD, "purchase_place": PAYLOAD}

    settled = file_case(consumer, world.enterprise, **hostile)
    store_evidence(consumer, io.BytesIO(PNG), PAYLOAD + ".png", complaint=settled)
    ops.post_message(consumer, settled, PAYLOAD)
    ops.post_message(agent, settled, PAYLOAD)
    offer = ops.make_offer(agent, settled, remedy="refund", amount="10.00", terms=PAYLOAD)
    ops.reject_offer(consumer, settled, offer.id, counter_proposal=PAYLOAD)
    offer = ops.make_offer(agent, settled, remedy="refund", amount="20.00", terms=PAYLOAD)
    ops.accept_offer(consumer, settled, offer.id)
    db.session.commit()

    mediated = file_case(consumer, world.enterprise, green_channel=False, **hostile)
    ops.accept_case(world.head, mediated)
    ops.post_message(world.head, mediated, PAYLOAD)
    ops.post_message(world.head, mediated, PAYLOAD, internal=True)
    ops.post_message(consumer, mediated, PAYLOAD)
    ops.terminate(world.head, mediated, reason="T4", explanation=PAYLOAD)
    db.session.commit()

    formula = file_case(consumer, world.enterprise, subject='=HYPERLINK("http://evil.example","x")')
    return consumer, agent, settled, mediated, formula


def assert_nothing_live(text: str, where: str) -> None:
    for live in LIVE:
        assert live not in text, f"{live!r} live in {where}"


# -- tests ----------------------------------------------------------------------------------


def test_every_page_has_the_security_headers_and_no_inline_code(app, world, db):
    consumer, agent, settled, mediated, _ = hostile_portal(world, db)
    record = db.session.scalar(db.select(Record).where(Record.complaint_id == settled.id))
    visitors = {
        None: [
            "/",
            "/auth/login",
            "/auth/register",
            "/auth/reset",
            "/verify",
            "/enterprises",
            "/warnings",
            "/merchant/apply",
            f"/verify/{record.code}",
            "/no-such-page",
        ],
        consumer.email: [
            "/consumer/cases",
            f"/consumer/cases/{settled.id}",
            f"/consumer/cases/{mediated.id}",
            "/notifications",
            "/consumer/file",
        ],
        agent.email: [
            "/merchant/inbox",
            f"/merchant/cases/{settled.id}",
            f"/merchant/cases/{mediated.id}",
        ],
        world.owner.email: ["/merchant/inbox", "/merchant/staff", "/merchant/integration"],
        world.head.email: ["/mediation/", f"/mediation/cases/{mediated.id}"],
        world.admin.email: [
            "/admin/",
            "/admin/enterprises",
            "/admin/bodies",
            "/admin/calendar",
            "/admin/performance",
            "/admin/warnings",
            "/admin/requests",
        ],
    }
    html_pages = 0
    for email, starts in visitors.items():
        client = app.test_client()
        if email:
            sign_in(client, email)
        for url, response in crawl(client, starts).items():
            where = f"{url} as {email or 'anonymous'}"
            assert response.status_code < 500, where
            if response.status_code in (301, 302, 303):
                continue
            assert_secure_headers(response, where)
            if response.mimetype == "text/html":
                html_pages += 1
                text = response.get_data(as_text=True)
                assert page_problems(text) == [], where
                assert_nothing_live(text, where)
    assert html_pages >= 40
    api = app.test_client().get("/api/v1/openapi.json")
    assert api.headers.get("X-Content-Type-Options") == "nosniff"


def test_templates_have_no_inline_scripts_styles_or_handlers():
    """Pages not reachable in the crawl are held to the same rule (PDF templates are
    rendered by WeasyPrint, not a browser, and may style inline)."""
    problems = []
    for path in sorted((ROOT / "odr" / "templates").rglob("*.html")):
        if "pdf" in path.relative_to(ROOT / "odr" / "templates").parts:
            continue
        text = path.read_text(encoding="utf-8")
        for pattern, what in (
            (r"<script(?![^>]*\bsrc=)[^>]*>", "inline script"),
            (r"<style\b", "style element"),
            (r"\son[a-z]+\s*=", "event handler"),
            (r"\sstyle\s*=", "style attribute"),
            (r"javascript:", "javascript: URL"),
        ):
            for match in re.finditer(pattern, text, flags=re.IGNORECASE):
                problems.append(f"{path.relative_to(ROOT)}: {what}: {match.group(0)!r}")
    assert problems == []


def test_user_text_shows_literally_on_every_party_page(app, world, db):
    consumer, agent, settled, mediated, _ = hostile_portal(world, db)
    views = [
        (consumer.email, f"/consumer/cases/{settled.id}"),
        (consumer.email, f"/consumer/cases/{mediated.id}"),
        (agent.email, f"/merchant/cases/{settled.id}"),
        (world.head.email, f"/mediation/cases/{mediated.id}"),
    ]
    for email, url in views:
        client = app.test_client()
        sign_in(client, email)
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        assert_nothing_live(text, url)
        assert ESCAPED_TAG in text, f"the facts or messages are not shown on {url}"
        assert LITERAL_EXPR in text
        assert page_problems(text) == []


def test_emails_and_webhooks_carry_the_literal_text(app, world, db):
    consumer, agent, settled, mediated, _ = hostile_portal(world, db)
    mails = db.session.scalars(db.select(Outbox).where(Outbox.channel == "email")).all()
    hooks = db.session.scalars(db.select(Outbox).where(Outbox.channel == "webhook")).all()
    for item in mails:
        item.subject, item.body = written(item)  # as the worker writes them when sending
    to_hostile = [m for m in mails if m.recipient in (consumer.email, agent.email)]
    assert to_hostile and hooks
    for item in mails + hooks:
        # Plain text and JSON carry the text as typed; no template ever evaluated it.
        for evaluated in ("SSTI49END", "${49}"):
            assert evaluated not in item.body and evaluated not in (item.subject or "")
    for item in to_hostile:
        assert PAYLOAD[:100] in item.body  # "Dear <name>," as typed
        message: EmailMessage = build_email(item)
        assert message.get_content_type() == "text/plain"  # never interpreted as HTML
        assert "\n" not in message["Subject"]


def pdf_text(record: Record) -> str:
    with pdfplumber.open(io.BytesIO(record_bytes(record))) as pdf:
        return "".join(page.extract_text() or "" for page in pdf.pages)


def test_pdf_records_print_the_literal_text(app, world, db):
    _, _, settled, mediated, _ = hostile_portal(world, db)
    records = db.session.scalars(
        db.select(Record).where(Record.complaint_id.in_([settled.id, mediated.id]))
    ).all()
    assert {r.kind for r in records} >= {"settlement", "termination"}
    for record in records:
        text = re.sub(r"\s+", "", pdf_text(record))
        assert "<script>alert(1)</script>" in text, record.kind
        assert LITERAL_EXPR in text, record.kind
        assert "SSTI49END" not in text


def test_api_and_csv_export_return_the_text_as_data(app, world, db, api, client):
    consumer, agent, settled, _, formula = hostile_portal(world, db)
    response = api.get(consumer, f"/complaints/{settled.id}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["facts"] == PAYLOAD and body["subject"] == PAYLOAD[:200]
    messages = api.get(agent, f"/complaints/{settled.id}/messages").get_json()
    assert PAYLOAD in [m["body"] for m in messages["items"]]

    sign_in(client, world.owner.email)
    export = client.get("/merchant/inbox/export.csv")
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    subjects = [row[7] for row in rows[1:]]
    assert "'" + formula.subject in subjects  # a formula is neutralised for spreadsheets
    assert PAYLOAD[:200] in subjects  # other text is exported as typed
