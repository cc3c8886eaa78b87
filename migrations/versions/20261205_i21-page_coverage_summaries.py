"""Coverage summaries: a read of the whole population (the trend, or the table by
municipality, sector or unit, of one filter variant) summed from every unit's cached rows,
with the units' count, ids and change counts it was fresh for. No foreign keys, like the
rest of the cache.

Revision ID: b8d4f0a2c6e1
Revises: a7c3e9d1f4b2
Create Date: 2026-12-05 12:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b8d4f0a2c6e1'
down_revision = 'a7c3e9d1f4b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "coverage_summaries",
        sa.Column("read_key", sa.String(length=200), nullable=False),
        sa.Column("computed_for", sa.Date(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("unit_ids", sa.BigInteger(), nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("read_key", name=op.f("pk_coverage_summaries")),
    )


def downgrade():
    op.drop_table("coverage_summaries")
