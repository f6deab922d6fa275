"""What 5,000 logins of one user leave in storage (SECURITY.md W7), measured on a running server.

    python -m uv run python benchmarks/session_growth.py [--storage memory sqlite postgres]
        [--logins 5000] [--output FILE]

For each storage, renders the template at HEAD, installs it and serves it with one uvicorn
worker, as `service_vs_anchor.py` does, with its default MAX_SESSIONS_PER_USER. One user then
logs in `--logins` times from 8 concurrent clients: every other login at `POST /token`, each
followed by one refresh (so its session holds a spent and a current refresh token), the others
at `POST /session` (a cookie session). Password hashing is the development environment's cheap
one: what is measured is rows, not speed. Then it reports:

  - the sessions the user's list shows (`GET /users/me/sessions`, for every storage), against
    the cap;
  - for SQL storages, the rows of `sessions` and `refresh_tokens` and the size of the database
    (the SQLite file with its WAL, or PostgreSQL's total relation sizes), after the logins and
    again after `<slug> purge`;
  - that the newest login still works: the cap ends the oldest sessions, never the new one.

It prints a table and writes JSON (default benchmarks/results/session_growth.json).
"""

import argparse
import json
import os
import sqlite3
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from service_vs_anchor import ROOT, SERVER, App, Server, on_server, prepare_service

CLIENTS = 8
DEFAULT_CAP = 100
CHEAP_HASHING = {
    "ENVIRONMENT": "development",
    "PASSWORD_HASH_MEMORY_KIB": "8",
    "PASSWORD_HASH_ITERATIONS": "1",
}


def log_in_once(client: httpx.Client, app: App, number: int) -> str:
    """One login of the user: at /session, or at /token with a refresh after it. Returns
    "cookie", the refreshed access token, or "ended" when the refresh came too late: more
    than the cap of logins started after it (a refresh waiting for SQLite's write lock can
    see a hundred logins pass), so the cap had ended its session, the oldest."""
    credentials = {"username": app.username, "password": app.password}
    if number % 2 == 0:
        cookie = client.post("/session", json=credentials)
        assert cookie.status_code == 200, cookie.text
        return "cookie"
    token = client.post("/token", data={"grant_type": "password", **credentials})
    assert token.status_code == 200, token.text
    refresh = {"grant_type": "refresh_token", "refresh_token": token.json()["refresh_token"]}
    refreshed = client.post("/token", data=refresh)
    if refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant":
        return "ended"
    assert refreshed.status_code == 200, refreshed.text
    access_token: str = refreshed.json()["access_token"]
    return access_token


def stored_rows(app: App, database: str | None) -> dict[str, float]:
    """Rows of sessions and refresh_tokens, and the storage's size in KiB (SQL storages)."""
    count = "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM refresh_tokens)"
    if database is None:
        path = Path(app.env["DATABASE_URL"].removeprefix("sqlite:///"))
        with sqlite3.connect(path) as connection:
            sessions, tokens = connection.execute(count).fetchone()
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        return {"sessions rows": sessions, "refresh_tokens rows": tokens, "size KiB": size / 1024}
    size = "SELECT pg_total_relation_size('sessions') + pg_total_relation_size('refresh_tokens')"
    script = (
        "import sys, psycopg; c = psycopg.connect(sys.argv[1]); "
        f'print(*c.execute("{count}").fetchone(), *c.execute("{size}").fetchone())'
    )
    url = SERVER.rsplit("/", 1)[0] + f"/{database}"
    python = str(app.project / ".venv" / "bin" / "python")
    output = subprocess.run(
        [python, "-c", script, url], capture_output=True, text=True, check=True
    ).stdout
    sessions, tokens, size_bytes = map(int, output.split())
    return {"sessions rows": sessions, "refresh_tokens rows": tokens, "size KiB": size_bytes / 1024}


def measure(app: App, database: str | None, logins: int) -> dict[str, Any]:
    app.env |= CHEAP_HASHING
    server = Server(app)
    try:
        start = time.perf_counter()
        with (
            httpx.Client(base_url=server.base, timeout=30) as client,
            ThreadPoolExecutor(CLIENTS) as pool,
        ):
            outcomes = list(pool.map(lambda n: log_in_once(client, app, n), range(logins)))
            seconds = time.perf_counter() - start
            newest = next(o for o in reversed(outcomes) if o not in {"cookie", "ended"})
            me = client.get("/users/me", headers={"Authorization": f"Bearer {newest}"})
            listed = client.get("/users/me/sessions", headers={"Authorization": f"Bearer {newest}"})
        figures: dict[str, Any] = {
            "logins": logins,
            "seconds": round(seconds, 1),
            "newest login works": me.status_code == 200,
            "refreshes too late": outcomes.count("ended"),
            "sessions listed": len(listed.json()),
            "cap": DEFAULT_CAP,
        }
    finally:
        server.stop()
    if app.env.get("DATABASE_URL"):
        figures["after logins"] = stored_rows(app, database)
        cli = str(app.bin / "my-service")
        purge = subprocess.run(
            [cli, "purge"], cwd=app.project, env={**os.environ, **app.env},
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        figures["purge says"] = purge.stdout.strip()
        figures["after purge"] = stored_rows(app, database)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", nargs="+", default=["memory", "sqlite", "postgres"])
    parser.add_argument("--logins", type=int, default=5000)
    parser.add_argument(
        "--output", type=Path, default=ROOT / "benchmarks" / "results" / "session_growth.json"
    )
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as name:
        for storage in args.storage:
            app, database = prepare_service(Path(name), storage, {})
            try:
                results[storage] = figures = measure(app, database, args.logins)
            finally:
                if database:
                    on_server(app.project, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            print(f"\n{storage}: {args.logins} logins of one user in {figures['seconds']} s")
            for key, value in figures.items():
                print(f"  {key:<22}{value}")
    args.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
