"""SCIM 2.0 provisioning: the bearer tokens per municipality (stored hashed) and the link
between a directory's user (its externalId and userName) and an employee.

Revision ID: 9c1a5e7d3b20
Revises: 5b9e3c1d7a42
Create Date: 2026-12-05 02:28:13.698813

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9c1a5e7d3b20'
down_revision = '5b9e3c1d7a42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scim_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('hint', sa.String(length=20), nullable=False),
    sa.Column('hire_date_attribute', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('rotated_at', sa.DateTime(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['employees.id'], name=op.f('fk_scim_tokens_created_by_id_employees'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_scim_tokens_municipality_id_municipalities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_tokens')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_scim_tokens_secret_hash'))
    )
    with op.batch_alter_table('scim_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scim_tokens_municipality_id'), ['municipality_id'], unique=False)

    op.create_table('scim_links',
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('user_name', sa.String(length=254), nullable=False),
    sa.Column('user_name_key', sa.String(length=254), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('released_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_scim_links_employee_id_employees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_scim_links_municipality_id_municipalities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['token_id'], ['scim_tokens.id'], name=op.f('fk_scim_links_token_id_scim_tokens'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('employee_id', name=op.f('pk_scim_links')),
    sa.UniqueConstraint('municipality_id', 'external_id', name=op.f('uq_scim_links_municipality_id_external_id')),
    sa.UniqueConstraint('municipality_id', 'user_name_key', name=op.f('uq_scim_links_municipality_id_user_name_key'))
    )
    with op.batch_alter_table('scim_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scim_links_municipality_id'), ['municipality_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scim_links_token_id'), ['token_id'], unique=False)



def downgrade():
    with op.batch_alter_table('scim_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_links_token_id'))
        batch_op.drop_index(batch_op.f('ix_scim_links_municipality_id'))

    op.drop_table('scim_links')
    with op.batch_alter_table('scim_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_tokens_municipality_id'))

    op.drop_table('scim_tokens')
