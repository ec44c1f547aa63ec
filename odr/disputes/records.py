"""PDF records (WeasyPrint): issued once, stored, never changed.

Templates receive plain dicts (record_data.build_context), rendered in the case's language;
WeasyPrint may fetch only data: URIs and the app's own static files. The seal of the body
and the QR code of the public verify page are drawn here and embedded as data URIs.

Anyone holding a record can check it: `verification(code)` answers whether the code was
issued, with its kind, case reference, issue time and SHA-256 (never personal data), and
`same_bytes(record, data)` whether a copy is byte-identical to the one issued.
"""

import base64
import hashlib
import io
import json
import logging
import math
import os
import re
import secrets
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

import qrcode
import qrcode.image.svg
from flask import current_app, render_template
from flask_babel import force_locale, format_datetime, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from odr.disputes import formats, seals
from odr.disputes.choices import RecordKind
from odr.disputes.models import Complaint, Record
from odr.disputes.notifications import notify
from odr.disputes.permissions import require_capability, role_in_case
from odr.disputes.record_data import build_context, document_title
from odr.disputes.states import Forbidden, NotFound, Role
from odr.extensions import db
from odr.types import utcnow
from odr.urls import public_url

log = logging.getLogger(__name__)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 16
_CODE_RE = re.compile(f"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")

TEMPLATES = {
    RecordKind.SETTLEMENT: "pdf/settlement.html",
    RecordKind.MEDIATION_AGREEMENT: "pdf/mediation_agreement.html",
    RecordKind.REFUSAL: "pdf/refusal.html",
    RecordKind.TERMINATION: "pdf/termination.html",
    RecordKind.CASE_FILE: "pdf/case_file.html",
}
FALLBACK_TEMPLATE = "pdf/record.html"

# A seal carries the registered Chinese name of its holder whatever the reader's language,
# like the rubber seal it stands for. A direct settlement has no mediation body: the
# portal itself seals the record it keeps of the parties' agreement.
PLATFORM_SEAL_NAME = "在线消费纠纷解决平台"
SEAL_RED = "#c8161d"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str | None) -> str | None:
    """The code as issued (upper case, no spaces or dashes), or None when it cannot be one."""
    cleaned = re.sub(r"[\s-]", "", code or "").upper()
    return cleaned if _CODE_RE.match(cleaned) else None


def verify_url(code: str) -> str:
    return public_url(f"/verify/{code}")


def qr_svg_data_uri(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=1)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def seal_svg(name: str, label: str = "") -> str:
    """An official round seal: a red ring, the holder's name around the top, a five-pointed
    star in the middle and an optional line (e.g. 调解专用章) below it."""
    size, centre = 200, 100.0
    chars = [c for c in (name or PLATFORM_SEAL_NAME) if not c.isspace()][:28]
    n = len(chars)
    # The name fills an arc of up to 250 degrees over the top; long names get smaller type.
    step = min(26.0, 250.0 / max(n - 1, 1))
    font = 24 if n <= 10 else max(13, int(24 - (n - 10) * 0.9))
    span = step * (n - 1)
    start = -90.0 - span / 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}">',
        f'<circle cx="{centre}" cy="{centre}" r="93" fill="none" stroke="{SEAL_RED}" '
        'stroke-width="6"/>',
    ]
    for i, ch in enumerate(chars):
        angle = start + step * i
        rad = math.radians(angle)
        x = centre + 70 * math.cos(rad)
        y = centre + 70 * math.sin(rad)
        parts.append(
            f'<text x="0" y="0" font-family="Noto Serif CJK SC, Noto Sans CJK SC, serif" '
            f'font-weight="bold" font-size="{font}" fill="{SEAL_RED}" text-anchor="middle" '
            f'dominant-baseline="central" '
            f'transform="translate({x:.2f},{y:.2f}) rotate({angle + 90:.2f})">'
            f"{escape(ch)}</text>"
        )
    points = []
    for k in range(10):
        radius = 30 if k % 2 == 0 else 12
        rad = math.radians(-90 + 36 * k)
        points.append(
            f"{centre + radius * math.cos(rad):.2f},{centre - 4 + radius * math.sin(rad):.2f}"
        )
    parts.append(f'<polygon points="{" ".join(points)}" fill="{SEAL_RED}"/>')
    if label:
        parts.append(
            f'<text x="{centre}" y="150" font-family="Noto Serif CJK SC, Noto Sans CJK SC, serif" '
            f'font-weight="bold" font-size="15" fill="{SEAL_RED}" text-anchor="middle">'
            f"{escape(label[:12])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def seal_svg_data_uri(name: str, label: str = "") -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(seal_svg(name, label).encode()).decode()


def _url_fetcher():
    """Only data: URIs and the app's own static files; nothing from the network."""
    from weasyprint.urls import URLFetcher

    static = Path(current_app.static_folder).resolve()

    class StaticOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("file://"):
                path = Path(url[len("file://") :].split("?")[0]).resolve()
                if static not in path.parents:
                    raise ValueError(f"refused to fetch {url!r} while rendering a record")
            return super().fetch(url, headers)

    return StaticOnlyFetcher(allowed_protocols={"data", "file"})


def render_pdf(template: str, context: dict) -> bytes:
    # Imported when a record is first rendered, not with the app: WeasyPrint and its font
    # machinery take about 27 MB that most portal workers never use.
    from weasyprint import HTML

    html = render_template(template, **context)
    return HTML(
        string=html,
        base_url=Path(current_app.static_folder).as_uri() + "/",
        url_fetcher=_url_fetcher(),
    ).write_pdf()


def record_context(complaint: Complaint, kind: RecordKind, code: str, issued_at: datetime) -> dict:
    return build_context(complaint, kind, code, issued_at)


def _decorate(context: dict, code: str) -> dict:
    """What every record carries besides the case data: the QR code and the seal."""
    context["qr"] = qr_svg_data_uri(verify_url(code))
    context["verify_url"] = verify_url(code)
    seal_name = (context.get("seal") or {}).get("name") or PLATFORM_SEAL_NAME
    seal_label = (context.get("seal") or {}).get("label") or ""
    context["seal_uri"] = seal_svg_data_uri(seal_name, seal_label)
    return context


def _title(kind: RecordKind) -> str:
    try:
        return document_title(kind)
    except Exception:  # the plain record must never fail
        return str(kind)


def _minimal_context(complaint: Complaint, kind: RecordKind, code: str, issued_at) -> dict:
    """What a record shows when the full data could not be built: never fails."""
    return {
        "kind": str(kind),
        "title": _title(kind),
        "code": code,
        "issued_at": format_datetime(issued_at, formats.DATETIME_FORMAT)
        + formats.moment_zone(get_locale() or "zh_CN"),
        "reference": getattr(complaint, "reference", "") or "",
        "chinese": str(get_locale() or "zh_CN").startswith("zh"),
        "colon": "：" if str(get_locale() or "zh_CN").startswith("zh") else ": ",
        "seal": {"name": PLATFORM_SEAL_NAME, "label": ""},
        "notice": _("This record shows the essentials only; the full case file is kept."),
    }


def _context_at_issue(complaint: Complaint, kind: RecordKind, code: str, issued_at) -> dict:
    """What the record will show, built now (in the case's language) and kept as JSON: the
    PDF rendered later shows the case as it was when the record was issued. If the full
    data cannot be built (a missing field, an odd case), the plain record's is kept
    instead of failing the move, and the error is logged."""
    kind = RecordKind(kind)
    with force_locale(complaint.language or "zh_CN"):
        try:
            context = record_context(complaint, kind, code, issued_at)
            template = TEMPLATES[kind]
        except Exception:
            log.exception(
                "record %s (%s) for case %s: full data failed",
                code,
                kind,
                getattr(complaint, "id", None),
            )
            context = _minimal_context(complaint, kind, code, issued_at)
            template = FALLBACK_TEMPLATE
    context = json.loads(json.dumps(context, ensure_ascii=False, default=str))
    context["_template"] = template
    return context


def _render_context(context: dict, kind: RecordKind, code: str, language: str) -> bytes:
    """The PDF of a kept context. A template that fails renders the plain record."""
    context = dict(context)
    template = context.pop("_template", None) or TEMPLATES[RecordKind(kind)]
    with force_locale(language or "zh_CN"):
        try:
            return render_pdf(template, _decorate(context, code))
        except Exception:
            log.exception("record %s (%s): full rendering failed", code, kind)
            plain = {
                "kind": str(kind),
                "title": context.get("title") or _title(kind),
                "code": code,
                "issued_at": context.get("issued_at", ""),
                "reference": context.get("reference", ""),
                "chinese": str(language or "zh_CN").startswith("zh"),
                "colon": "：" if str(language or "zh_CN").startswith("zh") else ": ",
                "seal": {"name": PLATFORM_SEAL_NAME, "label": ""},
                "notice": _("This record shows the essentials only; the full case file is kept."),
            }
            return render_pdf(FALLBACK_TEMPLATE, _decorate(plain, code))


def render_record(complaint: Complaint, kind: RecordKind, code: str, issued_at: datetime) -> bytes:
    """The record's PDF in the case's language, rendered from the case as it is now."""
    context = _context_at_issue(complaint, kind, code, issued_at)
    return _render_context(context, kind, code, complaint.language or "zh_CN")


def issue_record(complaint: Complaint, kind: RecordKind, *, now: datetime | None = None) -> Record:
    """Register one record with its code and the data it shows (flushes). Its PDF is
    rendered after the commit, by the worker (`render_due`) or by the first reader
    (`render_pending`): a move answers at once instead of waiting for WeasyPrint."""
    issued_at = now or utcnow()
    code = new_code()
    record = Record(
        complaint_id=complaint.id,
        kind=kind,
        code=code,
        issued_at=issued_at,
        language=complaint.language or "zh_CN",
        context=_context_at_issue(complaint, kind, code, issued_at),
    )
    db.session.add(record)
    db.session.flush()
    return record


def render_pending(record: Record) -> Record:
    """Render a record not rendered yet, store its bytes and register them (flushes; the
    caller commits). Safe when two processes render the same record at once: the first
    to register its digest wins, the other's bytes are dropped, and only the winner's
    file is written."""
    if record.ready:
        return record
    context = record.context or {}
    pdf = _render_context(context, record.kind, record.code, record.language)
    digest = hashlib.sha256(pdf).hexdigest()
    relative = f"{record.code}.pdf"
    # The row was sealed at its issue without a digest; the digest it gains now is sealed
    # at the commit like any change the portal makes.
    seals.remember_before(db.session(), "record", [record.complaint_id])
    won = db.session.execute(
        db.update(Record)
        .where(Record.id == record.id, Record.sha256.is_(None))
        .values(sha256=digest, path=relative, size=len(pdf), context=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won:
        seals.note(db.session(), "record", [record.complaint_id], [record.id])
        seals.seal_now(db.session())
        directory = Path(current_app.config["RECORD_DIR"])
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / relative
        temporary = target.with_suffix(f".{secrets.token_hex(4)}.tmp")
        temporary.write_bytes(pdf)
        os.replace(temporary, target)
    db.session.refresh(record)
    return record


def render_due(limit: int = 20) -> int:
    """Render the records issued and not rendered yet, oldest first, each committed on
    its own (the worker); answer how many were rendered."""
    ids = list(
        db.session.scalars(
            db.select(Record.id).where(Record.context.is_not(None)).order_by(Record.id).limit(limit)
        )
    )
    done = 0
    for record_id in ids:
        try:
            record = db.session.get(Record, record_id)
            if record is not None and not record.ready:
                render_pending(record)
                done += 1
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("rendering record %s failed", record_id)
    return done


def issue_case_file(actor, complaint: Complaint, *, now: datetime | None = None) -> Record:
    """The whole case file, on request of a party or the mediator of the case."""
    role = role_in_case(actor, complaint)
    if role is None:
        raise NotFound(_l("No such case."))
    if role not in {Role.CONSUMER, Role.ENTERPRISE, Role.MEDIATOR}:
        raise Forbidden(_l("You may not do this on this case."))
    require_capability(actor)
    record = issue_record(complaint, RecordKind.CASE_FILE, now=now)
    notify(
        complaint,
        "record_issued",
        actor=actor,
        params={"kind": str(RecordKind.CASE_FILE), "code": record.code},
    )
    return record


def record_bytes(record: Record) -> bytes:
    """The record's PDF; rendered first if nobody has yet (flushes)."""
    if not record.ready:
        render_pending(record)
    return (Path(current_app.config["RECORD_DIR"]) / record.path).read_bytes()


# -- verification ------------------------------------------------------------------------


def find_record(code: str | None) -> Record | None:
    code = normalise_code(code)
    if code is None:
        return None
    return db.session.scalar(db.select(Record).where(Record.code == code))


def find_by_sha256(digest: str) -> Record | None:
    """The issued record with these bytes, if its row is the one sealed at its issue."""
    if not re.fullmatch(r"[0-9a-f]{64}", digest or ""):
        return None
    for record in db.session.scalars(
        db.select(Record).where(Record.sha256 == digest).order_by(Record.id).limit(5)
    ):
        if genuine(record):
            return record
    return None


def genuine(record: Record) -> bool:
    """Whether the record's row (its SHA-256, size, code, case) is the one sealed under the
    audit key when it was issued: a row rewritten to match a forged PDF is not."""
    return seals.record_sealed(db.session, record)


def records_of(complaint: Complaint) -> list[Record]:
    return list(
        db.session.scalars(
            db.select(Record).where(Record.complaint_id == complaint.id).order_by(Record.id)
        )
    )


def verification(code: str | None) -> dict:
    """What anyone may learn from a verification code: never personal data."""
    record = find_record(code)
    if record is None or not genuine(record):
        return {"valid": False, "kind": None, "reference": None, "issued_at": None, "sha256": None}
    if not record.ready:  # issued moments ago: its digest exists once it is rendered
        render_pending(record)
    reference = db.session.scalar(
        db.select(Complaint.reference).where(Complaint.id == record.complaint_id)
    )
    return {
        "valid": True,
        "code": record.code,
        "kind": str(record.kind),
        "reference": reference,
        "issued_at": record.issued_at.isoformat(),
        "sha256": record.sha256,
    }


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def same_bytes(record: Record, data: bytes) -> bool:
    """Whether a copy is byte-identical to the record as issued (and the record's row is the
    one sealed at its issue)."""
    if not record.ready:  # nobody can hold a copy of a record not rendered yet
        return False
    return secrets.compare_digest(sha256_of(data), record.sha256) and genuine(record)
