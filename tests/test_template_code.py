"""The template suite holds itself to the bar it sets for rendered projects."""

import re
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


JINJA_BRANCH = re.compile(r"\{%-? *(el)?if")
"""An `{% if %}` or `{% elif %}`: a variant decided inside a file."""


def test_variants_are_decided_by_files_more_than_by_branches() -> None:
    """The rendered code keeps its variant branches few: at most 3 a module, 13 in all."""
    branches = {
        str(path.relative_to(TEMPLATE)): len(JINJA_BRANCH.findall(path.read_text()))
        for path in (TEMPLATE / "template" / "src").rglob("*")
        if path.is_file()
    }

    assert max(branches.values()) <= 3, {path: n for path, n in branches.items() if n > 3}
    assert sum(branches.values()) <= 13
