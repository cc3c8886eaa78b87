"""SCIM benchmark: an initial sync of ``--users`` users over HTTP, as Microsoft Entra ID sends
it: for each user the "does it exist" filter (``GET /Users?filter=userName eq "…"``), then the
``POST /Users``.

    .venv/bin/python bench/scim_bench.py [--users 17000] [--database sqlite|postgresql]
                                         [--workers 5] [--clients 6]

Builds a fresh database (bench/common.py: migrated, the catalogue synced, the demo's 600
employees and their units and rules), creates one token per municipality with
``flask scim token create``, starts gunicorn with deploy/gunicorn.conf.py on a free port, and
lets ``--clients`` directories (one per municipality by default, each on its own keep-alive
connection) provision their share of the users at once. Each user gets a department from
their municipality's units (one in ten an unknown one), an employee number, a hire date in
the enterprise extension, and ``active``; each is enrolled as HR would (assignments from the
rules, the welcome mail queued, the audit trail). Prints the machine, the wall time, users
and requests a second, and the latency of each kind of request; checks that every user was
created.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import demo_database, machine, run  # noqa: E402

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MUNICIPALITIES = [
    "Järfälla",
    "Sigtuna",
    "Sollentuna",
    "Sundbyberg",
    "Upplands-Bro",
    "Upplands Väsby",
]
FIRST = ["Anna", "Erik", "Fatima", "Johan", "Karin", "Lars", "Maria", "Mohammed", "Sara", "Ali"]
LAST = ["Andersson", "Berg", "Hassan", "Johansson", "Karlsson", "Lind", "Nilsson", "Öberg"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _units(env: dict[str, str]) -> dict[str, list[str]]:
    """The demo's units of each municipality, by name (read in a child, as the app does)."""
    code = (
        "import json\n"
        "import sqlalchemy as sa\n"
        "from wsgi import app\n"
        "from training_tracker.extensions import db\n"
        "from training_tracker.models import Municipality, Unit\n"
        "with app.app_context():\n"
        "    rows = db.session.execute(sa.select(Municipality.name, Unit.name).join(Unit))\n"
        "    units = {}\n"
        "    for municipality, unit in rows:\n"
        "        units.setdefault(municipality, []).append(unit)\n"
        "    print(json.dumps(units))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(done.stderr)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _users(count: int, units: dict[str, list[str]]) -> dict[str, list[dict]]:
    """``count`` users spread over the six municipalities, as Entra ID would send them."""
    rng = random.Random(19)
    per_municipality: dict[str, list[dict]] = {name: [] for name in MUNICIPALITIES}
    for n in range(count):
        municipality = MUNICIPALITIES[n % len(MUNICIPALITIES)]
        given, family = rng.choice(FIRST), rng.choice(LAST)
        address = f"{given}.{family}.{n}@scim-bench.example".lower()
        known = units.get(municipality) or ["Okänd"]
        department = rng.choice(known) if rng.random() < 0.9 else "Avdelning som inte finns"
        hired = f"20{rng.randint(10, 26):02d}-{rng.randint(1, 12):02d}-01T00:00:00Z"
        per_municipality[municipality].append(
            {
                "schemas": [CORE, ENTERPRISE],
                "externalId": f"bench-{n}",
                "userName": address,
                "active": True,
                "displayName": f"{given} {family}",
                "emails": [{"primary": True, "type": "work", "value": address}],
                "meta": {"resourceType": "User"},
                "name": {
                    "formatted": f"{given} {family}",
                    "familyName": family,
                    "givenName": given,
                },
                "preferredLanguage": "sv-SE",
                ENTERPRISE: {
                    "employeeNumber": f"B{n:06d}",
                    "department": department,
                    "employeeHireDate": hired,
                },
            }
        )
    return per_municipality


class Directory(threading.Thread):
    """One municipality's directory: the filter, then the create, user after user."""

    def __init__(self, port: int, secret: str, users: list[dict]) -> None:
        super().__init__(daemon=True)
        self.port, self.secret, self.users = port, secret, users
        self.latencies: dict[str, list[float]] = {"filter": [], "create": []}
        self.failures: list[str] = []

    def _send(self, connection: http.client.HTTPConnection, method: str, path: str, body=None):
        headers = {"Authorization": f"Bearer {self.secret}"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/scim+json"
        start = time.perf_counter()
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - start

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        for user in self.users:
            expression = quote(f'userName eq "{user["userName"]}"')
            status, data, seconds = self._send(
                connection, "GET", f"/scim/v2/Users?filter={expression}"
            )
            self.latencies["filter"].append(seconds)
            if status != 200 or json.loads(data)["totalResults"] != 0:
                self.failures.append(f"filter {status} {data[:200]!r}")
                continue
            status, data, seconds = self._send(connection, "POST", "/scim/v2/Users", user)
            self.latencies["create"].append(seconds)
            if status != 201:
                self.failures.append(f"create {status} {data[:200]!r}")
        connection.close()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=17_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=(2 * (os.cpu_count() or 1)) + 1)
    parser.add_argument("--clients", type=int, default=6, help="directories at once (≤ 6)")
    args = parser.parse_args()
    with demo_database(args.database) as (env, _workdir):
        secrets = {}
        for name in MUNICIPALITIES:
            _seconds, _peak, output = run(
                ["scim", "token", "create", "--municipality", name, "--label", "Bench"], env
            )
            secrets[name] = output.strip().splitlines()[-1]
        users = _users(args.users, _units(env))
        port = _free_port()
        server_env = {
            **env,
            "PORT": str(port),
            "WEB_CONCURRENCY": str(args.workers),
            "GUNICORN_ACCESS_LOG": "off",
            "GUNICORN_MAX_REQUESTS": "0",
        }
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "-c",
                "deploy/gunicorn.conf.py",
                "wsgi:app",
            ],
            env=server_env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    time.sleep(0.1)
            names = MUNICIPALITIES[: max(1, min(args.clients, 6))]
            # Fewer clients than municipalities: each takes its own municipality's users.
            directories = [Directory(port, secrets[name], users[name]) for name in names]
            sent = sum(len(d.users) for d in directories)
            load_before = os.getloadavg()[0]
            start = time.perf_counter()
            for directory in directories:
                directory.start()
            for directory in directories:
                directory.join()
            wall = time.perf_counter() - start
        finally:
            server.terminate()
            try:
                # gunicorn lets its workers finish for up to 30 s (graceful_timeout); on a
                # machine loaded several times over they may take longer, and the figures
                # measured must not be lost for it.
                server.wait(timeout=90)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        # gunicorn's CPU, its workers' included (reaped by it, then it by us); on SQLite the
        # database's work is in the workers, on PostgreSQL the server's is not counted.
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (
            cpu_after.ru_stime - cpu_before.ru_stime
        )
        failures = [f for d in directories for f in d.failures]
        print(f"machine: {machine()}")
        print(
            f"database: {args.database}; {sent:,} users over {len(directories)} directories "
            f"at once; gunicorn with {args.workers} sync workers (deploy/gunicorn.conf.py)"
        )
        requests = sum(len(v) for d in directories for v in d.latencies.values())
        print(
            f"initial sync: {wall:.1f} s wall, {sent / wall:.0f} users/s, "
            f"{requests / wall:.0f} requests/s"
        )
        cores = os.cpu_count() or 1
        print(
            f"gunicorn CPU: {cpu:.0f} s, {cpu / sent * 1000:.0f} ms a user: on {cores} idle "
            f"cores at most {cores / (cpu / sent):.0f} users/s; load average before and "
            f"after: {load_before:.1f} / {os.getloadavg()[0]:.1f}"
        )
        for kind in ("filter", "create"):
            values = [s for d in directories for s in d.latencies[kind]]
            if values:
                print(
                    f"{kind}: median {statistics.median(values) * 1000:.0f} ms, "
                    f"p95 {_percentile(values, 0.95) * 1000:.0f} ms, "
                    f"max {max(values) * 1000:.0f} ms ({len(values):,} requests)"
                )
        print(f"failures: {len(failures)}" + (f" (first: {failures[0]})" if failures else ""))
        if failures:
            sys.exit(1)


if __name__ == "__main__":
    main()
