"""The rendered tree of each variant: complete, clean, and nothing of the options not chosen."""

import json
import re
import shutil
import tomllib

import pytest
import yaml

from suite import RenderedProject, Renders, run
from variants import Variant, each_variant

QUESTIONS = {
    "project_name",
    "project_description",
    "project_slug",
    "package_name",
    "login_form",
    "optional_auth",
    "user_storage",
    "access_token_minutes",
    "oauth2_scopes",
}

COMMON_FILES = {
    ".copier-answers.yml",
    ".dockerignore",
    ".editorconfig",
    ".env",
    ".env.example",
    ".github/workflows/ci.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    "Dockerfile",
    "README.md",
    "SECURITY.md",
    "compose.dev.yaml",
    "compose.yaml",
    "pyproject.toml",
    "src/my_service/__init__.py",
    "src/my_service/access_log.py",
    "src/my_service/accounts/__init__.py",
    "src/my_service/accounts/errors.py",
    "src/my_service/accounts/login.py",
    "src/my_service/accounts/manage.py",
    "src/my_service/clients.py",
    "src/my_service/auth/__init__.py",
    "src/my_service/auth/passwords.py",
    "src/my_service/auth/scope_parameter.py",
    "src/my_service/auth/tokens.py",
    "src/my_service/browser.py",
    "src/my_service/cli.py",
    "src/my_service/config.py",
    "src/my_service/cookies.py",
    "src/my_service/dependencies.py",
    "src/my_service/errors.py",
    "src/my_service/main.py",
    "src/my_service/routes/__init__.py",
    "src/my_service/routes/health.py",
    "src/my_service/routes/token.py",
    "src/my_service/routes/token_request.py",
    "src/my_service/routes/revoke.py",
    "src/my_service/routes/session.py",
    "src/my_service/sessions/__init__.py",
    "src/my_service/sessions/store.py",
    "src/my_service/routes/users.py",
    "src/my_service/routes/admin.py",
    "src/my_service/scopes.py",
    "src/my_service/services.py",
    "src/my_service/storage.py",
    "src/my_service/throttle/__init__.py",
    "src/my_service/throttle/redis_store.py",
    "src/my_service/throttle/stores.py",
    "src/my_service/users/__init__.py",
    "src/my_service/users/models.py",
    "src/my_service/users/rules.py",
    "src/my_service/users/store.py",
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/fuzz_hooks.py",
    "tests/helpers.py",
    "tests/storage.py",
    "tests/test_access_tokens.py",
    "tests/test_app.py",
    "tests/test_browser_sessions.py",
    "tests/test_cli.py",
    "tests/test_config.py",
    "tests/test_fuzz.py",
    "tests/test_headers.py",
    "tests/test_interop.py",
    "tests/test_outages.py",
    "tests/test_passwords.py",
    "tests/test_admin.py",
    "tests/test_profile.py",
    "tests/test_protected_routes.py",
    "tests/test_docs.py",
    "tests/test_robustness.py",
    "tests/test_server.py",
    "tests/test_throttle.py",
    "tests/test_timing.py",
    "tests/test_token.py",
    "tests/test_user_store.py",
    "tests/test_sessions.py",
}

SQL_FILES = {
    "src/my_service/database.py",
    "src/my_service/dialect.py",
    "src/my_service/users/sql.py",
    "src/my_service/sessions/sql.py",
    "src/my_service/migrations/env.py",
    "src/my_service/migrations/script.py.mako",
    "src/my_service/migrations/versions/0001_create_the_users_table.py",
    "src/my_service/migrations/versions/0002_add_the_scopes_column.py",
    "src/my_service/migrations/versions/0003_usernames_unique_whatever_their_case.py",
    "src/my_service/migrations/versions/0004_sessions_and_stable_subjects.py",
    "src/my_service/migrations/versions/0005_browser_sessions.py",
    "src/my_service/migrations/versions/0006_administrators.py",
    "tests/test_migrations.py",
    "tests/test_stalled_database.py",
}


def expected_files(variant: Variant) -> set[str]:
    files = set(COMMON_FILES)
    if variant.optional_auth:
        files |= {"src/my_service/routes/items.py", "tests/test_items.py"}
    if variant.user_storage == "memory":
        files.add("src/my_service/users/memory.py")
        files.add("src/my_service/sessions/memory.py")
    else:
        files |= SQL_FILES
    if variant.user_storage == "sqlite":
        files.add("tests/test_database_file.py")
    if variant.user_storage == "postgres":
        files.add("tests/test_replicas.py")
    if variant.oauth2_scopes:
        files.add("tests/test_scopes.py")
    return files


def unchosen_words(variant: Variant) -> list[str]:
    """Words that belong only to the options this variant did not choose, anywhere in its tree.

    The files of an option not chosen are absent, so its names are too.
    """
    words = []
    if not variant.optional_auth:
        words += ["OptionalUser", "/items", "optional route", "optional-auth", "Optional-auth"]
    postgres = ["postgres", "PostgreSQL", "psycopg", "5432"]
    sqlite = ["SQLite", "sqlite", "WAL", "app-data"]
    if variant.user_storage == "memory":
        words += ["sqlalchemy", "SQLAlchemy", "DATABASE_URL", "alembic", "Alembic", "migrations"]
        words += postgres + sqlite
    else:
        words += ["MemoryUserStore", "in memory", "in-memory"]
        words += postgres if variant.user_storage == "sqlite" else sqlite
    if variant.login_form == "strict":
        words += [
            "OAuth2PasswordRequestForm ",
            "OAuth2PasswordRequestForm\n",
            "grant_type` may be omitted",
        ]
    else:
        words += ["OAuth2PasswordRequestFormStrict", "is required, as RFC"]
    return words


def unchosen_words_for_users(variant: Variant) -> list[str]:
    """Words of options not chosen that a user must not read: in the docs, OpenAPI, CLI help.

    The code has one shape for every answer of `oauth2_scopes`: without scopes it declares
    none (`scopes.py`), and says nothing about them to its users.
    """
    if variant.oauth2_scopes:
        return []
    return ["users:read", "items:read", "insufficient_scope", "FIRST_USER_SCOPES", "--scopes"]


USER_FACING_FILES = ["README.md", "SECURITY.md", ".env.example"]

USER_FACING_OUTPUT = """
import contextlib, io, json
from my_service.cli import parser
from my_service.main import create_app
texts = {"openapi.json": json.dumps(create_app().openapi())}
for command in ([], ["migrate"], ["create-user"]):
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.suppress(SystemExit):
        parser().parse_args([*command, "--help"])
    texts[" ".join(["my-service", *command, "--help"])] = output.getvalue()
print(json.dumps(texts))
"""
"""Prints what the rendered service shows its users besides its files: OpenAPI, CLI help."""


pytestmark = pytest.mark.parametrize("variant", each_variant())


def test_exactly_the_variant_files_are_rendered(render: Renders, variant: Variant) -> None:
    project = render(variant)

    rendered = {str(p.relative_to(project.path)) for p in project.files()}

    assert rendered == expected_files(variant)


def test_no_template_residue_and_no_empty_files(render: Renders, variant: Variant) -> None:
    project = render(variant)

    for path in project.files():
        text = path.read_text()
        assert text.strip(), f"{path} is empty"
        for residue in ["{{", "{%", "%}", "{#", "#}"]:
            # GitHub Actions expressions, ${{ ... }}, are meant to be there.
            unexpected = text.replace("${{", "") if residue == "{{" else text
            assert residue not in unexpected, f"{path} holds template residue {residue!r}"


def test_nothing_mentions_options_not_chosen(render: Renders, variant: Variant) -> None:
    project = render(variant)

    for path in project.files():
        if path.name == ".copier-answers.yml":
            continue
        text = path.read_text()
        for word in unchosen_words(variant):
            assert word not in text, f"{path.relative_to(project.path)} mentions {word!r}"


def test_users_read_nothing_of_options_not_chosen(render: Renders, variant: Variant) -> None:
    project = render(variant)
    result = project.uv_run("python", "-c", USER_FACING_OUTPUT)
    assert result.returncode == 0, result.stderr
    texts: dict[str, str] = json.loads(result.stdout)
    texts |= {name: (project.path / name).read_text() for name in USER_FACING_FILES}

    for name, text in texts.items():
        for word in unchosen_words_for_users(variant):
            assert word not in text, f"{name} mentions {word!r}"
    schemas = json.loads(texts["openapi.json"])["components"]["schemas"]
    assert ("scopes" in schemas["User"]["properties"]) == variant.oauth2_scopes
    assert ("scope" in schemas["TokenResponse"]["properties"]) == variant.oauth2_scopes
    operations = json.loads(texts["openapi.json"])["paths"].values()
    # 403s for a missing scope; those of the CSRF checks are in every variant.
    forbidden = [
        op
        for path in operations
        for op in path.values()
        if "scope" in op["responses"].get("403", {}).get("description", "")
    ]
    assert bool(forbidden) == variant.oauth2_scopes


def test_runtime_dependencies_are_those_the_variant_uses(render: Renders, variant: Variant) -> None:
    project = render(variant)

    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text())
    names = {re.split(r"[\[<>=]", dep)[0] for dep in pyproject["project"]["dependencies"]}

    assert ("sqlalchemy" in names) == (variant.user_storage != "memory")
    assert ("alembic" in names) == (variant.user_storage != "memory")
    assert ("psycopg" in names) == (variant.user_storage == "postgres")
    assert {"fastapi", "pyjwt", "pwdlib", "pydantic-settings", "python-multipart"} <= names
    assert pyproject["project"]["scripts"] == {"my-service": "my_service.cli:main"}
    assert pyproject["project"]["optional-dependencies"] == {"redis": ["redis>=5.2"]}


def test_answers_file_records_answers_and_no_secret(render: Renders, variant: Variant) -> None:
    project = render(variant)

    answers = yaml.safe_load((project.path / ".copier-answers.yml").read_text())
    secret = dotenv_secret(project)

    assert {key for key in answers if not key.startswith("_")} == QUESTIONS
    assert {"_commit", "_src_path"} <= set(answers)
    assert all(key.startswith("_") or key in QUESTIONS for key in answers)
    assert secret not in (project.path / ".copier-answers.yml").read_text()
    for key, value in variant.answers.items():
        assert answers[key] == value


def test_compose_runs_the_app_with_the_variant_storage(render: Renders, variant: Variant) -> None:
    project = render(variant)

    compose = yaml.safe_load((project.path / "compose.yaml").read_text())
    app = compose["services"]["app"]
    lines = (project.path / ".env").read_text().splitlines()
    dotenv = dict(line.split("=", 1) for line in lines if "=" in line)

    assert app["build"] == "."
    assert app["env_file"] == [{"path": ".env", "required": False}]
    assert app["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert "redis" in app["depends_on"]
    services = {"app", "redis"} | ({"postgres"} if variant.user_storage == "postgres" else set())
    assert set(compose["services"]) == services
    if variant.user_storage == "memory":
        assert "DATABASE_URL" not in app["environment"]
    elif variant.user_storage == "sqlite":
        assert app["environment"]["DATABASE_URL"] == "sqlite:////data/my_service.db"
        assert app["volumes"] == ["app-data:/data"]
    else:
        environment = compose["services"]["postgres"]["environment"]
        user, database = environment["POSTGRES_USER"], environment["POSTGRES_DB"]
        password = dotenv["POSTGRES_PASSWORD"]
        assert environment["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")
        assert len(password) == 32
        assert dotenv["DATABASE_URL"] == (
            f"postgresql://{user}:{password}@127.0.0.1:5432/{database}"
        )
        assert app["environment"]["DATABASE_URL"] == (
            f"postgresql://{user}:${{POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}}"
            f"@postgres:5432/{database}"
        )
        assert password not in (project.path / ".copier-answers.yml").read_text()
    published = {name for name, service in compose["services"].items() if "ports" in service}
    assert published == {"app"}, "only the app is published on the host"
    development = yaml.safe_load((project.path / "compose.dev.yaml").read_text())["services"]
    assert development["redis"]["ports"] == ["127.0.0.1:6379:6379"]
    if variant.user_storage == "postgres":
        assert development["postgres"]["ports"] == ["127.0.0.1:5432:5432"]
    for name, service in development.items():
        assert service["extends"] == {"file": "compose.yaml", "service": name}


def test_the_readme_sets_every_variable_its_commands_use(render: Renders, variant: Variant) -> None:
    readme = (render(variant).path / "README.md").read_text()

    for block in re.findall(r"```console\n(.+?)```", readme, re.DOTALL):
        for variable in set(re.findall(r"\$([A-Z_]+)", block)):
            assigned = re.search(rf"^(set -a && \. \./\.env|{variable}=)", block, re.MULTILINE)
            assert assigned, f"a README command uses ${variable} without setting it:\n{block}"


def test_every_image_name_is_fully_qualified(render: Renders, variant: Variant) -> None:
    """podman refuses short names such as `redis:8`: every image names its registry."""
    project = render(variant)
    dockerfile = (project.path / "Dockerfile").read_text()
    compose = yaml.safe_load((project.path / "compose.yaml").read_text())

    images = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    images += [service["image"] for service in compose["services"].values() if "image" in service]

    assert len(images) >= 3
    for image in images:
        registry, _, name = image.partition("/")
        assert name, f"{image} does not name its registry"
        assert "." in registry, f"{image} does not name its registry"


def test_the_readme_runs_the_image_with_what_the_storage_needs(
    render: Renders, variant: Variant
) -> None:
    """`docker run --env-file .env` as the README shows it works for the variant's storage.

    SQLite: the database is on a volume at /data, which `.env.example` does not point away
    from. PostgreSQL: the container gets a DATABASE_URL it can reach (not 127.0.0.1).
    """
    project = render(variant)
    example = (project.path / ".env.example").read_text()
    readme = (project.path / "README.md").read_text()
    dockerfile = (project.path / "Dockerfile").read_text()
    run_lines = [line for line in readme.splitlines() if line.startswith("docker run ")]

    assert len(run_lines) == 1, "the README shows how to run the image"
    assert "--env-file .env" in run_lines[0]
    assert not re.search(r"^DATABASE_URL=sqlite", example, re.MULTILINE)
    assert (":/data" in run_lines[0]) == (variant.user_storage == "sqlite")
    assert ("-e DATABASE_URL=" in run_lines[0]) == (variant.user_storage == "postgres")
    if variant.user_storage == "sqlite":
        assert "DATABASE_URL=sqlite:////data/my_service.db" in dockerfile


def test_dotenv_has_a_fresh_secret_and_git_ignores_it(render: Renders, variant: Variant) -> None:
    project = render(variant)

    secret = dotenv_secret(project)

    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    tracked_elsewhere = [p for p in project.files() if p.name != ".env" and secret in p.read_text()]
    assert tracked_elsewhere == []
    run(["git", "init", "-q"], project.path)
    for private in [".env", "my_service.db", "my_service.db-wal", ".venv/"]:
        ignored = run(["git", "check-ignore", "-q", private], project.path)
        assert ignored.returncode == 0, f"{private} is not ignored by git"
    shutil.rmtree(project.path / ".git")


def dotenv_secret(project: RenderedProject) -> str:
    lines = (project.path / ".env").read_text().splitlines()
    values = [line.removeprefix("SECRET_KEY=") for line in lines if line.startswith("SECRET_KEY=")]
    assert len(values) == 1
    return values[0]
