"""`create_app`: the FastAPI application of the device; every route but `/healthz` needs the password."""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.routing import APIRoute
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from edge.api.auth import SESSION_COOKIE, SESSION_S, Authenticator, Channel
from edge.api.guard import RequestGuard, client_address, is_authenticated
from edge.api.headers import page_policy
from edge.api.health import assess
from edge.api.history import add_history_routes
from edge.api.hosts import HostPolicy
from edge.api.live import add_live_routes
from edge.api.metrics import render_metrics
from edge.api.openapi_docs import (
    COMMON_RESPONSES,
    METRICS,
    SNAPSHOT,
    add_calibration_schema,
    document_calibration_body,
    document_current_lines,
)
from edge.api.ports import Device
from edge.api.save_limit import SaveLimiter
from edge.api.session_keys import SessionKeys
from edge.api.validations import add_validation_routes
from edge.calibration import Calibration, parse_calibration
from edge.errors import ConfigError
from edge.records import IntervalCount

logger = logging.getLogger(__name__)

STATIC = resources.files("edge.api") / "static"
# Most intervals one /api/counts request returns (a day of minutes).
MAX_COUNTS = 1440
NO_STORE = {"Cache-Control": "no-store"}
# Largest calibration document accepted by PUT, bytes (the largest valid one is about 150 kB).
MAX_CALIBRATION_BYTES = 262_144
# Stored validations the verdict looks through for each line's newest (edge.api.health).
JUDGED_VALIDATIONS = 50
# Largest login form accepted, bytes.
MAX_LOGIN_BYTES = 4096
# Validation errors echoed in a 422 at most, and the longest message of each (no input is echoed).
MAX_ERRORS_SHOWN = 10
MAX_MESSAGE_CHARS = 300


def create_app(
    device: Device,
    *,
    password: SecretStr,
    secure_cookies: bool = False,
    session_file: Path | None = None,
    allowed_hosts: Sequence[str] = (),
    calibration_saves: SaveLimiter | None = None,
) -> FastAPI:
    """The API and pages for `device`, protected by `password`.

    Args:
        device: the running service's port.
        password: the device password: pages log in with it, the API takes it as a bearer token.
        secure_cookies: mark the session cookie Secure (when served over HTTPS).
        session_file: where the session keys are kept (0600) so a restart logs nobody out; None: memory.
        allowed_hosts: host names answered besides localhost, this machine's name and IP addresses.
        calibration_saves: how often the calibration may be saved (default: burst 5, then one per 6 s).
    """
    auth = Authenticator(password, session_keys=SessionKeys(session_file))
    app = FastAPI(
        title="footfall-edge device API",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, behind authentication
        responses=COMMON_RESPONSES,
    )
    app.add_middleware(
        RequestGuard,
        auth=auth,
        hosts=HostPolicy(allowed_hosts),
        body_limits={"/api/calibration": MAX_CALIBRATION_BYTES, "/login": MAX_LOGIN_BYTES},
    )
    app.add_exception_handler(RequestValidationError, _short_validation_error)
    app.add_exception_handler(StarletteHTTPException, _allow_every_method(app))

    # The guard checked the credentials before any body was read; routes only read its verdict.
    def api_user(request: Request) -> None:
        if not is_authenticated(request.scope):
            raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})

    def page_user(request: Request) -> None:
        if not is_authenticated(request.scope):
            # Back to this page after logging in (`next`, checked again when used).
            path = request.url.path
            login = "/login" if path == "/" else f"/login?next={quote(path, safe='/')}"
            raise HTTPException(303, headers={"Location": login})

    api = [Depends(api_user)]
    page = [Depends(page_user)]

    _add_probes(app, device, api)

    @app.get("/api/status", dependencies=api)
    def api_status() -> dict[str, Any]:
        return _status_document(device)

    @app.get("/api/counts", dependencies=api)
    def api_counts(limit: Annotated[int, Query(ge=1, le=MAX_COUNTS)] = 60) -> list[dict[str, Any]]:
        return [_interval_json(interval) for interval in device.recent_counts(limit)]

    @app.get("/api/live", dependencies=api)
    def api_live() -> dict[str, dict[str, int]]:
        return {line: {"in": counts[0], "out": counts[1]} for line, counts in device.live_counts().items()}

    @app.get("/api/calibration", dependencies=api)
    def get_calibration() -> Response:
        return Response(device.current_calibration().to_json(), media_type="application/json")

    saves = calibration_saves or SaveLimiter()

    @app.put("/api/calibration", dependencies=api, openapi_extra=document_calibration_body())
    async def put_calibration(request: Request) -> Response:
        body = await _bounded_body(request, MAX_CALIBRATION_BYTES)
        # The checks are quadratic in a polygon's points and saving fsyncs: never on the event loop.
        return await run_in_threadpool(_save_calibration, device, saves, body, _client(request))

    @app.get("/api/snapshot.jpg", dependencies=api, response_class=Response, responses=SNAPSHOT)
    def snapshot(request: Request) -> Response:
        if not device.status().snapshots_enabled:
            raise HTTPException(403, "snapshots are disabled on this device (api.snapshots)")
        image = device.snapshot_jpeg()
        logger.info("snapshot requested by %s", _client(request))
        if image is None:
            raise HTTPException(404, "no frame yet")
        return Response(image, media_type="image/jpeg", headers=NO_STORE)

    @app.get("/metrics", dependencies=api, response_class=PlainTextResponse, responses=METRICS)
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(render_metrics(device.status), media_type="text/plain; version=0.0.4")

    @app.get("/openapi.json", dependencies=api, include_in_schema=False)
    def openapi() -> dict[str, Any]:
        document = add_calibration_schema(
            get_openapi(title=app.title, version=app.version, routes=app.routes)
        )
        return document_current_lines(document, [line.line_id for line in device.current_calibration().lines])

    add_validation_routes(app, device, api)
    add_history_routes(app, device, api)
    add_live_routes(app, device, api)
    _add_pages(app, auth, page, secure_cookies)
    return app


def _save_calibration(device: Device, saves: SaveLimiter, body: bytes, client: str) -> Response:
    """Validate and apply a calibration document (in a worker thread); only valid ones count as saves."""
    try:
        calibration: Calibration = parse_calibration(body, source="calibration")
    except ConfigError as exc:
        return JSONResponse({"detail": _shortened(str(exc))}, status_code=422)
    wait_s = saves.take()
    if wait_s is not None:
        detail = f"calibration saved too often: wait {math.ceil(wait_s)} s"
        return JSONResponse({"detail": detail}, status_code=429, headers=_retry_after(wait_s))
    try:
        device.apply_calibration(calibration)
    except ConfigError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=500)
    logger.info("calibration changed through the API by %s", client)
    return Response(calibration.to_json(), media_type="application/json")


async def _short_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """A 422 naming what is wrong, never echoing the input (a 900 kB body made a 29 MB answer)."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    shown = [
        {
            "loc": [part if isinstance(part, int) else str(part)[:64] for part in error.get("loc", ())][:8],
            "msg": _shortened(str(error.get("msg", ""))),
            "type": error.get("type"),
        }
        for error in errors[:MAX_ERRORS_SHOWN]
    ]
    if len(errors) > MAX_ERRORS_SHOWN:
        shown.append({"loc": [], "msg": f"and {len(errors) - MAX_ERRORS_SHOWN} more", "type": "truncated"})
    return JSONResponse({"detail": shown}, status_code=422)


def _allow_every_method(app: FastAPI) -> Callable[[Request, Exception], Awaitable[Response]]:
    """A 405 lists every method of the path in Allow; Starlette names only the first route's."""

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:
            methods = sorted(
                {
                    method
                    for route in app.routes
                    if isinstance(route, APIRoute) and route.path == request.url.path
                    for method in route.methods or ()
                }
            )
            exc = StarletteHTTPException(405, exc.detail, headers={"Allow": ", ".join(methods)})
        return await http_exception_handler(request, exc)

    return handler


def _shortened(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE_CHARS else message[:MAX_MESSAGE_CHARS] + "..."


def _add_probes(app: FastAPI, device: Device, api: list[Any]) -> None:
    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz", dependencies=api)
    def readyz() -> JSONResponse:
        status = device.status()
        ready = status.camera_state == "ok"
        return JSONResponse(
            {"ready": ready, "camera": status.camera_state}, status_code=200 if ready else 503
        )


def _add_pages(app: FastAPI, auth: Authenticator, page: list[Any], secure_cookies: bool) -> None:
    """Login, logout, the health and calibration pages and their static files."""

    @app.get("/login", include_in_schema=False)
    def login_page() -> HTMLResponse:
        return _page("login.html")

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        # A one-field urlencoded form: parsed here rather than adding python-multipart.
        client = _client(request)
        if _cross_site(request):
            # Any web page can post this form; counting it would let that page lock the password out.
            logger.warning("login form posted from another site refused (client %s)", client)
            return JSONResponse({"detail": "login refused: the form was posted from another site"}, 403)
        form = parse_qs((await _bounded_body(request, MAX_LOGIN_BYTES)).decode("utf-8", "replace"))
        password_field = form.get("password", [""])[0]
        next_page = _next_page(request.query_params.get("next"))
        retry_after_s = auth.retry_after_s(client, Channel.LOGIN)
        if retry_after_s is not None:
            return _blocked_login_page(retry_after_s)
        if not auth.password_matches(password_field):
            auth.record_failure(client, Channel.LOGIN)
            logger.warning("failed login from %s", client)
            again = "/login?failed=1" + ("" if next_page == "/" else f"&next={quote(next_page, safe='/')}")
            return RedirectResponse(again, status_code=303)
        response = RedirectResponse(next_page, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            auth.new_session(),
            httponly=True,
            samesite="strict",
            secure=secure_cookies,
            max_age=SESSION_S,
        )
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        auth.end_session(request.cookies.get(SESSION_COOKIE))  # a copy of the cookie stops working too
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/", dependencies=page, include_in_schema=False)
    def health_page() -> HTMLResponse:
        return _page("health.html")

    @app.get("/calibration", dependencies=page, include_in_schema=False)
    def calibration_page() -> HTMLResponse:
        return _page("calibration.html")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        return _static(name)


def _next_page(requested: str | None) -> str:
    """Where to go after logging in: `requested` when it is a path on this device, else Health.

    Only "/..." paths: "//host", "/\\host" and "scheme:" would leave the device (an open redirect).
    """
    if not requested or not requested.startswith("/") or requested.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(requested)
    if parts.scheme or parts.netloc or "\\" in requested or any(ord(c) < 0x20 for c in requested):
        return "/"
    return requested


def _cross_site(request: Request) -> bool:
    """True for a form posted by another site's page: its Origin names another host, or the
    browser says so in Sec-Fetch-Site (sent by every current browser)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    return origin is not None and origin.split("://", 1)[-1] != request.headers.get("host")


def _blocked_login_page(retry_after_s: float) -> HTMLResponse:
    """The login page again, saying how long to wait: a technician should not face raw JSON."""
    seconds = max(1, math.ceil(retry_after_s))
    page = (STATIC / "login.html").read_text(encoding="utf-8")
    message = f"Too many failed attempts from this address: wait {seconds} s, then try again."
    blocked = re.sub(
        r'<p[^>]*\bid="blocked"[^>]*>.*?</p>',
        f'<p id="blocked" class="error" data-retry-after-s="{seconds}">{message}</p>',
        page,
        count=1,
        flags=re.DOTALL,
    )
    headers = {**NO_STORE, "Retry-After": str(seconds), "Content-Security-Policy": page_policy(blocked)}
    return HTMLResponse(blocked, status_code=429, headers=headers)


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


async def _bounded_body(request: Request, limit: int) -> bytes:
    """The request body, or 413 once it grows past `limit` bytes (without reading the rest)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"body larger than {limit} bytes")
    return bytes(body)


def _client(request: Request) -> str:
    return client_address(request.scope)


def _page(name: str) -> HTMLResponse:
    html = (STATIC / name).read_text(encoding="utf-8")
    return HTMLResponse(html, headers={**NO_STORE, "Content-Security-Policy": page_policy(html)})


_MEDIA_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}


# Longest static file name looked up (a longer one cannot exist: ENAMETOOLONG was a 500).
MAX_STATIC_NAME_CHARS = 100


def _static(name: str) -> Response:
    suffix = name[name.rfind(".") :] if "." in name else ""
    if len(name) > MAX_STATIC_NAME_CHARS or "/" in name or name.startswith(".") or suffix not in _MEDIA_TYPES:
        raise HTTPException(404, "not found")
    resource = STATIC / name
    try:
        return Response(resource.read_bytes(), media_type=_MEDIA_TYPES[suffix])
    except OSError:
        raise HTTPException(404, "not found") from None


def _interval_json(interval: IntervalCount) -> dict[str, Any]:
    quality = interval.quality
    return {
        "start": interval.start.isoformat(),
        "end": interval.end.isoformat(),
        "lines": [
            {"line_id": line.line_id, "in": line.in_count, "out": line.out_count} for line in interval.lines
        ],
        "zones": [dataclasses.asdict(zone) for zone in interval.zones],
        "quality": dataclasses.asdict(quality),
    }


def _status_document(device: Device) -> dict[str, Any]:
    status = device.status()
    judged = device.recent_validations(JUDGED_VALIDATIONS)
    verdict = assess(status, judged, device.current_calibration().version)
    causes = [{"code": cause.code, "values": dict(cause.values)} for cause in verdict.causes]
    return {
        **dataclasses.asdict(status),
        "health": verdict.level.value,
        "reasons": list(verdict.reasons),
        "causes": causes,  # the reasons as codes and values, for the pages to translate
    }
