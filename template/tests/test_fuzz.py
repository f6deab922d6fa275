"""Schemathesis against the service's own OpenAPI schema, every check on: SECURITY.md S1."""

import re
import subprocess
import sys
from collections.abc import Iterator

import httpx2
import pytest

from .helpers import ALICE, ALICE_PASSWORD, SCHEMATHESIS_CASES, LiveServer

CALLERS = ["anonymous", "authenticated"]


@pytest.fixture(scope="module")
def fuzzing(
    live_server: LiveServer,
    tmp_path_factory: pytest.TempPathFactory,
    pytestconfig: pytest.Config,
) -> Iterator[dict[str, "subprocess.Popen[str]"]]:
    """A schemathesis run per caller, started together: they share no state, only the server."""
    form = {"grant_type": "password", "username": ALICE, "password": ALICE_PASSWORD}
    token = httpx2.post(f"{live_server.url}/token", data=form).json()["access_token"]
    headers = {"anonymous": [], "authenticated": ["--header", f"Authorization: Bearer {token}"]}
    budget = ["--max-examples", str(pytestconfig.getini("fuzz_max_examples"))]
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{live_server.url}/openapi.json"]
    runs = {
        caller: subprocess.Popen(  # noqa: S603
            [*command, "--checks", "all", *budget, "--no-color", *headers[caller]],
            cwd=tmp_path_factory.mktemp(f"schemathesis-{caller}"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for caller in CALLERS
    }
    try:
        yield runs
    finally:
        for run in runs.values():
            run.kill()
            run.communicate()


@pytest.mark.parametrize("caller", CALLERS)
def test_s1_schemathesis_finds_nothing(
    fuzzing: dict[str, "subprocess.Popen[str]"], caller: str, request: pytest.FixtureRequest
) -> None:
    stdout, stderr = fuzzing[caller].communicate(timeout=600)

    assert fuzzing[caller].returncode == 0, stdout[-6000:] + stderr[-2000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", stdout)
    assert counts is not None, stdout[-2000:]
    assert counts.group(1) == counts.group(2)
    assert int(counts.group(1)) > 0
    request.config.stash.setdefault(SCHEMATHESIS_CASES, {})[caller] = int(counts.group(1))
