"""Import batches keep the cells read from the uploaded file (JSON), so the preview and the
confirmation never read the file again. Batches uploaded before have none: their preview asks
for the file again.

Revision ID: 5b9e3c1d7a42
Revises: c4d8e2a6f0b1
Create Date: 2026-11-27 09:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "5b9e3c1d7a42"
down_revision = "c4d8e2a6f0b1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_batches") as batch_op:
        batch_op.add_column(sa.Column("cells", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("import_batches") as batch_op:
        batch_op.drop_column("cells")
