"""Coverage cache by date: a unit's cached numbers are those of one report date (``as_of``),
so the report's monthly trend and past dates are summed from the cache too. A date's numbers
are fixed once it is past (they no longer depend on who is active today), so the rows of past
dates stay fresh until the unit changes; ``valid_until`` is no longer needed. The unit's
totals over all courses (``required``, ``covered``) are kept on its row, so that the trend
sums one row per unit and date.

The two tables only hold a cache, which is refilled on demand: they are dropped and created
again with the new key (variant, date, unit: the order the reads select by).

Revision ID: c4d8e2a6f0b1
Revises: a7c3e5f1b9d2
Create Date: 2026-11-26 07:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "c4d8e2a6f0b1"
down_revision = "a7c3e5f1b9d2"
branch_labels = None
depends_on = None

_COUNTS = ("required", "verified", "reported", "covered", "overdue", "exempt")


def upgrade():
    op.drop_table("coverage_unit_cells")
    op.drop_table("coverage_unit_cache")
    op.create_table(
        "coverage_unit_cache",
        sa.Column("variant", sa.String(length=60), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("unit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("computed_for", sa.Date(), nullable=False),
        sa.Column("changes_seen", sa.BigInteger(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("fully_trained", sa.Integer(), nullable=False),
        sa.Column("exempt_people", sa.Integer(), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("covered", sa.Integer(), nullable=False),
        sa.Column("counts_reported_min", sa.SmallInteger(), nullable=True),
        sa.Column("counts_reported_max", sa.SmallInteger(), nullable=True),
        sa.PrimaryKeyConstraint("variant", "as_of", "unit_id", name=op.f("pk_coverage_unit_cache")),
    )
    op.create_table(
        "coverage_unit_cells",
        sa.Column("variant", sa.String(length=60), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("unit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("course_id", sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _COUNTS),
        sa.PrimaryKeyConstraint(
            "variant", "as_of", "unit_id", "course_id", name=op.f("pk_coverage_unit_cells")
        ),
    )


def downgrade():
    op.drop_table("coverage_unit_cells")
    op.drop_table("coverage_unit_cache")
    op.create_table(
        "coverage_unit_cache",
        sa.Column("unit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("variant", sa.String(length=60), nullable=False),
        sa.Column("computed_for", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("changes_seen", sa.BigInteger(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("fully_trained", sa.Integer(), nullable=False),
        sa.Column("exempt_people", sa.Integer(), nullable=False),
        sa.Column("counts_reported_min", sa.SmallInteger(), nullable=True),
        sa.Column("counts_reported_max", sa.SmallInteger(), nullable=True),
        sa.PrimaryKeyConstraint("unit_id", "variant", name=op.f("pk_coverage_unit_cache")),
    )
    op.create_table(
        "coverage_unit_cells",
        sa.Column("unit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("variant", sa.String(length=60), nullable=False),
        sa.Column("course_id", sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _COUNTS),
        sa.PrimaryKeyConstraint(
            "unit_id", "variant", "course_id", name=op.f("pk_coverage_unit_cells")
        ),
    )
