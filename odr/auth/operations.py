"""Account use cases, shared by the web and the API."""

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy.orm import contains_eager
from werkzeug.security import check_password_hash

from odr.auth.models import (
    ApiToken,
    LinkPurpose,
    OneTimeLink,
    StaffRole,
    TokenKind,
    User,
    UserRole,
    UserSession,
    hash_password,
    hash_token,
    new_secret,
)
from odr.exceptions import Invalid
from odr.extensions import db
from odr.types import as_id, utcnow

MIN_PASSWORD = 8


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def validate_account(email, password, name, *, phone=None, region_code=None) -> dict:
    """The account's fields, cleaned; Invalid naming each bad field, an address that already
    has an account included. For accounts made by staff, owners and the command line; the
    public's sign-up (`sign_up`) never says whether an address has an account."""
    clean, errors = account_fields(email, password, name, phone=phone, region_code=region_code)
    if "email" in clean and account_of(clean["email"]) is not None:
        errors["email"] = str(_l("An account with this e-mail address already exists."))
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    return clean


def account_fields(email, password, name, *, phone=None, region_code=None):
    """The cleaned fields of an account and the errors found in them (a dict each), whether
    the address is taken aside (`validate_account` refuses it, `sign_up` answers alike)."""
    from email_validator import EmailNotValidError, validate_email

    errors: dict[str, str] = {}
    clean: dict = {}
    try:
        clean["email"] = validate_email(
            str(email or ""), check_deliverability=False
        ).normalized.lower()
    except EmailNotValidError:
        errors["email"] = str(_l("Enter a valid e-mail address."))
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        errors["password"] = str(_l("Use at least %(n)s characters.", n=MIN_PASSWORD))
    elif len(password) > 200:
        errors["password"] = str(_l("At most %(n)s characters.", n=200))
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > 100:
        errors["name"] = str(_l("Enter your name (at most 100 characters)."))
    clean["name"] = name
    if phone is not None:
        phone = str(phone).strip()
        if len(phone) > 32:
            errors["phone"] = str(_l("At most %(n)s characters.", n=32))
        clean["phone"] = phone or None
    if region_code:
        if not _region_exists(str(region_code)):
            errors["region_code"] = str(_l("Unknown region."))
        clean["region_code"] = str(region_code)
    return clean, errors


def account_of(email: str) -> User | None:
    """The account of a cleaned address (lower case, as `account_fields` leaves it)."""
    return db.session.scalar(db.select(User).where(User.email == email))


def _region_exists(code: str) -> bool:
    # The region table through the user's own foreign key: accounts do not import the
    # domain's models (the domain imports these).
    (key,) = User.__table__.c.region_code.foreign_keys
    return db.session.scalar(db.select(key.column).where(key.column == code)) is not None


def _consumer(*, locale, address, sms_notices) -> dict:
    """A consumer account's own fields, beside those of every account (`account_fields`)."""
    return {
        "role": UserRole.CONSUMER,
        "locale": locale if locale in ("zh_CN", "en") else "zh_CN",
        "address": (address or "").strip()[:300] or None,
        "sms_notices": bool(sms_notices),
    }


@dataclass(frozen=True)
class Registration:
    """What a sign-up did; only this tells a new address from a taken one.

    `user` is what the person signing up is answered with either way: the new account,
    or, for an address that already has one, a stand-in made of what they typed that is
    never saved, its id reserved as an insert would take it (`reserved_id`). `owner`
    is the address's existing account (None for a new one): it is to be told by e-mail.
    `at` is when it happened."""

    user: User
    owner: User | None
    at: datetime


def register(
    *,
    email,
    password,
    name,
    phone=None,
    region_code=None,
    address=None,
    locale="zh_CN",
    sms_notices=False,
) -> Registration:
    """A consumer registers (web and API). Bad fields raise Invalid as for any account;
    an address that already has an account is not one of them: it is answered like a new
    one, with the same work (one scrypt hash, one statement for the id) and nothing of the
    existing account changed, so neither the answer nor its time says which addresses have
    accounts (issue 16). The caller tells whoever needs telling
    (odr.disputes.accounts.register_consumer mails both)."""
    clean, errors = account_fields(email, password, name, phone=phone, region_code=region_code)
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    return sign_up(
        clean, password, **_consumer(locale=locale, address=address, sms_notices=sms_notices)
    )


def sign_up(clean: dict, password: str, **account) -> Registration:
    """The one decision of every public sign-up (a consumer registering, an enterprise's
    owner applying): a new address gets its account, added and flushed; an address that
    already has one gets nothing made or changed, only a stand-in `user` to answer with.
    `clean` are the fields `account_fields` cleaned without errors, `account` the rest of
    the account (role, locale, enterprise...). The same work either way (one scrypt hash,
    one statement for the id), so neither the answer nor its time says which addresses have
    accounts (issue 16); the caller tells the person concerned (odr.disputes.accounts)."""
    user = User(password_hash=hash_password(password), **account, **clean)
    owner = account_of(clean["email"])
    if owner is None:
        db.session.add(user)
        db.session.flush()
    else:
        user.id = reserved_id(User.__table__)
    return Registration(user=user, owner=owner, at=utcnow())


def reserved_id(table: sa.Table) -> int:
    """An id as the next row inserted into `table` would take it, for a stand-in answered
    in place of a row that is not made (`sign_up`, an application for a taken address).

    PostgreSQL: the next value of the table's sequence, which no row will take.
    SQLite has no sequence: this is the largest id + 1, which the next row inserted also
    gets (the tables reuse ids, they have no AUTOINCREMENT). Whoever signs up with a taken
    address and then a new one there sees the same id twice and learns the first was
    taken; PostgreSQL, which production runs, leaves no such trace."""
    dialect = db.session.get_bind().dialect
    if dialect.name == "postgresql":
        # "user" is a reserved word: the table's name goes in quoted.
        name = dialect.identifier_preparer.format_table(table)
        sequence = sa.func.pg_get_serial_sequence(name, "id")
        return db.session.scalar(sa.select(sa.func.nextval(sequence)))
    return db.session.scalar(sa.select(func.coalesce(func.max(table.c.id), 0) + 1))


def register_consumer(
    *,
    email,
    password,
    name,
    phone=None,
    region_code=None,
    address=None,
    locale="zh_CN",
    sms_notices=False,
) -> User:
    """A consumer account made by the portal's own code (the demo seed, tests), refused like
    any account when the address is taken. The public registers through `register`."""
    clean = validate_account(email, password, name, phone=phone, region_code=region_code)
    user = User(
        password_hash=hash_password(password),
        **clean,
        **_consumer(locale=locale, address=address, sms_notices=sms_notices),
    )
    db.session.add(user)
    db.session.flush()
    return user


def create_user(
    *,
    role: UserRole,
    email,
    password,
    name,
    enterprise=None,
    staff_role: StaffRole | None = None,
    locale="zh_CN",
    phone=None,
    region_code=None,
    intake_body_id=None,
    station_id=None,
) -> User:
    clean = validate_account(email, password, name, phone=phone, region_code=region_code)
    user = User(
        role=role,
        locale=locale,
        enterprise=enterprise,
        staff_role=staff_role,
        intake_body_id=intake_body_id,
        station_id=station_id,
        **clean,
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


@functools.cache
def _stand_in_hash() -> str:
    """A password hash no password matches, made like every account's (scrypt)."""
    return hash_password(new_secret())


def authenticate(email: str, password: str) -> User | None:
    """The account with this e-mail address and password, or None. An unknown address costs
    one password hash too, so the time taken says nothing about which addresses have
    accounts."""
    user = db.session.scalar(db.select(User).where(User.email == normalise_email(email)))
    password = password if isinstance(password, str) else ""
    if user is None:
        check_password_hash(_stand_in_hash(), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


# -- browser sessions ------------------------------------------------------------------------

# A signed-in browser is signed out after this long, however active.
SESSION_DAYS = 30
# The session cookie's key holding the raw session token.
SESSION_KEY = "sid"


def start_session(user: User) -> str:
    """A new server-side session for the user: the raw token goes into the session cookie
    (a fresh one at every sign-in), its hash into user_session. The account's sessions
    past their lifetime are removed on the way."""
    now = utcnow()
    db.session.execute(
        db.delete(UserSession).where(
            UserSession.user_id == user.id,
            UserSession.created_at <= now - timedelta(days=SESSION_DAYS),
        )
    )
    raw = new_secret()
    db.session.add(UserSession(user_id=user.id, token_hash=hash_token(raw), created_at=now))
    db.session.flush()
    return raw


def end_session(raw) -> None:
    """Sign this session out everywhere: a copy of its cookie no longer opens anything."""
    if isinstance(raw, str) and raw:
        db.session.execute(db.delete(UserSession).where(UserSession.token_hash == hash_token(raw)))


# The user of a live session, in one statement (the user loader runs it on every request).
_SESSION_USER = (
    db.select(User)
    .join(UserSession, UserSession.user_id == User.id)
    .where(
        User.id == sa.bindparam("uid"),
        UserSession.token_hash == sa.bindparam("token_hash"),
        UserSession.created_at > sa.bindparam("oldest"),
    )
)


def user_for_session(user_id, raw) -> User | None:
    """The user of a browser session whose server-side row still exists, else None."""
    if not isinstance(raw, str) or not raw or len(raw) > 200:
        return None
    uid = as_id(user_id)
    if uid is None:
        return None
    oldest = utcnow() - timedelta(days=SESSION_DAYS)
    return db.session.scalar(
        _SESSION_USER, {"uid": uid, "token_hash": hash_token(raw), "oldest": oldest}
    )


def change_password(user: User, password: str, *, keep_session: str | None = None) -> None:
    """Set a new password. Whoever knew the old one is shut out: every browser session of
    the account but `keep_session` (the one making the change, if signed in) ends, and every
    API token, integration tokens included, is revoked."""
    user.set_password(password)
    now = utcnow()
    ended = db.delete(UserSession).where(UserSession.user_id == user.id)
    if isinstance(keep_session, str) and keep_session:
        ended = ended.where(UserSession.token_hash != hash_token(keep_session))
    db.session.execute(ended)
    db.session.execute(
        db.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.session.flush()


def issue_token(
    user: User,
    *,
    kind: TokenKind = TokenKind.SESSION,
    name: str | None = None,
    ttl_hours: int | None = 24,
    scopes=None,
    parent: ApiToken | None = None,
) -> tuple[str, ApiToken]:
    """A new token (answered raw once; its hash is kept). `scopes` (TokenScope values) limit
    it; None leaves it every right of its user. `parent` is the token that minted it."""
    raw = "odr_" + new_secret()
    token = ApiToken(
        user_id=user.id,
        kind=kind,
        name=name,
        token_hash=hash_token(raw),
        expires_at=utcnow() + timedelta(hours=ttl_hours) if ttl_hours else None,
        scopes=" ".join(sorted(str(s) for s in scopes)) if scopes is not None else None,
        parent_id=parent.id if parent is not None else None,
    )
    db.session.add(token)
    db.session.flush()
    return raw, token


# The token with its user and the user's enterprise, in one statement, built at first use:
# the enterprise is the domain's model, mapped once the domain is loaded.
@functools.cache
def _token_statement():
    return (
        db.select(ApiToken)
        .join(ApiToken.user)
        .where(ApiToken.token_hash == sa.bindparam("token_hash"))
        .options(contains_eager(ApiToken.user).joinedload(User.enterprise))
    )


def token_for(raw: str) -> ApiToken | None:
    """The valid token of this raw value, with its user: not revoked, not expired, its user
    active, and no token in the line that minted it revoked (a revocation reaches
    everything minted below it, even what was minted while it was being revoked)."""
    token = db.session.scalars(_token_statement(), {"token_hash": hash_token(raw)}).first()
    now = utcnow()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if not token.user.active:
        return None
    if token.parent_id is not None and _line_revoked(token.parent_id):
        return None
    return token


def _line_revoked(token_id: int | None) -> bool:
    seen: set[int] = set()
    while token_id is not None and token_id not in seen:
        seen.add(token_id)
        row = db.session.execute(
            db.select(ApiToken.revoked_at, ApiToken.parent_id).where(ApiToken.id == token_id)
        ).first()
        if row is None or row.revoked_at is not None:
            return True
        token_id = row.parent_id
    return False


def user_for_token(raw: str) -> User | None:
    token = token_for(raw)
    return token.user if token is not None else None


def revoke_with_descendants(token: ApiToken, now=None) -> list[ApiToken]:
    """Revoke a token and every token minted below it; answer those newly revoked."""
    now = now or utcnow()
    revoked, frontier = [], [token]
    while frontier:
        for item in frontier:
            if item.revoked_at is None:
                item.revoked_at = now
                revoked.append(item)
        frontier = list(
            db.session.scalars(
                db.select(ApiToken).where(ApiToken.parent_id.in_([t.id for t in frontier]))
            )
        )
    db.session.flush()
    return revoked


def new_link(user: User, purpose: LinkPurpose, hours: int) -> str:
    raw = new_secret()
    db.session.add(
        OneTimeLink(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_token(raw),
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    db.session.flush()
    return raw


def use_link(raw: str, purpose: LinkPurpose) -> User | None:
    """The link's user, once: the link is spent by this call."""
    link = db.session.scalar(
        db.select(OneTimeLink).where(
            OneTimeLink.token_hash == hash_token(raw or ""), OneTimeLink.purpose == purpose
        )
    )
    now = utcnow()
    if link is None or link.used_at is not None or link.expires_at <= now:
        return None
    # Spent atomically: of two requests using the link at once, the second finds it used.
    spent = db.session.execute(
        db.update(OneTimeLink)
        .where(OneTimeLink.id == link.id, OneTimeLink.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    return link.user if spent == 1 else None
