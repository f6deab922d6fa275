"""The template suite's pytest hooks and fixtures: selection, scheduling, the closing tables.

Copier runs with settings of its own (nothing of the developer's), and every variant is
rendered once per worker (`render`); the helpers the tests share are in `suite.py`.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from pytest_copie.plugin import Copie

from suite import REPORTS_ENV, SHARED_ENV, CopierCli, Renders, run
from variants import VARIANTS, Variant


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--variant",
        action="append",
        default=[],
        metavar="ID",
        help="run only the tests of this variant (e.g. strict-optional-sqlite); repeatable",
    )
    parser.addoption(
        "--without-variants",
        action="store_true",
        help="run only the tests that are not about one variant (questions, updates, docs, ...)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Select what --variant and --without-variants ask for; put the longest work first.

    CI runs each variant as a job of its own, and one more job without variants.
    """
    select(config, items)
    # Stable: a variant's tests keep their order (rendered, then checked), on one worker.
    items.sort(key=scheduling_rank)


def select(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--variant keeps the tests of the variants asked for; --without-variants, all the others."""
    wanted = set(config.getoption("variant"))
    without = config.getoption("without_variants")
    if not wanted and not without:
        return
    if wanted and without:
        raise pytest.UsageError("--variant and --without-variants exclude each other")
    known = {variant.id for variant in VARIANTS}
    if unknown := wanted - known:
        raise pytest.UsageError(f"unknown variant(s) {sorted(unknown)}; known: {sorted(known)}")
    selected: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        variant = item_variant(item)
        chosen = variant is not None and variant.id in wanted
        keep = variant is None if without else chosen
        (selected if keep else deselected).append(item)
    config.hook.pytest_deselected(items=deselected)
    items[:] = selected


def item_variant(item: pytest.Item) -> Variant | None:
    callspec = getattr(item, "callspec", None)
    variant = callspec.params.get("variant") if callspec is not None else None
    return variant if isinstance(variant, Variant) else None


TEMPLATE_LEVEL_GROUPS = ("lowest-", "update-untouched-", "update-answer")
"""xdist groups that run a rendered project's whole suite, and more: as long as a variant."""


def scheduling_rank(item: pytest.Item) -> int:
    """Longest first (xdist hands out groups in collection order), so no worker ends alone.

    From the suite's own timing table: a PostgreSQL variant (which also seeds mypy's cache
    for the others), the template-level groups that run whole rendered suites, a SQLite
    variant, a memory variant, then the short tests, which fill the gaps at the end.
    """
    marker = item.get_closest_marker("xdist_group")
    group = str(marker.args[0]) if marker is not None and marker.args else ""
    variant = item_variant(item)
    if variant is not None and group == variant.id:
        return {"postgres": 0, "sqlite": 2, "memory": 3}[variant.user_storage]
    if group.startswith(TEMPLATE_LEVEL_GROUPS):
        return 1
    return 4


def pytest_configure(config: pytest.Config) -> None:
    # Copier must not read the developer's settings (trusted templates, defaults).
    settings = Path(tempfile.mkdtemp()) / "copier-settings.yml"
    settings.write_text("{}\n")
    os.environ["COPIER_SETTINGS_PATH"] = str(settings)
    if not hasattr(config, "workerinput"):  # the controller; workers inherit the variables
        os.environ.setdefault(REPORTS_ENV, tempfile.mkdtemp(prefix="variant-reports-"))
        os.environ.setdefault(SHARED_ENV, tempfile.mkdtemp(prefix="template-suite-"))


@pytest.fixture(scope="session")
def render(copie_session: Copie) -> Renders:
    return Renders(copie_session)


@pytest.fixture
def copier_cli(tmp_path: Path) -> CopierCli:
    """Runs the `copier` command line as a user would: no --trust, no settings."""

    def copier(*args: str) -> subprocess.CompletedProcess[str]:
        return run([sys.executable, "-m", "copier", *args], tmp_path)

    return copier


CHECK_OF_TEST = {
    "test_rendered_tests_pass": "pytest",
    "test_ruff_check_is_clean": "ruff",
    "test_ruff_format_is_clean": "ruff",
    "test_mypy_strict_passes": "mypy",
}
"""The tests of test_variants.py, by the column of the timing table they are counted in."""
PER_VARIANT_FILES = ("tests/test_variants.py", "tests/test_render.py", "tests/test_tooling.py")
"""The tests run once per variant; the browser and lowest-bound tests pick a few variants."""
TIMING_COLUMNS = ["render", "sync", "pytest", "ruff", "mypy", "other", "total"]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    directory = os.environ.get(REPORTS_ENV)
    if not directory or hasattr(terminalreporter.config, "workerinput"):
        return
    reports = [json.loads(p.read_text()) for p in sorted(Path(directory).glob("*.json"))]
    if reports:
        terminalreporter.section("rendered projects")
        for report in reports:
            terminalreporter.write_line(
                f"{report['variant']:<36} {report['check']:<8} {report['summary']}"
            )
    write_timings(terminalreporter, Path(directory))


def write_timings(terminalreporter: Any, directory: Path) -> None:
    """Where the suite's time went: per variant and check, and the template-level tests."""
    known = {variant.id for variant in VARIANTS}
    per_variant: dict[str, dict[str, float]] = {}
    template_level: dict[str, float] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid: str = getattr(report, "nodeid", "")
            seconds: float = getattr(report, "duration", 0.0)
            variant = nodeid.rpartition("[")[2].rstrip("]") if nodeid.endswith("]") else ""
            if variant not in known or not nodeid.startswith(PER_VARIANT_FILES):
                test = nodeid.partition("[")[0]
                template_level[test] = template_level.get(test, 0.0) + seconds
                continue
            columns = per_variant.setdefault(variant, dict.fromkeys(TIMING_COLUMNS, 0.0))
            function = nodeid.rpartition("::")[2].partition("[")[0]
            check = CHECK_OF_TEST.get(function, "other")
            columns[check] += seconds
            columns["total"] += seconds
    if not per_variant and not template_level:
        return
    terminalreporter.section("where the time went (seconds)")
    terminalreporter.write_line(f"{'variant':<36}" + "".join(f"{c:>8}" for c in TIMING_COLUMNS))
    for variant, columns in sorted(per_variant.items()):
        for step in ("render", "sync"):
            recorded = directory / f"{variant}.{step}.seconds"
            if recorded.exists():
                columns[step] = float(recorded.read_text())
                columns["other"] -= columns[step]  # done inside one of the variant's tests
        terminalreporter.write_line(
            f"{variant:<36}" + "".join(f"{columns[c]:>8.1f}" for c in TIMING_COLUMNS)
        )
    if template_level:
        total = sum(template_level.values())
        terminalreporter.write_line(f"{'template-level tests':<36}{total:>56.1f}")
        for test, seconds in sorted(template_level.items(), key=lambda item: -item[1])[:12]:
            terminalreporter.write_line(f"  {seconds:>7.1f}  {test}")
