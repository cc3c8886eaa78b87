"""Configuration classes.

Every setting below can be overridden by an environment variable of the same name
(``MAIL_PORT=2525``, ``SESSION_IDLE_MINUTES=15``); the value is parsed to the type of the
default. ``TRAINING_TRACKER_ENV`` picks the class: development (default), testing, production.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSECURE_DEFAULT_SECRET = "dev-only-not-secret"


def _database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL", default)
    # Operators write postgresql://…; we talk to it with psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


class Config:
    SECRET_KEY = INSECURE_DEFAULT_SECRET
    SQLALCHEMY_DATABASE_URI = ""  # set in __init__ so DATABASE_URL is read at start-up
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    BASE_URL = "http://127.0.0.1:5000"

    # Course provider plugins built into the product; third-party ones come from the
    # ``training_tracker.providers`` entry-point group.
    COURSE_PROVIDERS = [
        "training_tracker.providers.nck",
        "training_tracker.providers.socialstyrelsen",
        "training_tracker.providers.skolverket",
        "training_tracker.providers.webbkursheder",
    ]
    LOAD_PROVIDER_ENTRY_POINTS = True

    # Languages: Swedish first, English second.
    LANGUAGES = ["sv", "en"]
    BABEL_DEFAULT_LOCALE = "sv"
    BABEL_DEFAULT_TIMEZONE = "Europe/Stockholm"
    BUSINESS_TIMEZONE = "Europe/Stockholm"

    # Mail (Flask-Mail's names). MAIL_BACKEND: smtp, console or file.
    MAIL_BACKEND = "smtp"
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_DEFAULT_SENDER = "Utbildningsuppföljning <no-reply@localhost>"
    MAIL_TIMEOUT_SECONDS = 20
    MAIL_FILE_FOLDER = ""  # for MAIL_BACKEND=file; default instance/mail
    OUTBOX_MAX_ATTEMPTS = 6
    OUTBOX_RETRY_BASE_SECONDS = 60

    # The scheduler (``flask scheduler``; see training_tracker/scheduler.py), Swedish time.
    REMINDER_PLAN_TIME = "05:30"  # daily: deactivate leavers, queue the day's reminders
    DIGEST_TIME = "06:00"  # weekdays; digests go out on the ISO week's first working day
    OUTBOX_DELIVERY_SECONDS = 60
    SCHEDULER_MISFIRE_GRACE_HOURS = 12  # a planning run missed by less is made late, once

    UPLOAD_FOLDER = ""  # default: instance/uploads, outside every served folder
    EVIDENCE_MAX_BYTES = 10 * 1024 * 1024  # a certificate (intyg): PDF, PNG or JPEG

    # Enrollment
    NEW_HIRE_DAYS = 90  # "new hire" in the employee list: hired within this many days
    EMPLOYEES_PER_PAGE = 50
    VERIFICATION_PER_PAGE = 50
    IMPORT_MAX_BYTES = 20 * 1024 * 1024  # an HR export of 20,000 rows is about 2 MB
    IMPORT_MAX_ROWS = 50_000
    MAX_CONTENT_LENGTH = 25 * 1024 * 1024  # larger requests get a 413 before any parsing
    DEFAULT_DUE_DAYS = 90

    # Sign-in
    PASSWORD_MIN_LENGTH = 12
    INVITATION_MAX_AGE_HOURS = 14 * 24
    PASSWORD_RESET_MAX_AGE_MINUTES = 60
    LOGIN_RATE_LIMIT = "10 per minute;50 per hour"
    PASSWORD_RESET_RATE_LIMIT = "5 per minute;20 per hour"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True

    # How many reverse proxies in front set X-Forwarded-For/-Proto; 0 trusts none. Rate
    # limits key on the client address, so behind a proxy this must be right.
    PROXY_FIX_X_FOR = 0

    # A session ends after this long without a request, and this long after sign-in anyway.
    SESSION_IDLE_MINUTES = 30
    SESSION_ABSOLUTE_HOURS = 12
    # Strict-Transport-Security max-age; 0 sends none (plain http in development and tests).
    HSTS_SECONDS = 0

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = 8 * 3600

    def __init__(self) -> None:
        self.SQLALCHEMY_DATABASE_URI = _database_url(self.default_database_url())
        _apply_environment(self)

    def default_database_url(self) -> str:
        return f"sqlite:///{BASE_DIR / 'instance' / 'training_tracker.sqlite'}"


class DevelopmentConfig(Config):
    DEBUG = False  # the run script turns on the reloader/debugger explicitly when wanted
    MAIL_BACKEND = "console"


class TestingConfig(Config):
    __test__ = False  # not a pytest test class, despite the name
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"
    MAIL_BACKEND = "smtp"
    MAIL_SERVER = "127.0.0.1"
    OUTBOX_RETRY_BASE_SECONDS = 1
    RATELIMIT_ENABLED = True

    def default_database_url(self) -> str:
        return "sqlite://"


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    PROXY_FIX_X_FOR = 1  # gunicorn behind one TLS-terminating proxy
    HSTS_SECONDS = 365 * 24 * 3600

    def __init__(self) -> None:
        super().__init__()
        if not self.SECRET_KEY or self.SECRET_KEY == INSECURE_DEFAULT_SECRET:
            raise RuntimeError(
                "SECRET_KEY must be set to a long random value in production "
                '(python -c "import secrets; print(secrets.token_hex(32))").'
            )


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_environment() -> Config:
    name = os.environ.get("TRAINING_TRACKER_ENV", "development")
    try:
        return CONFIGS[name]()
    except KeyError:
        raise RuntimeError(
            f"TRAINING_TRACKER_ENV={name!r} is not one of {', '.join(CONFIGS)}"
        ) from None


def _apply_environment(config: Config) -> None:
    """Override each setting from an environment variable of the same name."""
    for key in dir(config):
        if not key.isupper() or key == "SQLALCHEMY_DATABASE_URI" or key not in os.environ:
            continue
        raw = os.environ[key]
        default = getattr(config, key)
        setattr(config, key, _parse(key, raw, default))


def _parse(key: str, raw: str, default: object) -> object:
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise RuntimeError(f"{key} must be true or false, not {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise RuntimeError(f"{key} must be a whole number, not {raw!r}") from None
    if isinstance(default, list | dict):
        if isinstance(default, list) and not raw.strip().startswith("["):
            return [part.strip() for part in raw.split(",") if part.strip()]
        try:
            return json.loads(raw)
        except ValueError:
            raise RuntimeError(f"{key} must be JSON, not {raw!r}") from None
    return raw
