"""gunicorn settings for the training tracker's web processes.

    gunicorn -c deploy/gunicorn.conf.py wsgi:app

Every value an operator may want to change comes from the environment (see
deploy/training-tracker.env.example), so the same file serves every machine and every port:

- ``WEB_CONCURRENCY``: worker processes; default (2 × CPU cores) + 1, the cores this process
  may run on. Set it where the CPU count is not what the process may use (a container with a
  CPU quota) or where the database's connections are short (each worker holds up to two).
- ``PORT`` (default 8000) and ``BIND_HOST`` (default 127.0.0.1): where to listen. Use the
  machine's private address when the proxy runs on another machine; never an address that
  clients reach directly, since the app trusts the proxy's X-Forwarded-For.
- ``FORWARDED_ALLOW_IPS``: the proxy's addresses (default 127.0.0.1,::1), whose
  X-Forwarded-Proto gunicorn believes. The app itself reads X-Forwarded-For/-Proto through
  ProxyFix (``PROXY_FIX_X_FOR``, 1 in production: one proxy in front).
- ``GUNICORN_TIMEOUT`` (default 60 s): a sync worker busy longer than this on one request is
  killed. The slowest legitimate requests are an HR import of 20,000 rows (about 10 s) and the
  largest exports; the proxy's ``proxy_read_timeout`` must be at least this.
- ``GUNICORN_MAX_REQUESTS`` (default 1000, with up to 10 % jitter): a worker is replaced after
  that many requests, so slow memory growth never accumulates; the jitter keeps the workers
  from all restarting at the same moment.
- ``GUNICORN_ACCESS_LOG`` (default ``-``, standard output, i.e. the journal): ``off`` disables.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _int_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RuntimeError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise RuntimeError(f"{name} must not be negative, not {raw!r}")
    return value


def usable_cores() -> int:
    """The CPU cores this process may run on (a cpuset limits them; a CPU quota does not)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers() -> int:
    """gunicorn's usual formula: two per core keep the CPU busy while others wait on the
    database, plus one."""
    return 2 * usable_cores() + 1


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


# --- what runs, and where --------------------------------------------------------------------

wsgi_app = "wsgi:app"
chdir = str(PROJECT_ROOT)  # wsgi.py and config.py are found from any working directory
port = _int_from_env("PORT", 8000)
bind = [bind_address(os.environ.get("BIND_HOST", "127.0.0.1").strip(), port)]
proc_name = f"training-tracker-web-{port}"

# Sync workers: every request is short and holds one database connection; no async code.
# The app is not preloaded, so each worker opens its own database connections (connections
# made before a fork must not be shared by the children).
worker_class = "sync"
workers = _int_from_env("WEB_CONCURRENCY", default_workers()) or default_workers()
preload_app = False

# --- time limits and worker recycling --------------------------------------------------------

timeout = _int_from_env("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30  # on SIGTERM or a reload, running requests get this long to finish
keepalive = 5  # ignored by sync workers (one request per connection); kept for gthread
max_requests = _int_from_env("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = max_requests // 10

# The workers' heartbeat files: in memory, since a slow disk would stall every worker.
if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
    worker_tmp_dir = "/dev/shm"

# gunicorn ≥ 25 opens a control socket for gunicornc, by default at one path per user: several
# instances on one machine (one per port) would share it. One per port under systemd's
# RuntimeDirectory; none elsewhere.
_runtime_directory = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
if _runtime_directory:
    control_socket = str(Path(_runtime_directory) / f"gunicorn-{port}.ctl")
else:
    control_socket_disable = True

# --- behind the proxy ------------------------------------------------------------------------

forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# --- logs ------------------------------------------------------------------------------------

# Tokens in these paths open an account (invitation, new password) until they are used or
# expire: a log line must not carry one.
_SECRET_PATHS = re.compile(r"^(/invitation|/password/reset)/[^/?]+")


def redact_path(path: str) -> str:
    """The path as logged: no query string (searches carry names), no token."""
    return _SECRET_PATHS.sub(r"\1/[token]", path.split("?", 1)[0])


class AccessLogger(Logger):
    """gunicorn's logger, with what the access log may not hold taken out: query strings,
    tokens, and the referrer (which has both)."""

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact_path(environ.get("RAW_URI") or environ.get("PATH_INFO") or "")
        atoms["r"] = f"{environ['REQUEST_METHOD']} {path} {environ['SERVER_PROTOCOL']}"
        atoms["U"] = redact_path(atoms.get("U") or "")
        atoms["q"] = "-"
        atoms["f"] = "-"
        atoms["{referer}i"] = "-"
        return atoms


logger_class = AccessLogger
_access_log = os.environ.get("GUNICORN_ACCESS_LOG", "-").strip()
accesslog = None if _access_log.lower() == "off" else _access_log
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The client (as the proxy saw it), the request without its query string, status, bytes,
# the time the request took in milliseconds, and the worker.
access_log_format = (
    '%({x-forwarded-for}i)s %(t)s "%(r)s" %(s)s %(B)s %(M)sms '
    '"%(a)s" worker=%(p)s port=' + str(port)
)
