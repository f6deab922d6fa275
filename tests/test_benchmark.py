"""The benchmark script runs end to end (with tiny durations), so that it cannot rot.

Nothing here checks a figure: speed is measured by the benchmark itself, on a quiet machine,
never asserted in a test.
"""

import json
import sys
from pathlib import Path

import pytest

from suite import TEMPLATE, run

SCRIPT = TEMPLATE / "benchmarks" / "service_vs_anchor.py"


@pytest.mark.xdist_group("benchmark-smoke")
def test_benchmark_script_runs_and_writes_its_report(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    command = [sys.executable, str(SCRIPT), "--storage", "memory", "--seconds", "1"]
    command += ["--rounds", "1", "--render-samples", "2", "--output", str(output)]

    result = run(command, TEMPLATE)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(output.read_text())
    assert set(report["apps"]) == {"anchor (tutorial)", "service (memory)"}
    for figures in report["apps"].values():
        assert figures["health_rps"] > 0
        assert figures["users_me_rps"] > 0
        assert figures["token_rps"] > 0
        assert figures["verify_ceiling"] > 0
        assert figures["startup_s"] > 0
        assert figures["rss_mib"] > 0
        assert set(figures["ratios"]) == {
            "B/A", "C/ceiling", "D/B rps", "D/B p99", "startup vs anchor", "memory vs anchor",
        }  # fmt: skip
    assert report["render_s"]["samples"] == 2
    assert "B/A" in result.stdout
    assert "copier copy: median" in result.stdout
