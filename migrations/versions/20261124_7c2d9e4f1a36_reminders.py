"""Reminders: each municipality's schedule, the ledger that makes every reminder go out once,
and a manager's choice to switch off the weekly digest.

Revision ID: 7c2d9e4f1a36
Revises: 3b9e4c1d7a25
Create Date: 2026-11-24 02:05:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "7c2d9e4f1a36"
down_revision = "3b9e4c1d7a25"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reminder_policies",
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("first_after_days", sa.Integer(), server_default="14", nullable=False),
        sa.Column("before_due_days", sa.Integer(), server_default="7", nullable=False),
        sa.Column("on_due_date", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("overdue_every_days", sa.Integer(), server_default="14", nullable=False),
        sa.Column("overdue_times", sa.Integer(), server_default="3", nullable=False),
        sa.Column("escalate_after_days", sa.Integer(), server_default="7", nullable=False),
        sa.Column("expiry_before_days", sa.Integer(), server_default="30", nullable=False),
        sa.Column("weekly_digest", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_reminder_policies_municipality_id_municipalities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["employees.id"],
            name=op.f("fk_reminder_policies_updated_by_id_employees"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("municipality_id", name=op.f("pk_reminder_policies")),
    )
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("cycle", sa.Date(), nullable=False),
        sa.Column("sequence", sa.Integer(), server_default="0", nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("batch_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_reminders_assignment_id_assignments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["employees.id"],
            name=op.f("fk_reminders_recipient_id_employees"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint(
            "assignment_id",
            "step",
            "cycle",
            "sequence",
            "recipient_id",
            name=op.f("uq_reminders_assignment_id_step_cycle_sequence_recipient_id"),
        ),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index("ix_reminders_batch_key", ["batch_key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_reminders_assignment_id"), ["assignment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reminders_recipient_id"), ["recipient_id"], unique=False
        )
    with op.batch_alter_table("employees", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("digest_opt_out", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("employees", schema=None) as batch_op:
        batch_op.drop_column("digest_opt_out")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminders_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_reminders_assignment_id"))
        batch_op.drop_index("ix_reminders_batch_key")
    op.drop_table("reminders")
    op.drop_table("reminder_policies")
