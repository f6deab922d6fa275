"""The sessions feature against the release before it: bearer checks, refreshes, both at once.

    python -m uv run python benchmarks/sessions.py BEFORE_REF [AFTER_REF]
        [--storage memory sqlite postgres] [--seconds 5] [--rounds 3] [--output FILE]

For each storage asked for (default: all three), renders that variant at both git refs of this
template (`--defaults`; AFTER_REF defaults to HEAD, which copier takes with any uncommitted
changes of the template), installs each in its own environment (`uv sync`), migrates the SQL
ones (a fresh SQLite file, or a fresh bench_… database on BENCH_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/postgres), and serves each with one uvicorn worker pinned
to CPU 0, ENVIRONMENT=production, the user created by FIRST_USER_* at startup and the login
throttle out of the way. The load (wrk, and this process) runs on CPU 1. Rounds alternate
between the two services; the figures are medians over the rounds:

  A  GET /users/me with one valid bearer token, wrk with 32 connections: req/s and p99, before
     and after, and after/before (the issue asks for req/s after >= 0.9x before; the marker
     is information only, the exit status does not depend on it)
  B  after only: refresh grant throughput. POST /token with grant_type=refresh_token rotates:
     each refresh token works once and the answer carries the next one. 4 chains each log in
     once with the password, then keep spending the refresh token they were last given:
     refreshes/s and p50/p99 as this client sees them (httpx's own time included)
  C  after only: GET /users/me, wrk with 4 connections, quiet and then while the chains of B
     run beside it: req/s and p99 of both, and the burst's figures against A's after-figures
     (32 connections) and against the quiet 4-connection run (the like-for-like ratio)

It prints a table and writes JSON (default benchmarks/results/sessions.json). Needs `wrk` and
`taskset` (Debian: wrk, util-linux). Timings on a shared machine are noisy: read the ratios,
measured side by side in one run, not the absolute figures.
"""

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from copier import run_copy
from service_vs_anchor import SERVER, on_server, parse_wrk, wrk_command

from support import BENCH_SECRET_KEY, free_port, sh, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
SERVER_CPU, LOAD_CPU = "0", 1
USERNAME, PASSWORD = "bench", "benchmark passphrase"
BEARER_CONNECTIONS, BURST_CONNECTIONS, CHAINS = 32, 4, 4
TARGET = 0.9
"""The issue's floor for A: /users/me req/s after the change, as a share of before."""


@dataclass
class Variant:
    """One render of one storage at one ref, ready to serve."""

    side: str
    ref: str
    storage: str
    project: Path
    env: dict[str, str] = field(default_factory=dict)
    database: str | None = None


def prepare(variant: Variant) -> None:
    """Render, install and migrate one variant (its database, if any, is dropped at the end)."""
    project = variant.project
    answers = {"user_storage": variant.storage}
    run_copy(
        str(ROOT), project, data=answers, defaults=True, vcs_ref=variant.ref, unsafe=True,
        quiet=True,
    )  # fmt: skip
    sh(["uv", "sync", "--quiet", "--no-dev", "--python", sys.executable], cwd=project)
    variant.env = {
        "ENVIRONMENT": "production",
        "SECRET_KEY": BENCH_SECRET_KEY,
        "FIRST_USER_USERNAME": USERNAME,
        "FIRST_USER_PASSWORD": PASSWORD,
        "LOGIN_MAX_FAILURES": "1000000",
        "LOGIN_MAX_FAILURES_PER_CLIENT": "1000000",
        "LOGIN_MAX_FAILURES_PER_USERNAME": "1000000",
    }
    if variant.storage == "sqlite":
        variant.env["DATABASE_URL"] = f"sqlite:///{project.parent / 'users.db'}"
    elif variant.storage == "postgres":
        variant.database = f"bench_{uuid.uuid4().hex[:10]}"
        on_server(project, f'CREATE DATABASE "{variant.database}"')
        variant.env["DATABASE_URL"] = SERVER.rsplit("/", 1)[0] + f"/{variant.database}"
    if variant.storage != "memory":
        sh([str(project / ".venv" / "bin" / "my-service"), "migrate"], env=variant.env, cwd=project)


@contextmanager
def serve(variant: Variant) -> Iterator[str]:
    port = free_port()
    uvicorn = str(variant.project / ".venv" / "bin" / "uvicorn")
    command = ["taskset", "-c", SERVER_CPU, uvicorn, "my_service.main:app", "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"} | variant.env
    process = subprocess.Popen(
        [*command, "--no-access-log", "--log-level", "warning"], cwd=variant.project, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process, f"{variant.side} ({variant.storage})")
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def wrk_users_me(base: str, token: str, seconds: float, connections: int) -> list[str]:
    bearer = ["-H", f"Authorization: Bearer {token}"]
    return wrk_command(f"{base}/users/me", seconds, connections, bearer)


def wrk(command: list[str]) -> dict[str, float]:
    return parse_wrk(sh(command).stdout, command[-1])


async def log_in(http: httpx.AsyncClient) -> dict[str, Any]:
    form = {"grant_type": "password", "username": USERNAME, "password": PASSWORD}
    response = await http.post("/token", data=form)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


def access_token(base: str) -> str:
    async def get() -> str:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            token: str = (await log_in(http))["access_token"]
            return token

    return asyncio.run(get())


async def refresh_chains(
    base: str, seconds: float, alongside: list[str] | None = None
) -> tuple[dict[str, float], str | None]:
    """Figure B: CHAINS rotating refresh chains for `seconds`; with `alongside`, a command
    (wrk) started once every chain holds its refresh token, whose output is returned too."""
    limits = httpx.Limits(max_connections=CHAINS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        logins = await asyncio.gather(*(log_in(http) for _ in range(CHAINS)))
        latencies: list[float] = []
        errors = 0

        async def chain(refresh_token: str, deadline: float) -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
                start = time.perf_counter()
                response = await http.post("/token", data=form)
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - start)
                    refresh_token = response.json()["refresh_token"]
                    continue
                errors += 1
                if response.status_code == 400:  # spent or revoked: this chain starts over
                    refresh_token = (await log_in(http))["refresh_token"]

        side_load = None
        if alongside:
            side_load = subprocess.Popen(
                alongside, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        start = time.perf_counter()
        deadline = start + seconds
        await asyncio.gather(*(chain(login["refresh_token"], deadline) for login in logins))
        elapsed = time.perf_counter() - start
    output = side_load.communicate(timeout=seconds + 60)[0] if side_load else None
    if len(latencies) < 2:
        raise RuntimeError(f"{base}: {len(latencies)} refreshes succeeded, {errors} failed")
    figures = {
        "refreshes_per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": statistics.quantiles(latencies, n=100)[98] * 1000,
        "errors": errors,
    }
    return figures, output


def measure(variant: Variant, base: str, seconds: float) -> dict[str, float]:
    """One round of one service: A, and for the after side B and C."""
    token = access_token(base)
    quiet = wrk(wrk_users_me(base, token, seconds, BEARER_CONNECTIONS))
    figures = {"users_me_rps": quiet["rps"], "users_me_p99_ms": quiet["p99_ms"]}
    if variant.side == "before":
        return figures
    refreshes, _ = asyncio.run(refresh_chains(base, seconds))
    few = wrk(wrk_users_me(base, token, seconds, BURST_CONNECTIONS))
    burst_wrk = wrk_users_me(base, token, seconds, BURST_CONNECTIONS)
    in_burst, output = asyncio.run(refresh_chains(base, seconds, alongside=burst_wrk))
    assert output is not None
    burst = parse_wrk(output, burst_wrk[-1])
    return figures | {
        "refreshes_per_s": refreshes["refreshes_per_s"],
        "refresh_p50_ms": refreshes["p50_ms"],
        "refresh_p99_ms": refreshes["p99_ms"],
        "refresh_errors": refreshes["errors"],
        "quiet4_users_me_rps": few["rps"],
        "quiet4_users_me_p99_ms": few["p99_ms"],
        "burst_users_me_rps": burst["rps"],
        "burst_users_me_p99_ms": burst["p99_ms"],
        "burst_refreshes_per_s": in_burst["refreshes_per_s"],
        "burst_refresh_errors": in_burst["errors"],
    }


def run_storage(variants: dict[str, Variant], seconds: float, rounds: int) -> dict[str, Any]:
    """Serve both sides at once; alternate which goes first; medians of every figure."""
    runs: dict[str, list[dict[str, float]]] = {side: [] for side in variants}
    with serve(variants["before"]) as before, serve(variants["after"]) as after:
        bases = {"before": before, "after": after}
        for base in bases.values():  # warm-up, not counted
            wrk(wrk_users_me(base, access_token(base), 1, BEARER_CONNECTIONS))
        for round_number in range(rounds):
            order = ["before", "after"] if round_number % 2 == 0 else ["after", "before"]
            for side in order:
                runs[side].append(measure(variants[side], bases[side], seconds))
    medians = {
        side: {key: statistics.median(run[key] for run in side_runs) for key in side_runs[0]}
        for side, side_runs in runs.items()
    }
    before_figures, after_figures = medians["before"], medians["after"]
    ratios = {
        "A_rps_after_over_before": after_figures["users_me_rps"] / before_figures["users_me_rps"],
        "A_p99_after_over_before": (
            after_figures["users_me_p99_ms"] / before_figures["users_me_p99_ms"]
        ),
        "C_rps_burst_over_A_after": (
            after_figures["burst_users_me_rps"] / after_figures["users_me_rps"]
        ),
        "C_p99_burst_over_A_after": (
            after_figures["burst_users_me_p99_ms"] / after_figures["users_me_p99_ms"]
        ),
        "C_rps_burst_over_quiet4": (
            after_figures["burst_users_me_rps"] / after_figures["quiet4_users_me_rps"]
        ),
        "C_p99_burst_over_quiet4": (
            after_figures["burst_users_me_p99_ms"] / after_figures["quiet4_users_me_p99_ms"]
        ),
    }
    return {"medians": medians, "ratios": ratios, "rounds": runs}


def report(results: dict[str, Any]) -> None:
    refs = results["refs"]
    print(f"\nbefore = {refs['before']['ref']} ({refs['before']['commit']}), "
          f"after = {refs['after']['ref']} ({refs['after']['commit']}); "
          f"medians of {results['settings']['rounds']} rounds of "
          f"{results['settings']['seconds']:g} s")  # fmt: skip
    header = f"{'storage':<9}{'figure':<40}{'before':>9}{'after':>9}  ratio"
    print(f"\n{header}\n{'-' * (len(header) + 32)}")
    for storage, result in results["storages"].items():
        b, a, r = result["medians"]["before"], result["medians"]["after"], result["ratios"]
        verdict = "PASS" if r["A_rps_after_over_before"] >= TARGET else "FAIL"
        rows = [
            ("A  /users/me req/s (32 conn)", b["users_me_rps"], a["users_me_rps"], "{:.0f}",
             f"{r['A_rps_after_over_before']:.3f} after/before  {verdict} (>= {TARGET})"),
            ("A  /users/me p99 ms (32 conn)", b["users_me_p99_ms"], a["users_me_p99_ms"],
             "{:.2f}", f"{r['A_p99_after_over_before']:.3f} after/before"),
            ("B  refreshes/s (4 chains)", None, a["refreshes_per_s"], "{:.1f}", ""),
            ("B  refresh p50 ms", None, a["refresh_p50_ms"], "{:.2f}", ""),
            ("B  refresh p99 ms", None, a["refresh_p99_ms"], "{:.2f}", ""),
            ("B  refresh errors", None, a["refresh_errors"], "{:.0f}", ""),
            ("C  /users/me req/s (4 conn), quiet", None, a["quiet4_users_me_rps"], "{:.0f}",
             ""),
            ("C  /users/me req/s (4 conn), in burst", None, a["burst_users_me_rps"], "{:.0f}",
             f"{r['C_rps_burst_over_A_after']:.3f} of A after, "
             f"{r['C_rps_burst_over_quiet4']:.3f} of quiet"),
            ("C  /users/me p99 ms (4 conn), quiet", None, a["quiet4_users_me_p99_ms"],
             "{:.2f}", ""),
            ("C  /users/me p99 ms (4 conn), in burst", None, a["burst_users_me_p99_ms"],
             "{:.2f}", f"{r['C_p99_burst_over_A_after']:.3f} of A after, "
             f"{r['C_p99_burst_over_quiet4']:.3f} of quiet"),
            ("C  refreshes/s in burst", None, a["burst_refreshes_per_s"], "{:.1f}", ""),
        ]  # fmt: skip
        for index, (label, before, after, fmt, ratio) in enumerate(rows):
            cell = "-" if before is None else fmt.format(before)
            name = storage if index == 0 else ""
            print(f"{name:<9}{label:<40}{cell:>9}{fmt.format(after):>9}  {ratio}".rstrip())
        print()


def git_commit(ref: str) -> str:
    return sh(["git", "rev-parse", "--short", f"{ref}^{{commit}}"], cwd=ROOT).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="the release before sessions, e.g. 623b158")
    parser.add_argument("after", nargs="?", default="HEAD", help="default: HEAD")
    parser.add_argument("--storage", nargs="+", default=["memory", "sqlite", "postgres"])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--output", type=Path, default=ROOT / "benchmarks" / "results" / "sessions.json"
    )
    args = parser.parse_args()
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing (Debian: apt-get install wrk util-linux)")
    refs = {"before": args.before, "after": args.after}
    # Resolved before rendering: the branch may move while the benchmark runs.
    commits = {side: git_commit(ref) for side, ref in refs.items()}

    storages: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sessions-") as name:
        variants = {
            (storage, side): Variant(side, ref, storage, Path(name) / f"{side}-{storage}" / "app")
            for storage in args.storage
            for side, ref in refs.items()
        }
        try:
            for variant in variants.values():  # every render first, as close together as can be
                prepare(variant)
            os.sched_setaffinity(0, {LOAD_CPU})  # from here on this process is load, like wrk
            for storage in args.storage:
                pair = {side: variants[storage, side] for side in refs}
                storages[storage] = run_storage(pair, args.seconds, args.rounds)
        finally:
            for variant in variants.values():
                if variant.database:
                    statement = f'DROP DATABASE IF EXISTS "{variant.database}" WITH (FORCE)'
                    on_server(variant.project, statement)

    results = {
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "kernel": platform.release(),
        },
        "refs": {side: {"ref": ref, "commit": commits[side]} for side, ref in refs.items()},
        "settings": {
            "seconds": args.seconds,
            "rounds": args.rounds,
            "server_cpu": SERVER_CPU,
            "load_cpu": LOAD_CPU,
            "bearer_connections": BEARER_CONNECTIONS,
            "burst_connections": BURST_CONNECTIONS,
            "refresh_chains": CHAINS,
            "target_A_rps_ratio": TARGET,
        },
        "storages": storages,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    report(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
