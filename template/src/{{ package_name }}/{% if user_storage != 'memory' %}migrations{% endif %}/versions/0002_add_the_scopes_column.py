"""The users' scopes, for every service: NULL, for every user there was, means every scope.

Before this revision, 0001 created the column only in services rendered with OAuth2 scopes,
as NOT NULL: their databases keep their users' scopes, and the column may now be NULL too.

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
    with op.batch_alter_table("users") as batch:
        if "scopes" in columns:
            batch.alter_column("scopes", existing_type=sa.String(length=1000), nullable=True)
        else:
            batch.add_column(sa.Column("scopes", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("scopes")
