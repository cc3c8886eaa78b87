"""Operator commands (``flask --app wsgi …``). Names are stable: scripts depend on them."""

from __future__ import annotations

import secrets
import sys
from datetime import date

import click
import sqlalchemy as sa
from flask import Blueprint, current_app

from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import Employee, Role
from training_tracker.services import accounts, catalog, roles

bp = Blueprint("cli", __name__, cli_group=None)


@bp.cli.group("catalog")
def catalog_group() -> None:
    """The course catalogue, from the provider plugins."""


@catalog_group.command("sync")
def catalog_sync() -> None:
    """Load the provider plugins' courses into the database (idempotent)."""
    report = catalog.sync_catalog(db.session, catalog.providers_from_config())
    db.session.commit()
    for label, keys in (
        ("created", report.created),
        ("updated", report.updated),
        ("retired", report.retired),
        ("deleted", report.deleted),
    ):
        for key in keys:
            click.echo(f"{label}: {key}")
    click.echo(
        f"{len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.retired)} retired, "
        f"{len(report.deleted)} deleted"
    )


@catalog_group.command("list")
def catalog_list() -> None:
    """Print the catalogue."""
    for course in catalog.list_courses(db.session):
        validity = f"{course.validity_months} mån" if course.validity_months else "-"
        click.echo(
            f"{course.provider.key}\t{course.key}\t{course.status.value}\t"
            f"{validity}\t{course.title}\t{course.url}"
        )


@bp.cli.group("users")
def users_group() -> None:
    """Accounts."""


@users_group.command("create-admin")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--first-name", default="Admin")
@click.option("--last-name", default="Administratör")
def create_admin(email: str, password_stdin: bool, first_name: str, last_name: str) -> None:
    """Create an admin account (or make an existing account admin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    email = accounts.normalise_email(email)
    problems = accounts.password_problems(password, email=email)
    if problems:
        raise click.ClickException(problems[0])
    employee = db.session.scalars(sa.select(Employee).where(Employee.email == email)).first()
    if employee is None:
        employee = Employee(email=email, first_name=first_name, last_name=last_name)
        db.session.add(employee)
        db.session.flush()
    accounts.set_password(db.session, employee, password, actor=None, reason="create-admin")
    roles.grant_role(db.session, actor=None, employee=employee, role=Role.ADMIN)
    db.session.commit()
    click.echo(f"admin\t{email}")


@bp.cli.group("demo")
def demo_group() -> None:
    """Synthetic demo data."""


@demo_group.command("seed")
@click.option("--employees", default=600, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--password", default=None, help="Password of every demo account.")
@click.option("--today", default=None, help="Pretend today is YYYY-MM-DD (for repeatable data).")
def demo_seed(employees: int, seed: int, password: str | None, today: str | None) -> None:
    """Create the six municipalities with units, staff, rules, completions and one demo
    account per role (printed as ROLE<TAB>E-MAIL)."""
    from training_tracker.services import demo

    if password is None:
        password = secrets.token_urlsafe(12)
        click.echo(f"password\t{password}", err=True)
    elif problems := accounts.password_problems(password):
        raise click.ClickException(problems[0])
    try:
        result = demo.seed_demo(
            db.session,
            employees=employees,
            seed=seed,
            password=password,
            today=date.fromisoformat(today) if today else clock.today(),
        )
    except demo.DemoError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    for role, email in result.accounts:
        click.echo(f"{role}\t{email}")
    click.echo(
        f"{result.employees} employees in 6 municipalities; sign in at "
        f"{current_app.config['BASE_URL']}",
        err=True,
    )
