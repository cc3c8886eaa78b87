"""The coverage cache's fill requests: variants a reader asked for while too many of their rows
were stale to compute during the request; the scheduler's fill job computes them.

Revision ID: c4f2a9e61d07
Revises: 7a3c9e1b5d28
Create Date: 2026-12-05 06:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4f2a9e61d07'
down_revision = "7a3c9e1b5d28"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('coverage_fill_requests',
    sa.Column('variant', sa.String(length=60), nullable=False),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('variant', name=op.f('pk_coverage_fill_requests'))
    )


def downgrade():
    op.drop_table('coverage_fill_requests')
