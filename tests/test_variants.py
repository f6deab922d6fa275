"""Each variant's own checks, run inside the rendered project as its developers would."""

import re

import pytest

from suite import PYTEST_SUMMARY, Renders, record_variant_report
from variants import Variant, each_variant

pytestmark = pytest.mark.parametrize("variant", each_variant())


def test_rendered_tests_pass(render: Renders, variant: Variant) -> None:
    result = render(variant).uv_run("pytest", "-q", "-p", "no:cacheprovider")

    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    summary = PYTEST_SUMMARY.search(result.stdout)
    assert summary is not None, result.stdout[-2000:]
    assert "failed" not in summary.group(1)
    assert "error" not in summary.group(1)
    record_variant_report(variant, "pytest", summary.group(1))
    fuzzing = re.search(r"^schemathesis cases: (.+)$", result.stdout, re.MULTILINE)
    assert fuzzing is not None, "the rendered suite did not report its schemathesis cases"
    record_variant_report(variant, "fuzz", fuzzing.group(1))


def test_ruff_check_is_clean(render: Renders, variant: Variant) -> None:
    result = render(variant).uv_run("ruff", "check", "--no-cache")

    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean(render: Renders, variant: Variant) -> None:
    result = render(variant).uv_run("ruff", "format", "--check", "--no-cache")

    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes(render: Renders, variant: Variant) -> None:
    project = render(variant)
    result = project.mypy()

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout
    record_variant_report(variant, "mypy", result.stdout.strip().splitlines()[-1])
