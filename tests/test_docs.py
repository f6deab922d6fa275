"""The documentation: the site builds strictly, and its console sessions run as written.

A session is a ```console block: lines starting with `$ ` are commands, the lines after a
command are its expected output. Expected lines must appear in the actual output in order
(other lines may come between them); `…` stands for any text within a line, and a line of
only `…` marks lines left out.
"""

import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from suite import TEMPLATE, run, serve, subprocess_env, tool
from support import free_port

DOCS = TEMPLATE / "docs"
SESSION = re.compile(r"```console\n(.*?)```", re.DOTALL)


@dataclass
class Command:
    line: str
    expected: list[str] = field(default_factory=list)


def sessions(page: Path) -> list[list[Command]]:
    found = []
    for block in SESSION.findall(page.read_text()):
        commands: list[Command] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                commands.append(Command(line.removeprefix("$ ")))
            elif commands and line.strip():
                commands[-1].expected.append(line)
        found.append(commands)
    return found


def matches(expected: list[str], actual: str) -> bool:
    """Whether the expected lines appear in order among the actual ones (… is a wildcard)."""
    lines = iter(line.rstrip("\r") for line in actual.splitlines())
    for wanted in expected:
        if wanted.strip() == "…":
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in wanted.split("…")) + "$")
        if not any(pattern.fullmatch(line) for line in lines):
            return False
    return True


class Shell:
    """Runs documented commands one by one, keeping the working directory and variables."""

    def __init__(self, cwd: Path, replacements: dict[str, str]) -> None:
        self.cwd = cwd
        self.replacements = replacements
        self.variables: dict[str, str] = {}

    def run(self, command: str) -> str:
        for old, new in self.replacements.items():
            command = command.replace(old, new)
        if command.startswith("cd "):
            self.cwd = (self.cwd / shlex.split(command)[1]).resolve()
            return ""
        assignment = re.fullmatch(r"([A-Z_]+)=(\$\(.*\))", command)
        script = f'{command} && printf %s "${assignment.group(1)}"' if assignment else command
        result = subprocess.run(
            ["bash", "-c", script],  # noqa: S607
            cwd=self.cwd,
            env={**subprocess_env(), **self.variables},
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout}{result.stderr}"
        if assignment:
            self.variables[assignment.group(1)] = result.stdout
            return ""
        return result.stdout


@pytest.mark.xdist_group("getting-started")
def test_getting_started_and_the_endpoint_examples_run_as_written(tmp_path: Path) -> None:
    page = DOCS / "getting-started.md"
    port = free_port()
    service = tmp_path / "my-service"
    # The page renders the newest release next to the clone and serves on port 8000; the test
    # renders the template it runs from (HEAD) into a temporary directory, on a free port.
    # The suite's environment already has uv (and, being a uv environment, no pip).
    shell = Shell(
        TEMPLATE,
        {
            "python -m pip install --quiet uv": "python -m uv --version",
            'copier copy --defaults "$PWD"': 'copier copy --defaults --vcs-ref HEAD "$PWD"',
            "../my-service": str(service),
            "127.0.0.1:8000": f"127.0.0.1:{port}",
        },
    )
    commands = [command for session in sessions(page) for command in session]
    assert len(commands) >= 10
    # As the README: uv through `python -m uv`, which the first command installed.
    assert not [command.line for command in commands if command.line.startswith("uv ")]
    serving = next(i for i, c in enumerate(commands) if "run uvicorn" in c.line)

    for command in commands[:serving]:
        output = shell.run(command.line)
        assert matches(command.expected, output), f"{command.line}\ngave: {output}"

    server = [*shlex.split(commands[serving].line), "--port", str(port)]
    log = tmp_path / "uvicorn.log"
    # The endpoint pages' curl sessions run against the same service, as the pages say.
    endpoints = [
        command
        for session in sessions(DOCS / "service.md")
        if all(command.line.startswith("curl ") for command in session)
        for command in session
    ]
    assert len(endpoints) >= 3
    # Then the sessions page, all of it: it logs in, refreshes, logs out and runs the account
    # commands last, since they end alice's sessions.
    lifecycle = [command for session in sessions(DOCS / "sessions.md") for command in session]
    assert len(lifecycle) >= 10
    with serve(server, shell.cwd, subprocess_env(), log, port):
        for command in commands[serving + 1 :] + endpoints + lifecycle:
            output = shell.run(command.line)
            assert matches(command.expected, output), f"{command.line}\ngave: {output}"


def test_the_matcher_can_fail() -> None:
    assert matches(["HTTP/1.1 200 OK", "…", '{"a":…}'], 'HTTP/1.1 200 OK\r\nx: y\r\n\r\n{"a":1}')
    assert not matches(["HTTP/1.1 401 Unauthorized"], "HTTP/1.1 200 OK")
    assert not matches(["b", "a"], "a\nb")


def test_the_site_builds_without_warnings(tmp_path: Path) -> None:
    result = run(
        [tool("mkdocs"), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        TEMPLATE,
        # Material for MkDocs prints a banner about its successor unless told not to.
        env={**subprocess_env(), "NO_MKDOCS_2_WARNING": "1"},
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr
    site = tmp_path / "site"
    assert (site / "index.html").is_file()
    for page in ["getting-started", "questions", "variants", "service", "sessions", "security",
                 "updating", "performance", "faq", "contributing", "decisions"]:  # fmt: skip
        assert (site / page / "index.html").is_file(), page
