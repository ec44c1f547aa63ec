"""Enterprise pages: application, inbox, case page, staff, tokens, webhooks.

The application form is public; every other page is for the enterprise's staff (the
owner's console pages for the owner only).
"""

import io
import secrets
from functools import wraps
from pathlib import Path
from typing import NamedTuple

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from markupsafe import Markup

from odr import display as rows
from odr.auth.decorators import check_capability
from odr.auth.models import StaffRole, UserRole
from odr.disputes import deadlines, enterprises, formats, joint
from odr.disputes.choices import Issue, Request
from odr.disputes.deadlines import SHANGHAI
from odr.disputes.evidence import ALLOWED, sniff
from odr.disputes.models import Region, RegionLevel
from odr.disputes.staff import assign_cases
from odr.disputes.states import OPEN_STATES, Invalid, State
from odr.extensions import db, limiter, login_manager
from odr.merchant import queries
from odr.merchant.forms import ApplyForm, AssignForm
from odr.types import utcnow
from odr.urls import id_urls

bp = Blueprint("merchant", __name__)

PUBLIC_ENDPOINTS = {"merchant.apply", "merchant.applied"}


@bp.before_request
def _gate():
    """Staff only, except the public application pages."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.active:
        logout_user()
        return login_manager.unauthorized()
    if current_user.role != UserRole.ENTERPRISE or current_user.enterprise_id is None:
        abort(403)
    check_capability()
    return None


def owner_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if current_user.staff_role != StaffRole.OWNER:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def request_labels(values) -> list[str]:
    labels = []
    for value in values or []:
        try:
            labels.append(str(Request(value).label))
        except ValueError:
            labels.append(str(value))
    return labels


@bp.context_processor
def _merchant_context():
    return {
        "mask_phone": formats.mask_phone,
        "mask_address": formats.mask_address,
        "request_labels": request_labels,
    }


def apply_errors(form, fields: dict, *, only_new: bool = False) -> None:
    """Put an operation's per-field messages on the form's fields (with only_new, not on a
    field the form itself already found wrong)."""
    for key, message in fields.items():
        name = key.replace("owner.", "owner_")
        if name in form:
            if only_new and form[name].errors:
                continue
            form[name].errors = [*form[name].errors, message]
        else:
            flash(message, "danger")


# -- joining ---------------------------------------------------------------------------------


def region_choices() -> list[tuple[str, str]]:
    """Counties (and cities), named with their city, in code order."""
    regions = db.session.scalars(
        db.select(Region).where(Region.level != RegionLevel.STATION).order_by(Region.code)
    ).all()
    by_code = {r.code: r for r in regions}
    choices = [("", _("— choose —"))]
    for region in regions:
        if region.level not in (RegionLevel.COUNTY, RegionLevel.CITY):
            continue
        names = [region.display_name()]
        parent = by_code.get(region.parent_code or "")
        while parent is not None:
            names.insert(0, parent.display_name())
            parent = by_code.get(parent.parent_code or "")
        separator = " " if str(get_locale()) == "en" else ""
        choices.append((region.code, f"{separator.join(names)} ({region.code})"))
    return choices


def read_upload(storage) -> tuple[bytes | None, str | None, str | None]:
    """(bytes, extension, error) of an uploaded licence or evidence file."""
    if storage is None or not getattr(storage, "filename", None):
        return None, None, _("Please attach the file.")
    limit = current_app.config["MAX_FILE_BYTES"]
    data = storage.stream.read(limit + 1)
    if len(data) > limit:
        return None, None, _("A file may be at most %(mb)s MB.", mb=limit // (1024 * 1024))
    if not data:
        return None, None, _("The file is empty.")
    mime = sniff(data[:8192])
    if mime is None:
        return None, None, _("Only images (JPEG, PNG, GIF, WebP, HEIC) and PDF files are accepted.")
    return data, ALLOWED[mime], None


@bp.route("/apply", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGNUP_RATE_LIMIT"], methods=["POST"])
def apply():
    form = ApplyForm()
    form.region_code.choices = region_choices()
    status = 200
    if request.method == "POST":
        valid = form.validate()
        csrf_field = getattr(form, "csrf_token", None)
        if csrf_field is not None and csrf_field.errors:
            return render_template("merchant/apply.html", form=form), 400
        if not form.commitment.data:
            form.commitment.errors = [
                *form.commitment.errors,
                _("The commitment to handle complaints promptly is required."),
            ]
            valid = False
        data, extension, problem = read_upload(form.licence.data)
        if problem:
            form.licence.errors = [*form.licence.errors, problem]
            valid = False
        # The domain checks run even when the form has other errors, so that every
        # field's message shows at once.
        stored_name = f"licence-{secrets.token_hex(16)}{extension or ''}"
        try:
            enterprise = enterprises.apply(
                name=form.name.data,
                name_en=form.name_en.data,
                credit_code=form.credit_code.data,
                region_code=form.region_code.data,
                address=form.address.data,
                contact_phone=form.contact_phone.data,
                owner_email=form.owner_email.data,
                owner_password=form.owner_password.data,
                owner_name=form.owner_name.data,
                commitment=bool(form.commitment.data),
                licence_path=stored_name,
                locale=str(get_locale()),
            )
        except Invalid as exc:
            db.session.rollback()
            apply_errors(form, exc.fields, only_new=True)
            valid = False
        if not valid:
            db.session.rollback()
        else:
            # The same answer whether the owner's address was new or had an account; for
            # the latter the operation recorded nothing (it answers with a stand-in and
            # mails the address's owner), so no licence is kept either.
            target = Path(current_app.config["UPLOAD_DIR"]) / stored_name
            if enterprise in db.session:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            try:
                db.session.commit()
            except Exception:
                target.unlink(missing_ok=True)
                raise
            return redirect(url_for("merchant.applied", ref=enterprise.credit_code))
        status = 422
    return render_template("merchant/apply.html", form=form), status


@bp.route("/apply/submitted")
def applied():
    return render_template("merchant/applied.html", credit_code=request.args.get("ref", "")[:18])


# -- the inbox -------------------------------------------------------------------------------


@bp.route("/inbox")
def inbox():
    now = utcnow()
    flt = queries.InboxFilter.for_user(current_user, request.args)
    complaints, next_cursor = queries.page(flt, request.args.get("cursor"), now=now)
    staff = queries.staff_names(current_user.enterprise_id)
    header = queries.inbox_header(current_user.enterprise_id, now)
    issues = rows.labels_of(Issue)
    first_page = not request.args.get("cursor")
    return render_template(
        "merchant/inbox.html",
        groups=joint.enterprise_groups(current_user.enterprise_id) if first_page else [],
        cases=inbox_rows(complaints, {u.id: u.name for u in staff}, issues),
        next_cursor=next_cursor,
        first_page=first_page,
        flt=flt,
        counts=header,
        running_counted=queries.RUNNING_COUNTED,
        assignees=assignee_choices(staff),
        states=rows.labels_of(State),
        issues=issues,
        enterprise=header,  # its name and status
    )


class InboxRow(NamedTuple):
    """One line of the inbox, every value computed in the view: the template only places
    them (a template global or macro called per row costs more than the work)."""

    id: int
    url: str
    reference: str
    urgency: str  # the row's class: table-danger (overdue), table-warning (due soon) or ""
    select_label: str
    consumer: str
    phone: str
    subject: str
    issue: str
    amount: str
    state: str
    colour: str
    label: Markup
    clock: rows.Clock | None  # shown with macros.clock_of while the case is open
    filed: str
    assignee: str | None
    turn: rows.TurnCell | None  # what the case waits for from the enterprise


def inbox_rows(complaints, staff: dict[int, str], issues: dict) -> list[InboxRow]:
    locale = rows.locale_key()
    labels = rows.state_labels()
    select = _("Select %(reference)s")
    case_url = id_urls("merchant.case", "case_id")
    days_from = rows.days_counter()  # display.days_left's counter, looked up once
    out = []
    for r in complaints:
        left = None
        if r.state in OPEN_STATES and r.deadline_at is not None:
            left = days_from(deadlines.local_date(r.deadline_at))
        urgency = ""
        if left is not None and left < 0:
            urgency = "table-danger"
        elif left is not None and deadlines.is_due_soon(left):
            urgency = "table-warning"
        out.append(
            InboxRow(
                r.id,
                case_url(r.id),
                r.reference,
                urgency,
                select % {"reference": r.reference},
                r.complainant_name,
                formats.mask_phone(r.complainant_phone),
                r.subject,
                issues[r.issue],
                formats.money(r.claimed_amount),
                r.state,
                rows.state_colour(r.state),
                labels[r.state],
                rows.clock_parts(r.deadline_at, left, locale) if left is not None else None,
                rows.local_day(r.filed_at, locale=locale),
                staff.get(r.assignee_id),
                rows.turn_cell(r.turn, r.deadline_at, r.performance_due, locale),
            )
        )
    return out


def assignee_choices(staff) -> list[tuple[str, str]]:
    return [("none", _("Nobody (the whole team)"))] + [
        (str(u.id), u.name) for u in staff if u.active
    ]


@bp.route("/inbox/assign", methods=["POST"])
def assign():
    form = AssignForm()
    form.assignee_id.choices = assignee_choices(queries.staff_names(current_user.enterprise_id))
    back = request.form.get("back") or ""
    target = back if back.startswith("/merchant/") else url_for("merchant.inbox")
    if not form.validate_on_submit():
        flash(_("The form expired or was not sent from this site. Please try again."), "danger")
        return redirect(target)
    try:
        count = assign_cases(current_user, request.form.getlist("ids"), form.assignee_id.data)
    except Invalid as exc:
        db.session.rollback()
        for message in exc.fields.values() or [exc.message]:
            flash(str(message), "danger")
        return redirect(target)
    db.session.commit()
    flash(_("%(n)s cases assigned.", n=count), "success")
    return redirect(target)


@bp.route("/inbox/export.csv")
def export():
    """The filtered list as CSV, streamed, UTF-8 with a byte-order mark for Excel."""
    now = utcnow()
    flt = queries.InboxFilter.for_user(current_user, request.args)
    staff = {u.id: u.name for u in queries.staff_names(current_user.enterprise_id)}
    header = [
        _("Reference"),
        _("State"),
        _("Filed"),
        _("Deadline"),
        _("Consumer"),
        _("Phone"),
        _("Issue"),
        _("Goods or service"),
        _("Amount"),
        _("Claimed"),
        _("Assigned to"),
        _("Joint complaint"),
    ]
    group_of = joint.references_by_case(current_user.enterprise_id)

    def rows():
        buffer = io.StringIO()
        writer = formats.csv_writer(buffer)
        yield "\ufeff"
        writer.writerow(header)
        for count, complaint in enumerate(queries.all_rows(flt, now=now), start=1):
            writer.writerow(
                [
                    complaint.reference,
                    complaint.state.label,
                    complaint.filed_at.astimezone(_tz()).strftime(formats.CSV_DATETIME_FORMAT),
                    complaint.deadline_at.astimezone(_tz()).strftime(formats.CSV_DATE_FORMAT)
                    if complaint.deadline_at
                    else "",
                    complaint.complainant_name,
                    formats.mask_phone(complaint.complainant_phone),
                    complaint.issue.label,
                    complaint.subject,
                    f"{complaint.amount:.2f}",
                    f"{complaint.claimed_amount:.2f}",
                    staff.get(complaint.assignee_id, ""),
                    group_of.get(complaint.id, ""),
                ]
            )
            if count % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    filename = f"cases-{now.astimezone(_tz()):%Y%m%d-%H%M}.csv"
    return Response(
        stream_with_context(chunk.encode("utf-8") for chunk in rows()),
        mimetype="text/csv",
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _tz():
    return SHANGHAI


import odr.merchant.cases  # noqa: E402  (routes on bp)
import odr.merchant.integration  # noqa: E402
import odr.merchant.joint  # noqa: E402
import odr.merchant.staff  # noqa: E402, F401
