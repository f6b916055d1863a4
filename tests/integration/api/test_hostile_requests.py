"""Hostile and clumsy requests over real HTTP: refused early, cheaply, with a short 4xx, never a 500."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr

from edge.api import ApiServer, create_app
from edge.calibration import Calibration
from tests.integration.api.conftest import PASSWORD, Served
from tests.integration.api.device import MemoryDevice

BEARER = {"Authorization": f"Bearer {PASSWORD}"}
EXAMPLES = Path(__file__).resolve().parents[3] / "calibration" / "examples"
# Seconds a refusal may take before the test calls the server stuck (not a speed target).
STUCK_S = 10.0


def _raw_request(base_url: str, head: str, body: bytes = b"") -> str:
    """Send `head` and the start of a body on a plain socket; the status line of the answer."""
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=STUCK_S) as sock:
        sock.sendall(head.encode() + b"\r\n\r\n" + body)
        return sock.makefile("rb").readline().decode()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/validations/current"),
        ("PUT", "/api/calibration"),
        ("PUT", "/api/validations/current/reference"),
    ],
    ids=["validation-start", "calibration", "reference"],
)
def test_an_anonymous_huge_body_is_refused_before_it_is_read(served: Served, method: str, path: str) -> None:
    # 200 MB announced, 1 kB sent: the answer comes without waiting for (or storing) the rest.
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: 200000000"
    )
    assert _raw_request(served.base_url, head, b"[" * 1024).startswith("HTTP/1.1 401")


def test_an_authenticated_huge_body_is_refused_by_its_length(served: Served) -> None:
    head = (
        "POST /api/validations/current HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {PASSWORD}\r\nContent-Length: 200000000"
    )
    assert _raw_request(served.base_url, head, b" " * 1024).startswith("HTTP/1.1 413")


def test_a_streamed_body_is_cut_off_at_the_limit(served: Served) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"line_id": "'
        for _ in range(200):
            yield b"x" * 1024  # no Content-Length: chunked, counted as it comes

    response = httpx.post(served.base_url + "/api/validations/current", headers=BEARER, content=chunks())
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(b'{"reference_in": NaN, "reference_out": 0}', "NaN", id="nan"),
        pytest.param(b'{"reference_in": 1e999, "reference_out": 0}', "too large", id="infinity"),
        pytest.param(
            b'{"reference_in": ' + b"9" * 5000 + b', "reference_out": 0}', "digits", id="5000-digits"
        ),
        pytest.param(b"[" * 5000 + b"]" * 5000, "nested too deeply", id="deeply-nested"),
        pytest.param(b'{"reference_in": ', "Expecting value", id="truncated"),
    ],
)
def test_json_that_python_chokes_on_is_a_400(served: Served, body: bytes, reason: str) -> None:
    served.device.start_validation("vertical", "")
    for method, path in [
        ("PUT", "/api/validations/current/reference"),
        ("POST", "/api/validations/current/finish"),
        ("POST", "/api/validations/current"),
    ]:
        response = httpx.request(method, served.base_url + path, headers=BEARER, content=body)
        assert response.status_code == 400, (path, response.text[:200])
        assert reason in response.json()["detail"]
    calibration = httpx.put(
        served.base_url + "/api/calibration", headers=BEARER, content=body[: len(body) // 2 * 2]
    )
    assert 400 <= calibration.status_code < 500
    assert served.device.applied == []


def test_a_big_bad_body_gets_a_short_answer(served: Served) -> None:
    # 900 kB of unknown fields: each used to be echoed with the whole input (29.7 MB).
    fields = {f"field{n}": "x" * 100 for n in range(1000)}
    body = json.dumps({"line_id": "vertical", **fields}).encode()
    headers = {**BEARER, "Content-Type": "application/json"}
    response = httpx.post(served.base_url + "/api/validations/current", headers=headers, content=body)
    assert response.status_code == 413
    assert len(response.content) < 5000
    # Below the size limit, each unknown field is named, the first ten of them, and nothing echoed.
    small = json.dumps({"line_id": "vertical", **dict(list(fields.items())[:100])})
    answer = httpx.post(served.base_url + "/api/validations/current", headers=headers, content=small)
    assert answer.status_code == 422
    assert len(answer.content) < 5000
    assert answer.json()["detail"][-1]["msg"] == "and 90 more"


def test_a_300_character_static_name_is_a_404(served: Served) -> None:
    assert httpx.get(served.base_url + "/static/" + "a" * 300 + ".css").status_code == 404
    assert httpx.get(served.base_url + "/static/" + "a" * 3000 + ".js").status_code == 404


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(
            {"zones": [{"id": "z", "polygon": [[i / 5000, (i % 7) / 7] for i in range(4000)]}]},
            "at most 64 items",
            id="4000-point-zone",
        ),
        pytest.param(
            {"lines": [{"id": f"l{n}", "a": [0, n / 100], "b": [1, n / 100]} for n in range(100)]},
            "at most 32 items",
            id="100-lines",
        ),
        pytest.param(
            {"lines": [{"id": "x" * 5000, "a": [0, 0], "b": [1, 1]}]}, "at most 64 characters", id="long-id"
        ),
    ],
)
def test_calibration_sizes_are_bounded_before_the_geometry_checks(
    served: Served, document: object, message: str
) -> None:
    response = httpx.put(served.base_url + "/api/calibration", headers=BEARER, content=json.dumps(document))
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert len(response.content) < 1000
    assert served.device.applied == []


class SlowDisk(MemoryDevice):
    """Saving the calibration waits until released, like an SD card that stalls on fsync."""

    def __init__(self, validation_store: Path) -> None:
        super().__init__(validation_store)
        self.saving = threading.Event()
        self.release = threading.Event()

    def apply_calibration(self, calibration: Calibration) -> None:
        self.saving.set()
        self.release.wait(STUCK_S * 3)
        super().apply_calibration(calibration)


def test_a_slow_save_does_not_stop_the_api_answering(tmp_path: Path) -> None:
    device = SlowDisk(tmp_path / "validations.sqlite3")
    server = ApiServer(create_app(device, password=SecretStr(PASSWORD)), host="127.0.0.1", port=0)
    server.start()
    base_url = f"http://127.0.0.1:{server.port}"
    answers: list[int] = []
    saving = threading.Thread(
        target=lambda: answers.append(
            httpx.put(
                base_url + "/api/calibration",
                headers=BEARER,
                content=(EXAMPLES / "tud-stadtmitte.json").read_bytes(),
                timeout=STUCK_S * 4,
            ).status_code
        )
    )
    try:
        saving.start()
        assert device.saving.wait(STUCK_S)
        # The save is in progress: the event loop still answers.
        assert httpx.get(base_url + "/healthz", timeout=STUCK_S).json() == {"status": "alive"}
        assert httpx.get(base_url + "/api/status", headers=BEARER, timeout=STUCK_S).status_code == 200
    finally:
        device.release.set()
        saving.join()
        server.stop()
    assert answers == [200]


def test_a_burst_of_saves_cannot_flush_the_calibration_history(served: Served) -> None:
    text = (EXAMPLES / "tud-stadtmitte.json").read_text()
    answers = [
        httpx.put(served.base_url + "/api/calibration", headers=BEARER, content=text) for _ in range(38)
    ]
    accepted = [answer for answer in answers if answer.status_code == 200]
    refused = [answer for answer in answers if answer.status_code == 429]
    assert len(accepted) + len(refused) == 38
    assert 1 <= len(accepted) <= 5
    assert len(served.device.applied) == len(accepted)
    assert int(refused[0].headers["retry-after"]) >= 1
    assert "wait" in refused[0].json()["detail"]
    # A refused document is not a save: the technician still hears what is wrong with it.
    bad = httpx.put(served.base_url + "/api/calibration", headers=BEARER, content='{"lines": []}')
    assert bad.status_code == 422


@pytest.mark.parametrize(
    "path", ["/healthz", "/login", "/", "/api/status", "/static/style.css", "/nowhere"], ids=str
)
def test_every_response_carries_the_security_headers(served: Served, path: str) -> None:
    response = httpx.get(served.base_url + path, headers=BEARER)
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'none'" in policy


def test_the_login_page_inline_scripts_are_allowed_by_hash_only(served: Served) -> None:
    page = httpx.get(served.base_url + "/login")
    policy = page.headers["content-security-policy"]
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    for body in re.findall(r"<script>(.*?)</script>", page.text, flags=re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
        assert f"'sha256-{digest}'" in script_src


@pytest.mark.parametrize(
    ("host", "status"),
    [
        pytest.param("evil.example", 400, id="foreign-name"),
        pytest.param("evil.example:8080", 400, id="foreign-name-with-port"),
        pytest.param("localhost:8080", 200, id="localhost"),
        pytest.param("192.168.1.20:8080", 200, id="ip-address"),
        pytest.param("[::1]:8080", 200, id="ipv6-address"),
        pytest.param(socket.gethostname(), 200, id="own-name"),
        pytest.param(f"{socket.gethostname()}.local", 200, id="own-mdns-name"),
    ],
)
def test_only_known_host_names_are_answered(served: Served, host: str, status: int) -> None:
    response = httpx.get(served.base_url + "/healthz", headers={"Host": host})
    assert response.status_code == status
    if status == 400:
        assert "api.allowed_hosts" in response.json()["detail"]


def test_configured_host_names_are_answered(tmp_path: Path) -> None:
    device = MemoryDevice(validation_store=tmp_path / "validations.sqlite3")
    app = create_app(device, password=SecretStr(PASSWORD), allowed_hosts=["counter.example.org"])
    server = ApiServer(app, host="127.0.0.1", port=0)
    server.start()
    try:
        url = f"http://127.0.0.1:{server.port}/healthz"
        assert httpx.get(url, headers={"Host": "counter.example.org"}).status_code == 200
        assert httpx.get(url, headers={"Host": "other.example.org"}).status_code == 400
    finally:
        server.stop()


def test_openapi_documents_the_calibration_body(served: Served) -> None:
    schema = httpx.get(served.base_url + "/openapi.json", headers=BEARER).json()
    body = schema["paths"]["/api/calibration"]["put"]["requestBody"]
    reference = body["content"]["application/json"]["schema"]["$ref"]
    name = reference.rsplit("/", 1)[-1]
    calibration = schema["components"]["schemas"][name]
    assert set(calibration["properties"]) >= {"lines", "zones", "masks"}
    line_reference = calibration["properties"]["lines"]["items"]["$ref"]
    assert line_reference.rsplit("/", 1)[-1] in schema["components"]["schemas"]
