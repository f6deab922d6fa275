"""What a team inherits besides the code: container, compose, CI workflow, pre-commit, dev server.

No Docker engine or GitHub runner is at hand, so the container files and the workflow are
proved with the linters and schemas that such a team would run: hadolint, the Compose
specification's JSON schema, actionlint and zizmor.
"""

import re
import shlex
import shutil
from pathlib import Path

import httpx
import pytest
import yaml

from suite import ACTIONLINT, RenderedProject, Renders, dev_server, run, run_once, tool
from variants import Variant, each_variant

pytestmark = pytest.mark.parametrize("variant", each_variant())


def dockerfile_instructions(project: RenderedProject) -> list[tuple[str, str]]:
    text = (project.path / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_passes_hadolint(render: Renders, variant: Variant) -> None:
    project = render(variant)

    result = run([tool("hadolint"), "--failure-threshold", "info", "Dockerfile"], project.path)

    assert result.returncode == 0, result.stdout + result.stderr


def test_image_builds_with_uv_and_runs_unprivileged(render: Renders, variant: Variant) -> None:
    instructions = dockerfile_instructions(render(variant))

    stages = [args for op, args in instructions if op == "FROM"]
    assert len(stages) >= 3, "a uv stage, a build stage and a runtime stage"
    assert any(args.endswith("AS build") for args in stages)
    assert not stages[-1].endswith("AS build")
    runs = " ".join(args for op, args in instructions if op == "RUN")
    assert "uv sync --locked --no-dev" in runs
    user = [args for op, args in instructions if op == "USER"]
    assert user == ["10001:10001"]
    command = [args for op, args in instructions if op == "CMD"][-1]
    assert yaml.safe_load(command)[:2] == ["uvicorn", "my_service.main:app"]
    environment = " ".join(args for op, args in instructions if op == "ENV")
    assert "WEB_CONCURRENCY=1" in environment


def test_what_the_image_copies_exists_and_passes_dockerignore(
    render: Renders, variant: Variant
) -> None:
    project = render(variant)
    project.sync()  # writes uv.lock, which the Dockerfile copies and installs --locked

    allowed = {
        line.removeprefix("!")
        for line in (project.path / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    ignored = (project.path / ".dockerignore").read_text().splitlines()
    assert "*" in ignored, ".dockerignore should allow-list what the build may see"
    for op, args in dockerfile_instructions(project):
        if op != "COPY" or args.startswith("--from"):
            continue
        *sources, _destination = shlex.split(args)
        for source in sources:
            matches = list(project.path.glob(source))
            assert matches, f"the Dockerfile copies {source}, which the rendered tree lacks"
            assert source.rstrip("*") in allowed, f".dockerignore hides {source}"
    for secret in [".env", ".venv", ".git", "my_service.db"]:
        assert f"!{secret}" not in ignored


def test_compose_file_follows_the_compose_specification(render: Renders, variant: Variant) -> None:
    project = render(variant)

    for name in ["compose.yaml", "compose.dev.yaml"]:
        result = run_once(
            [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", name],
            project.path,
            inputs=[name],
        )
        assert result.returncode == 0, result.stdout + result.stderr
    compose = yaml.safe_load((project.path / "compose.yaml").read_text())
    declared = set(compose.get("volumes", {}))
    for name, service in compose["services"].items():
        if "build" in service:
            assert (project.path / service["build"] / "Dockerfile").is_file()
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (project.path / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"


def workflow(project: RenderedProject) -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load(
        (project.path / ".github" / "workflows" / "ci.yml").read_text()
    )
    return loaded


def test_workflow_passes_actionlint_zizmor_and_its_schema(
    render: Renders, variant: Variant
) -> None:
    project = render(variant)
    if shutil.which("npx") is None:
        pytest.fail("actionlint needs Node.js (npx): install nodejs and npm")

    checks = [
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
         ".github/workflows/ci.yml"],
        [tool("zizmor"), "--offline", "--no-progress", ".github/workflows/ci.yml"],
        ACTIONLINT,
    ]  # fmt: skip
    for command in checks:
        result = run_once(command, project.path, inputs=[".github/workflows/ci.yml"])
        assert result.returncode == 0, f"{command[0]}: {result.stdout}{result.stderr}"


def test_actionlint_catches_a_broken_workflow(
    render: Renders, variant: Variant, tmp_path: Path
) -> None:
    """The check above can fail: an undefined matrix key is reported."""
    project = render(variant)
    broken = tmp_path / ".github" / "workflows" / "ci.yml"
    broken.parent.mkdir(parents=True)
    text = (project.path / ".github" / "workflows" / "ci.yml").read_text()
    broken.write_text(text.replace("matrix.python-version", "matrix.python"))

    result = run_once(ACTIONLINT, tmp_path, inputs=[".github/workflows/ci.yml"])

    assert result.returncode != 0
    assert 'property "python" is not defined' in result.stdout


def test_workflow_runs_the_readme_commands(render: Renders, variant: Variant) -> None:
    project = render(variant)
    readme = (project.path / "README.md").read_text()
    develop = readme.split("## Develop\n", 1)[1]
    block = re.search(r"```console\n(.+?)\n```", develop, re.DOTALL)
    assert block is not None

    jobs = workflow(project)["jobs"]
    assert isinstance(jobs, dict)
    steps = [step for job in jobs.values() for step in job["steps"]]
    commands = [step["run"] for step in steps if "run" in step]

    assert commands == block.group(1).splitlines()
    job = jobs["checks"]
    assert job["permissions"] == {"contents": "read"}
    assert workflow(project)["permissions"] == {}
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
    services = set(job["services"])
    assert services == ({"redis", "postgres"} if variant.user_storage == "postgres" else {"redis"})


def test_pre_commit_passes_on_the_fresh_tree(render: Renders, variant: Variant) -> None:
    project = render(variant)
    project.sync()
    workdir = project.path.parent / f"{project.path.name}-pre-commit"
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.copytree(project.path, workdir, ignore=shutil.ignore_patterns(".venv", "uv.lock"))
    assert run(["git", "init", "-q"], workdir).returncode == 0
    assert run(["git", "add", "--all"], workdir).returncode == 0

    result = run(
        [str(project.path / ".venv" / "bin" / "pre-commit"), "run", "--all-files"], workdir
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    for hook in [
        "ruff check",
        "ruff format",
        "check for merge conflict markers",
        "fix end of files",
    ]:
        assert re.search(rf"{hook}\.+Passed", result.stdout), result.stdout
    assert run(["git", "diff", "--quiet"], workdir).returncode == 0, "pre-commit changed files"
    shutil.rmtree(workdir)


def test_fastapi_dev_serves_the_documented_api(
    render: Renders, variant: Variant, tmp_path: Path
) -> None:
    """`uv run fastapi dev` (the README's development server) serves the API from the answers."""
    project = render(variant)

    with dev_server(project, tmp_path) as base:
        info = httpx.get(f"{base}/openapi.json").json()["info"]
        docs = httpx.get(f"{base}/docs").text
        redoc = httpx.get(f"{base}/redoc").text

    assert info["title"] == project.answers["project_name"]
    assert info["description"].startswith(project.answers["project_description"])
    assert info["version"] == "0.1.0"
    assert f"<title>{project.answers['project_name']} - Swagger UI</title>" in docs
    assert f"<title>{project.answers['project_name']} - ReDoc</title>" in redoc
    assert "Will watch for changes" in (tmp_path / "dev.log").read_text()
