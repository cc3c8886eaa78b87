"""The development configuration's built-in secret key serves this machine only.

``SECRET_KEY`` signs the session cookie; the built-in one (``config.INSECURE_DEFAULT_SECRET``)
is in the source for anyone to read, so whoever can reach a server running with it can forge
a session and be signed in as anyone. Production refuses it outright (config.py); the
development configuration allows it for a server only its own machine reaches. ``flask run``
on any other host stops before it starts, and any other server (gunicorn started without
``TRAINING_TRACKER_ENV``, say) answers only requests from loopback, each time saying why.
"""

from __future__ import annotations

import ipaddress

import click
from flask import Flask, current_app, request
from werkzeug.wrappers import Response

from config import INSECURE_DEFAULT_SECRET

_HOW_TO = (
    "Set SECRET_KEY to a long random value "
    '(python -c "import secrets; print(secrets.token_hex(32))") to serve elsewhere, '
    "or serve on 127.0.0.1."
)


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (an address or "localhost") is this machine only."""
    if not host:
        return False
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # another host name: it may resolve to anything
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return (mapped or address).is_loopback


def uses_built_in_key(app: Flask) -> bool:
    return app.config.get("SECRET_KEY") == INSECURE_DEFAULT_SECRET


def refusal(where: str) -> str:
    return (
        f"Refusing to serve {where} with the built-in SECRET_KEY of the development "
        "configuration: that key is public (it is in config.py), so anyone who reaches the "
        "server could forge a session cookie and be signed in as anyone. " + _HOW_TO
    )


def _refuse_flask_run_elsewhere() -> None:
    """At ``flask run``, the app is made inside the command: its --host is known here."""
    context = click.get_current_context(silent=True)
    if context is None or context.info_name != "run" or "host" not in context.params:
        return
    host = context.params["host"]
    if not is_loopback(host):
        raise click.UsageError(refusal(f"on {host!r}"))


def _refuse_other_clients() -> Response | None:
    address = request.remote_addr
    if is_loopback(address):
        return None
    current_app.logger.error(refusal(f"a request from {address!r}"))
    return Response(refusal("anything but loopback"), status=403, mimetype="text/plain")


def register(app: Flask) -> None:
    if not uses_built_in_key(app):
        return
    _refuse_flask_run_elsewhere()
    # First of all hooks: nothing of the request is read or answered from the session.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_other_clients)
