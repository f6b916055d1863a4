"""What the OpenAPI description says beyond the routes' own types: the answers every protected
route may give, and the body of `PUT /api/calibration` (read by hand, so FastAPI cannot see it).

Without them schemathesis reported undocumented status codes and could not fuzz the calibration.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from edge.calibration import CalibrationFile

CALIBRATION_SCHEMA = "CalibrationFile"
_COMPONENTS = "#/components/schemas/{model}"


class Problem(BaseModel):
    """Why a request was refused."""

    detail: str = Field(description="What is wrong, in one line.")


Responses = dict[int | str, dict[str, Any]]
"""FastAPI's `responses`: per status code, its description and model or content."""


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "model": Problem}


COMMON_RESPONSES: Responses = {
    400: _problem("Unknown Host header, or a body that is not plain JSON (NaN, huge numbers, deep nesting)."),
    401: _problem("No or wrong credentials: log in, or send `Authorization: Bearer <password>`."),
    413: _problem("Body larger than the route accepts."),
    429: _problem("Too many wrong tokens from this address, or saves too close together: see Retry-After."),
}


NOT_RUNNING: Responses = {404: _problem("No validation is running.")}
CONFLICT: Responses = {
    409: _problem("None is running, one is running already, or the count is out of range.")
}
UNKNOWN_LINE: Responses = {
    422: {
        "description": "Invalid body, or a line that is not in the calibration in force.",
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": _COMPONENTS.format(model="HTTPValidationError")},
                        {"$ref": _COMPONENTS.format(model="Problem")},
                    ]
                }
            }
        },
    }
}
SNAPSHOT: Responses = {
    200: {
        "description": "The anonymised JPEG.",
        "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
    },
    403: _problem("Snapshots are disabled (api.snapshots)."),
    404: _problem("No frame yet."),
}
METRICS: Responses = {
    200: {"description": "Prometheus text format.", "content": {"text/plain": {"schema": {"type": "string"}}}}
}


def document_current_lines(document: dict[str, Any], lines: list[str]) -> dict[str, Any]:
    """`document` saying which line ids a validation can start on now (the calibration in force)."""
    start = document.get("components", {}).get("schemas", {}).get("StartRequest")
    if start is not None and lines:
        start["properties"]["line_id"]["enum"] = lines
    return document


def document_calibration_body() -> dict[str, Any]:
    """`openapi_extra` of the calibration PUT: its JSON body and its answers."""
    reference = {"$ref": _COMPONENTS.format(model=CALIBRATION_SCHEMA)}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": reference}},
            "description": "The whole calibration (calibration/README.md); it replaces the current one.",
        },
        "responses": {
            "200": {
                "description": "Applied from the next frame on; the file as saved.",
                "content": {"application/json": {"schema": reference}},
            },
            "422": {
                "description": "Invalid calibration: the message names the line, zone or mask.",
                "content": {"application/json": {"schema": {"$ref": _COMPONENTS.format(model="Problem")}}},
            },
        },
    }


def add_calibration_schema(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with the calibration's JSON Schema (and its parts) among the components."""
    schema = CalibrationFile.model_json_schema(ref_template=_COMPONENTS)
    parts = schema.pop("$defs", {})
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.update(parts)
    components[CALIBRATION_SCHEMA] = schema
    return document
