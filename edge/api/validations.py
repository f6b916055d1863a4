"""Routes of on-site validation: start, hand count, finish or cancel, and the stored evidence.

The page sends the hand count as running totals (`PUT .../reference`), so a request repeated after
a dropped phone connection cannot count a tap twice. Every route needs the device password.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.params import Depends
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from edge.api.openapi_docs import CONFLICT, NOT_RUNNING, UNKNOWN_LINE
from edge.api.ports import Device
from edge.errors import ValidationError
from edge.records import ValidationProgress
from edge.validation.codec import validation_document

logger = logging.getLogger(__name__)

# Most validations one request lists.
MAX_VALIDATIONS = 500
# Largest hand count per direction the API accepts (a 15-minute count is far below).
MAX_REFERENCE = 100_000


class StartRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_id: str = Field(min_length=1, max_length=64, description="The calibrated line to check.")
    operator: str = Field(default="", max_length=64, description="Who runs the check (kept as evidence).")


def _not_a_boolean(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("a count is a number, not true or false")
    return value


# A whole number of people; 12.0 is 12, but `true` is not 1.
Count = Annotated[int, BeforeValidator(_not_a_boolean)]


class ReferenceCount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference_in: Count = Field(ge=0, le=MAX_REFERENCE, description="People counted `in` by hand so far.")
    reference_out: Count = Field(ge=0, le=MAX_REFERENCE, description="People counted `out` by hand so far.")


def add_validation_routes(app: FastAPI, device: Device, api: list[Depends]) -> None:
    """Mount the /api/validations routes on `app`, each behind the `api` dependencies."""

    @app.get("/api/validations", dependencies=api)
    def list_validations(
        limit: Annotated[int, Query(ge=1, le=MAX_VALIDATIONS)] = 50,
    ) -> list[dict[str, Any]]:
        return [validation_document(record) for record in device.recent_validations(limit)]

    @app.get("/api/validations/current", dependencies=api, responses=NOT_RUNNING)
    def current() -> dict[str, Any]:
        progress = device.validation_progress()
        if progress is None:
            raise HTTPException(404, "no validation is running")
        return _progress_json(progress)

    @app.get("/api/validations/running", dependencies=api)
    def running() -> dict[str, Any]:
        # The page asks at every load whether one runs: "none" is an answer, not a 404.
        progress = device.validation_progress()
        return {"current": None if progress is None else _progress_json(progress)}

    @app.post(
        "/api/validations/current", dependencies=api, status_code=201, responses={**CONFLICT, **UNKNOWN_LINE}
    )
    def start(body: StartRequest, request: Request) -> dict[str, Any]:
        lines = [line.line_id for line in device.current_calibration().lines]
        if body.line_id not in lines:
            raise HTTPException(422, f"unknown line {body.line_id!r} (calibrated lines: {', '.join(lines)})")
        try:
            progress = device.start_validation(body.line_id, body.operator)
        except ValidationError as exc:
            raise HTTPException(409, str(exc)) from exc
        logger.info("validation of line %s started from %s", body.line_id, _client(request))
        return _progress_json(progress)

    @app.put("/api/validations/current/reference", dependencies=api, responses=CONFLICT)
    def reference(body: ReferenceCount) -> dict[str, Any]:
        try:
            progress = device.update_validation(body.reference_in, body.reference_out)
        except ValidationError as exc:
            raise HTTPException(409, str(exc)) from exc
        return _progress_json(progress)

    @app.post("/api/validations/current/finish", dependencies=api, status_code=201, responses=CONFLICT)
    def finish(body: ReferenceCount) -> dict[str, Any]:
        try:
            record = device.finish_validation(body.reference_in, body.reference_out)
        except ValidationError as exc:
            raise HTTPException(409, str(exc)) from exc
        return validation_document(record)

    @app.delete("/api/validations/current", dependencies=api, status_code=204, responses=NOT_RUNNING)
    def cancel() -> Response:
        if not device.cancel_validation():
            raise HTTPException(404, "no validation is running")
        return Response(status_code=204)


def _progress_json(progress: ValidationProgress) -> dict[str, Any]:
    return {
        "validation_id": progress.validation_id,
        "line_id": progress.line_id,
        "started_at": progress.started_at.isoformat().replace("+00:00", "Z"),
        "elapsed_s": round(progress.elapsed_s, 1),
        "reference": {"in": progress.reference_in, "out": progress.reference_out},
        "device": {"in": progress.device_in, "out": progress.device_out},
        "operator": progress.operator,
        "tolerance": progress.tolerance,
        "min_people": progress.min_people,
        "coverage": None if progress.coverage is None else round(progress.coverage, 3),
    }


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"
