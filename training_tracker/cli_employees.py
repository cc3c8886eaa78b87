"""``flask --app wsgi employees import|deactivate-leavers``: staff from the HR system's export,
and leavers. Names are stable: the municipalities' scripts depend on them."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask import Blueprint, current_app

from training_tracker import clock, schema_check
from training_tracker.cli import municipality_named
from training_tracker.extensions import db
from training_tracker.services.imports.applying import apply_import
from training_tracker.services.imports.parsing import parse_employee_file
from training_tracker.services.imports.plan import UnknownUnits
from training_tracker.services.imports.planning import plan_import
from training_tracker.services.imports.table import ImportFileError
from training_tracker.services.people import employment

bp = Blueprint("employees_cli", __name__, cli_group=None)


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

    municipality_id = municipality_named(municipality_name).id if municipality_name else None
    data = file.read_bytes()
    policy = UnknownUnits.CREATE if create_units else UnknownUnits.REJECT
    try:
        parsed = parse_employee_file(
            data, file.name, max_rows=current_app.config["IMPORT_MAX_ROWS"]
        )
    except ImportFileError as error:
        click.echo(f"{file.name}: {error}", err=True)
        sys.exit(2)
    plan = plan_import(
        db.session,
        parsed,
        user=None,
        default_municipality_id=municipality_id,
        unknown_units=policy,
    )
    if not dry_run:
        result = apply_import(db.session, plan, actor=None, invite=not hold_invitations)
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
    for planned in plan.kept_rows:  # the directory's (SCIM) values stay; the file's are skipped
        click.echo(f"line {planned.row.line}: kept from the directory: {', '.join(planned.kept)}")
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

    count = employment.deactivate_leavers(
        db.session, today=date.fromisoformat(today) if today else clock.today()
    )
    db.session.commit()
    click.echo(f"{count} deactivated")


schema_check.guard(bp.cli)  # every employees command refuses an unmigrated database
