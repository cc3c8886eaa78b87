"""The traffic mix of the load test, shared by the locustfile (which users browse what) and the
runner (how many accounts of each role to prepare). No locust import here: the runner and the
account script run without gevent's monkey-patching."""

from __future__ import annotations

import math

# Users of each role, relative. Most people who open the tracker are employees looking at their
# own courses; each unit's manager comes by more often than HR or a coordinator, who are few.
ROLE_WEIGHTS: dict[str, int] = {"employee": 6, "manager": 2, "hr": 1, "coordinator": 1}

# A visit: sign in, this many page views (each after 1–3 s of reading), sign out. Then the
# same simulated person comes back and signs in again, so sign-ins continue through the run
# instead of all falling in the ramp-up.
PAGES_PER_VISIT = (5, 15)
THINK_SECONDS = (1.0, 3.0)


def accounts_needed(users: int) -> dict[str, int]:
    """Accounts to prepare per role so that no two simulated users share one: signing out
    ends every session of an account, which would throw the other user out. locust divides
    the users by weight, rounding either way, hence one spare per role."""
    total = sum(ROLE_WEIGHTS.values())
    return {role: math.ceil(users * weight / total) + 1 for role, weight in ROLE_WEIGHTS.items()}


# What each role reads: (weight, path, name in the figures). ``{unit_id}`` is the unit the
# account manages (managers) or works in. The start page and the coverage report are one path
# for every role but a different amount of work for each, hence a name per role.
PAGES: dict[str, list[tuple[int, str, str]]] = {
    "employee": [
        (3, "/", "/ [employee]"),  # their courses, due dates and history
        (1, "/my/report", "/my/report"),  # the form to report a completion
    ],
    "manager": [
        (1, "/", "/ [manager]"),
        (2, "/verify/", "/verify/"),  # the review queue
        (2, "/reports/", "/reports/ [manager]"),  # coverage of their units
        (2, "/reports/units/{unit_id}", "/reports/units/[id]"),  # their unit's people
    ],
    "hr": [
        (1, "/", "/ [hr]"),
        (3, "/employees/", "/employees/"),  # the staff list of their municipality
        (2, "/reports/", "/reports/ [hr]"),  # coverage of their municipality by sector
    ],
    "coordinator": [
        (1, "/", "/ [coordinator]"),
        (3, "/reports/", "/reports/ [region]"),  # coverage of all six side by side
        (1, "/reports/new-hires", "/reports/new-hires"),
    ],
}
