"""A protected route before and after a change: the rendered service at two commits, side by side.

    python -m uv run python benchmarks/before_after.py --before COMMIT [--after HEAD]
        [--storage memory sqlite postgres] [--seconds 5] [--rounds 5] [--output FILE]

For each storage, renders the template at both commits (the same answers otherwise), installs
each in its own environment and serves it with one uvicorn worker pinned to CPU 0, as
`service_vs_anchor.py` does; wrk, pinned to CPU 1, drives the load. The two servers are
measured in turn, in alternating order round after round, and the figures are medians:

  A  GET /health: the ceiling of the stack, to tell a slower machine from a slower change
  B  GET /users/me with a valid bearer token: throughput and p50/p99
  K  GET /users/me with a browser session's cookie instead (where the commit has POST /session),
     and its ratio to B on the same server

It prints after/before for each figure and writes JSON (default
benchmarks/results/before_after.json). Needs what service_vs_anchor.py needs.
"""

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

import httpx
from service_vs_anchor import ROOT, App, Server, on_server, prepare_service, wrk


def session_cookie(server: Server) -> str | None:
    """A browser session's cookie, or None where the service has no POST /session."""
    credentials = {"username": server.app.username, "password": server.app.password}
    response = httpx.post(f"{server.base}/session", json=credentials)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.cookies["__Host-session"]


def measure(app: App, seconds: float) -> dict[str, float]:
    server = Server(app)
    try:
        bearer = ["-H", f"Authorization: Bearer {server.token()}"]
        health = wrk(f"{server.base}/health", seconds, 32, [])
        protected = wrk(f"{server.base}{app.users_me}", seconds, 32, bearer)
        figures = {
            "health_rps": health["rps"],
            "users_me_rps": protected["rps"],
            "users_me_p50_ms": protected["p50_ms"],
            "users_me_p99_ms": protected["p99_ms"],
        }
        cookie = session_cookie(server)
        if cookie is not None:
            header = ["-H", f"Cookie: __Host-session={cookie}"]
            by_cookie = wrk(f"{server.base}{app.users_me}", seconds, 32, header)
            figures |= {
                "cookie_users_me_rps": by_cookie["rps"],
                "cookie_users_me_p99_ms": by_cookie["p99_ms"],
                "cookie/bearer rps": by_cookie["rps"] / protected["rps"],
            }
        return figures
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the commit before the change")
    parser.add_argument("--after", default="HEAD", help="the commit after it (default HEAD)")
    parser.add_argument("--storage", nargs="+", default=["memory", "sqlite", "postgres"])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--output", type=Path, default=ROOT / "benchmarks" / "results" / "before_after.json"
    )
    args = parser.parse_args()
    results: dict[str, Any] = {"before": args.before, "after": args.after, "storages": {}}
    with tempfile.TemporaryDirectory(prefix="bench-") as name:
        workdir = Path(name)
        for storage in args.storage:
            pair = [prepare_service(workdir, storage, {}, ref) for ref in (args.before, args.after)]
            runs: list[list[dict[str, float]]] = [[], []]
            try:
                for round_number in range(args.rounds):
                    order = [0, 1] if round_number % 2 == 0 else [1, 0]
                    for index in order:
                        runs[index].append(measure(pair[index][0], args.seconds))
            finally:
                for app, database in pair:
                    if database:
                        on_server(app.project, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            medians = [
                {key: statistics.median(run[key] for run in side) for key in side[0]}
                for side in runs
            ]
            ratios = {
                key: medians[1][key] / medians[0][key] for key in medians[0] if key in medians[1]
            }
            results["storages"][storage] = {
                "before": medians[0],
                "after": medians[1],
                "after/before": ratios,
            }
            print(f"\n{storage}: {args.before} -> {args.after}, medians of {args.rounds} rounds")
            for key in medians[1]:
                if key in medians[0]:
                    print(
                        f"  {key:<24}{medians[0][key]:>10.2f}{medians[1][key]:>10.2f}"
                        f"{ratios[key]:>8.3f}"
                    )
                else:
                    print(f"  {key:<24}{'':>10}{medians[1][key]:>10.2f}")
    args.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
