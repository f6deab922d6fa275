"""The template repository's own CI workflow: valid, least-privileged, in step with the suite."""

import shutil

import pytest
import yaml

from suite import ACTIONLINT, TEMPLATE, run, tool
from variants import VARIANTS

WORKFLOW = TEMPLATE / ".github" / "workflows" / "template-suite.yml"


def workflow() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def test_the_matrix_lists_exactly_the_variants_of_the_suite() -> None:
    jobs = workflow()["jobs"]
    assert isinstance(jobs, dict)

    matrix = jobs["variant"]["strategy"]["matrix"]["variant"]

    assert matrix == [variant.id for variant in VARIANTS]


def test_the_jobs_together_run_the_whole_suite() -> None:
    jobs = workflow()["jobs"]
    assert isinstance(jobs, dict)
    commands = {name: [s["run"] for s in job["steps"] if "run" in s] for name, job in jobs.items()}

    assert 'uv run pytest --variant "$VARIANT"' in commands["variant"]
    assert "uv run pytest --without-variants" in commands["template"]
    for job in jobs.values():
        assert {"postgres", "redis"} <= set(job["services"])


def test_the_selection_options_split_the_suite_without_gaps() -> None:
    def collected(*options: str) -> set[str]:
        result = run([tool("pytest"), "--collect-only", "-q", "-n", "0", *options], TEMPLATE)
        assert result.returncode == 0, result.stdout + result.stderr
        return {line for line in result.stdout.splitlines() if "::" in line}

    everything = collected()
    without = collected("--without-variants")
    each = collected(*[f"--variant={variant.id}" for variant in VARIANTS])
    one = collected("--variant", VARIANTS[0].id)

    assert without | each == everything
    assert not without & each
    assert one < each
    assert all(f"[{VARIANTS[0].id}" in test for test in one)


def test_the_workflow_passes_actionlint_zizmor_and_its_schema() -> None:
    if shutil.which("npx") is None:
        pytest.fail("actionlint needs Node.js (npx): install nodejs and npm")
    path = str(WORKFLOW.relative_to(TEMPLATE))
    checks = [
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", path],
        [tool("zizmor"), "--offline", "--no-progress", path],
        ACTIONLINT,
    ]
    for command in checks:
        result = run(command, TEMPLATE)
        assert result.returncode == 0, f"{command[0]}: {result.stdout}{result.stderr}"
    assert workflow()["permissions"] == {}
