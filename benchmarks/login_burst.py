"""Concurrent guesses and login bursts against two renders of the service, side by side.

    python -m uv run python benchmarks/login_burst.py BEFORE_REF [AFTER_REF] [--rounds 5]

Renders the memory variant at both git refs of this template (AFTER_REF defaults to the working
tree), installs each in its own environment and serves it with one uvicorn worker pinned to
CPU 0, with production password hashing (OWASP's minimum Argon2id) and LOGIN_MAX_FAILURES=3
(the other counts unlimited, so that only the first one is measured). The load runs on CPU 1.
Rounds are interleaved between the two services; the figures are medians:

  guesses   30 concurrent wrong passwords for one username from one client: how many passwords
            the service verified (answers 400; 429 and 503 verify none). H1 says at most 3.
  idle      a real login's latency with nothing else going on
  burst     a real login's latency, and how often it got 503, while 60 clients keep sending
            wrong guesses for new usernames (60 requests always in flight), 5 logins a round

Needs `taskset` (util-linux).
"""

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from copier import run_copy

from support import BENCH_SECRET_KEY, free_port, sh, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "benchmark passphrase"
LIMIT, GUESSES, BURST, REAL_LOGINS = 3, 30, 60, 5


def render(ref: str | None, project: Path) -> None:
    answers = {"project_name": "My Service", "user_storage": "memory"}
    run_copy(
        str(ROOT), project, data=answers, defaults=True, vcs_ref=ref or "HEAD",
        unsafe=True, quiet=True,
    )  # fmt: skip
    sh(["uv", "sync", "--quiet", "--no-dev", "--python", sys.executable], cwd=project)


@contextmanager
def serve(project: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env |= {
        "SECRET_KEY": BENCH_SECRET_KEY,
        "FIRST_USER_USERNAME": "bench",
        "FIRST_USER_PASSWORD": PASSWORD,
        "LOGIN_MAX_FAILURES": str(LIMIT),
        "LOGIN_MAX_FAILURES_PER_CLIENT": "1000000",
        "LOGIN_MAX_FAILURES_PER_USERNAME": "1000000",
    }
    uvicorn = str(project / ".venv" / "bin" / "uvicorn")
    command = ["taskset", "-c", "0", uvicorn, "my_service.main:app", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--no-access-log", "--log-level", "warning"], cwd=project, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process, project.parent.name)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def form(username: str, password: str) -> dict[str, str]:
    return {"grant_type": "password", "username": username, "password": password}


async def verified_guesses(base: str) -> int:
    target = f"target-{uuid.uuid4().hex[:8]}"
    limits = httpx.Limits(max_connections=GUESSES)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        responses = await asyncio.gather(
            *(http.post("/token", data=form(target, f"guess {n}")) for n in range(GUESSES))
        )
    return sum(response.status_code == 400 for response in responses)


async def real_login(http: httpx.AsyncClient) -> tuple[float, int]:
    start = time.perf_counter()
    response = await http.post("/token", data=form("bench", PASSWORD))
    return time.perf_counter() - start, response.status_code


async def logins_in_burst(base: str) -> tuple[float, list[tuple[float, int]]]:
    """A real login idle, then REAL_LOGINS of them while BURST clients keep guessing."""
    limits = httpx.Limits(max_connections=BURST + 1)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        idle, _ = await real_login(http)
        guessing = True

        async def guess() -> None:
            while guessing:
                await http.post("/token", data=form(f"nobody-{uuid.uuid4().hex[:8]}", "guess"))

        burst = [asyncio.ensure_future(guess()) for _ in range(BURST)]
        await asyncio.sleep(0.5)  # every guesser has a request in flight
        logins = [await real_login(http) for _ in range(REAL_LOGINS)]
        guessing = False
        await asyncio.gather(*burst)
    return idle, logins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before")
    parser.add_argument("after", nargs="?", default=None, help="default: the working tree")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    names = {"before": args.before, "after": args.after or "working tree"}
    figures: dict[str, dict[str, list[float]]] = {
        name: {"guesses": [], "idle": [], "burst": [], "burst 503": []} for name in names
    }
    with tempfile.TemporaryDirectory() as workdir:
        projects = {name: Path(workdir) / name / "my-service" for name in names}
        render(args.before, projects["before"])
        render(args.after, projects["after"])
        with serve(projects["before"]) as before, serve(projects["after"]) as after:
            bases = {"before": before, "after": after}
            for _ in range(args.rounds):
                for name, base in bases.items():
                    figures[name]["guesses"].append(asyncio.run(verified_guesses(base)))
                    idle, logins = asyncio.run(logins_in_burst(base))
                    figures[name]["idle"].append(idle)
                    figures[name]["burst"] += [latency for latency, _ in logins]
                    figures[name]["burst 503"] += [float(status == 503) for _, status in logins]
    print(f"{'':8} {'ref':>14} {'verified of 30':>15} {'idle login':>11} "
          f"{'login in burst':>15} {'503 in burst':>13}")  # fmt: skip
    for name, ref in names.items():
        values = figures[name]
        print(
            f"{name:8} {ref[:14]:>14} {statistics.median(values['guesses']):>15.0f} "
            f"{statistics.median(values['idle']) * 1000:>9.0f}ms "
            f"{statistics.median(values['burst']) * 1000:>13.0f}ms "
            f"{sum(values['burst 503']):>6.0f} of {len(values['burst 503'])}"
        )


if __name__ == "__main__":
    main()
