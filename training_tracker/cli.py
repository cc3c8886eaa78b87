"""Operator commands (``flask --app wsgi …``). Names are stable: scripts depend on them."""

from __future__ import annotations

import secrets
import sys
from datetime import date, datetime
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Blueprint, current_app

from training_tracker import clock
from training_tracker.extensions import db
from training_tracker.models import Employee, Municipality, Role
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


@bp.cli.group("employees")
def employees_group() -> None:
    """Staff: imports from the HR system, leavers."""


@employees_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--municipality",
    "municipality_name",
    default=None,
    help="Municipality (name or kommunkod) for rows without one.",
)
@click.option("--dry-run", is_flag=True, help="Show what would happen; write nothing.")
@click.option(
    "--create-units",
    is_flag=True,
    help="Create units the file names but the database lacks (with the file's sector).",
)
@click.option("--hold-invitations", is_flag=True, help="Do not queue welcome mails.")
def employees_import(
    file: Path,
    municipality_name: str | None,
    dry_run: bool,
    create_units: bool,
    hold_invitations: bool,
) -> None:
    """Import a CSV or XLSX export (Swedish or English headers). Prints a summary and every
    rejected row; exits with status 1 when rows were rejected (the others are imported), 2
    when the file cannot be read."""
    from training_tracker.services import employee_import

    municipality_id = None
    if municipality_name:
        municipality_id = db.session.scalar(
            sa.select(Municipality.id).where(
                sa.or_(
                    sa.func.lower(Municipality.name) == municipality_name.strip().lower(),
                    Municipality.code == municipality_name.strip(),
                )
            )
        )
        if municipality_id is None:
            raise click.ClickException(f"unknown municipality: {municipality_name}")
    data = file.read_bytes()
    policy = (
        employee_import.UnknownUnits.CREATE if create_units else employee_import.UnknownUnits.REJECT
    )
    try:
        parsed = employee_import.parse_employee_file(
            data, file.name, max_rows=current_app.config["IMPORT_MAX_ROWS"]
        )
    except employee_import.ImportFileError as error:
        click.echo(f"{file.name}: {error}", err=True)
        sys.exit(2)
    plan = employee_import.plan_import(
        db.session,
        parsed,
        user=None,
        default_municipality_id=municipality_id,
        unknown_units=policy,
    )
    if not dry_run:
        result = employee_import.apply_import(
            db.session, plan, actor=None, invite=not hold_invitations
        )
        db.session.commit()
    else:
        db.session.rollback()
    summary = plan.summary()
    click.echo(
        f"{summary['rows']} rows: {summary['created']} created, {summary['updated']} updated, "
        f"{summary['unchanged']} unchanged, {summary['rejected']} rejected"
        + (" (dry run: nothing written)" if dry_run else "")
    )
    if plan.new_units:
        names = ", ".join(f"{u.municipality_name}/{u.name}" for u in plan.new_units[:20])
        more = f" and {len(plan.new_units) - 20} more" if len(plan.new_units) > 20 else ""
        action = (
            "created"
            if create_units and not dry_run
            else ("to be created" if create_units else "rows rejected; --create-units creates them")
        )
        click.echo(f"{len(plan.new_units)} unknown units ({action}): {names}{more}")
    if not dry_run:
        click.echo(
            f"assignments: {result.assignments.created} created, "
            f"{result.assignments.updated} updated, {result.assignments.closed} closed; "
            f"{result.invitations} invitations queued"
        )
    for problem in plan.problems:
        click.echo(
            f"line {problem.line}: {problem.column or '-'}: {problem.value!r}: {problem.message}"
        )
    for warning in plan.warnings:
        click.echo(
            f"line {warning.line}: {warning.column or '-'}: {warning.value!r}: "
            f"{warning.message} (warning)"
        )
    if plan.rejected:
        sys.exit(1)


@employees_group.command("deactivate-leavers")
@click.option("--today", default=None, help="Pretend today is YYYY-MM-DD.")
def deactivate_leavers(today: str | None) -> None:
    """Deactivate everyone whose end date has come (the scheduler runs this nightly)."""
    from training_tracker.services import employees

    count = employees.deactivate_leavers(
        db.session, today=date.fromisoformat(today) if today else clock.today()
    )
    db.session.commit()
    click.echo(f"{count} deactivated")


@bp.cli.group("reminders")
def reminders_group() -> None:
    """Reminders, digests and the mail outbox."""


@reminders_group.command("run")
@click.option(
    "--today",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Plan for YYYY-MM-DD instead of today.",
)
def reminders_run(day: datetime | None) -> None:
    """Plan and queue what is due today (reminders, escalations, expiry notices, the weekly
    digests), then deliver the outbox. Prints the reminders per step and what was sent.

    Exits with status 1 when a message failed for good (the mail server refused it, or it ran
    out of attempts): an operator must look at it. Messages the mail server could not take now
    stay queued and are retried; they do not change the exit status."""
    from training_tracker.scheduler import describe_delivery
    from training_tracker.services import reminders

    today = day.date() if day else clock.today()
    plan, delivery = reminders.run_reminders(db.session, today=today)
    if plan.working_day:
        click.echo(f"{today}: working day")
        for step, queued in plan.queued.items():
            click.echo(f"{step}\t{queued}")
        mails = plan.mails + plan.queued.get("digest", 0)
        click.echo(f"{plan.total} reminders queued in {mails} mails")
    else:
        click.echo(f"{today}: not a working day (weekend or public holiday), nothing planned")
    click.echo(f"outbox: {describe_delivery(delivery)}")
    for error in delivery.errors:
        click.echo(error, err=True)
    if delivery.failed:
        sys.exit(1)


@bp.cli.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler in the foreground until Ctrl+C or SIGTERM: the daily reminders, the
    weekly digests and the outbox delivery (see training_tracker/scheduler.py). One process
    is enough; a second one started by mistake sends nothing twice."""
    from training_tracker.scheduler import run_scheduler

    run_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]
