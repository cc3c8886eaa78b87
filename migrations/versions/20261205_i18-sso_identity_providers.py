"""Single sign-on: identity providers per municipality with their e-mail domains, the link
from a provider's subject to an enrolled person, and "requires SSO" per municipality.

Revision ID: 1d8a5c3e9f71
Revises: 9c1a5e7d3b20
Create Date: 2026-12-05 03:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "1d8a5c3e9f71"
down_revision = "9c1a5e7d3b20"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "identity_providers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("protocol", sa.String(length=10), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("client_secret_env", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_identity_providers_municipality_id_municipalities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_providers")),
    )
    op.create_index(
        op.f("ix_identity_providers_municipality_id"),
        "identity_providers",
        ["municipality_id"],
        unique=False,
    )
    op.create_table(
        "identity_provider_domains",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.CheckConstraint(
            "domain = lower(domain)", name=op.f("ck_identity_provider_domains_domain_lowercase")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["identity_providers.id"],
            name=op.f("fk_identity_provider_domains_provider_id_identity_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_provider_domains")),
        sa.UniqueConstraint("domain", name=op.f("uq_identity_provider_domains_domain")),
    )
    op.create_index(
        op.f("ix_identity_provider_domains_provider_id"),
        "identity_provider_domains",
        ["provider_id"],
        unique=False,
    )
    op.create_table(
        "sso_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.id"],
            name=op.f("fk_sso_links_employee_id_employees"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["identity_providers.id"],
            name=op.f("fk_sso_links_provider_id_identity_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_links")),
        sa.UniqueConstraint("provider_id", "subject", name=op.f("uq_sso_links_provider_id_subject")),
    )
    op.create_index(op.f("ix_sso_links_employee_id"), "sso_links", ["employee_id"], unique=False)
    op.create_index(op.f("ix_sso_links_provider_id"), "sso_links", ["provider_id"], unique=False)
    # A plain ADD COLUMN, not a batch: on SQLite a batch may copy the table, which drops the
    # coverage cache's trigger on municipalities (migration a7c3e5f1b9d2).
    op.add_column(
        "municipalities",
        sa.Column("sso_required", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade():
    op.drop_column("municipalities", "sso_required")  # SQLite 3.35+ drops a column in place
    op.drop_index(op.f("ix_sso_links_provider_id"), table_name="sso_links")
    op.drop_index(op.f("ix_sso_links_employee_id"), table_name="sso_links")
    op.drop_table("sso_links")
    op.drop_index(
        op.f("ix_identity_provider_domains_provider_id"), table_name="identity_provider_domains"
    )
    op.drop_table("identity_provider_domains")
    op.drop_index(op.f("ix_identity_providers_municipality_id"), table_name="identity_providers")
    op.drop_table("identity_providers")
