import secrets
from collections.abc import Callable

import httpx2
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
