"""Schemathesis against the service's own OpenAPI schema, every check on: SECURITY.md S1."""

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from .helpers import ALICE, ALICE_PASSWORD, SCHEMATHESIS_CASES, LiveServer

CALLERS = ["anonymous", "authenticated"]

CONFIGURATION = """
# Requests that fit the schema and are still refused, as they must be: a wrong current
# password (400), a new password the policy refuses (422: common ones are not in a schema),
# an address on a domain that takes no mail, such as .test (422: a schema says only "email"),
# an account that exists (409), a parameter sent twice (400, RFC 6749 §3.2, as /token
# refuses it), and 403s: as an administrator, the fuzz changes alice herself too, and may take
# from her what a route needs.
[[operations]]
include-name = "POST /users/me/password"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "422", "429"]

[[operations]]
include-name = "POST /admin/users"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "409", "422"]

[[operations]]
include-name = "PATCH /admin/users/{username}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

[[operations]]
include-name = "POST /revoke"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400"]
"""

FEW_EXAMPLES = 10
"""Examples for an operation whose answers do not vary with this caller's input.

Without credentials, an operation that needs them answers 401 to whatever it is sent; with a
bearer token, a public operation (`/token`, cookie login, health) answers as without one. A few
examples each prove that, and that nothing else comes first (a 5xx, a parser that trips): each
operation gets the full budget, and the coverage phase's cases, from the caller whose answers
vary with what it sends, and a route that answers both callers in their own way gets them from
each.
"""

WITHOUT_CREDENTIALS = """
# The stateful phase follows links from an answer to the next request (an account created to
# its page); without credentials, no answer leads anywhere.
[phases.stateful]
enabled = false
"""


HOOKS = Path(__file__).with_name("fuzz_hooks.py")
"""What the authenticated fuzz may not do: change or delete the account it logs in with."""

LOG_IN_AS_ALICE = f"""
# Logs in again whenever an answer is 401: the fuzz itself may end the session it uses
# (end-sessions of alice, logout, a password change), and with one token the rest of the run
# would only see 401s.
[auth.dynamic.openapi.OAuth2PasswordBearer]
path = "/token"
payload_content_type = "application/x-www-form-urlencoded"
extract_selector = "/access_token"

[auth.dynamic.openapi.OAuth2PasswordBearer.payload]
grant_type = "password"
username = {json.dumps(ALICE)}
password = {json.dumps(ALICE_PASSWORD)}
"""


def caller_configuration(schema: dict[str, Any], caller: str) -> str:
    """The operations this caller fuzzes with FEW_EXAMPLES, as schemathesis.toml blocks, and
    what else is the caller's own: the login, or no stateful phase."""
    blocks = [LOG_IN_AS_ALICE if caller == "authenticated" else WITHOUT_CREDENTIALS]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            security = operation.get("security", [])
            public = not security
            needs_credentials = not public and {} not in security
            if needs_credentials if caller == "anonymous" else public:
                blocks.append(
                    f"[[operations]]\ninclude-name = {json.dumps(f'{method.upper()} {path}')}\n"
                    f"generation.max-examples = {FEW_EXAMPLES}\n"
                    "phases.coverage.enabled = false\n"
                )
    return "\n".join(blocks)


@pytest.fixture(scope="module")
def fuzzing(
    live_server: LiveServer,
    tmp_path_factory: pytest.TempPathFactory,
    pytestconfig: pytest.Config,
) -> Iterator[dict[str, "subprocess.Popen[str]"]]:
    """A schemathesis run per caller, started together: they share no state, only the server."""
    budget = ["--max-examples", str(pytestconfig.getini("fuzz_max_examples"))]
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{live_server.url}/openapi.json"]
    schema = httpx2.get(f"{live_server.url}/openapi.json").json()
    workdirs = {caller: tmp_path_factory.mktemp(f"schemathesis-{caller}") for caller in CALLERS}
    for caller, workdir in workdirs.items():
        configuration = CONFIGURATION + caller_configuration(schema, caller)
        (workdir / "schemathesis.toml").write_text(configuration)
    hooks = {"SCHEMATHESIS_HOOKS": str(HOOKS), "FUZZ_ACCOUNT": ALICE}
    environments = {"anonymous": os.environ, "authenticated": {**os.environ, **hooks}}
    runs = {
        caller: subprocess.Popen(  # noqa: S603
            [*command, "--checks", "all", *budget, "--no-color"],
            cwd=workdirs[caller],
            env=environments[caller],
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


COOKIE_ONLY = {"GET /session"}
"""Operations a bearer token cannot reach: they read the browser's session cookie."""


def refused_throughout(stdout: str) -> set[str]:
    """The operations that answered only 401 or 403, from schemathesis's warning."""
    warning = stdout.partition("Authentication failed:")[2].partition("\N{ELECTRIC LIGHT BULB}")[0]
    return set(re.findall(r"^\s+- ([A-Z]+ \S+)$", warning, re.MULTILINE))


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
    if caller == "authenticated":  # its fuzz reached past the login of every operation
        assert refused_throughout(stdout) <= COOKIE_ONLY, stdout[-6000:]
    request.config.stash.setdefault(SCHEMATHESIS_CASES, {})[caller] = int(counts.group(1))
