"""The ODR portal: create_app builds the Flask application."""

import logging
from pathlib import Path

from flask import Flask, g, has_request_context, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from odr.config import CONFIGS, Config, from_environment
from odr.extensions import babel, csrf, db, limiter, login_manager, migrate
from odr.types import MAX_ID

__version__ = "0.1.0"


class RowIdConverter(IntegerConverter):
    """<int:...> for row ids: a whole number from 1 to types.MAX_ID."""

    def __init__(self, map, min=1, max=MAX_ID, **kwargs):
        super().__init__(map, min=min, max=max, **kwargs)


def create_app(config: type[Config] | str | None = None, **overrides) -> Flask:
    if config is None:
        config = from_environment()
    if isinstance(config, str):
        config = CONFIGS[config]
    if hasattr(config, "check"):
        config.check()

    app = Flask(__name__, instance_path=str(Path(config.INSTANCE_DIR).resolve()))
    # Every <int:...> in a URL is a row id: one too large for the database is no row (404),
    # never a query the database refuses (PostgreSQL's ids are 32-bit).
    app.url_map.converters["int"] = RowIdConverter
    app.config.from_object(config)
    app.config.update(overrides)
    for key in ("INSTANCE_DIR", "UPLOAD_DIR", "RECORD_DIR", "MAIL_DIR"):
        Path(app.config[key]).mkdir(parents=True, exist_ok=True)

    register_extensions(app)
    register_blueprints(app)
    register_hooks(app)
    register_errors(app)
    register_cli(app)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("weasyprint", "fontTools", "weasyprint.progress"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return app


def select_locale():
    if not has_request_context():  # CLI, sweep, worker: the default language
        return "zh_CN"
    if request.args.get("lang") in ("zh_CN", "en"):
        return request.args["lang"]
    if session.get("lang") in ("zh_CN", "en"):
        return session["lang"]
    if current_user and current_user.is_authenticated and current_user.locale:
        return current_user.locale
    if getattr(g, "api_user", None) is not None:
        return g.api_user.locale
    if request:
        match = request.accept_languages.best_match(["zh-CN", "zh", "en"], "zh-CN")
        return "en" if match == "en" else "zh_CN"
    return "zh_CN"


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(Path(__file__).resolve().parent.parent / "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.login_message = _l("Please sign in to see this page.")
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_timezone="Asia/Shanghai")
    from odr import ratelimit  # the database:// storage (and its table)

    app.config["RATELIMIT_STORAGE_OPTIONS"] = {
        **ratelimit.storage_options(app.config),
        **app.config.get("RATELIMIT_STORAGE_OPTIONS", {}),
    }
    limiter.init_app(app)

    from odr.database import configure_engine

    with app.app_context():
        configure_engine(db.engine)

    import odr.disputes.models  # noqa: F401  (every model known to the metadata)
    from odr.auth.operations import SESSION_KEY, user_for_session

    @login_manager.user_loader
    def load_user(user_id: str):
        # A cookie opens the account only while its server-side session lives (signing
        # out, a password change or a reset ends it), not merely because it is signed.
        return user_for_session(user_id, session.get(SESSION_KEY))


def register_blueprints(app: Flask) -> None:
    # Imported when the app is built: importing a model or odr.extensions must not load
    # every blueprint (each module of the portal imports this package first).
    from odr.admin.views import bp as admin_bp
    from odr.api import bp as api_bp
    from odr.auth.views import bp as auth_bp
    from odr.consumer.requests import requests_bp
    from odr.consumer.views import bp as consumer_bp
    from odr.mediation.office import bp as office_bp
    from odr.mediation.views import bp as mediation_bp
    from odr.merchant.views import bp as merchant_bp
    from odr.public.views import bp as public_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(consumer_bp, url_prefix="/consumer")
    app.register_blueprint(merchant_bp, url_prefix="/merchant")
    app.register_blueprint(mediation_bp, url_prefix="/mediation")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(requests_bp, url_prefix="/consumer/requests")
    app.register_blueprint(office_bp, url_prefix="/office")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)


def register_hooks(app: Flask) -> None:
    from odr import web

    web.register(app)


def register_errors(app: Flask) -> None:
    from odr import errors

    errors.register(app)


def register_cli(app: Flask) -> None:
    from odr.cli import odr_cli

    app.cli.add_command(odr_cli)
