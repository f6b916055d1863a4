"""On-site validation over real HTTP: start, hand count as totals, finish, evidence; and every refusal."""

from __future__ import annotations

import httpx
import jsonschema

from edge.deliver import VALIDATION_SCHEMA, payload_schema
from tests.integration.api.conftest import PASSWORD, Served

BEARER = {"Authorization": f"Bearer {PASSWORD}"}


CURRENT = "/api/validations/current"


def call(served: Served, method: str, path: str, body: object = None) -> httpx.Response:
    return httpx.request(method, served.base_url + path, headers=BEARER, json=body)


def counts(reference_in: int, reference_out: int) -> dict[str, int]:
    return {"reference_in": reference_in, "reference_out": reference_out}


def test_a_validation_from_start_to_stored_evidence(served: Served) -> None:
    started = call(
        served, "POST", "/api/validations/current", {"line_id": "vertical", "operator": " Camille  D. "}
    )
    assert started.status_code == 201
    progress = started.json()
    assert progress["line_id"] == "vertical"
    assert progress["operator"] == "Camille D."  # whitespace folded
    assert progress["reference"] == {"in": 0, "out": 0}
    assert (progress["tolerance"], progress["min_people"]) == (0.1, 10)  # the rule it will be judged by

    served.device.cross("vertical", "in", people=11)
    served.device.cross("vertical", "out", people=4)
    served.device.cross("horizontal", "in", people=7)  # another line: not part of this check
    # The page sends totals: the same request twice (a retry after a dropped connection) counts once.
    for _ in range(2):
        updated = call(
            served, "PUT", "/api/validations/current/reference", {"reference_in": 12, "reference_out": 4}
        )
        assert updated.status_code == 200
    current = call(served, "GET", "/api/validations/current").json()
    assert current["reference"] == {"in": 12, "out": 4}
    assert current["device"] == {"in": 11, "out": 4}
    assert current["validation_id"] == progress["validation_id"]

    finished = call(
        served, "POST", "/api/validations/current/finish", {"reference_in": 12, "reference_out": 5}
    )
    assert finished.status_code == 201
    document = finished.json()
    jsonschema.validate(document, payload_schema(VALIDATION_SCHEMA))
    assert document["reference"] == {"in": 12, "out": 5}
    assert document["device"] == {"in": 11, "out": 4}
    assert document["error"] == {"in": -1, "out": -1, "total": 2}
    assert document["accuracy"] == round(1 - 2 / 17, 4)
    assert document["verdict"] == "fail"  # 88 % < 90 %
    assert document["calibration_version"] == served.device.current_calibration().version
    assert document["operator"] == "Camille D."

    assert call(served, "GET", "/api/validations/current").status_code == 404
    history = call(served, "GET", "/api/validations").json()
    assert [item["validation_id"] for item in history] == [progress["validation_id"]]
    assert served.device.validations.unpublished()[0][0] == progress["validation_id"]


def test_refusals_name_the_problem(served: Served) -> None:
    unknown = call(served, "POST", "/api/validations/current", {"line_id": "nowhere"})
    assert unknown.status_code == 422
    assert "calibrated lines: vertical, horizontal" in unknown.json()["detail"]
    assert (
        call(
            served, "PUT", "/api/validations/current/reference", {"reference_in": 1, "reference_out": 0}
        ).status_code
        == 409
    )
    assert (
        call(
            served, "POST", "/api/validations/current/finish", {"reference_in": 1, "reference_out": 0}
        ).status_code
        == 409
    )
    assert call(served, "DELETE", "/api/validations/current").status_code == 404

    assert call(served, "POST", "/api/validations/current", {"line_id": "vertical"}).status_code == 201
    again = call(served, "POST", "/api/validations/current", {"line_id": "horizontal"})
    assert again.status_code == 409
    assert "already running" in again.json()["detail"] or "is running" in again.json()["detail"]
    for body in (
        {"reference_in": -1, "reference_out": 0},
        {"reference_in": 1, "reference_out": 10**9},
        {"reference_in": "many", "reference_out": 0},
        {"reference_in": 1},
        {"reference_in": 1, "reference_out": 0, "extra": True},
    ):
        assert call(served, "PUT", "/api/validations/current/reference", body).status_code == 422, body
    assert call(served, "POST", "/api/validations/current", {"line_id": "x" * 65}).status_code == 422

    assert call(served, "DELETE", "/api/validations/current").status_code == 204
    assert call(served, "GET", "/api/validations/current").status_code == 404
    gone = call(served, "POST", "/api/validations/current/finish", {"reference_in": 1, "reference_out": 0})
    assert gone.status_code == 409
    assert "cancelled" in gone.json()["detail"]
    assert call(served, "GET", "/api/validations").json() == []  # a cancelled check leaves no evidence


def test_history_is_newest_first_and_limited(served: Served) -> None:
    ids = []
    for line in ("vertical", "horizontal", "vertical"):
        ids.append(
            call(served, "POST", "/api/validations/current", {"line_id": line}).json()["validation_id"]
        )
        call(served, "POST", "/api/validations/current/finish", {"reference_in": 0, "reference_out": 0})
    history = call(served, "GET", "/api/validations?limit=2").json()
    assert [item["validation_id"] for item in history] == ids[:0:-1]
    assert history[0]["verdict"] == "inconclusive"
    assert call(served, "GET", "/api/validations?limit=0").status_code == 422
