"""Browser sessions: a session may be named by a cookie, and records when it was last used.

A cookie session keeps the SHA-256 of its cookie (`cookie_hash`, unique; NULL for bearer
sessions). `last_used_at` lets the server end a cookie session after its idle timeout; sessions
that exist already take their start time. `client` and `user_agent` say where a login came from,
for the sessions list.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added in place, with defaults (no batch rebuild of the table), then filled in.
    op.add_column("sessions", sa.Column("cookie_hash", sa.String(64), nullable=True))
    op.add_column(
        "sessions", sa.Column("last_used_at", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column("sessions", sa.Column("client", sa.String(45), nullable=True))
    op.add_column("sessions", sa.Column("user_agent", sa.String(200), nullable=True))
    sessions = sa.table(
        "sessions", sa.column("started_at", sa.Integer), sa.column("last_used_at", sa.Integer)
    )
    op.get_bind().execute(sa.update(sessions).values(last_used_at=sessions.c.started_at))
    op.create_index("ix_sessions_cookie_hash", "sessions", ["cookie_hash"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_sessions_cookie_hash", table_name="sessions")
    op.drop_column("sessions", "user_agent")
    op.drop_column("sessions", "client")
    op.drop_column("sessions", "last_used_at")
    op.drop_column("sessions", "cookie_hash")
