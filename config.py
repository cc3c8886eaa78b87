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
    # On SQLite, each commit waits until it is on disk (FULL), so a power cut loses nothing
    # committed. The suite's throwaway database sets OFF (training_tracker/sqlite_setup.py).
    SQLITE_SYNCHRONOUS = "FULL"
    BASE_URL = "http://127.0.0.1:5000"

    # Course provider plugins built into the product; third-party ones come from the
    # ``training_tracker.providers`` entry-point group.
    COURSE_PROVIDERS = [
        "training_tracker.providers.nck",
        "training_tracker.providers.socialstyrelsen",
        "training_tracker.providers.skolverket",
        "training_tracker.providers.webbkursheder",
        "training_tracker.providers.gemensamma_programmet",
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
    # Daily: anonymise the leavers past their municipality's retention_months (GDPR). At night,
    # away from the working day and before the planning; a run missed or made twice (the night
    # the clocks go back) does no harm.
    RETENTION_TIME = "02:30"
    # Daily, after midnight: recompute the coverage cache's units whose numbers the new date
    # may have moved, so that the day's first readers do not wait
    # (services/reporting/coverage_cache_store.py).
    COVERAGE_WARM_TIME = "00:15"
    # How often the scheduler computes the coverage rows a request left to it (seconds).
    COVERAGE_FILL_SECONDS = 60
    # A coverage page whose cache is too stale to answer from (empty after a restore) computes
    # its table live for at most this long, else says the figures are being computed (the fill
    # job computes them). The rest of that page took 0.5 s at 850,000 people, on 2 busy cores:
    # a reader waits under 5 s (#21).
    COVERAGE_LIVE_BUDGET_SECONDS = 3.5
    OUTBOX_DELIVERY_SECONDS = 60
    SCHEDULER_MISFIRE_GRACE_HOURS = 12  # a planning run missed by less is made late, once

    UPLOAD_FOLDER = ""  # default: instance/uploads, outside every served folder
    EVIDENCE_MAX_BYTES = 10 * 1024 * 1024  # a certificate (intyg): PDF, PNG or JPEG
    # Uploaded files are read in a child process that the kernel stops at the CPU time and
    # address space below and the web worker kills at the wall-clock time; a file that hits a
    # limit is stored and shown as "could not be read" (training_tracker/services/
    # bounded_reading.py). Measured: the child starts at about 90 MB of address space; a normal
    # certificate needs about 10 ms of CPU and under 1 MB more.
    CERTIFICATE_READ_CPU_SECONDS = 5
    CERTIFICATE_READ_WALL_SECONDS = 10.0
    CERTIFICATE_READ_MEMORY_MB = 512

    # Enrollment
    NEW_HIRE_DAYS = 90  # "new hire" in the employee list: hired within this many days
    EMPLOYEES_PER_PAGE = 50  # the list's page size unless the user picks 25, 50 or 100
    LEAVING_SOON_DAYS = 30  # "slutar snart" in the employee list: an end date within this
    VERIFICATION_PER_PAGE = 50
    IMPORT_MAX_BYTES = 20 * 1024 * 1024  # an HR export of 20,000 rows is about 2 MB
    IMPORT_MAX_ROWS = 50_000
    # The uploaded HR export is kept for the preview and the audit of recent imports; the
    # nightly retention job empties files older than this (they name every person listed).
    IMPORT_FILE_KEEP_DAYS = 30
    # Reading an uploaded export, in a bounded child as certificates are (see above). Measured:
    # an XLSX of 50,000 rows and 10 columns takes about 6 s of CPU and 60 MB more; a CSV of
    # the same, 0.2 s. The wall clock stays under gunicorn's timeout (GUNICORN_TIMEOUT, 60 s).
    IMPORT_READ_CPU_SECONDS = 30
    IMPORT_READ_WALL_SECONDS = 45.0
    IMPORT_READ_MEMORY_MB = 1024
    MAX_CONTENT_LENGTH = 25 * 1024 * 1024  # larger requests get a 413 before any parsing
    DEFAULT_DUE_DAYS = 90

    # Sign-in
    PASSWORD_MIN_LENGTH = 12
    # Argon2id's cost: argon2-cffi's defaults, RFC 9106's low-memory profile (3 passes over
    # 64 MiB, 4 lanes). The parameters travel in each hash, so a hash made at another cost
    # still verifies, and is re-hashed at this cost at the next sign-in.
    PASSWORD_HASH_TIME_COST = 3
    PASSWORD_HASH_MEMORY_KIB = 64 * 1024
    PASSWORD_HASH_PARALLELISM = 4
    INVITATION_MAX_AGE_HOURS = 14 * 24
    PASSWORD_RESET_MAX_AGE_MINUTES = 60
    LOGIN_RATE_LIMIT = "10 per minute;50 per hour"
    PASSWORD_RESET_RATE_LIMIT = "5 per minute;20 per hour"
    # Sign-in through the municipality's provider, per address: the provider checks who it
    # is, so this only keeps a client from making us call the provider without end; a whole
    # office behind one address signs in at eight o'clock.
    SSO_RATE_LIMIT = "120 per minute;2000 per hour"
    # Failed sign-ins are audited as one event an hour per account (and one for addresses
    # without an account) that counts them; the nightly retention job deletes such events
    # after this many days (services/failed_logins.py).
    FAILED_LOGIN_KEEP_DAYS = 90
    # HR sending an invitation (per HR person), and choosing a password from one (per address).
    INVITATION_RATE_LIMIT = "10 per minute;100 per hour"
    # HR sending every held invitation of a filtered list at once (per HR person).
    BULK_INVITATION_RATE_LIMIT = "5 per minute;20 per hour"
    # Every form that takes a file (certificate report, new certificate, HR import) shares
    # one budget per signed-in person.
    UPLOAD_RATE_LIMIT = "30 per hour"
    # A manager (or HR) reminding people of overdue courses by hand, per sender; each person
    # and course at most once a week besides (services/training/manual_reminders.py).
    MANUAL_REMINDER_RATE_LIMIT = "30 per minute;200 per day"
    # A directory provisioning over SCIM, per token (requests without a valid token count
    # per address). An initial sync sends two requests a user: this lets one municipality's
    # directory sync 15,000 users in ten minutes. Counted in leases of a hundredth (see
    # RATELIMIT_STRATEGY): one database write per 300 requests, not one per request.
    SCIM_RATE_LIMIT = "30000 per 10 minutes"

    # Rate limits (Flask-Limiter). The counters must be shared by every worker process:
    # "database://" keeps them in this application's database (table rate_limit_counters; see
    # training_tracker/ratelimit.py). "redis://host:6379/0" also works once the `redis` package
    # is installed (it is not in requirements.txt). "memory://" counts per process and forgets
    # at restart: development only; production refuses it.
    RATELIMIT_STORAGE_URI = "database://"
    # Fixed windows, as database:// implements them; a limit of 200 or more is drawn from the
    # shared counter in leases of a hundredth (training_tracker/ratelimit.py).
    RATELIMIT_STRATEGY = "leased-fixed-window"
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True  # Retry-After on a 429
    # When the counter store fails, the request fails (500, nothing saved) rather than going
    # unlimited: with database:// the request needs that same database anyway, and a silent
    # pass would switch off the brute-force protection of the sign-in exactly when something
    # is wrong. Nor is there an in-memory fallback: per-process counters are what the shared
    # store is for avoiding. An operator on Redis who prefers availability may set
    # RATELIMIT_SWALLOW_ERRORS=true.
    RATELIMIT_SWALLOW_ERRORS = False
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = False

    # How many reverse proxies in front set X-Forwarded-For/-Proto; 0 trusts none. Rate
    # limits key on the client address, so behind a proxy this must be right.
    PROXY_FIX_X_FOR = 0

    # A session ends after this long without a request, and this long after sign-in anyway.
    SESSION_IDLE_MINUTES = 30
    SESSION_ABSOLUTE_HOURS = 12
    # Strict-Transport-Security max-age; 0 sends none (plain http in development and tests).
    HSTS_SECONDS = 0

    # Accessibility (the DOS law): the statement's review date, shown on /accessibility, and
    # where reports of accessibility problems go. Operators set the address to their own
    # mailbox for such reports; the default is a placeholder that delivers nowhere.
    ACCESSIBILITY_STATEMENT_REVIEWED = "2026-11-24"  # YYYY-MM-DD; update at each review
    ACCESSIBILITY_CONTACT_EMAIL = "tillganglighet@example.se"
    ACCESSIBILITY_REPORT_RATE_LIMIT = "5 per hour"

    # Personal data (GDPR): the address the privacy notice (/privacy) gives for questions about
    # how the tracker processes personal data. Operators set it to the municipalities' shared
    # mailbox (or a data protection officer's); the default is a placeholder.
    PRIVACY_CONTACT_EMAIL = "dataskydd@example.se"

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
    # The suite signs in thousands of times; what it tests is who gets in, not the hashing's
    # cost (tests/test_auth.py checks the production cost separately).
    PASSWORD_HASH_TIME_COST = 1
    PASSWORD_HASH_MEMORY_KIB = 8
    PASSWORD_HASH_PARALLELISM = 1
    # A commit waited 5-15 ms for a busy CI disk, several times per test; the suite's database
    # is thrown away after the run.
    SQLITE_SYNCHRONOUS = "OFF"

    def default_database_url(self) -> str:
        return "sqlite://"


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    # The __Host- prefix makes browsers refuse the cookie unless it is Secure, for "/" and
    # without a Domain: no sibling host can set or overwrite the session.
    SESSION_COOKIE_NAME = "__Host-session"
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
        _require_shared_rate_limit_storage(self)
        _require_strong_password_hashing(self)


def _require_shared_rate_limit_storage(config: Config) -> None:
    """Production counts rate limits where every worker sees them, never per process."""
    uri = (config.RATELIMIT_STORAGE_URI or "").strip()
    scheme = uri.partition("://")[0].lower()
    # An empty URI makes Flask-Limiter fall back to memory:// by itself.
    if not uri or scheme in {"memory", "async+memory"}:
        raise RuntimeError(
            f"RATELIMIT_STORAGE_URI={uri!r} keeps the rate-limit counters in each worker's "
            "memory, so every worker would allow the full limit and a restart forgets them. "
            'In production use "database://" (the default: the application\'s database) or '
            '"redis://host:6379/0".'
        )
    if config.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED:
        raise RuntimeError(
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED would count rate limits per worker whenever "
            "the shared store is down; turn it off in production."
        )


def _require_strong_password_hashing(config: Config) -> None:
    """Production never hashes below OWASP's floor for Argon2id (19 MiB, 2 passes)."""
    if config.PASSWORD_HASH_MEMORY_KIB < 19 * 1024 or config.PASSWORD_HASH_TIME_COST < 2:
        raise RuntimeError(
            "PASSWORD_HASH_MEMORY_KIB must be at least 19456 and PASSWORD_HASH_TIME_COST at "
            "least 2 in production (OWASP's minimum for Argon2id); the defaults are 65536 and 3."
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
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise RuntimeError(f"{key} must be a number, not {raw!r}") from None
    if isinstance(default, list | dict):
        if isinstance(default, list) and not raw.strip().startswith("["):
            return [part.strip() for part in raw.split(",") if part.strip()]
        try:
            return json.loads(raw)
        except ValueError:
            raise RuntimeError(f"{key} must be JSON, not {raw!r}") from None
    return raw
