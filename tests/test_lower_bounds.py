"""The rendered pyproject's lower bounds are tested: the oldest allowed direct dependencies pass.

`uv sync --resolution lowest-direct` installs the lowest version of every direct dependency
(runtime and dev) that the bounds allow; the project's own tests and type check must pass on
them. Two variants between them use every dependency and both SQL dialects.

The fuzz runs here to prove that the oldest schemathesis reads its configuration and that the
oldest FastAPI serves every operation without a 5xx, with a few examples per operation; the
variants' own suites, on the locked versions, fuzz with the full budget.
"""

import shutil
import sys
from pathlib import Path

import pytest

from suite import FEW_FUZZ_EXAMPLES, PYTEST_SUMMARY, Renders, record_variant_report, run
from variants import Variant, variant_params

LOWEST = [
    Variant(login_form="strict", optional_auth=True, user_storage="sqlite"),
    Variant(
        login_form="permissive", optional_auth=True, user_storage="postgres", oauth2_scopes=True
    ),
]


@pytest.mark.parametrize("variant", variant_params(LOWEST, group="lowest-"))
def test_lowest_direct_dependencies_pass(render: Renders, variant: Variant, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(
        render(variant).path, project, ignore=shutil.ignore_patterns(".venv", "uv.lock")
    )

    synced = run(
        ["uv", "sync", "--resolution", "lowest-direct", "--python", sys.executable, "--quiet"],
        project,
    )
    assert synced.returncode == 0, synced.stderr

    tests = run(
        ["uv", "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider", *FEW_FUZZ_EXAMPLES],
        project,
    )
    summary = PYTEST_SUMMARY.search(tests.stdout)
    assert tests.returncode == 0, tests.stdout[-8000:] + tests.stderr[-2000:]
    assert summary is not None
    record_variant_report(variant, "lowest", summary.group(1))
    # A cache of its own: the lowest versions are not the files of the other variants.
    types = run(["uv", "run", "--no-sync", "mypy"], project)
    assert types.returncode == 0, types.stdout + types.stderr
