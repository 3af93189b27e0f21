"""The console's cookies: Secure exactly when the console is served over TLS."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from service.console.session import set_cookie


def cookie_over(scheme: str) -> str:
    request = Request({"type": "http", "scheme": scheme, "method": "GET", "path": "/", "headers": [],
                       "server": ("console.example", 443 if scheme == "https" else 80)})
    response = Response()
    set_cookie(request, response, "ledger_console", "secret")
    return response.headers["set-cookie"]


def test_the_session_cookie_is_secure_over_tls_and_always_http_only_and_same_site_strict():
    assert "secure" in cookie_over("https").lower()
    assert "secure" not in cookie_over("http").lower()
    for scheme in ("http", "https"):
        assert "httponly" in cookie_over(scheme).lower() and "samesite=strict" in cookie_over(scheme).lower()
