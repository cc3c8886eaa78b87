"""Operator commands (``flask --app wsgi …``). Names are stable: scripts depend on them."""

from __future__ import annotations

import csv
import io
import json
import secrets
import sys
from datetime import date, datetime
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Blueprint, current_app

from training_tracker import clock, schema_check
from training_tracker.demo import DemoError
from training_tracker.demo import seed as demo
from training_tracker.extensions import db
from training_tracker.models import Employee, Municipality, Role
from training_tracker.services.compliance import retention
from training_tracker.services.compliance.backup import BackupError, create_backup
from training_tracker.services.core.emails import normalise_email
from training_tracker.services.core.scope import ReportScope
from training_tracker.services.core.spreadsheets import neutralise
from training_tracker.services.people import accounts, roles
from training_tracker.services.people.municipalities import find_municipality
from training_tracker.services.programme import reminders as programme_reminders
from training_tracker.services.reporting import coverage, coverage_cache_store
from training_tracker.services.training import catalog, reminders

bp = Blueprint("cli", __name__, cli_group=None)


def municipality_named(name: str) -> Municipality:
    """The municipality an operator named (its name or kommunkod), or the command ends
    saying it is unknown."""
    found = find_municipality(db.session, name)
    if found is None:
        raise click.ClickException(f"unknown municipality: {name}")
    return found


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
    email = normalise_email(email)
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
    """Create municipalities with units, staff, rules, completions and one demo account per
    role (printed as ROLE<TAB>E-MAIL): the six, or from 40,000 employees Stockholm County and
    from 250,000 every municipality in Sweden. Progress goes to stderr."""

    if password is None:
        password = secrets.token_urlsafe(12)
        click.echo(f"password\t{password}", err=True)
    elif problems := accounts.password_problems(password):
        raise click.ClickException(problems[0])
    try:
        day = date.fromisoformat(today) if today else clock.today()
    except ValueError:
        raise click.BadParameter("write the date as YYYY-MM-DD", param_hint="--today") from None
    try:
        result = demo.seed_demo(
            db.session,
            employees=employees,
            seed=seed,
            password=password,
            today=day,
            progress=lambda message: click.echo(message, err=True),
        )
    except DemoError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    for role, email in result.accounts:
        click.echo(f"{role}\t{email}")
    click.echo(
        f"{result.employees} employees in {result.municipalities} municipalities; sign in at "
        f"{current_app.config['BASE_URL']}",
        err=True,
    )


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
    # Late: the web processes load this module, and must never import APScheduler.
    from training_tracker.scheduler import describe_delivery

    today = day.date() if day else clock.today()
    # The joint programme's day-before mails first, so the delivery below sends them too.
    programme_queued = programme_reminders.queue_day_before(db.session, today=today)
    db.session.commit()
    plan, delivery = reminders.run_reminders(db.session, today=today)
    if plan.working_day:
        click.echo(f"{today}: working day")
        for step, queued in plan.queued.items():
            click.echo(f"{step}\t{queued}")
        mails = plan.mails + plan.queued.get("digest", 0)
        click.echo(f"{plan.total} reminders queued in {mails} mails")
    else:
        click.echo(f"{today}: not a working day (weekend or public holiday), nothing planned")
    click.echo(f"programme\t{programme_queued} reminders of tomorrow's sessions queued")
    click.echo(f"outbox: {describe_delivery(delivery)}")
    for error in delivery.errors:
        click.echo(error, err=True)
    if delivery.failed:
        sys.exit(1)


@bp.cli.group("retention")
def retention_group() -> None:
    """Personal data of leavers, removed when their municipality's retention has run out."""


@retention_group.command("run")
@click.option(
    "--today",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Apply retention as on YYYY-MM-DD instead of today.",
)
@click.option("--dry-run", is_flag=True, help="Show what would happen; change nothing.")
def retention_run(day: datetime | None, dry_run: bool) -> None:
    """Anonymise the leavers whose end date plus their municipality's retention_months is
    today or earlier (the scheduler runs this nightly). Prints what was done (or, with
    --dry-run, would be done) in each municipality. Exits with status 1 when a certificate
    file could not be removed: an operator must remove it."""

    today = day.date() if day else clock.today()
    report = retention.apply_retention(db.session, today, dry_run=dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    click.echo(f"{today}: {'dry run, nothing changed' if dry_run else 'retention applied'}")
    for each in report.municipalities:
        if each.ended_on_or_before is None:
            click.echo(
                f"{each.name}\tretention_months={each.retention_months} is not valid, skipped"
            )
            continue
        click.echo(
            f"{each.name}\t{each.retention_months} months\t"
            f"ended on or before {each.ended_on_or_before}\t{each.describe()}"
        )
    click.echo(f"total: {retention.describe_counts(report.totals())}")
    click.echo(f"old HR export files emptied: {report.import_files}")
    click.echo(f"old failed-sign-in audit events deleted: {report.failed_login_events}")
    for error in report.file_errors:
        click.echo(f"certificate file not removed: {error}", err=True)
    if report.file_errors:
        sys.exit(1)


@bp.cli.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler in the foreground until Ctrl+C or SIGTERM: the nightly retention
    (anonymising leavers), the daily reminders, the weekly digests and the outbox delivery
    (see training_tracker/scheduler.py). One process is enough; a second one started by
    mistake sends nothing twice."""

    # Late: the web processes load this module, and must never import APScheduler.
    from training_tracker.scheduler import run_scheduler

    run_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]  # current_app is typed as the Flask it proxies


@bp.cli.group("reports")
def reports_group() -> None:
    """Coverage reports (the same numbers as the report pages)."""


@reports_group.command("warm-cache")
def reports_warm_cache() -> None:
    """Bring the coverage cache up to date (as the nightly job does): fold the change log,
    and recompute every unit whose cached numbers are stale, today's date having come."""

    report = coverage_cache_store.warm_cache(db.session)
    click.echo(coverage_cache_store.describe_warm(report))


def _percent_text(value: float | None, decimal: str = ".") -> str:
    return "" if value is None else f"{value:.1f}".replace(".", decimal)


@reports_group.command("coverage")
@click.option(
    "--municipality",
    "municipality_name",
    default=None,
    help="One municipality (name or kommunkod), by sector; all municipalities by default.",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The report date YYYY-MM-DD (today by default).",
)
@click.option(
    "--mode",
    type=click.Choice(["setting", "reported", "verified"]),
    default="setting",
    show_default=True,
    help="What counts as covered: each municipality's setting, or force one for all.",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="csv is ';'-separated UTF-8 with decimal commas, one row per group.",
)
def reports_coverage(
    municipality_name: str | None, as_of: datetime | None, mode: str, output: str
) -> None:
    """Print coverage per municipality and course (or, for one municipality, per sector):
    covered / required, verified and reported separately, overdue, exempt, fully trained."""

    def safe(value: object) -> object:
        """Text a spreadsheet could take for a formula is neutralised (ASVS 1.2.10)."""
        return neutralise(value) if isinstance(value, str) else value

    municipality = municipality_named(municipality_name) if municipality_name else None
    day = as_of.date() if as_of else None
    if day is not None and day > clock.today():
        raise click.ClickException("--as-of cannot be in the future")
    filters = coverage.CoverageFilters(
        as_of=day, municipality_id=municipality.id if municipality else None, mode=mode
    )
    everything = ReportScope(True, frozenset(), frozenset())  # the operator reads it all
    table = coverage.coverage_table(
        db.session, everything, filters, "sector" if municipality else "municipality"
    )
    rows = [*table.rows, table.total]
    total_label = "Total"

    def cells(row: coverage.CoverageRow) -> list[tuple[str, coverage.Cell]]:
        return [
            *((course.title, row.cell(course.id)) for course in table.courses),
            ("all required", row.all_required),
        ]

    def counting(value: bool | None) -> str:
        return {True: "reported", False: "verified", None: "mixed"}[value]

    def cell_json(cell: coverage.Cell) -> dict[str, object]:
        return {
            "required": cell.required,
            "covered": cell.covered,
            "percent": None if cell.percent is None else round(cell.percent, 1),
            "verified": cell.verified,
            "reported": cell.reported,
            "overdue": cell.overdue,
            "exempt": cell.exempt,
        }

    if output == "json":
        click.echo(
            json.dumps(
                {
                    "as_of": table.as_of.isoformat(),
                    "mode": table.mode,
                    "group_by": table.group_by,
                    "municipality": municipality.name if municipality else None,
                    "courses": [
                        {
                            "id": course.id,
                            "key": course.key,
                            "title": course.title,
                            "provider": course.provider_name,
                        }
                        for course in table.courses
                    ],
                    "rows": [
                        {
                            "key": row.key,
                            "label": row.label or total_label,
                            "people": row.people,
                            "fully_trained": row.fully_trained,
                            "exempt_people": row.exempt_people,
                            "counting": counting(row.counts_reported),
                            "courses": {
                                course.key: cell_json(row.cell(course.id))
                                for course in table.courses
                            },
                            "all_required": cell_json(row.all_required),
                        }
                        for row in rows
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if output == "csv":
        stream = io.StringIO()
        writer = csv.writer(stream, delimiter=";", lineterminator="\r\n")
        header = ["group", "people", "fully trained", "exempt people", "counting"]
        for title, _ in cells(table.total):
            header += [
                f"{title}: {name}"
                for name in (
                    "coverage %",
                    "covered",
                    "required",
                    "verified",
                    "reported",
                    "overdue",
                    "exempt",
                )
            ]
        writer.writerow([safe(value) for value in header])
        for row in rows:
            csv_row: list[object] = [
                row.label or total_label,
                row.people,
                row.fully_trained,
                row.exempt_people,
                counting(row.counts_reported),
            ]
            for _, cell in cells(row):
                csv_row += [
                    _percent_text(cell.percent, ","),
                    cell.covered,
                    cell.required,
                    cell.verified,
                    cell.reported,
                    cell.overdue,
                    cell.exempt,
                ]
            writer.writerow([safe(value) for value in csv_row])
        click.echo(stream.getvalue(), nl=False)
        return
    where = f"{municipality.name}, by sector" if municipality else "all municipalities"
    click.echo(f"Coverage as of {table.as_of.isoformat()}, {where}; counting: {table.mode}")
    click.echo(
        "Each cell: coverage % covered/required; verified + reported (awaiting verification);"
        " overdue; exempt"
    )
    for n, course in enumerate(table.courses, start=1):
        click.echo(f"  [{n}] {course.title} ({course.provider_name})")
    header = ["", "people", "fully trained"]
    header += [f"[{n}]" for n in range(1, len(table.courses) + 1)]
    lines = [[*header, "all required"]]
    for row in rows:
        lines.append(
            [row.label or total_label, str(row.people), str(row.fully_trained)]
            + [
                f"{_percent_text(cell.percent) + '%' if cell.required else '-':>6}"
                f" {cell.covered}/{cell.required}; {cell.verified}+{cell.reported};"
                f" {cell.overdue}; {cell.exempt}"
                for _, cell in cells(row)
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        click.echo(
            "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        )


@bp.cli.command("backup")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Back up the database and the uploaded certificates into a new folder under PATH,
    named training-tracker-backup-<UTC time>, with a manifest.json (time, schema revision,
    every file's SHA-256) and SHA256SUMS. Safe while the app is running; never overwrites.

    SQLite: an online copy (database.sqlite) made with SQLite's backup API.
    PostgreSQL: pg_dump --format=custom (database.dump, restore with pg_restore); pg_dump must
    be on PATH, else the command stops: back up with pg_dump or pg_basebackup yourself."""

    try:
        result = create_backup(
            db.engine, upload_folder=Path(current_app.config["UPLOAD_FOLDER"]), destination=path
        )
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    manifest = result.manifest
    uploaded = manifest["uploads"]["files"]
    click.echo(
        f"{result.path}: {manifest['database']['engine']} database "
        f"(revision {manifest['database']['schema_revision']}), "
        f"{uploaded} uploaded file{'' if uploaded == 1 else 's'}, "
        f"{manifest['file_count']} files in all"
    )


schema_check.guard(bp.cli)  # every command above refuses an unmigrated database
