"""Completions: the index on (employee_id, course_id, completed_on) also carries, on PostgreSQL,
the columns the coverage report reads of each completion (status, reported, reviewed,
expires), so the report's per-assignment summary can read the completions in index order
without the table. SQLite keeps the plain index (it has no INCLUDE).

Revision ID: e5b1d7c3a902
Revises: c4f2a9e61d07
Create Date: 2026-12-05 09:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e5b1d7c3a902'
down_revision = 'c4f2a9e61d07'
branch_labels = None
depends_on = None

NAME = "ix_completions_employee_course_date"
KEYS = ["employee_id", "course_id", "completed_on"]
CARRIED = ["status", "reported_at", "reviewed_at", "expires_on"]


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(NAME, table_name="completions")
    op.create_index(NAME, "completions", KEYS, postgresql_include=CARRIED)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(NAME, table_name="completions")
    op.create_index(NAME, "completions", KEYS)
