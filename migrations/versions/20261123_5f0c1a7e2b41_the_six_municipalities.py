"""the six municipalities

Revision ID: 5f0c1a7e2b41
Revises: 95b2fd2dc879
Create Date: 2026-11-23 07:20:00

Reference data every installation needs: the six municipalities with their kommunkod.
"""

import sqlalchemy as sa
from alembic import op

revision = "5f0c1a7e2b41"
down_revision = "95b2fd2dc879"
branch_labels = None
depends_on = None

# A copy, not an import: a migration must keep doing what it did when the app code changes.
SIX = [
    ("0114", "Upplands Väsby"),
    ("0123", "Järfälla"),
    ("0139", "Upplands-Bro"),
    ("0163", "Sollentuna"),
    ("0183", "Sundbyberg"),
    ("0191", "Sigtuna"),
]

municipalities = sa.table(
    "municipalities",
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("count_reported_in_coverage", sa.Boolean),
    sa.column("retention_months", sa.Integer),
)


def upgrade():
    connection = op.get_bind()
    existing = set(connection.execute(sa.select(municipalities.c.code)).scalars())
    rows = [
        {"code": code, "name": name, "count_reported_in_coverage": True, "retention_months": 24}
        for code, name in SIX
        if code not in existing
    ]
    if rows:
        op.bulk_insert(municipalities, rows)


def downgrade():
    op.execute(
        municipalities.delete().where(municipalities.c.code.in_([code for code, _ in SIX]))
    )
