"""What the benchmark scripts share: running commands, free ports, waiting for a server."""

import os
import secrets
import socket
import subprocess
import time
from typing import Any

import httpx

BENCH_SECRET_KEY = secrets.token_hex(32)
"""A signing key the services accept (a weak one, `bbbb…`, is refused outside development)."""


def sh(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command outside this environment (uv then uses the project's), raise on failure."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(kwargs.pop("env", {}))
    return subprocess.run(args, check=True, text=True, capture_output=True, env=env, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_serving(
    base: str, process: "subprocess.Popen[Any]", name: str, timeout: float = 60
) -> None:
    """Return once `base`/health answers 200; raise if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.01)
