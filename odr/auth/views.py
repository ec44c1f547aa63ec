"""Sign in, sign out, consumer registration, password reset."""

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from odr.auth import operations as auth_ops
from odr.auth.forms import (
    ClaimForm,
    ClaimLinkForm,
    LoginForm,
    RegisterForm,
    ResetRequestForm,
    SetPasswordForm,
)
from odr.auth.models import LinkPurpose, User, UserRole
from odr.disputes import accounts as account_ops
from odr.disputes import intake
from odr.disputes.models import Region, RegionLevel
from odr.disputes.notifications import queue_plain_email
from odr.disputes.states import DomainError, Invalid, NotFound
from odr.extensions import db, limiter
from odr.urls import local_path, public_url

bp = Blueprint("auth", __name__)

HOME_BY_ROLE = {
    UserRole.CONSUMER: "consumer.cases",
    UserRole.ENTERPRISE: "merchant.inbox",
    UserRole.MEDIATOR: "mediation.queue",
    UserRole.ADMIN: "admin.dashboard",
    UserRole.INTAKE: "intake.home",
}


def home_for(user: User) -> str:
    return url_for(HOME_BY_ROLE[user.role])


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def signup_limit() -> str:
    return current_app.config["SIGNUP_RATE_LIMIT"]


# The session's key for the address just registered, filled into the sign-in form once
# (kept out of the URL, which servers and browsers log).
SIGN_IN_EMAIL = "sign_in_email"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    form = LoginForm()
    if request.method == "GET" and SIGN_IN_EMAIL in session:
        form.email.data = session.pop(SIGN_IN_EMAIL)
    if form.validate_on_submit():
        user = auth_ops.authenticate(form.email.data, form.password.data)
        if user is None:
            flash(_("Wrong e-mail or password."), "danger")
        else:
            sign_in(user)
            return redirect(local_path(request.args.get("next")) or home_for(user))
    return render_template("auth/login.html", form=form)


def sign_in(user: User) -> None:
    """Start a new session for the user: nothing of the visitor's session is carried over
    but the language (so the CSRF secret is new), and a new server-side session token goes
    into the cookie (a session id fixed before sign-in opens nothing)."""
    lang = session.get("lang")
    session.clear()
    # Flask-WTF keeps the token it made this request in `g`: made from the secret just
    # discarded, it must not reach a page rendered after this.
    g.pop("csrf_token", None)
    if lang:
        session["lang"] = lang
    login_user(user)
    session[auth_ops.SESSION_KEY] = auth_ops.start_session(user)
    db.session.commit()


@bp.route("/logout", methods=["POST"])
def logout():
    # Ended on the server: a copy of this cookie, wherever it is, opens nothing any more.
    auth_ops.end_session(session.get(auth_ops.SESSION_KEY))
    db.session.commit()
    logout_user()
    # Nothing of this person's session (flashed messages included) may reach the next one
    # on the same browser; only the language choice stays.
    lang = session.get("lang")
    session.clear()
    g.pop("csrf_token", None)  # made from the discarded secret (see sign_in)
    if lang:
        session["lang"] = lang
    flash(_("You are signed out."), "info")
    return redirect(url_for("public.home"))


def region_choices() -> list[tuple[str, str]]:
    regions = db.session.scalars(
        db.select(Region)
        .where(Region.level.in_([RegionLevel.COUNTY, RegionLevel.CITY]))
        .order_by(Region.code)
    ).all()
    return [("", _("— choose —"))] + [(r.code, f"{r.display_name()} ({r.code})") for r in regions]


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(signup_limit, methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = RegisterForm()
    form.region_code.choices = region_choices()
    if form.validate_on_submit():
        try:
            registration = account_ops.register_consumer(
                email=form.email.data,
                password=form.password.data,
                name=form.name.data,
                phone=form.phone.data,
                region_code=form.region_code.data or None,
                address=form.address.data,
                locale=_current_lang(),
                sms_notices=form.sms_notices.data,
            )
        except Invalid as exc:
            for field, message in exc.fields.items():
                if field in form:
                    form[field].errors.append(message)
        else:
            # The same answer whether the address was new or had an account (the operation
            # tells them apart, and mails whoever it concerns): a new account is not signed
            # in either, its owner signs in like anyone.
            email = registration.user.email
            db.session.commit()
            session[SIGN_IN_EMAIL] = email
            flash(
                _(
                    "Thank you. We have sent a message to %(email)s. Sign in with this "
                    "address and your password.",
                    email=email,
                ),
                "success",
            )
            return redirect(url_for("auth.login"))
    return render_template("auth/register.html", form=form)


def _current_lang() -> str:
    from flask_babel import get_locale

    return str(get_locale())


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(signup_limit, methods=["POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        user = db.session.scalar(
            db.select(User).where(User.email == auth_ops.normalise_email(form.email.data))
        )
        if user is not None and user.active:
            raw = auth_ops.new_link(user, LinkPurpose.RESET, hours=2)
            link = public_url(url_for("auth.reset", token=raw))
            queue_plain_email(
                user.email,
                _("Reset your password"),
                _("Open this link within 2 hours to set a new password: %(link)s", link=link),
                key=f"reset:{raw[:16]}",
            )
            db.session.commit()
        flash(_("If the address has an account, a link is on its way."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    return _set_password_from_link(token, LinkPurpose.RESET)


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invite(token: str):
    return _set_password_from_link(token, LinkPurpose.INVITE)


def _set_password_from_link(token: str, purpose: LinkPurpose):
    form = SetPasswordForm()
    if form.validate_on_submit():
        user = auth_ops.use_link(token, purpose)
        if user is None:
            flash(_("This link has expired or was already used."), "danger")
            return redirect(url_for("auth.login"))
        # Whoever knew the old password is shut out: every session and API token ends.
        auth_ops.change_password(user, form.password.data)
        if purpose == LinkPurpose.INVITE:
            # An invitation opens the account; a reset never reopens a disabled one.
            user.active = True
        db.session.commit()
        flash(_("Your password is set. Please sign in."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/set_password.html", form=form)


@bp.route("/me")
@login_required
def me():
    return redirect(home_for(current_user))


@bp.route("/claim/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def claim(token: str):
    """The link sent to a caller the hotline filed for: they create their account here, or
    add the case to the consumer account they are signed in with."""
    try:
        complaint, person = intake.read_claim(token)
    except NotFound as exc:
        return render_template("auth/claim.html", problem=str(exc), complaint=None), 404
    form, link_form = ClaimForm(prefix="new"), ClaimLinkForm(prefix="link")
    signed_in = current_user.is_authenticated
    if request.method == "POST":
        try:
            if signed_in and link_form.submit.data and link_form.validate():
                intake.claim_for_account(token, current_user)
                db.session.commit()
                flash(_("The case is now in your account."), "success")
                return redirect(url_for("consumer.case", complaint_id=complaint.id))
            if not signed_in and form.validate_on_submit():
                user = intake.claim_with_new_account(
                    token,
                    email=form.email.data,
                    password=form.password.data,
                    locale=_current_lang(),
                )
                db.session.commit()
                sign_in(user)
                flash(_("Welcome! Your account is ready."), "success")
                return redirect(url_for("consumer.case", complaint_id=complaint.id))
        except Invalid as exc:
            db.session.rollback()
            for field, message in exc.fields.items():
                if field in form:
                    form[field].errors.append(message)
            if not exc.fields:
                flash(str(exc), "danger")
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
    return render_template(
        "auth/claim.html",
        problem=None,
        complaint=complaint,
        caller_name=person.name,
        form=form,
        link_form=link_form,
        token=token,
    )
