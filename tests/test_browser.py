"""Swagger UI in a real browser: Authorize, then "Try it out" on GET /users/me; then ReDoc.

Both pages run under the service's Content-Security-Policy (SECURITY.md H9): the browser must
report no violation of it by the pages' own scripts, styles and assets.

Debian's Chromium, driven by Playwright (no browser download). One variant per login form and
per optional_auth answer, one of them with scopes, served the way the README says to develop:
`uv run fastapi dev`. The screenshot of the authorized call is kept as a test artifact.
"""

import os
from pathlib import Path

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
