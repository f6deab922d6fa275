"""What the benchmark scripts share: running commands, and finding a free port."""

import os
import secrets
import socket
import subprocess
from typing import Any

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
