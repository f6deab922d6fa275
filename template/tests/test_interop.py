"""Real OAuth2 clients, configured as their users would, against the running service.

security.md R3 (clients raise their own invalid_grant error) and T9 (requests-oauthlib's
default `Authorization: Basic client_id:` is accepted).
"""

import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from oauthlib.oauth2 import InvalidGrantError, LegacyApplicationClient
from requests_oauthlib import OAuth2Session

from .helpers import ALICE, ALICE_PASSWORD, LiveServer

CLIENT_ID = "first-party-client"


@pytest.fixture
def plain_http_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """oauthlib refuses plain HTTP unless told; the test server listens on 127.0.0.1 only."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def test_r3_authlib_logs_in_and_calls_a_protected_route(live_server: LiveServer) -> None:
    with OAuth2Client(client_id=CLIENT_ID) as client:
        token = client.fetch_token(
            f"{live_server.url}/token", username=ALICE, password=ALICE_PASSWORD
        )
        me = client.get(f"{live_server.url}/users/me")

    assert token["token_type"] == "bearer"
    assert me.status_code == 200
    assert me.json()["username"] == ALICE


def test_r3_authlib_raises_invalid_grant_for_a_wrong_password(live_server: LiveServer) -> None:
    with OAuth2Client(client_id=CLIENT_ID) as client, pytest.raises(OAuthError) as error:
        client.fetch_token(f"{live_server.url}/token", username=ALICE, password="wrong")

    assert error.value.error == "invalid_grant"


@pytest.mark.usefixtures("plain_http_allowed")
def test_t9_requests_oauthlib_logs_in_with_its_default_client_authentication(
    live_server: LiveServer,
) -> None:
    session = OAuth2Session(client=LegacyApplicationClient(client_id=CLIENT_ID))

    token = session.fetch_token(
        f"{live_server.url}/token", username=ALICE, password=ALICE_PASSWORD, client_id=CLIENT_ID
    )
    me = session.get(f"{live_server.url}/users/me")

    assert token["expires_in"] > 0
    assert me.status_code == 200
    assert me.json()["username"] == ALICE


@pytest.mark.usefixtures("plain_http_allowed")
def test_r3_requests_oauthlib_raises_invalid_grant_for_a_wrong_password(
    live_server: LiveServer,
) -> None:
    session = OAuth2Session(client=LegacyApplicationClient(client_id=CLIENT_ID))

    with pytest.raises(InvalidGrantError):
        session.fetch_token(
            f"{live_server.url}/token", username=ALICE, password="wrong", client_id=CLIENT_ID
        )
