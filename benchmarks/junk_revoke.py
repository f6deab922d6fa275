"""What junk POST /revoke calls do to a real login on SQLite, before and after they cost no write.

    python -m uv run python benchmarks/junk_revoke.py BEFORE_REF [AFTER_REF] [--rounds 3]
        [--logins 20] [--rate 70] [--output FILE]

Issue 29, item 5(a). Renders the SQLite variant (`user_storage=sqlite`, the default answers
otherwise) at both git refs of this template: BEFORE_REF, e.g. 7369476 (the commit before an
unknown token cost one read and no write), and AFTER_REF, by default HEAD. Both are resolved to
commits first, so uncommitted changes of the template are not rendered. Installs each in its
own environment (`uv sync --no-dev`), migrates a fresh SQLite file for each (`my-service
migrate`), and serves each with one uvicorn worker pinned to CPU 0, ENVIRONMENT=production,
production password hashing (OWASP's minimum Argon2id), the user made by FIRST_USER_* at
startup and the login throttle out of the way (LOGIN_MAX_FAILURES* = 1000000). The load runs
on CPU 1. Both services run at once; rounds alternate which one goes first. Each round, on
each service:

  quiet       --logins sequential real logins (POST /token, right password): median latency
  in junk     the same while a background task sends POST /revoke with `token=<random junk>`
              at a steady --rate per second (one request per time slot, each on its own: a
              slow answer does not delay the next), started a second before the first login
  junk/quiet  in junk / quiet
  revoke      the junk revokes' own median latency; their status codes and the rate they were
              really sent at are printed beside it

The figures are medians over every login (or revoke) of every round. It prints a table and
writes JSON (default benchmarks/results/junk_revoke.json). Needs `taskset` (util-linux).
"""

import argparse
import asyncio
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from copier import run_copy

from support import BENCH_SECRET_KEY, free_port, sh, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
SERVER_CPU, LOAD_CPU = "0", 1
USERNAME, PASSWORD = "bench", "benchmark passphrase"
WARM_UP_SECONDS = 1.0
"""How long the junk revokes run before the first login under them."""


def render(commit: str, project: Path) -> dict[str, str]:
    """Render, install and migrate the SQLite variant; the environment to serve it with."""
    answers = {"project_name": "My Service", "user_storage": "sqlite"}
    run_copy(
        str(ROOT), project, data=answers, defaults=True, vcs_ref=commit, unsafe=True, quiet=True
    )
    sh(["uv", "sync", "--quiet", "--no-dev", "--python", sys.executable], cwd=project)
    env = {
        "ENVIRONMENT": "production",
        "SECRET_KEY": BENCH_SECRET_KEY,
        "DATABASE_URL": f"sqlite:///{project.parent / 'users.db'}",
        "FIRST_USER_USERNAME": USERNAME,
        "FIRST_USER_PASSWORD": PASSWORD,
        "LOGIN_MAX_FAILURES": "1000000",
        "LOGIN_MAX_FAILURES_PER_CLIENT": "1000000",
        "LOGIN_MAX_FAILURES_PER_USERNAME": "1000000",
    }
    sh([str(project / ".venv" / "bin" / "my-service"), "migrate"], cwd=project, env=env)
    return env


@contextmanager
def serve(project: Path, service_env: dict[str, str], name: str) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"} | service_env
    uvicorn = str(project / ".venv" / "bin" / "uvicorn")
    command = ["taskset", "-c", SERVER_CPU, uvicorn, "my_service.main:app", "--port", str(port)]
    # The service logs every login: to a file, not into the table.
    with (project.parent / "service.log").open("w") as log:
        process = subprocess.Popen(
            [*command, "--no-access-log", "--log-level", "warning"],
            cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process, name)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


async def logins(http: httpx.AsyncClient, count: int) -> list[float]:
    """`count` real logins one after the other: their latencies (each must succeed)."""
    form = {"grant_type": "password", "username": USERNAME, "password": PASSWORD}
    latencies = []
    for _ in range(count):
        start = time.perf_counter()
        response = await http.post("/token", data=form)
        latencies.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"a real login got {response.status_code}: {response.text}")
    return latencies


async def junk_revokes(http: httpx.AsyncClient, rate: float, stop: asyncio.Event) -> dict[str, Any]:
    """POST /revoke with random junk, one per 1/rate s slot, until `stop`: what they got."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()

    async def revoke() -> None:
        start = time.perf_counter()
        try:
            response = await http.post("/revoke", data={"token": secrets.token_urlsafe(32)})
        except httpx.TransportError as error:
            statuses[type(error).__name__] += 1
            return
        latencies.append(time.perf_counter() - start)
        statuses[str(response.status_code)] += 1

    in_flight: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    sent = 0
    while not stop.is_set():
        task = asyncio.create_task(revoke())
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        sent += 1
        await asyncio.sleep(max(0.0, start + sent / rate - time.perf_counter()))
    elapsed = time.perf_counter() - start
    await asyncio.gather(*in_flight)
    return {"sent": sent, "seconds": elapsed, "latencies": latencies, "statuses": statuses}


async def one_round(base: str, count: int, rate: float) -> dict[str, Any]:
    """Quiet logins, then logins under junk revokes, on one service."""
    # Enough connections for every revoke in flight, even a slow one per slot for seconds.
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
    async with (
        httpx.AsyncClient(base_url=base, timeout=60) as login_http,
        httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as junk_http,
    ):
        await logins(login_http, 1)  # the connection, and the first request's imports
        quiet = await logins(login_http, count)
        stop = asyncio.Event()
        junk = asyncio.create_task(junk_revokes(junk_http, rate, stop))
        await asyncio.sleep(WARM_UP_SECONDS)
        in_junk = await logins(login_http, count)
        stop.set()
        revokes = await junk
    return {"quiet": quiet, "in_junk": in_junk, "revokes": revokes}


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def git_commit(ref: str) -> str:
    return sh(["git", "rev-parse", "--short", f"{ref}^{{commit}}"], cwd=ROOT).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="the commit before the fix, e.g. 7369476")
    parser.add_argument("after", nargs="?", default="HEAD", help="default: HEAD")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--logins", type=int, default=20, help="real logins per round and phase")
    parser.add_argument("--rate", type=float, default=70, help="junk revokes per second")
    parser.add_argument(
        "--output", type=Path, default=ROOT / "benchmarks" / "results" / "junk_revoke.json"
    )
    args = parser.parse_args()
    refs = {"before": args.before, "after": args.after}
    # Resolved before rendering: the branch may move, and the template change, while it runs.
    commits = {side: git_commit(ref) for side, ref in refs.items()}

    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in refs}
    with tempfile.TemporaryDirectory(prefix="bench-junk-revoke-") as workdir:
        projects = {side: Path(workdir) / side / "my-service" for side in refs}
        envs = {side: render(commits[side], projects[side]) for side in refs}
        os.sched_setaffinity(0, {LOAD_CPU})  # from here on this process is load
        with (
            serve(projects["before"], envs["before"], "before") as before,
            serve(projects["after"], envs["after"], "after") as after,
        ):
            bases = {"before": before, "after": after}
            for round_number in range(args.rounds):
                order = ["before", "after"] if round_number % 2 == 0 else ["after", "before"]
                for side in order:
                    runs[side].append(asyncio.run(one_round(bases[side], args.logins, args.rate)))

    sides: dict[str, Any] = {}
    for side, side_runs in runs.items():
        quiet = [latency for run in side_runs for latency in run["quiet"]]
        in_junk = [latency for run in side_runs for latency in run["in_junk"]]
        revokes = [latency for run in side_runs for latency in run["revokes"]["latencies"]]
        statuses: Counter[str] = Counter()
        for run in side_runs:
            statuses.update(run["revokes"]["statuses"])
        sent = sum(run["revokes"]["sent"] for run in side_runs)
        seconds = sum(run["revokes"]["seconds"] for run in side_runs)
        sides[side] = {
            "ref": refs[side],
            "commit": commits[side],
            "quiet_login_median_ms": median_ms(quiet),
            "junk_login_median_ms": median_ms(in_junk),
            "junk_over_quiet": statistics.median(in_junk) / statistics.median(quiet),
            "revoke_median_ms": median_ms(revokes),
            "revoke_p90_ms": statistics.quantiles(revokes, n=10)[8] * 1000,
            "revoke_statuses": dict(sorted(statuses.items())),
            "revokes_sent_per_s": sent / seconds,
            "rounds": [
                {
                    "quiet_login_ms": [latency * 1000 for latency in run["quiet"]],
                    "junk_login_ms": [latency * 1000 for latency in run["in_junk"]],
                    "revokes_sent": run["revokes"]["sent"],
                    "revoke_seconds": run["revokes"]["seconds"],
                    "revoke_median_ms": median_ms(run["revokes"]["latencies"]),
                    "revoke_statuses": dict(run["revokes"]["statuses"]),
                }
                for run in side_runs
            ],
        }

    print(f"\nmedians of {args.rounds} rounds x {args.logins} logins; junk revokes at "
          f"{args.rate:g}/s\n")  # fmt: skip
    header = (
        f"{'side':<7} {'ref':>8} {'commit':>8} {'quiet login':>12} {'login in junk':>14} "
        f"{'junk/quiet':>11} {'junk revoke':>12}  revokes sent, statuses"
    )
    print(f"{header}\n{'-' * len(header)}")
    for side, figures in sides.items():
        mix = ", ".join(f"{status}: {n}" for status, n in figures["revoke_statuses"].items())
        print(
            f"{side:<7} {figures['ref'][:8]:>8} {figures['commit']:>8} "
            f"{figures['quiet_login_median_ms']:>10.0f}ms "
            f"{figures['junk_login_median_ms']:>12.0f}ms "
            f"{figures['junk_over_quiet']:>10.2f}x "
            f"{figures['revoke_median_ms']:>10.1f}ms  "
            f"{figures['revokes_sent_per_s']:.1f}/s, {mix}"
        )

    results = {
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "kernel": platform.release(),
        },
        "settings": {
            "rounds": args.rounds,
            "logins_per_phase": args.logins,
            "junk_revokes_per_s": args.rate,
            "warm_up_seconds": WARM_UP_SECONDS,
            "server_cpu": SERVER_CPU,
            "load_cpu": LOAD_CPU,
            "storage": "sqlite",
        },
        "sides": sides,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
