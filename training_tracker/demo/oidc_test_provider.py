"""A small OpenID Connect provider for tests and the demo, never for production: it signs in
whoever it is told to (tests) or whoever is picked on its page (the demo), without a
password. Its page says so in large letters.

It is a real provider over HTTP all the same: discovery, the authorisation endpoint (code
flow, PKCE S256 required), the token endpoint (client secret, HTTP Basic), the keys (JWKS),
and RP-initiated logout; ID tokens are signed RS256 by joserfc, Authlib's JOSE library. A test
changes what it answers to see each of our checks refuse it: ``claims_override`` changes the
ID token's claims, ``sign_with`` signs with a key that is not published, ``rotate()`` publishes
a new key under a new id and signs with it from then on.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

TEST_CLIENT_ID = "utbildning-test"
TEST_CLIENT_SECRET = "test-client-secret-" + "x" * 16


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass
class OidcTestProvider:
    """One provider (one issuer). ``person``: the claims of whoever the authorisation
    endpoint signs in at once; without one, ``people()`` lists whom its page offers."""

    issuer: str = ""
    name: str = "Testinloggning"
    client_id: str = TEST_CLIENT_ID
    client_secret: str = TEST_CLIENT_SECRET
    redirect_uris: tuple[str, ...] = ()
    person: dict[str, Any] = field(default_factory=dict)
    people: Callable[[], Iterable[tuple[str, str]]] | None = None  # (name, e-mail)
    claims_override: dict[str, Any] = field(default_factory=dict)
    sign_with: RSAKey | None = None
    keys: list[RSAKey] = field(default_factory=lambda: [new_key("key-1")])
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    jwks_requests: int = 0

    def rotate(self) -> None:
        self.keys = [new_key(f"key-{len(self.keys) + 1}"), *self.keys]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        routes: dict[str, Callable[[Request], Response]] = {
            "/.well-known/openid-configuration": self.discovery,
            "/authorize": self.authorize,
            "/token": self.token,
            "/jwks": self.jwks,
            "/logout": self.logout,
        }
        handler = routes.get(request.path)
        response = handler(request) if handler else Response("not found", status=404)
        return response(environ, start_response)

    def discovery(self, request: Request) -> Response:
        return _json(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "end_session_endpoint": f"{self.issuer}/logout",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    def jwks(self, request: Request) -> Response:
        self.jwks_requests += 1
        return _json({"keys": [key.as_dict(private=False) for key in self.keys]})

    def authorize(self, request: Request) -> Response:
        args = request.values
        redirect_uri = args.get("redirect_uri", "")
        if args.get("client_id") != self.client_id or redirect_uri not in self.redirect_uris:
            return Response("unknown client_id or redirect_uri", status=400)
        state = args.get("state")
        if args.get("response_type") != "code" or "openid" not in args.get("scope", "").split():
            return _back(redirect_uri, error="unsupported_response_type", state=state)
        if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
            return _back(redirect_uri, error="invalid_request", state=state)
        person = dict(self.person)
        if not person:
            chosen = request.form.get("chosen_email") if request.method == "POST" else None
            if not chosen:
                return self._chooser(request)
            person = {
                "sub": hashlib.sha256(chosen.encode()).hexdigest()[:32],
                "email": chosen,
                "email_verified": True,
            }
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "nonce": args.get("nonce"),
            "challenge": args["code_challenge"],
            "redirect_uri": redirect_uri,
            "person": person,
        }
        return _back(redirect_uri, code=code, state=state)

    def _chooser(self, request: Request) -> Response:
        """The demo's page: pick a person (no password: this is a test provider)."""
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in request.args.items()
        )
        buttons = "".join(
            f'<li><button name="chosen_email" value="{html.escape(email)}">'
            f"{html.escape(name)} ({html.escape(email)})</button></li>"
            for name, email in (self.people() if self.people else [])
        )
        page = (
            '<!doctype html><html lang="sv"><head><meta charset="utf-8">'
            f"<title>TESTINLOGGNING – {html.escape(self.name)}</title></head><body>"
            f"<h1>TESTINLOGGNING – {html.escape(self.name)}</h1>"
            "<p><strong>Det här är inte kommunens riktiga inloggning.</strong> Den följer med "
            "demon av utbildningsuppföljningen och loggar in den du väljer, utan lösenord.</p>"
            f'<form method="post">{hidden}<p>Logga in som:</p><ul>{buttons}</ul>'
            '<p><label>eller e-postadress: <input name="chosen_email" type="email"></label> '
            "<button>Logga in</button></p></form></body></html>"
        )
        return Response(page, mimetype="text/html")

    def token(self, request: Request) -> Response:
        form = request.form.to_dict()
        self.token_requests.append(form)
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != (self.client_id, self.client_secret):
            return _json({"error": "invalid_client"}, 401)
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("grant_type") != "authorization_code":
            return _json({"error": "invalid_grant"}, 400)
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return _json({"error": "invalid_grant", "error_description": "redirect_uri"}, 400)
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if not verifier or challenge != grant["challenge"]:
            return _json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            **grant["person"],
            **self.claims_override,
        }
        key = self.sign_with or self.keys[0]
        id_token = jwt.encode(
            {"alg": "RS256", "kid": key.kid},
            {name: value for name, value in claims.items() if value is not None},
            key,
        )
        return _json(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            }
        )

    def logout(self, request: Request) -> Response:
        target = request.args.get("post_logout_redirect_uri")
        if target:
            return Response(status=302, headers={"Location": target})
        return Response("Utloggad från testinloggningen.", mimetype="text/plain")


def _json(document: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(document), status=status, mimetype="application/json")


def _back(redirect_uri: str, **params: str | None) -> Response:
    query = urlencode({name: value for name, value in params.items() if value is not None})
    return Response(status=302, headers={"Location": f"{redirect_uri}?{query}"})


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


# How often the serving thread looks for a stop: the default half second is what each test
# that starts a provider waited for when it stopped it.
STOP_POLL_SECONDS = 0.02


class Serving:
    """Providers served on one loopback port until :meth:`stop`: a single provider at the
    root, or several under their own paths (``{"/jarfalla": provider, …}``)."""

    def __init__(
        self,
        providers: OidcTestProvider | dict[str, OidcTestProvider],
        *,
        port: int = 0,
        quiet: bool = True,
    ) -> None:
        mounts = providers if isinstance(providers, dict) else {"": providers}
        app: Any = mounts.get("") or Response("not found", status=404)
        if not isinstance(providers, OidcTestProvider):
            app = DispatcherMiddleware(app, {p: v for p, v in mounts.items() if p})
        handler = _Quiet if quiet else WSGIRequestHandler
        self.server = make_server("127.0.0.1", port, app, threaded=True, request_handler=handler)
        base = f"http://127.0.0.1:{self.server.server_port}"
        for path, provider in mounts.items():
            provider.issuer = base + path
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": STOP_POLL_SECONDS},
            name="oidc-test-provider",
        )

    def start(self) -> Serving:
        self.thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
