"""Response time does not tell unknown users from known ones: security.md R5."""

import statistics
import time

from fastapi.testclient import TestClient

from .helpers import ALICE, login

SAMPLES = 25


def test_r5_unknown_users_take_as_long_as_wrong_passwords(client: TestClient) -> None:
    unknown: list[float] = []
    wrong: list[float] = []
    # Interleaved, so that a burst of noise on a busy machine hits both series alike.
    for sample in range(SAMPLES):
        for durations, username in ((unknown, f"nobody-{sample}"), (wrong, ALICE)):
            start = time.perf_counter()
            assert login(client, username, "not the password").status_code == 400
            durations.append(time.perf_counter() - start)

    unknown_median, wrong_median = statistics.median(unknown), statistics.median(wrong)

    difference = abs(unknown_median - wrong_median) / max(unknown_median, wrong_median)
    assert difference < 0.30, f"unknown {unknown_median:.4f}s vs wrong {wrong_median:.4f}s"
