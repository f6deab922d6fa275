"""Sessions and refresh tokens, and a stable subject for every user (security.md K1 to K9).

Tokens named users by their username, which a new account could take again: each user gets a
random `subject`, which tokens name them by from now on, and a `credentials_version`, which
a new password or disabling moves on, ending the sessions started before. Access tokens issued
before this revision name no session and are refused: everyone logs in again, once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NOT NULL with a default, then filled in: that way the column is added in place, where
    # rebuilding the table (batch mode) would lose the index on lower(username).
    op.add_column("users", sa.Column("subject", sa.String(32), nullable=False, server_default=""))
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("subject", sa.String))
    bind = op.get_bind()
    for (user_id,) in bind.execute(sa.select(users.c.id)).all():
        bind.execute(sa.update(users).where(users.c.id == user_id).values(subject=uuid.uuid4().hex))
    op.create_index("ix_users_subject", "users", ["subject"], unique=True)
    op.add_column(
        "users",
        sa.Column("credentials_version", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("subject", sa.String(32), nullable=False),
        sa.Column("scopes", sa.String(1000), nullable=False),
        sa.Column("started_at", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.Integer, nullable=False),
        sa.Column("credentials_version", sa.Integer, nullable=False),
    )
    op.create_index("ix_sessions_subject", "sessions", ["subject"])
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("spent", sa.Boolean, nullable=False),
    )
    op.create_index("ix_refresh_tokens_session_id", "refresh_tokens", ["session_id"])


def downgrade() -> None:
    op.drop_table("refresh_tokens")
    op.drop_table("sessions")
    op.drop_index("ix_users_subject", table_name="users")
    op.drop_column("users", "credentials_version")
    op.drop_column("users", "subject")
