"""What a legitimate user's logins get while a flood of wrong passwords fills the hashing queue.

    python -m uv run python benchmarks/hashing_flood.py [REF] [--seconds 20]
        [--scenarios NAME ...] [--output FILE]

Issue 29, item 5(b). Renders the memory variant at REF (default HEAD, resolved to its commit
first, so uncommitted changes of the template are not rendered), installs it (`uv sync
--no-dev`) and, for each scenario, starts a fresh service (fresh failure counts): one uvicorn
worker pinned to CPU 0, ENVIRONMENT=production, production password hashing (no
PASSWORD_HASH_* set: OWASP's minimum Argon2id; on one CPU, one hashing thread and 8 hashes
waiting, beyond which a login gets 503 temporarily_unavailable), FIRST_USER_* set and the
default LOGIN_MAX_FAILURES* limits unless the scenario says otherwise. uvicorn trusts
X-Forwarded-For from 127.0.0.1 by default, so every request below says which client address
it comes from with that header.

During --seconds, a legitimate user (198.51.100.7) tries one login with the right password
every 0.5 s (the next attempt at the next 0.5 s tick after an answer: never two at once),
while an attacker, a separate process, keeps ATTACKERS requests in flight with wrong
passwords for random unknown usernames, from half a second before the user's first login:

  quiet                no attacker
  one address          every attacker request from 203.0.113.9
  rotating             every attacker request from a new random address in 10.0.0.0/8
  one address, fair    one address, served with per-address admission (below)
  rotating, fair       rotating, served with per-address admission
  one address, no client limit           one address, LOGIN_MAX_FAILURES_PER_CLIENT=1000000:
  one address, no client limit, fair     what per-address admission does on its own

Per-address admission is a PROTOTYPE measured by this benchmark only, not part of the template:
a wrapper module written into the rendered project (FAIR_ADMISSION below) and served as
`fair_admission:app` instead of `my_service.main:app`. It builds the app with create_app(),
lets a tiny ASGI middleware put each request's client address (scope["client"], X-Forwarded-For
already applied by uvicorn) in a contextvar, and wraps `Passwords._run` of the app's Passwords
instance so that one address has at most PER_ADDRESS hashes pending; beyond them,
HashingBusyError, i.e. 503, as when the whole queue is full.

Per scenario, the table shows the user's logins: attempted, 200, 503, 429, other; the median
and p90 latency of the successful ones; then the attacker's answers per second and their
status mix (400: a password verified and wrong, 429: throttled, 503: hashing busy). The JSON
(default benchmarks/results/hashing_flood.json) also holds each of the user's attempts: when,
what status, how long. The load runs on CPU 1, the attacker in a process of its own, each of
its 60 loops with its own httpx client: it answers as fast as one core of httpx sends, a few
hundred requests a second (most of them 503s, answered without hashing, on the same CPU as the
hashing thread). Needs `taskset` (util-linux).
"""

import argparse
import asyncio
import ipaddress
import json
import multiprocessing
import os
import platform
import random
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from copier import run_copy

from support import BENCH_SECRET_KEY, free_port, sh, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
SERVER_CPU, LOAD_CPU = "0", 1
USERNAME, PASSWORD = "bench", "benchmark passphrase"
USER_ADDRESS, ATTACKER_ADDRESS = "198.51.100.7", "203.0.113.9"
ROTATING_NETWORK = ipaddress.IPv4Network("10.0.0.0/8")
ATTACKERS = 60
"""Attacker requests kept in flight."""
LOGIN_INTERVAL = 0.5
"""Seconds between the legitimate user's login attempts."""
HEAD_START = 0.5
"""Seconds the attacker runs before the user's first login: every request in flight."""
PER_ADDRESS = 2
"""Per-address admission: hashes one client address may have pending."""
SERVED, FAIR = "my_service.main:app", "fair_admission:app"

FAIR_ADMISSION = f'''"""PROTOTYPE, benchmark only: per-address admission to the hashing queue.

Written into a rendered project by benchmarks/hashing_flood.py, which serves it as
`uvicorn fair_admission:app`; not part of the template. The service as create_app() builds it,
except that one client address may have at most PER_ADDRESS hashes pending: beyond them,
HashingBusyError (503 temporarily_unavailable), as when the whole queue is full.
"""

from collections import Counter
from contextlib import asynccontextmanager
from contextvars import ContextVar

from my_service.auth.passwords import HashingBusyError
from my_service.main import create_app

PER_ADDRESS = {PER_ADDRESS}
client_address = ContextVar("client_address", default=None)


class ClientAddress:
    """Puts the request's client address in `client_address`: uvicorn has already replaced
    scope["client"] with X-Forwarded-For's address (from a trusted proxy)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        client = scope.get("client")
        token = client_address.set(client[0] if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            client_address.reset(token)


def admit_per_address(passwords):
    """Every hash (verify, dummy verify, new hash) goes through `_run`: wrap the instance's.
    Runs on the event loop only, so the counts need no lock."""
    run = passwords._run
    pending = Counter()

    async def admitted_run(function, *args):
        address = client_address.get()
        if address is None:
            return await run(function, *args)
        if pending[address] >= PER_ADDRESS:
            raise HashingBusyError
        pending[address] += 1
        try:
            return await run(function, *args)
        finally:
            pending[address] -= 1
            if not pending[address]:
                del pending[address]

    passwords._run = admitted_run


app = create_app()
app.add_middleware(ClientAddress)
_shipped_lifespan = app.router.lifespan_context


@asynccontextmanager
async def _lifespan(app):
    async with _shipped_lifespan(app):
        admit_per_address(app.state.services.passwords)  # the instance Login holds too
        yield


app.router.lifespan_context = _lifespan
'''


@dataclass(frozen=True)
class Scenario:
    name: str
    attacker: str | None
    """None, "one" (ATTACKER_ADDRESS) or "rotating" (a new address per request)."""
    target: str = SERVED
    env: dict[str, str] = field(default_factory=dict)


NO_CLIENT_LIMIT = {"LOGIN_MAX_FAILURES_PER_CLIENT": "1000000"}
SCENARIOS = [
    Scenario("quiet", None),
    Scenario("one address", "one"),
    Scenario("rotating", "rotating"),
    Scenario("one address, fair", "one", FAIR),
    Scenario("rotating, fair", "rotating", FAIR),
    Scenario("one address, no client limit", "one", SERVED, NO_CLIENT_LIMIT),
    Scenario("one address, no client limit, fair", "one", FAIR, NO_CLIENT_LIMIT),
]


def render(commit: str, project: Path) -> None:
    answers = {"project_name": "My Service", "user_storage": "memory"}
    run_copy(
        str(ROOT), project, data=answers, defaults=True, vcs_ref=commit, unsafe=True, quiet=True
    )
    sh(["uv", "sync", "--quiet", "--no-dev", "--python", sys.executable], cwd=project)
    (project / "fair_admission.py").write_text(FAIR_ADMISSION)


@contextmanager
def serve(project: Path, scenario: Scenario) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env |= {
        "ENVIRONMENT": "production",
        "SECRET_KEY": BENCH_SECRET_KEY,
        "FIRST_USER_USERNAME": USERNAME,
        "FIRST_USER_PASSWORD": PASSWORD,
        "PYTHONPATH": str(project),
        **scenario.env,
    }
    uvicorn = str(project / ".venv" / "bin" / "uvicorn")
    command = ["taskset", "-c", SERVER_CPU, uvicorn, scenario.target, "--port", str(port)]
    # Every refused guess is logged: to a file, where its cost stays the service's.
    with (project.parent / "service.log").open("w") as log:
        process = subprocess.Popen(
            [*command, "--no-access-log", "--log-level", "warning"],
            cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process, scenario.name)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def form(username: str, password: str) -> dict[str, str]:
    return {"grant_type": "password", "username": username, "password": password}


def attack(base: str, mode: str, seconds: float, results: "multiprocessing.Queue[Any]") -> None:
    """The attacker's process: ATTACKERS loops of wrong guesses for `seconds`; its figures."""
    results.put(asyncio.run(guesses(base, mode, seconds)))


async def guesses(base: str, mode: str, seconds: float) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    used: set[int] = set()

    def address() -> str:
        if mode == "one":
            return ATTACKER_ADDRESS
        while True:  # never the same address twice
            offset = random.randrange(ROTATING_NETWORK.num_addresses)  # noqa: S311
            if offset not in used:
                used.add(offset)
                return str(ROTATING_NETWORK[offset])

    tls = ssl.create_default_context()  # unused (plain HTTP), but costly to make 60 times
    start = time.perf_counter()
    deadline = start + seconds

    async def guesser() -> None:
        # A client, and so a connection pool, each: httpx's pool costs O(connections x waiting
        # requests) per request, which for one pool of 60 made this process the bottleneck.
        async with httpx.AsyncClient(base_url=base, timeout=60, verify=tls) as http:
            while time.perf_counter() < deadline:
                guess = form(f"nobody-{uuid.uuid4().hex[:12]}", "wrong guess")
                headers = {"X-Forwarded-For": address()}
                try:
                    response = await http.post("/token", data=guess, headers=headers)
                except httpx.TransportError as error:
                    statuses[type(error).__name__] += 1
                    continue
                statuses[str(response.status_code)] += 1

    await asyncio.gather(*(guesser() for _ in range(ATTACKERS)))
    elapsed = time.perf_counter() - start
    answered = sum(n for status, n in statuses.items() if status.isdigit())
    return {
        "seconds": elapsed,
        "answered": answered,
        "answered_per_s": answered / elapsed,
        "statuses": dict(sorted(statuses.items())),
        "addresses": len(used) if mode == "rotating" else 1,
    }


async def legitimate_user(base: str, seconds: float) -> list[dict[str, Any]]:
    """A login with the right password at each LOGIN_INTERVAL tick, one at a time."""
    headers = {"X-Forwarded-For": USER_ADDRESS}
    attempts: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        start = time.perf_counter()
        tick = 0
        while tick * LOGIN_INTERVAL < seconds:
            await asyncio.sleep(max(0.0, start + tick * LOGIN_INTERVAL - time.perf_counter()))
            sent = time.perf_counter()
            try:
                response = await http.post("/token", data=form(USERNAME, PASSWORD))
                status = str(response.status_code)
            except httpx.TransportError as error:
                status = type(error).__name__
            answered = time.perf_counter()
            attempts.append(
                {"at_s": sent - start, "status": status, "latency_ms": (answered - sent) * 1000}
            )
            # The next tick after the answer: a slow answer skips ticks, never overlaps.
            tick = max(tick + 1, int((answered - start) / LOGIN_INTERVAL) + 1)
    return attempts


def run_scenario(project: Path, scenario: Scenario, seconds: float) -> dict[str, Any]:
    with serve(project, scenario) as base:
        # Not counted: the service's first login (what it loads at the first request).
        headers = {"X-Forwarded-For": USER_ADDRESS}
        login = httpx.post(f"{base}/token", data=form(USERNAME, PASSWORD), headers=headers)
        login.raise_for_status()
        attacker = None
        if scenario.attacker:
            results: multiprocessing.Queue[Any] = multiprocessing.Queue()
            attacker = multiprocessing.Process(
                target=attack, args=(base, scenario.attacker, HEAD_START + seconds, results)
            )
            attacker.start()
            time.sleep(HEAD_START)
        attempts = asyncio.run(legitimate_user(base, seconds))
        flood = None
        if attacker:
            flood = results.get(timeout=seconds + 120)
            attacker.join(timeout=30)
    statuses = Counter(attempt["status"] for attempt in attempts)
    ok = [attempt["latency_ms"] for attempt in attempts if attempt["status"] == "200"]
    return {
        "target": scenario.target,
        "attacker": scenario.attacker,
        "env": scenario.env,
        "user": {
            "attempted": len(attempts),
            "200": statuses["200"],
            "503": statuses["503"],
            "429": statuses["429"],
            "other": len(attempts) - statuses["200"] - statuses["503"] - statuses["429"],
            "ok_median_ms": statistics.median(ok) if ok else None,
            "ok_p90_ms": statistics.quantiles(ok, n=10)[8] if len(ok) > 1 else None,
            "attempts": attempts,
        },
        "attacker_figures": flood,
    }


def report(scenarios: dict[str, Any], seconds: float) -> None:
    print(f"\n{seconds:g} s per scenario; the user (right password) every {LOGIN_INTERVAL:g} s; "
          f"the attacker {ATTACKERS} requests in flight\n")  # fmt: skip
    header = (
        f"{'scenario':<36}{'tried':>6}{'200':>5}{'503':>5}{'429':>5}{'other':>6}"
        f"{'ok p50':>9}{'ok p90':>9}{'attack/s':>10}  attacker statuses"
    )
    print(f"{header}\n{'-' * (len(header) + 24)}")
    for name, result in scenarios.items():
        user, flood = result["user"], result["attacker_figures"]

        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.0f}ms"

        rate = "-" if flood is None else f"{flood['answered_per_s']:.0f}"
        mix = (
            "-"
            if flood is None
            else ", ".join(f"{status}: {n}" for status, n in flood["statuses"].items())
        )
        print(
            f"{name:<36}{user['attempted']:>6}{user['200']:>5}{user['503']:>5}{user['429']:>5}"
            f"{user['other']:>6}{ms(user['ok_median_ms']):>9}{ms(user['ok_p90_ms']):>9}"
            f"{rate:>10}  {mix}"
        )


def git_commit(ref: str) -> str:
    return sh(["git", "rev-parse", "--short", f"{ref}^{{commit}}"], cwd=ROOT).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ref", nargs="?", default="HEAD", help="default: HEAD")
    parser.add_argument("--seconds", type=float, default=20)
    names = [scenario.name for scenario in SCENARIOS]
    parser.add_argument("--scenarios", nargs="+", choices=names, default=names)
    parser.add_argument(
        "--output", type=Path, default=ROOT / "benchmarks" / "results" / "hashing_flood.json"
    )
    args = parser.parse_args()
    # Resolved before rendering: the branch may move, and the template change, while it runs.
    commit = git_commit(args.ref)

    scenarios: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-hashing-flood-") as workdir:
        project = Path(workdir) / "my-service"
        render(commit, project)
        os.sched_setaffinity(0, {LOAD_CPU})  # from here on this process (and the attacker) is load
        for scenario in SCENARIOS:
            if scenario.name in args.scenarios:
                scenarios[scenario.name] = run_scenario(project, scenario, args.seconds)
    report(scenarios, args.seconds)

    results = {
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "kernel": platform.release(),
        },
        "ref": {"ref": args.ref, "commit": commit},
        "settings": {
            "seconds": args.seconds,
            "attackers_in_flight": ATTACKERS,
            "login_interval_s": LOGIN_INTERVAL,
            "attacker_head_start_s": HEAD_START,
            "user_address": USER_ADDRESS,
            "attacker_address": ATTACKER_ADDRESS,
            "rotating_network": str(ROTATING_NETWORK),
            "fair_hashes_per_address": PER_ADDRESS,
            "server_cpu": SERVER_CPU,
            "load_cpu": LOAD_CPU,
        },
        "scenarios": scenarios,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
