"""Sign-in accounts for the load test, made through the app's own services.

    DATABASE_URL=… python bench/load/accounts.py --users 50 --password PW --out accounts.json

The demo has one account per role; 50 simulated users need one account each (signing out ends
every session of the account, so two users sharing one would throw each other out). This gives
a known password (``accounts.set_password``) to the demo accounts and to more people chosen at
random among the active staff of every municipality: employees without a role, managers of
their units (the demo makes one per unit), and people made HR of their municipality or
coordinator of the region (``roles.grant_role``). Writes ``{role: [{"email", "unit_id"}]}``
as JSON for the locustfile; ``unit_id`` is the unit a manager manages, else the person's own.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.load.mix import accounts_needed  # noqa: E402


def _active_staff() -> sa.Select[tuple[int]]:
    from training_tracker import clock
    from training_tracker.models import Employee

    return (
        sa.select(Employee.id)
        .where(
            Employee.active,
            Employee.anonymised_at.is_(None),
            Employee.unit_id.is_not(None),
            sa.or_(Employee.end_date.is_(None), Employee.end_date > clock.today()),
        )
        .order_by(Employee.id)
    )


def prepare(
    session: Session, *, needed: dict[str, int], password: str, seed: int
) -> dict[str, list[dict[str, object]]]:
    from training_tracker.demo import people as demo_people
    from training_tracker.models import Employee, Municipality, Role, RoleGrant
    from training_tracker.services.people import accounts, roles

    rng = random.Random(seed)
    has_role = sa.exists().where(RoleGrant.employee_id == Employee.id)
    plain = list(session.scalars(_active_staff().where(~has_role)))
    rng.shuffle(plain)
    managed = {
        employee_id: unit_id
        for employee_id, unit_id in session.execute(
            sa.select(RoleGrant.employee_id, RoleGrant.unit_id)
            .join(Employee, Employee.id == RoleGrant.employee_id)
            .where(RoleGrant.role == Role.MANAGER, Employee.id.in_(_active_staff()))
            .order_by(RoleGrant.id)
        )
    }
    manager_ids = list(managed)
    rng.shuffle(manager_ids)

    def by_email(email: str) -> Employee:
        return session.scalars(sa.select(Employee).where(Employee.email == email)).one()

    # The demo's own accounts first, then as many more as the run needs.
    chosen: dict[str, list[Employee]] = {
        "employee": [by_email(demo_people.EMPLOYEE_EMAIL)],
        "manager": [by_email(demo_people.MANAGER_EMAIL)],
        "hr": [by_email(demo_people.HR_EMAIL)],
        "coordinator": [by_email(demo_people.REGIONAL_COORDINATOR_EMAIL)],
    }
    taken = {person.id for people in chosen.values() for person in people}
    plain = [employee_id for employee_id in plain if employee_id not in taken]
    manager_ids = [employee_id for employee_id in manager_ids if employee_id not in taken]
    for role, pool in (("employee", plain), ("manager", manager_ids)):
        while len(chosen[role]) < needed[role]:
            if not pool:
                sys.exit(f"not enough active staff for {needed[role]} {role} accounts")
            employee = session.get(Employee, pool.pop())
            assert employee is not None
            chosen[role].append(employee)

    # HR of their own municipality (people at random, so the larger municipalities get more);
    # coordinators of the region.
    municipalities = {m.id: m for m in session.scalars(sa.select(Municipality))}
    for role in ("hr", "coordinator"):
        while len(chosen[role]) < needed[role]:
            if not plain:
                sys.exit(f"not enough active staff for {needed[role]} {role} accounts")
            employee = session.get(Employee, plain.pop())
            assert employee is not None
            if role == "hr":
                roles.grant_role(
                    session,
                    actor=None,
                    employee=employee,
                    role=Role.HR,
                    municipality=municipalities[employee.municipality_id or 0],
                )
            else:
                roles.grant_role(session, actor=None, employee=employee, role=Role.COORDINATOR)
            chosen[role].append(employee)

    result: dict[str, list[dict[str, object]]] = {}
    for role, people in chosen.items():
        result[role] = []
        for person in people:
            accounts.set_password(session, person, password, actor=None, reason="load-test")
            unit_id = managed.get(person.id) if role == "manager" else None
            result[role].append({"email": person.email, "unit_id": unit_id or person.unit_id})
    session.commit()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="simulated users to serve")
    parser.add_argument("--password", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from training_tracker import create_app
    from training_tracker.extensions import db
    from training_tracker.services.people import accounts

    app = create_app()
    with app.app_context():
        if problems := accounts.password_problems(args.password):
            sys.exit(f"--password: {problems[0]}")
        needed = accounts_needed(args.users)
        made = prepare(db.session, needed=needed, password=args.password, seed=args.seed)
    args.out.write_text(json.dumps(made, indent=1))
    print(", ".join(f"{len(people)} {role}" for role, people in made.items()))


if __name__ == "__main__":
    main()
