"""The rendered service installs with plain pip and serves with `fastapi run` (contract §3)."""

import sys
from pathlib import Path

import httpx
import pytest

from suite import FIRST_USER, Renders, run, serve, service_environment
from support import free_port
from variants import DEFAULT_VARIANT


@pytest.mark.xdist_group("pip-install")
def test_pip_install_then_fastapi_run(render: Renders, tmp_path: Path) -> None:
    project = render(DEFAULT_VARIANT)
    venv = tmp_path / "venv"
    assert run([sys.executable, "-m", "venv", str(venv)], tmp_path).returncode == 0
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    installed = run([*pip, str(project.path)], tmp_path)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    assert (venv / "bin" / "my-service").is_file()

    port = free_port()
    command = [str(venv / "bin" / "fastapi"), "run", "--port", str(port)]
    with (
        service_environment(project, tmp_path) as env,
        serve(command, project.path, env, tmp_path / "fastapi-run.log", port) as base,
    ):
        form = {"grant_type": "password", "username": FIRST_USER[0], "password": FIRST_USER[1]}
        assert httpx.post(f"{base}/token", data=form).status_code == 200
