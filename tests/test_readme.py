"""The README's two commands work as written, and CI runs the second one."""

import re
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from suite import GIT_IDENTITY, TEMPLATE, run, serve, snapshot_clone, subprocess_env
from support import free_port
from variants import VARIANTS

README = (TEMPLATE / "README.md").read_text()
BOOTSTRAP = "python -m pip install uv && "


def console_block(heading: str) -> str:
    section = README.split(f"## {heading}\n", 1)[1]
    match = re.search(r"```console\n(.+?)\n```", section, re.DOTALL)
    assert match is not None, f"no console block under {heading!r}"
    return match.group(1).strip()


def test_ci_runs_the_readme_test_command() -> None:
    command = console_block("Tests")
    ci_script = (TEMPLATE / ".ci" / "run").read_text().splitlines()

    assert command in ci_script


@pytest.mark.xdist_group("quick-start")
def test_quick_start_renders_a_service_that_serves_and_updates(tmp_path: Path) -> None:
    """The quick start as written, then `copier update` on what it rendered."""
    command = console_block("Quick start")
    assert command.startswith(BOOTSTRAP)
    user = re.search(r"printf '%s' '([^']+)' \| .* create-user (\S+) --password-stdin", command)
    assert user is not None
    password, username = user.groups()
    # The suite's environment already has uv; the service goes to a temporary directory and a
    # free port instead of next to the clone on port 8000, from the template the suite runs
    # (HEAD) rather than the newest release.
    port = free_port()
    clone = snapshot_clone(tmp_path / "clone")
    project = tmp_path / "svc"
    command = command.removeprefix(BOOTSTRAP).replace("../my-service", str(project))
    command = command.replace('copy --defaults "$PWD"', 'copy --defaults --vcs-ref HEAD "$PWD"')
    command += f" --port {port}"

    log = tmp_path / "quick-start.log"
    with serve(["bash", "-c", command], clone, subprocess_env(), log, port, 300) as base:
        form = {"grant_type": "password", "username": username, "password": password}
        token = httpx.post(f"{base}/token", data=form)
        assert token.status_code == 200, token.text
        me = httpx.get(
            f"{base}/users/me",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        assert me.json()["username"] == username
        assert "swagger-ui" in httpx.get(f"{base}/docs").text
    output = log.read_text()
    assert "Created user" in output
    # What Copier says to do next is what the quick start did, and it served the runtime only.
    assert f"create-user {username} --password-stdin" in output
    assert f"printf '%s' '{password}'" in output
    assert not (project / ".venv" / "bin" / "pytest").exists(), (
        "the quick start installed dev tools"
    )

    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert Path(recorded["_src_path"]) == clone, "copier update could not find the template"
    for step in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "quick start"],
    ):
        assert run(step, project, env={**subprocess_env(), **GIT_IDENTITY}).returncode == 0
    update = run(
        [sys.executable, "-m", "copier", "update", "--defaults", "--vcs-ref", "HEAD"], project
    )
    assert update.returncode == 0, update.stderr


def test_the_readme_s_quicker_test_commands_name_a_real_variant() -> None:
    section = README.split("## Tests\n", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"--variant (\S+)", section)

    assert named
    assert set(named) <= {variant.id for variant in VARIANTS}
    assert "--without-variants" in section


def test_the_readme_lists_every_page_of_the_docs() -> None:
    section = README.split("## Documentation\n", 1)[1].split("\n## ", 1)[0]
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)\)", section))
    pages = {page.name for page in (TEMPLATE / "docs").glob("*.md")} - {"index.md"}

    assert pages - linked == set()
