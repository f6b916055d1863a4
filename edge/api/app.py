"""`create_app`: the FastAPI application of the device; every route but `/healthz` needs the password."""

from __future__ import annotations

import dataclasses
import logging
import math
from importlib import resources
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from pydantic import SecretStr

from edge.api.auth import SESSION_COOKIE, Authenticator
from edge.api.health import assess
from edge.api.history import add_history_routes
from edge.api.live import add_live_routes
from edge.api.metrics import render_metrics
from edge.api.ports import Device
from edge.api.validations import add_validation_routes
from edge.calibration import parse_calibration
from edge.errors import ConfigError
from edge.records import IntervalCount

logger = logging.getLogger(__name__)

STATIC = resources.files("edge.api") / "static"
# Most intervals one /api/counts request returns (a day of minutes).
MAX_COUNTS = 1440
NO_STORE = {"Cache-Control": "no-store"}
# Largest calibration document accepted by PUT, bytes (a real one is a few kB).
MAX_CALIBRATION_BYTES = 1_000_000
# Stored validations the verdict looks through for each line's newest (edge.api.health).
JUDGED_VALIDATIONS = 50
# Largest login form accepted, bytes.
MAX_LOGIN_BYTES = 4096


def create_app(device: Device, *, password: SecretStr, secure_cookies: bool = False) -> FastAPI:
    """The API and pages for `device`, protected by `password`.

    Args:
        device: the running service's port.
        password: the device password: pages log in with it, the API takes it as a bearer token.
        secure_cookies: mark the session cookie Secure (when served over HTTPS).
    """
    auth = Authenticator(password)
    app = FastAPI(
        title="footfall-edge device API",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, behind authentication
    )

    def api_user(request: Request) -> None:
        if _session_ok(auth, request):
            return
        authorization = request.headers.get("authorization")
        if authorization is None:
            raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
        # A wrong token counts as a failed login: guessing through the API is throttled too.
        client = _client(request)
        retry_after_s = auth.retry_after_s(client)
        if retry_after_s is not None:
            raise HTTPException(
                429, "too many failed attempts; wait a minute", headers=_retry_after(retry_after_s)
            )
        if not auth.bearer_ok(authorization):
            auth.record_failure(client)
            logger.warning("wrong API credentials from %s", client)
            raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})

    def page_user(request: Request) -> None:
        if not _session_ok(auth, request):
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

    @app.put("/api/calibration", dependencies=api)
    async def put_calibration(request: Request) -> Response:
        body = await _bounded_body(request, MAX_CALIBRATION_BYTES)
        try:
            calibration = parse_calibration(body, source="calibration")
        except ConfigError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=422)
        try:
            device.apply_calibration(calibration)
        except ConfigError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=500)
        logger.info("calibration changed through the API by %s", _client(request))
        return Response(calibration.to_json(), media_type="application/json")

    @app.get("/api/snapshot.jpg", dependencies=api)
    def snapshot(request: Request) -> Response:
        if not device.status().snapshots_enabled:
            raise HTTPException(403, "snapshots are disabled on this device (api.snapshots)")
        image = device.snapshot_jpeg()
        logger.info("snapshot requested by %s", _client(request))
        if image is None:
            raise HTTPException(404, "no frame yet")
        return Response(image, media_type="image/jpeg", headers=NO_STORE)

    @app.get("/metrics", dependencies=api)
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(render_metrics(device.status), media_type="text/plain; version=0.0.4")

    @app.get("/openapi.json", dependencies=api, include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return get_openapi(title=app.title, version=app.version, routes=app.routes)

    add_validation_routes(app, device, api)
    add_history_routes(app, device, api)
    add_live_routes(app, device, api)
    _add_pages(app, auth, page, secure_cookies)
    return app


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
        form = parse_qs((await _bounded_body(request, MAX_LOGIN_BYTES)).decode("utf-8", "replace"))
        password_field = form.get("password", [""])[0]
        client = _client(request)
        next_page = _next_page(request.query_params.get("next"))
        retry_after_s = auth.retry_after_s(client)
        if retry_after_s is not None:
            # The login page again, saying why: a technician should not face raw JSON.
            page = (STATIC / "login.html").read_text(encoding="utf-8")
            blocked = page.replace('id="blocked" class="error" hidden', 'id="blocked" class="error"')
            return HTMLResponse(blocked, status_code=429, headers={**NO_STORE, **_retry_after(retry_after_s)})
        if not _same_origin(request) or not auth.password_matches(password_field):
            auth.record_failure(client)
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
            max_age=12 * 3600,
        )
        return response

    @app.post("/logout", include_in_schema=False)
    def logout() -> Response:
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


def _session_ok(auth: Authenticator, request: Request) -> bool:
    return auth.session_ok(request.cookies.get(SESSION_COOKIE))


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


def _same_origin(request: Request) -> bool:
    """A login form posted from another site is refused (with SameSite=Strict, against CSRF)."""
    origin = request.headers.get("origin")
    return origin is None or origin.split("://", 1)[-1] == request.headers.get("host")


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
    return request.client.host if request.client else "unknown"


def _page(name: str) -> HTMLResponse:
    return HTMLResponse((STATIC / name).read_text(encoding="utf-8"), headers=NO_STORE)


_MEDIA_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}


def _static(name: str) -> Response:
    suffix = name[name.rfind(".") :] if "." in name else ""
    resource = STATIC / name
    if "/" in name or name.startswith(".") or suffix not in _MEDIA_TYPES or not resource.is_file():
        raise HTTPException(404, "not found")
    return Response(resource.read_bytes(), media_type=_MEDIA_TYPES[suffix])


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
