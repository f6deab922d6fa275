"""Which PostgreSQL driver should the rendered service use? Measured on its own routes.

    python -m uv run python benchmarks/postgres_driver.py [--seconds 8] [--rounds 3]

Renders the postgres variant, installs it in its own environment, and serves the same service
three ways, one at a time, with one uvicorn worker pinned to CPU 0 while wrk, pinned to CPU 1,
drives `GET /users/me` (with a valid token) and `POST /token`:

- psycopg-sync:  psycopg 3 through SQLAlchemy's sync engine, calls in worker threads (shipped)
- psycopg-async: psycopg 3 through SQLAlchemy's async engine
- asyncpg:       asyncpg through SQLAlchemy's async engine

Rounds are interleaved (every driver once per round) and the table shows medians. Needs `wrk`
(Debian: `apt-get install wrk`), `taskset`, and a PostgreSQL server at BENCH_DATABASE_URL
(default postgresql://postgres@127.0.0.1:5432/postgres) where it may create a database.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
from copier import run_copy

from support import BENCH_SECRET_KEY, free_port, sh, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DRIVERS = {
    "psycopg-sync": ("my_service.main:app", None),
    "psycopg-async": ("async_stores:app", "psycopg_async"),
    "asyncpg": ("async_stores:app", "asyncpg"),
}
PASSWORD = "benchmark passphrase"
TOKEN_LUA = """
wrk.method = "POST"
wrk.body = "grant_type=password&username=bench&password=benchmark+passphrase"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
"""


def prepare(workdir: Path) -> tuple[Path, str]:
    project = workdir / "service"
    run_copy(
        str(ROOT),
        str(project),
        data={"user_storage": "postgres"},
        defaults=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    shutil.copy(ROOT / "benchmarks" / "async_stores.py", project / "async_stores.py")
    sh(["uv", "sync", "--quiet", "--python", sys.executable], cwd=project)
    python = str(project / ".venv" / "bin" / "python")
    sh(["uv", "pip", "install", "--quiet", "--python", python, "asyncpg", "greenlet"])
    database = f"bench_{uuid.uuid4().hex[:10]}"
    on_server(project, f'CREATE DATABASE "{database}"')
    url = SERVER.rsplit("/", 1)[0] + f"/{database}"
    env = {"SECRET_KEY": BENCH_SECRET_KEY, "DATABASE_URL": url}
    sh([str(project / ".venv" / "bin" / "my-service"), "migrate"], cwd=project, env=env)
    command = [str(project / ".venv" / "bin" / "my-service"), "create-user", "bench"]
    sh([*command, "--password-stdin"], cwd=project, env=env, input=PASSWORD + "\n")
    return project, url


def drop(project: Path, url: str) -> None:
    database = url.rsplit("/", 1)[1]
    on_server(project, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def on_server(project: Path, statement: str) -> None:
    """Run one statement on the BENCH_DATABASE_URL server, with the project's own driver."""
    script = (
        "import sys; from sqlalchemy import create_engine, text; "
        "e = create_engine(sys.argv[1].replace('postgresql://', 'postgresql+psycopg://', 1), "
        "isolation_level='AUTOCOMMIT'); "
        "e.connect().execute(text(sys.argv[2]))"
    )
    sh([str(project / ".venv" / "bin" / "python"), "-c", script, SERVER, statement])


def serve(
    project: Path, url: str, target: str, driver: str | None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update({"SECRET_KEY": BENCH_SECRET_KEY, "DATABASE_URL": url, "PYTHONPATH": str(project)})
    # Room for the logins still running when one round's load ends and the next begins.
    env["PASSWORD_HASHING_MAX_WAITING"] = "64"
    if driver:
        env["BENCH_DRIVER"] = driver
    uvicorn = str(project / ".venv" / "bin" / "uvicorn")
    command = ["taskset", "-c", "0", uvicorn, target, "--port", str(port), "--no-access-log"]
    server = subprocess.Popen(
        command,
        cwd=project,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base, server, target)
    return server, base


def wrk(url: str, seconds: int, connections: int, extra: list[str]) -> dict[str, float]:
    load = ["taskset", "-c", "1", "wrk", "--latency", "-t1", f"-c{connections}", f"-d{seconds}s"]
    output = sh([*load, *extra, url]).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    percentiles = {}
    for name in ("50", "99"):
        match = re.search(rf"^\s+{name}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        value, unit = float(match.group(1)), match.group(2)  # type: ignore[union-attr]
        percentiles[f"p{name}_ms"] = value * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} error responses")
    return {"rps": rate, **percentiles}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    results: dict[str, dict[str, list[dict[str, float]]]] = {
        driver: {"/users/me": [], "/token": []} for driver in DRIVERS
    }
    with tempfile.TemporaryDirectory() as workdir:
        project, url = prepare(Path(workdir))
        lua = Path(workdir) / "token.lua"
        lua.write_text(TOKEN_LUA)
        try:
            for _ in range(args.rounds):
                for driver, (target, async_driver) in DRIVERS.items():
                    server, base = serve(project, url, target, async_driver)
                    try:
                        form = {"grant_type": "password", "username": "bench", "password": PASSWORD}
                        token = httpx.post(f"{base}/token", data=form).json()["access_token"]
                        bearer = ["-H", f"Authorization: Bearer {token}"]
                        results[driver]["/users/me"].append(
                            wrk(f"{base}/users/me", args.seconds, 32, bearer)
                        )
                        results[driver]["/token"].append(
                            wrk(f"{base}/token", args.seconds, 8, ["-s", str(lua)])
                        )
                    finally:
                        os.killpg(server.pid, signal.SIGTERM)
                        server.wait(timeout=30)
        finally:
            drop(project, url)

    summary = {
        driver: {
            route: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
            for route, runs in routes.items()
        }
        for driver, routes in results.items()
    }
    baseline = summary["psycopg-sync"]
    header = ["driver", "route", "req/s", "p50 ms", "p99 ms", "vs shipped"]
    print(f"\n{header[0]:<15} {header[1]:<10}", *(f"{h:>10}" for h in header[2:]))
    for driver, routes in summary.items():
        for route, figures in routes.items():
            ratio = figures["rps"] / baseline[route]["rps"]
            print(
                f"{driver:<15} {route:<10} {figures['rps']:>10.1f} {figures['p50_ms']:>10.2f}"
                f" {figures['p99_ms']:>10.2f} {ratio:>9.2f}x"
            )
    output = ROOT / "benchmarks" / "results" / "postgres_driver.json"
    output.parent.mkdir(exist_ok=True)
    report = {
        "seconds": args.seconds,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "medians": summary,
        "runs": results,
    }
    output.write_text(json.dumps(report, indent=2))
    print(f"\nwritten to {output.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
