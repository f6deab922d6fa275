"""The template suite holds itself to the bar it sets for rendered projects."""

import sys

import pytest

from suite import TEMPLATE, run


@pytest.mark.parametrize(
    "command",
    [["ruff", "check"], ["ruff", "format", "--check"], ["mypy"]],
    ids=["ruff-check", "ruff-format", "mypy-strict"],
)
def test_template_suite_is_clean(command: list[str]) -> None:
    result = run([sys.executable, "-m", *command], TEMPLATE)

    assert result.returncode == 0, result.stdout + result.stderr
