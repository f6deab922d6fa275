"""`copier update` for real: a template repository with two tagged versions, and projects
rendered at the older one, edited by their users, then updated to the newer one.

0.2.0 is the current tree. 0.1.0 is derived from it: it lacks `tests/test_timing.py` (so an
update must add it), has an `OLD_NOTES.md` (which the update must remove), and an older README
line (which the update changes: a user who edited that line gets a visible conflict).
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from suite import (
    GIT_IDENTITY,
    TEMPLATE,
    RenderedProject,
    Renders,
    run,
    service_environment,
    subprocess_env,
)
from variants import Variant

OLD, NEW = "0.1.0", "0.2.0"
README_LINE = "A FastAPI service with OAuth2 password login and bearer tokens:"
OLD_README_LINE = "A FastAPI service with password login and bearer tokens:"


def git(cwd: Path, *args: str) -> str:
    result = run(["git", *args], cwd, env={**subprocess_env(), **GIT_IDENTITY})
    assert result.returncode == 0, result.stderr
    return result.stdout


def copier(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The copier command line as users run it: no --trust."""
    return run([sys.executable, "-m", "copier", *args], cwd)


@pytest.fixture(scope="module")
def template_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repository = tmp_path_factory.mktemp("template-repository")
    git(repository, "init", "-q", "-b", "main")

    def snapshot() -> None:
        for name in ["copier.yml", "template"]:
            target = repository / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        shutil.copy(TEMPLATE / "copier.yml", repository / "copier.yml")
        shutil.copytree(TEMPLATE / "template", repository / "template")

    snapshot()
    (repository / "template" / "tests" / "test_timing.py").unlink()
    (repository / "template" / "OLD_NOTES.md").write_text("Notes that 0.2.0 no longer ships.\n")
    readme = repository / "template" / "README.md.jinja"
    assert README_LINE in readme.read_text(), "the README line this test changes has moved"
    readme.write_text(readme.read_text().replace(README_LINE, OLD_README_LINE))
    git(repository, "add", "-A")
    git(repository, "commit", "-q", "-m", "0.1.0")
    git(repository, "tag", OLD)

    snapshot()
    git(repository, "add", "-A")
    git(repository, "commit", "-q", "-m", "0.2.0")
    git(repository, "tag", NEW)
    return repository


def render_project(
    template: Path, destination: Path, version: str, answers: dict[str, Any]
) -> Path:
    data = [arg for name, value in answers.items() for arg in ("--data", f"{name}={value}")]
    result = copier(
        destination.parent, "copy", "--defaults", "--vcs-ref", version, *data,
        str(template), str(destination),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", f"generated from the template, {version}")
    return destination


def update(project: Path, version: str, *data: str) -> subprocess.CompletedProcess[str]:
    args = [arg for item in data for arg in ("--data", item)]
    result = copier(project, "update", "--defaults", "--vcs-ref", version, *args)
    assert result.returncode == 0, result.stderr
    return result


def unmerged(project: Path) -> list[str]:
    return git(project, "diff", "--name-only", "--diff-filter=U").split()


def conflict_markers(project: Path) -> list[str]:
    files = [path for path in project.rglob("*") if path.is_file() and ".git" not in path.parts]
    return [
        str(path.relative_to(project))
        for path in files
        if "<<<<<<< " in path.read_text(errors="ignore")
    ]


def answers(project: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return loaded


def files_of(project: Path) -> dict[str, bytes]:
    """A project's files as a fresh render has them: no git, environment, lock or caches."""
    fresh = RenderedProject(Variant("strict", True, "memory"), project, {})
    made_by_running = (".db", ".db-wal", ".db-shm")  # databases that its tests may have left
    return {
        str(path.relative_to(project)): path.read_bytes()
        for path in fresh.files()
        # The origin and the secrets differ from project to project.
        if path.name not in {".copier-answers.yml", ".env"}
        and not path.name.endswith(made_by_running)
        and ".hypothesis" not in path.parts
    }


def is_a_fresh_render(project: Path, render: Renders, variant: Variant) -> None:
    """The updated project is, file for file, the variant as `copier copy` renders it today.

    That render is the one whose tests, lint and types the variant's own checks prove
    (`test_variants.py`), so the update gave a project that passes them.
    """
    updated, fresh = files_of(project), files_of(render(variant).path)

    assert updated.keys() == fresh.keys()
    assert [name for name in updated if updated[name] != fresh[name]] == []


@pytest.mark.xdist_group("update-edits")
def test_user_edits_survive_and_template_changes_arrive(
    template_repository: Path, tmp_path: Path
) -> None:
    project = render_project(template_repository, tmp_path / "svc", OLD, {"user_storage": "memory"})
    assert answers(project)["_commit"] == OLD
    assert answers(project)["_src_path"] == str(template_repository)
    health = project / "src" / "my_service" / "routes" / "health.py"
    health.write_text(health.read_text() + "\n# Our own note, kept across updates.\n")
    (project / "tests" / "test_fuzz.py").unlink()
    dotenv = project / ".env"
    dotenv.write_text("SECRET_KEY=our-own-rotated-secret-key-of-enough-length\n")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "our edits")
    check = copier(project, "check-update")
    assert f"latest version is {NEW}" in check.stdout + check.stderr

    update(project, NEW)

    assert answers(project)["_commit"] == NEW
    assert health.read_text().endswith("# Our own note, kept across updates.\n")
    assert not (project / "tests" / "test_fuzz.py").exists(), "a file the user deleted came back"
    assert (project / "tests" / "test_timing.py").is_file(), "a new template file is missing"
    assert not (project / "OLD_NOTES.md").exists(), "a file the template removed is still there"
    assert README_LINE in (project / "README.md").read_text()
    assert dotenv.read_text() == "SECRET_KEY=our-own-rotated-secret-key-of-enough-length\n"
    assert unmerged(project) == []
    assert conflict_markers(project) == []


@pytest.mark.xdist_group("update-conflict")
def test_an_overlapping_edit_is_a_visible_conflict(
    template_repository: Path, tmp_path: Path
) -> None:
    project = render_project(template_repository, tmp_path / "svc", OLD, {"user_storage": "memory"})
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace(OLD_README_LINE, "Our own introduction."))
    git(project, "commit", "-q", "-am", "our introduction")

    update(project, NEW)

    assert unmerged(project) == ["README.md"]
    text = readme.read_text()
    assert "<<<<<<< " in text
    assert ">>>>>>> " in text
    assert "Our own introduction." in text
    assert README_LINE in text


@pytest.mark.parametrize(
    "storage",
    [
        pytest.param(storage, marks=pytest.mark.xdist_group(f"update-untouched-{storage}"))
        for storage in ["memory", "sqlite", "postgres"]
    ],
)
def test_an_untouched_project_updates_cleanly_to_a_fresh_render(
    template_repository: Path, tmp_path: Path, storage: str, render: Renders
) -> None:
    """No conflict, the secrets kept, and file for file what `copier copy` renders today, whose
    tests, lint and types the variant's own checks prove: running them again here would only
    repeat them on the same bytes."""
    project = render_project(template_repository, tmp_path / "svc", OLD, {"user_storage": storage})
    dotenv = (project / ".env").read_text()

    update(project, NEW)

    assert unmerged(project) == []
    assert conflict_markers(project) == []
    assert (project / ".env").read_text() == dotenv
    is_a_fresh_render(project, render, Variant("strict", True, storage))


@pytest.mark.parametrize(
    ("change", "appears", "disappears", "variant"),
    [
        pytest.param(
            "optional_auth=false",
            [],
            ["src/my_service/routes/items.py", "tests/test_items.py"],
            Variant("strict", False, "memory"),
            marks=pytest.mark.xdist_group("update-answer-auth"),
            id="optional_auth",
        ),
        pytest.param(
            "user_storage=sqlite",
            ["src/my_service/users/sql.py", "src/my_service/migrations/env.py"],
            ["src/my_service/users/memory.py"],
            Variant("strict", True, "sqlite"),
            marks=pytest.mark.xdist_group("update-answer-storage"),
            id="user_storage",
        ),
    ],
)
def test_changing_an_answer_on_update(
    template_repository: Path,
    tmp_path: Path,
    render: Renders,
    change: str,
    appears: list[str],
    disappears: list[str],
    variant: Variant,
) -> None:
    project = render_project(template_repository, tmp_path / "svc", NEW, {"user_storage": "memory"})
    dotenv = (project / ".env").read_text()

    update(project, NEW, change)

    name, value = change.split("=")
    assert str(answers(project)[name]).lower() == value
    for path in appears:
        assert (project / path).is_file(), f"{path} did not appear"
    for path in disappears:
        assert not (project / path).exists(), f"{path} did not disappear"
    assert conflict_markers(project) == []
    assert (project / ".env").read_text() == dotenv
    is_a_fresh_render(project, render, variant)


@pytest.mark.xdist_group("update-rename")
def test_a_renamed_question_carries_its_old_answer_forward(tmp_path: Path) -> None:
    """The documented way to rename a question, without --trust: the new question's default
    reads the old answer, which Copier still has from the answers file during an update."""
    repository = tmp_path / "template-repository"
    repository.mkdir()
    git(repository, "init", "-q", "-b", "main")
    shutil.copy(TEMPLATE / "copier.yml", repository / "copier.yml")
    shutil.copytree(TEMPLATE / "template", repository / "template")
    git(repository, "add", "-A")
    git(repository, "commit", "-q", "-m", OLD)
    git(repository, "tag", OLD)
    rename_question(repository, "access_token_minutes", "token_lifetime_minutes")
    git(repository, "commit", "-q", "-am", NEW)
    git(repository, "tag", NEW)
    project = render_project(
        repository, tmp_path / "svc", OLD, {"user_storage": "memory", "access_token_minutes": 5}
    )

    update(project, NEW)

    recorded = answers(project)
    assert recorded["token_lifetime_minutes"] == 5
    assert "access_token_minutes" not in recorded
    config = (project / "src" / "my_service" / "config.py").read_text()
    assert "Field(default=5, ge=1, le=60)" in config


def rename_question(repository: Path, old: str, new: str) -> None:
    """What a release that renames a question does to copier.yml and the template."""
    copier_yml = repository / "copier.yml"
    text = copier_yml.read_text()
    assert f"\n{old}:\n" in text
    text = text.replace(f"\n{old}:\n", f"\n{new}:\n").replace(f"{old} ", f"{new} ")
    text = text.replace("  default: 30\n", f'  default: "{{{{ {old} | default(30) }}}}"\n')
    copier_yml.write_text(text)
    for path in (repository / "template").rglob("*.jinja"):
        path.write_text(path.read_text().replace(f"{{{{ {old} }}}}", f"{{{{ {new} }}}}"))


def test_updates_need_no_trust() -> None:
    config = yaml.safe_load((TEMPLATE / "copier.yml").read_text())

    assert not {"_tasks", "_migrations", "_jinja_extensions"} & set(config)
    assert os.environ.get("COPIER_SETTINGS_PATH"), "the suite must not read the user's trust list"


ACCOUNTS_STILL_WORK = """
import io, json, sys
from fastapi.testclient import TestClient
from my_service.cli import main
from my_service.main import create_app

accounts, new = json.loads(sys.argv[1]), sys.argv[2]
assert main(["migrate"]) == 0
sys.stdin = io.StringIO(accounts[new] + "\\n")
assert main(["create-user", new, "--password-stdin"]) == 0
with TestClient(create_app()) as client:
    for username, password in accounts.items():
        form = {"grant_type": "password", "username": username, "password": password}
        token = client.post("/token", data=form)
        assert token.status_code == 200, (username, token.text)
        bearer = {"Authorization": "Bearer " + token.json()["access_token"]}
        me = client.get("/users/me", headers=bearer)
        assert me.status_code == 200, (username, me.text)
"""
"""In the project's environment: `migrate`, `create-user` for the newest account, then every
account logs in and reads its profile (argv: the accounts as JSON, the newest one's name)."""

ANSWER_CHANGES = [
    "oauth2_scopes=true",
    "oauth2_scopes=false",
    "optional_auth=false",
    "login_form=permissive",
]


@pytest.mark.parametrize(
    "storage",
    [
        pytest.param(storage, marks=pytest.mark.xdist_group(f"update-answers-{storage}"))
        for storage in ["sqlite", "postgres"]
    ],
)
def test_changing_answers_keeps_every_account_and_command_working(
    template_repository: Path, tmp_path: Path, storage: str
) -> None:
    """One schema for every answer: after each change, `migrate` then old and new accounts work.

    Scopes turned on keep the accounts made without them fully able (an account without a
    scope list may have every scope), and turned off again keep the ones made with them.
    """
    project = render_project(template_repository, tmp_path / "svc", NEW, {"user_storage": storage})
    rendered = RenderedProject(Variant("strict", True, storage), project, answers(project))
    accounts: dict[str, str] = {}
    with service_environment(rendered, tmp_path) as env:
        for step, change in enumerate([None, *ANSWER_CHANGES]):
            if change is not None:
                git(project, "add", "-A")
                git(project, "commit", "-q", "-m", f"before {change}")
                update(project, NEW, change)
                assert unmerged(project) == [], change
            synced = run(["uv", "sync", "--python", sys.executable, "--quiet"], project)
            assert synced.returncode == 0, synced.stderr
            name = f"user-{step}"
            accounts[name] = f"the passphrase of account {step}"
            script = ["uv", "run", "--no-sync", "python", "-c", ACCOUNTS_STILL_WORK]
            result = run([*script, json.dumps(accounts), name], project, env=env)
            assert result.returncode == 0, f"after {change}: {result.stdout}{result.stderr}"


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        pytest.param(
            "postgres",
            "sqlite",
            "DATABASE_URL must be a sqlite:/// URL",
            marks=pytest.mark.xdist_group("update-storage-to-sqlite"),
            id="postgres-to-sqlite",
        ),
        pytest.param(
            "sqlite",
            "postgres",
            "DATABASE_URL must be set to a postgresql://",
            marks=pytest.mark.xdist_group("update-storage-to-postgres"),
            id="sqlite-to-postgres",
        ),
    ],
)
def test_a_storage_change_says_what_to_set(
    template_repository: Path, tmp_path: Path, start: str, end: str, message: str
) -> None:
    """`.env` is kept by an update: the service names what it now needs, without a traceback."""
    project = render_project(template_repository, tmp_path / "svc", NEW, {"user_storage": start})
    stale = (project / ".env").read_text()

    update(project, NEW, f"user_storage={end}")
    synced = run(["uv", "sync", "--python", sys.executable, "--quiet"], project)
    assert synced.returncode == 0, synced.stderr
    migrate = run(["uv", "run", "--no-sync", "my-service", "migrate"], project)

    assert (project / ".env").read_text() == stale
    assert migrate.returncode == 1
    assert message in migrate.stderr
    assert "Traceback" not in migrate.stderr
    for line in stale.splitlines():
        secret = line.partition("=")[2]
        assert not secret or secret not in migrate.stderr, "a value of .env was shown"


MOVED_ACCOUNTS = {
    "ann": ["ann's passphrase", "--admin", "--full-name", "Ann"],
    "Bob": ["bob's passphrase", "--email", "bob@example.com"],
    "carol": ["carol's passphrase", "--disabled"],
}
"""The accounts a storage move takes along: an administrator, an address, a disabled one."""

EXPORT_THE_ACCOUNTS = """
import io, json, sys
from my_service.cli import main

assert main(["migrate"]) == 0
for username, (password, *options) in json.loads(sys.argv[1]).items():
    sys.stdin = io.StringIO(password + "\\n")
    assert main(["create-user", username, "--password-stdin", *options]) == 0
assert main(["export-users", sys.argv[2]]) == 0
"""

IMPORT_AND_LOG_IN = """
import json, sys
from fastapi.testclient import TestClient
from my_service.cli import main
from my_service.main import create_app

assert main(["migrate"]) == 0
assert main(["import-users", sys.argv[2]]) == 0
with TestClient(create_app()) as client:
    tokens = {}
    for username, (password, *options) in json.loads(sys.argv[1]).items():
        form = {"grant_type": "password", "username": username, "password": password}
        answer = client.post("/token", data=form)
        if "--disabled" in options:
            assert answer.status_code == 400, (username, answer.text)
            continue
        assert answer.status_code == 200, (username, answer.text)
        tokens[username] = {"Authorization": "Bearer " + answer.json()["access_token"]}
    moved = client.get("/admin/users", headers=tokens["ann"]).json()["users"]
    print(json.dumps(moved))
"""


@pytest.mark.xdist_group("update-storage-to-postgres")
def test_a_storage_move_with_export_and_import_keeps_every_password(
    template_repository: Path, tmp_path: Path
) -> None:
    """docs/updating.md's storage change, SQLite to PostgreSQL: `export-users` before the
    update, `import-users` after it; every account logs in with its password, as it was."""
    project = render_project(template_repository, tmp_path / "svc", NEW, {"user_storage": "sqlite"})
    exported = tmp_path / "users.jsonl"
    accounts = json.dumps(MOVED_ACCOUNTS)
    for storage, script in [("sqlite", EXPORT_THE_ACCOUNTS), ("postgres", IMPORT_AND_LOG_IN)]:
        if storage == "postgres":
            git(project, "add", "-A")
            git(project, "commit", "-q", "-m", "the service on SQLite")
            update(project, NEW, "user_storage=postgres")
            assert unmerged(project) == []
        rendered = RenderedProject(Variant("strict", True, storage), project, answers(project))
        synced = run(["uv", "sync", "--python", sys.executable, "--quiet"], project)
        assert synced.returncode == 0, synced.stderr
        (tmp_path / storage).mkdir()
        with service_environment(rendered, tmp_path / storage) as env:
            command = ["uv", "run", "--no-sync", "python", "-c", script, accounts, str(exported)]
            result = run(command, project, env=env)
        assert result.returncode == 0, result.stdout + result.stderr

    assert "Imported 3 users." in result.stdout
    moved = {user["username"]: user for user in json.loads(result.stdout.splitlines()[-1])}
    assert sorted(moved) == ["Bob", "alice", "ann", "carol"]
    assert (moved["ann"]["is_admin"], moved["ann"]["full_name"]) == (True, "Ann")
    assert moved["Bob"]["email"] == "bob@example.com"
    assert moved["carol"]["disabled"] is True


PREVIOUS_RELEASE = "275b30fde5baede8f4b9198777306847e6ef29c7"
"""The commit of the template's last release, 0.2.0, which services update from. Its tag may
not be in every clone; the commit is, in every clone of main."""

BEFORE_THE_UPDATE = """
import io, sys
from pathlib import Path
from fastapi.testclient import TestClient
from my_service.cli import main
from my_service.main import create_app

assert main(["migrate"]) == 0
sys.stdin = io.StringIO("the passphrase of an old account\\n")
assert main(["create-user", "old-account", "--password-stdin"]) == 0
with TestClient(create_app()) as client:
    form = {"grant_type": "password", "username": "old-account",
            "password": "the passphrase of an old account"}
    tokens = client.post("/token", data=form)
    assert tokens.status_code == 200, tokens.text
    Path("old-token").write_text(tokens.json()["access_token"])
    Path("old-refresh-token").write_text(tokens.json()["refresh_token"])
"""
"""With the previous release: an account, and the tokens of a session it started."""

AFTER_THE_UPDATE = """
import io, sys
from pathlib import Path
from fastapi.testclient import TestClient
from my_service.cli import main
from my_service.main import create_app

assert main(["migrate"]) == 0
assert main(["list-users"]) == 0
with TestClient(create_app(), base_url="https://testserver") as client:
    old = {"Authorization": "Bearer " + Path("old-token").read_text()}
    assert client.get("/users/me", headers=old).status_code == 200  # the session goes on
    refreshed = client.post("/token", data={"grant_type": "refresh_token",
                                            "refresh_token": Path("old-refresh-token").read_text()})
    assert refreshed.status_code == 200, refreshed.text
    browser = client.post("/session", json={"username": "old-account",
                                             "password": "the passphrase of an old account"})
    assert browser.status_code == 200, browser.text
    assert client.get("/users/me").json()["username"] == "old-account"
    assert main(["end-sessions", "old-account"]) == 0
    assert client.get("/users/me", headers={
        "Authorization": "Bearer " + refreshed.json()["access_token"]}).status_code == 401
    assert client.get("/users/me").status_code == 401
"""
"""With this version: the old session goes on and refreshes, a browser session starts beside
it, and both can be ended."""


@pytest.mark.parametrize(
    "storage",
    [
        pytest.param(storage, marks=pytest.mark.xdist_group(f"update-release-{storage}"))
        for storage in ["sqlite", "postgres"]
    ],
)
def test_an_update_from_the_previous_release_keeps_the_accounts_of_a_database(
    tmp_path: Path, storage: str
) -> None:
    """The real release, at its commit in this repository, updated to this commit on a database
    with an account and a session: migrate upgrades it, and the session goes on."""
    changelog = git(TEMPLATE, "show", f"{PREVIOUS_RELEASE}:CHANGELOG.md")
    assert re.findall(r"^## (\d\S*) ", changelog, re.MULTILINE)[0] == "0.2.0"
    project = render_project(
        TEMPLATE, tmp_path / "svc", PREVIOUS_RELEASE, {"user_storage": storage}
    )
    rendered = RenderedProject(Variant("strict", True, storage), project, answers(project))
    with service_environment(rendered, tmp_path) as env:
        for script in (BEFORE_THE_UPDATE, AFTER_THE_UPDATE):
            if script is AFTER_THE_UPDATE:
                git(project, "add", "-A")
                git(project, "commit", "-q", "-m", "the service, with its users")
                update(project, "HEAD")
                assert unmerged(project) == []
                assert conflict_markers(project) == []
            synced = run(["uv", "sync", "--python", sys.executable, "--quiet"], project)
            assert synced.returncode == 0, synced.stderr
            result = run(["uv", "run", "--no-sync", "python", "-c", script], project, env=env)
            assert result.returncode == 0, result.stdout + result.stderr
    assert "Upgraded the database schema from revision 0004 to 0006." in result.stdout
    assert "old-account\tenabled" in result.stdout
