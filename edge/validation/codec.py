"""The JSON document of a validation: stored on the device, served by the API, published over MQTT.

Schema `footfall-edge/validation/v1` (edge/deliver/schemas/validation-v1.json). Derived figures
(errors, accuracy, verdict) are written out so a consumer needs no arithmetic, and are recomputed
from the counts when a document is read back, never trusted.
"""

from __future__ import annotations

from typing import Any

from edge.deliver.codec import iso_utc, parse_utc
from edge.deliver.payloads import VALIDATION_SCHEMA
from edge.records import LineId, ValidationRecord


def validation_document(record: ValidationRecord) -> dict[str, Any]:
    """The record as a JSON-ready dict (times in ISO 8601 UTC)."""
    accuracy = record.accuracy
    return {
        "schema": VALIDATION_SCHEMA,
        "validation_id": record.validation_id,
        "mode": record.mode,
        "site_id": record.site_id,
        "device_id": record.device_id,
        "line_id": record.line_id,
        "started_at": iso_utc(record.started_at),
        "ended_at": iso_utc(record.ended_at),
        "duration_s": round((record.ended_at - record.started_at).total_seconds(), 3),
        "reference": {"in": record.reference_in, "out": record.reference_out},
        "device": {"in": record.device_in, "out": record.device_out},
        "error": {"in": record.error_in, "out": record.error_out, "total": record.error_total},
        "accuracy": None if accuracy is None else round(accuracy, 4),
        "tolerance": record.tolerance,
        "min_people": record.min_people,
        "verdict": str(record.verdict),
        "operator": record.operator,
        "software_version": record.software_version,
        "model": {"name": record.model_name, "sha256": record.model_sha256},
        "calibration_version": record.calibration_version,
        "coverage": None if record.coverage is None else round(record.coverage, 4),
    }


def validation_from_document(document: dict[str, Any]) -> ValidationRecord:
    """Read back what `validation_document` wrote.

    Raises:
        KeyError, ValueError, TypeError: the document is not a validation of this schema.
    """
    if document.get("schema") != VALIDATION_SCHEMA:
        raise ValueError(f"not a {VALIDATION_SCHEMA} document: {document.get('schema')!r}")
    return ValidationRecord(
        validation_id=str(document["validation_id"]),
        mode=str(document["mode"]),
        site_id=str(document["site_id"]),
        device_id=str(document["device_id"]),
        line_id=LineId(str(document["line_id"])),
        started_at=parse_utc(document["started_at"]),
        ended_at=parse_utc(document["ended_at"]),
        reference_in=int(document["reference"]["in"]),
        reference_out=int(document["reference"]["out"]),
        device_in=int(document["device"]["in"]),
        device_out=int(document["device"]["out"]),
        tolerance=float(document["tolerance"]),
        min_people=int(document["min_people"]),
        operator=str(document["operator"]),
        software_version=str(document["software_version"]),
        model_name=str(document["model"]["name"]),
        model_sha256=str(document["model"]["sha256"]),
        calibration_version=str(document["calibration_version"]),
        coverage=None if document.get("coverage") is None else float(document["coverage"]),
    )
