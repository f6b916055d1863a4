"""HTTP against a real uvicorn server: authentication on every route, calibration, snapshot, metrics."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.api.conftest import PASSWORD, Served

PROTECTED = [
    ("GET", "/readyz"),
    ("GET", "/api/status"),
    ("GET", "/api/counts"),
    ("GET", "/api/live"),
    ("GET", "/api/calibration"),
    ("PUT", "/api/calibration"),
    ("GET", "/api/snapshot.jpg"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/api/validations"),
    ("GET", "/api/validations/current"),
    ("POST", "/api/validations/current"),
    ("PUT", "/api/validations/current/reference"),
    ("POST", "/api/validations/current/finish"),
    ("DELETE", "/api/validations/current"),
]
BEARER = {"Authorization": f"Bearer {PASSWORD}"}
EXAMPLES = Path(__file__).resolve().parents[3] / "calibration" / "examples"


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_every_protected_route_answers_401_without_credentials(
    served: Served, method: str, path: str
) -> None:
    anonymous = httpx.request(method, served.base_url + path, content=b"{}")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    wrong = httpx.request(
        method, served.base_url + path, headers={"Authorization": "Bearer nope"}, content=b"{}"
    )
    assert wrong.status_code == 401


@pytest.mark.parametrize("path", ["/", "/calibration"], ids=["health-page", "calibration-page"])
def test_pages_send_strangers_to_the_login_page(served: Served, path: str) -> None:
    response = httpx.get(served.base_url + path)
    assert response.status_code == 303
    assert response.headers["location"] == ("/login" if path == "/" else f"/login?next={path}")


def test_liveness_needs_no_credentials(served: Served) -> None:
    assert httpx.get(served.base_url + "/healthz").json() == {"status": "alive"}


def test_status_carries_the_verdict_and_reasons(served: Served) -> None:
    status = httpx.get(served.base_url + "/api/status", headers=BEARER).json()
    assert status["health"] == "green"
    assert status["reasons"] == []
    assert status["model_sha256"].startswith("695e750a")
    served.device.set_status(camera_state="failed", camera_detail="no camera attached", temperature_c=80.0)
    status = httpx.get(served.base_url + "/api/status", headers=BEARER).json()
    assert status["health"] == "red"
    assert "camera failed: no camera attached" in status["reasons"]
    assert "hot: 80 °C" in status["reasons"]
    assert httpx.get(served.base_url + "/readyz", headers=BEARER).status_code == 503


def test_login_sets_a_session_cookie_that_opens_pages_and_api(served: Served) -> None:
    with httpx.Client(base_url=served.base_url) as client:
        response = client.post("/login", data={"password": PASSWORD})
        assert response.status_code == 303
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert PASSWORD not in cookie
        assert client.get("/").status_code == 200
        assert client.get("/api/status").status_code == 200
        client.post("/logout")
        assert client.get("/api/status").status_code == 401


def test_failed_logins_are_rate_limited(served: Served) -> None:
    with httpx.Client(base_url=served.base_url) as client:
        for _ in range(5):
            response = client.post("/login", data={"password": "guess"})
            assert response.headers["location"] == "/login?failed=1"
        assert client.post("/login", data={"password": "guess"}).status_code == 429
        # Even the right password waits out the window: no oracle for guessing.
        assert client.post("/login", data={"password": PASSWORD}).status_code == 429


def test_the_blocked_login_page_tells_why_instead_of_raw_json(served: Served) -> None:
    with httpx.Client(base_url=served.base_url) as client:
        for _ in range(5):
            client.post("/login", data={"password": "guess"})
        blocked = client.post("/login", data={"password": "guess"})
    assert blocked.status_code == 429
    assert blocked.headers["content-type"].startswith("text/html")
    assert 0 < int(blocked.headers["retry-after"]) <= 60
    seconds = blocked.headers["retry-after"]
    assert f"Too many failed attempts from this address: wait {seconds} s, then try again." in blocked.text


def test_guessing_the_token_through_the_api_is_rate_limited_too(served: Served) -> None:
    with httpx.Client(base_url=served.base_url) as client:
        for _ in range(5):
            assert client.get("/api/status", headers={"Authorization": "Bearer guess"}).status_code == 401
        throttled = client.get("/api/status", headers={"Authorization": "Bearer guess"})
        assert throttled.status_code == 429
        assert 0 < int(throttled.headers["retry-after"]) <= 60
        # Guessing right now proves nothing: the window has to pass first.
        assert client.get("/api/status", headers=BEARER).status_code == 429


def test_a_huge_calibration_body_is_refused_unread(served: Served) -> None:
    body = b'{"lines": [' + b" " * 1_100_000 + b"]}"
    response = httpx.put(served.base_url + "/api/calibration", headers=BEARER, content=body)
    assert response.status_code == 413
    assert served.device.applied == []


def test_a_login_posted_from_another_site_is_refused(served: Served) -> None:
    response = httpx.post(
        served.base_url + "/login", data={"password": PASSWORD}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert "another site" in response.json()["detail"]
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(
            {"lines": [{"id": "door", "a": [0.5, 0.5], "b": [0.5, 0.5]}]}, 'line "door"', id="degenerate-line"
        ),
        pytest.param(
            {"zones": [{"id": "till", "polygon": [[0, 0], [1, 1], [1, 0], [0, 1]]}]},
            'zone "till": polygon is self-intersecting',
            id="bow-tie-zone",
        ),
        pytest.param({"lines": [{"id": "x", "a": [0, 2], "b": [1, 1]}]}, 'line "x"', id="outside-image"),
    ],
)
def test_malformed_calibration_is_422_naming_the_item(served: Served, document: object, message: str) -> None:
    response = httpx.put(served.base_url + "/api/calibration", headers=BEARER, content=json.dumps(document))
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert served.device.applied == []


def test_a_valid_calibration_is_applied(served: Served) -> None:
    text = (EXAMPLES / "tud-stadtmitte.json").read_text()
    response = httpx.put(served.base_url + "/api/calibration", headers=BEARER, content=text)
    assert response.status_code == 200
    (applied,) = served.device.applied
    assert [line.line_id for line in applied.lines] == [line["id"] for line in json.loads(text)["lines"]]
    assert (
        json.loads(httpx.get(served.base_url + "/api/calibration", headers=BEARER).text)["lines"]
        == json.loads(text)["lines"]
    )


def test_snapshot_is_never_cached_and_can_be_switched_off(served: Served) -> None:
    response = httpx.get(served.base_url + "/api/snapshot.jpg", headers=BEARER)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "no-store"
    assert response.content[:2] == b"\xff\xd8"
    served.device.set_status(snapshots_enabled=False)
    assert httpx.get(served.base_url + "/api/snapshot.jpg", headers=BEARER).status_code == 403


def test_metrics_are_prometheus_text(served: Served) -> None:
    text = httpx.get(served.base_url + "/metrics", headers=BEARER).text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert families["footfall_fps"].samples[0].value == pytest.approx(9.8)
    assert families["footfall_outbox_backlog_rows"].samples[0].value == 0.0
    health = {sample.labels["level"]: sample.value for sample in families["footfall_health"].samples}
    assert health == {"green": 1.0, "amber": 0.0, "red": 0.0}


def test_counts_are_limited_and_openapi_is_served(served: Served) -> None:
    counts = httpx.get(served.base_url + "/api/counts?limit=5", headers=BEARER).json()
    assert len(counts) == 5
    assert counts[-1]["lines"][0] == {"line_id": "vertical", "in": 29 % 4, "out": 29 % 3}
    assert httpx.get(served.base_url + "/api/counts?limit=0", headers=BEARER).status_code == 422
    schema = httpx.get(served.base_url + "/openapi.json", headers=BEARER).json()
    assert "/api/calibration" in schema["paths"]


def test_static_files_cannot_escape_their_folder(served: Served) -> None:
    assert httpx.get(served.base_url + "/static/style.css").status_code == 200
    assert httpx.get(served.base_url + "/static/..%2Fapp.py").status_code == 404
    assert httpx.get(served.base_url + "/static/app.py").status_code == 404
