"""What browsers are told: security headers on every response, the API docs, and CORS.

- Every response says `nosniff`, `no-referrer`, and that no page may frame it (`X-Frame-Options`
  and CSP `frame-ancestors`). HTML pages (the docs) get a Content-Security-Policy that allows
  only this service's own assets, and their inline scripts by hash; every other response,
  `default-src 'none'`.
- `API_DOCS=false` removes `/docs`, `/redoc`, `/openapi.json` and the docs' assets.
- Cross-origin calls from a browser are allowed for the `CORS_ORIGINS` only.
"""

import base64
import hashlib
import re
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
"""The Content-Security-Policy of every response but an HTML page: it loads nothing."""

PAGE_POLICY = (
    "default-src 'none'; script-src 'self' {scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""An HTML page's: its own assets, and the inline scripts it was sent with (by their hash)."""

_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        page = bytearray()

        async def send_with_headers(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(SECURITY_HEADERS)
                if not headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = API_POLICY
                    await send(message)
                    return
                start = message  # held until the page is whole: its policy names its scripts
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            page.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            MutableHeaders(scope=start)["Content-Security-Policy"] = page_policy(bytes(page))
            await send(start)
            await send({"type": "http.response.body", "body": bytes(page)})

        await self.app(scope, receive, send_with_headers)


def page_policy(page: bytes) -> str:
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(page)
    ]
    return PAGE_POLICY.format(scripts=" ".join(hashes)).replace("'self' ;", "'self';")


class CORSFromSettings:
    """CORS for the origins of the settings, which are read at startup: after the middleware."""

    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self._state = state
        self._cors: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = getattr(self._state, "services", None)
        settings = None if services is None else services.settings
        if scope["type"] != "http" or settings is None or not settings.cors_origins:
            await self.app(scope, receive, send)
            return
        if self._cors is None:
            self._cors = CORSMiddleware(
                self.app,
                allow_origins=settings.cors_origins,
                # The session cookie too: a front end on a sibling origin of the same site.
                allow_credentials=True,
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type", "X-CSRF-Token"],
                max_age=600,
            )
        await self._cors(scope, receive, send)


def remove_api_docs(app: FastAPI) -> None:
    """Take the docs pages, their assets and the OpenAPI document off the app (API_DOCS=false)."""
    docs = {"/docs", "/docs/oauth2-redirect", "/redoc", "/static-offline-docs", app.openapi_url}
    app.router.routes[:] = [
        route for route in app.router.routes if getattr(route, "path", None) not in docs
    ]
