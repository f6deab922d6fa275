import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient

SECRET_KEY = secrets.token_urlsafe(64)
ALICE = "alice"
ALICE_PASSWORD = "correct horse battery staple"

AddUser = Callable[..., None]


def login(client: TestClient, username: str, password: str, **extra: str) -> httpx2.Response:
    form = {"grant_type": "password", "username": username, "password": password, **extra}
    return client.post("/token", data=form)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def www_authenticate(response: httpx2.Response) -> str:
    assert response.status_code == 401, response.text
    return response.headers["WWW-Authenticate"]


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
