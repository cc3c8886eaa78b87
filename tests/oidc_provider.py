"""A small, real OpenID Connect provider for the tests, served over HTTP on a free loopback
port: discovery, the authorisation endpoint (which signs in whoever ``person`` says, without
a question), the token endpoint (client secret, PKCE S256) and the keys (JWKS), with ID tokens
signed by joserfc (Authlib's JOSE library) under an RSA key.

A test changes what it answers to see each check refuse it: ``claims_override`` changes the
ID token's claims, ``sign_with`` signs with another key than the published one, ``rotate()``
publishes a new key under a new id and signs with it from then on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

CLIENT_ID = "utbildning-test"
CLIENT_SECRET = "test-client-secret-" + "x" * 16


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass
class TestProvider:
    __test__ = False  # not a test class

    issuer: str = ""
    person: dict[str, Any] = field(default_factory=dict)
    claims_override: dict[str, Any] = field(default_factory=dict)
    sign_with: RSAKey | None = None
    keys: list[RSAKey] = field(default_factory=lambda: [new_key("key-1")])
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    jwks_requests: int = 0
    redirect_uris: tuple[str, ...] = ()

    def rotate(self) -> None:
        self.keys = [new_key(f"key-{len(self.keys) + 1}"), *self.keys]

    # --- the endpoints --------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        routes = {
            "/.well-known/openid-configuration": self.discovery,
            "/authorize": self.authorize,
            "/token": self.token,
            "/jwks": self.jwks,
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
        args = request.args
        redirect_uri = args.get("redirect_uri", "")
        if args.get("client_id") != CLIENT_ID or redirect_uri not in self.redirect_uris:
            return Response("unknown client or redirect_uri", status=400)
        if args.get("response_type") != "code" or "openid" not in args.get("scope", "").split():
            return _back(redirect_uri, error="unsupported_response_type", state=args.get("state"))
        if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
            return _back(redirect_uri, error="invalid_request", state=args.get("state"))
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "nonce": args.get("nonce"),
            "challenge": args["code_challenge"],
            "redirect_uri": redirect_uri,
            "person": dict(self.person),
        }
        return _back(redirect_uri, code=code, state=args.get("state"))

    def token(self, request: Request) -> Response:
        form = request.form.to_dict()
        self.token_requests.append(form)
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != (CLIENT_ID, CLIENT_SECRET):
            return _json({"error": "invalid_client"}, 401)
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("grant_type") != "authorization_code":
            return _json({"error": "invalid_grant"}, 400)
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return _json({"error": "invalid_grant", "error_description": "redirect_uri"}, 400)
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if not verifier or challenge != grant["challenge"]:
            return _json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            **grant["person"],
            **self.claims_override,
        }
        key = self.sign_with or self.keys[0]
        header = {"alg": "RS256", "kid": key.kid}
        id_token = jwt.encode(header, {k: v for k, v in claims.items() if v is not None}, key)
        return _json(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            }
        )


def _json(document: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(document), status=status, mimetype="application/json")


def _back(redirect_uri: str, **params: str | None) -> Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return Response(status=302, headers={"Location": f"{redirect_uri}?{query}"})


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


class Serving:
    """The provider served on a free loopback port until :meth:`stop`."""

    def __init__(self, provider: TestProvider) -> None:
        self.server = make_server("127.0.0.1", 0, provider, threaded=True, request_handler=_Quiet)
        provider.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="test-oidc-provider")
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
