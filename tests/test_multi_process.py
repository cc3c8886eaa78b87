"""Several web processes, one database (issue #8, point 6): the deployment in deploy/ run for
real. Two gunicorn processes, started with the Procfile's web command and
deploy/gunicorn.conf.py on two ports, in production configuration behind a (simulated) TLS
proxy, share the suite's database: an SQLite file, or PostgreSQL when TEST_DATABASE_URL names
one. A change made through one is seen through the other, a sign-in refused by one after
attempts counted by the other, two ``flask reminders run`` at once beside them send each mail
once, both answer the load balancer's health check, and a SAML response spent at one is refused
at the other (issue #18).

The requests carry what deploy/nginx.conf.example sends: ``Host`` the public name,
``X-Forwarded-Proto: https`` and ``X-Forwarded-For`` the client's address (one proxy:
``PROXY_FIX_X_FOR=1``). Each process is a real gunicorn master with one sync worker, so
nothing is shared between them but the database, the upload folder and the environment.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import runpy
import secrets
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import Message
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import requests
import sqlalchemy as sa
from flask import Flask

from config import Config, ProductionConfig
from tests import factories
from tests.conftest import MailCatcher, free_port
from tests.saml_idp import SamlTestIdp, form_fields
from tests.samples import certificate_pdf
from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import (
    Completion,
    CompletionStatus,
    Employee,
    Evidence,
    IdentityProvider,
    OutboxMessage,
    OutboxStatus,
    SamlSeenAssertion,
    Sector,
)
from training_tracker.models.security import RateLimitCounter
from training_tracker.services.core.working_days import next_working_day

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEPLOY = PROJECT_ROOT / "deploy"
SITE = "utbildning.example.se"  # the public name the proxy passes on in Host
SECRET_KEY = secrets.token_hex(32)  # one per run, the same in every process
NCK = "nck-webbkurs-om-vald"
READY_TIMEOUT = 30.0  # seconds for a process to answer /healthz
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def procfile() -> dict[str, str]:
    lines = (DEPLOY / "Procfile").read_text(encoding="utf-8").splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def operator_environment(app: Flask, uploads: Path, **extra: str) -> dict[str, str]:
    """What deploy/training-tracker.env.example makes of an operator's environment, pointed at
    the suite's database, a shared upload folder and no mail server."""
    # Nothing of the shell's own gunicorn settings: systemd's runtime folder, extra arguments.
    skipped = {"RUNTIME_DIRECTORY", "GUNICORN_CMD_ARGS", "FORWARDED_ALLOW_IPS"}
    env = {key: value for key, value in os.environ.items() if key not in skipped}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        BIND_HOST="127.0.0.1",
        TRAINING_TRACKER_ENV="production",
        FLASK_APP="wsgi",
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        BASE_URL=f"https://{SITE}",
        UPLOAD_FOLDER=str(uploads),
        RATELIMIT_STORAGE_URI="database://",
        PROXY_FIX_X_FOR="1",
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT="1",  # nothing listens: the web processes only queue mail
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


# --- the processes ---------------------------------------------------------------------------


@dataclass
class WebProcess:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _answer_from(port: int, path: str) -> int | None:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", path, headers={"Host": SITE})
        status = connection.getresponse().status
        connection.close()
        return status
    except OSError:
        return None


def wait_until_ready(processes: list[WebProcess]) -> None:
    """Poll each process's /healthz until it answers 200, within READY_TIMEOUT."""
    deadline = time.monotonic() + READY_TIMEOUT
    waiting = list(processes)
    while waiting:
        for web in list(waiting):
            assert web.process.poll() is None, f"{web.name} exited:\n{web.output()}"
            if _answer_from(web.port, "/healthz") == 200:
                waiting.remove(web)
        if waiting:
            assert time.monotonic() < deadline, "\n".join(
                f"{web.name} not ready after {READY_TIMEOUT} s:\n{web.output()}" for web in waiting
            )
            time.sleep(0.05)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, as systemd stops it; SIGKILL to its process group if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the group this test started
            process.wait(timeout=5)


@dataclass
class Deployment:
    a: WebProcess
    b: WebProcess
    uploads: Path
    env: dict[str, str]
    release_output: str


@pytest.fixture(scope="module")
def deployment(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """The release step, then two web processes as the Procfile starts them, on free ports."""
    folder = tmp_path_factory.mktemp("deployment")
    uploads = folder / "shared-uploads"
    env = operator_environment(app, uploads, WEB_CONCURRENCY="1", LOGIN_RATE_LIMIT="3 per minute")
    commands = procfile()

    # The schema is already at head (the suite migrated it): the release finds nothing to do.
    release = subprocess.run(
        ["sh", "-c", commands["release"]],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert release.returncode == 0, release.stdout + release.stderr

    started: list[WebProcess] = []
    try:
        for name in ("a", "b"):
            port = free_port()
            log = folder / f"web-{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    shlex.split(commands["web"]),
                    cwd=PROJECT_ROOT,
                    env=env | {"PORT": str(port)},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own group, so that stop() can end it whole
                )
            started.append(WebProcess(name, port, process, log))
        wait_until_ready(started)
        yield Deployment(started[0], started[1], uploads, env, release.stdout)
    finally:
        for web in started:
            stop(web.process)


# --- a browser behind the proxy --------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")


@dataclass
class Browser:
    """One person's browser, reaching the web processes through the TLS proxy: it keeps its
    cookies (Secure ones too: the proxy speaks https to it) and sends the proxy's headers."""

    address: str  # the client address the proxy writes into X-Forwarded-For
    cookies: dict[str, str] = field(default_factory=dict)
    cookie_flags: dict[str, set[str]] = field(default_factory=dict)

    def request(
        self,
        web: WebProcess,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> Answer:
        headers = {
            "Host": SITE,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": self.address,
            "Referer": f"https://{SITE}{path}",
            "User-Agent": "test_multi_process",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if content_type:
            headers["Content-Type"] = content_type
        connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            answer = Answer(response.status, response.headers, response.read())
        finally:
            connection.close()
        for header in answer.headers.get_all("Set-Cookie") or []:
            self._keep(header)
        return answer

    def _keep(self, header: str) -> None:
        pair, *attributes = [part.strip() for part in header.split(";")]
        name, _sep, value = pair.partition("=")
        flags = {attribute.lower() for attribute in attributes}
        if "max-age=0" in flags or any(
            flag.startswith("expires=thu, 01 jan 1970") for flag in flags
        ):
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value
            self.cookie_flags[name] = {flag.split("=", 1)[0] for flag in flags}

    def get(self, web: WebProcess, path: str) -> Answer:
        return self.request(web, "GET", path)

    def post_form(
        self,
        web: WebProcess,
        path: str,
        data: dict[str, str],
        *,
        form_from: WebProcess | None = None,
        page: str | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Answer:
        """Read the form's page (``page``, by default ``path``, through ``form_from``, as a load
        balancer may send the two requests to different processes) and send the form with the
        page's CSRF token."""
        shown = self.get(form_from or web, page or path)
        match = CSRF_META.search(shown.text)
        assert shown.status == 200 and match, f"no form on {page or path} ({shown.status})"
        fields = {"csrf_token": match.group(1), **data}
        if files:
            body, content_type = multipart(fields, files)
        else:
            body, content_type = urlencode(fields).encode(), "application/x-www-form-urlencoded"
        return self.request(web, "POST", path, body, content_type)

    def sign_in(
        self, web: WebProcess, person: Employee, password: str = factories.PASSWORD
    ) -> Answer:
        return self.post_form(web, "/login", {"email": person.email, "password": password})


def multipart(
    fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]
) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for name, (filename, content, content_type) in files.items():
        head = (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"; filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def signed_in_as(person: Employee, web: WebProcess, address: str) -> Browser:
    browser = Browser(address)
    answer = browser.sign_in(web, person)
    assert answer.status == 302, answer.text
    return browser


def new_hire(unit_id: int, **overrides: str) -> dict[str, str]:
    return {
        "first_name": "Lisa",
        "last_name": "Berg",
        "email": "lisa.berg@jarfalla.example",
        "unit": str(unit_id),
        "hire_date": (clock.today() - timedelta(days=2)).isoformat(),
        "employee_number": "J-1001",
        "manager_email": "",
        "end_date": "",
        "language": "sv",
        "send_invitation": "y",
    } | overrides


def by_email(email: str) -> Employee | None:
    db.session.expire_all()
    return db.session.scalars(sa.select(Employee).where(Employee.email == email)).one_or_none()


# --- (a) a change through one is seen through the other --------------------------------------


def test_hr_enrolls_through_one_process_and_edits_through_the_other_with_one_sign_in(
    deployment: Deployment,
) -> None:
    a, b = deployment.a, deployment.b
    ifo = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    hr = signed_in_as(factories.hr_staff(), a, "198.51.100.10")
    # Production's cookie, which every process accepts: one SECRET_KEY for all.
    assert hr.cookie_flags["__Host-session"] >= {"secure", "httponly", "path"}

    # The form read through B, sent through A: a load balancer may do that.
    created = hr.post_form(a, "/employees/new", new_hire(ifo.id), form_from=b)

    person = by_email("lisa.berg@jarfalla.example")
    assert person is not None, created.text
    assert (created.status, created.location) == (302, f"/employees/{person.id}")
    seen_on_b = hr.get(b, f"/employees/{person.id}")
    assert seen_on_b.status == 200
    assert "Lisa Berg" in seen_on_b.text

    edited = hr.post_form(
        b,
        f"/employees/{person.id}/edit",
        new_hire(ifo.id, last_name="Berg-Ek", employee_number="J-1002"),
    )

    assert edited.status == 302, edited.text
    seen_on_a = hr.get(a, f"/employees/{person.id}")
    assert "Lisa Berg-Ek" in seen_on_a.text
    assert "J-1002" in seen_on_a.text
    person = by_email("lisa.berg@jarfalla.example")
    assert (person.last_name, person.employee_number) == ("Berg-Ek", "J-1002")


def test_a_certificate_reported_through_one_process_is_read_and_verified_through_the_other(
    deployment: Deployment,
) -> None:
    a, b = deployment.a, deployment.b
    nck = factories.synced_catalog()[NCK]
    employee = factories.employee(first_name="Sara", last_name="Lind")
    factories.assignment(employee, nck)
    completed_on = clock.today() - timedelta(days=3)
    certificate = certificate_pdf(["Intyg", "Sara Lind", nck.title, completed_on.isoformat()])
    sara = signed_in_as(employee, a, "198.51.100.21")
    hr = signed_in_as(factories.hr_staff(), b, "198.51.100.22")

    reported = sara.post_form(
        a,
        "/my/report",
        {"course_id": str(nck.id), "completed_on": completed_on.isoformat(), "note": ""},
        files={"certificate": ("intyg.pdf", certificate, "application/pdf")},
    )

    assert reported.status == 302, reported.text
    db.session.expire_all()
    completion = db.session.scalars(sa.select(Completion)).one()
    evidence = db.session.scalars(sa.select(Evidence)).one()
    # Written by A into the shared folder, under the name the database holds.
    assert (deployment.uploads / evidence.storage_name).read_bytes() == certificate
    assert [p.name for p in deployment.uploads.iterdir()] == [evidence.storage_name]
    served_by_b = hr.get(b, f"/evidence/{evidence.id}")
    assert served_by_b.status == 200
    assert served_by_b.body == certificate

    verified = hr.post_form(
        b, f"/verify/{completion.id}/verify", {}, page=f"/verify/{completion.id}"
    )

    assert verified.status == 302, verified.text
    page_on_a = sara.get(a, f"/my/completions/{completion.id}")
    assert '<span class="badge badge-ok">Godkänd</span>' in page_on_a.text
    db.session.expire_all()
    assert db.session.get(Completion, completion.id).status == CompletionStatus.VERIFIED


# --- (b) one rate limit for every process ----------------------------------------------------


def counters_of(address: str) -> list[int]:
    db.session.expire_all()
    rows = db.session.execute(sa.select(RateLimitCounter.key, RateLimitCounter.count)).all()
    return [count for key, count in rows if address in key]


def test_sign_in_attempts_counted_by_one_process_are_refused_by_the_other(
    deployment: Deployment,
) -> None:
    a, b = deployment.a, deployment.b
    person = factories.employee()
    other = factories.employee()
    guesser = Browser("203.0.113.66")  # LOGIN_RATE_LIMIT is "3 per minute" here
    wrong = {"email": person.email, "password": "gissning-1234"}

    tries = [guesser.post_form(web, "/login", wrong).status for web in (a, b, a)]
    counted = counters_of("203.0.113.66")
    refused = guesser.sign_in(b, person)  # the right password, too late

    assert tries == [401, 401, 401]
    assert counted == [3]  # one counter in the database, counted by both processes
    assert refused.status == 429, refused.text
    assert "Inloggningen spärras en stund efter många försök" in refused.text
    assert int(refused.headers["Retry-After"]) > 0
    still_out = guesser.get(a, "/my/report")  # not signed in, on either process
    assert (still_out.status, still_out.location) == (302, "/login?next=%2Fmy%2Freport")
    # The same client address, another account, through A: the address's count is shared too.
    assert guesser.sign_in(a, other).status == 429
    # Counted per client (X-Forwarded-For, through ProxyFix), not per proxy: a colleague
    # behind the same proxy signs in.
    assert Browser("198.51.100.30").sign_in(b, other).status == 302


# --- (c) reminders sent once -----------------------------------------------------------------


def test_two_reminders_runs_beside_the_web_processes_send_each_mail_once(
    deployment: Deployment, smtp_server: MailCatcher
) -> None:
    a = deployment.a
    # The processes' clocks are real: plan for the next working day, with courses 20 days
    # overdue by then.
    day = next_working_day(clock.today())
    overdue_days = 20 - (day - clock.today()).days
    catalog = factories.synced_catalog()
    ifo = factories.unit("Järfälla", Sector.SOCIAL_SERVICES, "IFO Järfälla")
    staff = []
    for n in range(12):
        person = factories.employee(unit=ifo, email=f"medarbetare{n:02d}@jarfalla.example")
        factories.assignment(person, catalog[NCK], due_in_days=-overdue_days)
        staff.append(person)
    # A welcome mail queued by a web process, waiting in the outbox for the same runs.
    hr = signed_in_as(factories.hr_staff(), a, "198.51.100.40")
    assert hr.post_form(a, "/employees/new", new_hire(ifo.id)).status == 302
    env = deployment.env | {"MAIL_SERVER": smtp_server.host, "MAIL_PORT": str(smtp_server.port)}

    runs = [
        subprocess.Popen(
            ["flask", "reminders", "run", "--today", day.isoformat()],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        outputs = [run.communicate(timeout=60) for run in runs]
    finally:
        for run in runs:
            stop(run)

    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, out + err
    db.session.expire_all()
    rows = db.session.scalars(sa.select(OutboxMessage)).all()
    assert {row.status for row in rows} == {OutboxStatus.SENT}
    assert {row.attempts for row in rows} == {1}
    arrived = Counter(mail["To"] for mail in smtp_server.messages)
    assert arrived == Counter(row.recipient_email for row in rows)
    assert all(arrived[person.email] == 1 for person in staff)
    assert ("invitation", "lisa.berg@jarfalla.example") in {
        (row.kind, row.recipient_email) for row in rows
    }
    message_ids = [mail["Message-ID"] for mail in smtp_server.messages]
    assert len(set(message_ids)) == len(message_ids) == len(rows)
    sent = [int(re.search(r"^outbox: (\d+) sent", out, re.M).group(1)) for out, _ in outputs]
    assert sum(sent) == len(rows)  # each message sent by one of the two, never both


# --- (d) the load balancer's health check ----------------------------------------------------


def test_both_processes_answer_the_health_check_with_production_headers(
    deployment: Deployment,
) -> None:
    for web in (deployment.a, deployment.b):
        answer = Browser("10.0.0.1").get(web, "/healthz")

        assert answer.status == 200
        assert json.loads(answer.body) == {"status": "ok", "database": "ok"}
        # The proxy's X-Forwarded-Proto reached the app: it knows the request was https.
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "flask db upgrade" in procfile()["release"]
    assert re.search(r"\d+ created, \d+ updated, \d+ unchanged", deployment.release_output)


def test_the_access_log_has_the_request_time_and_neither_tokens_nor_queries(
    deployment: Deployment,
) -> None:
    token = secrets.token_urlsafe(24)
    browser = Browser("192.0.2.7")
    browser.get(deployment.a, f"/invitation/{token}")
    browser.get(deployment.a, "/employees/?q=Lisa+Berg")

    deadline = time.monotonic() + 10
    expected = re.compile(r'^192\.0\.2\.7 .* "GET /employees/ HTTP/1\.1" 302 \d+ \d+ms ', re.M)
    while not expected.search(log := deployment.a.output()):
        assert time.monotonic() < deadline, log
        time.sleep(0.05)
    assert re.search(r'"GET /invitation/\[token\] HTTP/1\.1" \d{3} \d+ \d+ms ', log)
    assert token not in log
    assert "Lisa" not in log


# --- (e) a SAML assertion spent once, whichever process it reaches (issue #18) -----------------
# The replay cache is shared by every web process: a person signs in through one, and the same
# response, with the same request's cookie, is refused by the other.


@pytest.fixture()
def idp() -> Iterator[SamlTestIdp]:
    provider = SamlTestIdp().start()
    yield provider
    provider.stop()


def test_an_assertion_spent_at_one_process_is_refused_at_the_other(
    deployment: Deployment,
    idp: SamlTestIdp,
) -> None:
    factories.municipality("Järfälla")
    anna = factories.employee(
        unit=factories.unit("Järfälla"), email="anna@saml.jarfalla.se", password=None
    )
    db.session.commit()
    # The operator adds the provider as in production (our key is encrypted with its
    # SECRET_KEY, which the processes share).
    added = subprocess.run(
        [
            str(Path(sys.executable).parent / "flask"),
            "sso",
            "add-saml",
            "--municipality",
            "Järfälla",
            "--metadata",
            idp.metadata_url,
            "--domain",
            "saml.jarfalla.se",
        ],
        cwd=PROJECT_ROOT,
        env=deployment.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stdout + added.stderr
    provider_id = db.session.scalars(
        sa.select(IdentityProvider.id).where(IdentityProvider.protocol == "saml")
    ).one()
    browser = Browser("203.0.113.50")
    metadata = browser.get(deployment.a, f"/login/saml/{provider_id}/metadata")
    assert metadata.status == 200 and f"https://{SITE}/login/saml/" in metadata.text
    idp.trust(metadata.text)
    idp.person = {"name_id": "anna-guid", "attributes": {"mail": [anna.email]}}

    started = browser.get(deployment.a, f"/login/saml/{provider_id}/start")
    assert started.status == 302 and started.location
    assert browser.cookie_flags["saml_pending"] >= {"secure", "httponly", "samesite"}
    pending = browser.cookies["saml_pending"]
    action, saml_response = form_fields(requests.get(started.location, timeout=10).text)
    assert action == f"https://{SITE}/login/saml/{provider_id}/acs"
    body = urlencode({"SAMLResponse": saml_response}).encode()
    form = "application/x-www-form-urlencoded"

    signed_in = browser.request(deployment.a, "POST", urlsplit(action).path, body, form)
    assert signed_in.status == 302, signed_in.text
    assert browser.get(deployment.a, "/").status == 200

    # Someone who copied the response and the request's cookie tries it at the other process.
    thief = Browser("198.51.100.7", cookies={"saml_pending": pending})
    replayed = thief.request(deployment.b, "POST", urlsplit(action).path, body, form)
    assert replayed.status == 400
    assert "replay" in deployment.b.output()
    assert db.session.scalar(sa.select(sa.func.count(SamlSeenAssertion.id))) == 1


# --- the configuration files -----------------------------------------------------------------


GUNICORN_ENVIRONMENT = (
    "WEB_CONCURRENCY",
    "PORT",
    "BIND_HOST",
    "GUNICORN_TIMEOUT",
    "GUNICORN_MAX_REQUESTS",
    "GUNICORN_ACCESS_LOG",
)


def gunicorn_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict:
    """deploy/gunicorn.conf.py's settings, as gunicorn reads them, in ``env`` alone."""
    for name in (*GUNICORN_ENVIRONMENT, "RUNTIME_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))


def test_gunicorn_runs_two_sync_workers_per_core_plus_one_unless_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2}, raising=False)
    settings = gunicorn_settings(monkeypatch)
    assert settings["workers"] == 7
    assert settings["worker_class"] == "sync"
    assert settings["bind"] == ["127.0.0.1:8000"]
    assert settings["max_requests"] == 1000 and 0 < settings["max_requests_jitter"] <= 100
    assert settings["timeout"] >= 30 and settings["control_socket_disable"] is True

    settings = gunicorn_settings(
        monkeypatch, WEB_CONCURRENCY="2", PORT="8002", BIND_HOST="::1", RUNTIME_DIRECTORY="/run/x"
    )
    assert (settings["workers"], settings["bind"]) == (2, ["[::1]:8002"])
    # One control socket per instance, not gunicorn's one per user.
    assert settings["control_socket"] == "/run/x/gunicorn-8002.ctl"

    with pytest.raises(RuntimeError, match="WEB_CONCURRENCY must be a whole number, not 'many'"):
        gunicorn_settings(monkeypatch, WEB_CONCURRENCY="many")


def env_example() -> dict[str, str]:
    """Every variable the example sets or shows (commented), with its example value."""
    found = {}
    for line in (DEPLOY / "training-tracker.env.example").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            found[match.group(1)] = match.group(2).strip().strip("'\"")
    return found


def test_the_environment_example_names_every_setting_of_the_docs_and_only_real_ones() -> None:
    example = env_example()
    operations = (PROJECT_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = operations.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]{2,})`", section))
    assert documented - set(example) == set()
    gunicorn_conf = (DEPLOY / "gunicorn.conf.py").read_text(encoding="utf-8")
    outside_config = {"TRAINING_TRACKER_ENV", "FLASK_APP", "DATABASE_URL", "PGPASSFILE"}
    unknown = {
        name
        for name in example
        if not hasattr(Config, name) and name not in outside_config and name not in gunicorn_conf
    }
    assert unknown == set()


def test_the_environment_example_once_filled_in_starts_production_with_shared_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    active = {
        match.group(1): match.group(2).strip("'\"")
        for line in (DEPLOY / "training-tracker.env.example").read_text().splitlines()
        if (match := re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line))
    }
    assert active["SECRET_KEY"] == ""  # no secret in the example: production refuses it so
    for name, value in active.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        ProductionConfig()

    monkeypatch.setenv("SECRET_KEY", SECRET_KEY)
    config = ProductionConfig()
    assert config.SQLALCHEMY_DATABASE_URI.startswith("postgresql+psycopg://")
    assert config.RATELIMIT_STORAGE_URI == "database://"
    assert config.PROXY_FIX_X_FOR == 1
    assert config.UPLOAD_FOLDER == "/srv/training-tracker/uploads"


def test_the_proxy_takes_what_the_app_accepts_and_sends_what_proxy_fix_reads() -> None:
    nginx = (DEPLOY / "nginx.conf.example").read_text(encoding="utf-8")
    body_mb = int(re.search(r"client_max_body_size (\d+)m;", nginx).group(1))
    assert body_mb * 1024 * 1024 == Config.MAX_CONTENT_LENGTH
    assert len(re.findall(r"^\s+server \S+:\d+ ", nginx, re.M)) >= 2
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in nginx  # one hop: x_for=1
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx
    assert "location = /healthz" in nginx
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", nginx).group(1))
    assert read_timeout > runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["timeout"]


def test_the_systemd_units_run_the_procfiles_commands_release_first() -> None:
    commands = procfile()
    units = DEPLOY / "systemd"
    web = (units / "training-tracker-web@.service").read_text(encoding="utf-8")
    release = (units / "training-tracker-release.service").read_text(encoding="utf-8")
    scheduler = (units / "training-tracker-scheduler.service").read_text(encoding="utf-8")

    assert f"/.venv/bin/{commands['web']}\n" in web
    assert "Environment=PORT=%i" in web
    first, then = commands["release"].split(" && ")
    assert release.index(f"/.venv/bin/{first}\n") < release.index(f"/.venv/bin/{then}\n")
    assert f"/.venv/bin/{commands['scheduler']}\n" in scheduler
    for unit in (web, scheduler):
        assert "Requires=training-tracker-release.service" in unit
        assert "After=training-tracker-release.service" in unit
        assert "RequiresMountsFor=/srv/training-tracker/uploads" in unit
    assert "Type=oneshot" in release
