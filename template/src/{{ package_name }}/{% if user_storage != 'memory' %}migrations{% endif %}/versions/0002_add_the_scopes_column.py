"""Add the users' scopes column, for every service.

Before this revision, 0001 created the column only in services rendered with OAuth2 scopes;
their databases keep it as it is.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    columns = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("users")}
    if "scopes" in columns:
        return
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("scopes", sa.String(length=1000), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("scopes")
