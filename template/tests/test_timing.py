"""Response time does not tell unknown users from known ones: SECURITY.md R5."""

import random
import statistics
import time

from fastapi.testclient import TestClient

from .helpers import ALICE, login

PAIRS = 30


def test_r5_unknown_users_take_as_long_as_wrong_passwords(production_client: TestClient) -> None:
    """An unknown user and a wrong password cost the same, whatever else the machine does.

    Each login is timed in CPU seconds of this process, where the app runs (its event loop and
    its hashing threads): what a login costs, which other processes cannot change, while the
    time they make it wait is the same for both kinds. Each pair takes the two logins back to
    back, in random order, and the median of the pairs' ratios ignores the pairs that a burst
    hit unevenly. Without the dummy verification the ratio would be about 0.03.
    """
    shuffle = random.Random(0).shuffle  # noqa: S311  # an order, not a secret
    ratios: list[float] = []
    for pair in range(PAIRS):
        attempts = [("unknown", f"nobody-{pair}"), ("wrong", ALICE)]
        shuffle(attempts)
        seconds: dict[str, float] = {}
        for kind, username in attempts:
            start = time.process_time()
            assert login(production_client, username, "not the password").status_code == 400
            seconds[kind] = time.process_time() - start
        ratios.append(seconds["unknown"] / seconds["wrong"])

    ratio = statistics.median(ratios)

    assert abs(ratio - 1) < 0.30, f"an unknown user takes {ratio:.2f} x a wrong password"
