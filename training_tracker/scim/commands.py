"""``flask --app wsgi scim token create|list|revoke``: the directories' tokens, for operators.

``create`` prints the token once, on its last line, so a script can take it with ``tail -1``.
"""

from __future__ import annotations

import click

from training_tracker import schema_check
from training_tracker.extensions import db
from training_tracker.scim.routes import bp
from training_tracker.services.people.municipalities import find_municipality
from training_tracker.services.people.scim import tokens
from training_tracker.services.people.scim.attributes import HIRE_DATE_ATTRIBUTES
from training_tracker.transactions import committing


@bp.cli.group("token")
def token_group() -> None:
    """Bearer tokens of the SCIM endpoint (/scim/v2/), one or more per municipality."""


@token_group.command("create")
@click.option("--municipality", "municipality_name", required=True, help="Name or kommunkod.")
@click.option("--label", default="", help="What the token is for, e.g. 'Entra ID'.")
@click.option(
    "--hire-date-attribute",
    type=click.Choice([*HIRE_DATE_ATTRIBUTES, "none"]),
    default="employeeHireDate",
    show_default=True,
    help="The enterprise extension's attribute that carries the hire date.",
)
def token_create(municipality_name: str, label: str, hire_date_attribute: str) -> None:
    """Create a token; it is printed once, on the last line, and never shown again."""
    municipality = find_municipality(db.session, municipality_name)
    if municipality is None:
        raise click.ClickException(f"unknown municipality: {municipality_name}")
    with committing(errors=()):
        try:
            token, secret = tokens.create_token(
                db.session,
                municipality,
                label=label or "SCIM",
                actor=None,
                hire_date_attribute=None if hire_date_attribute == "none" else hire_date_attribute,
            )
        except tokens.TokenError as error:
            raise click.ClickException(str(error)) from error
        token_id, name = token.id, municipality.name
    click.echo(f"Token {token_id} for {name}. Keep it now: it cannot be shown again.")
    click.echo(secret)


@token_group.command("list")
def token_list() -> None:
    """Every token: id, municipality, label, start of the token, created, last used, state."""
    for token in tokens.list_tokens(db.session):
        state = "revoked" if token.revoked_at else "active"
        used = token.last_used_at.isoformat(timespec="minutes") if token.last_used_at else "-"
        click.echo(
            "\t".join(
                [
                    str(token.id),
                    token.municipality.name,
                    token.label,
                    f"{token.hint}…",
                    token.created_at.isoformat(timespec="minutes"),
                    used,
                    state,
                ]
            )
        )


@token_group.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token: the directory's next request is refused."""
    with committing(errors=()):
        token = tokens.get_token(db.session, token_id)
        if token is None:
            raise click.ClickException(f"no token {token_id}")
        revoked = tokens.revoke_token(db.session, token, actor=None)
    click.echo(f"Token {token_id} " + ("revoked." if revoked else "was revoked already."))


schema_check.guard(bp.cli)  # every command above refuses an unmigrated database
