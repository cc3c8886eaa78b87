"""SAML 2.0 identity providers: the provider's metadata and endpoints, the subject attribute,
our own signing key per provider, and the replay cache of assertion ids.

Revision ID: 7a3c9e1b5d28
Revises: 5fc1b08450a0
Create Date: 2026-12-05 06:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "7a3c9e1b5d28"
down_revision = "5fc1b08450a0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("identity_providers") as batch:
        batch.add_column(sa.Column("saml_metadata", sa.Text(), nullable=True))
        batch.add_column(sa.Column("saml_metadata_source", sa.String(length=1000), nullable=True))
        batch.add_column(sa.Column("saml_sso_url", sa.String(length=1000), nullable=True))
        batch.add_column(sa.Column("saml_slo_url", sa.String(length=1000), nullable=True))
        batch.add_column(sa.Column("saml_subject_attribute", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("saml_sp_key_encrypted", sa.Text(), nullable=True))
        batch.add_column(sa.Column("saml_sp_certificate", sa.Text(), nullable=True))
    op.create_table(
        "saml_seen_assertions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("assertion_id", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["identity_providers.id"],
            name=op.f("fk_saml_seen_assertions_provider_id_identity_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saml_seen_assertions")),
        sa.UniqueConstraint(
            "provider_id",
            "assertion_id",
            name=op.f("uq_saml_seen_assertions_provider_id_assertion_id"),
        ),
    )
    op.create_index(
        op.f("ix_saml_seen_assertions_expires_at"),
        "saml_seen_assertions",
        ["expires_at"],
        unique=False,
    )


def downgrade():
    op.drop_index(op.f("ix_saml_seen_assertions_expires_at"), table_name="saml_seen_assertions")
    op.drop_table("saml_seen_assertions")
    with op.batch_alter_table("identity_providers") as batch:
        batch.drop_column("saml_sp_certificate")
        batch.drop_column("saml_sp_key_encrypted")
        batch.drop_column("saml_subject_attribute")
        batch.drop_column("saml_slo_url")
        batch.drop_column("saml_sso_url")
        batch.drop_column("saml_metadata_source")
        batch.drop_column("saml_metadata")
