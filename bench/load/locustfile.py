"""Signed-in people browsing the tracker: the load test's users (locust).

Run by bench/load/run.py, which prepares the accounts; by hand:

    LOAD_ACCOUNTS=accounts.json LOAD_PASSWORD=… .venv-bench/bin/locust \\
        -f bench/load/locustfile.py --headless -u 50 -r 10 -t 60s --host http://127.0.0.1:8000

Each simulated person has an account of their own (from the JSON file bench/load/accounts.py
writes) and makes visits: sign in, read 5–15 of their pages 1–3 s apart, sign out, and come
back. What each role reads (the pages and their weights are in bench/load/mix.py):

- employee: the start page (their courses) and the report form;
- manager: the review queue, the coverage report of their units and their unit's people;
- HR: the staff list and the coverage report of their municipality;
- regional coordinator: the coverage report of all municipalities and the new-hire report.

A request counts as failed unless it is exactly what a signed-in person gets: 200 for a page
(a redirect to the sign-in page is a failure, not a success), 302 to the start page for a
sign-in, 302 to the sign-in page for a sign-out.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events
from locust.exception import StopUser

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.load.mix import PAGES, PAGES_PER_VISIT, ROLE_WEIGHTS, THINK_SECONDS

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _load_accounts() -> dict[str, list[dict]]:
    path = os.environ.get("LOAD_ACCOUNTS", "")
    if not path:
        return {role: [] for role in ROLE_WEIGHTS}
    return json.loads(Path(path).read_text())


ACCOUNTS = _load_accounts()
PASSWORD = os.environ.get("LOAD_PASSWORD", "")
# One iterator per role, shared by the users of that role: each takes the next free account.
_FREE: dict[str, Iterator[dict]] = {role: iter(ACCOUNTS.get(role, [])) for role in ROLE_WEIGHTS}

# Every request, for exact percentiles and a look at the run after its ramp-up (locust's own
# statistics round response times into buckets): "epoch seconds<TAB>name<TAB>ms<TAB>failed".
_REQUEST_LOG = (
    Path(os.environ["LOAD_REQUEST_LOG"]).open("a", buffering=1)  # noqa: SIM115 (open all run)
    if os.environ.get("LOAD_REQUEST_LOG")
    else None
)


@events.request.add_listener
def _log_request(name: str, response_time: float, exception: Any, **_details: Any) -> None:
    if _REQUEST_LOG is not None:
        failed = 1 if exception else 0
        _REQUEST_LOG.write(f"{time.time():.3f}\t{name}\t{response_time:.1f}\t{failed}\n")


class Person(HttpUser):
    """Signs in, reads pages, signs out after a visit, comes back. Subclasses name the role
    and their pages as @task methods."""

    abstract = True
    role = ""
    wait_time = between(*THINK_SECONDS)

    def on_start(self) -> None:
        account = next(_FREE[self.role], None)
        if account is None or not PASSWORD:
            # Sharing an account would let one user's sign-out end the other's session. Counted
            # as a failed request, so that a run with fewer users than asked for fails.
            problem = f"no free {self.role} account (LOAD_ACCOUNTS, LOAD_PASSWORD)"
            self.environment.events.request.fire(
                request_type="SETUP",
                name=f"account [{self.role}]",
                response_time=0,
                response_length=0,
                exception=RuntimeError(problem),
                context={},
            )
            raise StopUser(problem)
        self.email: str = account["email"]
        self.unit_id: int = account["unit_id"]
        self.csrf_token = ""
        self.sign_in()

    def sign_in(self) -> None:
        self.client.cookies.clear()
        page = self.client.get("/login", name="/login [form]")
        found = CSRF.search(page.text or "")
        with self.client.post(
            "/login",
            data={
                "email": self.email,
                "password": PASSWORD,
                "csrf_token": found.group(1) if found else "",
            },
            name="/login [sign in]",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302 or response.headers.get("Location", "") not in (
                "/",
                f"{self.host}/",
            ):
                response.failure(f"sign-in answered {response.status_code}, not 302 to /")
        self.pages_left = random.randint(*PAGES_PER_VISIT)

    def sign_out(self) -> None:
        with self.client.post(
            "/logout",
            data={"csrf_token": self.csrf_token},
            name="/logout",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302 or "/login" not in response.headers.get("Location", ""):
                response.failure(f"sign-out answered {response.status_code}, not 302 to /login")

    def page(self, path: str, name: str | None = None) -> None:
        """GET a page as the signed-in person; only a 200 counts as served."""
        with self.client.get(
            path, name=name or path, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                where = response.headers.get("Location", "")
                response.failure(f"{response.status_code} {where}".strip())
            elif found := CSRF.search(response.text or ""):
                self.csrf_token = found.group(1)  # the sign-out form's, for the end of the visit
        self.pages_left -= 1
        if self.pages_left <= 0:
            self.sign_out()
            self.sign_in()


def _tasks(role: str) -> dict[Callable[[Person], None], int]:
    """The role's pages (mix.PAGES) as locust tasks with their weights."""

    def visit(path: str, name: str) -> Callable[[Person], None]:
        def task(user: Person) -> None:
            user.page(path.format(unit_id=user.unit_id), name)

        task.__name__ = name
        return task

    return {visit(path, name): weight for weight, path, name in PAGES[role]}


class Employee(Person):
    role = "employee"
    weight = ROLE_WEIGHTS[role]
    tasks = _tasks(role)


class Manager(Person):
    role = "manager"
    weight = ROLE_WEIGHTS[role]
    tasks = _tasks(role)


class HR(Person):
    role = "hr"
    weight = ROLE_WEIGHTS[role]
    tasks = _tasks(role)


class Coordinator(Person):
    role = "coordinator"
    weight = ROLE_WEIGHTS[role]
    tasks = _tasks(role)
