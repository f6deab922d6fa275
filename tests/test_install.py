"""The rendered service installs with plain pip and serves with `fastapi run` (contract §3)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import Renders, free_port, run, subprocess_env
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
    env = {
        **subprocess_env(),
        "SECRET_KEY": "k" * 40,
        "FIRST_USER_USERNAME": "alice",
        "FIRST_USER_PASSWORD": "alice's passphrase",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'users.db'}",
    }
    server = subprocess.Popen(
        [str(venv / "bin" / "fastapi"), "run", "--port", str(port)],
        cwd=project.path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                httpx.get(f"{base}/health")
                break
            except httpx.TransportError:
                time.sleep(0.2)
        form = {"grant_type": "password", "username": "alice", "password": "alice's passphrase"}
        assert httpx.post(f"{base}/token", data=form).status_code == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
