"""The rendered service against FastAPI's tutorial JWT app, side by side in one run.

    python -m uv run python benchmarks/service_vs_anchor.py [--storage memory sqlite postgres]
        [--data QUESTION=ANSWER ...] [--seconds 5] [--rounds 3] [--render-samples 24] [--suite]
        [--output FILE]

For each storage asked for (default: all three), renders that variant with the other answers at
their defaults or as --data gives them, installs it in its own environment (`uv sync`), creates
a user, and serves it with one uvicorn worker pinned to CPU 0; FastAPI's tutorial app
(`anchor/tutorial_jwt_app.py`) is served the same way, from the same environment, so both run
on the same library versions. wrk, pinned to CPU 1, drives the load. Every app is measured
once per round, rounds are interleaved, and the figures are medians:

  A  GET /health: the ceiling of the stack itself
  B  GET /users/me with a valid token: throughput and p50/p99 (B/A)
  C  POST /token: login throughput, against the Argon2 verify rate of 2 concurrent callers with
     the app's own parameters on the server's core (C/ceiling)
  D  GET /users/me while 4 clients keep logging in: throughput and p99 (D/B)
  E  startup time to the first 200 on /health, and resident memory after the round

It also times `copier copy` for every variant (the command line, as users run it) and, with
--suite, the template's whole test suite. It prints a table and writes JSON (default
benchmarks/results/service_vs_anchor.json). Needs `wrk` and `taskset` (Debian: wrk,
util-linux) and, for postgres, a server at BENCH_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/postgres) where it may create a database.
"""

import argparse
import itertools
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from support import BENCH_SECRET_KEY, free_port, sh, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
ANCHOR = ROOT / "benchmarks" / "anchor" / "tutorial_jwt_app.py"
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SERVER_CPU, LOAD_CPU = "0", "1"
PASSWORD = "benchmark passphrase"
STORMING_CLIENTS = 4
TARGETS = {
    "B/A": {"memory": 0.85, "sqlite": 0.75, "postgres": 0.70},
    "D/B rps": 0.5,
    "D/B p99": 3.0,
    "C/ceiling": 0.85,
    "startup vs anchor": 1.5,
    "memory vs anchor": 1.5,
    "render median s": 1.5,
    "suite s": 300,
}
VERIFY_RATE = """
import sys, threading, time
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
memory_cost, time_cost, parallelism = map(int, sys.argv[1:4])
hasher = Argon2Hasher(memory_cost=memory_cost, time_cost=time_cost, parallelism=parallelism)
hashes = PasswordHash((hasher,))
stored = hashes.hash("benchmark passphrase")
seconds, count, lock = float(sys.argv[4]), [0], threading.Lock()
def caller():
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        hashes.verify("benchmark passphrase", stored)
        with lock:
            count[0] += 1
threads = [threading.Thread(target=caller) for _ in range(2)]
start = time.monotonic()
[t.start() for t in threads]
[t.join() for t in threads]
print(count[0] / (time.monotonic() - start))
"""


def copier_copy(destination: Path, answers: dict[str, Any], ref: str = "HEAD") -> float:
    """Render the template at commit `ref` with the copier command line; return the wall time
    in seconds."""
    data = [arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")]
    command = [sys.executable, "-m", "copier", "copy", "--defaults", "--quiet", "--vcs-ref", ref]
    start = time.perf_counter()
    sh([*command, *data, str(ROOT), str(destination)])
    return time.perf_counter() - start


@dataclass
class App:
    """One server under test: how to start it and how to talk to it."""

    name: str
    project: Path
    target: str
    username: str
    password: str
    users_me: str
    argon2: tuple[int, int, int]
    env: dict[str, str] = field(default_factory=dict)
    app_dir: Path | None = None

    @property
    def bin(self) -> Path:
        return self.project / ".venv" / "bin"


def prepare_service(
    workdir: Path, storage: str, answers: dict[str, str], ref: str = "HEAD"
) -> tuple[App, str | None]:
    project = workdir / f"service-{storage}-{ref}"
    copier_copy(project, {**answers, "user_storage": storage}, ref)
    sh(["uv", "sync", "--quiet", "--no-dev", "--python", sys.executable], cwd=project)
    env = {
        "SECRET_KEY": BENCH_SECRET_KEY,
        "LOGIN_MAX_FAILURES": "1000000",
        "LOGIN_MAX_FAILURES_PER_USERNAME": "1000000",
        # Room for the logins still running when one phase's load ends and the next begins;
        # the bound itself, and what a burst does to it, is login_burst.py's to measure.
        "PASSWORD_HASHING_MAX_WAITING": "64",
    }
    database = None
    if storage == "memory":
        env |= {"FIRST_USER_USERNAME": "bench", "FIRST_USER_PASSWORD": PASSWORD}
    else:
        if storage == "sqlite":
            env["DATABASE_URL"] = f"sqlite:///{project / 'users.db'}"
        else:
            database = f"bench_{uuid.uuid4().hex[:10]}"
            on_server(project, f'CREATE DATABASE "{database}"')
            env["DATABASE_URL"] = SERVER.rsplit("/", 1)[0] + f"/{database}"
        cli = str(project / ".venv" / "bin" / "my-service")
        sh([cli, "create-user", "bench", "--password-stdin"], env=env, input=PASSWORD, cwd=project)
    app = App(
        name=f"service ({storage})" if ref == "HEAD" else f"{storage} at {ref}",
        project=project,
        target="my_service.main:app",
        username="bench",
        password=PASSWORD,
        users_me="/users/me",
        argon2=(19456, 2, 1),
        env=env,
    )
    return app, database


def on_server(project: Path, statement: str) -> None:
    """Run one statement on the BENCH_DATABASE_URL server, with the project's own driver."""
    script = (
        "import sys, psycopg; c = psycopg.connect(sys.argv[1], autocommit=True); "
        "c.execute(sys.argv[2])"
    )
    sh([str(project / ".venv" / "bin" / "python"), "-c", script, SERVER, statement])


def anchor_app(project: Path) -> App:
    """The tutorial app, served from a rendered project's environment (same library versions)."""
    return App(
        name="anchor (tutorial)",
        project=project,
        target="tutorial_jwt_app:app",
        username="johndoe",
        password="secret",  # noqa: S106 - the tutorial's own demo user
        users_me="/users/me/",
        argon2=(65536, 3, 4),
        app_dir=ANCHOR.parent,
    )


class Server:
    def __init__(self, app: App) -> None:
        self.app = app
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        command = ["taskset", "-c", SERVER_CPU, str(app.bin / "uvicorn"), app.target]
        command += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
        if app.app_dir:
            command += ["--app-dir", str(app.app_dir)]
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"} | app.env
        started = time.perf_counter()
        self.process = subprocess.Popen(
            command, cwd=app.project, env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until_serving(self.base, self.process, app.name)
        self.startup_s = time.perf_counter() - started

    def token(self) -> str:
        form = {"grant_type": "password", "username": self.app.username}
        form["password"] = self.app.password
        response = httpx.post(f"{self.base}/token", data=form)
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def rss_mib(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        assert match is not None
        return int(match.group(1)) / 1024

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def wrk_command(url: str, seconds: float, connections: int, extra: list[str]) -> list[str]:
    load = ["taskset", "-c", LOAD_CPU, "wrk", "--latency", "-t1", f"-c{connections}"]
    return [*load, f"-d{max(1, round(seconds))}s", "--timeout", "10s", *extra, url]


def parse_wrk(output: str, url: str) -> dict[str, float]:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate for {url}: {output}")
    figures = {"rps": float(rate.group(1))}
    for name in ("50", "99"):
        match = re.search(rf"^\s+{name}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if match:
            scale = {"us": 0.001, "ms": 1, "s": 1000}[match.group(2)]
            figures[f"p{name}_ms"] = float(match.group(1)) * scale
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses")
    return figures


def wrk(url: str, seconds: float, connections: int, extra: list[str]) -> dict[str, float]:
    return parse_wrk(sh(wrk_command(url, seconds, connections, extra)).stdout, url)


def token_script(workdir: Path, app: App) -> Path:
    script = workdir / f"token-{app.username}.lua"
    body = f"grant_type=password&username={app.username}&password={app.password.replace(' ', '+')}"
    script.write_text(
        'wrk.method = "POST"\n'
        f'wrk.body = "{body}"\n'
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
    )
    return script


def verify_ceiling(app: App, seconds: float) -> float:
    """Argon2 verifications per second by 2 concurrent callers on the server's core."""
    python = str(app.bin / "python")
    args = [*map(str, app.argon2), str(max(2.0, seconds))]
    output = sh(["taskset", "-c", SERVER_CPU, python, "-c", VERIFY_RATE, *args]).stdout
    return float(output.strip())


def measure(app: App, workdir: Path, seconds: float) -> dict[str, float]:
    server = Server(app)
    try:
        bearer = ["-H", f"Authorization: Bearer {server.token()}"]
        login = ["-s", str(token_script(workdir, app))]
        users_me = f"{server.base}{app.users_me}"
        figures = {"startup_s": server.startup_s}
        health = wrk(f"{server.base}/health", seconds, 32, [])
        protected = wrk(users_me, seconds, 32, bearer)
        logins = wrk(f"{server.base}/token", seconds, 8, login)
        # D: the login storm runs beside the protected-route load, for the same duration.
        storm = subprocess.Popen(
            wrk_command(f"{server.base}/token", seconds, STORMING_CLIENTS, login),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        during = wrk(users_me, seconds, 32, bearer)
        storm_output, _ = storm.communicate(timeout=seconds + 60)
        storm_figures = parse_wrk(storm_output, f"{server.base}/token")
        figures |= {
            "health_rps": health["rps"],
            "users_me_rps": protected["rps"],
            "users_me_p50_ms": protected["p50_ms"],
            "users_me_p99_ms": protected["p99_ms"],
            "token_rps": logins["rps"],
            "storm_users_me_rps": during["rps"],
            "storm_users_me_p99_ms": during["p99_ms"],
            "storm_token_rps": storm_figures["rps"],
            "rss_mib": server.rss_mib(),
        }
        return figures
    finally:
        server.stop()


def render_times(workdir: Path, samples: int) -> list[float]:
    answers = {
        "login_form": ["strict", "permissive"],
        "optional_auth": [True, False],
        "user_storage": ["memory", "sqlite", "postgres"],
        "oauth2_scopes": [False, True],
    }
    combinations = itertools.product(*answers.values())
    variants = [dict(zip(answers, values, strict=True)) for values in combinations]
    times = []
    for index, variant in enumerate(itertools.islice(itertools.cycle(variants), samples)):
        times.append(copier_copy(workdir / f"render-{index}", variant))
    return times


def suite_time() -> float:
    start = time.perf_counter()
    command = [sys.executable, "-m", "uv", "run", "pytest", "-q", "-p", "no:cacheprovider"]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def median_figures(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def ratios(figures: dict[str, float], ceiling: float, anchor: dict[str, float]) -> dict[str, float]:
    return {
        "B/A": figures["users_me_rps"] / figures["health_rps"],
        "C/ceiling": figures["token_rps"] / ceiling,
        "D/B rps": figures["storm_users_me_rps"] / figures["users_me_rps"],
        "D/B p99": figures["storm_users_me_p99_ms"] / figures["users_me_p99_ms"],
        "startup vs anchor": figures["startup_s"] / anchor["startup_s"],
        "memory vs anchor": figures["rss_mib"] / anchor["rss_mib"],
    }


def target_met(name: str, value: float, storage: str) -> bool:
    target = TARGETS[name]
    if isinstance(target, dict):
        target = target[storage]
    lower_is_better = name in {"D/B p99", "startup vs anchor", "memory vs anchor"}
    return value <= target if lower_is_better else value >= target


def report(results: dict[str, Any]) -> None:
    apps = results["apps"]
    columns = list(apps)
    rows = [
        ("A  /health req/s", "health_rps", "{:.0f}"),
        ("B  /users/me req/s", "users_me_rps", "{:.0f}"),
        ("B  /users/me p50 ms", "users_me_p50_ms", "{:.2f}"),
        ("B  /users/me p99 ms", "users_me_p99_ms", "{:.2f}"),
        ("C  /token req/s", "token_rps", "{:.1f}"),
        ("C  verify ceiling /s", "verify_ceiling", "{:.1f}"),
        ("D  /users/me req/s in storm", "storm_users_me_rps", "{:.0f}"),
        ("D  /users/me p99 ms in storm", "storm_users_me_p99_ms", "{:.1f}"),
        ("D  /token req/s in storm", "storm_token_rps", "{:.1f}"),
        ("E  startup s", "startup_s", "{:.2f}"),
        ("E  RSS MiB", "rss_mib", "{:.1f}"),
    ]
    width = max(len(c) for c in columns) + 2
    print(f"\n{'':<30}" + "".join(f"{c:>{width}}" for c in columns))
    for label, key, fmt in rows:
        print(f"{label:<30}" + "".join(f"{fmt.format(apps[c][key]):>{width}}" for c in columns))
    print()
    for name in ["B/A", "C/ceiling", "D/B rps", "D/B p99", "startup vs anchor", "memory vs anchor"]:
        cells = []
        for column in columns:
            value = apps[column]["ratios"][name]
            storage = apps[column].get("storage")
            mark = (
                "" if storage is None else (" ok" if target_met(name, value, storage) else " MISS")
            )
            cells.append(f"{value:.3f}{mark}")
        print(f"{name:<30}" + "".join(f"{cell:>{width}}" for cell in cells))
    render = results["render_s"]
    print(
        f"\ncopier copy: median {render['median']:.2f} s, max {render['max']:.2f} s over "
        f"{render['samples']} renders (target median <= {TARGETS['render median s']} s)"
    )
    if results.get("suite_s") is not None:
        print(f"template suite: {results['suite_s']:.0f} s (target <= {TARGETS['suite s']} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", nargs="+", default=["memory", "sqlite", "postgres"])
    parser.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="QUESTION=ANSWER",
        help="another answer for the rendered variants, e.g. login_form=permissive (repeatable)",
    )
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--render-samples", type=int, default=24)
    parser.add_argument("--suite", action="store_true", help="also time the template suite")
    parser.add_argument(
        "--output", type=Path, default=ROOT / "benchmarks" / "results" / "service_vs_anchor.json"
    )
    args = parser.parse_args()
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing (Debian: apt-get install wrk util-linux)")

    with tempfile.TemporaryDirectory(prefix="bench-") as name:
        workdir = Path(name)
        answers = dict(item.split("=", 1) for item in args.data)
        prepared = [prepare_service(workdir, storage, answers) for storage in args.storage]
        apps = [anchor_app(prepared[0][0].project)] + [app for app, _ in prepared]
        runs: dict[str, list[dict[str, float]]] = {app.name: [] for app in apps}
        try:
            for _ in range(args.rounds):
                for app in apps:
                    runs[app.name].append(measure(app, workdir, args.seconds))
            ceilings = {app.name: verify_ceiling(app, args.seconds) for app in apps}
        finally:
            for app, database in prepared:
                if database:
                    on_server(app.project, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        renders = render_times(workdir, args.render_samples)

    summary: dict[str, Any] = {}
    anchor = median_figures(runs[apps[0].name])
    for app in apps:
        figures: dict[str, Any] = median_figures(runs[app.name])
        figures["verify_ceiling"] = ceilings[app.name]
        figures["ratios"] = ratios(figures, ceilings[app.name], anchor)
        if app.name.startswith("service"):
            figures["storage"] = app.name.split("(")[1].rstrip(")")
        figures["rounds"] = runs[app.name]
        summary[app.name] = figures
    results = {
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "kernel": platform.release(),
        },
        "settings": {
            "seconds": args.seconds,
            "rounds": args.rounds,
            "server_cpu": SERVER_CPU,
            "load_cpu": LOAD_CPU,
            "storming_clients": STORMING_CLIENTS,
        },
        "targets": TARGETS,
        "apps": summary,
        "render_s": {
            "samples": len(renders),
            "median": statistics.median(renders),
            "max": max(renders),
            "all": renders,
        },
        "suite_s": suite_time() if args.suite else None,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    report(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
