"""Message parsing: topic, size, JSON, schema and consistency checks, then one record or a Rejection.

Counts arrive native (`footfall-edge/counts/v1`, a JSON object) or as NGSI-LD CrowdFlowObserved
entities (a JSON array, `ngsi`); both are checked against their JSON Schema before anything is
read from them. The topic's site and device must match the payload's: a device's credentials
cannot write another device's counts. Pure: no network, no database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator

from edge.city.ngsi import normalise_ngsi
from edge.city.records import (
    AvailabilityRecord,
    DeviceTopic,
    HealthRecord,
    IntervalRecord,
    LineCountRow,
    ParsedMessage,
    Rejection,
    TopicKind,
    ValidationRecord,
)
from edge.city.schemas import ngsi_counts_schema
from edge.deliver.payloads import COUNTS_SCHEMA, HEALTH_SCHEMA, VALIDATION_SCHEMA, payload_schema
from edge.records import Direction

# Bytes above which a message is quarantined unread (a native interval with 50 lines is ~5 KB).
DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024
# What the device publishes on `.../status` (edge.deliver.mqtt STATUS_*).
KNOWN_STATUSES = frozenset({"online", "offline", "stopped"})


def parse_topic(topic: str, prefix: str) -> DeviceTopic | Rejection:
    """The site, device and kind of `{prefix}/{site_id}/{device_id}/{kind}`."""
    head = prefix + "/"
    levels = topic[len(head) :].split("/") if topic.startswith(head) else []
    if len(levels) != 3 or not levels[0] or not levels[1]:
        return Rejection(f"topic {topic!r} is not {prefix}/<site>/<device>/<kind>")
    try:
        kind = TopicKind(levels[2])
    except ValueError:
        return Rejection(f"unknown topic kind {levels[2]!r} (known: {', '.join(TopicKind)})")
    return DeviceTopic(site_id=levels[0], device_id=levels[1], kind=kind)


def parse_utc(text: str) -> datetime:
    """An ISO 8601 time with a zone (the schemas demand `Z`); raises ValueError otherwise."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone")
    return value


def _first_error(validator: Draft202012Validator, document: object) -> str | None:
    error = next(iter(sorted(validator.iter_errors(document), key=lambda found: list(found.path))), None)
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
    return f"{where}: {error.message[:200]}"


class MessageParser:
    """Turns one MQTT message into a record to store, or a Rejection saying why it cannot be.

    Args:
        prefix: the fleet's topic prefix (levels before `<site>/<device>/<kind>`).
        max_payload_bytes: larger messages are rejected before being parsed.
        now: wall clock (UTC), to mark NGSI-LD intervals received late as backfill.
    """

    def __init__(self, prefix: str, *, max_payload_bytes: int, now: Callable[[], datetime]) -> None:
        if max_payload_bytes < 1:
            raise ValueError(f"max_payload_bytes must be >= 1, got {max_payload_bytes}")
        self._prefix = prefix.rstrip("/")
        self._max_payload_bytes = max_payload_bytes
        self._now = now
        self._validators = {
            name: Draft202012Validator(payload_schema(name))
            for name in (COUNTS_SCHEMA, HEALTH_SCHEMA, VALIDATION_SCHEMA)
        }
        self._ngsi_validator = Draft202012Validator(ngsi_counts_schema())

    def parse(self, topic: str, payload: bytes) -> ParsedMessage:
        """The record for this message, or the reason it must be quarantined."""
        where = parse_topic(topic, self._prefix)
        if isinstance(where, Rejection):
            return where
        if len(payload) > self._max_payload_bytes:
            return Rejection(
                f"message of {len(payload)} bytes is over the {self._max_payload_bytes}-byte limit"
            )
        if not payload:
            return Rejection("empty message (a retained message was cleared?)")
        if where.kind is TopicKind.STATUS:
            return self._status(where, payload)
        try:
            document = json.loads(payload)
        except (UnicodeDecodeError, ValueError) as exc:
            return Rejection(f"not JSON: {str(exc)[:200]}")
        if where.kind is TopicKind.COUNTS:
            if isinstance(document, list):
                return self._ngsi_counts(where, document, payload)
            return self._native_counts(where, document, payload)
        return self._retained_document(where, document, payload)

    def _schema_error(self, name: str, document: object) -> Rejection | None:
        error = _first_error(self._validators[name], document)
        return None if error is None else Rejection(f"not {name}: {error}")

    @staticmethod
    def _same_device(where: DeviceTopic, document: dict[str, Any]) -> Rejection | None:
        if document["device_id"] != where.device_id or document["site_id"] != where.site_id:
            return Rejection(
                f"payload is for device {document['device_id']!r} of site {document['site_id']!r},"
                f" the topic for device {where.device_id!r} of site {where.site_id!r}"
            )
        return None

    def _native_counts(self, where: DeviceTopic, document: object, payload: bytes) -> ParsedMessage:
        if isinstance(document, dict) and document.get("schema") != COUNTS_SCHEMA:
            return Rejection(f"unknown counts schema {str(document.get('schema'))[:100]!r}")
        rejected = self._schema_error(COUNTS_SCHEMA, document)
        if rejected is not None or not isinstance(document, dict):
            return rejected or Rejection("counts message is not a JSON object")
        rejected = self._same_device(where, document)
        if rejected is not None:
            return rejected
        if document["id"] != f"{document['device_id']}:{document['seq']}":
            return Rejection(f"id {document['id']!r} is not <device_id>:<seq>")
        try:
            start_at, end_at = parse_utc(document["start"]), parse_utc(document["end"])
        except ValueError as exc:
            return Rejection(f"bad interval time: {exc}")
        if end_at <= start_at:
            return Rejection(f"interval ends ({document['end']}) before it starts ({document['start']})")
        lines: list[LineCountRow] = []
        for line in document["lines"]:
            lines.append(LineCountRow(line["line_id"], Direction.IN, line["in"]))
            lines.append(LineCountRow(line["line_id"], Direction.OUT, line["out"]))
        if len({line["line_id"] for line in document["lines"]}) != len(document["lines"]):
            return Rejection("a line_id appears twice in lines")
        quality = document["quality"]
        return IntervalRecord(
            device_id=where.device_id,
            site_id=where.site_id,
            seq=document["seq"],
            start_at=start_at,
            end_at=end_at,
            coverage=float(quality["coverage"]),
            observed_s=float(quality["observed_s"]),
            backfill=bool(document["backfill"]),
            payload_json=payload.decode("utf-8"),
            lines=tuple(lines),
        )

    def _ngsi_counts(self, where: DeviceTopic, document: list[Any], payload: bytes) -> ParsedMessage:
        error = _first_error(self._ngsi_validator, document)
        if error is not None:
            return Rejection(f"not NGSI-LD CrowdFlowObserved entities: {error}")
        return normalise_ngsi(where, document, payload.decode("utf-8"), received_at=self._now())

    def _status(self, where: DeviceTopic, payload: bytes) -> ParsedMessage:
        text = payload.decode("utf-8", errors="replace").strip()
        if text not in KNOWN_STATUSES:
            return Rejection(f"unknown status {text[:100]!r} (known: {', '.join(sorted(KNOWN_STATUSES))})")
        return AvailabilityRecord(where.device_id, where.site_id, text)

    def _retained_document(self, where: DeviceTopic, document: object, payload: bytes) -> ParsedMessage:
        name = HEALTH_SCHEMA if where.kind is TopicKind.HEALTH else VALIDATION_SCHEMA
        rejected = self._schema_error(name, document)
        if rejected is not None or not isinstance(document, dict):
            return rejected or Rejection(f"{where.kind} message is not a JSON object")
        rejected = self._same_device(where, document)
        if rejected is not None:
            return rejected
        text = payload.decode("utf-8")
        try:
            if name == HEALTH_SCHEMA:
                return HealthRecord(
                    device_id=where.device_id,
                    site_id=where.site_id,
                    reported_at=parse_utc(document["time"]),
                    outbox_backlog_rows=document["outbox_backlog_rows"],
                    last_seq=document["last_seq"],
                    payload_json=text,
                )
            return ValidationRecord(
                device_id=where.device_id,
                site_id=where.site_id,
                validation_id=document["validation_id"],
                ended_at=parse_utc(document["ended_at"]),
                verdict=document["verdict"],
                accuracy=document["accuracy"],
                payload_json=text,
            )
        except ValueError as exc:
            return Rejection(f"bad time in {where.kind} message: {exc}")
