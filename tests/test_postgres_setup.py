"""PostgreSQL without Docker: the rendered README's commands set up an existing server.

The project is named `PG Svc …` on purpose: its package, `pg_svc_…`, starts with `pg_`, and
PostgreSQL reserves the role names that do (the template derives another, `svc_pg_svc_…`).
"""

import re
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from suite import TEMPLATE, TEST_DATABASE_URL, CopierCli, run, subprocess_env


def readme_block(readme: str, after: str) -> str:
    """The first console block after a phrase of the README."""
    match = re.search(r"```console\n(.+?)\n```", readme.split(after, 1)[1], re.DOTALL)
    assert match is not None, f"no console block after {after!r}"
    return match.group(1)


@pytest.mark.xdist_group("postgres-without-docker")
def test_the_readme_sets_postgres_up_on_a_server_without_docker(
    copier_cli: CopierCli, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    project = tmp_path / "svc"
    data = ["--data", f"project_name=PG Svc {suffix}", "--data", "user_storage=postgres"]
    copied = copier_cli(
        "copy", "--defaults", "--vcs-ref", "HEAD", *data, str(TEMPLATE), str(project)
    )
    assert copied.returncode == 0, copied.stderr
    role = f"svc_pg_svc_{suffix}"
    assert f"DATABASE_URL=postgresql://{role}:" in (project / ".env").read_text()
    slug = f"pg-svc-{suffix}"

    server = urlsplit(TEST_DATABASE_URL)
    env = {**subprocess_env(), "PGHOST": server.hostname or "", "PGPORT": str(server.port or 5432)}
    setup = readme_block((project / "README.md").read_text(), "**Without containers**")
    try:
        result = run(["bash", "-c", f"set -e\n{setup}"], project, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        synced = run(["uv", "sync", "--python", sys.executable, "--quiet"], project)
        assert synced.returncode == 0, synced.stderr
        migrated = run(["uv", "run", "--no-sync", slug, "migrate"], project)
        assert migrated.returncode == 0, migrated.stderr
        assert migrated.stdout.startswith("Created the database schema")
        create_user = f"uv run --no-sync {slug} create-user alice --password-stdin"
        created = run(["bash", "-c", f"printf '%s' 'a passphrase' | {create_user}"], project)
        assert created.returncode == 0, created.stderr
    finally:
        with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{role}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')
