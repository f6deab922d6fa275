"""Usernames are unique whatever their case: `Alice` is `alice` (security.md H8).

A unique index on lower(username), which logins look users up by. A database that already
holds names differing only in case is not changed: the upgrade stops and names them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLASHES = sa.text(
    "SELECT username FROM users WHERE lower(username) IN "
    "(SELECT lower(username) FROM users GROUP BY lower(username) HAVING count(*) > 1) "
    "ORDER BY lower(username), username"
)


RENAME_HINT = "In SQL: UPDATE users SET username = 'new-name' WHERE username = 'old-name';"


def upgrade() -> None:
    clashes = [row.username for row in op.get_bind().execute(CLASHES)]
    if clashes:
        raise CommandError(
            "usernames must now be unique whatever their case, and these differ only in case: "
            + ", ".join(clashes)
            + ". Rename or delete all but one of each, then migrate again. "
            + RENAME_HINT
        )
    op.create_index("ix_users_username_lower", "users", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index("ix_users_username_lower", table_name="users")
