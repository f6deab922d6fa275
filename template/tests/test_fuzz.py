"""Schemathesis against the service's own OpenAPI schema, every check on: security.md S1."""

import re
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from .helpers import ALICE, ALICE_PASSWORD, SCHEMATHESIS_CASES, LiveServer


def schemathesis(url: str, workdir: Path, *options: str) -> int:
    """Run schemathesis on the live service; return the number of test cases it ran."""
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{url}/openapi.json"]
    result = subprocess.run(  # noqa: S603
        [*command, "--checks", "all", "--max-examples", "100", "--no-color", *options],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert counts is not None, result.stdout[-2000:]
    assert counts.group(1) == counts.group(2)
    return int(counts.group(1))


@pytest.mark.parametrize("caller", ["anonymous", "authenticated"])
def test_s1_schemathesis_finds_nothing(
    live_server: LiveServer, tmp_path: Path, caller: str, request: pytest.FixtureRequest
) -> None:
    options: list[str] = []
    if caller == "authenticated":
        form = {"grant_type": "password", "username": ALICE, "password": ALICE_PASSWORD}
        token = httpx2.post(f"{live_server.url}/token", data=form).json()["access_token"]
        options = ["--header", f"Authorization: Bearer {token}"]

    cases = schemathesis(live_server.url, tmp_path, *options)

    assert cases > 0
    request.config.stash.setdefault(SCHEMATHESIS_CASES, {})[caller] = cases
