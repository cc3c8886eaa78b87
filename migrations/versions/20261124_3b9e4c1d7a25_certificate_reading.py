"""Each certificate keeps what its reading found (name, course, date matched or not), so the
verification queue shows it without opening the files again.

Revision ID: 3b9e4c1d7a25
Revises: d0762e0f3292
Create Date: 2026-11-24 01:20:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "3b9e4c1d7a25"
down_revision = "d0762e0f3292"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reading", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_column("reading")
