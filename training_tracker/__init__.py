"""Training tracker: who has completed the national courses on violence in close
relationships and honour-related violence, municipality by municipality."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, flash, g, redirect, request, session
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user, login_url
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config, config_from_environment
from training_tracker import ratelimit  # noqa: F401  (registers the database:// limit storage)
from training_tracker.extensions import babel, csrf, db, limiter, login_manager, migrate
from training_tracker.sqlite_setup import set_up_connections

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Config | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.config.from_object(config or config_from_environment())
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config["UPLOAD_FOLDER"]:
        app.config["UPLOAD_FOLDER"] = str(Path(app.instance_path) / "uploads")

    if app.config["PROXY_FIX_X_FOR"]:
        hops = app.config["PROXY_FIX_X_FOR"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]  # Flask's documented way to wrap its WSGI app
    _init_database(app)
    import training_tracker.models  # noqa: F401  (every table on the metadata, for Alembic)

    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=_select_locale,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    _init_login(app)
    with app.app_context():
        # Every process registers the configured provider plugins once, so the web workers
        # know their certificate recognisers as the CLI does.
        from training_tracker.services.training.catalog import providers_from_config

        app.extensions["course_providers"] = providers_from_config()

    # Late: importing the package for its models or services (Alembic, the bench, the child
    # process that reads certificates) need not load every view.
    from training_tracker import dev_server, errors, security, templating
    from training_tracker.accessibility import bp as accessibility_bp
    from training_tracker.admin import bp as admin_bp
    from training_tracker.audit import bp as audit_bp
    from training_tracker.auth import bp as auth_bp
    from training_tracker.cli import bp as cli_bp
    from training_tracker.cli_employees import bp as employees_cli_bp
    from training_tracker.cli_sso import bp as sso_cli_bp
    from training_tracker.courses import bp as courses_bp
    from training_tracker.employees import bp as employees_bp
    from training_tracker.imports import bp as imports_bp
    from training_tracker.main import bp as main_bp
    from training_tracker.privacy import bp as privacy_bp
    from training_tracker.programme import bp as programme_bp
    from training_tracker.reports import bp as reports_bp
    from training_tracker.rules import bp as rules_bp
    from training_tracker.scim import bp as scim_bp
    from training_tracker.sso import bp as sso_bp
    from training_tracker.verification import bp as verification_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(sso_bp)
    app.register_blueprint(imports_bp)  # before employees: its prefix is longer
    app.register_blueprint(employees_bp)
    app.register_blueprint(rules_bp)
    app.register_blueprint(courses_bp)
    app.register_blueprint(verification_bp)
    app.register_blueprint(programme_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(accessibility_bp)
    app.register_blueprint(scim_bp)
    app.register_blueprint(cli_bp)
    app.register_blueprint(sso_cli_bp)
    app.register_blueprint(employees_cli_bp)
    errors.register(app)
    templating.register(app)

    security.register(app)
    dev_server.register(app)  # the built-in SECRET_KEY serves loopback only

    return app


def _init_database(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options.setdefault("connect_args", {}).setdefault("timeout", 30)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    if uri.startswith("sqlite"):
        with app.app_context():
            set_up_connections(db.engine, app.config["SQLITE_SYNCHRONOUS"])


def _select_locale() -> str:
    languages = ["sv", "en"]
    if current_user and current_user.is_authenticated:
        return current_user.preferred_language
    # Swedish first, whatever the browser says: many Swedish staff run an English system.
    chosen = session.get("language") if request else None
    return chosen if chosen in languages else "sv"


def _init_login(app: Flask) -> None:
    from training_tracker.models import Employee  # late, as the views above

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"

    @login_manager.unauthorized_handler
    def ask_to_sign_in() -> ResponseReturnValue:
        # A first visit to the start page is no error: the sign-in page says enough. A link
        # to another page is told, as plain information, where signing in will lead.
        if request.path == "/":
            return redirect(login_url("auth.login"))
        flash(gettext("Logga in så kommer du till sidan du bad om."), "info")
        return redirect(login_url("auth.login", next_url=request.url))

    @login_manager.user_loader
    def load_user(user_id: str) -> Employee | None:
        employee_id, _sep, version = user_id.partition(":")
        if not employee_id.isdigit() or not version.isdigit():
            return None
        employee = db.session.get(Employee, int(employee_id))
        if employee is None or not employee.is_active:
            return None
        if employee.session_version != int(version):
            return None  # that session was ended (logout elsewhere, new password)
        g.current_employee = employee
        return employee
