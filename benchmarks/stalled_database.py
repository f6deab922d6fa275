"""What requests get while another transaction holds PostgreSQL's users table locked.

    python -m uv run python benchmarks/stalled_database.py [REF ...] [--lock-seconds 20]

For each git ref of this template (default: HEAD), renders the PostgreSQL variant with the
default answers, installs it (`uv sync --no-dev`), migrates a fresh bench_… database on
BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres) and serves it with one
uvicorn worker and the default settings (DATABASE_TIMEOUT_SECONDS, a pool of 10 + 10). It logs
in, then another connection takes `LOCK TABLE users IN ACCESS EXCLUSIVE MODE` and holds it for
--lock-seconds, as an operator's or a migration's lock would, while these requests go out at
once: 40 GET /users/me, a password grant, a refresh grant, a /revoke and a /health/ready. It
prints, per request kind, the statuses and the median and longest time to the answer, and
whether each answer came before the lock was released. Writes benchmarks/results/
stalled_database.json.
"""

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from copier import run_copy

from support import BENCH_SECRET_KEY, free_port, sh, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "benchmark passphrase"
CONCURRENT_READS = 40


def render(ref: str, project: Path) -> None:
    answers = {"project_name": "My Service", "user_storage": "postgres"}
    run_copy(str(ROOT), project, data=answers, defaults=True, vcs_ref=ref, unsafe=True, quiet=True)
    sh(["uv", "sync", "--quiet", "--no-dev", "--python", sys.executable], cwd=project)


@contextmanager
def database() -> Iterator[str]:
    name = f"bench_{uuid.uuid4().hex[:12]}"
    sh(["psql", "-X", "-q", SERVER, "-c", f'CREATE DATABASE "{name}"'])
    try:
        yield f"{SERVER.rsplit('/', 1)[0]}/{name}"
    finally:
        sh(["psql", "-X", "-q", SERVER, "-c", f'DROP DATABASE "{name}" WITH (FORCE)'])


@contextmanager
def serve(project: Path, database_url: str) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env |= {
        "SECRET_KEY": BENCH_SECRET_KEY,
        "DATABASE_URL": database_url,
        "FIRST_USER_USERNAME": "bench",
        "FIRST_USER_PASSWORD": PASSWORD,
    }
    sh([str(project / ".venv" / "bin" / "my-service"), "migrate"], cwd=project, env=env)
    uvicorn = str(project / ".venv" / "bin" / "uvicorn")
    process = subprocess.Popen(
        [uvicorn, "my_service.main:app", "--port", str(port), "--no-access-log",
         "--log-level", "critical"],
        cwd=project, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process, project.parent.name)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


async def timed(name: str, request: Awaitable[httpx.Response]) -> tuple[str, float, int]:
    start = time.perf_counter()
    try:
        status = (await request).status_code
    except httpx.TimeoutException:
        status = 0
    return name, time.perf_counter() - start, status


async def under_lock(
    base: str, database_url: str, lock_seconds: float
) -> list[tuple[str, float, int]]:
    limits = httpx.Limits(max_connections=CONCURRENT_READS + 10)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as http:
        form = {"grant_type": "password", "username": "bench", "password": PASSWORD}
        tokens = (await http.post("/token", data=form)).json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        revoke = {"token": tokens["refresh_token"]}
        # psql holds the lock in a session of its own, and says when it has it.
        locker = subprocess.Popen(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", database_url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert locker.stdin is not None
        assert locker.stdout is not None
        locker.stdin.write(
            "BEGIN;\nLOCK TABLE users IN ACCESS EXCLUSIVE MODE;\n\\echo locked\n"
            f"SELECT pg_sleep({lock_seconds});\nCOMMIT;\n"
        )
        locker.stdin.close()
        if locker.stdout.readline().strip() != "locked":
            raise RuntimeError("psql could not lock the users table")
        requests = [
            *(timed("GET /users/me", http.get("/users/me", headers=bearer))
              for _ in range(CONCURRENT_READS)),
            timed("password grant", http.post("/token", data=form)),
            timed("refresh grant", http.post("/token", data=refresh)),
            timed("POST /revoke", http.post("/revoke", data=revoke)),
            timed("GET /health/ready", http.get("/health/ready")),
        ]  # fmt: skip
        answers = await asyncio.gather(*requests)
        locker.wait()
        return list(answers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("refs", nargs="*", default=["HEAD"])
    parser.add_argument("--lock-seconds", type=float, default=20)
    parser.add_argument("--output", default=str(ROOT / "benchmarks/results/stalled_database.json"))
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, object]]] = {}
    with tempfile.TemporaryDirectory() as workdir:
        for ref in args.refs:
            project = Path(workdir) / ref / "my-service"
            render(ref, project)
            with database() as database_url, serve(project, database_url) as base:
                answers = asyncio.run(under_lock(base, database_url, args.lock_seconds))
            kinds: dict[str, list[tuple[float, int]]] = {}
            for name, seconds, status in answers:
                kinds.setdefault(name, []).append((seconds, status))
            results[ref] = {
                name: {
                    "statuses": sorted({status for _, status in values}),
                    "median_seconds": statistics.median(seconds for seconds, _ in values),
                    "longest_seconds": max(seconds for seconds, _ in values),
                    "before_the_lock_ended": all(s < args.lock_seconds for s, _ in values),
                }
                for name, values in kinds.items()
            }
    print(f"lock held {args.lock_seconds:.0f} s; {CONCURRENT_READS} GET /users/me at once")
    print(f"{'ref':>10} {'request':>18} {'statuses':>10} {'median':>8} {'longest':>8} "
          f"{'before unlock':>14}")  # fmt: skip
    for ref, kinds_of_ref in results.items():
        for name, figures in kinds_of_ref.items():
            statuses = ",".join(str(status) for status in figures["statuses"])  # type: ignore[attr-defined]
            print(
                f"{ref[:10]:>10} {name:>18} {statuses:>10} "
                f"{figures['median_seconds']:>7.1f}s {figures['longest_seconds']:>7.1f}s "
                f"{'yes' if figures['before_the_lock_ended'] else 'no':>14}"
            )
    Path(args.output).write_text(
        json.dumps({"lock_seconds": args.lock_seconds, **results}, indent=2)
    )


if __name__ == "__main__":
    main()
