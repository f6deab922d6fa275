import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI
from fastapi.testclient import TestClient

SECRET_KEY = secrets.token_urlsafe(64)
ALICE = "alice"
ALICE_PASSWORD = "correct horse battery staple"

AddUser = Callable[..., None]
StartSession = Callable[[str], tuple[str, str]]
"""Starts a session of a user, as a login would: returns the user's subject and the session id."""

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
"""A Redis server the tests may write to; each test uses keys of its own prefix."""


def require_redis() -> None:
    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        pytest.fail(
            f"Cannot reach Redis at {TEST_REDIS_URL}: {error}\n"
            "Start one (`redis-server --daemonize yes`), or point TEST_REDIS_URL at one.",
            pytrace=False,
        )


FAST_HASHING: dict[str, Any] = {"password_hash_memory_kib": 8, "password_hash_iterations": 1}
"""Argon2 parameters that cost microseconds, for tests that do not test the hashing itself."""


def environment_of(settings: dict[str, object]) -> dict[str, str]:
    """The environment variables that set these settings."""
    return {name.upper(): str(value) for name, value in settings.items()}


def login(client: TestClient, username: str, password: str, **extra: str) -> httpx2.Response:
    form = {"grant_type": "password", "username": username, "password": password, **extra}
    return client.post("/token", data=form)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def www_authenticate(response: httpx2.Response) -> str:
    assert response.status_code == 401, response.text
    return response.headers["WWW-Authenticate"]


def replace_hash(app: FastAPI, portal: BlockingPortal, username: str, password_hash: str) -> None:
    """Give a user another hash, as an older release or other settings would have made it."""
    store = app.state.services.users
    record = portal.call(store.get, username)
    assert record is not None, username
    assert portal.call(store.upgrade_password_hash, username, record.password_hash, password_hash)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class LiveServer:
    """A uvicorn process serving the app (see the `live_server` fixture)."""

    url: str
    log: Path


SCHEMATHESIS_CASES = pytest.StashKey[dict[str, int]]()
"""Test cases schemathesis ran, per kind of caller; reported at the end of the run."""
