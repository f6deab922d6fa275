"""Swagger UI in a real browser: Authorize, then "Try it out" on GET /users/me; then ReDoc.

Both pages run under the service's Content-Security-Policy (SECURITY.md H9): the browser must
report no violation of it by the pages' own scripts, styles and assets.

Debian's Chromium, driven by Playwright (no browser download). One variant per login form and
per optional_auth answer, one of them with scopes, served the way the README says to develop:
`uv run fastapi dev`. The screenshot of the authorized call is kept as a test artifact.

And the cookie session as a browser front end uses it (SECURITY.md W1, W2): a page of the
service's origin logs in, calls a protected route and logs out, while pages of other origins
try to change what the logged-in user has.
"""

import html
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from suite import FIRST_USER, TEMPLATE, Renders, dev_server
from variants import Variant, variant_params

# Debian's Chromium here; CI runners point CHROMIUM at their own Chrome.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("TEMPLATE_SUITE_ARTIFACTS", TEMPLATE / "test-artifacts"))

BROWSER_VARIANTS = [
    Variant(login_form="strict", optional_auth=True, user_storage="memory"),
    Variant(
        login_form="permissive", optional_auth=False, user_storage="sqlite", oauth2_scopes=True
    ),
]


@pytest.mark.parametrize("variant", variant_params(BROWSER_VARIANTS))
def test_authorize_then_try_users_me(render: Renders, variant: Variant, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    with dev_server(render(variant), tmp_path) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        console = []
        page.on("console", lambda message: console.append(message.text))
        try:
            page.goto(f"{base}/docs")
            authorize(page, variant, ARTIFACTS / f"authorize-{variant.id}.png")
            response = try_users_me(page)
            page.screenshot(path=ARTIFACTS / f"swagger-{variant.id}.png")
            page.goto(f"{base}/redoc")
            expect(page.locator(".api-info h1")).to_be_visible()
        except Exception:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=ARTIFACTS / f"swagger-{variant.id}-failed.png")
            raise
        finally:
            browser.close()

    assert response["status"] == "200"
    assert f'"username": "{FIRST_USER[0]}"' in response["body"]
    violations = [text for text in console if "Content Security Policy" in text]
    # ReDoc's footer fetches its logo from its CDN: blocked, as every other origin is.
    assert [text for text in violations if "https://cdn.redoc.ly/" not in text] == [], console


def authorize(page: Page, variant: Variant, screenshot: Path) -> None:
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".modal-ux")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("OAuth2PasswordBearer")
    expect(dialog).to_contain_text("Flow: password")
    if variant.oauth2_scopes:
        expect(dialog).to_contain_text("users:read")
        if variant.optional_auth:
            expect(dialog).to_contain_text("items:read")
        dialog.locator("label", has_text="users:read").click()
    dialog.locator("#oauth_username").fill(FIRST_USER[0])
    dialog.locator("#oauth_password").fill(FIRST_USER[1])
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    dialog.locator(".modal-ux-inner").screenshot(path=screenshot)
    # The dialog's buttons carry aria-labels ("Apply credentials", ...): find them by text.
    buttons = dialog.locator(".auth-btn-wrapper button")
    buttons.filter(has_text="Authorize").click()
    expect(buttons.filter(has_text="Logout")).to_be_visible()
    expect(dialog).to_contain_text("Authorized")
    buttons.filter(has_text="Close").click()
    expect(dialog).to_be_hidden()


def try_users_me(page: Page) -> dict[str, str]:
    operation = page.locator(".opblock-get", has=page.locator('[data-path="/users/me"]'))
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    live = operation.locator(".live-responses-table .response")
    expect(live).to_be_visible()
    operation.scroll_into_view_if_needed()
    return {
        "status": live.locator(".response-col_status").inner_text().strip(),
        "body": live.locator(".response-col_description pre").first.inner_text(),
    }


FRONT_END = """<!doctype html>
<title>A front end of the service's own origin</title>
<script>
  async function call(method, path, { body, csrf } = {}) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (csrf) headers["X-CSRF-Token"] = csrf;
    const init = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetch(path, init);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }
</script>
"""
STRANGERS_BODY = {"current_password": FIRST_USER[1], "new_password": "chosen by a stranger 42"}
OTHER_ORIGIN_PAGE = """<!doctype html>
<title>A page of another origin</title>
<form id="change" method="post" action="{base}/users/me/password" enctype="text/plain">
  <input name="{name}" value="{value}">
</form>
<script>
  // Fetches the page could make without the user noticing: a simple request, which the
  // browser sends with the cookie and shows nobody the answer of, and a preflighted one.
  async function simplePost(body) {{
    try {{
      await fetch("{base}/users/me/password", {{
        method: "POST", mode: "no-cors", credentials: "include",
        headers: {{ "Content-Type": "text/plain" }}, body,
      }});
    }} catch (error) {{
      // Cross-Origin-Resource-Policy keeps the answer from the page; the request went out.
    }}
    return "sent";
  }}
  async function endEverySession() {{
    try {{
      await fetch("{base}/users/me/sessions", {{ method: "DELETE", credentials: "include" }});
      return "answered";
    }} catch (error) {{
      return "blocked";
    }}
  }}
</script>
"""


def wait_for_log(log: Path, line: str, count: int, timeout: float = 10) -> bool:
    """Whether the server's log holds `line` `count` times within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while log.read_text().count(line) < count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@contextmanager
def page_server(page: str) -> Iterator[int]:
    """A web server of its own origin (this thread's port) that serves one HTML page."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def other_origin_page(base: str) -> str:
    """A form whose text/plain body is the JSON of a password change (name=value)."""
    body = json.dumps(STRANGERS_BODY)
    name, value = body[:-1] + ', "x": "', '"}'
    return OTHER_ORIGIN_PAGE.format(base=base, name=html.escape(name), value=html.escape(value))


@pytest.mark.parametrize("variant", variant_params(BROWSER_VARIANTS[1:]))
def test_w1_w2_a_browser_logs_in_with_the_cookie_and_other_origins_change_nothing(
    render: Renders, variant: Variant, tmp_path: Path
) -> None:
    """The cookie flow as a front end of the service's origin runs it, in Chromium: log in,
    call a protected route, log out; no token ever reaches JavaScript. Pages of two other
    origins then try a form post and credentialed fetches at state-changing routes while the
    user is logged in: one of the same site (127.0.0.1 on another port: the browser sends the
    cookie, the CSRF checks answer 403) and one of another site (localhost: SameSite=Lax keeps
    the cookie home). Nothing changes: the password, the sessions and the login all stay.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    username, password = FIRST_USER
    with dev_server(render(variant), tmp_path) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        answers: list[tuple[str, str, int]] = []
        context.on(
            "response",
            lambda r: (
                answers.append((r.request.method, r.url, r.status))
                if r.url.startswith(base)
                else None
            ),
        )
        try:
            # A bearer session of the same user, which an attack ending sessions would end.
            other_session = httpx.post(
                f"{base}/token", data={"username": username, "password": password}
            ).json()["access_token"]
            front = context.new_page()
            front.route(
                f"{base}/front-end",
                lambda route: route.fulfill(content_type="text/html", body=FRONT_END),
            )
            front.goto(f"{base}/front-end")
            login = front.evaluate(
                "([username, password]) => call('POST', '/session', {body: {username, password}})",
                [username, password],
            )
            assert login["status"] == 200, login
            assert login["body"]["user"]["username"] == username
            assert set(login["body"]) == {"user", "csrf_token"}  # no token for JavaScript
            assert front.evaluate("document.cookie") == ""  # HttpOnly: no script reads it
            (cookie,) = context.cookies()
            assert cookie["name"] == "__Host-session"
            assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Lax")
            me = front.evaluate("call('GET', '/users/me')")
            assert (me["status"], me["body"]["username"]) == (200, username)
            sessions = front.evaluate("call('GET', '/users/me/sessions')")
            assert sessions["status"] == 200
            assert sorted(s["kind"] for s in sessions["body"]) == ["bearer", "cookie"]

            with page_server(other_origin_page(base)) as port:
                for origin, refused in (
                    (f"http://127.0.0.1:{port}", 403),  # same site: the CSRF checks
                    (f"http://localhost:{port}", 401),  # another site: no cookie sent
                ):
                    stranger = context.new_page()
                    stranger.goto(f"{origin}/")
                    answers.clear()
                    with stranger.expect_request(f"{base}/users/me/password"):
                        assert stranger.evaluate("simplePost", json.dumps(STRANGERS_BODY)) == "sent"
                    assert stranger.evaluate("endEverySession()") == "blocked"
                    with stranger.expect_response(f"{base}/users/me/password") as posted:
                        stranger.locator("#change").evaluate("form => form.submit()")
                    assert posted.value.status == refused, (origin, posted.value.text())
                    # Cross-Origin-Resource-Policy keeps the fetch's answer from the page, and the
                    # server's log shows it: the same refusal as the form's.
                    log = tmp_path / "dev.log"
                    answered = f'"POST /users/me/password HTTP/1.1" {refused}'
                    assert wait_for_log(log, answered, count=2), log.read_text()[-1500:]
                    # The preflight was refused: the DELETE itself never left the browser.
                    assert ("DELETE", f"{base}/users/me/sessions") not in [a[:2] for a in answers]
                    # Left open, closed with the browser: Chromium 156 can leave Page.close
                    # waiting forever on a page whose form navigation has just been answered.
                    stranger.wait_for_load_state()

            after = front.evaluate("call('GET', '/users/me/sessions')")
            assert after["status"] == 200
            assert sorted(s["id"] for s in after["body"]) == sorted(
                s["id"] for s in sessions["body"]
            )
            still = httpx.get(
                f"{base}/users/me", headers={"Authorization": f"Bearer {other_session}"}
            )
            assert still.status_code == 200
            relogin = httpx.post(f"{base}/token", data={"username": username, "password": password})
            assert relogin.status_code == 200, "the password changed"

            logout = front.evaluate(
                "(csrf) => call('DELETE', '/session', {csrf})", login["body"]["csrf_token"]
            )
            assert logout["status"] == 204
            assert context.cookies() == []
            assert front.evaluate("call('GET', '/users/me')")["status"] == 401
        except Exception:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            for number, page in enumerate(context.pages):
                page.screenshot(path=ARTIFACTS / f"cookie-{variant.id}-{number}-failed.png")
            raise
        finally:
            browser.close()
