"""The README's two commands work as written, and CI runs the second one."""

import re
from pathlib import Path

import httpx
import pytest

from suite import TEMPLATE, serve, subprocess_env
from support import free_port

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
def test_quick_start_renders_a_service_and_serves_it(tmp_path: Path) -> None:
    command = console_block("Quick start")
    assert command.startswith(BOOTSTRAP)
    username = re.search(r"FIRST_USER_USERNAME=(\S+)", command)
    password = re.search(r"FIRST_USER_PASSWORD=(\S+)", command)
    assert username is not None
    assert password is not None
    # The suite's environment already has uv; the service goes to a temporary directory
    # and a free port instead of next to the clone on port 8000.
    port = free_port()
    command = command.removeprefix(BOOTSTRAP).replace("../my-service", str(tmp_path / "svc"))
    command += f" --port {port}"

    log = tmp_path / "quick-start.log"
    with serve(["bash", "-c", command], TEMPLATE, subprocess_env(), log, port, 300) as base:
        token = httpx.post(
            f"{base}/token",
            data={
                "grant_type": "password",
                "username": username.group(1),
                "password": password.group(1),
            },
        )
        assert token.status_code == 200, token.text
        me = httpx.get(
            f"{base}/users/me",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        assert me.json()["username"] == username.group(1)
        assert "swagger-ui" in httpx.get(f"{base}/docs").text
