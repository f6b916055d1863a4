"""What schemathesis found (benchmarks/api_fuzz.py), pinned over real HTTP: the server answers
what its OpenAPI description says."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.api.conftest import PASSWORD, Served

BEARER = {"Authorization": f"Bearer {PASSWORD}"}


@pytest.mark.parametrize(
    ("path", "methods"),
    [("/api/calibration", "GET, PUT"), ("/api/validations/current", "DELETE, GET, POST")],
    ids=["calibration", "validation"],
)
def test_a_405_lists_every_method_of_the_path(served: Served, path: str, methods: str) -> None:
    response = httpx.request("PATCH", served.base_url + path, headers=BEARER)
    assert response.status_code == 405
    assert response.headers["allow"] == methods


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/api/validations/current", "get", "404"),
        ("/api/validations/current", "delete", "404"),
        ("/api/validations/current/reference", "put", "409"),
        ("/api/validations/current/finish", "post", "409"),
        ("/api/snapshot.jpg", "get", "403"),
        ("/api/status", "get", "401"),
        ("/api/calibration", "put", "413"),
    ],
)
def test_the_answers_the_routes_give_are_documented(
    served: Served, path: str, method: str, status: str
) -> None:
    schema = httpx.get(served.base_url + "/openapi.json", headers=BEARER).json()
    assert status in schema["paths"][path][method]["responses"]


def test_media_types_are_documented(served: Served) -> None:
    paths = httpx.get(served.base_url + "/openapi.json", headers=BEARER).json()["paths"]
    assert "image/jpeg" in paths["/api/snapshot.jpg"]["get"]["responses"]["200"]["content"]
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]


def test_the_lines_a_validation_can_start_on_are_documented(served: Served) -> None:
    schemas = httpx.get(served.base_url + "/openapi.json", headers=BEARER).json()["components"]["schemas"]
    assert schemas["StartRequest"]["properties"]["line_id"]["enum"] == ["vertical", "horizontal"]


def test_true_is_not_a_count_but_twelve_point_zero_is(served: Served) -> None:
    served.device.start_validation("vertical", "")
    url = served.base_url + "/api/validations/current/reference"
    assert httpx.put(url, headers=BEARER, json={"reference_in": True, "reference_out": 0}).status_code == 422
    accepted = httpx.put(url, headers=BEARER, json={"reference_in": 12.0, "reference_out": 0})
    assert accepted.status_code == 200
    assert accepted.json()["reference"] == {"in": 12, "out": 0}
