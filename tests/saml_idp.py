"""A SAML 2.0 identity provider for the tests, never for production: pysaml2's own IdP
(``saml2.server.Server``) behind a tiny WSGI app on a loopback port, in a thread. It signs in
whoever the test sets as ``person``, without a password.

It is a real provider over HTTP all the same: its metadata (``/metadata``), single sign-on
(``/sso``, HTTP-Redirect binding in, checking the request's signature against our metadata,
and an auto-posting form with the response out, HTTP-POST binding) and single logout
(``/slo``, HTTP-Redirect both ways). Its key and certificate are made when it starts
(test-only). A test changes what it answers to see each of our checks refuse it
(``sign_assertion``, ``sign_response``, ``answer`` for hand-made responses).
"""

from __future__ import annotations

import base64
import functools
import html
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import saml2.cryptography.asymmetric
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from training_tracker.services.people.saml_settings import new_sp_key

PASSWORD_CONTEXT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


@functools.cache
def _key(common_name: str) -> tuple[str, str]:
    """The IdP's key and certificate (PEM), made once per run: an RSA key takes 50 ms to make.
    Each name is a different key, so the rogue key of :meth:`SamlTestIdp.new_key` is still
    one the published metadata does not have."""
    return new_sp_key(common_name)


def keys_validated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """pysaml2 reads its key file again for every client and server it makes (each request of
    ours, each of the IdP's), and the key's RSA check costs 37 ms each time, 170 times in
    tests/test_sso_saml.py: the same PEM bytes give the key read the first time in the run. A
    key that cannot be read still fails at each reading (an exception is not remembered)."""
    monkeypatch.setattr(saml2.cryptography.asymmetric, "load_pem_private_key", _read_key)


_read_key = functools.cache(saml2.cryptography.asymmetric.load_pem_private_key)


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@dataclass
class SamlTestIdp:
    """The provider; :meth:`start` serves it, :meth:`trust` adds a service provider."""

    # Who signs in: the persistent NameID and the attributes (friendly names, as pysaml2
    # maps them to OIDs: mail, employeeNumber, …).
    person: dict[str, Any] = field(
        default_factory=lambda: {"name_id": "adfs-1", "attributes": {"mail": ["a@jarfalla.se"]}}
    )
    sign_assertion: bool = True
    sign_response: bool = False
    sha1: bool = False  # sign with RSA-SHA1 and SHA-1 digests (refused by us)
    base: str = ""
    requests_seen: list[Any] = field(default_factory=list)
    logouts_seen: list[Any] = field(default_factory=list)
    _sp_metadata: list[str] = field(default_factory=list)
    _server: Server | None = None

    def __post_init__(self) -> None:
        self._folder = tempfile.mkdtemp(prefix="saml-test-idp-")
        key_pem, cert_pem = _key("saml-test-idp")
        self.key_file = str(Path(self._folder, "idp.key"))
        self.cert_file = str(Path(self._folder, "idp.crt"))
        Path(self.key_file).write_text(key_pem)
        Path(self.cert_file).write_text(cert_pem)
        self._http = make_server("127.0.0.1", 0, self.wsgi, threaded=True, request_handler=_Quiet)
        self.base = f"http://127.0.0.1:{self._http.server_port}"
        # stop() waits for the loop to look up: every half second by default, a test's wait.
        self._thread = threading.Thread(
            target=self._http.serve_forever, args=(0.02,), name="saml-test-idp"
        )

    # ------------------------------------------------------------ set-up

    @property
    def entity_id(self) -> str:
        return self.base + "/metadata"

    @property
    def metadata_url(self) -> str:
        return self.base + "/metadata"

    def _config(self) -> IdPConfig:
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "xmlsec_binary": shutil.which("xmlsec1"),
                "key_file": self.key_file,
                "cert_file": self.cert_file,
                "metadata": {"inline": list(self._sp_metadata)} if self._sp_metadata else {},
                "accepted_time_diff": 60,
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [(self.base + "/sso", BINDING_HTTP_REDIRECT)],
                            "single_logout_service": [(self.base + "/slo", BINDING_HTTP_REDIRECT)],
                        },
                        "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                        "signing_algorithm": SIG_RSA_SHA1 if self.sha1 else SIG_RSA_SHA256,
                        "digest_algorithm": DIGEST_SHA1 if self.sha1 else DIGEST_SHA256,
                        "want_authn_requests_signed": True,
                        "policy": {"default": {"lifetime": {"minutes": 5}}},
                    }
                },
            }
        )
        return config

    @property
    def server(self) -> Server:
        if self._server is None:
            self._server = Server(config=self._config())
        return self._server

    def new_key(self) -> None:
        """Sign from now on with a key the published metadata (as read before) does not have."""
        key_pem, cert_pem = _key("saml-test-idp-rogue")
        Path(self.key_file).write_text(key_pem)
        Path(self.cert_file).write_text(cert_pem)
        self._server = None

    def sign_with_sha1(self) -> None:
        """Sign from now on with RSA-SHA1 and SHA-1 digests, as old IdPs do."""
        self.sha1 = True
        self._server = None

    def trust(self, sp_metadata_xml: str) -> None:
        """Accept requests from a service provider (its metadata, as we publish it)."""
        self._sp_metadata.append(sp_metadata_xml)
        self._server = None

    def metadata_xml(self) -> str:
        return str(entity_descriptor(self._config()))

    def start(self) -> SamlTestIdp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=10)
        shutil.rmtree(self._folder, ignore_errors=True)

    # ------------------------------------------------------------ responses

    def response_xml(
        self,
        *,
        in_response_to: str | None,
        acs: str,
        audience: str,
        sign_assertion: bool | None = None,
        sign_response: bool | None = None,
    ) -> str:
        """A response for ``self.person``, made and signed by pysaml2's IdP as it would be
        after a sign-in (tests pass other values to see them refused)."""
        person = self.person
        name_id = NameID(
            format=person.get("name_id_format", NAMEID_FORMAT_PERSISTENT),
            sp_name_qualifier=audience,
            name_qualifier=self.entity_id,
            text=person["name_id"],
        )
        response = self.server.create_authn_response(
            identity=person.get("attributes", {}),
            in_response_to=in_response_to,
            destination=acs,
            sp_entity_id=audience,
            name_id=name_id,
            authn={"class_ref": PASSWORD_CONTEXT, "authn_auth": self.entity_id},
            sign_assertion=self.sign_assertion if sign_assertion is None else sign_assertion,
            sign_response=self.sign_response if sign_response is None else sign_response,
        )
        return str(response)

    def logout_request_url(self, *, sls: str, audience: str, name_id: str) -> str:
        """Our logout service's URL with the IdP's signed LogoutRequest (IdP-initiated single
        logout: the person signed out at the IdP)."""
        _request_id, request = self.server.create_logout_request(
            sls,
            audience,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=name_id),
            sign=False,
        )
        info = self.server.apply_binding(
            BINDING_HTTP_REDIRECT, str(request), sls, relay_state="idp-state", sign=True
        )
        return str(dict(info["headers"])["Location"])

    # ------------------------------------------------------------ HTTP

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/metadata":
            answer = Response(self.metadata_xml(), content_type="application/samlmetadata+xml")
        elif request.path == "/sso":
            answer = self._sso(request)
        elif request.path == "/slo":
            answer = self._slo(request)
        else:
            answer = Response("not found", status=404)
        return answer(environ, start_response)

    def _sso(self, request: Request) -> Response:
        try:
            parsed = self.server.parse_authn_request(
                request.args["SAMLRequest"],
                BINDING_HTTP_REDIRECT,
                relay_state=request.args.get("RelayState"),
                sigalg=request.args.get("SigAlg"),
                signature=request.args.get("Signature"),
            )
        except Exception as error:  # noqa: BLE001 - refused as a real IdP would, whatever the cause
            return Response(f"bad request: {error}", status=400)
        if parsed is None or not request.args.get("Signature"):
            return Response("unsigned or unreadable request", status=400)
        authn_request = parsed.message
        self.requests_seen.append(authn_request)
        acs = (
            authn_request.assertion_consumer_service_url
            or self.server.metadata.assertion_consumer_service(
                authn_request.issuer.text, BINDING_HTTP_POST
            )[0]["location"]
        )
        xml = self.response_xml(
            in_response_to=authn_request.id, acs=acs, audience=authn_request.issuer.text
        )
        return Response(auto_post_form(acs, xml), content_type="text/html; charset=utf-8")

    def _slo(self, request: Request) -> Response:
        try:
            parsed = self.server.parse_logout_request(
                request.args["SAMLRequest"],
                BINDING_HTTP_REDIRECT,
                relay_state=request.args.get("RelayState"),
                sigalg=request.args.get("SigAlg"),
                signature=request.args.get("Signature"),
            )
        except Exception as error:  # noqa: BLE001 - refused as a real IdP would, whatever the cause
            return Response(f"bad request: {error}", status=400)
        if parsed is None or not request.args.get("Signature"):
            return Response("unsigned or unreadable request", status=400)
        self.logouts_seen.append(parsed.message)
        sp = parsed.message.issuer.text
        destination = self.server.metadata.single_logout_service(
            sp, BINDING_HTTP_REDIRECT, "spsso"
        )[0]["location"]
        response = self.server.create_logout_response(
            parsed.message, [BINDING_HTTP_REDIRECT], sign=False
        )
        info = self.server.apply_binding(
            BINDING_HTTP_REDIRECT, str(response), destination, response=True, sign=True
        )
        return Response(status=302, headers={"Location": dict(info["headers"])["Location"]})


def auto_post_form(acs: str, xml: str) -> str:
    """The HTTP-POST binding's page: a form with the response that posts itself."""
    value = base64.b64encode(xml.encode()).decode()
    return (
        "<!doctype html><html lang='sv'><head><title>Test-IdP</title></head>"
        "<body onload='document.forms[0].submit()'>"
        f"<form method='post' action='{html.escape(acs)}'>"
        f"<input type='hidden' name='SAMLResponse' value='{value}'>"
        "<button type='submit'>Fortsätt</button></form></body></html>"
    )


def form_fields(page: str) -> tuple[str, str]:
    """The action and SAMLResponse of an auto-posting form (the test client posts it)."""
    action = re.search(r"action='([^']+)'", page)
    value = re.search(r"name='SAMLResponse' value='([^']+)'", page)
    assert action and value, page
    return html.unescape(action.group(1)), value.group(1)


__all__ = ["SamlTestIdp", "auto_post_form", "form_fields"]
