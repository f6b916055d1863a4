"""Page sessions over HTTP against real uvicorn servers: they survive a restart, logout ends them
for good, and a hostile cookie is a plain 401."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from edge.api import ApiServer, create_app
from tests.integration.api.conftest import PASSWORD, Served
from tests.integration.api.device import MemoryDevice


@contextmanager
def _serving(device: MemoryDevice, session_file: Path) -> Iterator[str]:
    app = create_app(device, password=SecretStr(PASSWORD), session_file=session_file)
    server = ApiServer(app, host="127.0.0.1", port=0)
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


def _log_in(base_url: str) -> str:
    response = httpx.post(base_url + "/login", data={"password": PASSWORD})
    assert response.status_code == 303
    return response.cookies["footfall_session"]


def test_a_restart_logs_nobody_out(tmp_path: Path) -> None:
    device = MemoryDevice(validation_store=tmp_path / "validations.sqlite3")
    session_file = tmp_path / "state" / "api-session.json"
    with _serving(device, session_file) as first:
        cookie = _log_in(first)
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600
    with _serving(device, session_file) as second:
        response = httpx.get(second + "/api/status", cookies={"footfall_session": cookie})
        assert response.status_code == 200
        assert httpx.get(second + "/", cookies={"footfall_session": cookie}).status_code == 200


def test_logout_ends_the_session_even_for_a_kept_copy_of_the_cookie(tmp_path: Path) -> None:
    device = MemoryDevice(validation_store=tmp_path / "validations.sqlite3")
    session_file = tmp_path / "api-session.json"
    with _serving(device, session_file) as base_url:
        cookie = _log_in(base_url)
        kept = {"footfall_session": cookie}
        assert httpx.get(base_url + "/api/status", cookies=kept).status_code == 200
        assert httpx.post(base_url + "/logout", cookies=kept).status_code == 303
        assert httpx.get(base_url + "/api/status", cookies=kept).status_code == 401
        assert httpx.get(base_url + "/", cookies=kept).headers["location"] == "/login"
        # Another session is untouched by that logout.
        assert httpx.get(base_url + "/api/status", cookies={"footfall_session": _log_in(base_url)}).is_success
    # Ended for good: a restart does not bring it back.
    with _serving(device, session_file) as base_url:
        assert httpx.get(base_url + "/api/status", cookies=kept).status_code == 401


def test_an_unusable_session_file_means_logging_in_again_not_a_crash(tmp_path: Path) -> None:
    device = MemoryDevice(validation_store=tmp_path / "validations.sqlite3")
    session_file = tmp_path / "api-session.json"
    session_file.write_bytes(b"\xff not json")
    with _serving(device, session_file) as base_url:
        cookie = _log_in(base_url)
        assert httpx.get(base_url + "/api/status", cookies={"footfall_session": cookie}).is_success
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "cookie",
    [
        pytest.param("99999999999.é", id="non-ascii-signature"),
        pytest.param("abc.99999999999.\u2603\u2603", id="snowman-signature"),
        pytest.param("a.b.c.d", id="too-many-parts"),
        pytest.param("x" * 5000, id="huge"),
        pytest.param("abc.99999999999.AAAA", id="forged-signature"),
    ],
)
def test_a_hostile_cookie_is_a_plain_401(served: Served, cookie: str) -> None:
    raw_cookie = {b"Cookie": f"footfall_session={cookie}".encode()}
    for path in ("/api/status", "/api/calibration", "/metrics"):
        response = httpx.get(served.base_url + path, headers=raw_cookie)
        assert response.status_code == 401, path
    assert httpx.get(served.base_url + "/", headers=raw_cookie).status_code == 303
