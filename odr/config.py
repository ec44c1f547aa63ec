"""Configuration classes, read from the environment (12-factor)."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
_INSTANCE = Path(os.environ.get("ODR_INSTANCE_DIR", BASE_DIR / "instance"))

DEV_SECRET = "dev-only-not-secret"  # noqa: S105 - refused in production
# The audit key's stand-in outside production: fixed, public, refused in production.
DEV_AUDIT_KEY = "dev-only-audit-key-not-secret"


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    SECRET_KEY = os.environ.get("ODR_SECRET_KEY", DEV_SECRET)
    # The HMAC key of the audit chain, the case seals and the backups (odr/disputes/seals.py).
    # Kept outside the database (environment or secret store): whoever holds only the
    # database cannot rebuild what it signs. Production refuses to start without it.
    AUDIT_KEY = os.environ.get("ODR_AUDIT_KEY", DEV_AUDIT_KEY)
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "ODR_DATABASE_URL", f"sqlite:///{_INSTANCE / 'odr.sqlite'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    INSTANCE_DIR = str(_INSTANCE)
    UPLOAD_DIR = os.environ.get("ODR_UPLOAD_DIR", str(_INSTANCE / "uploads"))
    RECORD_DIR = os.environ.get("ODR_RECORD_DIR", str(_INSTANCE / "records"))
    MAIL_DIR = os.environ.get("ODR_MAIL_DIR", str(_INSTANCE / "mail"))
    # Where outgoing mail goes: "file" writes .eml files to MAIL_DIR, "smtp" sends.
    MAIL_BACKEND = os.environ.get("ODR_MAIL_BACKEND", "file")
    SMTP_HOST = os.environ.get("ODR_SMTP_HOST", "127.0.0.1")
    SMTP_PORT = int(os.environ.get("ODR_SMTP_PORT", "25"))
    MAIL_FROM = os.environ.get("ODR_MAIL_FROM", "noreply@odr.example.cn")
    # The address people reach the portal at: every link in an e-mail, an SMS or a record's
    # QR code is built from it (odr.urls.public_url), never from a request's Host header.
    PUBLIC_BASE_URL = os.environ.get("ODR_PUBLIC_BASE_URL") or "http://127.0.0.1:5000"
    # Where text messages go: "file" writes one .txt per message to SMS_DIR (development,
    # tests), "http" POSTs JSON {to, text, sender, id} to the SMS gateway with the token as a
    # bearer; failures are retried from the outbox with backoff like mail.
    SMS_BACKEND = os.environ.get("ODR_SMS_BACKEND", "file")
    SMS_DIR = os.environ.get("ODR_SMS_DIR", str(_INSTANCE / "sms"))
    SMS_GATEWAY_URL = os.environ.get("ODR_SMS_GATEWAY_URL", "")
    SMS_GATEWAY_TOKEN = os.environ.get("ODR_SMS_GATEWAY_TOKEN", "")
    SMS_SENDER = os.environ.get("ODR_SMS_SENDER", "12315")
    SMS_TIMEOUT = float(os.environ.get("ODR_SMS_TIMEOUT", "10"))

    MAX_CONTENT_LENGTH = 12 * 1024 * 1024  # one request: a 10 MB file plus the form
    MAX_FILE_BYTES = 10 * 1024 * 1024
    MAX_CASE_BYTES = 50 * 1024 * 1024

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ["zh_CN", "en"]

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("ODR_SECURE_COOKIES", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    # How many reverse proxies stand in front of the app (their X-Forwarded-For/-Proto/-Host
    # are then trusted): the client's address for rate limits, https for links and HSTS.
    PROXY_COUNT = int(os.environ.get("ODR_PROXY_COUNT", "0"))
    # Where rate-limit counts are kept: "database://" (the default) is the portal's own
    # database, shared by every worker and app server; "redis://..." when there is Redis;
    # "memory://" counts per worker process (so N workers allow N times the tries).
    RATELIMIT_STORAGE_URI = os.environ.get("ODR_RATELIMIT_STORAGE_URL") or "database://"
    RATELIMIT_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("ODR_LOGIN_RATE_LIMIT", "10 per minute")
    # Creating accounts (consumer registration, enterprise applications, on the web and
    # through the API) and asking for password-reset links, per client.
    SIGNUP_RATE_LIMIT = os.environ.get("ODR_SIGNUP_RATE_LIMIT", "20 per hour")
    API_TOKEN_TTL_HOURS = 24
    # Webhooks: may an enterprise's endpoint be a loopback or private-network address (a
    # receiver on this machine, in development), and must it be https? Production refuses
    # both, so no enterprise can make the portal call inside its own network.
    WEBHOOK_PRIVATE_ADDRESSES = _env_bool("ODR_WEBHOOK_PRIVATE_ADDRESSES", True)
    WEBHOOK_REQUIRE_HTTPS = _env_bool("ODR_WEBHOOK_REQUIRE_HTTPS", False)
    HSTS = False
    TESTING = False
    # Cases the deadline sweep moves and commits together; unset, its default for the
    # database (odr.disputes.sweep.BATCH).
    SWEEP_BATCH = int(os.environ["ODR_SWEEP_BATCH"]) if os.environ.get("ODR_SWEEP_BATCH") else None
    # Statistics: an ODR enterprise answering on time less often than the threshold (over
    # at least the minimum of cases) is flagged; the dashboard's snapshots live ODR_STATS_TTL
    # seconds and are kept at all unless switched off (tests compute them afresh).
    ODR_ONTIME_THRESHOLD = float(os.environ.get("ODR_ONTIME_THRESHOLD", "0.8"))
    ODR_ONTIME_MIN_CASES = int(os.environ.get("ODR_ONTIME_MIN_CASES", "5"))
    ODR_STATS_TTL = float(os.environ.get("ODR_STATS_TTL", "300"))
    ODR_STATS_SNAPSHOTS = _env_bool("ODR_STATS_SNAPSHOTS", True)
    # The web layer's one cache (odr/viewcache.py): what the statistics pages, the
    # scoreboard and the outcome guidance are made from, kept in each worker while its
    # version stays the same. Off, every request computes them (to measure what it buys).
    VIEW_CACHE = _env_bool("ODR_VIEW_CACHE", True)


class DevelopmentConfig(Config):
    DEBUG = False


class TestConfig(Config):
    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("ODR_TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False
    ODR_STATS_SNAPSHOTS = _env_bool("ODR_STATS_SNAPSHOTS", False)
    RATELIMIT_ENABLED = False
    SERVER_NAME = None


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS = True
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10}
    WEBHOOK_PRIVATE_ADDRESSES = _env_bool("ODR_WEBHOOK_PRIVATE_ADDRESSES", False)
    WEBHOOK_REQUIRE_HTTPS = _env_bool("ODR_WEBHOOK_REQUIRE_HTTPS", True)
    # No default: a link mailed from production must point at the real site.
    PUBLIC_BASE_URL = os.environ.get("ODR_PUBLIC_BASE_URL", "")

    @classmethod
    def check(cls) -> None:
        if cls.SMS_BACKEND == "http" and not cls.SMS_GATEWAY_URL.startswith("https://"):
            raise RuntimeError("ODR_SMS_GATEWAY_URL must be an https:// address in production")
        if cls.SECRET_KEY == DEV_SECRET or len(cls.SECRET_KEY) < 16:
            raise RuntimeError(
                "ODR_SECRET_KEY must be set to a long random value in production "
                '(python -c "import secrets; print(secrets.token_hex(32))")'
            )
        if not public_base_url_valid(cls.PUBLIC_BASE_URL):
            raise RuntimeError(
                "ODR_PUBLIC_BASE_URL must be set in production to the address people reach "
                "the portal at, e.g. https://odr.example.cn: e-mailed links are built from it"
            )
        if cls.AUDIT_KEY == DEV_AUDIT_KEY or len(cls.AUDIT_KEY) < 32:
            raise RuntimeError(
                "ODR_AUDIT_KEY must be set to a long random value in production, kept "
                "outside the database (it signs the audit chain and the backups); "
                '(python -c "import secrets; print(secrets.token_hex(32))")'
            )


def public_base_url_valid(url: str | None) -> bool:
    """An absolute http(s) address with a host and nothing after the path."""
    from urllib.parse import urlsplit

    if not url or any(ch.isspace() for ch in url):
        return False
    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.query
        and not parts.fragment
        and not parts.username
    )


CONFIGS = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def from_environment() -> type[Config]:
    """The configuration ODR_CONFIG names (development unless set)."""
    name = os.environ.get("ODR_CONFIG", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"ODR_CONFIG must be one of {', '.join(CONFIGS)}, not {name!r}")
    return CONFIGS[name]
