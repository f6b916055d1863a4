"""The gate every request passes first: Host, credentials, body size and JSON syntax, then headers.

FastAPI reads and parses a body before a route's dependencies run, so checking the password in a
dependency let an anonymous 200 MB body into memory. This ASGI middleware runs before FastAPI:
it refuses an unknown `Host` (400), checks credentials of every non-public path without reading
the body (a wrong token 401, a throttled client 429, an anonymous request with a body 401), caps
the body by `Content-Length` and by the bytes actually streamed (413), refuses JSON that Python's
parser would choke on later (NaN, 1e999, 5000-digit numbers, deep nesting: 400) and adds the
security headers to every response. Routes still say who may use them through the `api` and
`page` dependencies, which read the verdict left in the request scope.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge.api.auth import SESSION_COOKIE, Authenticator, Channel
from edge.api.headers import SECURITY_HEADERS
from edge.api.hosts import HostPolicy

logger = logging.getLogger(__name__)

# Scope key holding True once the request's credentials were checked and found good.
AUTHENTICATED = "footfall.authenticated"
# Largest body of any request whose path has no limit of its own, bytes (real ones are < 1 kB).
DEFAULT_BODY_BYTES = 16_384
# Longest parser complaint echoed back, characters.
MAX_REASON_CHARS = 200
# Paths anyone may use: liveness, logging in and out, the pages' static files.
PUBLIC_PATHS = frozenset({"/healthz", "/login", "/logout", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)
_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_address(scope: Scope) -> str:
    """The client's address: the socket's peer, or what a configured proxy says it is."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RequestGuard:
    """ASGI middleware around the FastAPI app (see the module docstring).

    Args:
        app: the application.
        auth: checks credentials and throttles failures.
        hosts: which Host headers are answered.
        body_limits: largest body per path, bytes; other paths get DEFAULT_BODY_BYTES.
    """

    def __init__(
        self, app: ASGIApp, *, auth: Authenticator, hosts: HostPolicy, body_limits: Mapping[str, int]
    ) -> None:
        self._app = app
        self._auth = auth
        self._hosts = hosts
        self._body_limits = dict(body_limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        send = _with_security_headers(send)
        headers = Headers(scope=scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if scope["method"] in _BODYLESS_METHODS:
            await self._app(scope, receive, send)
            return
        body = await self._body(scope, headers, receive)
        if isinstance(body, JSONResponse):
            await body(scope, receive, send)
            return
        await self._app(scope, _replaying(body, receive), send)

    def _refusal(self, scope: Scope, headers: Headers) -> JSONResponse | None:
        """Why the request is refused before anything is read, or None; marks it authenticated."""
        if not self._hosts.allows(headers.get("host")):
            logger.warning("refused Host %r from %s", headers.get("host"), client_address(scope))
            return _error(400, "unknown Host header: add this name to api.allowed_hosts")
        path = scope["path"]
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return None
        if self._auth.session_ok(Request(scope).cookies.get(SESSION_COOKIE)):
            scope[AUTHENTICATED] = True
            return None
        authorization = headers.get("authorization")
        if authorization is None:
            # Pages redirect to the login page and GET routes answer 401 themselves; a body is never read.
            return None if scope["method"] in _BODYLESS_METHODS else _unauthenticated()
        client = client_address(scope)
        retry_after_s = self._auth.retry_after_s(client, Channel.BEARER)
        if retry_after_s is not None:
            seconds = max(1, math.ceil(retry_after_s))
            return _error(
                429,
                f"too many wrong API tokens from this address: wait {seconds} s",
                {"Retry-After": str(seconds)},
            )
        if not self._auth.bearer_ok(authorization):
            self._auth.record_failure(client, Channel.BEARER)
            logger.warning("wrong API credentials from %s", client)
            return _unauthenticated()
        scope[AUTHENTICATED] = True
        return None

    async def _body(self, scope: Scope, headers: Headers, receive: Receive) -> bytes | JSONResponse:
        """The whole body, or the response refusing it (too large, or JSON that is not plain)."""
        limit = self._body_limits.get(scope["path"], DEFAULT_BODY_BYTES)
        too_large = _error(413, f"request body larger than {limit} bytes")
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return too_large if declared.isdigit() else _error(400, "invalid Content-Length")
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the app sees the disconnect itself
            body += message.get("body", b"")
            if len(body) > limit:
                return too_large
            if not message.get("more_body", False):
                break
        if body and _is_json(scope["path"], headers):
            problem = json_problem(bytes(body))
            if problem is not None:
                return _error(400, f"request body is not valid JSON: {problem}")
        return bytes(body)


def json_problem(body: bytes) -> str | None:
    """What makes `body` unusable as plain JSON (RFC 8259: no NaN or infinities), or None."""
    try:
        json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        return "nested too deeply"
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError and too many digits are ValueErrors
        return str(exc)[:MAX_REASON_CHARS]
    return None


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is too large")
    return value


def _is_json(path: str, headers: Headers) -> bool:
    return "json" in headers.get("content-type", "") or path.startswith("/api/")


def _error(status_code: int, detail: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code, headers=dict(headers or {}))


def _unauthenticated() -> JSONResponse:
    return _error(401, "authentication required", {"WWW-Authenticate": "Bearer"})


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then the client's later messages."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _with_security_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in SECURITY_HEADERS.items():
                if name not in headers:
                    headers[name] = value
        await send(message)

    return sending


def is_authenticated(scope: Mapping[str, Any]) -> bool:
    """True if the guard found the request's credentials good."""
    return scope.get(AUTHENTICATED) is True


__all__ = ["AUTHENTICATED", "RequestGuard", "client_address", "is_authenticated", "json_problem"]
